//! `[areas]`: the leader answerable for each area (包片领导), added to the tasks of that area, so
//! that a list naming only the township still reaches the leader responsible for it.

use super::model::{Assignee, Task};
use crate::config::Locale;
use crate::people::Directory;
use std::collections::BTreeMap;

/// Adds each area's leader to the tasks in that area: a task's area is its 所在乡镇 column, or
/// its unit when the list has none (a township as the responsible unit). A task without a
/// leader gets the area's as its leader; one that has others gets it beside them, once. An
/// area leader the people list does not know is still named (written as `@Name`, notifying
/// nobody) and warned about once.
pub fn add_area_leaders(
    tasks: &mut [Task],
    areas: &BTreeMap<String, String>,
    people: &Directory,
    locale: Locale,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if areas.is_empty() {
        return warnings;
    }
    let leaders: BTreeMap<&str, Assignee> = areas
        .iter()
        .map(|(area, who)| {
            let person = people.resolve(who);
            if person.is_none() {
                warnings.push(locale.pick(
                    format!(
                        "[areas] 中 {area} 的包片领导“{who}”不在人员名单中：请在 [[people]] 中添加，才能通知到本人"
                    ),
                    format!(
                        "[areas] names {who:?} for {area:?}, who is not in the people list: \
                         add them under [[people]] so that they are notified"
                    ),
                ));
            }
            let assignee = Assignee {
                name: person.map_or_else(|| who.clone(), |p| p.name.clone()),
                person: person.map(|p| p.id.clone()),
            };
            (area.as_str(), assignee)
        })
        .collect();
    for task in tasks {
        let area = match task.details.area.trim() {
            "" => task.unit.trim(),
            area => area,
        };
        let Some(leader) = leaders.get(area) else {
            continue;
        };
        let same = |a: &Assignee| match (&a.person, &leader.person) {
            (Some(x), Some(y)) => x == y,
            _ => a.name.trim() == leader.name,
        };
        if task.leaders().any(same) {
            continue;
        }
        match task.leader {
            None => task.leader = Some(leader.clone()),
            Some(_) => task.co_leaders.push(leader.clone()),
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;

    fn person(id: &str, name: &str) -> Person {
        Person {
            id: id.into(),
            name: name.into(),
            unit: None,
            mobile: None,
            email: None,
            handles: BTreeMap::new(),
            admin: false,
        }
    }

    #[test]
    fn the_area_leader_joins_the_tasks_of_the_township_once() {
        let people = Directory::new(vec![person("wang", "王丽华"), person("chen", "陈建国")]);
        let areas = BTreeMap::from([
            ("首山镇".to_string(), "wang".to_string()),
            ("城关镇".to_string(), "无名氏".to_string()),
        ]);
        let mut by_area = Task::sample("1");
        by_area.details.area = "首山镇".into();
        by_area.leader = Some(Assignee {
            name: "陈建国".into(),
            person: Some("chen".into()),
        });
        let mut by_unit = Task::sample("2");
        by_unit.unit = "首山镇".into();
        let mut already = Task::sample("3");
        already.unit = "首山镇".into();
        already.leader = Some(Assignee {
            name: "王丽华".into(),
            person: Some("wang".into()),
        });
        let mut unknown = Task::sample("4");
        unknown.unit = "城关镇".into();
        let mut tasks = vec![by_area, by_unit, already, unknown];
        let warnings = add_area_leaders(&mut tasks, &areas, &people, Locale::ZhCn);
        let names = |t: &Task| t.leaders().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&tasks[0]), ["陈建国", "王丽华"]);
        assert_eq!(names(&tasks[1]), ["王丽华"]);
        assert_eq!(
            tasks[1].leader.as_ref().and_then(|a| a.person.as_deref()),
            Some("wang")
        );
        assert_eq!(names(&tasks[2]), ["王丽华"]);
        assert_eq!(names(&tasks[3]), ["无名氏"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("无名氏"), "{warnings:?}");
    }
}

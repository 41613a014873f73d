//! Sample data for `weekbell check`: every section filled once and empty once.

use super::{
    Common, RenderData, TemplateKind, assessment_context, digest_context, reminder_context, render,
    report_call_context, with_data,
};
use crate::config::{AssessmentWeights, Locale, default_warning_levels};
use crate::people::{Directory, Person};
use crate::render::markup::Dialect;
use crate::render::view::{self, DigestInput, WeekActivity};
use crate::tasks::MergeOptions;
use crate::tasks::assess::{GroupBy, Period, assess};
use crate::tasks::warning::Judge;
use crate::tasks::{Assignee, RowRef, Status, Task};
use crate::types::Platform;
use chrono::NaiveDate;
use minijinja::{Error, Template};
use std::collections::BTreeMap;

pub(super) struct Samples {
    tasks: Vec<Task>,
    people: Directory,
    activity: WeekActivity,
    today: NaiveDate,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn who(name: &str, person: Option<&str>) -> Assignee {
    Assignee {
        name: name.into(),
        person: person.map(str::to_string),
    }
}

fn task(
    id: &str,
    title: &str,
    unit: &str,
    owner: Assignee,
    due: Option<NaiveDate>,
    status: Status,
    notes: &str,
) -> Task {
    Task {
        id: id.into(),
        title: title.into(),
        unit: unit.into(),
        leader: Some(who("张明远", Some("zhang.mingyuan"))),
        owners: vec![owner, who("未登记人员", None)],
        due,
        unreadable_due: None,
        due_anchored: None,
        extension: Default::default(),
        co_leaders: Vec::new(),
        list: None,
        status,
        progress: Some(40),
        notes: notes.into(),
        category: "示例".into(),
        channel: None,
        details: Default::default(),
        source: RowRef {
            sheet: "sample".into(),
            row: 1,
        },
    }
}

impl Samples {
    pub(super) fn new() -> Self {
        let today = date(2026, 11, 27);
        let mut handles = BTreeMap::new();
        for p in Platform::ALL {
            handles.insert(p, format!("{}-0001", p.as_str()));
        }
        let person = |id: &str, name: &str| Person {
            id: id.into(),
            name: name.into(),
            unit: None,
            mobile: Some("13800000001".into()),
            email: None,
            handles: handles.clone(),
            admin: false,
        };
        let people = Directory::new(vec![
            person("sun.qiang", "孙强"),
            person("zhang.mingyuan", "张明远"),
        ]);
        let sun = || who("孙强", Some("sun.qiang"));
        let tasks = vec![
            task(
                "1",
                "示例事项 *一*",
                "县城管局",
                sun(),
                Some(date(2026, 11, 10)),
                Status::InProgress,
                "说明",
            ),
            task(
                "2",
                "示例事项二",
                "首山镇",
                sun(),
                Some(date(2026, 11, 30)),
                Status::Todo,
                "",
            ),
            task(
                "3",
                "示例事项三",
                "首山镇",
                sun(),
                Some(date(2027, 1, 15)),
                Status::Blocked,
                "需协调",
            ),
            task("4", "示例事项四", "", sun(), None, Status::Ongoing, ""),
            task(
                "5",
                "示例事项五",
                "县城管局",
                sun(),
                Some(date(2026, 11, 1)),
                Status::Done,
                "",
            ),
            task(
                "6",
                "示例事项六",
                "县水利局",
                sun(),
                None,
                Status::Cancelled,
                "",
            ),
        ];
        let activity = WeekActivity {
            completed_since: vec!["5".into()],
            reported_units: ["县水利局".to_string()].into(),
        };
        Samples {
            tasks,
            people,
            activity,
            today,
        }
    }

    pub(super) fn render_all(
        &self,
        tmpl: &Template<'_, '_>,
        kind: TemplateKind,
        dialect: Dialect,
        locale: Locale,
    ) -> Result<(), Error> {
        // Dialect-specific behaviour lives in the environment; any platform of the dialect
        // will do for the mentions.
        let platform = Platform::ALL
            .into_iter()
            .find(|p| p.dialect() == dialect || p.text_dialect() == Some(dialect))
            .unwrap_or(Platform::Console);
        let data = RenderData::value(platform, &self.people);
        let common = || Common {
            title: kind.default_title(locale),
            show_title: true,
            platform: platform.as_str(),
            today: self.today.to_string(),
            section_cap: 2,
        };
        let empty: Vec<Task> = Vec::new();
        // The built-in levels, so that a template's use of the warning variables is checked.
        let levels = default_warning_levels(locale, 7);
        let judge = Judge::new(&levels, &[], chrono_tz::UTC, Some(date(2026, 11, 1)));
        for tasks in [&self.tasks, &empty] {
            let ctx = match kind {
                TemplateKind::Digest => {
                    let input = DigestInput {
                        tasks,
                        today: self.today,
                        period_start: (!tasks.is_empty()).then(|| date(2026, 11, 20)),
                        period_end: self.today,
                        activity: &self.activity,
                        stale_list_note: (!tasks.is_empty()).then_some("示例"),
                        warnings: Some(&judge),
                        absences: None,
                    };
                    digest_context(common(), &view::digest_view(&input), locale, &self.people)
                }
                TemplateKind::Reminder => {
                    let views = view::reminder_views(
                        &self.tasks,
                        self.today,
                        3,
                        Some(&judge),
                        &self.people,
                        None,
                        None,
                    );
                    for v in &views {
                        let ctx = reminder_context(common(), v, 3, locale, &self.people);
                        render(tmpl, with_data(ctx, &data), "")?;
                    }
                    continue;
                }
                TemplateKind::ReportCall => {
                    let units = view::units_without_report(tasks, &self.activity);
                    report_call_context(common(), &units, &self.people)
                }
                TemplateKind::Assessment => {
                    let period = Period {
                        from: date(2026, 11, 1),
                        to: self.today,
                    };
                    let options = MergeOptions::default();
                    let weights = AssessmentWeights::default();
                    let a = assess(tasks, &[], &options, period, GroupBy::Unit, &weights);
                    assessment_context(common(), &a)
                }
            };
            render(tmpl, with_data(ctx, &data), "")?;
        }
        Ok(())
    }
}

//! Graded warnings (预警): which `[[warnings]]` level a task has reached on a day.
//!
//! [`level`] is a pure function of the task, the day, the task's [`TaskDates`] and the levels;
//! [`task_dates`] reads those dates from the recorded events.
//!
//! **A task's start.** Lists seldom have a start-date column, so the time a task has for
//! `behind_schedule` (序时进度) runs from the earliest of: the day of the first event recorded
//! for it (an update in the chat, or the file's own change), and the list's date (the date in
//! its title rows, else the day the file was last saved). A task added to a list issued on
//! 1 December and due 31 December is 50% through its time on 16 December. A list re-saved later
//! moves the start of tasks with no events later too, which makes `behind_schedule` more lenient,
//! never stricter; `no_update_for` counts from the same start when nothing was ever recorded.

use super::merge::field;
use super::model::{Status, Task};
use crate::config::{Repeat, WarningLevel, WarningRule};
use crate::store::TaskEvent;
use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use std::collections::HashMap;

/// What a task's warning depends on besides the task itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskDates {
    /// When the task's time started (see the module's note); `None` when unknown.
    pub start: Option<NaiveDate>,
    /// The day of the latest event recorded for the task.
    pub last_update: Option<NaiveDate>,
    /// The day of the status event that last made it blocked, if it is blocked by an event.
    pub blocked_since: Option<NaiveDate>,
    /// The day of the status event that put it in review (awaiting sign-off), when its latest
    /// status event did.
    pub review_since: Option<NaiveDate>,
}

/// The most severe level any of whose rules matches the task on `today`: the last such entry
/// of `levels`, which are ordered least severe first. `None` for a task at no level, and for
/// every task that is not open.
pub fn level<'a>(
    task: &Task,
    today: NaiveDate,
    dates: &TaskDates,
    levels: &'a [WarningLevel],
) -> Option<&'a WarningLevel> {
    if !task.status.is_open() {
        return None;
    }
    levels
        .iter()
        .rev()
        .find(|l| l.rules.iter().any(|r| matches(*r, task, today, dates)))
}

/// Days from `from` to `today`, 0 when `from` is later.
fn days_since(from: NaiveDate, today: NaiveDate) -> i64 {
    (today - from).num_days().max(0)
}

fn matches(rule: WarningRule, task: &Task, today: NaiveDate, dates: &TaskDates) -> bool {
    match rule {
        WarningRule::DueWithin(days) => task
            .due
            .is_some_and(|due| due >= today && (due - today).num_days() <= days),
        WarningRule::Overdue => task.is_overdue(today),
        WarningRule::OverdueBy(days) => task.days_overdue(today) > days,
        WarningRule::NoUpdateFor(days) => dates
            .last_update
            .or(dates.start)
            .is_some_and(|since| days_since(since, today) >= days),
        WarningRule::BlockedFor(days) => {
            task.status == Status::Blocked
                && dates
                    .blocked_since
                    .or(dates.start)
                    .is_some_and(|since| days_since(since, today) >= days)
        }
        WarningRule::BehindSchedule { margin } => {
            let (Some(progress), Some(due), Some(start)) = (task.progress, task.due, dates.start)
            else {
                return false;
            };
            let span = (due - start).num_days();
            // The elapsed share in whole percent, rounded down; all of it once the deadline
            // has passed (a task first seen on or after its deadline has no time of its own).
            let elapsed = if today > due {
                100
            } else if span <= 0 {
                0
            } else {
                days_since(start, today).min(span) * 100 / span
            };
            i64::from(progress) + i64::from(margin) < elapsed
        }
    }
}

/// Every task's [`TaskDates`] from the recorded events (in any order), with `list_date` as the
/// start of a task no event names earlier. Days are the events' days in `zone`.
pub fn task_dates(
    events: &[TaskEvent],
    zone: Tz,
    list_date: Option<NaiveDate>,
) -> HashMap<String, TaskDates> {
    let mut by_task: HashMap<String, TaskDates> = HashMap::new();
    let mut latest_status: HashMap<&str, (i64, &str, &TaskEvent)> = HashMap::new();
    for e in events.iter().filter(|e| field::is_about_a_task(&e.field)) {
        let Some(day) = DateTime::from_timestamp_millis(e.at_ms)
            .map(|utc| zone.from_utc_datetime(&utc.naive_utc()).date_naive())
        else {
            continue;
        };
        let dates = by_task.entry(e.task_id.clone()).or_default();
        dates.start = Some(dates.start.map_or(day, |s| s.min(day)));
        dates.last_update = Some(dates.last_update.map_or(day, |s| s.max(day)));
        if e.field == field::STATUS {
            let newer = latest_status
                .get(e.task_id.as_str())
                .is_none_or(|(at, id, _)| (*at, *id) < (e.at_ms, e.id.as_str()));
            if newer {
                latest_status.insert(e.task_id.as_str(), (e.at_ms, e.id.as_str(), e));
            }
        }
    }
    for (task_id, (_, _, e)) in latest_status {
        let Some(dates) = by_task.get_mut(task_id) else {
            continue;
        };
        let day = DateTime::from_timestamp_millis(e.at_ms)
            .map(|utc| zone.from_utc_datetime(&utc.naive_utc()).date_naive());
        match e.new_value.as_deref().and_then(Status::from_name) {
            Some(Status::Blocked) => dates.blocked_since = day,
            Some(Status::Review) => dates.review_since = day,
            _ => {}
        }
    }
    if let Some(list_date) = list_date {
        for dates in by_task.values_mut() {
            dates.start = dates.start.map(|s| s.min(list_date));
        }
    }
    by_task
}

/// The dates of one task: its entry in `dates`, or the list's date as its start.
pub fn dates_of(
    dates: &HashMap<String, TaskDates>,
    task_id: &str,
    list_date: Option<NaiveDate>,
) -> TaskDates {
    dates.get(task_id).copied().unwrap_or(TaskDates {
        start: list_date,
        last_update: None,
        blocked_since: None,
        review_since: None,
    })
}

/// The levels and every task's dates, to judge many tasks on one day (a digest, `tasks`).
#[derive(Debug, Clone)]
pub struct Judge<'a> {
    levels: &'a [WarningLevel],
    dates: HashMap<String, TaskDates>,
    list_date: Option<NaiveDate>,
}

impl<'a> Judge<'a> {
    /// `events` are the recorded events (any order); `list_date` the list's own date, the start
    /// of a task no event names earlier.
    pub fn new(
        levels: &'a [WarningLevel],
        events: &[TaskEvent],
        zone: Tz,
        list_date: Option<NaiveDate>,
    ) -> Self {
        Judge {
            levels,
            dates: task_dates(events, zone, list_date),
            list_date,
        }
    }

    /// The levels judged against, least severe first.
    pub fn levels(&self) -> &'a [WarningLevel] {
        self.levels
    }

    /// The day `task` was reported done and began to await sign-off, when an event says so.
    pub fn review_since(&self, task: &Task) -> Option<NaiveDate> {
        self.dates.get(&task.id).and_then(|d| d.review_since)
    }

    /// Whether `level`, the one `task` is at on `today`, tells its leader, admins and
    /// channels again at this reminder slot, by its `repeat`: in every slot; `daily`, in the
    /// first slot of a day; `once`, in the first slot at which the task is at this level. Both
    /// are judged from the schedule's previous slot (`previous`, its day), so nothing needs
    /// remembering: `once` tells unless the task was already at this very level on the previous
    /// slot's day (a daemon that missed that slot tells once more, which is the safe side).
    pub fn tells_again(
        &self,
        task: &Task,
        level: &WarningLevel,
        today: NaiveDate,
        previous: Option<NaiveDate>,
    ) -> bool {
        match (level.repeat, previous) {
            (Repeat::EachSlot, _) | (_, None) => true,
            (Repeat::Daily, Some(day)) => day < today,
            (Repeat::Once, Some(day)) => self
                .level(task, day)
                .is_none_or(|before| !std::ptr::eq(before, level)),
        }
    }

    /// The task's level on `today` (see [`level`]).
    pub fn level(&self, task: &Task, today: NaiveDate) -> Option<&'a WarningLevel> {
        if self.levels.is_empty() {
            return None;
        }
        level(
            task,
            today,
            &dates_of(&self.dates, &task.id, self.list_date),
            self.levels,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Locale, default_warning_levels};
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn task(due: Option<&str>, status: Status, progress: Option<u8>) -> Task {
        Task {
            due: due.map(day),
            status,
            progress,
            ..Task::sample("1")
        }
    }

    #[test]
    fn repeat_tells_every_slot_once_a_day_or_once_at_the_level() {
        let mut levels = default_warning_levels(Locale::En, 7);
        // Overdue: red; the top red (overdue by more than 7 days) tells the leader.
        let task = task(Some("2026-12-01"), Status::InProgress, Some(10));
        let top = levels.len() - 1;
        for (repeat, previous, want) in [
            (Repeat::EachSlot, Some("2026-12-15"), true),
            (Repeat::Daily, Some("2026-12-15"), false),
            (Repeat::Daily, Some("2026-12-14"), true),
            (Repeat::Daily, None, true),
            // On the 15th it was already overdue by more than 7 days: told then.
            (Repeat::Once, Some("2026-12-15"), false),
            // On the 8th it was red, but not yet at the top entry: this is its first slot there.
            (Repeat::Once, Some("2026-12-08"), true),
        ] {
            levels[top].repeat = repeat;
            let judge = Judge::new(&levels, &[], chrono_tz::Asia::Shanghai, None);
            let level = &levels[top];
            assert!(
                std::ptr::eq(
                    judge.level(&task, day("2026-12-15")).unwrap_or(&levels[0]),
                    level
                ),
                "the task is at the top level"
            );
            assert_eq!(
                judge.tells_again(&task, level, day("2026-12-15"), previous.map(day)),
                want,
                "{repeat:?} after {previous:?}"
            );
        }
    }

    fn started(start: &str) -> TaskDates {
        TaskDates {
            start: Some(day(start)),
            last_update: Some(day(start)),
            blocked_since: None,
            review_since: None,
        }
    }

    fn name_on(t: &Task, today: &str, dates: &TaskDates) -> &'static str {
        let levels = default_warning_levels(Locale::En, 7);
        match level(t, day(today), dates, &levels) {
            Some(l) if l.notify.len() > 1 => "red+leader",
            Some(l) => match l.name.as_str() {
                "blue" => "blue",
                "yellow" => "yellow",
                "red" => "red",
                other => panic!("unexpected level {other}"),
            },
            None => "none",
        }
    }

    #[test]
    fn the_default_levels_rise_from_blue_to_red_with_the_leader() {
        let t = task(Some("2026-12-31"), Status::InProgress, None);
        let d = TaskDates {
            start: Some(day("2026-12-01")),
            last_update: Some(day("2026-12-26")),
            blocked_since: None,
            review_since: None,
        };
        assert_eq!(name_on(&t, "2026-12-27", &d), "none");
        assert_eq!(name_on(&t, "2026-12-28", &d), "blue");
        assert_eq!(name_on(&t, "2026-12-31", &d), "blue");
        assert_eq!(name_on(&t, "2027-01-01", &d), "red");
        assert_eq!(name_on(&t, "2027-01-07", &d), "red");
        assert_eq!(name_on(&t, "2027-01-08", &d), "red+leader");
    }

    #[test]
    fn a_task_done_or_without_a_deadline_and_updated_has_no_warning() {
        let d = started("2026-12-01");
        let done = task(Some("2026-12-01"), Status::Done, Some(100));
        assert_eq!(name_on(&done, "2027-03-01", &d), "none");
        let ongoing = task(None, Status::InProgress, None);
        assert_eq!(name_on(&ongoing, "2026-12-05", &d), "none");
    }

    #[test]
    fn behind_schedule_compares_progress_with_the_elapsed_share_less_the_margin() {
        // 1 → 31 December: on the 16th, 50% of the time is gone; the margin is 10 points.
        let d = started("2026-12-01");
        let fresh = TaskDates {
            last_update: Some(day("2026-12-16")),
            ..d
        };
        let at = |p| {
            name_on(
                &task(Some("2026-12-31"), Status::InProgress, Some(p)),
                "2026-12-16",
                &fresh,
            )
        };
        assert_eq!(at(39), "yellow");
        assert_eq!(at(40), "none");
        assert_eq!(at(80), "none");
        let no_progress = task(Some("2026-12-31"), Status::InProgress, None);
        assert_eq!(name_on(&no_progress, "2026-12-16", &fresh), "none");
    }

    #[test]
    fn seven_days_without_an_update_is_yellow_counted_from_the_start_when_nothing_was_recorded() {
        let t = task(Some("2027-03-31"), Status::Todo, None);
        let never = TaskDates {
            start: Some(day("2026-12-01")),
            last_update: None,
            blocked_since: None,
            review_since: None,
        };
        assert_eq!(name_on(&t, "2026-12-07", &never), "none");
        assert_eq!(name_on(&t, "2026-12-08", &never), "yellow");
    }

    #[test]
    fn blocked_for_counts_from_the_event_that_blocked_the_task() {
        let levels = vec![WarningLevel {
            name: "yellow".into(),
            label: "黄".into(),
            rules: vec![WarningRule::BlockedFor(7)],
            notify: vec![],
            repeat: crate::config::Repeat::EachSlot,
            severity: 0,
        }];
        let t = task(None, Status::Blocked, None);
        let d = TaskDates {
            start: Some(day("2026-11-01")),
            last_update: Some(day("2026-12-01")),
            blocked_since: Some(day("2026-12-01")),
            review_since: None,
        };
        assert!(level(&t, day("2026-12-07"), &d, &levels).is_none());
        assert!(level(&t, day("2026-12-08"), &d, &levels).is_some());
    }

    #[test]
    fn task_dates_read_start_last_update_and_blocking_from_events() {
        let ev = |id: &str, at: &str, f: &str, v: &str| TaskEvent {
            id: id.into(),
            dedupe_key: None,
            task_id: "7".into(),
            at_ms: DateTime::parse_from_rfc3339(at)
                .unwrap_or_else(|e| panic!("{at}: {e}"))
                .timestamp_millis(),
            actor: "wang".into(),
            source: "chat".into(),
            channel: None,
            field: f.into(),
            old_value: None,
            new_value: Some(v.into()),
        };
        let events = vec![
            ev("b", "2026-12-05T02:00:00Z", field::STATUS, "blocked"),
            ev("a", "2026-11-20T02:00:00Z", field::PROGRESS, "10"),
            ev("c", "2026-12-06T17:00:00Z", field::NOTE, "等审批"),
        ];
        let dates = task_dates(&events, chrono_tz::Asia::Shanghai, Some(day("2026-12-01")));
        assert_eq!(
            dates_of(&dates, "7", None),
            TaskDates {
                start: Some(day("2026-11-20")),
                // 17:00 UTC is the next morning in Shanghai.
                last_update: Some(day("2026-12-07")),
                blocked_since: Some(day("2026-12-05")),
                review_since: None,
            }
        );
        assert_eq!(
            dates_of(&dates, "8", Some(day("2026-12-01"))).start,
            Some(day("2026-12-01"))
        );
    }

    fn any_rule() -> impl Strategy<Value = WarningRule> {
        prop_oneof![
            (0i64..30).prop_map(WarningRule::NoUpdateFor),
            Just(WarningRule::Overdue),
            (0i64..30).prop_map(WarningRule::OverdueBy),
            (0i64..30).prop_map(WarningRule::BlockedFor),
            (0u8..=100).prop_map(|margin| WarningRule::BehindSchedule { margin }),
        ]
    }

    fn any_task() -> impl Strategy<Value = (Task, TaskDates)> {
        (
            proptest::option::of(0i64..120),
            prop_oneof![
                Just(Status::Todo),
                Just(Status::InProgress),
                Just(Status::Blocked)
            ],
            proptest::option::of(0u8..=100),
            proptest::option::of(0i64..60),
            proptest::option::of(0i64..90),
            proptest::option::of(0i64..90),
        )
            .prop_map(|(due, status, progress, start, update, blocked)| {
                let base = day("2026-11-01");
                let at = |d: i64| base + chrono::Duration::days(d);
                let mut t = task(None, status, progress);
                t.due = due.map(at);
                (
                    t,
                    TaskDates {
                        start: start.map(at),
                        last_update: update.map(at),
                        blocked_since: blocked.map(at),
                        review_since: None,
                    },
                )
            })
    }

    fn severity(l: Option<&WarningLevel>) -> i64 {
        l.map_or(-1, |l| l.severity as i64)
    }

    proptest! {
        /// With the built-in levels, a day later never lowers a task's warning: a task more
        /// overdue (or longer silent, or further behind) is at its level or above.
        #[test]
        fn with_the_default_levels_a_later_day_never_lowers_the_warning(
            (t, dates) in any_task(),
            first in 0i64..150,
            later in 0i64..60,
            escalate in 1i64..30,
        ) {
            let levels = default_warning_levels(Locale::ZhCn, escalate);
            let today = day("2026-11-01") + chrono::Duration::days(first);
            let then = today + chrono::Duration::days(later);
            prop_assert!(
                severity(level(&t, then, &dates, &levels)) >= severity(level(&t, today, &dates, &levels))
            );
        }

        /// Every rule but `due_within` only ever starts to match as days pass, so levels made of
        /// them, in any order, are monotonic too.
        #[test]
        fn levels_of_lasting_rules_in_any_order_never_fall_as_days_pass(
            rules in proptest::collection::vec(proptest::collection::vec(any_rule(), 1..3), 1..6),
            (t, dates) in any_task(),
            first in 0i64..150,
            later in 0i64..60,
        ) {
            let levels: Vec<WarningLevel> = rules
                .into_iter()
                .enumerate()
                .map(|(i, rules)| WarningLevel {
                    name: format!("l{i}"),
                    label: format!("l{i}"),
                    rules,
                    notify: vec![],
                    repeat: crate::config::Repeat::EachSlot,
                    severity: i,
                })
                .collect();
            let today = day("2026-11-01") + chrono::Duration::days(first);
            let then = today + chrono::Duration::days(later);
            prop_assert!(
                severity(level(&t, then, &dates, &levels)) >= severity(level(&t, today, &dates, &levels))
            );
        }
    }
}

//! A task's current state: its row in the latest task list, then the recorded events on top.
//!
//! The office's file and the chat both change tasks, and the latest change wins, whichever it
//! came from.
//! The file row is the starting point; every event for the task is then applied in `at_ms`
//! order (ties broken by event id, so replicas agree), field by field.
//!
//! # Event conventions
//!
//! This is the contract between the store, the daemon (which records file changes and chat
//! commands) and this module. `task_id` is the task's id as written in the sheet.
//!
//! | `field` | `new_value` | applied as |
//! | --- | --- | --- |
//! | `status` | English status name: `todo`, `in_progress`, `blocked`, `done`, `ongoing`, `cancelled` | replaces the status |
//! | `progress` | whole percent `0`..=`100` as text (a trailing `%` is tolerated); NULL or empty clears it | replaces the progress |
//! | `note` | one note written in the chat or CLI | appended to `notes` as a line `[YYYY-MM-DD actor] text` |
//! | `notes` | the whole notes cell (recorded with `source = "file"` when the office edits it) | replaces `notes` (NULL = empty) |
//! | `report` | a unit's weekly report; **`task_id` holds the unit's name** | never applied to a task |
//! | `extension` | a deadline extension asked for: `YYYY-MM-DD reason` | the task's pending request, by the actor, marked late when asked after the deadline |
//! | `due` | `YYYY-MM-DD`: an extension granted | replaces the deadline (the first one is kept as `original_due`) and answers the request |
//! | `extension_denied` | the reason | answers the pending request |
//! | `away` | leave (请假): `YYYY-MM-DD..YYYY-MM-DD` and the deputy's id, or empty for `back`; **`task_id` holds the person's id** | never applied to a task; read by [`record_absences`] |
//!
//! `old_value` is for the record only; merging never reads it. `actor` is the person's id (or
//! `file`, or the CLI user); when a [`Directory`] is given, a note's line shows the person's
//! display name instead. The date in a note's line is the event's day in the given time zone
//! (the config's `timezone`), since that is the day the person wrote it.
//!
//! Events for ids that are not in the list (a row since deleted, a typo in `weekbell cmd`) and
//! malformed values (an unknown status word, progress `120`) are skipped and counted, never
//! fatal: one bad row in the store must not stop every digest.

use super::model::{ExtensionRequest, Status, Task};
use crate::people::Directory;
use crate::store::TaskEvent;
use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

/// Event field names, shared with `commands` and whoever records events.
pub mod field {
    pub const STATUS: &str = "status";
    pub const PROGRESS: &str = "progress";
    pub const NOTE: &str = "note";
    pub const NOTES: &str = "notes";
    pub const REPORT: &str = "report";
    pub const EXTENSION: &str = "extension";
    pub const DUE: &str = "due";
    pub const EXTENSION_DENIED: &str = "extension_denied";
    pub const AWAY: &str = "away";

    /// Fields whose `task_id` names something other than a task (a unit, a person).
    pub fn is_about_a_task(field: &str) -> bool {
        field != REPORT && field != AWAY
    }
}

/// How many events a merge used, and how many it had to leave out (for the log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    pub applied: usize,
    /// Events naming a task id that is not in the list.
    pub unknown_task: usize,
    /// Events with an unknown field or a value that does not parse.
    pub malformed: usize,
}

/// How note lines are written.
#[derive(Debug, Clone, Copy)]
pub struct MergeOptions<'a> {
    /// The zone whose calendar day a note is dated with.
    pub zone: Tz,
    /// Resolves an event's actor (a person id) to the display name shown in notes.
    pub people: Option<&'a Directory>,
}

impl Default for MergeOptions<'_> {
    fn default() -> Self {
        MergeOptions {
            zone: chrono_tz::UTC,
            people: None,
        }
    }
}

/// Applies `events` to `tasks` with notes dated in UTC and actors shown as recorded.
/// See [`apply_events_with`].
pub fn apply_events(tasks: &mut [Task], events: &[TaskEvent]) -> MergeStats {
    apply_events_with(tasks, events, &MergeOptions::default())
}

/// Applies `events` to `tasks` in `at_ms` order (then id), so the latest change to each field
/// wins. `report` events are not task changes and are passed over without being counted.
pub fn apply_events_with(
    tasks: &mut [Task],
    events: &[TaskEvent],
    options: &MergeOptions<'_>,
) -> MergeStats {
    apply_events_where(tasks, events, options, |_| true)
}

/// [`apply_events_with`] with only the events `keep` takes: those up to an instant, or of the
/// fields a caller reads (the assessment reads status and deadlines, never notes), without
/// copying the events.
pub fn apply_events_where(
    tasks: &mut [Task],
    events: &[TaskEvent],
    options: &MergeOptions<'_>,
    keep: impl Fn(&TaskEvent) -> bool,
) -> MergeStats {
    let mut ordered: Vec<&TaskEvent> = events
        .iter()
        .filter(|e| field::is_about_a_task(&e.field) && keep(e))
        .collect();
    // Event ids are unique, so no two events compare equal and an unstable sort is exact.
    ordered.sort_unstable_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));

    // Decoded first, while the ids are borrowed from the rows, then applied in the same order.
    let mut stats = MergeStats::default();
    let mut changes: Vec<(usize, FieldChange)> = Vec::with_capacity(ordered.len());
    {
        let rows = RowsById::new(tasks);
        for event in ordered {
            let mut indices = rows.get(&event.task_id).peekable();
            if indices.peek().is_none() {
                stats.unknown_task += 1;
                continue;
            }
            let Some(change) = FieldChange::parse(event, options) else {
                stats.malformed += 1;
                continue;
            };
            for i in indices {
                changes.push((i, change.clone()));
            }
            stats.applied += 1;
        }
    }
    for (i, change) in &changes {
        if let Some(task) = tasks.get_mut(*i) {
            change.apply(task);
        }
    }
    stats
}

/// The rows of a list by task id. A list may repeat an id (two rows numbered alike); an event
/// then changes both rows, as the sender could not have told them apart either. That is rare,
/// so the further rows of an id are kept aside rather than giving every id a list.
pub(crate) struct RowsById<'a> {
    first: FxHashMap<&'a str, usize>,
    more: FxHashMap<&'a str, Vec<usize>>,
}

impl<'a> RowsById<'a> {
    pub(crate) fn new(tasks: &'a [Task]) -> Self {
        let mut first: FxHashMap<&str, usize> = FxHashMap::default();
        first.reserve(tasks.len());
        let mut more: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (i, t) in tasks.iter().enumerate() {
            match first.entry(t.id.as_str()) {
                Entry::Occupied(_) => more.entry(t.id.as_str()).or_default().push(i),
                Entry::Vacant(v) => {
                    v.insert(i);
                }
            }
        }
        RowsById { first, more }
    }

    /// The rows with task id `id`, in list order; none for an id not in the list.
    pub(crate) fn get(&self, id: &str) -> impl Iterator<Item = usize> + '_ {
        let more = self.more.get(id).map_or(&[][..], Vec::as_slice);
        self.first
            .get(id)
            .copied()
            .into_iter()
            .chain(more.iter().copied())
    }
}

/// One event, decoded.
#[derive(Clone)]
enum FieldChange {
    Status(Status),
    Progress(Option<u8>),
    AppendNote(String),
    ReplaceNotes(String),
    /// Asked on `day` (the event's day in the zone), for the late mark.
    ExtensionAsked {
        request: ExtensionRequest,
        day: NaiveDate,
    },
    ExtensionGranted {
        due: NaiveDate,
        day: NaiveDate,
    },
    ExtensionDenied,
}

impl FieldChange {
    fn parse(event: &TaskEvent, options: &MergeOptions<'_>) -> Option<FieldChange> {
        let value = event.new_value.as_deref();
        match event.field.as_str() {
            field::STATUS => value.and_then(Status::from_name).map(FieldChange::Status),
            field::PROGRESS => match value.map(str::trim) {
                None | Some("") => Some(FieldChange::Progress(None)),
                Some(v) => parse_percent(v).map(|p| FieldChange::Progress(Some(p))),
            },
            field::NOTE => {
                let text = value.map(str::trim).filter(|t| !t.is_empty())?;
                Some(FieldChange::AppendNote(note_line(event, text, options)))
            }
            field::NOTES => Some(FieldChange::ReplaceNotes(
                value.unwrap_or_default().to_string(),
            )),
            field::EXTENSION => {
                let (to, reason) = parse_extension_value(value?)?;
                Some(FieldChange::ExtensionAsked {
                    request: ExtensionRequest {
                        to,
                        reason: reason.to_string(),
                        by: event.actor.clone(),
                        at_ms: event.at_ms,
                        late: false,
                    },
                    day: event_day(event, options)?,
                })
            }
            field::DUE => Some(FieldChange::ExtensionGranted {
                due: NaiveDate::parse_from_str(value?.trim(), "%Y-%m-%d").ok()?,
                day: event_day(event, options)?,
            }),
            field::EXTENSION_DENIED => Some(FieldChange::ExtensionDenied),
            _ => None,
        }
    }

    fn apply(&self, task: &mut Task) {
        match self {
            FieldChange::Status(s) => task.status = *s,
            FieldChange::Progress(p) => task.progress = *p,
            FieldChange::AppendNote(line) => {
                if !task.notes.trim().is_empty() {
                    task.notes.push('\n');
                } else {
                    task.notes.clear();
                }
                task.notes.push_str(line);
            }
            FieldChange::ReplaceNotes(notes) => task.notes.clone_from(notes),
            FieldChange::ExtensionAsked { request, day } => {
                let late = task.due.is_some_and(|due| *day > due);
                task.extension.pending = Some(ExtensionRequest {
                    late,
                    ..request.clone()
                });
            }
            FieldChange::ExtensionGranted { due, day } => {
                if task.extension.original_due.is_none() {
                    task.extension.original_due = task.due;
                }
                task.due = Some(*due);
                task.extension.granted_on = Some(*day);
                task.extension.pending = None;
            }
            FieldChange::ExtensionDenied => task.extension.pending = None,
        }
    }
}

/// Takes the `away` events into `absences` (in any order: the latest for a person wins). A
/// value that does not read as leave is `back`: whatever it says, the person is not away.
pub fn record_absences(absences: &mut crate::people::Absences, events: &[TaskEvent]) {
    for e in events.iter().filter(|e| e.field == field::AWAY) {
        let leave = e
            .new_value
            .as_deref()
            .and_then(|v| crate::people::Absence::from_value(&e.task_id, v));
        absences.record(&e.task_id, leave, e.at_ms, &e.id);
    }
}

/// An `extension` event's value: the date asked for, a space, the reason.
pub fn parse_extension_value(value: &str) -> Option<(NaiveDate, &str)> {
    let value = value.trim();
    let (date, reason) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    let to = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some((to, reason.trim()))
}

/// The event's calendar day in the merge's zone.
fn event_day(event: &TaskEvent, options: &MergeOptions<'_>) -> Option<NaiveDate> {
    day_in(options.zone, event.at_ms)
}

/// The calendar day in `zone` of the instant `at_ms` (milliseconds since the epoch).
pub fn day_in(zone: Tz, at_ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(at_ms)
        .map(|utc| zone.from_utc_datetime(&utc.naive_utc()).date_naive())
}

/// The first instant of `day` in `zone`, in milliseconds since the epoch; where midnight is
/// skipped by a daylight-saving change, the day's midnight read as UTC.
pub fn day_start_ms(zone: Tz, day: NaiveDate) -> i64 {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&midnight).earliest().map_or_else(
        || midnight.and_utc().timestamp_millis(),
        |t| t.timestamp_millis(),
    )
}

fn parse_percent(v: &str) -> Option<u8> {
    let digits = v.strip_suffix('%').unwrap_or(v).trim();
    digits.parse::<u8>().ok().filter(|p| *p <= 100)
}

/// `[2026-11-30 孙强] text`: the day and the person are what a reader of the exported sheet
/// needs to know which update is the latest and whom to ask.
fn note_line(event: &TaskEvent, text: &str, options: &MergeOptions<'_>) -> String {
    let who = options
        .people
        .and_then(|d| d.get(&event.actor))
        .map_or(event.actor.as_str(), |p| p.name.as_str());
    match event_day(event, options) {
        Some(day) => format!("[{} {who}] {text}", day.format("%Y-%m-%d")),
        None => format!("[{who}] {text}"),
    }
}

/// Activity recorded between digests: what a digest's "done since" and "reported this week"
/// show. It lives here, beside [`week_activity`] that computes it from events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekActivity {
    /// Task ids marked done since the last digest, from events.
    pub completed_since: Vec<String>,
    /// Units that sent a weekly report this week.
    pub reported_units: BTreeSet<String>,
}

/// What happened since the last digest, from the events at or after `since_ms`.
///
/// `completed_since` holds the tasks whose latest status event in that window says `done`
/// (a task reopened afterwards is not listed), in the order they were completed;
/// `reported_units` the units with a `report` event in the window.
pub fn week_activity(events: &[TaskEvent], since_ms: i64) -> WeekActivity {
    let mut latest: HashMap<&str, &TaskEvent> = HashMap::new();
    let mut reported_units = BTreeSet::new();
    for e in events.iter().filter(|e| e.at_ms >= since_ms) {
        match e.field.as_str() {
            field::STATUS => {
                // Events with an unparsable status still count as the latest word on the task:
                // whatever they meant, the task was not plainly marked done by then.
                let newer = latest
                    .get(e.task_id.as_str())
                    .is_none_or(|cur| (cur.at_ms, &cur.id) < (e.at_ms, &e.id));
                if newer {
                    latest.insert(e.task_id.as_str(), e);
                }
            }
            field::REPORT => {
                let unit = e.task_id.trim();
                if !unit.is_empty() {
                    reported_units.insert(unit.to_string());
                }
            }
            _ => {}
        }
    }
    let mut done: Vec<&TaskEvent> = latest
        .into_values()
        .filter(|e| e.new_value.as_deref().and_then(Status::from_name) == Some(Status::Done))
        .collect();
    done.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    WeekActivity {
        completed_since: done.into_iter().map(|e| e.task_id.clone()).collect(),
        reported_units,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;
    use std::collections::BTreeMap;

    fn task(id: &str) -> Task {
        Task {
            unit: "县城管局".into(),
            ..Task::sample(id)
        }
    }

    fn ev(id: &str, task: &str, at_ms: i64, field: &str, value: Option<&str>) -> TaskEvent {
        TaskEvent {
            id: id.into(),
            dedupe_key: None,
            task_id: task.into(),
            at_ms,
            actor: "sun.qiang".into(),
            source: "chat".into(),
            channel: None,
            field: field.into(),
            old_value: None,
            new_value: value.map(str::to_string),
        }
    }

    // 2026-11-30T00:00:00Z
    const DAY: i64 = 1_795_996_800_000;

    #[test]
    fn an_extension_asked_then_granted_moves_the_deadline_and_keeps_the_first() {
        let mut tasks = vec![Task {
            due: NaiveDate::from_ymd_opt(2026, 12, 15),
            ..task("1")
        }];
        let asked = ev(
            "a",
            "1",
            DAY,
            field::EXTENSION,
            Some("2027-01-31 资金未到位"),
        );
        apply_events(&mut tasks, std::slice::from_ref(&asked));
        let pending = tasks[0]
            .extension
            .pending
            .clone()
            .unwrap_or_else(|| panic!("no request"));
        assert_eq!(
            pending.to,
            NaiveDate::from_ymd_opt(2027, 1, 31).unwrap_or_default()
        );
        assert_eq!(pending.reason, "资金未到位");
        assert_eq!(pending.by, "sun.qiang");
        assert!(!pending.late, "asked on 30 November, before 15 December");

        let granted = ev("b", "1", DAY + 86_400_000, field::DUE, Some("2027-01-31"));
        apply_events(&mut tasks, &[granted]);
        let t = &tasks[0];
        assert_eq!(t.due, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(t.due_original(), NaiveDate::from_ymd_opt(2026, 12, 15));
        assert_eq!(t.extension.pending, None);
        // Granted on 1 December, before the first deadline: on time counts against the new one.
        assert_eq!(t.due_for_on_time(), NaiveDate::from_ymd_opt(2027, 1, 31));

        // A second extension keeps the first deadline as the original.
        apply_events(
            &mut tasks,
            &[ev(
                "c",
                "1",
                DAY + 90 * 86_400_000,
                field::DUE,
                Some("2027-03-31"),
            )],
        );
        assert_eq!(
            tasks[0].due_original(),
            NaiveDate::from_ymd_opt(2026, 12, 15)
        );
        // Granted in February, after the first deadline: it does not make a late task punctual.
        assert_eq!(
            tasks[0].due_for_on_time(),
            NaiveDate::from_ymd_opt(2026, 12, 15)
        );
    }

    #[test]
    fn an_extension_asked_after_the_deadline_is_late_and_a_denial_clears_it() {
        let mut tasks = vec![Task {
            due: NaiveDate::from_ymd_opt(2026, 11, 20),
            ..task("1")
        }];
        apply_events(
            &mut tasks,
            &[ev(
                "a",
                "1",
                DAY,
                field::EXTENSION,
                Some("2026-12-31 天气原因"),
            )],
        );
        assert!(tasks[0].extension.pending.as_ref().is_some_and(|r| r.late));
        apply_events(
            &mut tasks,
            &[ev(
                "b",
                "1",
                DAY + 1,
                field::EXTENSION_DENIED,
                Some("按原时限"),
            )],
        );
        assert_eq!(tasks[0].extension.pending, None);
        assert_eq!(tasks[0].due, NaiveDate::from_ymd_opt(2026, 11, 20));
        // A request without a readable date is malformed, not applied.
        let stats = apply_events(
            &mut tasks,
            &[ev("c", "1", DAY + 2, field::EXTENSION, Some("next week"))],
        );
        assert_eq!(stats.malformed, 1);
    }

    #[test]
    fn latest_event_per_field_wins_regardless_of_input_order() {
        let mut tasks = vec![task("1")];
        let events = vec![
            ev("b", "1", DAY + 2, "status", Some("done")),
            ev("a", "1", DAY + 1, "status", Some("blocked")),
            ev("c", "1", DAY + 1, "progress", Some("40")),
        ];
        let stats = apply_events(&mut tasks, &events);
        assert_eq!(tasks[0].status, Status::Done);
        assert_eq!(tasks[0].progress, Some(40));
        assert_eq!(stats.applied, 3);
    }

    #[test]
    fn equal_times_are_ordered_by_event_id() {
        let mut tasks = vec![task("1")];
        let events = vec![
            ev("2", "1", DAY, "status", Some("done")),
            ev("1", "1", DAY, "status", Some("blocked")),
        ];
        apply_events(&mut tasks, &events);
        assert_eq!(tasks[0].status, Status::Done);
    }

    #[test]
    fn a_file_change_after_a_chat_change_wins() {
        let mut tasks = vec![task("1")];
        let mut file = ev("f", "1", DAY + 10, "status", Some("in_progress"));
        file.source = "file".into();
        let events = vec![ev("c", "1", DAY, "status", Some("done")), file];
        apply_events(&mut tasks, &events);
        assert_eq!(tasks[0].status, Status::InProgress);
    }

    #[test]
    fn notes_are_appended_with_day_and_person_and_replaced_by_file_notes() {
        let mut tasks = vec![task("1")];
        tasks[0].notes = "原有备注".into();
        let events = vec![ev("a", "1", DAY + 3_600_000, "note", Some("已清理三处"))];
        apply_events(&mut tasks, &events);
        assert_eq!(
            tasks[0].notes,
            "原有备注\n[2026-11-30 sun.qiang] 已清理三处"
        );

        let people = Directory::new(vec![Person {
            id: "sun.qiang".into(),
            name: "孙强".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: BTreeMap::new(),
            admin: false,
        }]);
        let options = MergeOptions {
            zone: chrono_tz::Asia::Shanghai,
            people: Some(&people),
        };
        let mut tasks = vec![task("1")];
        // 20:00 UTC is already the next day in Shanghai.
        let late = ev("a", "1", DAY + 20 * 3_600_000, "note", Some("text"));
        let mut replace = ev("b", "1", DAY + 21 * 3_600_000, "notes", Some("整表备注"));
        replace.source = "file".into();
        let after = ev("c", "1", DAY + 22 * 3_600_000, "note", Some("again"));
        apply_events_with(&mut tasks, &[after, replace, late], &options);
        assert_eq!(tasks[0].notes, "整表备注\n[2026-12-01 孙强] again");
    }

    #[test]
    fn unknown_tasks_malformed_values_and_reports_are_skipped() {
        let mut tasks = vec![task("1")];
        let events = vec![
            ev("a", "9", DAY, "status", Some("done")),
            ev("b", "1", DAY, "status", Some("finished-ish")),
            ev("c", "1", DAY, "progress", Some("120")),
            ev("d", "1", DAY, "progress", Some("abc")),
            ev("e", "1", DAY, "status", None),
            ev("f", "1", DAY, "priority", Some("high")),
            ev("g", "县城管局", DAY, "report", Some("本周完成")),
            ev("h", "1", DAY, "note", Some("   ")),
            ev("i", "1", i64::MAX, "progress", Some("60%")),
        ];
        let stats = apply_events(&mut tasks, &events);
        assert_eq!(
            stats,
            MergeStats {
                applied: 1,
                unknown_task: 1,
                malformed: 6
            }
        );
        assert_eq!(tasks[0].status, Status::Todo);
        assert_eq!(tasks[0].progress, Some(60));
        assert_eq!(tasks[0].notes, "");
    }

    #[test]
    fn progress_can_be_cleared_and_repeated_ids_all_change() {
        let mut tasks = vec![task("1"), task("1")];
        tasks[0].progress = Some(10);
        let events = vec![ev("a", "1", DAY, "progress", None)];
        apply_events(&mut tasks, &events);
        assert_eq!(tasks[0].progress, None);
        let events = vec![ev("a", "1", DAY, "status", Some("done"))];
        apply_events(&mut tasks, &events);
        assert!(tasks.iter().all(|t| t.status == Status::Done));
    }

    #[test]
    fn week_activity_counts_the_latest_status_and_reports_in_the_window() {
        let events = vec![
            ev("a", "1", DAY + 5, "status", Some("done")),
            ev("b", "2", DAY + 1, "status", Some("done")),
            ev("c", "2", DAY + 6, "status", Some("in_progress")), // reopened
            ev("d", "3", DAY - 1, "status", Some("done")),        // before the window
            ev("e", "4", DAY + 2, "status", Some("done")),
            ev("f", "县城管局", DAY + 3, "report", Some("本周完成")),
            ev("g", "城关镇", DAY - 3, "report", Some("上周")),
            ev("h", " ", DAY + 3, "report", Some("no unit")),
        ];
        let activity = week_activity(&events, DAY);
        assert_eq!(activity.completed_since, vec!["4", "1"]);
        assert_eq!(
            activity.reported_units.into_iter().collect::<Vec<_>>(),
            vec!["县城管局"]
        );
    }
}

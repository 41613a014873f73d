//! What the messages say, computed from tasks: counts, sections, who to remind. No formatting
//! happens here; templates turn these views into text.

use crate::config::{Recipient, WarningLevel};
use crate::people::{Absence, Absences, Directory, Person};
use crate::tasks::warning::Judge;
use crate::tasks::{Assignee, Status, Task};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// How far ahead "due soon" looks: open tasks due from today through today + 7 days.
pub const DUE_SOON_DAYS: i64 = 7;

/// Computed from events in `tasks::merge`, which render must not depend on; `render::view`
/// and `render` still name it, as they did before it moved.
pub use crate::tasks::WeekActivity;

/// Everything a digest is computed from.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Already filtered for the channel and schedule.
    pub tasks: &'a [Task],
    pub today: NaiveDate,
    /// The previous slot's date, when there was one.
    pub period_start: Option<NaiveDate>,
    pub period_end: NaiveDate,
    pub activity: &'a WeekActivity,
    /// Footer shown when the last re-read of the task list failed and an older list is used.
    pub stale_list_note: Option<&'a str>,
    /// Judges each task's warning level; `None` renders no warnings.
    pub warnings: Option<&'a Judge<'a>>,
    /// Who is on leave; the digest names those away today.
    pub absences: Option<&'a Absences>,
}

/// Task counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusTotals {
    pub total: usize,
    pub todo: usize,
    pub in_progress: usize,
    pub blocked: usize,
    pub done: usize,
    pub ongoing: usize,
    pub cancelled: usize,
    /// Awaiting sign-off: counted, not yet done.
    pub review: usize,
}

impl StatusTotals {
    pub fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Todo => self.todo += 1,
            Status::InProgress => self.in_progress += 1,
            Status::Blocked => self.blocked += 1,
            Status::Done => self.done += 1,
            Status::Ongoing => self.ongoing += 1,
            Status::Cancelled => self.cancelled += 1,
            Status::Review => self.review += 1,
        }
    }

    /// Tasks that count towards the completion rate: all but the cancelled ones.
    pub fn counted(&self) -> usize {
        self.total - self.cancelled
    }

    /// Completion rate in whole percent: `done / (total − cancelled)`, rounded down so that
    /// 100% means every counted task is done.
    ///
    /// Cancelled tasks are left out because they will never be done; ongoing tasks (长期坚持)
    /// count as not done, since they never finish. `None` when no task counts.
    pub fn completion_rate(&self) -> Option<u8> {
        let counted = self.counted();
        // done <= counted, so the quotient is at most 100.
        (counted > 0).then(|| u8::try_from(self.done * 100 / counted).unwrap_or(100))
    }
}

/// One task in a list section, with the day arithmetic done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskLine<'a> {
    pub task: &'a Task,
    /// Whole days past the deadline (0 when not overdue).
    pub days_overdue: i64,
    /// Days until the deadline for open tasks (0 = due today, negative = overdue).
    pub days_left: Option<i64>,
    /// The warning level the task has reached, if any.
    pub warning: Option<&'a WarningLevel>,
}

impl<'a> TaskLine<'a> {
    pub fn new(task: &'a Task, today: NaiveDate, warning: Option<&'a WarningLevel>) -> Self {
        TaskLine {
            warning,
            task,
            days_overdue: task.days_overdue(today),
            days_left: task
                .due
                .filter(|_| task.status.is_open())
                .map(|d| (d - today).num_days()),
        }
    }
}

/// A task awaiting sign-off, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewLine<'a> {
    pub line: TaskLine<'a>,
    /// Whole days since it was reported done; `None` when no event says (the list itself
    /// gave the status).
    pub days_waiting: Option<i64>,
}

/// One line of the per-unit overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow<'a> {
    /// Trimmed; empty for tasks without a unit.
    pub unit: &'a str,
    pub total: usize,
    pub done: usize,
    /// Open (todo, in progress, blocked) tasks.
    pub open: usize,
    /// Open and ongoing tasks: work that owes a weekly report.
    pub active: usize,
    pub overdue: usize,
    pub reported: bool,
    /// Open tasks at each level of [`DigestView::warnings`], in the same order.
    pub warnings: Vec<usize>,
}

/// How many tasks are at one warning level (the entries sharing a name counted together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelCount<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub count: usize,
}

/// The digest's content.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestView<'a> {
    pub today: NaiveDate,
    pub period_start: Option<NaiveDate>,
    pub period_end: NaiveDate,
    pub totals: StatusTotals,
    pub completion_rate: Option<u8>,
    /// Sorted by overdue count (most first), then by the order units first appear in the list:
    /// offices order their sheets on purpose (departments, then townships), while sorting
    /// Chinese names by code point gives an order nobody recognises.
    pub units: Vec<UnitRow<'a>>,
    /// Open tasks past their deadline, most overdue first (then list order).
    pub overdue: Vec<TaskLine<'a>>,
    /// Open tasks due from today through today + [`DUE_SOON_DAYS`], soonest first.
    pub due_soon: Vec<TaskLine<'a>>,
    /// Blocked tasks in list order; the reason is the task's notes.
    pub blocked: Vec<TaskLine<'a>>,
    /// Open tasks whose deadline cell could not be read ([`Task::unreadable_due`]), in list
    /// order: nobody can tell whether they are late until the cell is fixed.
    pub due_unconfirmed: Vec<TaskLine<'a>>,
    /// Tasks in [`WeekActivity::completed_since`] that are still done now (a task reopened
    /// since is not listed), in list order.
    pub done_since: Vec<TaskLine<'a>>,
    /// See [`units_without_report`].
    pub silent_units: Vec<&'a str>,
    pub stale_list_note: Option<&'a str>,
    /// Tasks at each warning level, least severe first, every level listed (zero included).
    pub warnings: Vec<LevelCount<'a>>,
    /// Tasks awaiting sign-off (审核销号), longest waiting first (then list order).
    pub awaiting_review: Vec<ReviewLine<'a>>,
    /// Tasks with an extension request not yet answered, in list order.
    pub pending_extensions: Vec<TaskLine<'a>>,
    /// People on leave today, by person id.
    pub away: Vec<&'a Absence>,
}

/// Computes the digest view in one pass over the tasks plus sorts of the (smaller) sections.
pub fn digest_view<'a>(input: &DigestInput<'a>) -> DigestView<'a> {
    let today = input.today;
    let soon_end = today
        .checked_add_signed(chrono::Duration::days(DUE_SOON_DAYS))
        .unwrap_or(NaiveDate::MAX);
    let completed: HashSet<&str> = input
        .activity
        .completed_since
        .iter()
        .map(String::as_str)
        .collect();

    let mut totals = StatusTotals::default();
    let mut unit_index: HashMap<&str, usize> = HashMap::new();
    let mut units: Vec<UnitRow<'a>> = Vec::new();
    let mut overdue = Vec::new();
    let mut due_soon = Vec::new();
    let mut blocked = Vec::new();
    let mut due_unconfirmed = Vec::new();
    let mut done_since = Vec::new();
    let mut awaiting_review = Vec::new();
    let mut pending_extensions = Vec::new();
    let mut warnings: Vec<LevelCount<'a>> = Vec::new();
    for l in input.warnings.map_or(&[][..], |j| j.levels()) {
        if warnings.last().is_none_or(|w| w.name != l.name) {
            warnings.push(LevelCount {
                name: &l.name,
                label: &l.label,
                count: 0,
            });
        }
    }

    for task in input.tasks {
        let warning = input.warnings.and_then(|j| j.level(task, today));
        let line = TaskLine::new(task, today, warning);
        totals.add(task.status);
        let unit = task.unit.trim();
        let idx = *unit_index.entry(unit).or_insert_with(|| {
            units.push(UnitRow {
                unit,
                total: 0,
                done: 0,
                open: 0,
                active: 0,
                overdue: 0,
                reported: input.activity.reported_units.contains(unit),
                warnings: vec![0; warnings.len()],
            });
            units.len() - 1
        });
        let row = &mut units[idx];
        row.total += 1;
        match task.status {
            Status::Done => row.done += 1,
            Status::Ongoing => row.active += 1,
            s if s.is_open() => {
                row.open += 1;
                row.active += 1;
            }
            _ => {}
        }
        if let Some(i) = warning.and_then(|w| warnings.iter().position(|c| c.name == w.name)) {
            warnings[i].count += 1;
            row.warnings[i] += 1;
        }
        if task.is_overdue(today) {
            row.overdue += 1;
            overdue.push(line);
        } else if task.status.is_open() && task.due.is_some_and(|d| d >= today && d <= soon_end) {
            due_soon.push(line);
        }
        if task.status == Status::Blocked {
            blocked.push(line);
        }
        if task.status.is_open() && task.unreadable_due.is_some() {
            due_unconfirmed.push(line);
        }
        if task.status == Status::Done && completed.contains(task.id.as_str()) {
            done_since.push(line);
        }
        if task.extension.pending.is_some() && task.status.is_open() {
            pending_extensions.push(line);
        }
        if task.status == Status::Review {
            let since = input.warnings.and_then(|j| j.review_since(task));
            awaiting_review.push(ReviewLine {
                line,
                days_waiting: since.map(|d| (today - d).num_days().max(0)),
            });
        }
    }

    // Same rule as `units_without_report`, from the rows already counted (still in list order).
    let silent_units = units
        .iter()
        .filter(|u| u.active > 0 && !u.reported && !u.unit.is_empty())
        .map(|u| u.unit)
        .collect();
    // Stable sorts keep list order among equals, which is the order the office wrote.
    overdue.sort_by_key(|l| std::cmp::Reverse(l.days_overdue));
    due_soon.sort_by_key(|l| l.task.due);
    units.sort_by_key(|u| std::cmp::Reverse(u.overdue));
    awaiting_review.sort_by_key(|r| std::cmp::Reverse(r.days_waiting));

    DigestView {
        today,
        period_start: input.period_start,
        period_end: input.period_end,
        totals,
        completion_rate: totals.completion_rate(),
        units,
        overdue,
        due_soon,
        blocked,
        due_unconfirmed,
        done_since,
        silent_units,
        stale_list_note: input.stale_list_note,
        warnings,
        awaiting_review,
        pending_extensions,
        away: input.absences.map(|a| a.away_on(today)).unwrap_or_default(),
    }
}

/// A unit that owes this week's report, with the owners to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportCallUnit<'a> {
    pub unit: &'a str,
    /// Owners of the unit's open and ongoing tasks, first appearance first, each once.
    pub owners: Vec<&'a Assignee>,
    /// How many of its tasks are open or ongoing.
    pub active: usize,
}

/// Units that have not reported this week, in list order.
///
/// Only units with work still running (an open or ongoing task) owe a weekly report: a unit
/// whose tasks are all done or cancelled has nothing to report. Tasks without a unit are left
/// out, since there is nobody to ask.
pub fn units_without_report<'a>(
    tasks: &'a [Task],
    activity: &WeekActivity,
) -> Vec<ReportCallUnit<'a>> {
    // `None` marks a unit that has reported, so each unit is looked up in the report set once.
    let mut index: HashMap<&str, Option<usize>> = HashMap::new();
    let mut out: Vec<ReportCallUnit<'a>> = Vec::new();
    let mut seen_owner: HashSet<(usize, AssigneeKey<'a>)> = HashSet::new();
    for task in tasks {
        let unit = task.unit.trim();
        if unit.is_empty() {
            continue;
        }
        // Units are registered at their first task, active or not, so the order matches the
        // digest's list of silent units.
        let slot = *index.entry(unit).or_insert_with(|| {
            (!activity.reported_units.contains(unit)).then(|| {
                out.push(ReportCallUnit {
                    unit,
                    owners: Vec::new(),
                    active: 0,
                });
                out.len() - 1
            })
        });
        let Some(i) = slot else {
            continue;
        };
        if !(task.status.is_open() || task.status == Status::Ongoing) {
            continue;
        }
        out[i].active += 1;
        for owner in &task.owners {
            if seen_owner.insert((i, assignee_key(owner))) {
                out[i].owners.push(owner);
            }
        }
    }
    out.retain(|u| u.active > 0);
    out
}

/// One reminder: a person and their open tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderView<'a> {
    /// The configured person's id, or `None` when the owner matched nobody.
    pub person_id: Option<String>,
    /// The person's display name, or the name as written in the list.
    pub name: String,
    /// Open tasks, by due date (no deadline last), then list order.
    pub tasks: Vec<ReminderTask<'a>>,
    /// Leaders of this person's tasks overdue by more than `escalate_after_days` or at a
    /// warning level that tells the leader, each once (a leader on leave: their deputy, or
    /// nobody).
    pub escalate_to: Vec<Assignee>,
    /// Some task of this person's is at a warning level that tells the admins.
    pub tell_admins: bool,
    /// The people on leave whose tasks this person stands in for (代理), by name.
    pub on_behalf_of: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReminderTask<'a> {
    pub line: TaskLine<'a>,
    /// Overdue by more than `escalate_after_days`: the leader is mentioned too.
    pub escalated: bool,
    /// Not `escalated`, but at a warning level that tells the leader: mentioned too.
    pub leader_warned: bool,
    /// At a warning level that tells the admins.
    pub admins_warned: bool,
}

/// Groups open tasks by owner: one reminder per person, in order of first appearance.
///
/// An owner is the configured person their cell resolved to (by the importer, or here by id or
/// display name). Owners that resolve to nobody are still reminded, by the name written in the
/// list, and tasks are grouped by that name, so a typo in the sheet does not silence a reminder.
pub fn reminder_views<'a>(
    tasks: &'a [Task],
    today: NaiveDate,
    escalate_after_days: i64,
    warnings: Option<&Judge<'a>>,
    people: &Directory,
    absences: Option<&Absences>,
    previous_slot: Option<NaiveDate>,
) -> Vec<ReminderView<'a>> {
    let mut index: HashMap<AssigneeKey<'_>, usize> = HashMap::new();
    let mut out: Vec<ReminderView<'a>> = Vec::new();
    let mut owners_seen = Vec::new();
    let away = |p: &Person| absences.and_then(|a| a.on(&p.id, today));
    for task in tasks.iter().filter(|t| t.status.is_open()) {
        let line = TaskLine::new(task, today, warnings.and_then(|j| j.level(task, today)));
        // A level's `repeat` decides whether its leader and admins hear of it again now.
        let tells = |r: &Recipient| {
            line.warning.is_some_and(|w| {
                w.notify.contains(r)
                    && warnings.is_none_or(|j| j.tells_again(task, w, today, previous_slot))
            })
        };
        // `escalate_after` tells the leader of a task whose level does not name the leader;
        // a level that does decides, with its `repeat`, how often the leader hears of it.
        let level_names_leader = line
            .warning
            .is_some_and(|w| w.notify.contains(&Recipient::Leader));
        let escalated = line.days_overdue > escalate_after_days
            && (!level_names_leader || tells(&Recipient::Leader));
        let leader_warned = !escalated && tells(&Recipient::Leader);
        let admins_warned = tells(&Recipient::Admins);
        owners_seen.clear();
        for owner in &task.owners {
            let mut person = resolve(owner, people);
            let mut on_behalf_of = None;
            // Nobody is reminded on leave: the deputy stands in, else the task's first leader
            // who is not away; with neither, the digest alone shows the task.
            if let Some(leave) = person.and_then(away) {
                let stand_in = leave
                    .deputy
                    .as_deref()
                    .and_then(|d| people.get(d))
                    .or_else(|| {
                        task.leaders()
                            .filter_map(|l| resolve(l, people))
                            .find(|l| away(l).is_none())
                    });
                let Some(stand_in) = stand_in else { continue };
                on_behalf_of = person.map(|p| p.name.clone());
                person = Some(stand_in);
            }
            let key = match person {
                Some(p) => AssigneeKey::Person(p.id.as_str()),
                None => AssigneeKey::Name(owner.name.trim()),
            };
            if key == AssigneeKey::Name("") || owners_seen.contains(&key) {
                continue;
            }
            owners_seen.push(key);
            let i = *index.entry(key).or_insert_with(|| {
                out.push(ReminderView {
                    person_id: person.map(|p| p.id.clone()),
                    name: person.map_or_else(|| owner.name.trim().to_string(), |p| p.name.clone()),
                    tasks: Vec::new(),
                    escalate_to: Vec::new(),
                    tell_admins: false,
                    on_behalf_of: Vec::new(),
                });
                out.len() - 1
            });
            let view = &mut out[i];
            if let Some(name) = on_behalf_of
                && !view.on_behalf_of.contains(&name)
            {
                view.on_behalf_of.push(name);
            }
            view.tasks.push(ReminderTask {
                line,
                escalated,
                leader_warned,
                admins_warned,
            });
            view.tell_admins |= admins_warned;
            if escalated || leader_warned {
                for leader in task.leaders() {
                    let leader = match resolve(leader, people).map(|p| (p, away(p))) {
                        Some((_, Some(leave))) => {
                            match leave.deputy.as_deref().and_then(|d| people.get(d)) {
                                Some(deputy) => Assignee {
                                    name: deputy.name.clone(),
                                    person: Some(deputy.id.clone()),
                                },
                                None => continue,
                            }
                        }
                        _ => leader.clone(),
                    };
                    if !view
                        .escalate_to
                        .iter()
                        .any(|l| assignee_key(l) == assignee_key(&leader))
                    {
                        view.escalate_to.push(leader);
                    }
                }
            }
        }
    }
    for view in &mut out {
        // No deadline sorts last; the sort is stable, so list order breaks ties.
        view.tasks
            .sort_by_key(|t| (t.line.task.due.is_none(), t.line.task.due));
    }
    out
}

/// The configured person an assignee stands for: the importer's resolution when it made one,
/// else a lookup by the written name (tasks built by hand or by older importers).
pub fn resolve<'p>(a: &Assignee, people: &'p Directory) -> Option<&'p Person> {
    // `resolve` is an index lookup and prefers ids over names, so it finds the person an id
    // names (`get` would scan the whole list for every task).
    match &a.person {
        Some(id) => people.resolve(id),
        None => people.resolve(&a.name),
    }
}

/// Identifies an assignee without allocating: by resolved person id, else by written name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AssigneeKey<'a> {
    Person(&'a str),
    Name(&'a str),
}

fn assignee_key(a: &Assignee) -> AssigneeKey<'_> {
    match &a.person {
        Some(id) => AssigneeKey::Person(id),
        None => AssigneeKey::Name(a.name.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::RowRef;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn who(name: &str) -> Assignee {
        Assignee {
            name: name.to_string(),
            person: None,
        }
    }

    fn task(id: &str, unit: &str, owner: &str, due: Option<&str>, status: Status) -> Task {
        Task {
            id: id.to_string(),
            title: format!("task {id}"),
            unit: unit.to_string(),
            leader: Some(who("leader")),
            owners: vec![who(owner)],
            due: due.map(d),
            unreadable_due: None,
            due_anchored: None,
            extension: Default::default(),
            co_leaders: Vec::new(),
            list: None,
            status,
            progress: None,
            notes: String::new(),
            category: String::new(),
            channel: None,
            details: Default::default(),
            source: RowRef {
                sheet: "s".into(),
                row: 1,
            },
        }
    }

    fn sample() -> Vec<Task> {
        vec![
            task("1", "A", "ann", Some("2026-11-20"), Status::InProgress), // 7 days overdue
            task("2", "A", "bob", Some("2026-11-25"), Status::Todo),       // 2 days overdue
            task("3", "B", "ann", Some("2026-11-27"), Status::Todo),       // due today
            task("4", "B", "bob", Some("2026-12-04"), Status::Blocked),    // due in 7 days
            task("5", "B", "cid", Some("2026-12-05"), Status::InProgress), // due in 8 days
            task("6", "C", "cid", Some("2026-11-01"), Status::Done),       // done: not overdue
            task("7", "C", "dan", None, Status::Ongoing),
            task("8", "", "dan", Some("2026-10-01"), Status::Cancelled),
        ]
    }

    fn input<'a>(tasks: &'a [Task], activity: &'a WeekActivity) -> DigestInput<'a> {
        DigestInput {
            tasks,
            today: d("2026-11-27"),
            period_start: Some(d("2026-11-20")),
            period_end: d("2026-11-27"),
            activity,
            stale_list_note: None,
            warnings: None,
            absences: None,
        }
    }

    #[test]
    fn the_digest_counts_open_tasks_per_warning_level_and_per_unit() {
        let tasks = sample();
        let activity = WeekActivity::default();
        let levels = crate::config::default_warning_levels(crate::config::Locale::En, 5);
        let judge = Judge::new(&levels, &[], chrono_tz::UTC, Some(d("2026-11-26")));
        let v = digest_view(&DigestInput {
            warnings: Some(&judge),
            absences: None,
            ..input(&tasks, &activity)
        });
        let counts: Vec<_> = v.warnings.iter().map(|w| (w.name, w.count)).collect();
        // Blue: 3 (due today); red: 1 and 2 (overdue), 4 is due in 7 days and 5 in 8.
        assert_eq!(counts, vec![("blue", 1), ("yellow", 0), ("red", 2)]);
        let units: Vec<_> = v
            .units
            .iter()
            .map(|u| (u.unit, u.warnings.clone()))
            .collect();
        assert_eq!(
            units,
            vec![
                ("A", vec![0, 0, 2]),
                ("B", vec![1, 0, 0]),
                ("C", vec![0, 0, 0]),
                ("", vec![0, 0, 0]),
            ]
        );
        let overdue: Vec<_> = v
            .overdue
            .iter()
            .map(|l| l.warning.map(|w| w.notify.len()))
            .collect();
        // Task 1 is 7 days overdue, past the 5 of the last red entry, which tells three.
        assert_eq!(overdue, vec![Some(3), Some(1)]);
    }

    #[test]
    fn completion_rate_excludes_cancelled_and_counts_ongoing_as_not_done() {
        let tasks = sample();
        let activity = WeekActivity::default();
        let v = digest_view(&input(&tasks, &activity));
        assert_eq!(v.totals.total, 8);
        assert_eq!(v.totals.cancelled, 1);
        assert_eq!(v.totals.counted(), 7);
        // 1 done of 7 counted = 14.28…% → 14
        assert_eq!(v.completion_rate, Some(14));
    }

    #[test]
    fn open_tasks_with_an_unreadable_deadline_are_to_be_confirmed_and_never_overdue() {
        let mut tasks = sample();
        for (id, status) in [("9", Status::Todo), ("10", Status::Done)] {
            let mut t = task(id, "C", "eve", None, status);
            t.unreadable_due = Some("待定".into());
            tasks.push(t);
        }
        let activity = WeekActivity::default();
        let v = digest_view(&input(&tasks, &activity));
        let ids: Vec<&str> = v
            .due_unconfirmed
            .iter()
            .map(|l| l.task.id.as_str())
            .collect();
        assert_eq!(ids, ["9"]);
        assert!(v.overdue.iter().all(|l| l.task.id != "9"));
    }

    #[test]
    fn completion_rate_edges() {
        let mut t = StatusTotals::default();
        assert_eq!(t.completion_rate(), None);
        t.add(Status::Cancelled);
        assert_eq!(t.completion_rate(), None);
        t.add(Status::Done);
        assert_eq!(t.completion_rate(), Some(100));
        t.add(Status::Ongoing);
        assert_eq!(t.completion_rate(), Some(50));
        for _ in 0..997 {
            t.add(Status::Done);
        }
        // 998 of 999 is 99.9%: rounded down, so 100% only when all are done.
        assert_eq!(t.completion_rate(), Some(99));
    }

    #[test]
    fn overdue_is_open_and_past_due_most_overdue_first() {
        let tasks = sample();
        let activity = WeekActivity::default();
        let v = digest_view(&input(&tasks, &activity));
        let ids: Vec<_> = v
            .overdue
            .iter()
            .map(|l| (l.task.id.as_str(), l.days_overdue))
            .collect();
        assert_eq!(ids, vec![("1", 7), ("2", 2)]);
    }

    #[test]
    fn due_soon_is_today_through_seven_days() {
        let tasks = sample();
        let activity = WeekActivity::default();
        let v = digest_view(&input(&tasks, &activity));
        let ids: Vec<_> = v
            .due_soon
            .iter()
            .map(|l| (l.task.id.as_str(), l.days_left))
            .collect();
        assert_eq!(ids, vec![("3", Some(0)), ("4", Some(7))]);
    }

    #[test]
    fn per_unit_rows_sorted_by_overdue_then_list_order() {
        let tasks = sample();
        let activity = WeekActivity {
            reported_units: ["B".to_string()].into(),
            ..Default::default()
        };
        let v = digest_view(&input(&tasks, &activity));
        let rows: Vec<_> = v
            .units
            .iter()
            .map(|r| {
                (
                    r.unit, r.total, r.done, r.open, r.active, r.overdue, r.reported,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("A", 2, 0, 2, 2, 2, false),
                ("B", 3, 0, 3, 3, 0, true),
                ("C", 2, 1, 0, 1, 0, false),
                ("", 1, 0, 0, 0, 0, false),
            ]
        );
        // C still has an ongoing task, the unnamed unit is nobody to ask, B has reported.
        assert_eq!(v.silent_units, vec!["A", "C"]);
        let called: Vec<_> = units_without_report(&tasks, &activity)
            .iter()
            .map(|u| u.unit)
            .collect();
        assert_eq!(v.silent_units, called);
    }

    #[test]
    fn blocked_and_done_since() {
        let tasks = sample();
        let activity = WeekActivity {
            completed_since: vec!["6".into(), "1".into(), "nope".into()],
            ..Default::default()
        };
        let v = digest_view(&input(&tasks, &activity));
        assert_eq!(v.blocked.len(), 1);
        assert_eq!(v.blocked[0].task.id, "4");
        // Task 1 was reported done but is open again now, so it is not listed.
        let done: Vec<_> = v.done_since.iter().map(|l| l.task.id.as_str()).collect();
        assert_eq!(done, vec!["6"]);
    }

    #[test]
    fn reminders_group_by_owner_sort_by_due_and_escalate() {
        let mut tasks = sample();
        tasks.push(task("9", "A", "ann", None, Status::Todo));
        tasks.push(task("10", "A", "ann", Some("2026-11-26"), Status::Todo));
        let people = Directory::new(vec![Person {
            id: "ann.id".into(),
            name: "ann".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: Default::default(),
            admin: false,
        }]);
        let views = reminder_views(&tasks, d("2026-11-27"), 3, None, &people, None, None);
        let summary: Vec<_> = views
            .iter()
            .map(|v| {
                (
                    v.person_id.clone(),
                    v.name.clone(),
                    v.tasks
                        .iter()
                        .map(|t| (t.line.task.id.as_str(), t.escalated))
                        .collect::<Vec<_>>(),
                    v.escalate_to
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    Some("ann.id".to_string()),
                    "ann".to_string(),
                    vec![("1", true), ("10", false), ("3", false), ("9", false)],
                    vec!["leader"],
                ),
                (
                    None,
                    "bob".to_string(),
                    vec![("2", false), ("4", false)],
                    vec![]
                ),
                (None, "cid".to_string(), vec![("5", false)], vec![]),
            ]
        );
    }

    #[test]
    fn report_call_lists_active_units_with_their_owners() {
        let tasks = sample();
        let activity = WeekActivity {
            reported_units: ["A".to_string()].into(),
            ..Default::default()
        };
        let units = units_without_report(&tasks, &activity);
        let summary: Vec<_> = units
            .iter()
            .map(|u| {
                (
                    u.unit,
                    u.owners.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
                    u.active,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![("B", vec!["ann", "bob", "cid"], 3), ("C", vec!["dan"], 1)]
        );
    }
}

//! The assessment (考核): per unit (责任单位) or per leader (包保领导), how the list stood at the
//! end of a period and what happened in it, a score from the config's weights, and a ranking.
//!
//! Every figure can be recomputed by hand from the list and `weekbell history`:
//!
//! - **The list as it stood** at the end of `to` (midnight after it, in the config's zone) is
//!   the file's rows with every event recorded before that instant applied (the merge,
//!   [`apply_events_where`], of the status and deadline events: notes and progress change
//!   neither).
//!   The rows are the file as it is now (no history of the file's own cells is kept), so a
//!   cell the office changed after `to` shows in an earlier period's figures.
//!   Cancelled tasks are left out of every figure, and so are tasks without a unit (without a
//!   leader, by leader), which are counted in [`Assessment::unassigned`] instead.
//! - **tasks**: the group's tasks; **done**: those done. The figures are cumulative (累计), as
//!   a rectification list's 办结率 is: a task done in an earlier month still counts as done.
//!   Ongoing tasks (长期坚持) and tasks awaiting sign-off are not done.
//! - **done on time / late**: a done task's day is that of its latest status event (the one
//!   that made it done); on time when that day is on or before [`Task::due_for_on_time`] (the
//!   original deadline, unless the extension was granted by it), or when it has no deadline.
//!   A task the list itself marks done, with no status event to date it, is **done_undated**:
//!   counted as done but neither on time nor late, and left out of the on-time rate, since
//!   nothing says when it was done and guessing would reward or punish without evidence.
//! - **overdue**: open (to do, in progress, blocked) with its deadline (the current one, after
//!   extensions) before `to`; **avg_days_overdue**: their mean of `to − deadline` in days.
//! - **weekly reports**: the weeks of the period are the Monday–Sunday weeks (in the config's
//!   zone) whose Sunday falls in it, so consecutive periods share no week. A unit owes a week's
//!   report when, at that Monday's start, one of its tasks was open or ongoing (its status then:
//!   the last status event before that instant, or the list's when there is none); it made it
//!   when a `report` event of the unit falls in that Monday–Sunday, even on a day before
//!   `from`. By leader, the pairs (unit of one of the leader's tasks, week) are counted.
//! - **rejected**: status events in the period from `review` to `in_progress` (a sign-off
//!   returned, 退回); **extensions asked / granted**: `extension` and `due` events in it.
//! - **rates**: done ÷ tasks, on time ÷ (on time + late), reports made ÷ reports owed; a rate
//!   with nothing to measure is `None` and scores its full weight (nothing was missed).
//! - **score** = max(0, done_rate·w + on_time_rate·w + report_rate·w − overdue·penalty −
//!   rejected·penalty), rounded to one decimal, with the `[assessment]` weights.
//! - **ranking**: by score, highest first; equal scores share a rank (1, 2, 2, 4) and are
//!   listed by done rate, then fewer overdue, then list order.

use super::merge::{MergeOptions, RowsById, apply_events_where, day_in, day_start_ms, field};
use super::model::{Status, Task};
use crate::config::{AssessPeriod, AssessmentWeights};
use crate::store::TaskEvent;
use chrono::{Datelike, Duration, NaiveDate};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// What the assessment groups tasks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The responsible unit (责任单位).
    Unit,
    /// The leader (包保领导), by the name written in the list: the first one named where a task
    /// has several (包片、包线), so that each task is scored once.
    Leader,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Unit => "unit",
            GroupBy::Leader => "leader",
        }
    }
}

/// The days an assessment covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// From the first of `day`'s month to `day`: `weekbell assess` without dates.
    pub fn month_to(day: NaiveDate) -> Period {
        Period {
            from: day.with_day(1).unwrap_or(day),
            to: day,
        }
    }

    /// The last whole calendar month or quarter before `day`'s own: what an `assessment`
    /// slot on `day` reports on.
    pub fn previous(kind: AssessPeriod, day: NaiveDate) -> Period {
        let months = match kind {
            AssessPeriod::Month => 1,
            AssessPeriod::Quarter => 3,
        };
        // The first month of the period `day` is in (its month, or its quarter's first).
        let first_month = (day.month0() / months) * months;
        let current = NaiveDate::from_ymd_opt(day.year(), first_month + 1, 1).unwrap_or(day);
        let from = current
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(current);
        Period {
            from,
            to: current.pred_opt().unwrap_or(current),
        }
    }

    /// The Mondays of the weeks whose Sunday falls in the period, in order.
    pub fn weeks(&self) -> Vec<NaiveDate> {
        let to_sunday = 6 - i64::from(self.from.weekday().num_days_from_monday());
        let mut sunday = self.from + Duration::days(to_sunday);
        let mut out = Vec::new();
        while sunday <= self.to {
            out.push(sunday - Duration::days(6));
            sunday += Duration::days(7);
        }
        out
    }
}

/// One unit's (or leader's) figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// 1 for the best; equal scores share a rank.
    pub rank: usize,
    pub score: f64,
    pub tasks: usize,
    pub done: usize,
    pub done_on_time: usize,
    pub done_late: usize,
    /// Done in the list with no status event to date it: neither on time nor late.
    pub done_undated: usize,
    pub overdue: usize,
    /// The mean days overdue of the `overdue` tasks; `None` when there are none.
    pub avg_days_overdue: Option<f64>,
    /// Weekly reports owed in the period ((unit, week) pairs).
    pub reports_due: usize,
    /// Of those, the ones made in their week.
    pub reports_made: usize,
    pub rejected: usize,
    pub extensions_asked: usize,
    pub extensions_granted: usize,
    pub done_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub report_rate: Option<f64>,
}

/// The assessment of one period: its rows in rank order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub period: Period,
    pub by: GroupBy,
    /// How many weeks of the period owe a report (see the module docs).
    pub weeks: usize,
    /// Tasks left out for want of a unit (or leader).
    pub unassigned: usize,
    pub rows: Vec<Row>,
}

/// Assesses `file` (the list's rows as read) with `events` (all recorded, in any order) over
/// `period`, grouped `by`, scored with `weights`. See the module docs for every definition.
pub fn assess(
    file: &[Task],
    events: &[TaskEvent],
    options: &MergeOptions<'_>,
    period: Period,
    by: GroupBy,
    weights: &AssessmentWeights,
) -> Assessment {
    let zone = options.zone;
    let from_ms = day_start_ms(zone, period.from);
    let end_ms = period
        .to
        .succ_opt()
        .map_or(i64::MAX, |d| day_start_ms(zone, d));
    // Only the fields the figures read: notes and progress never change a status or a deadline.
    let mut tasks: Vec<Task> = file.iter().map(Task::merge_skeleton).collect();
    apply_events_where(&mut tasks, events, options, |e| {
        e.at_ms < end_ms
            && matches!(
                e.field.as_str(),
                field::STATUS | field::DUE | field::EXTENSION | field::EXTENSION_DENIED
            )
    });

    let rows_by_id = RowsById::new(file);

    // Units by name, for the weekly reports; groups in list order of their first counted task.
    let mut unit_index: FxHashMap<&str, usize> = FxHashMap::default();
    let unit_of: Vec<Option<usize>> = file
        .iter()
        .map(|t| {
            let unit = t.unit.trim();
            (!unit.is_empty()).then(|| {
                let next = unit_index.len();
                *unit_index.entry(unit).or_insert(next)
            })
        })
        .collect();
    let mut groups: Vec<Acc> = Vec::new();
    let mut group_index: FxHashMap<&str, usize> = FxHashMap::default();
    let mut group_of: Vec<Option<usize>> = vec![None; tasks.len()];
    let mut unassigned = 0;
    // The unit and leader are the file's: no event changes them.
    for (i, (t, row)) in tasks.iter().zip(file).enumerate() {
        if t.status == Status::Cancelled {
            continue;
        }
        let key = match by {
            GroupBy::Unit => row.unit.trim(),
            GroupBy::Leader => row.leader.as_ref().map_or("", |a| a.name.trim()),
        };
        if key.is_empty() {
            unassigned += 1;
            continue;
        }
        let g = *group_index.entry(key).or_insert_with(|| {
            groups.push(Acc::new(key));
            groups.len() - 1
        });
        group_of[i] = Some(g);
    }

    // Each row's status events up to the period's end, and the period's counted events.
    let week_starts: Vec<NaiveDate> = period.weeks();
    let weeks = week_starts.len();
    let mut reported = vec![false; unit_index.len() * weeks];
    let mut statuses: Vec<Vec<(i64, &str, Status)>> = vec![Vec::new(); tasks.len()];
    for e in events.iter().filter(|e| e.at_ms < end_ms) {
        if e.field == field::REPORT {
            let week = week_starts
                .first()
                .zip(day_in(zone, e.at_ms))
                .and_then(|(m, d)| {
                    let offset = (d - *m).num_days();
                    usize::try_from(offset / 7)
                        .ok()
                        .filter(|w| offset >= 0 && *w < weeks)
                });
            if let (Some(w), Some(&u)) = (week, unit_index.get(e.task_id.trim())) {
                reported[u * weeks + w] = true;
            }
            continue;
        }
        // Notes and progress, half of a year's events, count for nothing here: their task is
        // not even looked up.
        if !matches!(
            e.field.as_str(),
            field::STATUS | field::EXTENSION | field::DUE
        ) {
            continue;
        }
        let status = (e.field == field::STATUS)
            .then(|| e.new_value.as_deref().and_then(Status::from_name))
            .flatten();
        for i in rows_by_id.get(&e.task_id) {
            if let Some(s) = status {
                statuses[i].push((e.at_ms, e.id.as_str(), s));
            }
            let Some(g) = group_of[i] else { continue };
            if e.at_ms < from_ms {
                continue;
            }
            let acc = &mut groups[g];
            match e.field.as_str() {
                field::STATUS
                    if e.old_value.as_deref() == Some(Status::Review.as_str())
                        && status == Some(Status::InProgress) =>
                {
                    acc.rejected += 1
                }
                field::EXTENSION => acc.extensions_asked += 1,
                field::DUE => acc.extensions_granted += 1,
                _ => {}
            }
        }
    }

    // The weekly reports owed, as (group, unit) pairs by week: a dense table, since every task
    // is looked at in every week of the period.
    let week_ms: Vec<i64> = week_starts.iter().map(|d| day_start_ms(zone, *d)).collect();
    let mut pair_index: FxHashMap<(usize, usize), usize> = FxHashMap::default();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut owed: Vec<bool> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let Some(g) = group_of[i] else { continue };
        let acc = &mut groups[g];
        acc.tasks += 1;
        let history = &mut statuses[i];
        // In the merge's order: time, then event id.
        history.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        if t.status == Status::Done {
            acc.done += 1;
            match history.last() {
                Some((at_ms, _, Status::Done)) => {
                    let on_time = match (day_in(zone, *at_ms), t.due_for_on_time()) {
                        (Some(day), Some(due)) => day <= due,
                        _ => true,
                    };
                    if on_time {
                        acc.on_time += 1;
                    } else {
                        acc.late += 1;
                    }
                }
                _ => acc.undated += 1,
            }
        }
        if t.is_overdue(period.to) {
            acc.overdue += 1;
            acc.days_overdue += t.days_overdue(period.to);
        }
        let Some(unit) = unit_of[i] else { continue };
        let pair = *pair_index.entry((g, unit)).or_insert_with(|| {
            pairs.push((g, unit));
            owed.resize(owed.len() + weeks, false);
            pairs.len() - 1
        });
        // Status at each week's start: the last status event before it, else the file's.
        let mut next = 0;
        let mut status = file[i].status;
        for (w, start) in week_ms.iter().enumerate() {
            while let Some((at, _, s)) = history.get(next)
                && *at < *start
            {
                status = *s;
                next += 1;
            }
            if status.is_open() || status == Status::Ongoing {
                owed[pair * weeks + w] = true;
            }
        }
    }
    for (p, (g, unit)) in pairs.iter().enumerate() {
        for w in 0..weeks {
            if owed[p * weeks + w] {
                groups[*g].reports_due += 1;
                if reported[unit * weeks + w] {
                    groups[*g].reports_made += 1;
                }
            }
        }
    }

    let mut rows: Vec<(usize, Row)> = groups
        .into_iter()
        .enumerate()
        .map(|(order, acc)| (order, acc.row(weights)))
        .collect();
    rows.sort_by(|(oa, a), (ob, b)| {
        b.score
            .total_cmp(&a.score)
            .then(
                b.done_rate
                    .unwrap_or(1.0)
                    .total_cmp(&a.done_rate.unwrap_or(1.0)),
            )
            .then(a.overdue.cmp(&b.overdue))
            .then(oa.cmp(ob))
    });
    let mut rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    for i in 0..rows.len() {
        rows[i].rank = match i.checked_sub(1).map(|p| &rows[p]) {
            Some(prev) if prev.score == rows[i].score => prev.rank,
            _ => i + 1,
        };
    }
    Assessment {
        period,
        by,
        weeks,
        unassigned,
        rows,
    }
}

/// A group's counts while they are gathered.
struct Acc {
    name: String,
    tasks: usize,
    done: usize,
    on_time: usize,
    late: usize,
    undated: usize,
    overdue: usize,
    days_overdue: i64,
    reports_due: usize,
    reports_made: usize,
    rejected: usize,
    extensions_asked: usize,
    extensions_granted: usize,
}

impl Acc {
    fn new(name: &str) -> Acc {
        Acc {
            name: name.to_string(),
            tasks: 0,
            done: 0,
            on_time: 0,
            late: 0,
            undated: 0,
            overdue: 0,
            days_overdue: 0,
            reports_due: 0,
            reports_made: 0,
            rejected: 0,
            extensions_asked: 0,
            extensions_granted: 0,
        }
    }

    fn row(self, w: &AssessmentWeights) -> Row {
        let done_rate = rate(self.done, self.tasks);
        let on_time_rate = rate(self.on_time, self.on_time + self.late);
        let report_rate = rate(self.reports_made, self.reports_due);
        let score = score(
            w,
            [done_rate, on_time_rate, report_rate],
            self.overdue,
            self.rejected,
        );
        Row {
            name: self.name,
            rank: 0,
            score,
            tasks: self.tasks,
            done: self.done,
            done_on_time: self.on_time,
            done_late: self.late,
            done_undated: self.undated,
            overdue: self.overdue,
            avg_days_overdue: (self.overdue > 0)
                .then(|| self.days_overdue as f64 / self.overdue as f64),
            reports_due: self.reports_due,
            reports_made: self.reports_made,
            rejected: self.rejected,
            extensions_asked: self.extensions_asked,
            extensions_granted: self.extensions_granted,
            done_rate,
            on_time_rate,
            report_rate,
        }
    }
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The score of the module docs: the rates (done, on time, reports; a missing one in full)
/// times their weights, less the penalties, at least 0, to one decimal.
pub fn score(
    w: &AssessmentWeights,
    [done, on_time, report]: [Option<f64>; 3],
    overdue: usize,
    rejected: usize,
) -> f64 {
    let points = done.unwrap_or(1.0) * w.done_rate
        + on_time.unwrap_or(1.0) * w.on_time_rate
        + report.unwrap_or(1.0) * w.report_rate
        - overdue as f64 * w.overdue_penalty
        - rejected as f64 * w.rejected_penalty;
    (points.max(0.0) * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::Assignee;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn task(id: &str, unit: &str, leader: &str, due: NaiveDate) -> Task {
        Task {
            unit: unit.into(),
            leader: Some(Assignee {
                name: leader.into(),
                person: None,
            }),
            due: Some(due),
            status: Status::InProgress,
            ..Task::sample(id)
        }
    }

    const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    /// An event at noon of `day` in Shanghai.
    fn ev(
        n: usize,
        task: &str,
        day: NaiveDate,
        field: &str,
        old: Option<&str>,
        new: &str,
    ) -> TaskEvent {
        TaskEvent {
            id: format!("{n:04}"),
            dedupe_key: None,
            task_id: task.into(),
            at_ms: day_start_ms(SHANGHAI, day) + 12 * 3_600_000,
            actor: "x".into(),
            source: "cli".into(),
            channel: None,
            field: field.into(),
            old_value: old.map(str::to_string),
            new_value: Some(new.into()),
        }
    }

    fn options() -> MergeOptions<'static> {
        MergeOptions {
            zone: SHANGHAI,
            people: None,
        }
    }

    #[test]
    fn periods_and_their_weeks() {
        assert_eq!(
            Period::previous(AssessPeriod::Month, d(2027, 1, 1)),
            Period {
                from: d(2026, 12, 1),
                to: d(2026, 12, 31)
            }
        );
        assert_eq!(
            Period::previous(AssessPeriod::Quarter, d(2027, 2, 15)),
            Period {
                from: d(2026, 10, 1),
                to: d(2026, 12, 31)
            }
        );
        assert_eq!(
            Period::previous(AssessPeriod::Quarter, d(2026, 7, 1)),
            Period {
                from: d(2026, 4, 1),
                to: d(2026, 6, 30)
            }
        );
        assert_eq!(Period::month_to(d(2026, 12, 8)).from, d(2026, 12, 1));
        // December 2026 begins on a Tuesday: its weeks are those ending 6, 13, 20 and 27
        // December; the week ending 3 January belongs to January.
        let weeks = Period::previous(AssessPeriod::Month, d(2027, 1, 5)).weeks();
        assert_eq!(
            weeks,
            vec![
                d(2026, 11, 30),
                d(2026, 12, 7),
                d(2026, 12, 14),
                d(2026, 12, 21)
            ]
        );
    }

    #[test]
    fn every_figure_of_a_small_office() {
        let list = vec![
            task("1", "城管局", "张", d(2026, 12, 10)),
            task("2", "城管局", "张", d(2026, 12, 31)),
            task("3", "城管局", "李", d(2026, 12, 5)),
            Task {
                status: Status::Done,
                ..task("4", "住建局", "李", d(2026, 12, 20))
            },
            task("5", "住建局", "李", d(2026, 12, 1)),
            Task {
                status: Status::Cancelled,
                ..task("6", "住建局", "李", d(2026, 12, 1))
            },
            task("7", "", "李", d(2026, 12, 1)),
        ];
        let events = vec![
            // 1: done on 9 December, before its deadline of the 10th.
            ev(
                1,
                "1",
                d(2026, 12, 9),
                "status",
                Some("in_progress"),
                "done",
            ),
            // 2: sent for sign-off, returned, then done after an extension granted in time.
            ev(
                2,
                "2",
                d(2026, 12, 2),
                "status",
                Some("in_progress"),
                "review",
            ),
            ev(
                3,
                "2",
                d(2026, 12, 3),
                "status",
                Some("review"),
                "in_progress",
            ),
            ev(4, "2", d(2026, 12, 4), "extension", None, "2027-01-15 资金"),
            ev(
                5,
                "2",
                d(2026, 12, 5),
                "due",
                Some("2026-12-31"),
                "2027-01-15",
            ),
            // 3: done on the 8th, three days late.
            ev(
                6,
                "3",
                d(2026, 12, 8),
                "status",
                Some("in_progress"),
                "done",
            ),
            // Reports: 城管局 in the weeks of 30 November (on the 30th, before the period) and
            // 14 December; 住建局 never.
            ev(7, "城管局", d(2026, 11, 30), "report", None, "本周"),
            ev(8, "城管局", d(2026, 12, 15), "report", None, "本周"),
            // 5: an extension asked and never answered.
            ev(
                9,
                "5",
                d(2026, 12, 12),
                "extension",
                None,
                "2027-01-31 天气",
            ),
            // After the period: not counted, not applied.
            ev(
                10,
                "2",
                d(2027, 1, 2),
                "status",
                Some("in_progress"),
                "done",
            ),
        ];
        let period = Period {
            from: d(2026, 12, 1),
            to: d(2026, 12, 31),
        };
        let weights = AssessmentWeights::default();
        let a = assess(&list, &events, &options(), period, GroupBy::Unit, &weights);
        assert_eq!(a.weeks, 4);
        assert_eq!(a.unassigned, 1);
        let names: Vec<&str> = a.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["城管局", "住建局"]);
        let c = &a.rows[0];
        assert_eq!(
            (c.tasks, c.done, c.done_on_time, c.done_late, c.done_undated),
            (3, 2, 1, 1, 0)
        );
        // Task 2 is open, due 15 January: not overdue on 31 December.
        assert_eq!((c.overdue, c.avg_days_overdue), (0, None));
        // Owed: weeks of 30 Nov and 7 Dec (tasks 1 and 3 open; 2 open all month) and 14, 21
        // Dec (task 2): four; made: 30 Nov and 14 Dec.
        assert_eq!((c.reports_due, c.reports_made), (4, 2));
        assert_eq!(
            (c.rejected, c.extensions_asked, c.extensions_granted),
            (1, 1, 1)
        );
        assert_eq!(c.done_rate, Some(2.0 / 3.0));
        assert_eq!(c.on_time_rate, Some(0.5));
        assert_eq!(c.report_rate, Some(0.5));
        // 2/3·40 + 0.5·30 + 0.5·30 − 1 = 55.67 → 55.7
        assert_eq!(c.score, 55.7);
        assert_eq!(c.rank, 1);

        let z = &a.rows[1];
        // Task 4 is done in the file with no event: done, undated; 6 is cancelled.
        assert_eq!(
            (z.tasks, z.done, z.done_on_time, z.done_late, z.done_undated),
            (2, 1, 0, 0, 1)
        );
        // Task 5 was due 1 December: 30 days overdue on the 31st.
        assert_eq!((z.overdue, z.avg_days_overdue), (1, Some(30.0)));
        assert_eq!((z.reports_due, z.reports_made), (4, 0));
        assert_eq!((z.extensions_asked, z.extensions_granted), (1, 0));
        assert_eq!(z.on_time_rate, None);
        // 0.5·40 + 30 (nothing to time) + 0 − 2 = 48
        assert_eq!(z.score, 48.0);
        assert_eq!(z.rank, 2);

        let by_leader = assess(
            &list,
            &events,
            &options(),
            period,
            GroupBy::Leader,
            &weights,
        );
        let names: Vec<(&str, usize)> = by_leader
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.tasks))
            .collect();
        // 张: tasks 1, 2; 李: 3, 4, 5 (6 cancelled; 7 has no unit but has a leader).
        assert!(
            names.contains(&("张", 2)) && names.contains(&("李", 4)),
            "{names:?}"
        );
        assert_eq!(by_leader.unassigned, 0);
        let li = by_leader.rows.iter().find(|r| r.name == "李");
        // 李's pairs: (城管局, weeks of 30 Nov and 7 Dec: task 3 open until the 8th),
        // (住建局, four weeks); task 7 has no unit and owes nothing.
        assert_eq!(li.map(|r| (r.reports_due, r.reports_made)), Some((6, 1)));
    }

    #[test]
    fn a_late_extension_does_not_make_a_late_task_punctual_and_ties_share_a_rank() {
        let list = vec![
            task("1", "A", "张", d(2026, 12, 10)),
            task("2", "B", "张", d(2026, 12, 10)),
        ];
        let events = vec![
            // Granted on the 12th, after the deadline of the 10th; done on the 14th.
            ev(
                1,
                "1",
                d(2026, 12, 12),
                "due",
                Some("2026-12-10"),
                "2026-12-20",
            ),
            ev(2, "1", d(2026, 12, 14), "status", None, "done"),
            ev(3, "2", d(2026, 12, 14), "status", None, "done"),
        ];
        let period = Period {
            from: d(2026, 12, 1),
            to: d(2026, 12, 15),
        };
        let a = assess(
            &list,
            &events,
            &options(),
            period,
            GroupBy::Unit,
            &AssessmentWeights::default(),
        );
        assert!(
            a.rows.iter().all(|r| r.done_late == 1 && r.rank == 1),
            "{a:?}"
        );
    }

    #[test]
    fn the_score_never_goes_below_zero() {
        let w = AssessmentWeights::default();
        assert_eq!(score(&w, [Some(0.0), Some(0.0), Some(0.0)], 10, 0), 0.0);
        assert_eq!(score(&w, [None, None, None], 0, 0), 100.0);
    }
}

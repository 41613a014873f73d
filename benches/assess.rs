//! The assessment (考核) of 100,000 tasks over a year of events: `cargo bench --bench assess`.
//!
//! Target: at most 300 ms per assessment in release (issue 15). Measured is
//! `tasks::assess::assess` itself — the merge of every event as of the period's end, the weekly
//! reports and the scores — over a year (52 weeks of reports), by unit and by leader. Reading
//! the list and the store is the import bench's and the store's business. The figure printed
//! is the best of several runs.

use chrono::{Duration as Days, NaiveDate};
use std::time::{Duration, Instant};
use weekbell::config::AssessmentWeights;
use weekbell::store::TaskEvent;
use weekbell::tasks::MergeOptions;
use weekbell::tasks::assess::{GroupBy, Period, assess};
use weekbell::tasks::{Assignee, RowRef, Status, Task};

/// The same allocator as the `weekbell` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 100_000;
const UNITS: usize = 300;
const LEADERS: usize = 40;
const RUNS: usize = 5;
const TARGET: Duration = Duration::from_millis(300);
const DAY_MS: i64 = 86_400_000;

fn tasks(start: NaiveDate) -> Vec<Task> {
    (0..TASKS)
        .map(|i| Task {
            id: (i + 1).to_string(),
            title: format!("第{}项：农村人居环境整治提升，清理河道垃圾和违建", i + 1),
            unit: format!("单位{}", i % UNITS),
            leader: Some(Assignee {
                name: format!("领导{}", i % LEADERS),
                person: None,
            }),
            co_leaders: Vec::new(),
            owners: vec![Assignee {
                name: format!("责任人{}", (i * 7) % 2_000),
                person: None,
            }],
            due: (i % 11 != 0).then(|| start + Days::days((i % 360) as i64)),
            unreadable_due: None,
            due_anchored: None,
            extension: Default::default(),
            list: None,
            status: if i % 13 == 0 {
                Status::Ongoing
            } else {
                Status::Todo
            },
            progress: None,
            notes: String::new(),
            category: format!("类别{}", i % 12),
            channel: None,
            details: Default::default(),
            source: RowRef {
                sheet: "问题清单".into(),
                row: i + 3,
            },
        })
        .collect()
}

fn event(
    n: &mut usize,
    task: String,
    at_ms: i64,
    field: &str,
    old: &str,
    new: String,
) -> TaskEvent {
    *n += 1;
    TaskEvent {
        id: format!("{n:08}"),
        dedupe_key: None,
        task_id: task,
        at_ms,
        actor: format!("p{}", *n % 2_000),
        source: "chat".into(),
        channel: Some("county".into()),
        field: field.into(),
        old_value: Some(old.into()),
        new_value: Some(new),
    }
}

/// A year of a busy county's work: every task started, progress twice and a note, most sent
/// for sign-off, some returned, some extended, most done; each unit's weekly report.
fn events(start_ms: i64) -> Vec<TaskEvent> {
    let mut n = 0;
    let mut out = Vec::with_capacity(TASKS * 7);
    for i in 0..TASKS {
        let id = (i + 1).to_string();
        let t0 = start_ms + (i % 300) as i64 * DAY_MS + (i % 977) as i64 * 60_000;
        let status = |s: &str| s.to_string();
        out.push(event(
            &mut n,
            id.clone(),
            t0,
            "status",
            "todo",
            status("in_progress"),
        ));
        out.push(event(
            &mut n,
            id.clone(),
            t0 + 3 * DAY_MS,
            "progress",
            "",
            "30".into(),
        ));
        out.push(event(
            &mut n,
            id.clone(),
            t0 + 9 * DAY_MS,
            "note",
            "",
            "已完成三处整改".into(),
        ));
        out.push(event(
            &mut n,
            id.clone(),
            t0 + 12 * DAY_MS,
            "progress",
            "30",
            "80".into(),
        ));
        if i % 9 == 0 {
            out.push(event(
                &mut n,
                id.clone(),
                t0 + 13 * DAY_MS,
                "extension",
                "",
                "2027-12-31 资金未到位".into(),
            ));
            out.push(event(
                &mut n,
                id.clone(),
                t0 + 14 * DAY_MS,
                "due",
                "",
                "2027-12-31".into(),
            ));
        }
        if i % 4 != 0 {
            out.push(event(
                &mut n,
                id.clone(),
                t0 + 20 * DAY_MS,
                "status",
                "in_progress",
                status("review"),
            ));
            if i % 5 == 0 {
                out.push(event(
                    &mut n,
                    id.clone(),
                    t0 + 21 * DAY_MS,
                    "status",
                    "review",
                    status("in_progress"),
                ));
            } else {
                out.push(event(
                    &mut n,
                    id.clone(),
                    t0 + 22 * DAY_MS,
                    "status",
                    "review",
                    status("done"),
                ));
            }
        }
    }
    for week in 0..52 {
        for u in (0..UNITS).filter(|u| (u + week) % 5 != 0) {
            let at = start_ms + week as i64 * 7 * DAY_MS + 4 * DAY_MS + u as i64 * 1_000;
            out.push(event(
                &mut n,
                format!("单位{u}"),
                at,
                "report",
                "",
                "本周完成整改".into(),
            ));
        }
    }
    out
}

fn main() {
    let Some(start) = NaiveDate::from_ymd_opt(2026, 1, 5) else {
        return;
    };
    let zone = chrono_tz::Asia::Shanghai;
    let start_ms = weekbell::tasks::merge::day_start_ms(zone, start);
    let list = tasks(start);
    let events = events(start_ms);
    let period = Period {
        from: start,
        to: start + Days::days(363),
    };
    let options = MergeOptions { zone, people: None };
    let weights = AssessmentWeights::default();
    for by in [GroupBy::Unit, GroupBy::Leader] {
        let mut best = Duration::MAX;
        let mut summary = String::new();
        for _ in 0..RUNS {
            let began = Instant::now();
            let a = assess(&list, &events, &options, period, by, &weights);
            best = best.min(began.elapsed());
            let done: usize = a.rows.iter().map(|r| r.done).sum();
            let owed: usize = a.rows.iter().map(|r| r.reports_due).sum();
            summary = format!(
                "{} rows, {done} done, {owed} reports owed over {} weeks",
                a.rows.len(),
                a.weeks
            );
        }
        let ms = best.as_secs_f64() * 1000.0;
        println!(
            "assess by {}, {TASKS} tasks, {} events: best of {RUNS} = {ms:.1} ms ({summary}); target {} ms: {}",
            by.as_str(),
            events.len(),
            TARGET.as_millis(),
            if best <= TARGET { "met" } else { "MISSED" }
        );
    }
}

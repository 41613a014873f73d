//! Rendering a 100,000-task digest for DingTalk in zh-CN: `cargo bench --bench render`.
//!
//! Target: at most 100 ms per digest in release, both plain and with the office's workflow
//! (warning levels judged from a year of events, tasks awaiting sign-off, extensions waiting
//! for an answer, people on leave), the judge's reading of the events included, as a `status`
//! command builds it. The figure printed is the best of several runs, so it measures the code
//! rather than the machine's other work.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weekbell::config::Locale;
use weekbell::config::default_warning_levels;
use weekbell::people::{Absence, Absences};
use weekbell::people::{Directory, Person};
use weekbell::platforms::Platform;
use weekbell::render::{
    DigestInput, RenderOptions, RenderTarget, RenderedMessage, Renderer, WeekActivity,
};
use weekbell::store::TaskEvent;
use weekbell::tasks::warning::Judge;
use weekbell::tasks::{Assignee, ExtensionRequest, RowRef, Status, Task};

/// The same allocator as the `weekbell` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 100_000;
const UNITS: usize = 300;
const PEOPLE: usize = 2_000;
const LEADERS: usize = 40;
const RUNS: usize = 10;
const TARGET: Duration = Duration::from_millis(100);

fn people() -> Directory {
    Directory::new(
        (0..PEOPLE)
            .map(|i| Person {
                id: format!("p{i}"),
                name: format!("责任人{i}"),
                unit: Some(format!("单位{}", i % UNITS)),
                mobile: Some(format!("139{i:08}")),
                email: None,
                handles: BTreeMap::from([(Platform::Dingtalk, format!("staff-{i:05}"))]),
                admin: false,
            })
            .chain((0..LEADERS).map(|i| Person {
                id: format!("leader{i}"),
                name: format!("领导{i}"),
                unit: None,
                mobile: None,
                email: None,
                handles: BTreeMap::from([(Platform::Dingtalk, format!("lead-{i:03}"))]),
                admin: false,
            }))
            .collect(),
    )
}

/// Many units, owners and leaders; every status; deadlines from two months back to two months
/// ahead, and some without one.
fn tasks(today: NaiveDate) -> Vec<Task> {
    let statuses = [
        Status::Todo,
        Status::InProgress,
        Status::InProgress,
        Status::Blocked,
        Status::Done,
        Status::Ongoing,
        Status::Cancelled,
    ];
    (0..TASKS)
        .map(|i| {
            let owner = format!("p{}", (i * 7) % PEOPLE);
            let leader = format!("leader{}", i % LEADERS);
            Task {
                id: (i + 1).to_string(),
                title: format!("第{}项：农村人居环境整治提升，清理河道垃圾和违建", i + 1),
                unit: format!("单位{}", i % UNITS),
                leader: Some(Assignee {
                    name: format!("领导{}", i % LEADERS),
                    person: Some(leader),
                }),
                owners: vec![Assignee {
                    name: format!("责任人{}", (i * 7) % PEOPLE),
                    person: Some(owner),
                }],
                due: (i % 11 != 0).then(|| today + chrono::Duration::days((i % 120) as i64 - 60)),
                unreadable_due: None,
                due_anchored: None,
                extension: Default::default(),
                co_leaders: Vec::new(),
                list: None,
                status: statuses[i % statuses.len()],
                progress: Some((i % 101) as u8),
                notes: if i % 7 == 3 {
                    "资金未到位，需县财政协调".into()
                } else {
                    String::new()
                },
                category: format!("类别{}", i % 12),
                channel: None,
                details: Default::default(),
                source: RowRef {
                    sheet: "问题清单".into(),
                    row: i + 3,
                },
            }
        })
        .collect()
}

fn main() {
    let Some(today) = NaiveDate::from_ymd_opt(2026, 11, 27) else {
        return;
    };
    let people = people();
    let tasks = tasks(today);
    let activity = WeekActivity {
        completed_since: (1..=TASKS).step_by(9).map(|i| i.to_string()).collect(),
        reported_units: (0..UNITS).step_by(4).map(|u| format!("单位{u}")).collect(),
    };
    let input = DigestInput {
        tasks: &tasks,
        today,
        period_start: Some(today - chrono::Duration::days(7)),
        period_end: today,
        activity: &activity,
        stale_list_note: None,
        warnings: None,
        absences: None,
    };
    let renderer = match Renderer::new(RenderOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot build the renderer: {e}");
            std::process::exit(1);
        }
    };
    let target = RenderTarget::new(Platform::Dingtalk, Locale::ZhCn);

    report(
        &format!("render/digest dingtalk zh-CN, {TASKS} tasks"),
        best_of(|| renderer.digest(&target, &input, &people)),
    );
    with_the_offices_workflow(today, &tasks, &activity, &people, &renderer, &target);
}

/// The same digest with warning levels judged from a year of events (two per task), one task
/// in 20 awaiting sign-off, one in 25 with an extension asked, and 50 people on leave.
fn with_the_offices_workflow(
    today: NaiveDate,
    tasks: &[Task],
    activity: &WeekActivity,
    people: &Directory,
    renderer: &Renderer,
    target: &RenderTarget<'_>,
) {
    let day_ms = 86_400_000_i64;
    let Some(today_ms) = today
        .and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
    else {
        return;
    };
    let mut tasks = tasks.to_vec();
    for (i, t) in tasks.iter_mut().enumerate() {
        if i % 20 == 0 {
            t.status = Status::Review;
        }
        if i % 25 == 1 && t.status.is_open() {
            t.extension.pending = t.due.map(|due| ExtensionRequest {
                to: due + chrono::Duration::days(30),
                reason: "资金未到位".into(),
                by: format!("p{}", (i * 7) % PEOPLE),
                at_ms: today_ms - day_ms,
                late: false,
            });
        }
    }
    let events: Vec<TaskEvent> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            let at = |days: i64| today_ms - days * day_ms;
            let event = |n: usize, at_ms: i64, field: &str, value: &str| TaskEvent {
                id: format!("e{i}-{n}"),
                dedupe_key: None,
                task_id: t.id.clone(),
                at_ms,
                actor: format!("p{}", (i * 7) % PEOPLE),
                source: "chat".into(),
                channel: None,
                field: field.into(),
                old_value: None,
                new_value: Some(value.into()),
            };
            [
                event(0, at(365 - (i % 300) as i64), "progress", "10"),
                event(1, at((i % 20) as i64), "note", "已督促"),
            ]
        })
        .collect();
    let leave: Vec<Absence> = (0..50)
        .map(|i| Absence {
            person: format!("p{i}"),
            from: today - chrono::Duration::days(2),
            to: today + chrono::Duration::days(5),
            deputy: Some(format!("p{}", i + 1000)),
        })
        .collect();
    let absences = Absences::new(&leave);
    let levels = default_warning_levels(Locale::ZhCn, 7);
    let timed = best_of(|| {
        let judge = Judge::new(&levels, &events, chrono_tz::Asia::Shanghai, Some(today));
        let input = DigestInput {
            tasks: &tasks,
            today,
            period_start: Some(today - chrono::Duration::days(7)),
            period_end: today,
            activity,
            stale_list_note: None,
            warnings: Some(&judge),
            absences: Some(&absences),
        };
        renderer.digest(target, &input, people)
    });
    report(
        &format!(
            "render/digest with warnings, sign-off, extensions and leave, {TASKS} tasks and {} events",
            events.len()
        ),
        timed,
    );
}

/// The best of [`RUNS`] timings of `render`, and the size of what it rendered; a render error
/// ends the bench.
fn best_of<E: std::fmt::Display>(
    mut render: impl FnMut() -> Result<RenderedMessage, E>,
) -> (Duration, String) {
    let mut best = Duration::MAX;
    let mut summary = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let msg = render().unwrap_or_else(|e| {
            eprintln!("render failed: {e}");
            std::process::exit(1);
        });
        best = best.min(start.elapsed());
        summary = format!(
            "{} parts, {} bytes of text",
            msg.parts.len(),
            msg.parts.iter().map(|p| p.text.len()).sum::<usize>()
        );
    }
    (best, summary)
}

fn report(what: &str, (best, summary): (Duration, String)) {
    let ms = best.as_secs_f64() * 1000.0;
    println!(
        "{what}: best of {RUNS} = {ms:.1} ms ({summary}); target {} ms: {}",
        TARGET.as_millis(),
        if best <= TARGET { "met" } else { "MISSED" }
    );
}

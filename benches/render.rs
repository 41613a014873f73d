//! Rendering a 100,000-task digest for DingTalk in zh-CN: `cargo bench --bench render`.
//!
//! Target: at most 100 ms per digest in release. The figure printed is the best of several
//! runs, so it measures the code rather than the machine's other work.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weekbell::config::Locale;
use weekbell::people::{Directory, Person};
use weekbell::platforms::Platform;
use weekbell::render::{DigestInput, RenderOptions, RenderTarget, Renderer, WeekActivity};
use weekbell::tasks::{Assignee, RowRef, Status, Task};

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
    };
    let renderer = match Renderer::new(RenderOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot build the renderer: {e}");
            std::process::exit(1);
        }
    };
    let target = RenderTarget::new(Platform::Dingtalk, Locale::ZhCn);

    let mut best = Duration::MAX;
    let mut summary = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let msg = match renderer.digest(&target, &input, &people) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("render failed: {e}");
                std::process::exit(1);
            }
        };
        best = best.min(start.elapsed());
        summary = format!(
            "{} parts, {} bytes of text",
            msg.parts.len(),
            msg.parts.iter().map(|p| p.text.len()).sum::<usize>()
        );
    }
    let ms = best.as_secs_f64() * 1000.0;
    println!(
        "render/digest dingtalk zh-CN, {TASKS} tasks: best of {RUNS} = {ms:.1} ms ({summary}); target {} ms: {}",
        TARGET.as_millis(),
        if best <= TARGET { "met" } else { "MISSED" }
    );
}

//! The assessment (考核) against the real binary: eight weeks of an office's work recorded with
//! `weekbell cmd --at`, then every figure of `weekbell assess --json` recomputed here from
//! `weekbell history --json` and the list, by the README's definitions; and the monthly 通报.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::daemon::weekbell_ok;

const LIST: &str = "序号,问题类别,问题描述,责任单位,包保领导,责任人,整改时限,整改进展\n\
                    1,长期整改,油烟净化设施未全覆盖,县城管局,张明远,孙强,2026-12-20,整改中\n\
                    2,立行立改,背街小巷路面破损,县城管局,张明远,孙强,2026-11-20,整改中\n\
                    3,长期整改,散煤燃烧治理,县生态环境局,王立新,李娜,2026-12-31,整改中\n\
                    4,长期整改,河道垃圾清理,县生态环境局,王立新,李娜,2026-11-30,整改中\n\
                    5,长期整改,老旧小区加装电梯,县住建局,张明远,周敏,2026-12-20,整改中\n\
                    6,立行立改,农贸市场排水改造,县住建局,王立新,周敏,2026-12-05,已完成\n";

/// The list above as the test reads it: id, unit, leader, deadline, status in the file.
const TASKS: [(&str, &str, &str, &str, &str); 6] = [
    ("1", "县城管局", "张明远", "2026-12-20", "in_progress"),
    ("2", "县城管局", "张明远", "2026-11-20", "in_progress"),
    ("3", "县生态环境局", "王立新", "2026-12-31", "in_progress"),
    ("4", "县生态环境局", "王立新", "2026-11-30", "in_progress"),
    ("5", "县住建局", "张明远", "2026-12-20", "in_progress"),
    ("6", "县住建局", "王立新", "2026-12-05", "done"),
];

/// The weights of the config below.
const WEIGHTS: [f64; 5] = [40.0, 30.0, 30.0, 5.0, 1.0];

fn office() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("list.csv"), LIST).unwrap_or_else(|e| panic!("{e}"));
    let config = r#"timezone = "Asia/Shanghai"
locale = "zh-CN"
[tasks]
source = "list.csv"
review = "leader"
review_categories = { "立行立改" = "none" }
[assessment]
overdue_penalty = 5
[channels.county]
platform = "console"
[[schedules]]
name = "monthly-assessment"
cron = "0 9 1 * *"
kind = "assessment"
channels = ["county"]
[[people]]
id = "zhang"
name = "张明远"
[[people]]
id = "wang"
name = "王立新"
[[people]]
id = "sun"
name = "孙强"
unit = "县城管局"
[[people]]
id = "li"
name = "李娜"
unit = "县生态环境局"
[[people]]
id = "zhou"
name = "周敏"
unit = "县住建局"
"#;
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

/// Eight weeks, Monday 9 November 2026 to Sunday 3 January 2027, in the office's zone.
const WEEKS: [(&str, &str, &str); 27] = [
    ("sun", "2026-11-10T10:00:00+08:00", "周报 本周完成两处整改"),
    ("li", "2026-11-11T10:00:00+08:00", "周报 本周排查散煤用户"),
    ("sun", "2026-11-17T10:00:00+08:00", "周报 本周继续整改"),
    // 立行立改 needs no sign-off: done at once, two days before its deadline.
    ("sun", "2026-11-18T10:00:00+08:00", "完成 2 路面已修复"),
    ("zhou", "2026-11-19T10:00:00+08:00", "周报 本周完成电梯选型"),
    ("li", "2026-11-24T10:00:00+08:00", "周报 本周清理河道两公里"),
    ("li", "2026-11-25T10:00:00+08:00", "完成 4"),
    ("wang", "2026-11-26T10:00:00+08:00", "退回 4 下游仍有垃圾"),
    // Monday 30 November: the week of December's first Sunday, reported before 1 December.
    (
        "sun",
        "2026-11-30T09:00:00+08:00",
        "周报 本周安装油烟净化设施",
    ),
    ("li", "2026-12-02T10:00:00+08:00", "完成 4 下游已清理"),
    ("wang", "2026-12-03T10:00:00+08:00", "销号 4"),
    (
        "sun",
        "2026-12-04T10:00:00+08:00",
        "申请延期 1 2027-01-15 资金未到位",
    ),
    ("zhang", "2026-12-05T10:00:00+08:00", "同意延期 1"),
    (
        "li",
        "2026-12-08T10:00:00+08:00",
        "申请延期 3 2027-02-28 天气原因",
    ),
    (
        "wang",
        "2026-12-09T09:00:00+08:00",
        "驳回延期 3 按原时限完成",
    ),
    (
        "li",
        "2026-12-09T10:00:00+08:00",
        "周报 本周完成散煤替代三百户",
    ),
    ("sun", "2026-12-10T10:00:00+08:00", "完成 1"),
    (
        "zhang",
        "2026-12-11T10:00:00+08:00",
        "退回 1 仍有两家未安装",
    ),
    ("sun", "2026-12-14T10:00:00+08:00", "完成 1 已全部安装"),
    ("zhang", "2026-12-15T10:00:00+08:00", "销号 1"),
    ("zhou", "2026-12-16T10:00:00+08:00", "周报 本周完成两个小区"),
    ("sun", "2026-12-17T10:00:00+08:00", "周报 本周巡查复核"),
    // Asked after the deadline of 20 December: allowed, marked late, never answered.
    (
        "zhou",
        "2026-12-22T10:00:00+08:00",
        "申请延期 5 2027-06-30 资金未到位",
    ),
    ("li", "2026-12-23T10:00:00+08:00", "周报 本周散煤替代过半"),
    ("li", "2026-12-29T10:00:00+08:00", "完成 3"),
    // In the week ending 3 January, which belongs to January; and a sign-off after the period.
    ("zhou", "2026-12-30T10:00:00+08:00", "周报 本周完成三个小区"),
    ("wang", "2027-01-02T10:00:00+08:00", "销号 3"),
];

/// One recorded event as `history --json` gives it (times in the config's zone).
struct Event {
    at: String,
    task: String,
    field: String,
    old: Option<String>,
    new: Option<String>,
}

fn history(dir: &Path, config: &Path) -> Vec<Event> {
    let out = weekbell_ok(dir, config, &["history", "--json"], &[]);
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let text = |v: &Value| v.as_str().map(str::to_string);
    json.as_array()
        .unwrap_or_else(|| panic!("not an array: {out}"))
        .iter()
        .map(|e| Event {
            at: text(&e["at"]).unwrap_or_default(),
            task: text(&e["task"]).unwrap_or_default(),
            field: text(&e["field"]).unwrap_or_default(),
            old: text(&e["old"]),
            new: text(&e["new"]),
        })
        .collect()
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The figures of one unit or leader, recomputed by the README's definitions.
#[derive(Debug, Default)]
struct Expected {
    tasks: usize,
    done: usize,
    on_time: usize,
    late: usize,
    undated: usize,
    overdue: usize,
    days_overdue: i64,
    owed: BTreeSet<(String, usize)>,
    made: usize,
    rejected: usize,
    asked: usize,
    granted: usize,
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Recomputes the assessment of [from, to] by unit (`leader == false`) or by leader, from the
/// history and the list alone.
fn recompute(events: &[Event], from: &str, to: &str, leader: bool) -> BTreeMap<String, Expected> {
    let (from_day, to_day) = (date(from), date(to));
    let end = format!("{} 00:00:00", to_day.succ_opt().unwrap_or(to_day));
    let start = format!("{from} 00:00:00");
    let upto: Vec<&Event> = events.iter().filter(|e| e.at < end).collect();
    // Weeks whose Sunday falls in the period, by their Monday.
    let mut mondays = Vec::new();
    let mut day = from_day;
    while day <= to_day {
        if chrono::Datelike::weekday(&day) == chrono::Weekday::Sun {
            mondays.push(day - chrono::Duration::days(6));
        }
        day += chrono::Duration::days(1);
    }
    let reports: BTreeSet<(String, usize)> = upto
        .iter()
        .filter(|e| e.field == "report")
        .filter_map(|e| {
            let d = date(&e.at);
            let w = mondays
                .iter()
                .position(|m| *m <= d && d <= *m + chrono::Duration::days(6))?;
            Some((e.task.clone(), w))
        })
        .collect();
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for (id, unit, lead, due_in_file, file_status) in TASKS {
        let mine: Vec<&&Event> = upto.iter().filter(|e| e.task == id).collect();
        let statuses: Vec<&&&Event> = mine.iter().filter(|e| e.field == "status").collect();
        let status = statuses
            .last()
            .and_then(|e| e.new.clone())
            .unwrap_or_else(|| file_status.to_string());
        if status == "cancelled" {
            continue;
        }
        let g = out
            .entry(if leader { lead } else { unit }.to_string())
            .or_default();
        g.tasks += 1;
        let original = date(due_in_file);
        let granted = mine.iter().rfind(|e| e.field == "due");
        let due = granted.map_or(original, |e| date(e.new.as_deref().unwrap_or_default()));
        let due_for_on_time = match granted {
            Some(e) if date(&e.at) > original => original,
            _ => due,
        };
        if status == "done" {
            g.done += 1;
            match statuses.last() {
                Some(e) if e.new.as_deref() == Some("done") => {
                    if date(&e.at) <= due_for_on_time {
                        g.on_time += 1;
                    } else {
                        g.late += 1;
                    }
                }
                _ => g.undated += 1,
            }
        }
        let open = ["todo", "in_progress", "blocked"].contains(&status.as_str());
        if open && due < to_day {
            g.overdue += 1;
            g.days_overdue += (to_day - due).num_days();
        }
        for (w, monday) in mondays.iter().enumerate() {
            let at_start = format!("{monday} 00:00:00");
            let then = statuses
                .iter()
                .rfind(|e| e.at < at_start)
                .and_then(|e| e.new.clone())
                .unwrap_or_else(|| file_status.to_string());
            if ["todo", "in_progress", "blocked", "ongoing"].contains(&then.as_str()) {
                g.owed.insert((unit.to_string(), w));
            }
        }
        for e in mine.iter().filter(|e| e.at >= start) {
            match e.field.as_str() {
                "status"
                    if e.old.as_deref() == Some("review")
                        && e.new.as_deref() == Some("in_progress") =>
                {
                    g.rejected += 1
                }
                "extension" => g.asked += 1,
                "due" => g.granted += 1,
                _ => {}
            }
        }
    }
    for g in out.values_mut() {
        g.made = g.owed.iter().filter(|p| reports.contains(*p)).count();
    }
    out
}

fn score(g: &Expected) -> f64 {
    let [done_w, on_time_w, report_w, overdue_p, rejected_p] = WEIGHTS;
    let points = rate(g.done, g.tasks).unwrap_or(1.0) * done_w
        + rate(g.on_time, g.on_time + g.late).unwrap_or(1.0) * on_time_w
        + rate(g.made, g.owed.len()).unwrap_or(1.0) * report_w
        - g.overdue as f64 * overdue_p
        - g.rejected as f64 * rejected_p;
    (points.max(0.0) * 10.0).round() / 10.0
}

fn close(actual: &Value, expected: Option<f64>, what: &str) {
    match expected {
        None => assert!(actual.is_null(), "{what}: {actual} is not null"),
        Some(x) => assert!(
            actual.as_f64().is_some_and(|a| (a - x).abs() < 1e-9),
            "{what}: {actual} != {x}"
        ),
    }
}

/// Checks every figure of `assess --json` against the recomputation, and the ranking.
fn check(report: &Value, expected: &BTreeMap<String, Expected>) {
    let rows = report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {report}"));
    assert_eq!(rows.len(), expected.len(), "{report}");
    let mut scores = Vec::new();
    for row in rows {
        let name = row["name"].as_str().unwrap_or_default();
        let g = expected
            .get(name)
            .unwrap_or_else(|| panic!("unexpected row {name}"));
        let counts = [
            ("tasks", g.tasks),
            ("done", g.done),
            ("done_on_time", g.on_time),
            ("done_late", g.late),
            ("done_undated", g.undated),
            ("overdue", g.overdue),
            ("reports_due", g.owed.len()),
            ("reports_made", g.made),
            ("rejected", g.rejected),
            ("extensions_asked", g.asked),
            ("extensions_granted", g.granted),
        ];
        for (key, want) in counts {
            assert_eq!(row[key], want, "{name} {key}: {row}");
        }
        let avg = (g.overdue > 0).then(|| g.days_overdue as f64 / g.overdue as f64);
        close(&row["avg_days_overdue"], avg, name);
        close(&row["done_rate"], rate(g.done, g.tasks), name);
        close(
            &row["on_time_rate"],
            rate(g.on_time, g.on_time + g.late),
            name,
        );
        close(&row["report_rate"], rate(g.made, g.owed.len()), name);
        close(&row["score"], Some(score(g)), name);
        scores.push((score(g), row["rank"].as_u64().unwrap_or_default()));
    }
    // Highest first; equal scores share the rank of the first of them.
    for (i, (s, rank)) in scores.iter().enumerate() {
        let expected_rank = scores.iter().position(|(t, _)| t == s).unwrap_or(i) + 1;
        assert_eq!(*rank as usize, expected_rank, "{scores:?}");
        if i > 0 {
            assert!(scores[i - 1].0 >= *s, "not in score order: {scores:?}");
        }
    }
}

#[test]
fn eight_weeks_of_an_office_give_figures_that_history_and_the_list_confirm() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());
    for (person, at, text) in WEEKS {
        weekbell_ok(d, c, &["cmd", "--as", person, "--at", at, text], &[]);
    }
    let events = history(d, c);
    assert_eq!(
        events.iter().filter(|e| e.field == "report").count(),
        11,
        "every weekly report is recorded"
    );

    let assess = |args: &[&str]| -> Value {
        let mut all = vec!["assess", "--json"];
        all.extend_from_slice(args);
        let out = weekbell_ok(d, c, &all, &[]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let december = ["--from", "2026-12-01", "--to", "2026-12-31"];
    let by_unit = assess(&december);
    assert_eq!(by_unit["weeks"], 4);
    assert_eq!(by_unit["weights"]["overdue_penalty"], 5.0);
    let expected = recompute(&events, "2026-12-01", "2026-12-31", false);
    check(&by_unit, &expected);
    // What the recomputation found, so that the test cannot pass on an empty office: 城管局
    // closed both tasks on time with one sign-off returned, 住建局 has one task 11 days
    // overdue and one done in the file (undated), 生态环境局 closed one task late.
    let names: Vec<&str> = by_unit["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["县城管局", "县住建局", "县生态环境局"], "{by_unit}");
    let chengguan = &expected["县城管局"];
    assert_eq!(
        (
            chengguan.on_time,
            chengguan.rejected,
            chengguan.asked,
            chengguan.granted
        ),
        (2, 1, 1, 1)
    );
    assert_eq!((chengguan.owed.len(), chengguan.made), (3, 2));
    let zhujian = &expected["县住建局"];
    assert_eq!(
        (zhujian.undated, zhujian.overdue, zhujian.days_overdue),
        (1, 1, 11)
    );
    assert_eq!(expected["县生态环境局"].late, 1);

    let mut with_leader: Vec<&str> = vec!["--by", "leader"];
    with_leader.extend_from_slice(&december);
    let by_leader = assess(&with_leader);
    check(
        &by_leader,
        &recompute(&events, "2026-12-01", "2026-12-31", true),
    );

    // November: the other half of the eight weeks, with its own rejected sign-off.
    let november = assess(&["--from", "2026-11-01", "--to", "2026-11-30"]);
    let expected_nov = recompute(&events, "2026-11-01", "2026-11-30", false);
    check(&november, &expected_nov);
    assert_eq!(expected_nov["县生态环境局"].rejected, 1);

    // The monthly 通报 on 1 January reports on December: best and last named, with figures.
    let report = weekbell_ok(
        d,
        c,
        &[
            "preview",
            "monthly-assessment",
            "--at",
            "2027-01-01T00:00:00+08:00",
        ],
        &[],
    );
    let best = score(chengguan);
    let last = score(&expected["县生态环境局"]);
    assert!(
        report.contains("【整改工作考核通报】2026年12月1日至2026年12月31日"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "第一名：县城管局，得分 {best:.1}，共 2 项，办结 2 项"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("末位：县生态环境局，得分 {last:.1}")),
        "{report}"
    );
    assert!(
        report.contains(&format!("第 2 名 县住建局：{:.1} 分", score(zhujian))),
        "{report}"
    );
}

#[test]
fn assess_writes_xlsx_and_csv_and_refuses_a_period_that_ends_before_it_begins() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());
    weekbell_ok(
        d,
        c,
        &[
            "cmd",
            "--as",
            "sun",
            "--at",
            "2026-12-02T10:00:00+08:00",
            "完成 2",
        ],
        &[],
    );
    let args = ["assess", "--from", "2026-12-01", "--to", "2026-12-31"];
    let table = weekbell_ok(d, c, &args, &[]);
    assert!(
        table.contains("县城管局") && table.contains("RANK"),
        "{table}"
    );
    let mut csv_args = args.to_vec();
    csv_args.extend_from_slice(&["-o", "考核.csv"]);
    weekbell_ok(d, c, &csv_args, &[]);
    let csv = support::daemon::read(&d.join("考核.csv"));
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some(
            "排名,责任单位,得分,事项数,已办结,按期办结,逾期办结,办结日期不详,当前逾期,平均逾期天数,应报周报,按时报送,退回次数,申请延期,批准延期,办结率%,按期办结率%,周报报送率%"
        )
    );
    assert_eq!(lines.count(), 3, "{csv}");
    let mut xlsx_args = args.to_vec();
    xlsx_args.extend_from_slice(&["--format", "xlsx", "-o", "考核.xlsx"]);
    weekbell_ok(d, c, &xlsx_args, &[]);
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(d.join("考核.xlsx")).unwrap_or_else(|e| panic!("{e}"));
    let sheet = book
        .worksheet_range("考核排名")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sheet.height(), 4);
    assert_eq!(
        sheet.get_value((0, 2)).map(|v| v.to_string()),
        Some("得分".to_string())
    );
    // Numbers are numbers. 住建局 leads: its task done in the file counts as done with nothing
    // to time, while 城管局 closed task 2 twelve days late.
    assert_eq!(
        sheet.get_value((1, 1)).map(|v| v.to_string()),
        Some("县住建局".to_string())
    );
    assert_eq!(sheet.get_value((1, 4)), Some(&calamine::Data::Float(1.0)));

    let out = support::daemon::weekbell(
        d,
        c,
        &["assess", "--from", "2026-12-31", "--to", "2026-12-01"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}

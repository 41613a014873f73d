//! The task-list importers against the real fixtures and small variants of them.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weekbell::config::{Field, TasksConfig};
use weekbell::people::{Directory, Person};
use weekbell::tasks::{self, Status, StatusMap, Task, TaskError, TaskList, load, load_bytes};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn config(name: &str) -> TasksConfig {
    TasksConfig {
        source: fixture(name),
        sheet: None,
        columns: BTreeMap::new(),
        status_values: BTreeMap::new(),
        encoding: None,
        max_unpacked_size: weekbell::config::DEFAULT_MAX_UNPACKED_SIZE,
        date_order: None,
        locale: weekbell::config::Locale::ZhCn,
    }
}

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.to_string(),
        name: name.to_string(),
        unit: None,
        mobile: None,
        email: None,
        handles: BTreeMap::new(),
        admin: false,
    }
}

/// Everyone named in both fixtures except 许斌, so exactly one row of the Chinese list has an
/// unknown owner.
fn people() -> Directory {
    let mut list: Vec<Person> = [
        ("zhang.mingyuan", "张明远"),
        ("liu.xiaofang", "刘晓芳"),
        ("chen.jianguo", "陈建国"),
        ("wang.lihua", "王丽华"),
        ("zhao.zhigang", "赵志刚"),
        ("sun.qiang", "孙强"),
        ("zhou.min", "周敏"),
        ("wu.tao", "吴涛"),
        ("zheng.jie", "郑洁"),
        ("feng.lei", "冯磊"),
        ("he.jing", "何静"),
        ("han.xue", "韩雪"),
        ("deng.chao", "邓超"),
        ("cao.yang", "曹阳"),
        ("peng.liang", "彭亮"),
        ("zeng.lin", "曾琳"),
    ]
    .iter()
    .map(|(id, name)| person(id, name))
    .collect();
    for id in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        list.push(person(id, &id.to_uppercase()));
    }
    Directory::new(list)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_else(|| panic!("invalid date"))
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn load_fixture(name: &str) -> TaskList {
    load_with(&config(name))
}

fn load_with(cfg: &TasksConfig) -> TaskList {
    load(cfg, &people(), today())
        .unwrap_or_else(|e| panic!("{} failed to load:\n{e}", cfg.source.display()))
}

fn counts(list: &TaskList) -> BTreeMap<Status, usize> {
    let mut m = BTreeMap::new();
    for t in &list.tasks {
        *m.entry(t.status).or_insert(0) += 1;
    }
    m
}

/// Tasks with their source row reference blanked, for comparing formats.
fn without_source(list: &TaskList) -> Vec<Task> {
    list.tasks
        .iter()
        .cloned()
        .map(|mut t| {
            t.source.sheet.clear();
            t.source.row = 0;
            t
        })
        .collect()
}

fn by_id<'a>(list: &'a TaskList, id: &str) -> &'a Task {
    list.tasks
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no task {id}"))
}

#[test]
fn rectification_xlsx_loads_with_exact_counts() {
    let list = load_fixture("rectification-list.xlsx");
    assert_eq!(list.tasks.len(), 18);
    // Counted by hand from the 整改进展 column of rectification-list.csv.
    let expected = BTreeMap::from([
        (Status::Todo, 4),
        (Status::InProgress, 11),
        (Status::Blocked, 1),
        (Status::Done, 2),
    ]);
    assert_eq!(counts(&list), expected);

    let ids: Vec<String> = (1..=18).map(|i| i.to_string()).collect();
    assert_eq!(
        list.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        ids
    );

    let first = by_id(&list, "1");
    assert_eq!(first.title, "县城建成区餐饮油烟净化设施未全覆盖");
    assert_eq!(first.unit, "县城管局");
    assert_eq!(first.category, "大气污染");
    assert_eq!(first.notes, "已完成 62 家，剩余 18 家");
    assert_eq!(first.due, date(2026, 12, 31));
    assert_eq!(first.status, Status::InProgress);
    assert_eq!(first.progress, None);
    assert_eq!(first.channel, None);
    let leader = first.leader.as_ref().unwrap_or_else(|| panic!("no leader"));
    assert_eq!(
        (leader.name.as_str(), leader.person.as_deref()),
        ("张明远", Some("zhang.mingyuan"))
    );
    assert_eq!(first.owners.len(), 1);
    assert_eq!(first.owners[0].person.as_deref(), Some("sun.qiang"));
    // Title row 1, header row 2: task 1 is on row 3.
    assert_eq!(first.source.sheet, "问题清单");
    assert_eq!(first.source.row, 3);
    assert_eq!(by_id(&list, "18").source.row, 20);

    // Every due-date form in the fixture.
    assert_eq!(by_id(&list, "2").due, date(2026, 12, 31)); // 2026年12月底前
    assert_eq!(by_id(&list, "5").due, date(2026, 12, 20)); // 2026/12/20
    assert_eq!(by_id(&list, "8").due, date(2026, 12, 10)); // 2026.12.10
    assert_eq!(by_id(&list, "12").due, date(2026, 12, 31)); // 2026年12月31日
    assert_eq!(by_id(&list, "6").due, date(2027, 3, 31)); // date cell
    let standing = by_id(&list, "10"); // 长期坚持 with 整改中
    assert_eq!(standing.due, None);
    assert_eq!(standing.status, Status::InProgress);

    let shared = by_id(&list, "18");
    let owners: Vec<&str> = shared.owners.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(owners, ["周敏", "孙强"]);
    assert!(shared.owners.iter().all(|o| o.person.is_some()));
    assert_eq!(by_id(&list, "14").status, Status::Blocked);
}

#[test]
fn unknown_owner_is_a_warning_not_an_error() {
    let list = load_fixture("rectification-list.xlsx");
    assert_eq!(list.warnings.len(), 1, "{:?}", list.warnings);
    let w = &list.warnings[0];
    assert_eq!(w.sheet, "问题清单");
    assert_eq!(w.row, 9);
    assert_eq!(w.column.as_deref(), Some("责任人"));
    assert!(w.message.contains("许斌"), "{}", w.message);
    let t = by_id(&list, "7");
    assert_eq!(t.owners[0].name, "许斌");
    assert_eq!(t.owners[0].person, None);
}

#[test]
fn rectification_csv_matches_xlsx() {
    let xlsx = load_fixture("rectification-list.xlsx");
    let csv = load_fixture("rectification-list.csv");
    assert_eq!(csv.tasks.len(), 18);
    assert_eq!(without_source(&csv), without_source(&xlsx));
    // The CSV has no title row, so each task sits one row higher.
    assert_eq!(csv.tasks[0].source.sheet, "rectification-list.csv");
    assert_eq!(csv.tasks[0].source.row, 2);
    assert_eq!(csv.warnings.len(), 1);
}

#[test]
fn gbk_and_bom_csv_match_utf8() {
    let utf8 = load_fixture("rectification-list.csv");
    for name in ["rectification-list-gbk.csv", "rectification-list-bom.csv"] {
        let other = load_fixture(name);
        assert_eq!(without_source(&other), without_source(&utf8), "{name}");
        let rows: Vec<usize> = other.tasks.iter().map(|t| t.source.row).collect();
        let expected: Vec<usize> = utf8.tasks.iter().map(|t| t.source.row).collect();
        assert_eq!(rows, expected, "{name}");
    }
    let mut forced = config("rectification-list-gbk.csv");
    forced.encoding = Some("gbk".to_string());
    assert_eq!(without_source(&load_with(&forced)), without_source(&utf8));
}

#[test]
fn forcing_the_wrong_encoding_is_an_encoding_error() {
    let mut cfg = config("rectification-list-gbk.csv");
    cfg.encoding = Some("utf-8".to_string());
    match load(&cfg, &people(), today()) {
        Err(e @ TaskError::Encoding { .. }) => {
            assert!(e.to_string().contains("rectification-list-gbk.csv"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn ods_and_xls_match_xlsx() {
    let xlsx = load_fixture("rectification-list.xlsx");
    for name in ["rectification-list.ods", "rectification-list.xls"] {
        let other = load_fixture(name);
        assert_eq!(without_source(&other), without_source(&xlsx), "{name}");
        assert_eq!(
            other.tasks.iter().map(|t| &t.source).collect::<Vec<_>>(),
            xlsx.tasks.iter().map(|t| &t.source).collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn team_tasks_csv_loads_with_exact_counts() {
    let list = load_fixture("team-tasks.csv");
    assert_eq!(list.tasks.len(), 7);
    let expected = BTreeMap::from([
        (Status::Todo, 2),
        (Status::InProgress, 2),
        (Status::Blocked, 1),
        (Status::Done, 1),
        (Status::Ongoing, 1),
    ]);
    assert_eq!(counts(&list), expected);
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);

    let shared = by_id(&list, "WEB-211");
    let owners: Vec<(&str, Option<&str>)> = shared
        .owners
        .iter()
        .map(|o| (o.name.as_str(), o.person.as_deref()))
        .collect();
    assert_eq!(owners, [("carol", Some("carol")), ("dave", Some("dave"))]);
    assert_eq!(shared.unit, "web");
    assert_eq!(shared.notes, "shared");
    assert_eq!(shared.leader, None);
    let drill = by_id(&list, "OPS-331");
    assert_eq!((drill.status, drill.due), (Status::Ongoing, None));
    assert_eq!(by_id(&list, "API-101").due, date(2026, 12, 4));
    assert_eq!(by_id(&list, "API-101").source.row, 2);
}

#[test]
fn team_tasks_tsv_toml_json_match_csv() {
    let csv = load_fixture("team-tasks.csv");
    for name in ["team-tasks.tsv", "team-tasks.toml", "team-tasks.json"] {
        let other = load_fixture(name);
        assert_eq!(without_source(&other), without_source(&csv), "{name}");
        assert!(other.warnings.is_empty(), "{name}: {:?}", other.warnings);
    }
    // TOML and JSON rows are entry positions.
    let json = load_fixture("team-tasks.json");
    assert_eq!(json.tasks[2].source.row, 3);
    assert_eq!(json.tasks[2].source.sheet, "team-tasks.json");
}

#[test]
fn every_bad_row_is_reported() {
    let err = match load(&config("bad-rows.csv"), &people(), today()) {
        Err(e) => e,
        Ok(list) => panic!("bad-rows.csv loaded {} tasks", list.tasks.len()),
    };
    let TaskError::BadRows { path, rows } = &err else {
        panic!("unexpected {err:?}");
    };
    assert!(path.ends_with("bad-rows.csv"));
    let got: Vec<(usize, Option<&str>)> =
        rows.iter().map(|r| (r.row, r.column.as_deref())).collect();
    // Rows 4 (下周) and 9 (2026-02-30) have unreadable deadlines: warnings, not bad rows.
    assert_eq!(
        got,
        [
            (5, Some("整改进展")),
            (6, Some("进度")),
            (7, Some("序号")),
            (8, Some("问题描述")),
        ]
    );
    assert!(rows.iter().all(|r| r.sheet == "bad-rows.csv"));
    assert!(
        rows[0].message.contains("差不多了") && rows[0].message.contains("[tasks.status_values]")
    );
    assert!(rows[2].message.contains("row 3"), "{}", rows[2].message);

    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].contains("bad-rows.csv"), "{text}");
    assert!(
        lines[1].starts_with("  bad-rows.csv row 5, column 整改进展:"),
        "{text}"
    );
    assert!(lines[5].starts_with("Fix"), "{text}");
}

#[test]
fn an_unreadable_deadline_loads_the_task_with_the_deadline_to_be_confirmed() {
    let text = "问题描述,责任人,整改时限\n油烟净化,孙强,下周\n散煤治理,周敏,2026-02-30\n排污口,吴涛,2026-12-31\n";
    let list = load_bytes(
        "u.csv",
        text.as_bytes(),
        &config("u.csv"),
        &people(),
        today(),
    )
    .unwrap_or_else(|e| panic!("one unreadable deadline rejected the list: {e}"));
    assert_eq!(list.tasks.len(), 3);
    assert_eq!(list.tasks[0].due, None);
    assert_eq!(list.tasks[0].unreadable_due.as_deref(), Some("下周"));
    assert_eq!(list.tasks[1].unreadable_due.as_deref(), Some("2026-02-30"));
    assert_eq!(list.tasks[2].due, date(2026, 12, 31));
    assert_eq!(list.tasks[2].unreadable_due, None);
    let named: Vec<(usize, Option<&str>)> = list
        .warnings
        .iter()
        .map(|w| (w.row, w.column.as_deref()))
        .collect();
    assert_eq!(named, [(2, Some("整改时限")), (3, Some("整改时限"))]);
    assert!(list.warnings[0].message.contains("下周"));
}

#[test]
fn a_year_less_deadline_is_anchored_to_the_date_in_the_title_rows() {
    let text = "某县问题整改清单,,\n更新日期：2026年12月4日,,\n问题描述,责任人,整改时限\n油烟净化,孙强,12月15日前\n散煤治理,周敏,1月底\n";
    // Whatever day the list is read on (or its file saved), the title's date decides the year.
    for read_on in [date(2026, 12, 10), date(2027, 2, 10), date(2030, 6, 1)] {
        let read_on = read_on.unwrap_or_default();
        let list = load_bytes(
            "t.csv",
            text.as_bytes(),
            &config("t.csv"),
            &people(),
            read_on,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks[0].due, date(2026, 12, 15), "read on {read_on}");
        // The list's year, not the next one: a January deadline in a December list is overdue
        // come February rather than a year away.
        assert_eq!(list.tasks[1].due, date(2026, 1, 31), "read on {read_on}");
    }
}

#[test]
fn a_list_without_a_title_date_is_anchored_to_the_day_its_file_was_saved() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("list.csv");
    std::fs::write(&path, "问题描述,整改时限\n油烟净化,12月15日前\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let saved = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000); // 2026-11-18
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(saved))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = config("list.csv");
    cfg.source = path;
    for read_on in [date(2026, 12, 10), date(2027, 2, 10)] {
        let list =
            load(&cfg, &people(), read_on.unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks[0].due, date(2026, 12, 15), "read on {read_on:?}");
    }
}

#[test]
fn an_office_list_with_deadline_phrases_loads_with_every_deadline_read() {
    let text = "\
某县突出问题整改清单,,
更新日期：2026年12月4日,,
序号,问题描述,整改时限
1,河道垃圾清理,立行立改
2,油烟净化,长期坚持
3,散煤治理,2026年12月底前
4,排污口整治,12月15日前
5,违建拆除,2027年6月
6,厕所改造,月底
7,道路修复,11月—12月
8,校园周边整治,第一季度
9,秸秆禁烧,即知即改、常态化
10,农贸市场整治,46387
";
    let list = load_bytes(
        "o.csv",
        text.as_bytes(),
        &config("o.csv"),
        &people(),
        today(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let due: Vec<(&str, Option<NaiveDate>)> =
        list.tasks.iter().map(|t| (t.id.as_str(), t.due)).collect();
    assert_eq!(
        due,
        [
            ("1", date(2026, 12, 4)),
            ("2", None),
            ("3", date(2026, 12, 31)),
            ("4", date(2026, 12, 15)),
            ("5", date(2027, 6, 30)),
            ("6", date(2026, 12, 31)),
            ("7", date(2026, 12, 31)),
            ("8", date(2026, 3, 31)),
            ("9", date(2026, 12, 4)),
            ("10", date(2026, 12, 31)),
        ]
    );
    assert!(list.tasks.iter().all(|t| t.unreadable_due.is_none()));
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);
}

#[test]
fn a_yes_no_completion_column_gives_the_status() {
    let text = "问题描述,整改时限,是否完成\n油烟净化,2026-10-10,是\n散煤治理,2026-10-10,否\n排污口整治,2026-10-10,整改中\n违建拆除,2026-10-10,\n";
    let list = load_bytes(
        "y.csv",
        text.as_bytes(),
        &config("y.csv"),
        &people(),
        today(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<Status> = list.tasks.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [Status::Done, Status::Todo, Status::InProgress, Status::Todo]
    );
    // The task marked 是 is finished, not 41 days overdue.
    assert!(!list.tasks[0].is_overdue(today()));
    assert!(list.tasks[1].is_overdue(today()));
}

#[test]
fn tracker_status_words_and_a_completion_date_give_the_status() {
    let text = "\
Summary,Status,Due,Resolved
Login page,To Do,02/Dec/26 12:00 AM,
Report,Backlog,,
Review queue,In Review,,
Old idea,Won't Do,,01/Nov/26 3:00 PM
Dropped idea,Canceled,,
Shipped fix,In Progress,,28/Nov/26 9:15 AM
Released,Done,,27/Nov/26 9:15 AM
";
    let mut cfg = config("jira.csv");
    cfg.columns.insert(Field::Title, "Summary".to_string());
    let list = load_bytes("jira.csv", text.as_bytes(), &cfg, &people(), today())
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<Status> = list.tasks.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Todo,
            Status::Todo,
            Status::InProgress,
            Status::Cancelled,
            Status::Cancelled,
            Status::Done,
            Status::Done,
        ]
    );
    assert_eq!(list.tasks[0].due, date(2026, 12, 2));
    assert!(list.warnings.is_empty(), "{:?}", list.warnings);

    // An Asana-style yes/no "Completed" column says no in its own words.
    let asana = "Name,Completed\nWrite plan,FALSE\nSend plan,TRUE\nFile plan,2026-11-02\n";
    let mut cfg = config("asana.csv");
    cfg.columns.insert(Field::Title, "Name".to_string());
    let list = load_bytes("asana.csv", asana.as_bytes(), &cfg, &people(), today())
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<Status> = list.tasks.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [Status::Todo, Status::Done, Status::Done]);
}

#[test]
fn configured_status_words_win() {
    let mut cfg = config("bad-rows.csv");
    cfg.status_values
        .insert(Status::Done, vec!["差不多了".to_string()]);
    let err = load(&cfg, &people(), today()).expect_err("still bad");
    let TaskError::BadRows { rows, .. } = err else {
        panic!("unexpected {err:?}");
    };
    assert!(rows.iter().all(|r| r.row != 5), "{rows:?}");
    assert_eq!(rows.len(), 3);
}

#[test]
fn missing_sheet_lists_the_sheets() {
    let mut cfg = config("rectification-list.xlsx");
    cfg.sheet = Some("整改台账".to_string());
    let err = load(&cfg, &people(), today()).expect_err("no such sheet");
    let text = err.to_string();
    assert!(matches!(err, TaskError::SheetNotFound { .. }), "{text}");
    assert!(text.contains("rectification-list.xlsx"), "{text}");
    assert!(
        text.contains("问题清单") && text.contains("填报说明"),
        "{text}"
    );
}

#[test]
fn explicit_sheet_is_used() {
    let mut cfg = config("rectification-list.xlsx");
    cfg.sheet = Some("问题清单".to_string());
    assert_eq!(load_with(&cfg).tasks.len(), 18);
    // The notes sheet has no header row.
    cfg.sheet = Some("填报说明".to_string());
    let err = load(&cfg, &people(), today()).expect_err("no header");
    assert!(matches!(err, TaskError::NoHeaderRow { .. }), "{err}");
    assert!(err.to_string().contains("问题描述"), "{err}");
}

#[test]
fn explicit_columns_win_and_missing_ones_are_named() {
    let mut cfg = config("rectification-list.xlsx");
    cfg.columns.insert(Field::Title, "问题描述".to_string());
    cfg.columns.insert(Field::Notes, "问题类别".to_string());
    let list = load_with(&cfg);
    assert_eq!(list.tasks[0].notes, "大气污染");
    assert_eq!(list.tasks[0].category, "");

    cfg.columns.insert(Field::Due, "完成时间".to_string());
    let err = load(&cfg, &people(), today()).expect_err("missing column");
    let text = err.to_string();
    assert!(matches!(err, TaskError::MissingColumn { .. }), "{text}");
    assert!(
        text.contains("完成时间") && text.contains("整改时限"),
        "{text}"
    );
    assert!(text.contains("rectification-list.xlsx"), "{text}");
}

#[test]
fn unreadable_and_unsupported_files_name_the_path() {
    let err = load(&config("no-such-list.xlsx"), &people(), today()).expect_err("missing file");
    assert!(matches!(err, TaskError::Unreadable { .. }));
    assert!(err.to_string().contains("no-such-list.xlsx"), "{err}");

    let err = load(&config("tasks.docx"), &people(), today()).expect_err("bad extension");
    assert!(matches!(err, TaskError::UnsupportedFormat { .. }));
    assert!(err.to_string().contains("csv"), "{err}");

    // A CSV renamed to .xlsx is a bad workbook, not a panic.
    let bytes = std::fs::read(fixture("team-tasks.csv")).unwrap_or_else(|e| panic!("fixture: {e}"));
    let err = load_bytes("tasks.xlsx", &bytes, &config("x.xlsx"), &people(), today())
        .expect_err("not a workbook");
    assert!(matches!(err, TaskError::BadWorkbook { .. }), "{err}");
    assert!(err.to_string().contains("tasks.xlsx"), "{err}");
}

/// A sheet as offices make them: a merged title, 责任单位 merged over the rows of one unit,
/// Excel date cells, a percent-formatted progress column and a note under the table.
#[test]
fn merged_cells_dates_and_percent_cells_in_xlsx() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("台账").unwrap_or_else(|e| panic!("name: {e}"));
    let date_fmt = Format::new().set_num_format("yyyy年m月d日");
    let pct_fmt = Format::new().set_num_format("0%");
    let plain = Format::new();
    ws.merge_range(0, 0, 0, 5, "2026年第四季度整改台账", &plain)
        .unwrap_or_else(|e| panic!("merge: {e}"));
    for (c, h) in [
        "序号",
        "问题描述",
        "责任\n单位",
        "责任人",
        "整改时限",
        "完成进度",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h)
            .unwrap_or_else(|e| panic!("header: {e}"));
    }
    ws.merge_range(2, 2, 4, 2, "县城管局", &plain)
        .unwrap_or_else(|e| panic!("merge unit: {e}"));
    for (i, (title, owner)) in [
        ("油烟治理", "孙强"),
        ("渣土清运", "周敏"),
        ("占道经营", "孙强"),
    ]
    .iter()
    .enumerate()
    {
        let r = 2 + i as u32;
        ws.write_number(r, 0, (i + 1) as f64)
            .unwrap_or_else(|e| panic!("id: {e}"));
        ws.write_string(r, 1, *title)
            .unwrap_or_else(|e| panic!("title: {e}"));
        ws.write_string(r, 3, *owner)
            .unwrap_or_else(|e| panic!("owner: {e}"));
        let d =
            ExcelDateTime::from_ymd(2026, 12, 10 + i as u8).unwrap_or_else(|e| panic!("date: {e}"));
        ws.write_datetime_with_format(r, 4, d, &date_fmt)
            .unwrap_or_else(|e| panic!("due: {e}"));
        ws.write_number_with_format(r, 5, 0.25 * (i + 1) as f64, &pct_fmt)
            .unwrap_or_else(|e| panic!("pct: {e}"));
    }
    ws.write_number(5, 0, 4.0)
        .unwrap_or_else(|e| panic!("id: {e}"));
    ws.write_string(5, 1, "污水管网")
        .unwrap_or_else(|e| panic!("title: {e}"));
    ws.write_string(5, 2, "县住建局")
        .unwrap_or_else(|e| panic!("unit: {e}"));
    ws.write_string(5, 4, "12月底前")
        .unwrap_or_else(|e| panic!("due: {e}"));
    ws.write_number_with_format(5, 5, 1.0, &pct_fmt)
        .unwrap_or_else(|e| panic!("pct: {e}"));
    ws.merge_range(7, 0, 7, 5, "注：本表由县督查办汇总", &plain)
        .unwrap_or_else(|e| panic!("note: {e}"));
    let bytes = wb.save_to_buffer().unwrap_or_else(|e| panic!("xlsx: {e}"));

    let list = load_bytes(
        "台账.xlsx",
        &bytes,
        &config("台账.xlsx"),
        &people(),
        today(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.tasks.len(), 4, "{:?}", list.tasks);
    let units: Vec<&str> = list.tasks.iter().map(|t| t.unit.as_str()).collect();
    assert_eq!(units, ["县城管局", "县城管局", "县城管局", "县住建局"]);
    let due: Vec<Option<NaiveDate>> = list.tasks.iter().map(|t| t.due).collect();
    assert_eq!(
        due,
        [
            date(2026, 12, 10),
            date(2026, 12, 11),
            date(2026, 12, 12),
            date(2026, 12, 31)
        ]
    );
    let progress: Vec<Option<u8>> = list.tasks.iter().map(|t| t.progress).collect();
    assert_eq!(progress, [Some(25), Some(50), Some(75), Some(100)]);
    assert_eq!(list.tasks[3].id, "4");
    assert_eq!(list.tasks[3].source.row, 6);
    assert_eq!(list.tasks[3].owners, []);
}

/// Two header rows: 序号 and 问题描述 merged down over both, 责任主体 merged across the three
/// columns whose names are in the row below.
#[test]
fn two_level_merged_headers_in_xlsx() {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let plain = Format::new();
    ws.merge_range(0, 0, 1, 0, "序号", &plain)
        .unwrap_or_else(|e| panic!("merge: {e}"));
    ws.merge_range(0, 1, 1, 1, "问题描述", &plain)
        .unwrap_or_else(|e| panic!("merge: {e}"));
    ws.merge_range(0, 2, 0, 4, "责任主体", &plain)
        .unwrap_or_else(|e| panic!("merge: {e}"));
    ws.merge_range(0, 5, 1, 5, "整改时限", &plain)
        .unwrap_or_else(|e| panic!("merge: {e}"));
    for (c, h) in ["责任单位", "包保领导", "责任人"].iter().enumerate() {
        ws.write_string(1, 2 + c as u16, *h)
            .unwrap_or_else(|e| panic!("sub-header: {e}"));
    }
    for (c, v) in ["1", "油烟治理", "县城管局", "张明远", "孙强", "2026-12-31"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *v)
            .unwrap_or_else(|e| panic!("data: {e}"));
    }
    let bytes = wb.save_to_buffer().unwrap_or_else(|e| panic!("xlsx: {e}"));
    let list = load_bytes("two.xlsx", &bytes, &config("two.xlsx"), &people(), today())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.tasks.len(), 1);
    let t = &list.tasks[0];
    assert_eq!((t.id.as_str(), t.unit.as_str()), ("1", "县城管局"));
    assert_eq!(t.leader.as_ref().map(|l| l.name.as_str()), Some("张明远"));
    assert_eq!(t.owners[0].person.as_deref(), Some("sun.qiang"));
    assert_eq!(t.due, date(2026, 12, 31));
    assert_eq!(t.source.row, 3);
}

#[test]
fn duplicate_ids_name_the_first_row() {
    let text = "id,title\nA,one\nB,two\nA,three\n";
    let err = load_bytes(
        "d.csv",
        text.as_bytes(),
        &config("d.csv"),
        &people(),
        today(),
    )
    .expect_err("duplicate");
    let TaskError::BadRows { rows, .. } = err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row, 4);
    assert!(rows[0].message.contains("row 2"), "{}", rows[0].message);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn due_parser_never_panics(s in ".{0,40}") {
        let _ = tasks::parse_due(&s, today());
    }

    #[test]
    fn due_parser_never_panics_on_date_like_text(
        s in "[0-9０-９年月日号底末前之以完成本今上下半季度第一二三四至到—~/.\\- T:,、]{0,24}"
    ) {
        let _ = tasks::parse_due(&s, today());
    }

    #[test]
    fn a_deadline_with_its_year_does_not_depend_on_the_list_date(
        y in 2000u32..2100, m in 1u32..=12, d in 1u32..=28, form in 0usize..4,
        list_day in 0i64..20_000,
    ) {
        let text = match form {
            0 => format!("{y}年{m}月{d}日前"),
            1 => format!("{y}-{m:02}-{d:02}"),
            2 => format!("{y}年{m}月底"),
            _ => format!("{y}年第{}季度", m.div_ceil(3)),
        };
        let list_date = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default()
            + chrono::Duration::days(list_day);
        prop_assert_eq!(tasks::parse_due(&text, list_date), tasks::parse_due(&text, today()));
    }

    #[test]
    fn a_year_less_deadline_takes_the_list_date_s_year_whatever_its_day(
        m in 1u32..=12, d in 1u32..=28, end_of_month in any::<bool>(),
        year in 2000i32..2100, first in 1u32..=365, second in 1u32..=365,
    ) {
        let text = if end_of_month { format!("{m}月底前") } else { format!("{m}月{d}日前") };
        let on = |day: u32| NaiveDate::from_yo_opt(year, day).unwrap_or_default();
        let a = tasks::parse_due(&text, on(first));
        prop_assert_eq!(&a, &tasks::parse_due(&text, on(second)));
        prop_assert_eq!(a.ok().flatten().map(|due| due.year()), Some(year));
    }

    #[test]
    fn status_mapper_never_panics(s in ".{0,40}") {
        let map = StatusMap::new(&BTreeMap::new());
        let _ = map.parse(&s);
    }

    #[test]
    fn csv_import_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = load_bytes("p.csv", &bytes, &config("p.csv"), &people(), today());
        let _ = load_bytes("p.json", &bytes, &config("p.json"), &people(), today());
        let _ = load_bytes("p.toml", &bytes, &config("p.toml"), &people(), today());
        let _ = load_bytes("p.xlsx", &bytes, &config("p.xlsx"), &people(), today());
    }

    #[test]
    fn csv_rows_with_a_title_are_never_dropped(
        rows in proptest::collection::vec(("[a-z]{1,8}", "[^,\"\r\n]{0,12}"), 1..20)
    ) {
        let mut text = String::from("title,status\n");
        for (title, status) in &rows {
            text.push_str(&format!("{title},{status}\n"));
        }
        match load_bytes("p.csv", text.as_bytes(), &config("p.csv"), &people(), today()) {
            Ok(list) => prop_assert_eq!(list.tasks.len(), rows.len()),
            Err(TaskError::BadRows { rows: bad, .. }) => {
                prop_assert!(!bad.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}

proptest! {
    /// Whatever headers a list has, in whatever order, each column becomes exactly one thing:
    /// a field, the completion column, or an `extra` column; and a phone header never becomes
    /// the owners.
    #[test]
    fn every_column_is_mapped_or_kept_exactly_once(
        picks in proptest::sample::subsequence(
            vec![
                "序号", "问题类型", "所在乡镇", "牵头单位", "配合单位", "县级包保领导", "责任人",
                "联系电话", "责任人联系电话", "整改措施", "整改时限", "整改进展情况", "是否完成",
                "问题来源", "Priority", "Labels", "Resolved", "Assignee Email", "备用",
            ],
            0..19,
        ),
        seed in any::<u64>(),
    ) {
        let mut headers: Vec<&str> = picks.clone();
        // Shuffle by the seed, then put the title somewhere.
        let n = headers.len();
        for i in (1..n).rev() {
            headers.swap(i, (seed as usize ^ i.wrapping_mul(2654435761)) % (i + 1));
        }
        headers.insert(seed as usize % (n + 1), "问题描述");
        let row: Vec<String> = headers.iter().map(|h| if *h == "问题描述" { "油烟".to_string() } else { String::new() }).collect();
        let csv = format!("{}\n{}\n", headers.join(","), row.join(","));
        let list = load_bytes("p.csv", csv.as_bytes(), &config("p.csv"), &people(), today())
            .unwrap_or_else(|e| panic!("{headers:?}: {e}"));
        let report = list.columns.unwrap_or_else(|| panic!("no column report"));
        prop_assert_eq!(report.mapped.len() + report.kept.len(), headers.len(), "{:?} → {:?}", headers, report);
        for m in &report.mapped {
            if m.header.contains("电话") {
                prop_assert_eq!(&m.field, "phones");
            }
        }
    }
}

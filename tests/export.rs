//! `weekbell export`, black-box: events recorded in a temporary store, the real binary run on
//! a copy of the shipped config (and on every fixture format), and the files it writes read
//! back with calamine, the csv crate and weekbell's own importer.

use calamine::{Data, Reader};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use weekbell::config::{self, Config};
use weekbell::people::Directory;
use weekbell::store::{NewEvent, Store};
use weekbell::tasks::{self, MergeOptions, Status, Task};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in `dir`, where the config's relative store URL puts the database.
fn weekbell(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weekbell"))
        .current_dir(dir)
        .args(args)
        .env_remove("WEEKBELL_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("could not run weekbell: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn copy(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The shipped config with its task list and holiday files, under `dir/config`.
fn shipped(dir: &Path) -> PathBuf {
    let config = repo().join("config");
    for f in [
        "weekbell.toml",
        "tasks/rectification-list.xlsx",
        "holidays/2025.json",
        "holidays/2026.json",
    ] {
        copy(&config.join(f), &dir.join("config").join(f));
    }
    dir.join("config/weekbell.toml")
}

/// A fixture copied into `dir`, with a small config for it.
fn fixture_config(dir: &Path, fixture: &str) -> PathBuf {
    copy(
        &repo().join("tests/fixtures").join(fixture),
        &dir.join(fixture),
    );
    config_for(dir, fixture)
}

/// A small config in `dir` for the task list `file` beside it.
fn config_for(dir: &Path, file: &str) -> PathBuf {
    let holidays = repo().join("config/holidays");
    let body = format!(
        r#"timezone = "Asia/Shanghai"
[store]
url = "sqlite://data/weekbell.db"
[tasks]
source = "{file}"
[calendar]
holidays = ["{h}/2025.json", "{h}/2026.json"]
[channels.county]
platform = "console"
[[schedules]]
name = "monday-reminders"
cron = "0 9 * * MON"
kind = "reminders"
channels = ["county"]
"#,
        h = holidays.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("write config: {e}"));
    path
}

fn event(
    id: &str,
    task: &str,
    at: &str,
    actor: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> NewEvent {
    let at_ms = DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|e| panic!("{at}: {e}"))
        .timestamp_millis();
    NewEvent {
        id: id.into(),
        dedupe_key: None,
        task_id: task.into(),
        at_ms,
        actor: actor.into(),
        source: "chat".into(),
        channel: Some("county".into()),
        field: field.into(),
        old_value: old.map(String::from),
        new_value: new.map(String::from),
    }
}

/// Saves a workbook a test built as `dir/ledger.xlsx`, and a config for it.
fn ledger(dir: &Path, wb: &mut rust_xlsxwriter::Workbook) -> PathBuf {
    let bytes = wb
        .save_to_buffer()
        .unwrap_or_else(|e| panic!("save sheet: {e}"));
    std::fs::write(dir.join("ledger.xlsx"), bytes).unwrap_or_else(|e| panic!("write sheet: {e}"));
    config_for(dir, "ledger.xlsx")
}

/// `weekbell export -o out.xlsx` with the config beside the list in `dir`, which must succeed;
/// the exported file.
fn export_ok(dir: &Path) -> PathBuf {
    let o = weekbell(
        dir,
        &["--config", "weekbell.toml", "export", "-o", "out.xlsx"],
    );
    assert_exit(&o, 0);
    dir.join("out.xlsx")
}

/// Sun Qiang sets `field` of task `task` to `value` in the chat.
fn change(task: &str, field: &str, value: &str) -> NewEvent {
    event(
        "a",
        task,
        "2026-11-30T09:00:00+08:00",
        "sun.qiang",
        field,
        None,
        Some(value),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn store_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("data/weekbell.db").display())
}

fn record(dir: &Path, events: &[NewEvent]) {
    runtime().block_on(async {
        let store = Store::open(&store_url(dir))
            .await
            .unwrap_or_else(|e| panic!("open store: {e}"));
        for e in events {
            assert!(
                store
                    .append_event(e)
                    .await
                    .unwrap_or_else(|e| panic!("append: {e}"))
            );
        }
        store.close().await;
    });
}

fn load_config(path: &Path) -> (Config, Directory) {
    let config = config::load(path).unwrap_or_else(|e| panic!("config: {e}"));
    let people = Directory::new(config.people.clone());
    (config, people)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The list as the digest sees it: the file with the store's events applied.
fn merged(config_path: &Path, dir: &Path) -> Vec<Task> {
    let (config, people) = load_config(config_path);
    let mut list = tasks::load(&config.lists[0].tasks, &people, today())
        .unwrap_or_else(|e| panic!("load: {e}"))
        .tasks;
    let events = runtime().block_on(async {
        let store = Store::open(&store_url(dir))
            .await
            .unwrap_or_else(|e| panic!("open store: {e}"));
        let events = store.events(None, None).await;
        store.close().await;
        events.unwrap_or_else(|e| panic!("events: {e}"))
    });
    tasks::apply_events_with(
        &mut list,
        &events,
        &MergeOptions {
            zone: config.timezone,
            people: Some(&people),
        },
    );
    list
}

/// Loads an exported file with the importer and the same config.
fn reimport(config_path: &Path, file: &Path) -> Vec<Task> {
    let (config, people) = load_config(config_path);
    tasks::load_bytes(file, &read(file), &config.lists[0].tasks, &people, today())
        .unwrap_or_else(|e| panic!("re-import {}: {e}", file.display()))
        .tasks
}

/// The office can load `exported` as its list and get exactly the merged tasks.
fn loads_back_as_merged(config: &Path, dir: &Path, exported: &Path) {
    assert_eq!(
        keys(&reimport(config, exported)),
        keys(&merged(config, dir)),
        "{}",
        exported.display()
    );
}

/// Everything about a task except where it came from.
type Key = (
    String,
    String,
    String,
    Option<String>,
    Vec<String>,
    Option<NaiveDate>,
    Status,
    Option<u8>,
    String,
    String,
    Option<String>,
);

fn keys(tasks: &[Task]) -> Vec<Key> {
    tasks
        .iter()
        .map(|t| {
            (
                t.id.clone(),
                t.title.clone(),
                t.unit.clone(),
                t.leader.as_ref().map(|l| l.name.clone()),
                t.owners.iter().map(|o| o.name.clone()).collect(),
                t.due,
                t.status,
                t.progress,
                t.notes.clone(),
                t.category.clone(),
                t.channel.clone(),
            )
        })
        .collect()
}

/// A sheet's cells by absolute (row, column), as comparable text.
fn cells(path: &Path, sheet: &str) -> BTreeMap<(u32, u32), String> {
    let mut wb = calamine::open_workbook_auto(path).unwrap_or_else(|e| panic!("open: {e}"));
    let range = wb
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet}: {e}"));
    let (r0, c0) = range.start().unwrap_or((0, 0));
    range
        .used_cells()
        .filter(|(_, _, d)| !matches!(d, Data::Empty))
        .map(|(r, c, d)| ((r0 + r as u32, c0 + c as u32), show(d)))
        .collect()
}

fn show(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Bool(b) => format!("{b}"),
        Data::DateTime(dt) => format!("date:{}", dt.as_f64()),
        other => format!("{other:?}"),
    }
}

fn sheet_names(path: &Path) -> Vec<String> {
    calamine::open_workbook_auto(path)
        .unwrap_or_else(|e| panic!("open: {e}"))
        .sheet_names()
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(
            bytes
                .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                .unwrap_or(bytes),
        )
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("csv: {e}"))
                .iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Task 4 done, a progress for task 6 (the list has no progress column), a note on task 1, a
/// unit's weekly report and a change to a task that is not in the list.
fn county_events() -> Vec<NewEvent> {
    let mut progress = event(
        "e2",
        "6",
        "2026-11-30T09:30:00+08:00",
        "he.jing",
        "progress",
        None,
        Some("60"),
    );
    progress.source = "cli".into();
    progress.channel = None;
    vec![
        event(
            "e1",
            "4",
            "2026-11-30T09:00:00+08:00",
            "zheng.jie",
            "status",
            Some("in_progress"),
            Some("done"),
        ),
        progress,
        event(
            "e3",
            "1",
            "2026-11-30T10:00:00+08:00",
            "sun.qiang",
            "note",
            None,
            Some("已完成 70 家"),
        ),
        event(
            "e4",
            "县城管局",
            "2026-11-30T11:00:00+08:00",
            "sun.qiang",
            "report",
            None,
            Some("本周完成 8 家"),
        ),
        event(
            "e5",
            "99",
            "2026-11-30T12:00:00+08:00",
            "sun.qiang",
            "status",
            None,
            Some("done"),
        ),
    ]
}

/// The shipped list is an xlsx, so its xlsx export is a copy of it: the history goes to a CSV
/// file beside it, and the progress the list has no column for gets one because it is asked
/// for (without `--add-columns` it is only named, see
/// `without_add_columns_no_column_is_added_and_the_output_names_the_values`).
#[test]
fn xlsx_export_changes_only_the_updated_cells_and_writes_the_history_beside_it() {
    let dir = tempdir();
    let config = shipped(dir.path());
    record(dir.path(), &county_events());
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "--format",
            "xlsx",
            "-o",
            "out.xlsx",
            "--add-columns",
        ],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("18 tasks, 3 cells changed"), "{out}");
    assert!(out.contains("added column 进度"), "{out}");
    assert!(out.contains("5 events"), "{out}");
    assert!(out.contains("history in out-历史.csv"), "{out}");

    let exported = dir.path().join("out.xlsx");
    let source = dir.path().join("config/tasks/rectification-list.xlsx");
    assert_eq!(sheet_names(&exported), sheet_names(&source));

    let before = cells(&source, "问题清单");
    let after = cells(&exported, "问题清单");
    let mut expected = before.clone();
    // Task 4 is row 6, its status in column H; task 1's notes are I3; task 6 is row 8, and its
    // progress goes into a new column J headed in row 2, as text (the copy adds no style).
    expected.insert((5, 7), "已完成".into());
    expected.insert(
        (2, 8),
        "已完成 62 家，剩余 18 家\n[2026-11-30 孙强] 已完成 70 家".into(),
    );
    expected.insert((1, 9), "进度".into());
    expected.insert((7, 9), "60%".into());
    assert_eq!(after, expected);

    let history = csv_rows(&read(&dir.path().join("out-历史.csv")));
    assert_eq!(history[0][0], "时间（Asia/Shanghai）");
    assert_eq!(
        history[1],
        [
            "2026-11-30 09:00:00",
            "4",
            "状态",
            "整改中",
            "已完成",
            "郑洁",
            "群聊",
            "county"
        ]
    );
    assert_eq!(
        history[2][1..],
        ["6", "进度", "", "60%", "何静", "命令行", ""]
    );
    assert_eq!(
        history[3][1..],
        ["1", "备注", "", "已完成 70 家", "孙强", "群聊", "county"]
    );
    assert_eq!(
        history[4][1..3],
        ["县城管局".to_string(), "周报".to_string()]
    );
    assert_eq!(history[5][1], "99");
    assert_eq!(history.len(), 6);

    // The office can load the export as its list and get exactly the merged tasks.
    loads_back_as_merged(&config, dir.path(), &exported);
}

/// A list that is not an xlsx is rebuilt as before: the list, then the history sheet.
#[test]
fn a_rebuilt_xlsx_export_has_the_history_sheet() {
    let dir = tempdir();
    let config = fixture_config(dir.path(), "rectification-list.xls");
    record(dir.path(), &county_events());
    let o = weekbell(
        dir.path(),
        &["--config", "weekbell.toml", "export", "-o", "out.xlsx"],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("added column 进度"), "{out}");
    assert!(out.contains("history on sheet 历史"), "{out}");
    let exported = dir.path().join("out.xlsx");
    let names = sheet_names(&exported);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "历史");
    let history = cells(&exported, "历史");
    assert_eq!(
        history.get(&(0, 0)).map(String::as_str),
        Some("时间（Asia/Shanghai）")
    );
    // 09:00 in Shanghai, as an Excel date-time.
    let mut wb = calamine::open_workbook_auto(&exported).unwrap_or_else(|e| panic!("{e}"));
    let range = wb.worksheet_range("历史").unwrap_or_else(|e| panic!("{e}"));
    let at = match range.get_value((1, 0)) {
        Some(Data::DateTime(dt)) => dt.as_datetime(),
        other => panic!("time cell is {other:?}"),
    };
    assert_eq!(
        at,
        NaiveDateTime::parse_from_str("2026-11-30 09:00:00", "%Y-%m-%d %H:%M:%S").ok()
    );
    loads_back_as_merged(&config, dir.path(), &exported);
}

#[test]
fn csv_export_has_a_bom_and_loads_back_as_the_merged_list() {
    let dir = tempdir();
    let config = shipped(dir.path());
    record(dir.path(), &county_events());
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "out.csv",
            "--history",
            "history.csv",
        ],
    );
    assert_exit(&o, 0);
    let exported = dir.path().join("out.csv");
    let bytes = read(&exported);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no byte-order mark");

    let rows = csv_rows(&bytes);
    let source = cells(
        &dir.path().join("config/tasks/rectification-list.xlsx"),
        "问题清单",
    );
    assert_eq!(rows.len(), 20, "the title row, the header row and 18 tasks");
    assert_eq!(
        rows[1],
        [
            "序号",
            "问题类别",
            "问题描述",
            "责任单位",
            "包保领导",
            "责任人",
            "整改时限",
            "整改进展",
            "备注",
            "进度"
        ]
    );
    assert!(
        rows[0][0].starts_with("辽阳县生态环境突出问题"),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[5][7], "已完成");
    assert_eq!(rows[7][9], "60%");
    assert!(
        rows[2][8].ends_with("[2026-11-30 孙强] 已完成 70 家"),
        "{:?}",
        rows[2]
    );
    // Untouched text cells are as in the sheet.
    for ((r, c), text) in &source {
        if text.starts_with("date:") || (*r, *c) == (5, 7) || (*r, *c) == (2, 8) {
            continue;
        }
        assert_eq!(&rows[*r as usize][*c as usize], text, "cell ({r}, {c})");
    }
    assert_eq!(rows[2][6], "2026-12-31", "Excel dates are written as dates");

    loads_back_as_merged(&config, dir.path(), &exported);

    let history = csv_rows(&read(&dir.path().join("history.csv")));
    assert_eq!(history.len(), 6);
    assert_eq!(history[1][0], "2026-11-30 09:00:00");
    assert_eq!(
        history[1][3..5],
        ["整改中".to_string(), "已完成".to_string()]
    );
}

/// Every format the importer reads can be exported, and the export loads back as the merged
/// list; a Chinese list gets Chinese words, an English one English words.
#[test]
fn every_source_format_exports_and_loads_back() {
    for (fixture, id, done_word) in [
        ("rectification-list.csv", "4", "已完成"),
        ("rectification-list-gbk.csv", "4", "已完成"),
        ("rectification-list.xls", "4", "已完成"),
        ("rectification-list.ods", "4", "已完成"),
        ("team-tasks.csv", "API-101", "done"),
        ("team-tasks.tsv", "API-101", "done"),
        ("team-tasks.toml", "API-101", "done"),
        ("team-tasks.json", "API-101", "done"),
    ] {
        let dir = tempdir();
        let config = fixture_config(dir.path(), fixture);
        record(
            dir.path(),
            &[
                event(
                    "a",
                    id,
                    "2026-11-30T09:00:00+08:00",
                    "sun.qiang",
                    "status",
                    None,
                    Some("done"),
                ),
                event(
                    "b",
                    id,
                    "2026-11-30T09:01:00+08:00",
                    "sun.qiang",
                    "progress",
                    None,
                    Some("60"),
                ),
                event(
                    "c",
                    id,
                    "2026-11-30T09:02:00+08:00",
                    "sun.qiang",
                    "note",
                    None,
                    Some("checked"),
                ),
            ],
        );
        let expected = keys(&merged(&config, dir.path()));
        for out in ["out.csv", "out.xlsx"] {
            let o = weekbell(
                dir.path(),
                &["--config", "weekbell.toml", "export", "-o", out],
            );
            assert_exit(&o, 0);
            let exported = dir.path().join(out);
            assert_eq!(
                keys(&reimport(&config, &exported)),
                expected,
                "{fixture} → {out}"
            );
        }
        let rows = csv_rows(&read(&dir.path().join("out.csv")));
        let row = rows
            .iter()
            .find(|r| r.first().is_some_and(|c| c == id))
            .unwrap_or_else(|| panic!("{fixture}: no row for {id}: {rows:?}"));
        assert!(row.iter().any(|c| c == done_word), "{fixture}: {row:?}");
        assert!(row.iter().any(|c| c == "60%"), "{fixture}: {row:?}");
    }
}

/// A sheet as offices make them: a merged title, a unit merged over its rows, dates in the
/// office's own format and a percent-formatted progress column.
#[test]
fn merged_cells_and_formats_survive_the_export() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempdir();
    let mut wb = Workbook::new();
    let built = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name("台账")?;
        let date = Format::new().set_num_format("yyyy年m月d日");
        let pct = Format::new().set_num_format("0%");
        ws.merge_range(0, 0, 0, 5, "2026年第四季度整改台账", &Format::new())?;
        for (c, h) in [
            "序号",
            "问题描述",
            "责任单位",
            "责任人",
            "整改时限",
            "完成进度",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(1, c as u16, *h)?;
        }
        ws.merge_range(2, 2, 4, 2, "县城管局", &Format::new())?;
        for (i, title) in ["油烟治理", "渣土清运", "占道经营"].iter().enumerate() {
            let r = 2 + i as u32;
            ws.write_number(r, 0, (i + 1) as f64)?;
            ws.write_string(r, 1, *title)?;
            ws.write_string(r, 3, "孙强")?;
            ws.write_datetime_with_format(r, 4, ExcelDateTime::from_ymd(2026, 12, 31)?, &date)?;
            ws.write_number_with_format(r, 5, 0.5, &pct)?;
        }
        Ok(())
    })();
    built.unwrap_or_else(|e| panic!("build sheet: {e}"));
    let config = ledger(dir.path(), &mut wb);
    record(dir.path(), &[change("2", "progress", "80")]);
    let exported = export_ok(dir.path());
    let mut after = calamine::open_workbook_auto(&exported).unwrap_or_else(|e| panic!("{e}"));
    let range = after
        .worksheet_range("台账")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(range.get_value((3, 5)), Some(&Data::Float(0.8)));
    assert_eq!(range.get_value((2, 5)), Some(&Data::Float(0.5)));
    assert!(matches!(range.get_value((2, 4)), Some(Data::DateTime(_))));
    if let calamine::Sheets::Xlsx(x) = &mut after {
        let merges = x
            .merge_cells_by_sheet_name("台账")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(merges.len(), 2, "title and unit stay merged: {merges:?}");
    }
    loads_back_as_merged(&config, dir.path(), &exported);

    let o = weekbell(
        dir.path(),
        &["--config", "weekbell.toml", "export", "-o", "out.csv"],
    );
    assert_exit(&o, 0);
    let rows = csv_rows(&read(&dir.path().join("out.csv")));
    let units: Vec<&str> = rows[2..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(units, ["县城管局"; 3], "a CSV repeats merged values");
    assert_eq!(rows[2][5], "50%");
    assert_eq!(rows[3][5], "80%");
    assert_eq!(rows[2][4], "2026-12-31");
}

#[test]
fn the_task_list_itself_is_refused_with_exit_2() {
    let dir = tempdir();
    shipped(dir.path());
    let source = dir.path().join("config/tasks/rectification-list.xlsx");
    let original = read(&source);
    for target in [
        "config/tasks/rectification-list.xlsx",
        "config/../config/tasks/rectification-list.xlsx",
    ] {
        let o = weekbell(
            dir.path(),
            &["--config", "config/weekbell.toml", "export", "-o", target],
        );
        assert_exit(&o, 2);
        assert!(stderr(&o).contains("task list itself"), "{}", stderr(&o));
    }
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "x.csv",
            "--history",
            "config/tasks/rectification-list.xlsx",
        ],
    );
    assert_exit(&o, 2);
    assert_eq!(read(&source), original);
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "out.txt",
        ],
    );
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--format"), "{}", stderr(&o));
}

#[test]
fn an_unwritable_target_exits_1_naming_it_and_leaves_nothing_behind() {
    let dir = tempdir();
    shipped(dir.path());
    // A path through a regular file cannot be created, even by root.
    std::fs::write(dir.path().join("plain"), "x").unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "plain/out.xlsx",
        ],
    );
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("plain/out.xlsx"), "{}", stderr(&o));

    // A directory in the way: the temporary file is written, the rename fails, and the
    // temporary file is removed again.
    let blocked = dir.path().join("out.xlsx");
    std::fs::create_dir_all(blocked.join("inside")).unwrap_or_else(|e| panic!("{e}"));
    let before: Vec<_> = listing(dir.path());
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "out.xlsx",
        ],
    );
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("out.xlsx"), "{}", stderr(&o));
    assert_eq!(listing(dir.path()), before);
    assert!(blocked.join("inside").is_dir());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn without_a_database_nothing_changes_and_none_is_created() {
    let dir = tempdir();
    shipped(dir.path());
    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "config/weekbell.toml",
            "export",
            "-o",
            "out.xlsx",
        ],
    );
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("0 cells changed, 0 events"),
        "{}",
        stdout(&o)
    );
    assert!(
        !dir.path().join("data").exists(),
        "export created a database"
    );
    let source = cells(
        &dir.path().join("config/tasks/rectification-list.xlsx"),
        "问题清单",
    );
    assert_eq!(cells(&dir.path().join("out.xlsx"), "问题清单"), source);
}

#[test]
fn help_has_an_example() {
    let o = weekbell(&repo(), &["export", "--help"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("weekbell export -o merged.xlsx"),
        "{}",
        stdout(&o)
    );
}

/// Every entry of an xlsx (a zip) by name, inflated, in the archive's order.
fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let bytes = read(path);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.as_slice()))
        .unwrap_or_else(|e| panic!("zip {}: {e}", path.display()));
    (0..archive.len())
        .map(|i| {
            let mut entry = archive
                .by_index(i)
                .unwrap_or_else(|e| panic!("entry {i}: {e}"));
            let name = entry
                .name()
                .unwrap_or_else(|e| panic!("name: {e}"))
                .into_owned();
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .unwrap_or_else(|e| panic!("inflate {name}: {e}"));
            (name, data)
        })
        .collect()
}

/// A cell of the sheet XML as written: its style index, type and value (the text of `<v>`, or
/// of an inline string's `<t>`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct XmlCell {
    style: Option<String>,
    kind: Option<String>,
    value: String,
}

fn xml_cells(xml: &[u8]) -> BTreeMap<String, XmlCell> {
    use quick_xml::events::Event;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| a.value.to_string())
    };
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut cells = BTreeMap::new();
    let mut current: Option<(String, XmlCell)> = None;
    let mut in_value = false;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("sheet XML: {e}"))
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "c" => {
                if let Some((at, cell)) = current.take() {
                    cells.insert(at, cell);
                }
                current = Some((
                    attr(&e, "r").unwrap_or_else(|| panic!("a cell without r")),
                    XmlCell {
                        style: attr(&e, "s"),
                        kind: attr(&e, "t"),
                        value: String::new(),
                    },
                ));
            }
            Event::Start(e) if matches!(e.local_name().as_ref(), "v" | "t") => in_value = true,
            Event::End(e) if matches!(e.local_name().as_ref(), "v" | "t") => in_value = false,
            Event::Text(t) if in_value => {
                if let Some((_, cell)) = current.as_mut() {
                    cell.value.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if in_value => {
                if let Some((_, cell)) = current.as_mut() {
                    cell.value.push_str(match &*r {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        _ => "'",
                    });
                }
            }
            Event::End(e) if e.local_name().as_ref() == "c" => {
                if let Some((at, cell)) = current.take() {
                    cells.insert(at, cell);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    cells
}

/// A list as an office formats it: a bold, large title merged over the columns, wrapped
/// descriptions, its own column widths, a shaded header, a second sheet and a print setup.
/// Columns: 序号, 问题描述, 责任单位, 整改时限, 整改进展 (status), 备注 (notes); no progress.
/// Saved as `dir/ledger.xlsx`, with a config for it.
fn formatted_source(dir: &Path) -> PathBuf {
    use rust_xlsxwriter::{Color, ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let built = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
        let title = Format::new().set_bold().set_font_size(18);
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDDEBF7));
        let wrap = Format::new().set_text_wrap();
        let date = Format::new().set_num_format("yyyy年m月d日");
        let ws = wb.add_worksheet();
        ws.set_name("台账")?;
        ws.merge_range(0, 0, 0, 5, "2026年第四季度整改台账", &title)?;
        ws.set_row_height(0, 30)?;
        for (c, h) in [
            "序号",
            "问题描述",
            "责任单位",
            "整改时限",
            "整改进展",
            "备注",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(1, c as u16, *h, &header)?;
        }
        for (c, w) in [6.0, 40.0, 16.0, 14.0, 12.0, 30.0].iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        for (i, title) in ["油烟治理\n（城区）", "渣土清运", "占道经营"]
            .iter()
            .enumerate()
        {
            let r = 2 + i as u32;
            ws.write_number(r, 0, (i + 1) as f64)?;
            ws.write_string_with_format(r, 1, *title, &wrap)?;
            ws.write_string(r, 2, "县城管局")?;
            ws.write_datetime_with_format(r, 3, ExcelDateTime::from_ymd(2026, 12, 31)?, &date)?;
            ws.write_string_with_format(r, 4, "整改中", &wrap)?;
        }
        ws.write_string_with_format(2, 5, "已完成一半", &wrap)?;
        ws.set_landscape();
        ws.set_paper_size(9);
        ws.set_repeat_rows(0, 1)?;
        ws.set_freeze_panes(2, 0)?;
        let other = wb.add_worksheet();
        other.set_name("说明")?;
        other.write_string_with_format(
            0,
            0,
            "填表说明：每周五前更新",
            &Format::new().set_italic(),
        )?;
        Ok(())
    })();
    built.unwrap_or_else(|e| panic!("build sheet: {e}"));
    ledger(dir, &mut wb)
}

#[test]
fn an_xlsx_export_is_the_source_workbook_with_only_the_changed_cells_rewritten() {
    let dir = tempdir();
    let config = formatted_source(dir.path());
    record(
        dir.path(),
        &[
            event(
                "a",
                "2",
                "2026-11-30T09:00:00+08:00",
                "sun.qiang",
                "status",
                Some("in_progress"),
                Some("done"),
            ),
            event(
                "b",
                "3",
                "2026-11-30T09:05:00+08:00",
                "sun.qiang",
                "note",
                None,
                Some("已约谈 <摊主> & 商户"),
            ),
        ],
    );
    let o = weekbell(
        dir.path(),
        &["--config", "weekbell.toml", "export", "-o", "out.xlsx"],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("3 tasks, 2 cells changed"), "{out}");
    assert!(!out.contains("added column"), "{out}");
    assert!(out.contains("history in out-历史.csv"), "{out}");

    let source = zip_entries(&dir.path().join("ledger.xlsx"));
    let exported = zip_entries(&dir.path().join("out.xlsx"));
    let names = |e: &[(String, Vec<u8>)]| e.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&exported), names(&source), "same parts, same order");
    let differing: Vec<&str> = source
        .iter()
        .zip(&exported)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0.as_str())
        .collect();
    assert_eq!(
        differing,
        ["xl/worksheets/sheet1.xml"],
        "styles, shared strings, the workbook, the other sheet: all byte-identical"
    );

    let sheet = |entries: &[(String, Vec<u8>)]| {
        entries
            .iter()
            .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no sheet1.xml"))
    };
    let (before_xml, after_xml) = (sheet(&source), sheet(&exported));
    let before = xml_cells(&before_xml);
    let after = xml_cells(&after_xml);
    // Task 2 is row 4, its status in E; task 3's notes are F5, a cell the source never wrote.
    let mut expected = before.clone();
    let e4 = expected
        .get_mut("E4")
        .unwrap_or_else(|| panic!("E4 missing in the source"));
    e4.kind = Some("inlineStr".into());
    e4.value = "已完成".into();
    let f4_style = before.get("F4").and_then(|c| c.style.clone());
    expected.insert(
        "F5".into(),
        XmlCell {
            // A new cell is styled like its left neighbour (E5, wrapped).
            style: before.get("E5").and_then(|c| c.style.clone()),
            kind: Some("inlineStr".into()),
            value: "[2026-11-30 sun.qiang] 已约谈 <摊主> & 商户".into(),
        },
    );
    assert_eq!(after, expected, "only E4 and F5 differ, styles kept");
    assert_eq!(
        f4_style, None,
        "the source has no F4, so nothing to compare"
    );
    // Outside the cells the XML is the source's: widths, merges, print setup, panes.
    let strip = |xml: &[u8]| {
        let text = String::from_utf8_lossy(xml).into_owned();
        let start = text.find("<sheetData").unwrap_or(0);
        let end = text.find("</sheetData>").unwrap_or(text.len());
        format!("{}{}", &text[..start], &text[end..])
    };
    assert_eq!(strip(&after_xml), strip(&before_xml));

    assert_eq!(sheet_names(&dir.path().join("out.xlsx")), ["台账", "说明"]);
    let reimported = reimport(&config, &dir.path().join("out.xlsx"));
    assert_eq!(keys(&reimported), keys(&merged(&config, dir.path())));
    assert_eq!(reimported[1].status, Status::Done);
    let history = csv_rows(&read(&dir.path().join("out-历史.csv")));
    assert_eq!(history.len(), 3, "a header and two events: {history:?}");
}

#[test]
fn without_add_columns_no_column_is_added_and_the_output_names_the_values() {
    let dir = tempdir();
    let config = formatted_source(dir.path());
    record(dir.path(), &[change("2", "progress", "60")]);
    let o = weekbell(
        dir.path(),
        &["--config", "weekbell.toml", "export", "-o", "out.xlsx"],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("0 cells changed"), "{out}");
    assert!(out.contains("进度 of task 2: 60%"), "{out}");
    assert!(out.contains("--add-columns"), "{out}");
    let source = dir.path().join("ledger.xlsx");
    assert_eq!(
        zip_entries(&dir.path().join("out.xlsx")),
        zip_entries(&source)
    );

    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "weekbell.toml",
            "export",
            "-o",
            "out.xlsx",
            "--add-columns",
        ],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("1 cells changed (added column 进度)"), "{out}");
    assert!(!out.contains("not written"), "{out}");
    let mut expected = cells(&source, "台账");
    expected.insert((1, 6), "进度".into());
    expected.insert((3, 6), "60%".into());
    assert_eq!(cells(&dir.path().join("out.xlsx"), "台账"), expected);
    let reimported = reimport(&config, &dir.path().join("out.xlsx"));
    assert_eq!(reimported[1].progress, Some(60));
    assert_eq!(keys(&reimported), keys(&merged(&config, dir.path())));
}

/// A status merged down over three tasks: changing one splits the range, the other two keep
/// the value they read as, and only that range leaves `<mergeCells>`.
#[test]
fn a_change_inside_a_merged_range_splits_only_that_range_in_the_copy() {
    use rust_xlsxwriter::{Format, Workbook};
    let dir = tempdir();
    let mut wb = Workbook::new();
    let built = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name("台账")?;
        ws.merge_range(0, 0, 0, 3, "整改台账", &Format::new().set_bold())?;
        for (c, h) in ["序号", "问题描述", "责任单位", "整改进展"]
            .iter()
            .enumerate()
        {
            ws.write_string(1, c as u16, *h)?;
        }
        for (i, title) in ["油烟治理", "渣土清运", "占道经营"].iter().enumerate() {
            let r = 2 + i as u32;
            ws.write_number(r, 0, (i + 1) as f64)?;
            ws.write_string(r, 1, *title)?;
            ws.write_string(r, 2, "县城管局")?;
        }
        ws.merge_range(2, 3, 4, 3, "整改中", &Format::new().set_text_wrap())?;
        Ok(())
    })();
    built.unwrap_or_else(|e| panic!("build sheet: {e}"));
    let config = ledger(dir.path(), &mut wb);
    record(dir.path(), &[change("2", "status", "done")]);
    let exported = export_ok(dir.path());
    let after = cells(&exported, "台账");
    let status: Vec<Option<&str>> = (2..5)
        .map(|r| after.get(&(r, 3)).map(String::as_str))
        .collect();
    assert_eq!(status, [Some("整改中"), Some("已完成"), Some("整改中")]);
    let mut book = calamine::open_workbook_auto(&exported).unwrap_or_else(|e| panic!("{e}"));
    if let calamine::Sheets::Xlsx(x) = &mut book {
        let merges = x
            .merge_cells_by_sheet_name("台账")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(merges.len(), 1, "the title stays merged: {merges:?}");
    }
    let reimported = reimport(&config, &exported);
    assert_eq!(
        reimported.iter().map(|t| t.status).collect::<Vec<_>>(),
        [Status::InProgress, Status::Done, Status::InProgress]
    );
    assert_eq!(keys(&reimported), keys(&merged(&config, dir.path())));
}

/// The copy keeps the source's content types, so it keeps its extension; `--history` names the
/// history file instead of the one beside the output.
#[test]
fn the_copy_keeps_the_sources_extension_and_history_goes_where_asked() {
    let dir = tempdir();
    formatted_source(dir.path());
    record(dir.path(), &[change("2", "status", "done")]);
    let o = weekbell(
        dir.path(),
        &["--config", "weekbell.toml", "export", "-o", "out.xlsm"],
    );
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("name it out.xlsx"), "{}", stderr(&o));
    assert!(!dir.path().join("out.xlsm").exists());

    let o = weekbell(
        dir.path(),
        &[
            "--config",
            "weekbell.toml",
            "export",
            "-o",
            "out.xlsx",
            "--history",
            "events.csv",
        ],
    );
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("history in events.csv"),
        "{}",
        stdout(&o)
    );
    assert!(dir.path().join("events.csv").exists());
    assert!(!dir.path().join("out-历史.csv").exists());
}

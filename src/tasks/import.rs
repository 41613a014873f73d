//! Entry points: pick the reader by file extension and run the shared row pipeline.

use super::columns::HeaderSpec;
use super::delimited::ReadError;
use super::error::TaskError;
use super::model::TaskList;
use super::rows::{Context, SheetImport};
use super::status::StatusMap;
use super::workbook::Kind;
use super::{delimited, records, text, workbook};
use crate::config::TasksConfig;
use crate::people::Directory;
use chrono::NaiveDate;
use encoding_rs::Encoding;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Workbook(Kind),
    Delimited(u8),
    Toml,
    Json,
}

fn format_of(path: &Path) -> Result<Format, TaskError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(match ext.as_str() {
        "xlsx" | "xlsm" => Format::Workbook(Kind::Xlsx),
        "xlsb" => Format::Workbook(Kind::Xlsb),
        "xls" => Format::Workbook(Kind::Xls),
        "ods" => Format::Workbook(Kind::Ods),
        "csv" => Format::Delimited(b','),
        "tsv" => Format::Delimited(b'\t'),
        "toml" => Format::Toml,
        "json" => Format::Json,
        _ => {
            return Err(TaskError::UnsupportedFormat {
                path: path.to_path_buf(),
                ext,
            });
        }
    })
}

/// Reads the task list at `cfg.source`.
///
/// The whole list loads or nothing does: every bad row is collected into
/// [`TaskError::BadRows`], and unknown owners or leaders and unreadable deadlines become
/// [`TaskList::warnings`].
///
/// Deadlines written without a year (`12月底前`) take the year of the date in the list's title
/// rows (`更新日期：2026年12月4日`), or else of the file's modification date; `today` is used only
/// when the file system keeps no such date.
///
/// Columns are found by header text (see the module docs); a list without an id
/// column, or a row with an empty id cell, uses the spreadsheet row number as the task id.
pub fn load(
    cfg: &TasksConfig,
    people: &Directory,
    today: NaiveDate,
) -> Result<TaskList, TaskError> {
    let path = cfg.source.as_path();
    // Checked before reading so that a misnamed file fails with the useful message.
    format_of(path)?;
    let bytes = std::fs::read(path).map_err(|source| TaskError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let list_date = modified_date(path).unwrap_or(today);
    load_bytes(path, &bytes, cfg, people, list_date)
}

/// The day (UTC, like the `today` the commands pass) the file at `path` was last saved. A list
/// without a date in its title is taken to be as of then, which does not move with the clock
/// as long as nobody saves the file.
pub fn modified_date(path: &Path) -> Option<NaiveDate> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(chrono::DateTime::<chrono::Utc>::from(modified).date_naive())
}

/// Like [`load`], for content already in memory. `name` picks the format by its extension and
/// names the file in messages and in CSV/TOML/JSON row references; `cfg.source` is not read.
/// `list_date` stands in for the file's modification date.
pub fn load_bytes(
    name: impl AsRef<Path>,
    bytes: &[u8],
    cfg: &TasksConfig,
    people: &Directory,
    list_date: NaiveDate,
) -> Result<TaskList, TaskError> {
    load_with(
        name.as_ref(),
        bytes,
        cfg,
        people,
        list_date,
        HeaderSpec::new(&cfg.columns),
    )
}

/// [`load_bytes`] with the headers to look for: a task list's, or an address book's.
pub(super) fn load_with(
    path: &Path,
    bytes: &[u8],
    cfg: &TasksConfig,
    people: &Directory,
    list_date: NaiveDate,
    headers: HeaderSpec,
) -> Result<TaskList, TaskError> {
    let format = format_of(path)?;
    let ctx = Context {
        path,
        people,
        list_date,
        date_order: cfg.date_order,
        locale: cfg.locale,
        statuses: StatusMap::new(&cfg.status_values),
        headers,
    };
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let encoding_error = |message: String| TaskError::Encoding {
        path: path.to_path_buf(),
        message,
    };
    match format {
        Format::Workbook(kind) => workbook::read(
            &ctx,
            kind,
            bytes,
            cfg.sheet.as_deref(),
            cfg.max_unpacked_size,
        ),
        Format::Delimited(delimiter) => {
            let forced = cfg.encoding.as_deref();
            // Plain UTF-8, the common case, is validated while parsing instead of in a
            // separate pass; a GBK file fails at its first Chinese field and is decoded below.
            if forced.is_none() && Encoding::for_bom(bytes).is_none() {
                let mut import = SheetImport::new(&ctx, file_name.clone());
                match delimited::read(bytes, delimiter, &mut import) {
                    Ok(()) => return import.finish(),
                    Err(ReadError::Task(e)) => return Err(e),
                    Err(ReadError::NotUtf8) => {}
                }
            }
            let text = text::decode(bytes, forced).map_err(encoding_error)?;
            let mut import = SheetImport::new(&ctx, file_name);
            match delimited::read(text.as_bytes(), delimiter, &mut import) {
                Ok(()) => import.finish(),
                Err(ReadError::Task(e)) => Err(e),
                // Decoded text is UTF-8 by construction.
                Err(ReadError::NotUtf8) => Err(encoding_error(
                    "the decoded text is not valid UTF-8".to_string(),
                )),
            }
        }
        // TOML is UTF-8 by definition, and JSON files are in practice; `encoding` is a CSV
        // setting.
        Format::Toml => {
            let text = text::decode(bytes, Some("utf-8")).map_err(encoding_error)?;
            records::read_toml(&ctx, file_name, &text)
        }
        Format::Json => {
            let text = text::decode(bytes, Some("utf-8")).map_err(encoding_error)?;
            records::read_json(&ctx, file_name, &text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Person;
    use crate::tasks::Status;
    use std::collections::BTreeMap;

    fn cfg() -> TasksConfig {
        TasksConfig::sample("unused.csv")
    }

    fn people() -> Directory {
        Directory::new(vec![Person {
            id: "sun.qiang".into(),
            name: "孙强".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: BTreeMap::new(),
            admin: false,
        }])
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
    }

    fn load_str(name: &str, text: &str) -> Result<TaskList, TaskError> {
        load_bytes(name, text.as_bytes(), &cfg(), &people(), today())
    }

    #[test]
    fn a_workbook_unpacking_past_max_unpacked_size_is_refused_by_its_declared_sizes() {
        let shipped = include_bytes!("../../tests/fixtures/rectification-list.xlsx");
        let ods = include_bytes!("../../tests/fixtures/rectification-list.ods");
        for (name, bytes) in [("list.xlsx", &shipped[..]), ("list.ods", &ods[..])] {
            let limited = TasksConfig {
                max_unpacked_size: 4_096,
                ..cfg()
            };
            match load_bytes(name, bytes, &limited, &people(), today()) {
                Err(TaskError::UnpacksTooLarge {
                    unpacked, limit, ..
                }) => assert!(unpacked > limit, "{unpacked} {limit}"),
                other => panic!("{name}: {:?}", other.map(|l| l.tasks.len())),
            }
            let loaded = load_bytes(name, bytes, &cfg(), &people(), today());
            assert!(loaded.is_ok_and(|l| !l.tasks.is_empty()), "{name}");
        }
    }

    #[test]
    fn unsupported_extension_lists_supported_ones() {
        let err = load_str("tasks.docx", "")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("tasks.docx") && err.contains("xlsx") && err.contains("json"),
            "{err}"
        );
    }

    #[test]
    fn csv_rows_count_title_and_blank_lines() {
        let text = "周报清单\n\n序号,问题描述,责任人,整改进展\n1,油烟,孙强,整改中\n\n2,\"散煤\n治理\",孙强,\n3,排污口,孙强,已完成\n";
        let list = load_str("t.csv", text).map_err(|e| e.to_string());
        let list = list.unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<usize> = list.tasks.iter().map(|t| t.source.row).collect();
        // The quoted line break keeps task 2 in one spreadsheet row, so task 3 is row 7.
        assert_eq!(rows, [4, 6, 7]);
        assert_eq!(list.tasks[1].title, "散煤\n治理");
        let crlf = load_str("t.csv", &text.replace('\n', "\r\n")).map_err(|e| e.to_string());
        let crlf_rows: Vec<usize> = crlf
            .unwrap_or_else(|e| panic!("{e}"))
            .tasks
            .iter()
            .map(|t| t.source.row)
            .collect();
        assert_eq!(crlf_rows, rows);
        assert_eq!(list.tasks[1].status, Status::Todo);
        assert_eq!(list.tasks[0].source.sheet, "t.csv");
        assert!(list.warnings.is_empty());
    }

    #[test]
    fn note_rows_below_the_table_are_skipped() {
        let text = "序号,问题描述,责任人\n1,油烟,孙强\n2,,\n填报人：张三,,\n";
        let list = load_str("t.csv", text)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks.len(), 1);
    }

    #[test]
    fn row_without_title_but_other_cells_is_bad() {
        let text = "序号,问题描述,责任人\n1,,孙强\n";
        match load_str("t.csv", text) {
            Err(TaskError::BadRows { rows, .. }) => {
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].row, 2);
                assert_eq!(rows[0].column.as_deref(), Some("问题描述"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_id_column_uses_row_numbers() {
        let text = "title,status\nA,todo\nB,done\n";
        let list = load_str("t.csv", text)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = list.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
    }

    #[test]
    fn empty_status_stays_todo_even_for_standing_work() {
        let text = "title,due,status\nA,长期坚持,\nB,12月底前,\n";
        let list = load_str("t.csv", text)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks[0].status, Status::Todo);
        assert_eq!(list.tasks[0].due, None);
        assert_eq!(list.tasks[1].due, NaiveDate::from_ymd_opt(2026, 12, 31));
    }

    #[test]
    fn tsv_and_unknown_people() {
        let text = "id\ttitle\towners\tleader\nA-1\tShip\t孙强、王五、王五\t赵六\n";
        let list = load_str("t.tsv", text)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let t = &list.tasks[0];
        assert_eq!(t.owners.len(), 3);
        assert_eq!(t.owners[0].person.as_deref(), Some("sun.qiang"));
        assert_eq!(t.owners[1].person, None);
        assert_eq!(t.leader.as_ref().map(|l| l.name.as_str()), Some("赵六"));
        // 王五 once (not twice) and 赵六 once.
        assert_eq!(list.warnings.len(), 2, "{:?}", list.warnings);
        assert!(list.warnings.iter().any(|w| w.message.contains("王五")));
    }

    #[test]
    fn json_and_toml_lists() {
        let json = r#"{"tasks": [
            {"id": "A", "title": "One", "owners": ["孙强", "x"], "progress": 60, "due": "2026-12-31"},
            {"id": "B", "title": "Two", "status": "done", "colour": "red"}
        ]}"#;
        let list = load_str("t.json", json)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks.len(), 2);
        assert_eq!(list.tasks[0].owners.len(), 2);
        assert_eq!(list.tasks[0].progress, Some(60));
        assert_eq!(list.tasks[1].status, Status::Done);
        assert_eq!(list.tasks[1].source.row, 2);
        // A key that names no field is kept, not warned about and dropped.
        assert_eq!(list.tasks[1].details.extra.get("colour"), Some("red"));
        assert!(list.tasks[0].details.extra.is_empty());

        let toml = "[[tasks]]\nid = 'A'\ntitle = 'One'\ndue = 2026-12-31\nowners = '孙强'\n";
        let list = load_str("t.toml", toml)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.tasks[0].due, NaiveDate::from_ymd_opt(2026, 12, 31));
    }

    #[test]
    fn toml_and_json_syntax_errors_have_positions() {
        match load_str("t.toml", "[[tasks]]\ntitle = \n") {
            Err(TaskError::Parse { line, column, .. }) => {
                assert_eq!(line, Some(2));
                assert!(column.is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
        match load_str("t.json", "[{\"title\": }]") {
            Err(e @ TaskError::Parse { .. }) => {
                let s = e.to_string();
                assert!(s.contains("t.json") && s.contains("line 1"), "{s}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_file_has_no_header() {
        assert!(matches!(
            load_str("t.csv", ""),
            Err(TaskError::NoHeaderRow { .. })
        ));
        assert!(matches!(
            load_str("t.json", "[]"),
            Err(TaskError::NoHeaderRow { .. })
        ));
    }
}

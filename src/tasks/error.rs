//! Why a task list could not be loaded. Every message names the file, because the daemon logs
//! these and an office may keep several lists.

use super::model::RowWarning;
use crate::config::Field;
use std::fmt;
use std::path::PathBuf;

/// The extensions [`super::load`] understands, for messages.
pub const SUPPORTED_EXTENSIONS: &str = "xlsx, xlsm, xlsb, xls, ods, csv, tsv, toml, json";

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "task list {}: unsupported file type {ext:?}; supported types are {SUPPORTED_EXTENSIONS}",
        .path.display()
    )]
    UnsupportedFormat { path: PathBuf, ext: String },

    #[error("task list {}: cannot read it as a {kind} workbook: {message}", .path.display())]
    BadWorkbook {
        path: PathBuf,
        kind: &'static str,
        message: String,
    },

    #[error(
        "task list {}: no sheet named {sheet:?}; the workbook has {}",
        .path.display(),
        quoted_list(.available)
    )]
    SheetNotFound {
        path: PathBuf,
        sheet: String,
        available: Vec<String>,
    },

    #[error(
        "task list {}: no header row found in the first {scanned} rows of {sheet}; expected a \
         row with a title column ({expected_title}) and columns such as {expected_others}",
        .path.display()
    )]
    NoHeaderRow {
        path: PathBuf,
        sheet: String,
        scanned: usize,
        expected_title: String,
        expected_others: String,
    },

    #[error(
        "task list {}: {}",
        .path.display(),
        missing_column(.sheet, *.field, .header, *.row, .found, *.configured)
    )]
    MissingColumn {
        path: PathBuf,
        sheet: String,
        field: Field,
        /// The configured header, or the built-in names joined with `/`.
        header: String,
        /// The header row; `None` for TOML/JSON, whose keys play the header.
        row: Option<usize>,
        found: Vec<String>,
        /// Whether `header` came from `[tasks.columns]`, which decides the advice.
        configured: bool,
    },

    #[error("task list {}: {}", .path.display(), parse_location(*.line, *.column, .format, .message))]
    Parse {
        path: PathBuf,
        format: &'static str,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    #[error("task list {}: {message}", .path.display())]
    Encoding { path: PathBuf, message: String },

    #[error(
        "task list {}: the workbook would unpack to {} ({largest_entry:?} alone {}), more than \
         [tasks] max_unpacked_size ({}); a task list is far smaller, so the file is damaged or \
         built to exhaust memory. If the list really is this large, raise max_unpacked_size",
        .path.display(),
        mebibytes(*.unpacked),
        mebibytes(*.largest_size),
        mebibytes(*.limit)
    )]
    UnpacksTooLarge {
        path: PathBuf,
        unpacked: u64,
        largest_entry: String,
        largest_size: u64,
        limit: u64,
    },

    #[error("{}", bad_rows(.path, .rows))]
    BadRows {
        path: PathBuf,
        rows: Vec<RowWarning>,
    },
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn quoted_list(items: &[String]) -> String {
    if items.is_empty() {
        return "nothing in it".to_string();
    }
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_column(
    sheet: &str,
    field: Field,
    header: &str,
    row: Option<usize>,
    found: &[String],
    configured: bool,
) -> String {
    let field = field.as_str();
    let (what, place) = match row {
        Some(r) => ("column", format!("the header row (row {r}) has")),
        None => ("key", "the entries have the keys".to_string()),
    };
    let advice = if configured {
        format!("change [tasks.columns] {field} to one of these")
    } else {
        format!("name the {what} one of those, or set [tasks.columns] {field} = \"<header>\"")
    };
    format!(
        "{sheet} has no {what} {header:?} for the task {field}; {place} {}; {advice}",
        quoted_list(found)
    )
}

fn parse_location(
    line: Option<usize>,
    column: Option<usize>,
    format: &str,
    message: &str,
) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("invalid {format} at line {l}, column {c}: {message}"),
        (Some(l), None) => format!("invalid {format} at line {l}: {message}"),
        _ => format!("invalid {format}: {message}"),
    }
}

fn bad_rows(path: &std::path::Path, rows: &[RowWarning]) -> String {
    struct Rows<'a>(&'a std::path::Path, &'a [RowWarning]);
    impl fmt::Display for Rows<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let n = self.1.len();
            let plural = if n == 1 { "problem" } else { "problems" };
            writeln!(
                f,
                "task list {} has {n} {plural}; none of its tasks were loaded:",
                self.0.display()
            )?;
            for r in self.1 {
                writeln!(f, "  {r}")?;
            }
            write!(
                f,
                "Fix these cells in the file and save it (it is re-read automatically), or map \
                 unusual status words under [tasks.status_values] and headers under \
                 [tasks.columns] in the config."
            )
        }
    }
    Rows(path, rows).to_string()
}

impl TaskError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            TaskError::Unreadable { path, .. }
            | TaskError::UnsupportedFormat { path, .. }
            | TaskError::BadWorkbook { path, .. }
            | TaskError::SheetNotFound { path, .. }
            | TaskError::NoHeaderRow { path, .. }
            | TaskError::MissingColumn { path, .. }
            | TaskError::Parse { path, .. }
            | TaskError::Encoding { path, .. }
            | TaskError::UnpacksTooLarge { path, .. }
            | TaskError::BadRows { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_lists_each_row_and_says_what_to_do() {
        let err = TaskError::BadRows {
            path: PathBuf::from("tasks.xlsx"),
            rows: vec![
                RowWarning {
                    sheet: "问题清单".into(),
                    row: 5,
                    column: Some("整改时限".into()),
                    message: "cannot read \"soon\" as a deadline".into(),
                },
                RowWarning {
                    sheet: "问题清单".into(),
                    row: 9,
                    column: None,
                    message: "title is empty".into(),
                },
            ],
        };
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].contains("tasks.xlsx") && lines[0].contains("2 problems"));
        assert_eq!(
            lines[1],
            "  问题清单 row 5, column 整改时限: cannot read \"soon\" as a deadline"
        );
        assert_eq!(lines[2], "  问题清单 row 9: title is empty");
        assert!(lines[3].starts_with("Fix these cells"));
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err = TaskError::Parse {
            path: PathBuf::from("t.toml"),
            format: "TOML",
            line: Some(3),
            column: Some(7),
            message: "expected `=`".into(),
        };
        assert_eq!(
            err.to_string(),
            "task list t.toml: invalid TOML at line 3, column 7: expected `=`"
        );
    }
}

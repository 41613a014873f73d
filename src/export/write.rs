//! Encoding an [`Export`] as xlsx or CSV, and putting files in place whole.

use super::grid::{GridCell, Value, format_number};
use super::layout::percent_text;
use super::{Export, ExportError};
use rust_xlsxwriter::{Color, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Excel's own pale yellow: enough to find the changed cells, faint enough to print.
const CHANGED_FILL: u32 = 0xFFF2CC;
/// Freezing more header rows than this would fill a laptop screen.
const MAX_FROZEN_ROWS: usize = 10;
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Style {
    bold: bool,
    changed: bool,
    wrap: bool,
    num_format: Option<String>,
}

#[derive(Default)]
struct Styles(HashMap<Style, Format>);

impl Styles {
    fn get(&mut self, style: Style) -> &Format {
        self.0.entry(style.clone()).or_insert_with(|| {
            let mut f = Format::new();
            if style.bold {
                f = f.set_bold();
            }
            if style.changed {
                f = f.set_background_color(Color::RGB(CHANGED_FILL));
            }
            if style.wrap {
                f = f.set_text_wrap();
            }
            if let Some(code) = &style.num_format {
                f = f.set_num_format(code);
            }
            f
        })
    }
}

fn row_num(r: usize) -> Result<u32, XlsxError> {
    u32::try_from(r).map_err(|_| XlsxError::RowColumnLimitError)
}

fn col_num(c: usize) -> Result<u16, XlsxError> {
    u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)
}

fn excel_date(d: chrono::NaiveDate) -> Option<ExcelDateTime> {
    use chrono::Datelike;
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).ok()?,
        u8::try_from(d.month()).ok()?,
        u8::try_from(d.day()).ok()?,
    )
    .ok()
}

fn excel_datetime(dt: chrono::NaiveDateTime) -> Option<ExcelDateTime> {
    use chrono::Timelike;
    excel_date(dt.date())?
        .and_hms(
            u16::try_from(dt.hour()).ok()?,
            u8::try_from(dt.minute()).ok()?,
            f64::from(dt.second()),
        )
        .ok()
}

/// Writes one value. Dates Excel cannot hold (before 1900) are written as text.
fn write_value(
    ws: &mut Worksheet,
    r: usize,
    c: usize,
    value: &Value,
    style: Style,
    styles: &mut Styles,
) -> Result<(), XlsxError> {
    let (row, col) = (row_num(r)?, col_num(c)?);
    let with_default = |style: Style, code: &str| Style {
        num_format: style.num_format.or_else(|| Some(code.to_string())),
        ..style
    };
    match value {
        Value::Empty => {
            if style.changed {
                ws.write_blank(row, col, styles.get(style))?;
            }
        }
        Value::Text(t) => {
            let style = Style {
                wrap: t.contains('\n'),
                ..style
            };
            ws.write_string_with_format(row, col, t, styles.get(style))?;
        }
        Value::Number(n) => {
            ws.write_number_with_format(row, col, *n, styles.get(style))?;
        }
        Value::Date(d) => match excel_date(*d) {
            Some(x) => {
                let style = with_default(style, "yyyy-mm-dd");
                ws.write_datetime_with_format(row, col, x, styles.get(style))?;
            }
            None => {
                ws.write_string_with_format(row, col, value.text(), styles.get(style))?;
            }
        },
        Value::DateTime(dt) => match excel_datetime(*dt) {
            Some(x) => {
                let style = with_default(style, "yyyy-mm-dd hh:mm");
                ws.write_datetime_with_format(row, col, x, styles.get(style))?;
            }
            None => {
                ws.write_string_with_format(row, col, value.text(), styles.get(style))?;
            }
        },
        Value::Bool(b) => {
            ws.write_boolean_with_format(row, col, *b, styles.get(style))?;
        }
    }
    Ok(())
}

/// Terminal-style width: East Asian wide characters take two columns in Excel too.
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|line| {
            line.chars()
                .map(|c| {
                    if matches!(c as u32,
                        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
                    {
                        2
                    } else {
                        1
                    }
                })
                .sum()
        })
        .max()
        .unwrap_or(0)
}

fn cell_width(e: &Export, cell: &GridCell) -> usize {
    match &cell.value {
        Value::Date(_) => 10,
        Value::DateTime(_) => 16,
        Value::Number(n) => match e.sheet.format_code(cell) {
            Some(f) if f.contains('%') => percent_text(*n).len(),
            _ => format_number(*n).len(),
        },
        v => display_width(&v.text()),
    }
}

fn set_widths(ws: &mut Worksheet, widths: &[usize]) -> Result<(), XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        let w = (w + 2).clamp(MIN_WIDTH, MAX_WIDTH);
        ws.set_column_width(col_num(c)?, w as f64)?;
    }
    Ok(())
}

pub(super) fn xlsx(e: &Export) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let mut styles = Styles::default();
    let sheet = &e.sheet;
    let style_at = |r: usize, c: usize, cell: &GridCell| Style {
        bold: r < e.first_data_row,
        changed: e.changed.contains(&(r, c)),
        wrap: false,
        num_format: sheet.format_code(cell).map(String::from),
    };
    {
        let ws = wb.add_worksheet();
        ws.set_name(&sheet.sheet)?;
        // merge_range blanks the cells it covers, so ranges go first and values on top.
        for m in &sheet.merges {
            if m.first_row == m.last_row && m.first_col == m.last_col {
                continue;
            }
            let top = sheet
                .cell(m.first_row, m.first_col)
                .cloned()
                .unwrap_or_default();
            let format = styles.get(style_at(m.first_row, m.first_col, &top)).clone();
            // A range overlapping an earlier one is a damaged source; its cells are still
            // written, only unmerged.
            let _ = ws.merge_range(
                row_num(m.first_row)?,
                col_num(m.first_col)?,
                row_num(m.last_row)?,
                col_num(m.last_col)?,
                "",
                &format,
            );
        }
        let width = sheet.width();
        let mut widths = vec![0usize; width];
        let measured_from = e.header_row.unwrap_or(0);
        // Title rows and ranges merged across columns span their text over several columns;
        // measured, they would make the first column as wide as the title.
        let spanning: std::collections::HashSet<(usize, usize)> = sheet
            .merges
            .iter()
            .filter(|m| m.last_col > m.first_col)
            .flat_map(|m| {
                (m.first_row..=m.last_row)
                    .flat_map(move |r| (m.first_col..=m.last_col).map(move |c| (r, c)))
            })
            .collect();
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                write_value(ws, r, c, &cell.value, style_at(r, c, cell), &mut styles)?;
                if r >= measured_from
                    && !spanning.contains(&(r, c))
                    && let Some(w) = widths.get_mut(c)
                {
                    *w = (*w).max(cell_width(e, cell));
                }
            }
        }
        set_widths(ws, &widths)?;
        if (1..=MAX_FROZEN_ROWS).contains(&e.first_data_row) {
            ws.set_freeze_panes(row_num(e.first_data_row)?, 0)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name(&e.summary.history_sheet)?;
        let bold = Style {
            bold: true,
            changed: false,
            wrap: false,
            num_format: None,
        };
        let plain = Style {
            bold: false,
            ..bold.clone()
        };
        let mut widths: Vec<usize> = e.history_headers.iter().map(|h| display_width(h)).collect();
        for (c, h) in e.history_headers.iter().enumerate() {
            write_value(ws, 0, c, &Value::Text(h.clone()), bold.clone(), &mut styles)?;
        }
        for (i, h) in e.history.iter().enumerate() {
            let r = i + 1;
            let time = h.at.map_or(Value::Empty, Value::DateTime);
            let time_style = Style {
                num_format: Some("yyyy-mm-dd hh:mm:ss".to_string()),
                ..plain.clone()
            };
            write_value(ws, r, 0, &time, time_style, &mut styles)?;
            let texts = [
                &h.task, &h.field, &h.old, &h.new, &h.who, &h.source, &h.channel,
            ];
            for (j, t) in texts.into_iter().enumerate() {
                if !t.is_empty() {
                    write_value(
                        ws,
                        r,
                        j + 1,
                        &Value::Text(t.clone()),
                        plain.clone(),
                        &mut styles,
                    )?;
                    if let Some(w) = widths.get_mut(j + 1) {
                        *w = (*w).max(display_width(t));
                    }
                }
            }
        }
        widths[0] = widths[0].max(19);
        set_widths(ws, &widths)?;
        ws.set_freeze_panes(1, 0)?;
        if !e.history.is_empty() {
            ws.autofilter(0, 0, row_num(e.history.len())?, 7)?;
        }
    }
    wb.save_to_buffer()
}

/// A table of its own (a report such as the assessment's) as a one-sheet workbook: the first
/// row bold and frozen, columns sized to their text, numbers as numbers.
pub(super) fn table_xlsx(sheet: &str, rows: &[Vec<Value>]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let mut styles = Styles::default();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    let mut widths: Vec<usize> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let style = Style {
            bold: r == 0,
            changed: false,
            wrap: false,
            num_format: None,
        };
        for (c, value) in row.iter().enumerate() {
            write_value(ws, r, c, value, style.clone(), &mut styles)?;
            if widths.len() <= c {
                widths.resize(c + 1, 0);
            }
            let w = match value {
                Value::Number(n) => format_number(*n).len(),
                v => display_width(&v.text()),
            };
            widths[c] = widths[c].max(w);
        }
    }
    set_widths(ws, &widths)?;
    if rows.len() > 1 {
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}

/// [`table_xlsx`]'s table as CSV, with the same byte-order mark and formula guard as the list.
pub(super) fn table_csv(rows: &[Vec<Value>]) -> Result<Vec<u8>, csv::Error> {
    csv_bytes(
        rows.iter()
            .map(|row| row.iter().map(Value::text).collect::<Vec<String>>()),
    )
}

/// A UTF-8 byte-order mark: without it Excel opens a CSV in the system code page.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn csv_bytes(rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(BOM.to_vec());
    for mut row in rows {
        row.iter_mut().for_each(write_as_text);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Makes a cell one a spreadsheet program takes for text. Notes and reports come from the
/// chat, so anyone in a group could write `=HYPERLINK(…)` or `@SUM(…)` and have Excel or
/// LibreOffice run it when an officer opens the export. OWASP's advice (CSV Injection) is
/// to start such a cell with a single quote, which spreadsheets read as "this is text".
/// Numbers (`-5`, `+3.5`) are left alone: they evaluate to themselves.
fn write_as_text(cell: &mut String) {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !cell.parse::<f64>().is_ok_and(f64::is_finite) {
        cell.insert(0, '\'');
    }
}

/// The text a cell shows, which is what Excel saves in a CSV.
fn shown(e: &Export, cell: &GridCell) -> String {
    match &cell.value {
        Value::Empty => String::new(),
        Value::Text(t) => t.clone(),
        Value::Number(n) => match e.sheet.format_code(cell) {
            Some(f) if f.contains('%') => percent_text(*n),
            _ => format_number(*n),
        },
        v => v.text(),
    }
}

pub(super) fn csv_list(e: &Export) -> Result<Vec<u8>, csv::Error> {
    let sheet = &e.sheet;
    let width = sheet.width();
    let fill = sheet.fill_map();
    let empty = GridCell::default();
    let rows = (0..sheet.rows.len()).map(|r| {
        (0..width)
            .map(|c| {
                if let Some(t) = e.csv_text.get(&(r, c)) {
                    return t.clone();
                }
                let mut cell = sheet.cell(r, c).unwrap_or(&empty);
                if cell.value.is_blank()
                    && !e.changed.contains(&(r, c))
                    && let Some(&(r0, c0)) = fill.get(&(r, c))
                {
                    cell = sheet.cell(r0, c0).unwrap_or(&empty);
                }
                shown(e, cell)
            })
            .collect()
    });
    csv_bytes(rows)
}

pub(super) fn csv_history(e: &Export) -> Result<Vec<u8>, csv::Error> {
    let header = std::iter::once(e.history_headers.to_vec());
    let rows = e.history.iter().map(|h| {
        vec![
            h.at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            h.task.clone(),
            h.field.clone(),
            h.old.clone(),
            h.new.clone(),
            h.who.clone(),
            h.source.clone(),
            h.channel.clone(),
        ]
    });
    csv_bytes(header.chain(rows))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader
/// (or a crash) sees the old file or the new one, never half of one.
pub(super) fn atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let fail = |source: io::Error| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it names no file",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.weekbell-tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// Whether `a` and `b` name the same file, resolving links and `..`; a file that does not
/// exist yet is compared by its resolved directory and name.
pub fn same_file(a: &Path, b: &Path) -> bool {
    resolve(a) == resolve(b)
}

fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (fs::canonicalize(dir), p.file_name()) {
        (Ok(d), Some(n)) => d.join(n),
        _ => std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_neither_file_nor_temp() {
        let dir = std::env::temp_dir().join(format!("weekbell-export-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let target = dir.join("missing-dir").join("out.csv");
        let err = atomically(&target, b"x").err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("out.csv")),
            "{err:?}"
        );
        assert!(!target.exists());
        let target = dir.join("out.csv");
        assert!(atomically(&target, b"one").is_ok());
        assert!(atomically(&target, b"two").is_ok());
        assert_eq!(fs::read(&target).ok().as_deref(), Some(&b"two"[..]));
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn same_file_sees_through_dot_dot_and_missing_files() {
        let here = Path::new("Cargo.toml");
        assert!(same_file(here, Path::new("src/../Cargo.toml")));
        assert!(!same_file(here, Path::new("Cargo.lock")));
        assert!(same_file(
            Path::new("does-not-exist.xlsx"),
            Path::new("src/../does-not-exist.xlsx")
        ));
    }

    #[test]
    fn a_table_keeps_its_numbers_as_shown_and_guards_its_text() {
        let rows = vec![
            vec![Value::Text("单位".into()), Value::Text("得分".into())],
            vec![
                Value::Text("=cmd|' /C calc'!A0".into()),
                Value::Number(55.7),
            ],
            vec![
                Value::Text("县城管局".into()),
                Value::Number(89.0),
                Value::Empty,
            ],
        ];
        let text = String::from_utf8(table_csv(&rows).unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            text,
            "\u{feff}单位,得分\n'=cmd|' /C calc'!A0,55.7\n县城管局,89,\n"
        );
        let xlsx = table_xlsx("考核排名", &rows).unwrap_or_default();
        assert!(xlsx.starts_with(b"PK"), "not a workbook");
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_written_as_text() {
        let row = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+2",
            "-2+3",
            "@SUM(A1)",
            "\tcmd",
            "\rcmd",
            "-5",
            "+3.5",
            "-inf",
            "a=b",
            "",
        ];
        let bytes = csv_bytes(std::iter::once(row.map(str::to_string).to_vec()));
        let text = String::from_utf8(bytes.unwrap_or_default()).unwrap_or_default();
        let mut read = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let cells: Vec<String> = read
            .records()
            .flatten()
            .flat_map(|r| r.iter().map(str::to_string).collect::<Vec<_>>())
            .collect();
        assert_eq!(
            cells,
            [
                "'=HYPERLINK(\"http://x\",\"y\")",
                "'+1+2",
                "'-2+3",
                "'@SUM(A1)",
                "'\tcmd",
                "'\rcmd",
                "-5",
                "+3.5",
                "'-inf",
                "a=b",
                "",
            ]
        );
    }

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(display_width("整改中"), 6);
        assert_eq!(display_width("ab\n整"), 2);
    }
}

//! The source sheet as a grid of cells, row for row as the importer numbers them.
//!
//! The importer streams and discards; the export needs every cell again (title rows, columns
//! weekbell does not use, number formats), so it reads the file a second time here. Row `i`
//! of a [`Grid`] is spreadsheet row `i + 1`, which is what [`crate::tasks::RowRef::row`] says.

use crate::config::TasksConfig;
use crate::tasks::delimited::blank_lines;
use calamine::{
    Data, DataRef, Dimensions, ExcelDateTime, Ods, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx,
};
use chrono::{NaiveDate, NaiveDateTime};
use encoding_rs::{Encoding, GB18030, UTF_8};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

/// Excel's column limit; the importer ignores cells beyond it, and so does the export.
pub(super) const MAX_COLUMNS: usize = 16_384;

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) enum Value {
    #[default]
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Bool(bool),
}

impl Value {
    pub(super) fn is_blank(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as the importer reads it as text (trimmed; whole numbers without a decimal
    /// point), so that titles and header names compare equal to what it saw.
    pub(super) fn text(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(t) => t.trim().to_string(),
            Value::Number(n) => format_number(*n),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::DateTime(dt) => dt.format("%Y-%m-%d %H:%M").to_string(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        }
    }
}

/// Whole numbers print as integers (ids are stored as floats); beyond 2^53 floats are not
/// exact integers any more and keep their float notation. Mirrors the importer.
pub(super) fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        format!("{}", value as i64)
    } else if value.abs() >= 1e15 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct GridCell {
    pub value: Value,
    /// Index into [`Grid::formats`]: the workbook's number format, kept so that dates and
    /// percentages look as they did.
    pub format: Option<usize>,
}

impl GridCell {
    pub(super) fn new(value: Value) -> Self {
        GridCell {
            value,
            format: None,
        }
    }
}

/// A merged range, inclusive, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Region {
    pub first_row: usize,
    pub first_col: usize,
    pub last_row: usize,
    pub last_col: usize,
}

impl Region {
    pub(super) fn contains(&self, row: usize, col: usize) -> bool {
        (self.first_row..=self.last_row).contains(&row)
            && (self.first_col..=self.last_col).contains(&col)
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Grid {
    pub sheet: String,
    pub rows: Vec<Vec<GridCell>>,
    pub merges: Vec<Region>,
    /// Number format codes, shared by the cells that use them.
    pub formats: Vec<String>,
    /// xlsx only: the style indexes (`s=` in the sheet XML) whose number format shows a
    /// percentage, so that an in-place export writes progress where it will show as one.
    pub percent_styles: std::collections::BTreeSet<usize>,
}

impl Grid {
    pub(super) fn cell(&self, row: usize, col: usize) -> Option<&GridCell> {
        self.rows.get(row)?.get(col)
    }

    pub(super) fn value(&self, row: usize, col: usize) -> &Value {
        static EMPTY: Value = Value::Empty;
        self.cell(row, col).map_or(&EMPTY, |c| &c.value)
    }

    pub(super) fn set(&mut self, row: usize, col: usize, cell: GridCell) {
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let r = &mut self.rows[row];
        if r.len() <= col {
            r.resize_with(col + 1, GridCell::default);
        }
        r[col] = cell;
    }

    /// The index of `code` in [`Grid::formats`], added if new.
    pub(super) fn format_index(&mut self, code: &str) -> usize {
        match self.formats.iter().position(|f| f == code) {
            Some(i) => i,
            None => {
                self.formats.push(code.to_string());
                self.formats.len() - 1
            }
        }
    }

    pub(super) fn format_code(&self, cell: &GridCell) -> Option<&str> {
        cell.format
            .and_then(|i| self.formats.get(i))
            .map(String::as_str)
    }

    /// One past the last column holding anything (a value or a merged range).
    pub(super) fn width(&self) -> usize {
        let cells = self
            .rows
            .iter()
            .filter_map(|r| r.iter().rposition(|c| !c.value.is_blank()))
            .map(|c| c + 1)
            .max()
            .unwrap_or(0);
        let merged = self
            .merges
            .iter()
            .map(|m| m.last_col + 1)
            .max()
            .unwrap_or(0);
        cells.max(merged)
    }

    /// The importer's view of vertically merged cells: a blank cell covered by a range that
    /// spans several rows reads as the range's value, in the range's first column only.
    pub(super) fn fill_map(&self) -> HashMap<(usize, usize), (usize, usize)> {
        let mut map = HashMap::new();
        for m in self.merges.iter().filter(|m| m.last_row > m.first_row) {
            for row in m.first_row + 1..=m.last_row {
                map.insert((row, m.first_col), (m.first_row, m.first_col));
            }
        }
        map
    }
}

/// How the importer reads a file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
    Delimited(u8),
    /// TOML and JSON: entries, not rows.
    Records,
}

impl Source {
    pub(super) fn of(path: &Path) -> Source {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" => Source::Xlsx,
            "xlsb" => Source::Xlsb,
            "xls" => Source::Xls,
            "ods" => Source::Ods,
            "tsv" => Source::Delimited(b'\t'),
            "toml" | "json" => Source::Records,
            // The importer refused anything else before we got here.
            _ => Source::Delimited(b','),
        }
    }
}

/// Why the task list's sheet could not be read again; [`super::ExportError::Source`] names the
/// file.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    #[error(transparent)]
    Xlsx(#[from] calamine::XlsxError),
    #[error(transparent)]
    Xls(#[from] calamine::XlsError),
    #[error(transparent)]
    Xlsb(#[from] calamine::XlsbError),
    #[error(transparent)]
    Ods(#[from] calamine::OdsError),
    #[error("it has no sheet named {0:?} any more")]
    NoSuchSheet(String),
    #[error("it has no worksheets")]
    NoWorksheets,
    #[error("unknown encoding {0:?} in [tasks] encoding")]
    UnknownEncoding(String),
    #[error("it is not valid {0} text")]
    NotText(&'static str),
    #[error("row {row}: {source}")]
    Row { row: usize, source: csv::Error },
    #[error("a TOML or JSON list has no sheet to read")]
    Records,
}

/// Reads the sheet the importer read: `sheet` (the name it recorded on the tasks) or, for a
/// list without tasks, the configured sheet or the first visible worksheet.
pub(super) fn read(
    path: &Path,
    source: Source,
    bytes: &[u8],
    cfg: &TasksConfig,
    sheet: Option<&str>,
) -> Result<Grid, ReadError> {
    let wanted = sheet.or(cfg.sheet.as_deref());
    let cursor = Cursor::new(bytes);
    match source {
        Source::Xlsx => {
            let mut wb = Xlsx::new(cursor)?;
            let name = pick_sheet(wb.sheets_metadata(), wanted)?;
            Ok(read_xlsx(&mut wb, name)?)
        }
        Source::Xls => {
            let mut wb = Xls::new(cursor)?;
            let name = pick_sheet(wb.sheets_metadata(), wanted)?;
            let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
            let range = wb.worksheet_range(&name)?;
            Ok(from_range(name, &range, &merges))
        }
        Source::Xlsb => {
            let mut wb = Xlsb::new(cursor)?;
            let name = pick_sheet(wb.sheets_metadata(), wanted)?;
            let range = wb.worksheet_range(&name)?;
            Ok(from_range(name, &range, &[]))
        }
        Source::Ods => {
            let mut wb = Ods::new(cursor)?;
            let name = pick_sheet(wb.sheets_metadata(), wanted)?;
            let range = wb.worksheet_range(&name)?;
            Ok(from_range(name, &range, &[]))
        }
        Source::Delimited(delimiter) => {
            let decoded = decode(bytes, cfg.encoding.as_deref())?;
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            read_delimited(name, &decoded, delimiter)
        }
        Source::Records => Err(ReadError::Records),
    }
}

/// The importer's choice: the named sheet, else the first visible worksheet.
fn pick_sheet(sheets: &[calamine::Sheet], wanted: Option<&str>) -> Result<String, ReadError> {
    if let Some(w) = wanted {
        return sheets
            .iter()
            .find(|s| s.name == w)
            .or_else(|| sheets.iter().find(|s| s.name.trim() == w.trim()))
            .map(|s| s.name.clone())
            .ok_or_else(|| ReadError::NoSuchSheet(w.to_string()));
    }
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
        .ok_or(ReadError::NoWorksheets)
}

fn region(d: &Dimensions) -> Option<Region> {
    let in_range = |c: u32| (c as usize) < MAX_COLUMNS;
    (in_range(d.start.1) && in_range(d.end.1)).then_some(Region {
        first_row: d.start.0 as usize,
        first_col: d.start.1 as usize,
        last_row: d.end.0 as usize,
        last_col: d.end.1 as usize,
    })
}

fn read_xlsx(wb: &mut Xlsx<Cursor<&[u8]>>, name: String) -> Result<Grid, calamine::XlsxError> {
    let merges = wb.merge_cells_by_sheet_name(&name)?;
    let mut grid = Grid {
        sheet: name.clone(),
        merges: merges.iter().filter_map(region).collect(),
        ..Grid::default()
    };
    let mut reader = wb.worksheet_cells_reader(&name)?;
    // Style id → index into grid.formats; "General" carries nothing worth keeping.
    let codes: Vec<Option<String>> = reader
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .map(|f| f.format_code.clone())
                .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("general"))
        })
        .collect();
    grid.percent_styles = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.as_deref().is_some_and(|c| c.contains('%')))
        .map(|(i, _)| i)
        .collect();
    let mut cells: Vec<(usize, usize, Value, Option<String>)> = Vec::new();
    while let Some((cell, style)) = reader.next_cell_with_style_id()? {
        let (r, c) = cell.get_position();
        if c as usize >= MAX_COLUMNS {
            continue;
        }
        let value = from_data_ref(cell.get_value());
        if value == Value::Empty {
            continue;
        }
        let code = match value {
            Value::Number(_) | Value::Date(_) | Value::DateTime(_) => {
                codes.get(style).cloned().flatten()
            }
            _ => None,
        };
        cells.push((r as usize, c as usize, value, code));
    }
    drop(reader);
    for (r, c, value, code) in cells {
        let format = code.map(|code| grid.format_index(&code));
        grid.set(r, c, GridCell { value, format });
    }
    Ok(grid)
}

fn from_range(name: String, range: &calamine::Range<Data>, merges: &[Dimensions]) -> Grid {
    let mut grid = Grid {
        sheet: name,
        merges: merges.iter().filter_map(region).collect(),
        ..Grid::default()
    };
    let Some((r0, c0)) = range.start() else {
        return grid;
    };
    for (i, row) in range.rows().enumerate() {
        for (j, d) in row.iter().enumerate() {
            let c = c0 as usize + j;
            let value = from_data(d);
            if c < MAX_COLUMNS && value != Value::Empty {
                grid.set(r0 as usize + i, c, GridCell::new(value));
            }
        }
    }
    grid
}

fn date_of(dt: &ExcelDateTime) -> Value {
    if dt.is_datetime()
        && let Some(d) = dt.as_datetime()
    {
        return if d.time() == chrono::NaiveTime::MIN {
            Value::Date(d.date())
        } else {
            Value::DateTime(d)
        };
    }
    Value::Number(dt.as_f64())
}

/// ODS stores dates as ISO text.
fn iso(s: &str) -> Value {
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return if dt.time() == chrono::NaiveTime::MIN {
            Value::Date(dt.date())
        } else {
            Value::DateTime(dt)
        };
    }
    match s
        .get(..10)
        .map(|h| NaiveDate::parse_from_str(h, "%Y-%m-%d"))
    {
        Some(Ok(d)) => Value::Date(d),
        _ => Value::Text(s.to_string()),
    }
}

fn from_data(d: &Data) -> Value {
    match d {
        Data::Empty => Value::Empty,
        Data::String(s) => Value::Text(s.clone()),
        Data::Float(f) => Value::Number(*f),
        Data::Int(i) => Value::Number(*i as f64),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(dt) => date_of(dt),
        Data::DateTimeIso(s) => iso(s),
        Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Error(e) => Value::Text(e.to_string()),
    }
}

fn from_data_ref(d: &DataRef<'_>) -> Value {
    match d {
        DataRef::Empty => Value::Empty,
        DataRef::SharedString(s) => Value::Text((*s).to_string()),
        DataRef::String(s) => Value::Text(s.clone()),
        DataRef::Float(f) => Value::Number(*f),
        DataRef::Int(i) => Value::Number(*i as f64),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(dt) => date_of(dt),
        DataRef::DateTimeIso(s) => iso(s),
        DataRef::DurationIso(s) => Value::Text(s.clone()),
        DataRef::Error(e) => Value::Text(e.to_string()),
    }
}

/// The importer's decoding: the configured encoding, else a byte-order mark, else UTF-8,
/// else GB18030 (what Excel in China saves as "CSV").
fn decode(bytes: &[u8], forced: Option<&str>) -> Result<String, ReadError> {
    let (enc, body) = match forced {
        Some(label) => {
            let enc = Encoding::for_label(label.trim().as_bytes())
                .ok_or_else(|| ReadError::UnknownEncoding(label.to_string()))?;
            match Encoding::for_bom(bytes) {
                Some((bom, len)) if bom == enc => (enc, &bytes[len..]),
                _ => (enc, bytes),
            }
        }
        None => match Encoding::for_bom(bytes) {
            Some((enc, len)) => (enc, &bytes[len..]),
            None if std::str::from_utf8(bytes).is_ok() => (UTF_8, bytes),
            None => (GB18030, bytes),
        },
    };
    enc.decode_without_bom_handling_and_without_replacement(body)
        .map(|c| c.into_owned())
        .ok_or(ReadError::NotText(enc.name()))
}

/// Rows numbered as the importer numbers them: a quoted field spanning lines is one row, and
/// a blank line is a row of its own although the CSV reader skips it.
fn read_delimited(name: String, text: &str, delimiter: u8) -> Result<Grid, ReadError> {
    let bytes = text.as_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut grid = Grid {
        sheet: name,
        ..Grid::default()
    };
    let mut record = csv::StringRecord::new();
    loop {
        let start = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(source) => {
                return Err(ReadError::Row {
                    row: grid.rows.len() + 1,
                    source,
                });
            }
        }
        for _ in 0..blank_lines(bytes, start) {
            grid.rows.push(Vec::new());
        }
        grid.rows.push(
            record
                .iter()
                .take(MAX_COLUMNS)
                .map(|f| {
                    GridCell::new(if f.is_empty() {
                        Value::Empty
                    } else {
                        Value::Text(f.to_string())
                    })
                })
                .collect(),
        );
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_the_importers_numbering() {
        let text = "title\r\n\r\nname,\"two\nlines\"\n\n\nlast\n";
        let grid = read_delimited("t.csv".into(), text, b',').unwrap_or_default();
        let texts: Vec<String> = grid
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.value.text())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        assert_eq!(texts, ["title", "", "name|two\nlines", "", "", "last"]);
    }

    #[test]
    fn gbk_and_bom_are_decoded() {
        let (gbk, _, _) = GB18030.encode("序号,问题描述\n");
        assert_eq!(decode(&gbk, None).ok().as_deref(), Some("序号,问题描述\n"));
        let bom = [&[0xEF, 0xBB, 0xBF][..], "a,b".as_bytes()].concat();
        assert_eq!(decode(&bom, None).ok().as_deref(), Some("a,b"));
        assert!(decode(b"a", Some("klingon")).is_err());
    }

    #[test]
    fn numbers_print_like_the_importer() {
        assert_eq!(format_number(7.0), "7");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(Value::Text("  x ".into()).text(), "x");
    }

    #[test]
    fn vertical_merges_fill_their_first_column_only() {
        let grid = Grid {
            merges: vec![
                Region {
                    first_row: 2,
                    first_col: 1,
                    last_row: 4,
                    last_col: 2,
                },
                Region {
                    first_row: 0,
                    first_col: 0,
                    last_row: 0,
                    last_col: 5,
                },
            ],
            ..Grid::default()
        };
        let map = grid.fill_map();
        assert_eq!(map.get(&(3, 1)), Some(&(2, 1)));
        assert_eq!(map.get(&(4, 1)), Some(&(2, 1)));
        assert_eq!(map.get(&(3, 2)), None);
        assert_eq!(map.get(&(0, 1)), None);
        assert_eq!(grid.width(), 6);
    }
}

//! Workbooks (xlsx, xlsm, xlsb, xls, ods) through calamine.
//!
//! xlsx is streamed cell by cell: a 100,000-row list never exists as a whole calamine range, and
//! shared strings are borrowed rather than copied per cell. The other formats are read as a
//! range, which calamine builds anyway.

use super::cell::Cell;
use super::error::TaskError;
use super::model::TaskList;
use super::rows::{Context, SheetImport};
use calamine::{
    Data, DataRef, Dimensions, ExcelDateTime, Ods, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx,
};
use chrono::NaiveDate;
use std::borrow::Cow;
use std::io::Cursor;

/// Excel's column limit (XFD). A cell or merged region claiming a column beyond it comes from a
/// damaged or hostile file; honouring it would mean allocating rows billions of cells wide.
const MAX_COLUMNS: u32 = 16_384;

/// The sheet's declared dimension sizes the task vector, but files formatted down to row
/// 1,048,576 declare that too; past this the vector grows as rows actually arrive.
const MAX_RESERVED_ROWS: usize = 1 << 17;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Xlsx => "xlsx",
            Kind::Xlsb => "xlsb",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
        }
    }
}

pub(crate) fn read(
    ctx: &Context<'_>,
    kind: Kind,
    bytes: &[u8],
    sheet: Option<&str>,
    max_unpacked_size: u64,
) -> Result<TaskList, TaskError> {
    let bad = |e: &dyn std::fmt::Display| TaskError::BadWorkbook {
        path: ctx.path.to_path_buf(),
        kind: kind.name(),
        message: e.to_string(),
    };
    if kind != Kind::Xls {
        check_unpacked_size(ctx, bytes, max_unpacked_size).map_err(|e| match e {
            Oversized::Task(t) => t,
            Oversized::Zip(e) => bad(&e),
        })?;
    }
    let cursor = Cursor::new(bytes);
    match kind {
        Kind::Xlsx => {
            let mut wb = Xlsx::new(cursor).map_err(|e| bad(&e))?;
            let name = pick_sheet(ctx, wb.sheets_metadata(), sheet)?;
            read_xlsx(ctx, &mut wb, name).map_err(|e| match e {
                Failure::Task(t) => t,
                Failure::Calamine(e) => bad(&e),
            })
        }
        Kind::Xls => {
            let mut wb = Xls::new(cursor).map_err(|e| bad(&e))?;
            let name = pick_sheet(ctx, wb.sheets_metadata(), sheet)?;
            let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
            let range = wb.worksheet_range(&name).map_err(|e| bad(&e))?;
            read_range(ctx, name, &range, merges)
        }
        Kind::Xlsb => {
            let mut wb = Xlsb::new(cursor).map_err(|e| bad(&e))?;
            let name = pick_sheet(ctx, wb.sheets_metadata(), sheet)?;
            let range = wb.worksheet_range(&name).map_err(|e| bad(&e))?;
            read_range(ctx, name, &range, Vec::new())
        }
        Kind::Ods => {
            let mut wb = Ods::new(cursor).map_err(|e| bad(&e))?;
            let name = pick_sheet(ctx, wb.sheets_metadata(), sheet)?;
            let range = wb.worksheet_range(&name).map_err(|e| bad(&e))?;
            read_range(ctx, name, &range, Vec::new())
        }
    }
}

enum Oversized {
    Task(TaskError),
    Zip(zip::result::ZipError),
}

/// xlsx, xlsb and ods are zip archives, and calamine inflates each part it reads into memory
/// whole: a 626 KB xlsx declaring 629 MB of sheet XML took the import to 643 MB. The sizes the
/// central directory declares are checked first, which inflates nothing, and they hold: the
/// `zip` crate (which calamine reads through) fails an entry that inflates past its declared
/// size ("File is larger than its declared uncompressed size", its `Crc32Reader`). So the
/// total of the declared sizes bounds what parsing can unpack.
fn check_unpacked_size(ctx: &Context<'_>, bytes: &[u8], limit: u64) -> Result<(), Oversized> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(Oversized::Zip)?;
    let mut total: u64 = 0;
    let mut largest: (u64, String) = (0, String::new());
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(Oversized::Zip)?;
        let size = entry.size();
        total = total.saturating_add(size);
        if size > largest.0 {
            largest = (size, entry.name().map_err(Oversized::Zip)?.into_owned());
        }
    }
    if total > limit {
        return Err(Oversized::Task(TaskError::UnpacksTooLarge {
            path: ctx.path.to_path_buf(),
            unpacked: total,
            largest_entry: largest.1,
            largest_size: largest.0,
            limit,
        }));
    }
    Ok(())
}

/// The configured sheet, or else the first visible worksheet: that is the sheet a person sees
/// on opening the file, and offices hide helper sheets (drop-down lists) in front of it.
fn pick_sheet(
    ctx: &Context<'_>,
    sheets: &[calamine::Sheet],
    wanted: Option<&str>,
) -> Result<String, TaskError> {
    let names = || sheets.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    if let Some(w) = wanted {
        return sheets
            .iter()
            .find(|s| s.name == w)
            .or_else(|| sheets.iter().find(|s| s.name.trim() == w.trim()))
            .map(|s| s.name.clone())
            .ok_or_else(|| TaskError::SheetNotFound {
                path: ctx.path.to_path_buf(),
                sheet: w.to_string(),
                available: names(),
            });
    }
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
        .ok_or_else(|| TaskError::BadWorkbook {
            path: ctx.path.to_path_buf(),
            kind: "workbook",
            message: "it has no worksheets".to_string(),
        })
}

enum Failure {
    Task(TaskError),
    Calamine(calamine::XlsxError),
}

impl From<TaskError> for Failure {
    fn from(e: TaskError) -> Self {
        Failure::Task(e)
    }
}

impl From<calamine::XlsxError> for Failure {
    fn from(e: calamine::XlsxError) -> Self {
        Failure::Calamine(e)
    }
}

fn read_xlsx(
    ctx: &Context<'_>,
    wb: &mut Xlsx<Cursor<&[u8]>>,
    name: String,
) -> Result<TaskList, Failure> {
    // Merged regions sit after the cell data in the sheet XML, so they need their own pass;
    // it only tokenises the XML and costs far less than reading the cells.
    let merges = wb.merge_cells_by_sheet_name(&name)?;
    let mut import = SheetImport::new(ctx, name.clone());
    let mut reader = wb.worksheet_cells_reader(&name)?;
    let dims = reader.dimensions();
    import.reserve(
        usize::try_from(dims.end.0.saturating_sub(dims.start.0))
            .unwrap_or(0)
            .min(MAX_RESERVED_ROWS),
    );
    let percent: Vec<bool> = reader
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .is_some_and(|f| f.format_code.contains('%'))
        })
        .collect();
    let mut fill = MergeFill::new(merges);
    let mut current: Option<u32> = None;
    let mut cells: Vec<Cell<'_>> = Vec::new();
    while let Some((cell, style)) = reader.next_cell_with_style_id()? {
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if let Some(prev) = current {
                fill.apply(prev, &mut cells);
                import.push_row(prev as usize + 1, &cells)?;
            }
            cells.clear();
            current = Some(r);
        }
        let value = from_data_ref(
            cell.get_value(),
            percent.get(style).copied().unwrap_or(false),
        );
        put(&mut cells, c, value);
    }
    if let Some(prev) = current {
        fill.apply(prev, &mut cells);
        import.push_row(prev as usize + 1, &cells)?;
    }
    Ok(import.finish()?)
}

fn read_range(
    ctx: &Context<'_>,
    name: String,
    range: &calamine::Range<Data>,
    merges: Vec<Dimensions>,
) -> Result<TaskList, TaskError> {
    let mut import = SheetImport::new(ctx, name);
    let Some((r0, c0)) = range.start().filter(|(_, c0)| *c0 < MAX_COLUMNS) else {
        return import.finish();
    };
    import.reserve(range.height());
    let mut fill = MergeFill::new(merges);
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let r = r0 as usize + i;
        cells.clear();
        // Absolute column indices, so that merged regions line up.
        cells.resize(c0 as usize, Cell::Empty);
        cells.extend(row.iter().map(from_data));
        if let Ok(r32) = u32::try_from(r) {
            fill.apply(r32, &mut cells);
        }
        import.push_row(r + 1, &cells)?;
    }
    import.finish()
}

/// Sheets written by hand sometimes hold a stray cell far to the right (XFD1); growing the row
/// to reach it is fine within Excel's column limit.
fn put<'a>(cells: &mut Vec<Cell<'a>>, col: u32, value: Cell<'a>) {
    if col >= MAX_COLUMNS {
        return;
    }
    let c = col as usize;
    if c >= cells.len() {
        cells.resize(c + 1, Cell::Empty);
    }
    cells[c] = value;
}

fn date_of(dt: &ExcelDateTime) -> Cell<'static> {
    if dt.is_datetime()
        && let Some(d) = dt.as_datetime()
    {
        return Cell::Date(d.date());
    }
    Cell::Number {
        value: dt.as_f64(),
        percent: false,
    }
}

/// ODS stores dates as ISO text; the date part is what a deadline needs.
fn iso_date(s: &str) -> Option<Cell<'static>> {
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .ok()
        .map(Cell::Date)
}

fn from_data(d: &Data) -> Cell<'_> {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(Cow::Borrowed(s)),
        Data::Float(f) => Cell::Number {
            value: *f,
            percent: false,
        },
        Data::Int(i) => Cell::Number {
            value: *i as f64,
            percent: false,
        },
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => date_of(dt),
        Data::DateTimeIso(s) => iso_date(s).unwrap_or(Cell::Text(Cow::Borrowed(s))),
        Data::DurationIso(s) => Cell::Text(Cow::Borrowed(s)),
        Data::Error(e) => Cell::Text(Cow::Owned(e.to_string())),
    }
}

fn from_data_ref<'a>(d: &DataRef<'a>, percent: bool) -> Cell<'a> {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::SharedString(s) => Cell::Text(Cow::Borrowed(s)),
        DataRef::String(s) => Cell::Text(Cow::Owned(s.clone())),
        DataRef::Float(f) => Cell::Number { value: *f, percent },
        DataRef::Int(i) => Cell::Number {
            value: *i as f64,
            percent,
        },
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => date_of(dt),
        DataRef::DateTimeIso(s) => iso_date(s).unwrap_or_else(|| Cell::Text(Cow::Owned(s.clone()))),
        DataRef::DurationIso(s) => Cell::Text(Cow::Owned(s.clone())),
        DataRef::Error(e) => Cell::Text(Cow::Owned(e.to_string())),
    }
}

/// Copies the value of a vertically merged region into the rows it covers.
///
/// Offices merge 责任单位 or 包保领导 over the rows of all tasks a unit owns; a person reads
/// every one of those rows as having that value, and so should we. Only the region's first
/// column is filled: a region merged across columns (a note spanning the table) keeps its
/// value in one cell, so it is not mistaken for several fields.
struct MergeFill {
    /// Regions spanning more than one row, by first row.
    regions: Vec<Dimensions>,
    next: usize,
    active: Vec<(Dimensions, Cell<'static>)>,
}

impl MergeFill {
    fn new(mut regions: Vec<Dimensions>) -> Self {
        regions.retain(|d| d.end.0 > d.start.0 && d.start.1 < MAX_COLUMNS);
        regions.sort_by_key(|d| d.start);
        MergeFill {
            regions,
            next: 0,
            active: Vec::new(),
        }
    }

    fn apply(&mut self, row: u32, cells: &mut Vec<Cell<'_>>) {
        if self.regions.is_empty() {
            return;
        }
        self.active.retain(|(d, _)| d.end.0 >= row);
        for (d, value) in &self.active {
            let c = d.start.1 as usize;
            if cells.get(c).is_none_or(Cell::is_blank) {
                put(cells, d.start.1, value.clone());
            }
        }
        while let Some(d) = self.regions.get(self.next) {
            if d.start.0 > row {
                break;
            }
            if d.start.0 == row {
                let value = cells
                    .get(d.start.1 as usize)
                    .cloned()
                    .unwrap_or_default()
                    .into_owned();
                self.active.push((*d, value));
            }
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &'static str) -> Cell<'static> {
        Cell::Text(Cow::Borrowed(s))
    }

    #[test]
    fn vertical_merges_fill_down_horizontal_ones_do_not() {
        let mut fill = MergeFill::new(vec![
            Dimensions::new((2, 1), (4, 1)),
            Dimensions::new((5, 0), (5, 3)),
        ]);
        let mut r2 = vec![t("1"), t("县城管局")];
        fill.apply(2, &mut r2);
        let mut r3 = vec![t("2"), Cell::Empty];
        fill.apply(3, &mut r3);
        assert_eq!(r3[1], t("县城管局"));
        let mut r4 = vec![t("3")];
        fill.apply(4, &mut r4);
        assert_eq!(r4.get(1), Some(&t("县城管局")));
        let mut r5 = vec![t("注：本表为示例"), Cell::Empty, Cell::Empty, Cell::Empty];
        fill.apply(5, &mut r5);
        assert_eq!(r5[1], Cell::Empty);
        let mut r6 = vec![t("4"), Cell::Empty];
        fill.apply(6, &mut r6);
        assert_eq!(r6[1], Cell::Empty);
    }

    #[test]
    fn iso_dates_from_ods() {
        assert_eq!(
            iso_date("2026-12-31T00:00:00"),
            NaiveDate::from_ymd_opt(2026, 12, 31).map(Cell::Date)
        );
        assert_eq!(iso_date("10:00"), None);
        assert_eq!(iso_date("2026-1x-31"), None);
        // Multi-byte text must not be sliced through a character.
        assert_eq!(iso_date("二〇二六年十二月"), None);
    }
}

//! `weekbell export`: the task list with every recorded event merged in, written back out in
//! the source's own columns, so that an office can fold the chat's updates into its master
//! sheet: weekbell never writes the office's own file.
//!
//! # What is written
//!
//! - **An xlsx or xlsm list exported as xlsx is a copy of the office's own workbook**
//!   (`in_place.rs`): every part of it but the list sheet is copied byte for byte, and in
//!   the list sheet only the changed cells are rewritten, each keeping its style. Fonts,
//!   fills, borders, widths, row heights, wrapping, merged titles, frozen panes, print setup,
//!   other sheets and macros stay as they were. The history is not added to the workbook (that
//!   would rewrite the workbook, its relationships and content types, and the document
//!   properties that list the sheets): it goes to a CSV file beside the output,
//!   `NAME-历史.csv` or `NAME-history.csv`, or to `--history FILE`. A copy of an xlsm keeps
//!   its macros and so must be named `.xlsm`; an xlsx's must be named `.xlsx`.
//! - **Sheets (xlsb, xls, ods; xlsx and xlsm exported as CSV) and delimited files (csv, tsv)**
//!   are read again as a grid. Every row (title rows above the header included) and every
//!   column keeps its place and its header text; only the cells of fields that events changed — status, progress,
//!   notes — are rewritten. Everything else is copied as read, dates as dates and numbers
//!   with their number format.
//! - **TOML and JSON lists** have no sheet: the export writes the built-in column set (id,
//!   title, unit, leader, owners, due, status, progress, notes, category; channel, area,
//!   co_units, phones, measures and progress_text when a task has one; a deadline that is no
//!   date as written) under each field's name, or under the header configured in
//!   `[tasks.columns]`, then every key that mapped to no field (`extra`) under its own name, so
//!   that the file loads back the same with the same config.
//! - **A field the source has no column for** (a progress event on a list without 进度): in
//!   the in-place copy, only when asked ([`Options::add_columns`], `--add-columns`); without
//!   it the values are listed in the summary ("not written, the sheet has no column for
//!   them"), never dropped in silence. The rebuilt exports always add it. The new column
//!   comes after the last one, headed 整改进展 / 进度 / 备注 for a Chinese list and `Status` /
//!   `Progress` / `Notes` otherwise (built-in names, so the file loads back). Only changed
//!   cells are filled: an empty cell there reads back as "not set", which is what the task
//!   had. In the copy a new cell takes the style of its left neighbour.
//! - **Status words** are the sheet's own: the word the sheet already uses most for that status
//!   (a list that writes 整改中 and 已完成 gets 已完成 for done), else the first word under
//!   `[tasks.status_values]`, else the built-in word in the list's language (未开始, 整改中,
//!   受阻, 已完成, 长期坚持, 已取消 / todo, in progress, blocked, done, ongoing, cancelled).
//!   A word is only used if it reads back as the same status with this config.
//! - **Progress** is a percentage: in a rebuilt xlsx a number formatted `0%`, in CSV text such
//!   as `60%`; in the copy a number where the cell's style already shows a percentage, else
//!   text such as `60%` (which reads back the same), so that `styles.xml` is never touched.
//! - **In the copy**, a changed cell inside a merged range splits the range as in the rebuilt
//!   export, and a changed cell that holds a formula is left alone and named in the summary.
//!
//! A list is **Chinese** when its header rows contain a Chinese character (for TOML/JSON, whose
//! keys are English field names: when a task's title does). That decides the built-in words
//! above and the name of the history sheet (and of the history file beside an in-place copy):
//! `历史` for a Chinese list, `history` otherwise.
//! TOML/JSON values are not re-read as written, so their statuses come from the config's or
//! the built-in words.
//!
//! # Formats
//!
//! - **xlsx** (rebuilt, for lists that are not xlsx): the list on a sheet named like the
//!   source's (a CSV/TOML/JSON file's name without its extension), header rows bold, changed cells shaded yellow, columns sized to
//!   their text, merged cells kept merged unless a changed cell lies in them; then
//!   the history sheet, one row per recorded event: time (in the config's `timezone`), task id
//!   (the unit for weekly reports), field, old value, new value, who (the person's display
//!   name), source (file/chat/cli/api) and channel. Other sheets of the source are not copied.
//! - **csv**: UTF-8 with a byte-order mark, because Excel reads a CSV without one in the
//!   system's code page (GBK in China) and garbles every Chinese character. The list only;
//!   [`Export::write_history_csv`] writes the history as a second file. A CSV has no merged
//!   cells, so a value merged down over several rows is repeated in each, as the importer
//!   reads it.
//!   The file loads back with the same config as the merged list.
//!
//! Files are written whole or not at all: to a temporary file in the same directory, then
//! renamed over the target. The task list itself is never a target.

mod grid;
mod history;
mod in_place;
mod layout;
mod write;

use crate::config::{Config, ListConfig};
use crate::people::Directory;
use crate::store::TaskEvent;
use crate::tasks::{self, MergeOptions, MergeStats, TaskError};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use layout::Missing;
pub use write::same_file;

/// The in-place copy's cell rewriting, for the fuzz target `export_sheet_xml` (see
/// `in_place::rewrite_for_fuzzing`); not part of weekbell's API.
#[doc(hidden)]
pub fn fuzz_rewrite_sheet_xml(xml: &[u8], cells: &[(u16, u16, String)]) -> Option<bool> {
    in_place::rewrite_for_fuzzing(xml, cells)
}

/// The two output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// The format a file name asks for by its extension (`.xlsx`, `.csv`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            // An in-place copy of a macro workbook keeps its macros and must keep its name.
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an export could not be made. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The task list does not load: the export starts from the same list `check` reads.
    #[error(transparent)]
    Tasks(#[from] TaskError),

    #[error(
        "task list {}: cannot read it again for the export: {message}; run `weekbell check` \
         and try again",
        .path.display()
    )]
    Source { path: PathBuf, message: String },

    #[error(
        "task list {}: cannot line up sheet {sheet:?} with the tasks read from it: {message}; \
         the export would put values in the wrong cells, so nothing was written. Map the \
         columns under [tasks.columns] or export to xlsx from a copy saved by Excel",
        .path.display()
    )]
    Layout {
        path: PathBuf,
        sheet: String,
        message: String,
    },

    #[error(
        "{} is the task list itself; the export never overwrites it. Write to another file \
         (for example -o {}) and copy the changed cells over",
        .path.display(),
        .suggestion.display()
    )]
    WouldOverwriteSource { path: PathBuf, suggestion: PathBuf },

    #[error(
        "{} would be a copy of the task list {}, and Excel opens such a copy only under the \
         source's extension (.{ext}): name it {} instead",
        .path.display(),
        .list.display(),
        .suggestion.display()
    )]
    WrongExtension {
        path: PathBuf,
        list: PathBuf,
        ext: String,
        suggestion: PathBuf,
    },

    #[error(
        "cannot write {}: {source}; check that the directory exists and is writable (nothing \
         was written)",
        .path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot build the {format} file {}: {message}", .path.display())]
    Encode {
        path: PathBuf,
        format: Format,
        message: String,
    },
}

impl ExportError {
    /// True when the input is at fault (exit code 2) rather than the machine (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ExportError::Tasks(_)
                | ExportError::Source { .. }
                | ExportError::Layout { .. }
                | ExportError::WouldOverwriteSource { .. }
                | ExportError::WrongExtension { .. }
        )
    }
}

/// What an export contains, for the one-line summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Task rows (the sheet's other rows are copied too but not counted).
    pub tasks: usize,
    /// Cells whose value differs from the source, appended columns included.
    pub cells_changed: usize,
    /// Headers of the columns appended for fields the source had no column for.
    pub added_columns: Vec<String>,
    /// Values not written because the source has no column for their field and
    /// [`Options::add_columns`] was off (only in an in-place export).
    pub missing: Vec<Missing>,
    /// Cells (`H6`) an event changed that were left as they are because they hold a formula.
    pub formulas: Vec<String>,
    /// Whether the export is a copy of the source workbook with only the changed cells
    /// rewritten (an xlsx or xlsm list exported as xlsx); the history is then not a sheet in it.
    pub in_place: bool,
    /// Every recorded event; all of them are on the history sheet (or in the history file).
    pub events: usize,
    /// How many events changed the list, and why the others did not.
    pub merge: MergeStats,
    pub sheet: String,
    pub history_sheet: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tasks, {} cells changed",
            self.tasks, self.cells_changed
        )?;
        if !self.added_columns.is_empty() {
            write!(f, " (added column {})", self.added_columns.join(", "))?;
        }
        if !self.formulas.is_empty() {
            write!(
                f,
                " ({} left as they are: they hold formulas)",
                self.formulas.join(", ")
            )?;
        }
        write!(f, ", {} events", self.events)?;
        let skipped = self.merge.unknown_task + self.merge.malformed;
        if skipped > 0 {
            write!(
                f,
                " ({} applied, {} for tasks not in the list, {} unreadable)",
                self.merge.applied, self.merge.unknown_task, self.merge.malformed
            )?;
        }
        if !self.missing.is_empty() {
            let values: Vec<String> = self
                .missing
                .iter()
                .map(|m| format!("{} of task {}: {}", m.field, m.task, brief(&m.value)))
                .collect();
            write!(
                f,
                "; not written, the sheet has no column for them (add --add-columns to append \
                 one): {}",
                values.join("; ")
            )?;
        }
        Ok(())
    }
}

/// A value as the one-line summary shows it: one line, at most 40 characters.
fn brief(value: &str) -> String {
    let line: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(cleared)".to_string();
    }
    match line.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// What the caller asks of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    /// Append a column for a field the sheet has none for (status, progress, notes). An
    /// in-place export appends only when asked; the other exports always do, as they rebuild
    /// the sheet anyway.
    pub add_columns: bool,
}

/// The merged list laid out in the source's columns, ready to be written as xlsx or CSV.
#[derive(Debug)]
pub struct Export {
    source: PathBuf,
    format: Format,
    /// The in-place copy of the source workbook (see [`Summary::in_place`]).
    patched: Option<Vec<u8>>,
    sheet: grid::Grid,
    /// Rows above the first task (title and header rows): bold, and excluded from widths.
    first_data_row: usize,
    /// Where the header row is, when the list has one (a list with no tasks may not).
    header_row: Option<usize>,
    /// `(row, column)` of every rewritten cell.
    changed: BTreeSet<(usize, usize)>,
    /// CSV text for cells the importer reads differently from how they print: deadlines stored
    /// as serial numbers or with a time, and progress stored as a bare fraction.
    csv_text: std::collections::HashMap<(usize, usize), String>,
    history: Vec<history::Row>,
    history_headers: [String; 8],
    summary: Summary,
}

/// Reads the task list `list` again, applies `events` to it as the digest
/// does (the latest change to each field wins; notes dated in `config.timezone` and signed
/// with the person's display name) and lays the result out in the source's columns.
///
/// `today` gives the year to deadlines written without one when neither the list's title rows
/// nor the file's modification date do, as in [`tasks::load`].
pub fn prepare(
    config: &Config,
    list: &ListConfig,
    people: &Directory,
    today: NaiveDate,
    events: &[TaskEvent],
    options: Options,
) -> Result<Export, ExportError> {
    let cfg = &list.tasks;
    let path = cfg.source.as_path();
    let bytes = std::fs::read(path).map_err(|source| TaskError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    // The same bytes are imported and laid out, so the rows the importer numbered are the
    // rows of the grid even if the office saves the file meanwhile.
    let list_date = tasks::modified_date(path).unwrap_or(today);
    let mut file = tasks::load_bytes(path, &bytes, cfg, people, list_date)?;
    if let Some(name) = &list.name {
        file.belong_to(name);
    }
    let mut merged = file.tasks.clone();
    let merge = tasks::apply_events_with(
        &mut merged,
        events,
        &MergeOptions {
            zone: config.timezone,
            people: Some(people),
        },
    );
    let source = grid::Source::of(path);
    let mut laid = match source {
        grid::Source::Records => {
            let chinese = file.tasks.iter().any(|t| layout::has_chinese(&t.title));
            layout::records(cfg, &file.tasks, chinese)
        }
        _ => {
            let sheet_name = file.tasks.first().map(|t| t.source.sheet.as_str());
            let grid = grid::read(path, source, &bytes, cfg, sheet_name).map_err(|e| {
                ExportError::Source {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                }
            })?;
            layout::grid(grid, cfg, &file.tasks, list_date).map_err(|(sheet, message)| {
                ExportError::Layout {
                    path: path.to_path_buf(),
                    sheet,
                    message,
                }
            })?
        }
    };
    if source == grid::Source::Records || matches!(source, grid::Source::Delimited(_)) {
        laid.grid.sheet = sheet_title(path);
    }
    let in_place = source == grid::Source::Xlsx && options.format == Format::Xlsx;
    let changes = laid.apply(&file.tasks, &merged, options.add_columns || !in_place);
    let mut formulas = Vec::new();
    let patched = if in_place {
        let edits: BTreeMap<(usize, usize), in_place::Edit> = changes
            .changed
            .iter()
            .chain(&changes.refilled)
            .chain(&changes.added_headers)
            .map(|&(r, c)| {
                let value = laid.grid.value(r, c).clone();
                let progress =
                    laid.is_progress_column(c) && matches!(value, grid::Value::Number(_));
                ((r, c), in_place::Edit { value, progress })
            })
            .collect();
        let patch = in_place::Patch {
            sheet: &laid.grid.sheet,
            edits: &edits,
            unmerged: &changes.unmerged,
            percent_styles: &laid.grid.percent_styles,
        };
        let done = in_place::apply(&bytes, &patch).map_err(|e| ExportError::Source {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        formulas = done.formulas;
        Some(done.bytes)
    } else {
        None
    };

    let history_sheet = history::sheet_name(laid.chinese, &laid.grid.sheet);
    let history = history::rows(
        events,
        people,
        config.timezone,
        &laid.vocabulary,
        laid.chinese,
    );
    let summary = Summary {
        tasks: file.tasks.len(),
        cells_changed: changes
            .changed
            .iter()
            .filter(|at| !formulas.contains(at))
            .count(),
        added_columns: changes.added_columns,
        missing: changes.missing,
        formulas: formulas
            .iter()
            .map(|&(r, c)| format!("{}{}", in_place::column_name(c), r + 1))
            .collect(),
        in_place,
        events: events.len(),
        merge,
        sheet: laid.grid.sheet.clone(),
        history_sheet,
    };
    Ok(Export {
        source: path.to_path_buf(),
        format: options.format,
        patched,
        first_data_row: laid.first_data_row,
        header_row: laid.header_row,
        changed: changes.changed,
        csv_text: laid.csv_text,
        history,
        history_headers: history::headers(laid.chinese, config.timezone),
        sheet: laid.grid,
        summary,
    })
}

impl Export {
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The file's bytes: for xlsx the in-place copy of the source, or the list then the
    /// history sheet; for CSV the list, UTF-8 with a byte-order mark. `path` only names the
    /// file in an error.
    pub fn encode(&self, path: &Path) -> Result<Vec<u8>, ExportError> {
        if let Some(bytes) = &self.patched {
            return Ok(bytes.clone());
        }
        let format = self.format;
        let fail = |message: String| ExportError::Encode {
            path: path.to_path_buf(),
            format,
            message,
        };
        match format {
            Format::Xlsx => write::xlsx(self).map_err(|e| fail(e.to_string())),
            Format::Csv => write::csv_list(self).map_err(|e| fail(e.to_string())),
        }
    }

    /// The history sheet as CSV, UTF-8 with a byte-order mark.
    pub fn history_csv(&self, path: &Path) -> Result<Vec<u8>, ExportError> {
        write::csv_history(self).map_err(|e| ExportError::Encode {
            path: path.to_path_buf(),
            format: Format::Csv,
            message: e.to_string(),
        })
    }

    /// Writes the list to `path`, replacing it whole or leaving it untouched. Refuses the
    /// task list itself, and an in-place copy under another extension than the source's.
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        check_target(path, &self.source)?;
        if self.patched.is_some() {
            check_extension(path, &self.source)?;
        }
        write::atomically(path, &self.encode(path)?)
    }

    /// Writes [`Export::history_csv`] to `path`, with the same guarantees as [`Export::write`].
    pub fn write_history_csv(&self, path: &Path) -> Result<(), ExportError> {
        check_target(path, &self.source)?;
        write::atomically(path, &self.history_csv(path)?)
    }
}

/// A cell of a table written by [`write_table`].
#[derive(Debug, Clone, PartialEq)]
pub enum TableCell {
    Empty,
    Text(String),
    Number(f64),
}

/// Writes `rows` (the first one the header) to `path` as an xlsx workbook with one sheet named
/// `sheet`, or as CSV, by the same writers and with the same guarantees as the list's export:
/// whole or not at all, CSV with a byte-order mark and formula-looking text made text.
pub fn write_table(
    path: &Path,
    format: Format,
    sheet: &str,
    rows: &[Vec<TableCell>],
) -> Result<(), ExportError> {
    let values: Vec<Vec<grid::Value>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    TableCell::Empty => grid::Value::Empty,
                    TableCell::Text(t) => grid::Value::Text(t.clone()),
                    TableCell::Number(n) => grid::Value::Number(*n),
                })
                .collect()
        })
        .collect();
    let fail = |message: String| ExportError::Encode {
        path: path.to_path_buf(),
        format,
        message,
    };
    let bytes = match format {
        Format::Xlsx => write::table_xlsx(sheet, &values).map_err(|e| fail(e.to_string()))?,
        Format::Csv => write::table_csv(&values).map_err(|e| fail(e.to_string()))?,
    };
    write::atomically(path, &bytes)
}

/// An in-place copy keeps the source's content types: an xlsm's say "macro-enabled", which
/// Excel refuses to open under .xlsx, and an xlsx's are refused under .xlsm.
fn check_extension(target: &Path, source: &Path) -> Result<(), ExportError> {
    let ext = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
    };
    let wanted = ext(source).unwrap_or_else(|| "xlsx".to_string());
    if ext(target).as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    Err(ExportError::WrongExtension {
        path: target.to_path_buf(),
        list: source.to_path_buf(),
        suggestion: target.with_extension(&wanted),
        ext: wanted,
    })
}

/// A sheet name from a file name: Excel allows 31 characters and none of `[]:*?/\`.
fn sheet_title(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    let clean = clean.trim_matches('\'').trim();
    if clean.is_empty() {
        "tasks".to_string()
    } else {
        clean.to_string()
    }
}

/// Refuses `target` when it is the task list `source` (by path, after resolving links and
/// `..`), suggesting a sibling file name instead.
pub fn check_target(target: &Path, source: &Path) -> Result<(), ExportError> {
    if !same_file(target, source) {
        return Ok(());
    }
    let stem = source
        .file_stem()
        .map_or_else(|| "tasks".into(), |s| s.to_string_lossy().into_owned());
    let ext = Format::from_path(target).unwrap_or(Format::Xlsx);
    Err(ExportError::WouldOverwriteSource {
        path: target.to_path_buf(),
        suggestion: source.with_file_name(format!("{stem}-merged.{ext}")),
    })
}

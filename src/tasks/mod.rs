//! The task list: import from the office's file, then the model the rest of weekbell uses.
//!
//! Import rules beyond the README's "The task list" (formats, header names, status words and
//! deadlines), for whoever maintains a list:
//! - The header row is the row among the first 20 non-blank rows that maps the most fields and
//!   has a title column; rows above it (titles, dates, merged banners) are ignored.
//! - Fully blank rows are skipped. A row with an empty title and at most one filled cell (a note
//!   such as "填报人：…" under the table, or a pre-numbered 序号 nobody filled in) is skipped too;
//!   an empty title with more cells filled is a bad row. A row with a title is never dropped.
//! - Values of vertically merged cells (a 责任单位 merged over several rows) apply to every row
//!   they cover (xlsx and xls).
//! - Without an id column, or with an empty id cell, the row number is the task's id.
//! - A leader cell naming several people makes them all leaders (包片 and 包线), the first one
//!   first; `[areas]` adds the area's leader ([`add_area_leaders`]).

mod areas;
pub mod assess;
mod cell;
mod columns;
pub(crate) mod delimited;
mod due;
mod error;
mod import;
pub mod merge;
mod model;
mod names;
mod records;
mod roster;
mod rows;
mod status;
mod text;
pub mod warning;
mod workbook;

pub use areas::add_area_leaders;
pub use due::{parse_due, reanchor};
pub use error::{SUPPORTED_EXTENSIONS, TaskError};
pub use import::{load, load_bytes, modified_date};
pub use merge::{
    MergeOptions, MergeStats, WeekActivity, apply_events, apply_events_with, week_activity,
};
pub use model::{
    Assignee, ColumnReport, Details, Extension, ExtensionRequest, Extra, FoundBy, ListDate,
    MappedColumn, RowRef, RowWarning, SheetPerson, Status, Task, TaskList,
};
pub use names::split_names;
pub use roster::{RosterEntry, load_roster};
pub use status::StatusMap;

//! The task list as weekbell sees it once a source file has been read.

use chrono::NaiveDate;
use serde::Serialize;
use serde::ser::SerializeMap;
use std::fmt;
use std::sync::Arc;

pub use crate::types::Status;

use crate::config::{ChannelConfig, TaskFilter, UNNAMED_LIST};

/// A name written in an owners or leader cell, and the configured person it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignee {
    /// The text as written in the sheet (one name after splitting the cell).
    pub name: String,
    /// The `id` of the configured person it matched, by id or display name.
    pub person: Option<String>,
}

/// Where a task came from, so that errors and exports can point back at the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// Sheet name for workbooks; the file name for CSV, TOML and JSON.
    pub sheet: String,
    /// 1-based row number as a spreadsheet program shows it (or the entry index for TOML/JSON).
    pub row: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    /// Responsible unit (责任单位); empty when the list has no such column.
    pub unit: String,
    /// The leader answerable for the task (包保领导): the first one the list names.
    pub leader: Option<Assignee>,
    /// Further leaders: the others the leader cell names (包片 and 包线: one by area, one by
    /// line), then the area's leader from `[areas]`.
    pub co_leaders: Vec<Assignee>,
    pub owners: Vec<Assignee>,
    /// `None` means no deadline (ongoing work such as 长期坚持), or one that could not be read.
    pub due: Option<NaiveDate>,
    /// The deadline cell as written when it could not be read as a date. The task still loads
    /// (one odd cell should not stop a whole list) and the digest lists it under "deadline to
    /// be confirmed" until someone fixes the cell.
    pub unreadable_due: Option<String>,
    /// The file's save date, when `due` was read against it (a year-less 12月15日前, 月底,
    /// 立行立改) rather than against a date the list states. Saved again next year, the file
    /// would move such a deadline by a year; so the day weekbell first read the row against
    /// is kept in the store, and the text ([`Details::due_text`]) is read again against that
    /// day ([`reanchor`](crate::tasks::reanchor)).
    pub due_anchored: Option<NaiveDate>,
    /// The `[[lists]]` entry the task comes from (its `name`); `None` for `[tasks]`. The id of
    /// a named list's task starts with that name (`央督-7`).
    pub list: Option<String>,
    pub status: Status,
    /// Percent complete, 0–100, when the list or a chat update gave one.
    pub progress: Option<u8>,
    pub notes: String,
    pub category: String,
    /// A channel name that this task is routed to, overriding the channels' own filters.
    pub channel: Option<String>,
    /// What the row says beyond the fields weekbell acts on, kept so that `tasks --json` shows
    /// it and an export writes it back.
    #[serde(flatten)]
    pub details: Details,
    pub source: RowRef,
    /// Deadline extensions (延期) asked for and granted in the chat.
    pub extension: Extension,
}

/// A task's deadline extensions (延期申请): the deadline it had before the first one granted,
/// and a request waiting for the leader's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Extension {
    /// The deadline before the first extension granted; `None` while none was.
    pub original_due: Option<NaiveDate>,
    /// The day the latest extension was granted.
    pub granted_on: Option<NaiveDate>,
    /// A request nobody has answered yet.
    pub pending: Option<ExtensionRequest>,
}

/// An extension asked for: to when, why, by whom, when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtensionRequest {
    pub to: NaiveDate,
    pub reason: String,
    /// The person id of who asked.
    pub by: String,
    pub at_ms: i64,
    /// Asked after the deadline had already passed: allowed, and marked.
    pub late: bool,
}

/// The columns of a row that weekbell shows and keeps but does not act on. Empty strings (and
/// an empty `co_units`) where the list has no such column or the cell is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Details {
    /// Where the task is (所在乡镇, 属地, 区域).
    pub area: String,
    /// Assisting units (配合单位, 协办单位), split like owners.
    pub co_units: Vec<String>,
    /// The measures (整改措施, 工作措施) as written.
    pub measures: String,
    /// Progress in words (整改进展情况, 推进情况), as written.
    pub progress_text: String,
    /// The phone cell (联系电话) as written.
    pub phones: String,
    /// The deadline cell as written (`2026年12月底前`, `立行立改`), whether or not it was read.
    pub due_text: String,
    /// Every other column, by its header.
    pub extra: Extra,
}

/// The cells of columns that map to no field, in column order, by header. The headers are
/// shared by every task of a list: a row holds its values and an index per value, so a
/// 100,000-row list does not hold 100,000 copies of each header (BENCHMARKS.md, import).
/// Empty cells are not kept.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    headers: Arc<[String]>,
    values: Vec<(u32, String)>,
}

impl Extra {
    /// An empty row of extra values over `headers`, the list's unmapped column headers.
    pub fn new(headers: Arc<[String]>) -> Self {
        Extra {
            headers,
            values: Vec::new(),
        }
    }

    /// Keeps `value` under the header at `index` of the shared headers; an index past them
    /// is ignored (it would name no header).
    pub fn push(&mut self, index: usize, value: String) {
        if index < self.headers.len()
            && let Ok(i) = u32::try_from(index)
        {
            self.values.push((i, value));
        }
    }

    /// (header, value) pairs in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().filter_map(|(i, v)| {
            self.headers
                .get(*i as usize)
                .map(|h| (h.as_str(), v.as_str()))
        })
    }

    /// The value under `header`, if the row has one.
    pub fn get(&self, header: &str) -> Option<&str> {
        self.iter().find(|(h, _)| *h == header).map(|(_, v)| v)
    }

    /// Every unmapped header of the list, with or without a value in this row.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (h, v) in self.iter() {
            map.serialize_entry(h, v)?;
        }
        map.end()
    }
}

impl Task {
    /// Whether `filter` (a channel's or schedule's `units`/`categories`) takes this task.
    pub fn passes(&self, filter: &TaskFilter) -> bool {
        (filter.units.is_empty() || filter.units.contains(&self.unit))
            && (filter.categories.is_empty() || filter.categories.contains(&self.category))
            && (filter.lists.is_empty()
                || filter
                    .lists
                    .iter()
                    .any(|l| *l == self.list.as_deref().unwrap_or(UNNAMED_LIST)))
    }

    /// Whether `channel` covers this task: a task routed by its own `channel` column goes to
    /// that channel only; any other task to every channel whose `units`/`categories` take it.
    /// Digests, reminders and the commands sent through the channel all see these tasks alone.
    pub fn covered_by(&self, channel: &ChannelConfig) -> bool {
        match &self.channel {
            Some(name) => *name == channel.name,
            None => self.passes(&channel.filter),
        }
    }

    /// A task is overdue on `today` when it is still open and its deadline has passed.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status.is_open() && self.due.is_some_and(|d| d < today)
    }

    /// Every leader of the task, the first one first.
    pub fn leaders(&self) -> impl Iterator<Item = &Assignee> {
        self.leader.iter().chain(&self.co_leaders)
    }

    /// The deadline the list first gave, before any extension.
    pub fn due_original(&self) -> Option<NaiveDate> {
        self.extension.original_due.or(self.due)
    }

    /// The deadline on-time figures count against: the extended one only when the extension
    /// was granted by the original deadline; one granted after it does not make a late task
    /// punctual.
    pub fn due_for_on_time(&self) -> Option<NaiveDate> {
        match (self.extension.original_due, self.extension.granted_on) {
            (Some(original), Some(granted)) if granted > original => Some(original),
            _ => self.due,
        }
    }

    /// A copy with only what events change and what the merge reads: the id, status,
    /// progress, deadline and extensions, the rest left empty, so that the assessment copies
    /// no row's text (BENCHMARKS.md, "Assessment").
    pub(crate) fn merge_skeleton(&self) -> Task {
        Task {
            id: self.id.clone(),
            title: String::new(),
            unit: String::new(),
            leader: None,
            co_leaders: Vec::new(),
            owners: Vec::new(),
            due: self.due,
            unreadable_due: None,
            due_anchored: None,
            list: None,
            status: self.status,
            progress: self.progress,
            notes: String::new(),
            category: String::new(),
            channel: None,
            details: Details::default(),
            source: RowRef {
                sheet: String::new(),
                row: self.source.row,
            },
            extension: self.extension.clone(),
        }
    }

    /// Whole days past the deadline on `today` (0 when not overdue).
    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        match self.due {
            Some(d) if self.is_overdue(today) => (today - d).num_days(),
            _ => 0,
        }
    }
}

#[cfg(test)]
impl Task {
    /// An open task with an id and a title and nothing else, for tests to fill in.
    pub(crate) fn sample(id: &str) -> Task {
        Task {
            id: id.into(),
            title: format!("task {id}"),
            unit: String::new(),
            leader: None,
            owners: vec![],
            due: None,
            unreadable_due: None,
            due_anchored: None,
            extension: Default::default(),
            co_leaders: Vec::new(),
            list: None,
            status: Status::Todo,
            progress: None,
            notes: String::new(),
            category: String::new(),
            channel: None,
            details: Details::default(),
            source: RowRef {
                sheet: "s".into(),
                row: 2,
            },
        }
    }
}

/// A problem with one row that did not stop the rest of the list from loading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowWarning {
    pub sheet: String,
    pub row: usize,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}", self.sheet, self.row)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The date deadlines written without a year (`12月15日前`) are read against, and where it
/// came from, so that `check` can say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "from", content = "date", rename_all = "snake_case")]
pub enum ListDate {
    /// A date in the rows above the header (更新日期：2026年12月4日).
    Title(NaiveDate),
    /// The day the file was last saved, or the day of reading where the file system keeps none.
    Saved(NaiveDate),
}

impl ListDate {
    pub fn date(self) -> NaiveDate {
        match self {
            ListDate::Title(d) | ListDate::Saved(d) => d,
        }
    }
}

impl TaskList {
    /// Makes every task `[[lists]]` entry `name`'s: its id gains the name in front (`央督-7`),
    /// the one form ids of named lists take everywhere (commands, events, digests, export).
    pub fn belong_to(&mut self, name: &str) {
        for t in &mut self.tasks {
            t.id = format!("{name}-{}", t.id);
            t.list = Some(name.to_string());
        }
    }

    /// The rows whose deadline was read against the file's save date ([`Task::due_anchored`]),
    /// with that date as `YYYY-MM-DD`: what the store remembers the first time it sees them.
    pub fn anchored_rows(&self) -> Vec<(String, String)> {
        self.tasks
            .iter()
            .filter_map(|t| Some((t.id.clone(), t.due_anchored?.format("%Y-%m-%d").to_string())))
            .collect()
    }
}

/// The loaded list: tasks in source order, and warnings that a person should see but that do not
/// block sending (unknown owners, for instance).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    pub warnings: Vec<RowWarning>,
    /// `None` only for a list built by hand rather than loaded.
    pub list_date: Option<ListDate>,
    /// Which column became which field, and how it was found; `None` for a list built by hand.
    pub columns: Option<ColumnReport>,
    /// People found in the sheet: an owner with a phone in the row (see [`SheetPerson`]).
    pub people: Vec<SheetPerson>,
}

/// How a column was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// Its header is one of the field's names, built in or under `[tasks.columns]`.
    Name,
    /// Its header contains a word that names the field (县级包保领导 → leader).
    Rule,
    /// Its header says nothing, its cells do (a column of status words, of dates).
    Content,
}

/// One column of the list and the field it became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedColumn {
    /// The header as written in the sheet.
    pub header: String,
    /// The field's name (`leader`, `co_units`), or `completed` for a completion-date column.
    pub field: String,
    pub found_by: FoundBy,
}

/// What `check` shows about the list's columns: the map, the columns kept without a field, and
/// what is worth a warning (no leader, no deadline, no status, a status column of free text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ColumnReport {
    /// In column order.
    pub mapped: Vec<MappedColumn>,
    /// Headers of the columns kept as `extra`, in column order.
    pub kept: Vec<String>,
    /// In the config's `locale`.
    pub warnings: Vec<String>,
}

/// A person the sheet itself names with a phone: an owners cell with one name and a phone
/// cell in the same row. Configured `[[people]]` win over these (see `plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetPerson {
    pub name: String,
    pub mobile: String,
    /// The first row that gave this phone.
    pub row: usize,
}

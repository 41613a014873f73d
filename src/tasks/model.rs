//! The task list as weekbell sees it once a source file has been read.

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

pub use crate::types::Status;

use crate::config::{ChannelConfig, TaskFilter};

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
    pub leader: Option<Assignee>,
    pub owners: Vec<Assignee>,
    /// `None` means no deadline (ongoing work such as 长期坚持), or one that could not be read.
    pub due: Option<NaiveDate>,
    /// The deadline cell as written when it could not be read as a date. The task still loads
    /// (one odd cell should not stop a whole list) and the digest lists it under "deadline to
    /// be confirmed" until someone fixes the cell.
    pub unreadable_due: Option<String>,
    /// The deadline cell as written when its date was read against the file's save date (a
    /// year-less 12月15日前, 月底, 立行立改) rather than a date the list states. Saved again next
    /// year, the file would move such a deadline by a year; so the day weekbell first read the
    /// row against is kept in the store, and the text is read again against that day
    /// ([`reanchor`](crate::tasks::reanchor)).
    pub due_anchor: Option<String>,
    pub status: Status,
    /// Percent complete, 0–100, when the list or a chat update gave one.
    pub progress: Option<u8>,
    pub notes: String,
    pub category: String,
    /// A channel name that this task is routed to, overriding the channels' own filters.
    pub channel: Option<String>,
    pub source: RowRef,
}

impl Task {
    /// Whether `filter` (a channel's or schedule's `units`/`categories`) takes this task.
    pub fn passes(&self, filter: &TaskFilter) -> bool {
        (filter.units.is_empty() || filter.units.contains(&self.unit))
            && (filter.categories.is_empty() || filter.categories.contains(&self.category))
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
            due_anchor: None,
            status: Status::Todo,
            progress: None,
            notes: String::new(),
            category: String::new(),
            channel: None,
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
    /// The rows whose deadline was read against the file's save date ([`Task::due_anchor`]),
    /// with that date as `YYYY-MM-DD`: what the store remembers the first time it sees them.
    pub fn anchored_rows(&self) -> Vec<(String, String)> {
        let Some(day) = self.list_date.map(ListDate::date) else {
            return Vec::new();
        };
        let day = day.format("%Y-%m-%d").to_string();
        self.tasks
            .iter()
            .filter(|t| t.due_anchor.is_some())
            .map(|t| (t.id.clone(), day.clone()))
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
}

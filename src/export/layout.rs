//! Where the tasks are in the grid, which columns hold the fields an event can change, and the
//! words to write into them.
//!
//! The importer's column map is private to `tasks`, and its header rules (built-in names,
//! `[tasks.columns]`, two-level headers) are the one place that decides what a column means.
//! Rather than keep a second copy of those rules that could drift, the export asks the
//! importer: it loads a copy of the rows above the first task with one made-up task row
//! under them, with a recognisable value in one column, and sees which field the value
//! landed in. Only columns with header text are asked about, a handful per sheet.

use super::grid::{Grid, GridCell, Region, Value, format_number};
use crate::config::{Field, TasksConfig};
use crate::people::Directory;
use crate::tasks::{self, Status, StatusMap, Task};
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap};

/// What the export knows about the sheet once it is laid out.
#[derive(Debug)]
pub(super) struct Laid {
    pub grid: Grid,
    /// Rows above this one are title and header rows.
    pub first_data_row: usize,
    pub header_row: Option<usize>,
    /// The grid row of each task, in task order.
    task_rows: Vec<usize>,
    columns: Columns,
    pub vocabulary: Vocabulary,
    pub chinese: bool,
    /// See [`super::Export`]'s field of the same name.
    pub csv_text: HashMap<(usize, usize), String>,
}

/// The columns of the fields events change (and of the deadline, for CSV text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Columns {
    pub status: Option<usize>,
    pub progress: Option<usize>,
    pub notes: Option<usize>,
    pub due: Option<usize>,
}

pub(super) struct Changes {
    pub changed: BTreeSet<(usize, usize)>,
    pub added_columns: Vec<String>,
    /// `(row, column)` of the header cell of each appended column.
    pub added_headers: Vec<(usize, usize)>,
    /// Values left unwritten because the sheet has no column for their field and appending
    /// one was not asked for.
    pub missing: Vec<Missing>,
    /// Merged ranges split because a changed cell lay in them, and the cells of their first
    /// column that now repeat the range's value.
    pub unmerged: Vec<Region>,
    pub refilled: BTreeSet<(usize, usize)>,
}

/// A value the export could not place: the field's name as a header would have it, the task,
/// and the value as the sheet would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub field: String,
    pub task: String,
    pub value: String,
}

/// The number format of progress cells the export writes: shown as 60%, read back as 60.
const PERCENT: &str = "0%";

impl Laid {
    /// Writes the fields that differ between `file` (the tasks as the source has them) and
    /// `merged` (with the events applied) into the grid. A field the sheet has no column for
    /// gets one appended when `add_columns`, else its values are listed in
    /// [`Changes::missing`].
    pub(super) fn apply(&mut self, file: &[Task], merged: &[Task], add_columns: bool) -> Changes {
        let mut changes = Changes {
            changed: BTreeSet::new(),
            added_columns: Vec::new(),
            added_headers: Vec::new(),
            missing: Vec::new(),
            unmerged: Vec::new(),
            refilled: BTreeSet::new(),
        };
        let mut next_col = self.grid.width();
        for ((before, after), &row) in file.iter().zip(merged).zip(&self.task_rows.clone()) {
            if before.status != after.status {
                let word = self.vocabulary.word(after.status).to_string();
                match self.column(Field::Status, &mut next_col, add_columns, &mut changes) {
                    Some(col) => {
                        self.put(row, col, GridCell::new(Value::Text(word)), &mut changes);
                    }
                    None => self.missing(Field::Status, before, word, &mut changes),
                }
            }
            if before.progress != after.progress {
                let cell = match after.progress {
                    Some(p) => GridCell {
                        value: Value::Number(f64::from(p) / 100.0),
                        format: Some(self.grid.format_index(PERCENT)),
                    },
                    None => GridCell::default(),
                };
                match self.column(Field::Progress, &mut next_col, add_columns, &mut changes) {
                    Some(col) => self.put(row, col, cell, &mut changes),
                    None => {
                        let shown = after.progress.map_or_else(String::new, |p| format!("{p}%"));
                        self.missing(Field::Progress, before, shown, &mut changes);
                    }
                }
            }
            if before.notes != after.notes {
                let value = if after.notes.is_empty() {
                    Value::Empty
                } else {
                    Value::Text(after.notes.clone())
                };
                match self.column(Field::Notes, &mut next_col, add_columns, &mut changes) {
                    Some(col) => self.put(row, col, GridCell::new(value), &mut changes),
                    None => self.missing(Field::Notes, before, after.notes.clone(), &mut changes),
                }
            }
        }
        changes
    }

    fn missing(&self, field: Field, task: &Task, value: String, changes: &mut Changes) {
        changes.missing.push(Missing {
            field: appended_header(field, self.chinese).to_string(),
            task: task.id.clone(),
            value,
        });
    }

    /// Whether a field's values would be put into progress cells (a percentage).
    pub(super) fn is_progress_column(&self, col: usize) -> bool {
        self.columns.progress == Some(col)
    }

    /// The field's column; appended after the last one (with its header) the first time a
    /// list without it needs it, when `add`; else `None`.
    fn column(
        &mut self,
        field: Field,
        next_col: &mut usize,
        add: bool,
        changes: &mut Changes,
    ) -> Option<usize> {
        let slot = match field {
            Field::Status => &mut self.columns.status,
            Field::Progress => &mut self.columns.progress,
            _ => &mut self.columns.notes,
        };
        if let Some(c) = *slot {
            return Some(c);
        }
        if !add {
            return None;
        }
        let col = *next_col;
        *next_col += 1;
        *slot = Some(col);
        // A field mapped under [tasks.columns] always has its column (the importer refuses a
        // sheet without it), so an appended column takes a built-in header.
        let header = appended_header(field, self.chinese).to_string();
        let row = self.header_row.unwrap_or(0);
        self.grid
            .set(row, col, GridCell::new(Value::Text(header.clone())));
        changes.added_columns.push(header);
        changes.added_headers.push((row, col));
        Some(col)
    }

    fn put(&mut self, row: usize, col: usize, cell: GridCell, changes: &mut Changes) {
        self.unmerge_at(row, col, changes);
        self.csv_text.remove(&(row, col));
        self.grid.set(row, col, cell);
        changes.changed.insert((row, col));
    }

    /// A merged range cannot hold two values: the range that covers a changed cell is split,
    /// and its value repeated down its first column as the importer read it.
    fn unmerge_at(&mut self, row: usize, col: usize, changes: &mut Changes) {
        let Some(i) = self.grid.merges.iter().position(|m| m.contains(row, col)) else {
            return;
        };
        let m = self.grid.merges.remove(i);
        changes.unmerged.push(m);
        let Some(top) = self.grid.cell(m.first_row, m.first_col).cloned() else {
            return;
        };
        for r in m.first_row + 1..=m.last_row {
            if (r, m.first_col) != (row, col) && self.grid.value(r, m.first_col).is_blank() {
                self.grid.set(r, m.first_col, top.clone());
                changes.refilled.insert((r, m.first_col));
            }
        }
        changes.refilled.remove(&(row, col));
    }
}

fn appended_header(field: Field, chinese: bool) -> &'static str {
    match (field, chinese) {
        (Field::Status, true) => "整改进展",
        (Field::Progress, true) => "进度",
        (Field::Notes, true) => "备注",
        (Field::Status, false) => "Status",
        (Field::Progress, false) => "Progress",
        _ => "Notes",
    }
}

/// The words written for each status: see the module docs of `export`.
#[derive(Debug, Clone)]
pub(super) struct Vocabulary {
    words: [String; Status::ALL.len()],
}

fn slot(s: Status) -> usize {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

impl Vocabulary {
    /// `seen` is every status cell of the sheet as written, with the status it was read as.
    pub(super) fn new(seen: &[(Status, String)], cfg: &TasksConfig, chinese: bool) -> Self {
        let map = StatusMap::new(&cfg.status_values);
        let reads_as = |w: &str, s: Status| !w.trim().is_empty() && map.parse(w) == Ok(s);
        let words = Status::ALL.map(|s| {
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for (_, w) in seen.iter().filter(|(st, _)| *st == s) {
                match counts.iter_mut().find(|(x, _)| x == w) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((w.as_str(), 1)),
                }
            }
            // The most used word; `max_by_key` keeps the last of equals, so reverse first to
            // let the word seen first win a tie.
            let sheet = counts
                .iter()
                .rev()
                .max_by_key(|(_, n)| *n)
                .map(|(w, _)| (*w).to_string());
            let configured = cfg.status_values.get(&s).and_then(|ws| ws.first()).cloned();
            let built_in = built_in_word(s, chinese).to_string();
            [sheet, configured, Some(built_in)]
                .into_iter()
                .flatten()
                .find(|w| reads_as(w, s))
                .unwrap_or_else(|| s.as_str().to_string())
        });
        Vocabulary { words }
    }

    pub(super) fn word(&self, s: Status) -> &str {
        &self.words[slot(s)]
    }
}

fn built_in_word(s: Status, chinese: bool) -> &'static str {
    match (s, chinese) {
        (Status::Todo, true) => "未开始",
        (Status::InProgress, true) => "整改中",
        (Status::Blocked, true) => "受阻",
        (Status::Done, true) => "已完成",
        (Status::Ongoing, true) => "长期坚持",
        (Status::Cancelled, true) => "已取消",
        (Status::Review, true) => "待审核",
        (Status::InProgress, false) => "in progress",
        (s, false) => s.as_str(),
    }
}

/// Han characters (and the CJK punctuation block) mark a Chinese list.
pub(super) fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c as u32,
            0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
            | 0x20000..=0x3FFFD)
    })
}

/// Lays out a sheet or delimited file. The error is `(sheet, message)`.
pub(super) fn grid(
    grid: Grid,
    cfg: &TasksConfig,
    tasks: &[Task],
    today: NaiveDate,
) -> Result<Laid, (String, String)> {
    let fail = |grid: &Grid, message: String| (grid.sheet.clone(), message);
    let fill = grid.fill_map();
    let filled = |r: usize, c: usize| -> &Value {
        let v = grid.value(r, c);
        match fill.get(&(r, c)) {
            Some(&(r0, c0)) if v.is_blank() => grid.value(r0, c0),
            _ => v,
        }
    };
    let task_rows: Vec<usize> = tasks
        .iter()
        .map(|t| t.source.row.saturating_sub(1))
        .collect();
    let Some(&first) = task_rows.iter().min() else {
        // Nothing can change in a list without tasks: the sheet is copied as it is.
        let chinese = grid
            .rows
            .iter()
            .take(20)
            .flatten()
            .any(|c| has_chinese(&c.value.text()));
        return Ok(Laid {
            first_data_row: 0,
            header_row: None,
            task_rows,
            columns: Columns::default(),
            vocabulary: Vocabulary::new(&[], cfg, chinese),
            chinese,
            csv_text: HashMap::new(),
            grid,
        });
    };

    let width = grid.width();
    let title_col = (0..width)
        .find(|&c| {
            tasks
                .iter()
                .zip(&task_rows)
                .all(|(t, &r)| filled(r, c).text() == t.title)
        })
        .ok_or_else(|| {
            fail(
                &grid,
                format!(
                    "no column holds the titles of the rows the importer read (row {} on)",
                    first + 1
                ),
            )
        })?;
    // Rows between the header and the first task have an empty title cell (a second header
    // row, blank or note rows); the header row is the nearest row above with a title header.
    let header_row = (0..first)
        .rev()
        .find(|&r| !filled(r, title_col).is_blank())
        .ok_or_else(|| fail(&grid, format!("no header row above row {}", first + 1)))?;

    let probed: Vec<usize> = (0..width)
        .filter(|&c| c != title_col && (header_row..first).any(|r| !filled(r, c).is_blank()))
        .collect();
    let probe_width = probed.iter().copied().chain([title_col]).max().unwrap_or(0) + 1;
    let prefix: Vec<Vec<String>> = (0..first)
        .map(|r| (0..probe_width).map(|c| filled(r, c).text()).collect())
        .collect();
    let asker = Asker {
        prefix: &prefix,
        title_col,
        cfg: probe_config(cfg),
        today,
    };
    let columns = asker.columns(&probed);

    // The importer found these fields, or every task would have their empty value: a task
    // with a value and no column means the probe and the importer disagree.
    let missing = [
        (
            columns.status,
            tasks.iter().any(|t| t.status != Status::Todo),
            "status",
        ),
        (
            columns.progress,
            tasks.iter().any(|t| t.progress.is_some()),
            "progress",
        ),
        (
            columns.notes,
            tasks.iter().any(|t| !t.notes.is_empty()),
            "notes",
        ),
    ]
    .into_iter()
    .find(|(col, has_values, _)| col.is_none() && *has_values);
    if let Some((_, _, field)) = missing {
        return Err(fail(
            &grid,
            format!("the tasks have {field} values but the export could not find their column"),
        ));
    }

    let seen: Vec<(Status, String)> = match columns.status {
        Some(c) => tasks
            .iter()
            .zip(&task_rows)
            .map(|(t, &r)| (t.status, filled(r, c).text()))
            .filter(|(_, w)| !w.is_empty())
            .collect(),
        None => Vec::new(),
    };
    let chinese = (header_row..first)
        .flat_map(|r| (0..width).map(move |c| (r, c)))
        .any(|(r, c)| has_chinese(&filled(r, c).text()));
    let vocabulary = Vocabulary::new(&seen, cfg, chinese);

    let mut csv_text = HashMap::new();
    for (t, &r) in tasks.iter().zip(&task_rows) {
        if let (Some(c), Some(due)) = (columns.due, t.due)
            && matches!(filled(r, c), Value::Number(_) | Value::DateTime(_))
        {
            csv_text.insert((r, c), due.format("%Y-%m-%d").to_string());
        }
        if let (Some(c), Some(p)) = (columns.progress, t.progress) {
            let percent_formatted = grid
                .cell(r, c)
                .and_then(|cell| grid.format_code(cell))
                .is_some_and(|f| f.contains('%'));
            if matches!(filled(r, c), Value::Number(_)) && !percent_formatted {
                csv_text.insert((r, c), format!("{p}%"));
            }
        }
    }

    Ok(Laid {
        first_data_row: first,
        header_row: Some(header_row),
        task_rows,
        columns,
        vocabulary,
        chinese,
        csv_text,
        grid,
    })
}

fn probe_config(cfg: &TasksConfig) -> TasksConfig {
    TasksConfig {
        source: "probe.csv".into(),
        sheet: None,
        columns: cfg.columns.clone(),
        status_values: cfg.status_values.clone(),
        // The probe is written as UTF-8 whatever the source's encoding.
        encoding: None,
        max_unpacked_size: cfg.max_unpacked_size,
        date_order: cfg.date_order,
        locale: cfg.locale,
    }
}

/// Asks the importer what a column means (see the module docs).
struct Asker<'a> {
    prefix: &'a [Vec<String>],
    title_col: usize,
    cfg: TasksConfig,
    today: NaiveDate,
}

const PROBE_TITLE: &str = "weekbell export probe";
const PROBE_TEXT: &str = "weekbell-export-probe";
const PROBE_PROGRESS: &str = "37%";

impl Asker<'_> {
    fn columns(&self, probed: &[usize]) -> Columns {
        let probe_date = NaiveDate::from_ymd_opt(2031, 1, 5);
        let status_map = StatusMap::new(&self.cfg.status_values);
        let status_word = ["done", "blocked", "cancelled", "in_progress", "ongoing"]
            .into_iter()
            .find(|w| status_map.parse(w).is_ok_and(|s| s != Status::Todo));
        let mut cols = Columns::default();
        for &c in probed {
            // Only the checked fields (due, status, progress) refuse free text.
            if let Some(t) = self.ask(c, PROBE_TEXT) {
                if t.notes == PROBE_TEXT && cols.notes.is_none() {
                    cols.notes = Some(c);
                }
                continue;
            }
            if cols.due.is_none()
                && self
                    .ask(c, "2031-01-05")
                    .is_some_and(|t| t.due.is_some() && t.due == probe_date)
            {
                cols.due = Some(c);
            } else if cols.progress.is_none()
                && self
                    .ask(c, PROBE_PROGRESS)
                    .is_some_and(|t| t.progress == Some(37))
            {
                cols.progress = Some(c);
            } else if cols.status.is_none()
                && let Some(w) = status_word
                && self.ask(c, w).is_some_and(|t| t.status != Status::Todo)
            {
                cols.status = Some(c);
            }
        }
        cols
    }

    /// The one task the importer reads from the header rows plus a row holding `value` in
    /// column `col`, or `None` when it refuses the value.
    fn ask(&self, col: usize, value: &str) -> Option<Task> {
        let width = self.prefix.first().map_or(0, Vec::len).max(col + 1);
        let mut row = vec![String::new(); width];
        row[self.title_col] = PROBE_TITLE.to_string();
        row[col] = value.to_string();
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for r in self.prefix.iter().chain([&row]) {
            out.write_record(r).ok()?;
        }
        let bytes = out.into_inner().ok()?;
        let list = tasks::load_bytes(
            "probe.csv",
            &bytes,
            &self.cfg,
            &Directory::default(),
            self.today,
        )
        .ok()?;
        list.tasks.into_iter().find(|t| t.title == PROBE_TITLE)
    }
}

/// TOML and JSON lists: the built-in column set, one row per task.
pub(super) fn records(cfg: &TasksConfig, tasks: &[Task], chinese: bool) -> Laid {
    let mut fields = vec![
        Field::Id,
        Field::Title,
        Field::Unit,
        Field::Leader,
        Field::Owners,
        Field::Due,
        Field::Status,
        Field::Progress,
        Field::Notes,
        Field::Category,
    ];
    if tasks.iter().any(|t| t.channel.is_some()) {
        fields.push(Field::Channel);
    }
    // The fields a sheet may carry beyond these, each only where some task has a value, so a
    // list that never had them exports as before.
    let details = [
        (
            Field::Area,
            tasks.iter().any(|t| !t.details.area.is_empty()),
        ),
        (
            Field::CoUnits,
            tasks.iter().any(|t| !t.details.co_units.is_empty()),
        ),
        (
            Field::Phones,
            tasks.iter().any(|t| !t.details.phones.is_empty()),
        ),
        (
            Field::Measures,
            tasks.iter().any(|t| !t.details.measures.is_empty()),
        ),
        (
            Field::ProgressText,
            tasks.iter().any(|t| !t.details.progress_text.is_empty()),
        ),
    ];
    fields.extend(details.iter().filter(|(_, any)| *any).map(|(f, _)| *f));
    // Every key that mapped to no field, under its own name, so the file loads back the same.
    let extra_headers: Vec<String> = tasks
        .iter()
        .map(|t| t.details.extra.headers())
        .find(|h| !h.is_empty())
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let col = |f: Field| fields.iter().position(|x| *x == f);
    let columns = Columns {
        status: col(Field::Status),
        progress: col(Field::Progress),
        notes: col(Field::Notes),
        due: col(Field::Due),
    };
    let vocabulary = Vocabulary::new(&[], cfg, chinese);
    let mut grid = Grid {
        sheet: String::new(),
        ..Grid::default()
    };
    for (c, f) in fields.iter().enumerate() {
        let header = cfg
            .columns
            .get(f)
            .cloned()
            .unwrap_or_else(|| f.as_str().to_string());
        grid.set(0, c, GridCell::new(Value::Text(header)));
    }
    for (i, h) in extra_headers.iter().enumerate() {
        grid.set(0, fields.len() + i, GridCell::new(Value::Text(h.clone())));
    }
    let percent = grid.format_index(PERCENT);
    let separator = if chinese { "、" } else { ", " };
    let text = |s: &str| {
        if s.is_empty() {
            Value::Empty
        } else {
            Value::Text(s.to_string())
        }
    };
    for (i, t) in tasks.iter().enumerate() {
        let row = i + 1;
        for (c, f) in fields.iter().enumerate() {
            let mut format = None;
            let value = match f {
                Field::Id => text(&t.id),
                Field::Title => text(&t.title),
                Field::Unit => text(&t.unit),
                Field::Leader if t.leader.is_none() => Value::Empty,
                Field::Leader => text(
                    &t.leaders()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                Field::Owners => text(
                    &t.owners
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(separator),
                ),
                // Without a date, the cell as written (长期坚持, 待定) reads back the same.
                Field::Due => t.due.map_or_else(|| text(&t.details.due_text), Value::Date),
                // An untouched task has no status written, as in the source.
                Field::Status => text(vocabulary.word(t.status)),
                Field::Progress => match t.progress {
                    Some(p) => {
                        format = Some(percent);
                        Value::Number(f64::from(p) / 100.0)
                    }
                    None => Value::Empty,
                },
                Field::Notes => text(&t.notes),
                Field::Category => text(&t.category),
                Field::Channel => t.channel.as_deref().map_or(Value::Empty, text),
                Field::Area => text(&t.details.area),
                Field::CoUnits => text(&t.details.co_units.join(separator)),
                Field::Phones => text(&t.details.phones),
                Field::Measures => text(&t.details.measures),
                Field::ProgressText => text(&t.details.progress_text),
            };
            if value != Value::Empty {
                grid.set(row, c, GridCell { value, format });
            }
        }
        for (i, h) in extra_headers.iter().enumerate() {
            if let Some(v) = t.details.extra.get(h) {
                grid.set(row, fields.len() + i, GridCell::new(text(v)));
            }
        }
    }
    Laid {
        grid,
        first_data_row: 1,
        header_row: Some(0),
        task_rows: (1..=tasks.len()).collect(),
        columns,
        vocabulary,
        chinese,
        csv_text: HashMap::new(),
    }
}

/// The percent text of a fraction (0.6 → `60%`), without float noise.
pub(super) fn percent_text(fraction: f64) -> String {
    let pct = (fraction * 100.0 * 1e9).round() / 1e9;
    format!("{}%", format_number(pct))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TasksConfig {
        TasksConfig::sample("t.csv")
    }

    #[test]
    fn the_sheets_own_word_wins_then_config_then_built_in() {
        let seen = vec![
            (Status::InProgress, "推进中".to_string()),
            (Status::Done, "已销号".to_string()),
            (Status::Done, "已完成".to_string()),
            (Status::Done, "已完成".to_string()),
            (Status::Blocked, "暂停".to_string()),
            (Status::Blocked, "受阻".to_string()),
        ];
        let mut c = cfg();
        c.status_values
            .insert(Status::Cancelled, vec!["不再整改".to_string()]);
        let v = Vocabulary::new(&seen, &c, true);
        assert_eq!(v.word(Status::Done), "已完成");
        assert_eq!(v.word(Status::InProgress), "推进中");
        assert_eq!(
            v.word(Status::Blocked),
            "暂停",
            "a tie goes to the first seen"
        );
        assert_eq!(v.word(Status::Cancelled), "不再整改");
        assert_eq!(v.word(Status::Todo), "未开始");
        let en = Vocabulary::new(&[], &cfg(), false);
        assert_eq!(en.word(Status::InProgress), "in progress");
        assert_eq!(en.word(Status::Done), "done");
    }

    #[test]
    fn a_word_that_reads_back_differently_is_not_used() {
        let mut c = cfg();
        // The office made 已完成 mean "in progress"; done must then be written otherwise.
        c.status_values
            .insert(Status::InProgress, vec!["已完成".to_string()]);
        let v = Vocabulary::new(&[], &c, true);
        assert_eq!(v.word(Status::Done), "done");
        assert_eq!(v.word(Status::InProgress), "已完成");
    }

    #[test]
    fn chinese_is_told_by_han_characters() {
        assert!(has_chinese("整改进展"));
        assert!(has_chinese("ID（编号）"));
        assert!(!has_chinese("Status"));
    }

    #[test]
    fn percent_text_has_no_float_noise() {
        assert_eq!(percent_text(0.6), "60%");
        assert_eq!(percent_text(0.625), "62.5%");
        assert_eq!(percent_text(1.0), "100%");
    }

    #[test]
    fn the_importer_is_asked_what_each_column_means() {
        let prefix = vec![
            vec![
                "清单".to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
            ["序号", "问题描述", "完成情况", "情况说明", "完成进度"]
                .map(String::from)
                .to_vec(),
        ];
        let asker = Asker {
            prefix: &prefix,
            title_col: 1,
            cfg: probe_config(&cfg()),
            today: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
        };
        assert_eq!(
            asker.columns(&[0, 2, 3, 4]),
            Columns {
                status: Some(2),
                progress: Some(4),
                notes: Some(3),
                due: None,
            }
        );
    }
}

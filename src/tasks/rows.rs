//! From rows of cells to tasks: finds the header row, converts each data row, and collects
//! every problem so that one load reports all of them.

use super::cell::Cell;
use super::columns::{ColumnMap, HEADER_SCAN_ROWS, HeaderProblem, HeaderSpec, Lookahead};
use super::due::{depends_on_list_date, parse_due_cell, title_date};
use super::error::TaskError;
use super::model::{
    Assignee, Details, Extra, ListDate, RowRef, RowWarning, SheetPerson, Status, Task, TaskList,
};
use super::names::{assignee, split_names};
use super::status::{StatusMap, yes_no};
use crate::config::{DateOrder, Field, Locale};
use crate::people::Directory;
use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use std::path::Path;

/// Everything a row conversion needs that does not change between rows.
pub(crate) struct Context<'a> {
    pub(crate) path: &'a Path,
    pub(crate) people: &'a Directory,
    /// The date the list is as of when its title rows give none (see [`Output::list_date`]).
    pub(crate) list_date: NaiveDate,
    pub(crate) date_order: Option<DateOrder>,
    /// The config's `locale`, for the hints in row messages.
    pub(crate) locale: Locale,
    pub(crate) statuses: StatusMap,
    pub(crate) headers: HeaderSpec,
}

/// Imports one sheet (or one CSV/TOML/JSON file). Feed rows in order with [`Self::push_row`],
/// then call [`Self::finish`].
pub(crate) struct SheetImport<'a> {
    ctx: &'a Context<'a>,
    /// Known once the header row is found.
    map: Option<ColumnMap>,
    /// Rows seen while the header row is not yet known.
    pending: Vec<(usize, Vec<Cell<'static>>)>,
    out: Output,
}

struct Output {
    sheet: String,
    /// Anchors deadlines written without a year, and never the clock: a date in the title rows
    /// (更新日期：2026年12月4日), or else [`Context::list_date`].
    list_date: ListDate,
    tasks: Vec<Task>,
    warnings: Vec<RowWarning>,
    bad: Vec<RowWarning>,
    /// Ids and rows of bad rows that have a title: they take part in the duplicate-id check
    /// although they are not tasks.
    bad_ids: Vec<(String, usize)>,
    /// Written name → resolved person id. A list names the same few dozen people on every
    /// row, so each is looked up in the directory once.
    resolved: FxHashMap<String, Option<String>>,
    /// Names no configured person has, in the order first seen: the column, the first row
    /// and how many rows name them, so that each is warned about once.
    unknown: Vec<Unknown>,
    /// Name → index in `unknown`.
    unknown_index: FxHashMap<String, usize>,
    /// People the sheet gives a phone for (an owners cell of one name beside a phone cell).
    sheet_people: Vec<SheetPerson>,
    /// Name → index in `sheet_people`.
    sheet_index: FxHashMap<String, usize>,
    /// Rows whose phone cell could not be given to one owner: (row, owners, phones).
    unpaired_phones: Vec<usize>,
    /// A name given two different phones: (name, first phone, row, other phone).
    phone_conflicts: Vec<(String, String, usize, String)>,
}

struct Unknown {
    name: String,
    header: String,
    first_row: usize,
    rows: usize,
}

impl Output {
    /// Every row whose id an earlier row already used. Checked once at the end, borrowing the
    /// ids from the tasks, rather than keeping a copy of every id while reading.
    fn duplicate_ids(&self, header: Option<String>) -> Vec<RowWarning> {
        let mut first: FxHashMap<&str, usize> = FxHashMap::default();
        first.reserve(self.tasks.len() + self.bad_ids.len());
        let mut tasks = self
            .tasks
            .iter()
            .map(|t| (t.id.as_str(), t.source.row))
            .peekable();
        let mut bad = self
            .bad_ids
            .iter()
            .map(|(id, row)| (id.as_str(), *row))
            .peekable();
        let mut duplicates = Vec::new();
        // Both lists are in row order; merging them keeps "first" meaning the earlier row.
        loop {
            let next = match (tasks.peek(), bad.peek()) {
                (Some(a), Some(b)) if b.1 < a.1 => bad.next(),
                (Some(_), _) => tasks.next(),
                (None, _) => bad.next(),
            };
            let Some((id, row)) = next else { break };
            match first.get(id) {
                Some(&earlier) => duplicates.push(self.note(
                    row,
                    header.clone(),
                    format!(
                        "duplicate id {id:?}: row {earlier} already uses it; ids must be unique"
                    ),
                )),
                None => {
                    first.insert(id, row);
                }
            }
        }
        duplicates
    }

    /// Once every row is read: the owners the sheet gave a phone become known (their tasks
    /// point at them as the directory will, by name), and each name still unknown, each phone
    /// given to nobody and each name with two phones is warned about once.
    fn people_found(&mut self, locale: Locale) {
        let known = &self.sheet_index;
        if self.unknown.iter().any(|u| known.contains_key(&u.name)) {
            for t in &mut self.tasks {
                let assignees = t.leader.iter_mut().chain(&mut t.co_leaders);
                for a in assignees.chain(t.owners.iter_mut()) {
                    if a.person.is_none() && known.contains_key(&a.name) {
                        a.person = Some(a.name.clone());
                    }
                }
            }
        }
        let unknown = std::mem::take(&mut self.unknown);
        for u in unknown
            .iter()
            .filter(|u| !self.sheet_index.contains_key(&u.name))
        {
            let name = &u.name;
            let message = match locale {
                Locale::ZhCn => {
                    let rows = match u.rows {
                        1 => String::new(),
                        n => format!("（共 {n} 行，首次在第 {} 行）", u.first_row),
                    };
                    format!(
                        "“{name}”{rows}不是已配置的人员（按 id 或姓名），也没有联系电话，不会被@提醒；请在 [[people]] 中添加、在清单中填写其电话，或更正姓名"
                    )
                }
                Locale::En => {
                    let rows = match u.rows {
                        1 => String::new(),
                        n => format!(" (on {n} rows, first row {})", u.first_row),
                    };
                    format!(
                        "{name:?}{rows} matches no configured person (by id or name) and has no phone in the list, so nobody will be @mentioned for it; add them under [[people]], give their phone in the list, or correct the name"
                    )
                }
            };
            let w = self.note(u.first_row, Some(u.header.clone()), message);
            self.warnings.push(w);
        }
        if let Some(&first) = self.unpaired_phones.first() {
            let rows: Vec<String> = self
                .unpaired_phones
                .iter()
                .take(10)
                .map(ToString::to_string)
                .collect();
            let more = if self.unpaired_phones.len() > 10 {
                "…"
            } else {
                ""
            };
            let message = locale.pick(
                format!(
                    "第 {}{more} 行：责任人有多位而电话数与人数不符，电话未归给任何人；请每位责任人一个电话，按顺序对应（如“孙强、周敏”对“138…、139…”）",
                    rows.join("、")
                ),
                format!(
                    "rows {}{more}: several owners and a different number of phones, so the phones went to none of them; give one phone per owner, in the same order",
                    rows.join(", ")
                ),
            );
            let w = self.note(first, None, message);
            self.warnings.push(w);
        }
        for (name, phone, row, other) in std::mem::take(&mut self.phone_conflicts) {
            let message = locale.pick(
                format!(
                    "“{name}”的电话在第 {row} 行为 {other}，与先前的 {phone} 不同；采用 {phone}"
                ),
                format!(
                    "{name:?} has phone {other} on this row but {phone} earlier; using {phone}"
                ),
            );
            let w = self.note(row, None, message);
            self.warnings.push(w);
        }
    }

    fn note(&self, row: usize, column: Option<String>, message: String) -> RowWarning {
        RowWarning {
            sheet: self.sheet.clone(),
            row,
            column,
            message,
        }
    }
}

impl<'a> SheetImport<'a> {
    pub(crate) fn new(ctx: &'a Context<'a>, sheet: String) -> Self {
        SheetImport {
            ctx,
            map: None,
            pending: Vec::new(),
            out: Output {
                sheet,
                list_date: ListDate::Saved(ctx.list_date),
                tasks: Vec::new(),
                warnings: Vec::new(),
                bad: Vec::new(),
                bad_ids: Vec::new(),
                resolved: FxHashMap::default(),
                unknown: Vec::new(),
                unknown_index: FxHashMap::default(),
                sheet_people: Vec::new(),
                sheet_index: FxHashMap::default(),
                unpaired_phones: Vec::new(),
                phone_conflicts: Vec::new(),
            },
        }
    }

    /// For sources whose keys are known up front (TOML, JSON): no header row to look for.
    pub(crate) fn with_columns(ctx: &'a Context<'a>, sheet: String, map: ColumnMap) -> Self {
        let mut s = SheetImport::new(ctx, sheet);
        s.map = Some(map);
        s
    }

    pub(crate) fn reserve(&mut self, rows: usize) {
        self.out.tasks.reserve(rows);
    }

    /// Records a problem that makes the row unusable.
    pub(crate) fn reject(&mut self, row: usize, column: Option<String>, message: String) {
        let w = self.out.note(row, column, message);
        self.out.bad.push(w);
    }

    /// `row` is the spreadsheet row number (1-based). Fully blank rows are not data and are
    /// skipped here, so they neither count towards the header search window nor become tasks.
    pub(crate) fn push_row(&mut self, row: usize, cells: &[Cell<'_>]) -> Result<(), TaskError> {
        if cells.iter().all(Cell::is_blank) {
            return Ok(());
        }
        match &self.map {
            Some(map) => convert(self.ctx, &mut self.out, map, row, cells),
            None => {
                self.pending
                    .push((row, cells.iter().cloned().map(Cell::into_owned).collect()));
                if self.pending.len() >= HEADER_SCAN_ROWS {
                    self.find_header()?;
                }
            }
        }
        Ok(())
    }

    fn find_header(&mut self) -> Result<(), TaskError> {
        let pending = std::mem::take(&mut self.pending);
        let (at, mut map) = self
            .ctx
            .headers
            .detect(&pending)
            .map_err(|p| self.header_error(p, pending.len()))?;
        if let Some(date) = title_date(pending[..at].iter().flat_map(|(_, cells)| cells)) {
            self.out.list_date = ListDate::Title(date);
        }
        // The rows read while looking for the header are the sample that settles what the
        // headers leave open (a status column of free text, a deadline column without a name).
        let sample: Vec<&[Cell<'_>]> = pending[at + 1..]
            .iter()
            .map(|(_, cells)| cells.as_slice())
            .collect();
        map.refine(
            &sample,
            &Lookahead {
                statuses: &self.ctx.statuses,
                list_date: self.out.list_date.date(),
                date_order: self.ctx.date_order,
                locale: self.ctx.locale,
            },
        );
        for (row, cells) in &pending[at + 1..] {
            convert(self.ctx, &mut self.out, &map, *row, cells);
        }
        self.map = Some(map);
        Ok(())
    }

    fn header_error(&self, p: HeaderProblem, scanned: usize) -> TaskError {
        let path = self.ctx.path.to_path_buf();
        let sheet = self.out.sheet.clone();
        match p {
            HeaderProblem::NotFound {
                expected_title,
                expected_others,
            } => TaskError::NoHeaderRow {
                path,
                sheet,
                scanned,
                expected_title,
                expected_others,
            },
            HeaderProblem::Missing {
                field,
                header,
                row,
                found,
                configured,
            } => TaskError::MissingColumn {
                path,
                sheet,
                field,
                header,
                row: Some(row),
                found,
                configured,
            },
        }
    }

    pub(crate) fn finish(mut self) -> Result<TaskList, TaskError> {
        if self.map.is_none() {
            self.find_header()?;
        }
        let id_header = self.map.as_ref().map(|m| m.header(Field::Id));
        let duplicates = self.out.duplicate_ids(id_header);
        if !duplicates.is_empty() {
            self.out.bad.extend(duplicates);
            // Stable, so several problems in one row keep their column order.
            self.out.bad.sort_by_key(|w| w.row);
        }
        if !self.out.bad.is_empty() {
            return Err(TaskError::BadRows {
                path: self.ctx.path.to_path_buf(),
                rows: self.out.bad,
            });
        }
        let columns = self.map.as_ref().map(|m| m.report(self.ctx.locale));
        self.out.people_found(self.ctx.locale);
        Ok(TaskList {
            tasks: self.out.tasks,
            warnings: self.out.warnings,
            list_date: Some(self.out.list_date),
            columns,
            people: self.out.sheet_people,
        })
    }
}

fn convert(ctx: &Context<'_>, out: &mut Output, map: &ColumnMap, row: usize, cells: &[Cell<'_>]) {
    let get = |f: Field| -> &Cell<'_> {
        map.col(f)
            .and_then(|c| cells.get(c))
            .unwrap_or(&Cell::Empty)
    };
    let mut problems: Vec<(Field, String)> = Vec::new();

    let title = get(Field::Title).text();
    if title.is_empty() {
        // One stray cell under the table ("填报人：…", a pre-numbered 序号 with nothing
        // else) is not a task; more than one means someone forgot the title.
        if cells.iter().filter(|c| !c.is_blank()).count() <= 1 {
            return;
        }
        problems.push((
            Field::Title,
            "the title is empty but other cells in the row are filled in; write the title \
             or clear the row"
                .to_string(),
        ));
    }

    // Without an id column (or with the cell left empty) the row number is the id: it is
    // stable as long as nobody inserts rows above, and it is what people see in the sheet.
    let id = match map.col(Field::Id) {
        Some(_) => {
            let t = get(Field::Id).text();
            if t.is_empty() {
                row.to_string()
            } else {
                t.into_owned()
            }
        }
        None => row.to_string(),
    };

    // One cell reading 待定 must not keep every other task from being reminded: the task loads
    // with its deadline to be confirmed, and the cell is named in `check` and the log.
    let (due, unreadable_due) = match parse_due_cell(
        get(Field::Due),
        out.list_date.date(),
        ctx.date_order,
        ctx.locale,
    ) {
        Ok(due) => (due, None),
        Err(e) => {
            let w = out.note(
                row,
                Some(map.header(Field::Due)),
                format!(
                    "{e}{}",
                    ctx.locale.pick(
                        "；该任务暂列入“待核实时限”",
                        "; the task is listed under \"deadline to be confirmed\" until then"
                    )
                ),
            );
            out.warnings.push(w);
            (None, Some(get(Field::Due).text().into_owned()))
        }
    };
    // A date the list's title rows state anchors itself; the file's save date moves whenever
    // the file is saved, so rows read against it are remembered (see `Task::due_anchored`).
    let due_anchored = match (out.list_date, get(Field::Due)) {
        (ListDate::Saved(saved), Cell::Text(text))
            if due.is_some() && depends_on_list_date(text, saved, ctx.date_order) =>
        {
            Some(saved)
        }
        _ => None,
    };
    let status_text = get(Field::Status).text();
    let answered = map
        .status_is_yes_no()
        .then(|| yes_no(&status_text))
        .flatten();
    let status = answered.unwrap_or_else(|| {
        ctx.statuses.parse(&status_text).unwrap_or_else(|e| {
            problems.push((Field::Status, e.to_string()));
            Status::Todo
        })
    });
    // Jira's Resolved, Asana's Completed At: a finished task whose status nobody changed.
    let completed = map
        .completed()
        .and_then(|c| cells.get(c))
        .is_some_and(|c| match c {
            // A yes/no "Completed" column says no in its own words.
            Cell::Bool(done) => *done,
            Cell::Text(t) => !(t.trim().is_empty() || yes_no(t) == Some(Status::Todo)),
            _ => !c.is_blank(),
        });
    let status = if completed && status.is_open() {
        Status::Done
    } else {
        status
    };
    let progress = parse_progress(get(Field::Progress)).unwrap_or_else(|e| {
        problems.push((Field::Progress, e));
        None
    });

    let leader_text = get(Field::Leader).text();
    let owners_text = get(Field::Owners).text();
    let mut unknown: Vec<(Field, &str)> = Vec::new();
    let mut leaders = split_names(&leader_text);
    let leader = leaders.next().map(|n| {
        resolve(
            ctx.people,
            &mut out.resolved,
            Field::Leader,
            n,
            &mut unknown,
        )
    });
    // 包片 and 包线: a cell may name one leader by area and one by line; all are leaders.
    let co_leaders: Vec<Assignee> = leaders
        .map(|n| {
            resolve(
                ctx.people,
                &mut out.resolved,
                Field::Leader,
                n,
                &mut unknown,
            )
        })
        .collect();
    let owners: Vec<Assignee> = split_names(&owners_text)
        .map(|n| {
            resolve(
                ctx.people,
                &mut out.resolved,
                Field::Owners,
                n,
                &mut unknown,
            )
        })
        .collect();

    for (field, name) in unknown {
        match out.unknown_index.get(name) {
            Some(&i) => out.unknown[i].rows += 1,
            None => {
                out.unknown_index
                    .insert(name.to_string(), out.unknown.len());
                out.unknown.push(Unknown {
                    name: name.to_string(),
                    header: map.header(field),
                    first_row: row,
                    rows: 1,
                });
            }
        }
    }
    if !problems.is_empty() {
        if !title.is_empty() {
            out.bad_ids.push((id, row));
        }
        for (field, message) in problems {
            let w = out.note(row, Some(map.header(field)), message);
            out.bad.push(w);
        }
        return;
    }

    let text = |f: Field| get(f).text().into_owned();
    let phones = get(Field::Phones).text();
    if !phones.is_empty() {
        sheet_phones(out, row, &owners, &phones);
    }
    let (extra_cols, extra_headers) = map.extra();
    let mut extra = Extra::new(extra_headers.clone());
    for (i, &c) in extra_cols.iter().enumerate() {
        if let Some(cell) = cells.get(c).filter(|c| !c.is_blank()) {
            extra.push(i, cell.text().into_owned());
        }
    }
    let details = Details {
        area: text(Field::Area),
        co_units: split_names(&get(Field::CoUnits).text())
            .map(str::to_string)
            .collect(),
        measures: text(Field::Measures),
        progress_text: text(Field::ProgressText),
        phones: phones.into_owned(),
        due_text: text(Field::Due),
        extra,
    };
    let channel = get(Field::Channel).text();
    out.tasks.push(Task {
        id,
        title: title.into_owned(),
        unit: text(Field::Unit),
        leader,
        co_leaders,
        owners,
        due,
        unreadable_due,
        due_anchored,
        list: None,
        status,
        progress,
        notes: text(Field::Notes),
        category: text(Field::Category),
        channel: (!channel.is_empty()).then(|| channel.into_owned()),
        details,
        source: RowRef {
            sheet: out.sheet.clone(),
            row,
        },
        // Extensions live in the chat's events, never in the sheet.
        extension: Default::default(),
    });
}

/// The phone numbers in a phone cell: runs of digits (with `+`, `-` and spaces inside a
/// number) of at least 7 digits, split at the separators names use and at other text
/// (`孙强 13800000001`).
pub(crate) fn phone_numbers(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        if current.chars().filter(char::is_ascii_digit).count() >= 7 {
            out.push(current.trim_matches(['-', ' ']).to_string());
        }
        current.clear();
    };
    for c in cell.chars() {
        match c {
            '0'..='9' => current.push(c),
            '０'..='９' => current.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            '+' if current.is_empty() => current.push(c),
            '-' | '－' | ' ' if !current.is_empty() => current.push('-'),
            _ => flush(&mut current),
        }
    }
    flush(&mut current);
    out
}

/// Gives the row's phones to its owners: one phone to a single owner, or as many phones as
/// owners in the same order. Any other pairing would be a guess, so the phones go to nobody
/// and `check` says which rows.
fn sheet_phones(out: &mut Output, row: usize, owners: &[Assignee], cell: &str) {
    let phones = phone_numbers(cell);
    if phones.is_empty() || owners.is_empty() {
        return;
    }
    if phones.len() != owners.len() {
        out.unpaired_phones.push(row);
        return;
    }
    for (owner, phone) in owners.iter().zip(phones) {
        match out.sheet_index.get(&owner.name) {
            Some(&i) if out.sheet_people[i].mobile != phone => {
                let p = &out.sheet_people[i];
                let conflict = (p.name.clone(), p.mobile.clone(), row, phone);
                out.phone_conflicts.push(conflict);
            }
            Some(_) => {}
            None => {
                out.sheet_index
                    .insert(owner.name.clone(), out.sheet_people.len());
                out.sheet_people.push(SheetPerson {
                    name: owner.name.clone(),
                    mobile: phone,
                    row,
                });
            }
        }
    }
}

/// Notes each unknown name once per row, whether it appears as leader, owner or twice.
fn resolve<'n>(
    people: &Directory,
    cache: &mut FxHashMap<String, Option<String>>,
    field: Field,
    name: &'n str,
    unknown: &mut Vec<(Field, &'n str)>,
) -> Assignee {
    let person = match cache.get(name) {
        Some(p) => p.clone(),
        None => {
            let p = assignee(name, people).person;
            cache.insert(name.to_string(), p.clone());
            p
        }
    };
    if person.is_none() && !unknown.iter().any(|(_, n)| *n == name) {
        unknown.push((field, name));
    }
    Assignee {
        name: name.to_string(),
        person,
    }
}

const PROGRESS_HINT: &str = "write progress as a whole percent from 0 to 100, such as 60 or 60%";

/// Reads a progress cell as a percent.
///
/// A number cell below 1 is read as a fraction (0.6 → 60%): that is how a percent-formatted cell
/// is stored, and only xlsx tells us the format, while a real progress of 0.6% does not occur.
/// Text must be a whole number, optionally with `%` (then decimals are rounded).
pub(crate) fn parse_progress(cell: &Cell<'_>) -> Result<Option<u8>, String> {
    let pct = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number { value, percent } => {
            if *percent || (*value > 0.0 && *value < 1.0) {
                value * 100.0
            } else {
                *value
            }
        }
        Cell::Text(t) => {
            let t: String = t
                .trim()
                .chars()
                .map(|c| match c {
                    '０'..='９' => {
                        char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c)
                    }
                    '％' => '%',
                    '．' => '.',
                    _ => c,
                })
                .collect();
            if t.is_empty() {
                return Ok(None);
            }
            let (number, has_percent) = match t.strip_suffix('%') {
                Some(n) => (n.trim(), true),
                None => (t.as_str(), false),
            };
            let valid = !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && number.bytes().filter(|b| *b == b'.').count() <= 1;
            let value: f64 = match number.parse() {
                Ok(v) if valid => v,
                _ => return Err(format!("cannot read {t:?} as progress; {PROGRESS_HINT}")),
            };
            if !has_percent && value.fract() != 0.0 {
                return Err(format!("cannot read {t:?} as progress; {PROGRESS_HINT}"));
            }
            value
        }
        Cell::Date(_) | Cell::Bool(_) => {
            return Err(format!(
                "cannot read {:?} as progress; {PROGRESS_HINT}",
                cell.text()
            ));
        }
    };
    if !(0.0..=100.0).contains(&pct) {
        return Err(format!(
            "progress {} is outside 0–100; {PROGRESS_HINT}",
            super::cell::format_number(pct)
        ));
    }
    Ok(Some(pct.round() as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell<'_> {
        Cell::Text(s.into())
    }

    #[test]
    fn progress_forms() {
        assert_eq!(parse_progress(&text("60")), Ok(Some(60)));
        assert_eq!(parse_progress(&text("60%")), Ok(Some(60)));
        assert_eq!(parse_progress(&text(" 60 % ")), Ok(Some(60)));
        assert_eq!(parse_progress(&text("６０％")), Ok(Some(60)));
        assert_eq!(parse_progress(&text("62.5%")), Ok(Some(63)));
        assert_eq!(parse_progress(&text("0")), Ok(Some(0)));
        assert_eq!(parse_progress(&text("100")), Ok(Some(100)));
        assert_eq!(parse_progress(&text("")), Ok(None));
        assert_eq!(parse_progress(&Cell::Empty), Ok(None));
        let pct = |value, percent| Cell::Number { value, percent };
        assert_eq!(parse_progress(&pct(0.6, true)), Ok(Some(60)));
        assert_eq!(parse_progress(&pct(1.0, true)), Ok(Some(100)));
        assert_eq!(parse_progress(&pct(0.6, false)), Ok(Some(60)));
        assert_eq!(parse_progress(&pct(60.0, false)), Ok(Some(60)));
        assert_eq!(parse_progress(&pct(1.0, false)), Ok(Some(1)));
    }

    #[test]
    fn progress_rejects() {
        for s in [
            "101", "-5", "0.6", "abc", "60%%", "1.2.3", "%", "1e2", "NaN", "inf",
        ] {
            assert!(parse_progress(&text(s)).is_err(), "{s:?}");
        }
        let n = |value| Cell::Number {
            value,
            percent: false,
        };
        assert!(parse_progress(&n(150.0)).is_err());
        assert!(parse_progress(&n(-1.0)).is_err());
        assert!(parse_progress(&n(f64::NAN)).is_err());
        assert!(
            parse_progress(&Cell::Number {
                value: 1.5,
                percent: true
            })
            .is_err()
        );
        assert!(parse_progress(&Cell::Bool(true)).is_err());
    }

    #[test]
    fn phone_cells_give_their_numbers_and_nothing_else() {
        assert_eq!(phone_numbers("13800000001"), ["13800000001"]);
        assert_eq!(
            phone_numbers("孙强 13800000001、周敏：139 0000 0002"),
            ["13800000001", "139-0000-0002"]
        );
        assert_eq!(phone_numbers("0419-1234567"), ["0419-1234567"]);
        assert_eq!(phone_numbers("+86 13800000001"), ["+86-13800000001"]);
        assert_eq!(phone_numbers("１３８０００００００１"), ["13800000001"]);
        assert!(phone_numbers("无").is_empty());
        assert!(phone_numbers("分机 123").is_empty());
    }
}

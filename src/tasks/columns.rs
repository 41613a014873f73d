//! Which column holds which task field: header text matching and header-row detection.

use super::cell::Cell;
use super::due::parse_due_cell;
use super::model::{ColumnReport, FoundBy, MappedColumn};
use super::status::{StatusMap, yes_no};
use crate::config::{DateOrder, Field, Locale};
use chrono::NaiveDate;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How many rows from the top are searched for the header row. Real sheets put a title, a
/// date line, a "填报单位" line and blank rows above the header; none use twenty.
pub(crate) const HEADER_SCAN_ROWS: usize = 20;

/// Header texts recognised without any `[tasks.columns]` entry, compared whole after
/// [`normalise_header`]. The English ones include the headers of the CSV exports of Jira,
/// Linear, Asana, GitHub Projects and Trello (README, "Columns").
const BUILT_IN: &[(Field, &[&str])] = &[
    (
        Field::Id,
        &[
            "序号", "编号", "id", "no.", "no", // Jira, Asana, Trello.
            "issuekey", "taskid", "cardid",
        ],
    ),
    (
        Field::Title,
        &[
            "问题",
            "问题描述",
            "事项",
            "任务",
            "工作任务",
            "title",
            "task",
            // Jira, Asana, Trello.
            "summary",
            "name",
            "cardname",
        ],
    ),
    (
        Field::Unit,
        &["责任单位", "牵头单位", "主责单位", "unit", "team"],
    ),
    (
        Field::Leader,
        &["包保领导", "责任领导", "分管领导", "牵头领导", "leader"],
    ),
    (
        Field::Owners,
        &[
            "责任人",
            "具体负责人",
            "经办人",
            "owners",
            "owner",
            "assignee",
            // GitHub Projects, Trello.
            "assignees",
            "members",
        ],
    ),
    (
        Field::Due,
        &[
            "整改时限",
            "完成时限",
            "截止时间",
            "due",
            "deadline",
            // Jira, Linear, Asana, Trello write `Due Date` or `Due date`; GitHub Projects
            // has custom date fields, most often these.
            "duedate",
            "dueon",
            "targetdate",
        ],
    ),
    (
        Field::Status,
        &[
            "整改进展",
            "完成情况",
            "当前状态",
            "状态",
            "status",
            // Yes/no columns: 是 or 否 per row (see `ColumnMap::status_is_yes_no`).
            "是否完成",
            "是否销号",
            "是否办结",
            "是否整改到位",
        ],
    ),
    (Field::Notes, &["备注", "情况说明", "notes", "description"]),
    (
        Field::Category,
        &["问题类别", "问题类型", "类别", "category", "issuetype"],
    ),
    (Field::Progress, &["进度", "完成进度", "progress"]),
    (Field::Channel, &["channel"]),
    (Field::CoUnits, &["配合单位", "协办单位", "co_units"]),
    (
        Field::Phones,
        &[
            "联系电话",
            "手机",
            "手机号",
            "电话",
            "phone",
            "phones",
            "mobile",
        ],
    ),
    (Field::Area, &["所在乡镇", "属地", "区域", "area"]),
    (Field::Measures, &["整改措施", "工作措施", "measures"]),
    (
        Field::ProgressText,
        &["进展情况", "推进情况", "整改进展情况", "progress_text"],
    ),
];

/// Words that name a field inside a longer header (县级包保领导, 具体责任人, 乡镇（街道）),
/// tried in this order once no exact name matched. The order settles overlaps: 联系电话 is a
/// phone before 联系人 could make it an owner, 领导 comes before 牵头 (县牵头领导 is a person),
/// 负责人 before 责任单位 (责任单位负责人 is a person too), and 是否完成 before 完成时间.
const RULES: &[(&str, Field)] = &[
    ("电话", Field::Phones),
    ("手机", Field::Phones),
    ("phone", Field::Phones),
    ("mobile", Field::Phones),
    ("包保", Field::Leader),
    ("领导", Field::Leader),
    ("配合", Field::CoUnits),
    ("协办", Field::CoUnits),
    ("责任人", Field::Owners),
    ("负责人", Field::Owners),
    ("联系人", Field::Owners),
    ("assignee", Field::Owners),
    ("牵头", Field::Unit),
    ("责任单位", Field::Unit),
    ("主责单位", Field::Unit),
    ("责任部门", Field::Unit),
    ("是否完成", Field::Status),
    ("是否销号", Field::Status),
    ("是否办结", Field::Status),
    ("完成情况", Field::Status),
    ("状态", Field::Status),
    ("时限", Field::Due),
    ("完成时间", Field::Due),
    ("时间节点", Field::Due),
    ("截止", Field::Due),
    ("duedate", Field::Due),
    ("进展", Field::ProgressText),
    ("推进情况", Field::ProgressText),
    ("类型", Field::Category),
    ("类别", Field::Category),
    ("分类", Field::Category),
    ("乡镇", Field::Area),
    ("属地", Field::Area),
    ("区域", Field::Area),
    ("措施", Field::Measures),
    ("备注", Field::Notes),
];

/// Headers of a column holding the day a task was finished: Jira's `Resolved`, Asana's
/// `Completed At`, Linear's `Completed`, Trello's `Due Complete` (true or false). A date there
/// means done whatever the status column says, unless it says cancelled (Jira resolves a
/// Won't Do issue too).
const COMPLETED: &[&str] = &[
    "completedat",
    "completed",
    "resolved",
    "resolvedat",
    "resolutiondate",
    "duecomplete",
    "销号时间",
    "办结时间",
];

/// Headers that hold dates which are not deadlines: a column of dates under one of these is
/// never taken for the deadline by its content.
const NOT_A_DEADLINE: &[&str] = &[
    "created",
    "updated",
    "modified",
    "viewed",
    "start",
    "started",
    "cycle",
    "archived",
    "canceled",
    "cancelled",
    "completed",
    "resolved",
    "创建",
    "更新",
    "开始",
    "填报",
    "销号",
    "办结",
];

const FIELDS: usize = Field::ALL.len();

fn slot(f: Field) -> usize {
    f as usize
}

/// Header cells are typed by hand: line breaks inside the cell (Alt+Enter), full-width spaces,
/// a leading `*` marking a required column and a trailing colon all vary between offices.
pub(crate) fn normalise_header(s: &str) -> String {
    let squeezed: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    squeezed
        .trim_matches(|c| matches!(c, '*' | '＊' | ':' | '：'))
        .to_string()
}

/// The field a header names by rule ([`RULES`]), for a normalised header that matched no
/// exact name. A completion-date header (`Due Complete`) is never a deadline.
fn by_rule(h: &str) -> Option<Field> {
    if COMPLETED.contains(&h) {
        return None;
    }
    RULES
        .iter()
        .find(|(word, _)| h.contains(word))
        .map(|(_, f)| *f)
}

/// A header that may hold progress in words rather than status words (整改进展, 推进情况).
fn progress_like(h: &str) -> bool {
    let h = normalise_header(h);
    h.contains("进展") || h.contains("推进")
}

/// The header names for one field, built-in or configured, for messages.
fn names_for(field: Field, explicit: &BTreeMap<Field, String>) -> Vec<String> {
    if let Some(h) = explicit.get(&field) {
        return vec![h.clone()];
    }
    BUILT_IN
        .iter()
        .filter(|(f, _)| *f == field)
        .flat_map(|(_, names)| names.iter().map(|n| n.to_string()))
        .collect()
}

/// Spreadsheet column letters (0 → A, 26 → AA), to name a column whose header cell is empty.
fn column_letters(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (col % 26) as u8));
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.iter().rev().collect()
}

/// Where each field's column is, once the header row is known.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    cols: [Option<usize>; FIELDS],
    found_by: [FoundBy; FIELDS],
    /// The header text of every column as written in the sheet (the lower row's text where
    /// two header rows name it), for row messages and for `extra`.
    texts: Vec<String>,
    /// See [`COMPLETED`].
    completed: Option<usize>,
    /// See [`ColumnMap::status_is_yes_no`]; worked out once, not per row.
    status_is_yes_no: bool,
    /// The columns no field reads, in column order, and their headers (shared by every task).
    extra_cols: Vec<usize>,
    extra_headers: Arc<[String]>,
    /// In the config's `locale`, for `check`: what the header and the sample rows taught.
    notes: Vec<String>,
}

impl ColumnMap {
    fn new(cols: [Option<usize>; FIELDS], found_by: [FoundBy; FIELDS], texts: Vec<String>) -> Self {
        let completed = texts.iter().enumerate().position(|(c, h)| {
            !cols.contains(&Some(c)) && COMPLETED.contains(&&*normalise_header(h))
        });
        let mut map = ColumnMap {
            cols,
            found_by,
            texts,
            completed,
            status_is_yes_no: false,
            extra_cols: Vec::new(),
            extra_headers: Arc::from(Vec::new()),
            notes: Vec::new(),
        };
        map.settle();
        map
    }

    /// Recomputes what follows from the field columns: the yes/no flag and the extra columns.
    fn settle(&mut self) {
        self.status_is_yes_no = self
            .col(Field::Status)
            .is_some_and(|c| normalise_header(&self.texts[c]).starts_with("是否"));
        let mut cols = Vec::new();
        let mut headers: Vec<String> = Vec::new();
        for (c, h) in self.texts.iter().enumerate() {
            if self.uses_column(c) {
                continue;
            }
            let base = if h.trim().is_empty() {
                column_letters(c)
            } else {
                h.trim().to_string()
            };
            // Jira repeats `Labels` once per label: each keeps its value, under a name of its own.
            let mut name = base.clone();
            let mut n = 1;
            while headers.contains(&name) {
                n += 1;
                name = format!("{base} ({n})");
            }
            cols.push(c);
            headers.push(name);
        }
        self.extra_cols = cols;
        self.extra_headers = Arc::from(headers);
    }

    pub(crate) fn col(&self, f: Field) -> Option<usize> {
        self.cols[slot(f)]
    }

    pub(crate) fn uses_column(&self, col: usize) -> bool {
        self.cols.contains(&Some(col)) || self.completed == Some(col)
    }

    /// The column of [`COMPLETED`] dates, if the list has one.
    pub(crate) fn completed(&self) -> Option<usize> {
        self.completed
    }

    /// A status column asked as a question (是否完成) holds 是 or 否, which mean nothing as
    /// status words elsewhere.
    pub(crate) fn status_is_yes_no(&self) -> bool {
        self.status_is_yes_no
    }

    pub(crate) fn header(&self, f: Field) -> String {
        match self.col(f).and_then(|c| self.texts.get(c)) {
            Some(h) if !h.is_empty() => h.clone(),
            _ => f.as_str().to_string(),
        }
    }

    /// The columns kept as `extra` and the headers they are kept under.
    pub(crate) fn extra(&self) -> (&[usize], &Arc<[String]>) {
        (&self.extra_cols, &self.extra_headers)
    }

    /// Moves a field to another column (or none), as the sample rows showed.
    fn assign(&mut self, f: Field, col: Option<usize>, how: FoundBy) {
        self.cols[slot(f)] = col;
        self.found_by[slot(f)] = how;
    }

    /// Reads the first data rows (those buffered while the header was searched for) to settle
    /// what the headers left open: a status column of free text is no status column (its text
    /// is kept: as progress in words under a progress-like header, else as `extra`); a column
    /// of status words is the status column if none was found, and a column of dates the
    /// deadline.
    pub(crate) fn refine(&mut self, rows: &[&[Cell<'_>]], look: &Lookahead<'_>) {
        let values = |c: usize| -> Vec<Cow<'_, str>> {
            rows.iter()
                .filter_map(|r| r.get(c))
                .filter(|cell| !cell.is_blank())
                .map(Cell::text)
                .collect()
        };
        let locale = look.locale;
        if let Some(c) = self.col(Field::Status)
            && !self.status_is_yes_no
        {
            let vals = values(c);
            let unknown: Vec<&str> = vals
                .iter()
                .map(|v| v.as_ref())
                .filter(|v| look.statuses.parse(v).is_err())
                .collect();
            // A typo or two is the office's to fix (the row says which word); a column where
            // most cells are sentences was never a status column.
            if unknown.len() >= 2 && unknown.len() * 2 > vals.len() {
                let header = self.texts[c].clone();
                let example: String = unknown[0].chars().take(20).collect();
                self.assign(Field::Status, None, FoundBy::Name);
                let kept_as = if progress_like(&header) && self.col(Field::ProgressText).is_none() {
                    self.assign(Field::ProgressText, Some(c), FoundBy::Content);
                    locale.pick(
                        "进展情况（progress_text）",
                        "progress in words (progress_text)",
                    )
                } else {
                    locale.pick("其他列（extra）", "an extra column")
                };
                self.notes.push(locale.pick(
                    format!(
                        "“{header}”列多为文字而非状态词（如“{example}”），未作为状态列，保留为{kept_as}"
                    ),
                    format!(
                        "column {header:?} holds free text rather than status words (such as \
                         {example:?}): it is not read as the status, and kept as {kept_as}"
                    ),
                ));
            }
        }
        let candidates = |map: &ColumnMap| -> Vec<usize> {
            let progress = map.col(Field::ProgressText);
            progress
                .into_iter()
                .chain((0..map.texts.len()).filter(|c| !map.uses_column(*c)))
                .collect::<Vec<usize>>()
        };
        if self.col(Field::Status).is_none() {
            let found = candidates(self).into_iter().find(|&c| {
                let vals = values(c);
                let yes_no_header = normalise_header(&self.texts[c]).starts_with("是否");
                vals.len() >= 2
                    && vals.iter().all(|v| {
                        look.statuses.parse(v).is_ok() || (yes_no_header && yes_no(v).is_some())
                    })
            });
            if let Some(c) = found {
                if self.col(Field::ProgressText) == Some(c) {
                    self.assign(Field::ProgressText, None, FoundBy::Name);
                }
                self.assign(Field::Status, Some(c), FoundBy::Content);
            }
        }
        if self.col(Field::Due).is_none() {
            let found = candidates(self).into_iter().find(|&c| {
                let h = normalise_header(&self.texts[c]);
                if NOT_A_DEADLINE.iter().any(|w| h.contains(w)) {
                    return false;
                }
                let vals: Vec<&Cell<'_>> = rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .filter(|cell| !cell.is_blank())
                    .collect();
                vals.len() >= 2 && vals.iter().all(|cell| look.is_date(cell))
            });
            if let Some(c) = found {
                if self.col(Field::ProgressText) == Some(c) {
                    self.assign(Field::ProgressText, None, FoundBy::Name);
                }
                self.assign(Field::Due, Some(c), FoundBy::Content);
            }
        }
        self.settle();
    }

    /// What `check` prints about the columns, in `locale`.
    pub(crate) fn report(&self, locale: Locale) -> ColumnReport {
        let mut mapped: Vec<(usize, MappedColumn)> = Field::ALL
            .into_iter()
            .filter_map(|f| {
                self.col(f).map(|c| {
                    (
                        c,
                        MappedColumn {
                            header: self.header(f),
                            field: f.as_str().to_string(),
                            found_by: self.found_by[slot(f)],
                        },
                    )
                })
            })
            .collect();
        if let Some(c) = self.completed {
            mapped.push((
                c,
                MappedColumn {
                    header: self.texts[c].clone(),
                    field: "completed".to_string(),
                    found_by: FoundBy::Name,
                },
            ));
        }
        mapped.sort_by_key(|(c, _)| *c);
        let mut warnings = self.notes.clone();
        if self.col(Field::Leader).is_none() {
            warnings.push(
                locale
                    .pick(
                        "未找到包保领导列：任务没有领导，逾期不会提醒到领导；可在 [tasks.columns] 中设置 leader = \"列名\"",
                        "no leader column found: no task has a leader, so nothing overdue is escalated; map one with leader = \"HEADER\" under [tasks.columns]",
                    )
                    .to_string(),
            );
        }
        if self.col(Field::Due).is_none() {
            warnings.push(
                locale
                    .pick(
                        "未找到时限列：没有任务有截止日期，不会有逾期；可在 [tasks.columns] 中设置 due = \"列名\"",
                        "no deadline column found: no task has a deadline and none is ever overdue; map one with due = \"HEADER\" under [tasks.columns]",
                    )
                    .to_string(),
            );
        }
        if self.col(Field::Status).is_none() && self.completed.is_none() {
            warnings.push(
                locale
                    .pick(
                        "未找到状态列（如“是否完成”）：所有任务按未开始处理，已完成的任务也会被提醒；可在 [tasks.columns] 中设置 status = \"列名\"",
                        "no status column found: every task counts as todo, finished ones included; map one with status = \"HEADER\" under [tasks.columns]",
                    )
                    .to_string(),
            );
        }
        ColumnReport {
            mapped: mapped.into_iter().map(|(_, m)| m).collect(),
            kept: self.extra_headers.to_vec(),
            warnings,
        }
    }
}

/// What [`ColumnMap::refine`] needs to judge sample cells: the status words and how deadlines
/// are read.
pub(crate) struct Lookahead<'a> {
    pub(crate) statuses: &'a StatusMap,
    pub(crate) list_date: NaiveDate,
    pub(crate) date_order: Option<DateOrder>,
    pub(crate) locale: Locale,
}

impl Lookahead<'_> {
    /// A cell that is a date, not merely a readable deadline: 长期坚持 reads as "no deadline"
    /// and 立行立改 as the list's date, but a column of those words is not thereby a deadline.
    fn is_date(&self, cell: &Cell<'_>) -> bool {
        match cell {
            Cell::Date(_) => true,
            Cell::Text(t) => {
                t.chars().any(|c| c.is_ascii_digit())
                    && matches!(
                        parse_due_cell(cell, self.list_date, self.date_order, self.locale),
                        Ok(Some(_))
                    )
            }
            _ => false,
        }
    }
}

/// Header matching rules built from the config.
#[derive(Debug, Clone)]
pub(crate) struct HeaderSpec {
    explicit: BTreeMap<Field, String>,
    /// Normalised header text → field; configured headers first, then the built-in names of
    /// fields that are not configured (an explicit mapping replaces a field's built-ins).
    lookup: HashMap<String, Field>,
    /// Whether a header that names no field whole is matched by [`RULES`]: a task list's
    /// headers are, an address book's are not (its 部门负责人 names no task's leader).
    rules: bool,
}

#[derive(Debug)]
pub(crate) enum HeaderProblem {
    NotFound {
        expected_title: String,
        expected_others: String,
    },
    Missing {
        field: Field,
        header: String,
        row: usize,
        found: Vec<String>,
        configured: bool,
    },
}

struct Candidate {
    cols: [Option<usize>; FIELDS],
    found_by: [FoundBy; FIELDS],
    score: usize,
}

impl HeaderSpec {
    pub(crate) fn new(explicit: &BTreeMap<Field, String>) -> Self {
        let mut lookup = HashMap::new();
        for (f, names) in BUILT_IN {
            if explicit.contains_key(f) {
                continue;
            }
            for n in *names {
                lookup.entry(normalise_header(n)).or_insert(*f);
            }
        }
        // Configured headers take their text away from any built-in field that used it.
        for (f, h) in explicit {
            lookup.insert(normalise_header(h), *f);
        }
        HeaderSpec {
            explicit: explicit.clone(),
            lookup,
            rules: true,
        }
    }

    /// The headers of an address book (DingTalk's, WeCom's or Feishu's admin-console export,
    /// or any sheet of people), read as a list whose rows are people: the name is the title, the
    /// platform user id the id, the mobile the phones, the department the unit. Every other
    /// column (邮箱, Email, Slack ID) is kept as `extra`, by its header.
    pub(crate) fn roster() -> Self {
        const ROSTER: &[(Field, &[&str])] = &[
            (
                Field::Title,
                &[
                    "姓名",
                    "名字",
                    "员工姓名",
                    "成员",
                    "name",
                    "full name",
                    "display name",
                ],
            ),
            (
                Field::Id,
                &[
                    "userid",
                    "user id",
                    "用户id",
                    "员工userid",
                    "账号",
                    "成员账号",
                    "member id",
                    "slack id",
                ],
            ),
            (
                Field::Phones,
                &[
                    "手机",
                    "手机号",
                    "手机号码",
                    "mobile",
                    "phone",
                    "电话",
                    "联系电话",
                ],
            ),
            (
                Field::Unit,
                &["部门", "所属部门", "单位", "department", "team"],
            ),
        ];
        let lookup = ROSTER
            .iter()
            .flat_map(|(f, names)| names.iter().map(move |n| (normalise_header(n), *f)))
            .collect();
        HeaderSpec {
            explicit: BTreeMap::new(),
            lookup,
            rules: false,
        }
    }

    /// The field a header cell names: by its whole text, else by a rule (unless the field is
    /// configured, which replaces its built-in names and rules alike).
    fn field_of(&self, h: &str) -> Option<(Field, FoundBy)> {
        if let Some(f) = self.lookup.get(h) {
            return Some((*f, FoundBy::Name));
        }
        by_rule(h)
            .filter(|_| self.rules)
            .filter(|f| !self.explicit.contains_key(f))
            .map(|f| (f, FoundBy::Rule))
    }

    /// The first column whose header matches a field gets it; a later duplicate (two 备注
    /// columns) is ignored rather than guessed between. A column named by its whole header
    /// takes the field from one that only matched by rule.
    fn candidate(&self, cells: &[Cell<'_>]) -> Candidate {
        let mut cols = [None; FIELDS];
        let mut found_by = [FoundBy::Name; FIELDS];
        let mut score = 0;
        for (i, c) in cells.iter().enumerate() {
            let h = normalise_header(&c.text());
            if h.is_empty() {
                continue;
            }
            let Some((f, how)) = self.field_of(&h) else {
                continue;
            };
            let s = slot(f);
            match cols[s] {
                None => {
                    cols[s] = Some(i);
                    found_by[s] = how;
                    score += 1;
                }
                Some(_) if how == FoundBy::Name && found_by[s] == FoundBy::Rule => {
                    cols[s] = Some(i);
                    found_by[s] = how;
                }
                Some(_) => {}
            }
        }
        // 整改进展 and 是否完成 side by side: the yes/no column is the status, the progress
        // column holds progress in words.
        if let Some(c) = cols[slot(Field::Status)]
            && progress_like(&cells[c].text())
            && let Some(q) = cells.iter().enumerate().position(|(i, cell)| {
                i != c && !cols.contains(&Some(i)) && {
                    let h = normalise_header(&cell.text());
                    h.starts_with("是否")
                        && self.field_of(&h).is_some_and(|(f, _)| f == Field::Status)
                }
            })
        {
            cols[slot(Field::Status)] = Some(q);
            if cols[slot(Field::ProgressText)].is_none() {
                cols[slot(Field::ProgressText)] = Some(c);
                found_by[slot(Field::ProgressText)] = FoundBy::Rule;
            }
        }
        Candidate {
            cols,
            found_by,
            score,
        }
    }

    /// Picks the header row among `rows` (spreadsheet row number, cells): the one that maps the
    /// most fields and includes a title column; the earliest wins a tie. Returns its index in
    /// `rows` and the column map.
    pub(crate) fn detect(
        &self,
        rows: &[(usize, Vec<Cell<'static>>)],
    ) -> Result<(usize, ColumnMap), HeaderProblem> {
        let mut best: Option<(usize, Candidate)> = None;
        let mut best_untitled: Option<(usize, Candidate)> = None;
        for (i, (_, cells)) in rows.iter().enumerate() {
            let cand = self.candidate(cells);
            if cand.score == 0 {
                continue;
            }
            let slot_for = if cand.cols[slot(Field::Title)].is_some() {
                &mut best
            } else {
                &mut best_untitled
            };
            if slot_for.as_ref().is_none_or(|(_, b)| cand.score > b.score) {
                *slot_for = Some((i, cand));
            }
        }

        let found_headers = |i: usize| -> Vec<String> {
            rows[i]
                .1
                .iter()
                .map(|c| c.text().into_owned())
                .filter(|t| !t.is_empty())
                .collect()
        };

        let Some((i, cand)) = best else {
            // A row that maps several fields but no title is the header row with the title
            // column named differently: say that, rather than "no header row".
            if let Some((i, cand)) = best_untitled
                && (cand.score >= 2 || !self.explicit.is_empty())
            {
                return Err(self.missing(Field::Title, rows[i].0, found_headers(i)));
            }
            return Err(HeaderProblem::NotFound {
                expected_title: names_for(Field::Title, &self.explicit).join(", "),
                expected_others: [
                    Field::Id,
                    Field::Unit,
                    Field::Owners,
                    Field::Due,
                    Field::Status,
                ]
                .iter()
                .filter_map(|f| names_for(*f, &self.explicit).into_iter().next())
                .collect::<Vec<_>>()
                .join(", "),
            });
        };

        let mut cand = cand;
        let mut last = i;
        let upper = &rows[i].1;
        let mut lower: Option<&Vec<Cell<'static>>> = None;
        if let Some(sub) = self.sub_header(upper, &cand, rows.get(i + 1).map(|r| &r.1)) {
            for f in Field::ALL {
                if let Some(c) = sub.cols[slot(f)] {
                    cand.cols[slot(f)] = Some(c);
                    cand.found_by[slot(f)] = sub.found_by[slot(f)];
                }
            }
            last = i + 1;
            lower = rows.get(i + 1).map(|r| &r.1);
        }

        if let Some(f) = self
            .explicit
            .keys()
            .find(|f| cand.cols[slot(**f)].is_none())
        {
            let mut found = found_headers(i);
            if last > i {
                found.extend(found_headers(last));
            }
            return Err(self.missing(*f, rows[last].0, found));
        }

        // A column's header is the lower row's text where two header rows name it (the upper
        // cell spans several columns), else the header row's.
        let width = upper.len().max(lower.map_or(0, Vec::len));
        let texts: Vec<String> = (0..width)
            .map(|c| {
                let up = upper
                    .get(c)
                    .map(|x| x.text().into_owned())
                    .unwrap_or_default();
                match lower.and_then(|l| l.get(c)).map(|x| x.text().into_owned()) {
                    Some(low) if !low.is_empty() => low,
                    _ => up,
                }
            })
            .collect();
        Ok((last, ColumnMap::new(cand.cols, cand.found_by, texts)))
    }

    /// A second header row under the first, as two-level headers have: 责任主体 spanning
    /// 责任单位 / 包保领导 / 责任人 in the row below. Exported to CSV, the upper cell keeps the
    /// text and the lower row names the fields. The row below counts as a sub-header only if
    /// its title cell is empty (a data row always has a title) and it names fields in columns
    /// the header row left unmapped; the fields it adds are returned.
    fn sub_header(
        &self,
        header: &[Cell<'_>],
        cand: &Candidate,
        below: Option<&Vec<Cell<'static>>>,
    ) -> Option<Candidate> {
        let below = below?;
        let title_col = cand.cols[slot(Field::Title)]?;
        if !below.get(title_col).is_none_or(Cell::is_blank) {
            return None;
        }
        let sub = self.candidate(below);
        let used: Vec<usize> = cand.cols.iter().flatten().copied().collect();
        let mut extra = Candidate {
            cols: [None; FIELDS],
            found_by: sub.found_by,
            score: 0,
        };
        for f in Field::ALL {
            let Some(c) = sub.cols[slot(f)] else { continue };
            // The upper cell over this column must not be a field header itself, or the
            // lower text is data that happens to equal a header name.
            let upper_is_field = used.contains(&c)
                || header
                    .get(c)
                    .is_some_and(|h| self.field_of(&normalise_header(&h.text())).is_some());
            if cand.cols[slot(f)].is_none() && !upper_is_field {
                extra.cols[slot(f)] = Some(c);
                extra.score += 1;
            }
        }
        (extra.score > 0).then_some(extra)
    }

    fn missing(&self, field: Field, row: usize, found: Vec<String>) -> HeaderProblem {
        let configured = self.explicit.get(&field);
        HeaderProblem::Missing {
            field,
            header: match configured {
                Some(h) => h.clone(),
                None => names_for(field, &self.explicit).join("/"),
            },
            row,
            found,
            configured: configured.is_some(),
        }
    }
}

/// Builds a map directly from keys (TOML/JSON entries have no header row to search for).
pub(crate) fn map_keys(spec: &HeaderSpec, keys: &[String]) -> Result<ColumnMap, HeaderProblem> {
    let row: Vec<Cell<'static>> = keys.iter().map(|k| Cell::Text(k.clone().into())).collect();
    spec.detect(&[(0, row)]).map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize, cells: &[&str]) -> (usize, Vec<Cell<'static>>) {
        (
            n,
            cells
                .iter()
                .map(|s| {
                    if s.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(s.to_string().into())
                    }
                })
                .collect(),
        )
    }

    #[test]
    fn normalises_header_text() {
        assert_eq!(normalise_header(" 整改\n时限 "), "整改时限");
        assert_eq!(normalise_header("\u{3000}责任\u{3000}单位"), "责任单位");
        assert_eq!(normalise_header("*问题描述："), "问题描述");
        assert_eq!(normalise_header("Title"), "title");
        assert_eq!(normalise_header("No."), "no.");
    }

    #[test]
    fn skips_title_rows_above_the_header() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        let rows = vec![
            row(1, &["辽阳县生态环境突出问题集中整治排查问题清单", "", ""]),
            row(2, &["填报单位：县生态环境分局", "", "2026年11月"]),
            row(
                4,
                &["序号", "问题\n描述", "责任单位", "整改 时限", "整改进展"],
            ),
            row(5, &["1", "油烟治理", "县城管局", "2026-12-31", "整改中"]),
        ];
        let (i, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i, 2);
        assert_eq!(map.col(Field::Id), Some(0));
        assert_eq!(map.col(Field::Title), Some(1));
        assert_eq!(map.col(Field::Unit), Some(2));
        assert_eq!(map.col(Field::Due), Some(3));
        assert_eq!(map.col(Field::Status), Some(4));
        assert_eq!(map.col(Field::Owners), None);
        assert_eq!(map.header(Field::Title), "问题\n描述");
    }

    #[test]
    fn english_headers_are_case_insensitive() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        let rows = vec![row(
            1,
            &["ID", "Title", "Owner", "Team", "Due", "Status", "Notes"],
        )];
        let (_, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(map.col(Field::Id), Some(0));
        assert_eq!(map.col(Field::Owners), Some(2));
        assert_eq!(map.col(Field::Unit), Some(3));
        assert_eq!(map.col(Field::Notes), Some(6));
    }

    #[test]
    fn explicit_mapping_wins_and_replaces_built_ins() {
        let mut cols = BTreeMap::new();
        cols.insert(Field::Title, "整改任务".to_string());
        cols.insert(Field::Notes, "问题".to_string());
        let spec = HeaderSpec::new(&cols);
        let rows = vec![row(1, &["序号", "问题", "整改任务", "责任人"])];
        let (_, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(map.col(Field::Title), Some(2));
        assert_eq!(map.col(Field::Notes), Some(1));
    }

    #[test]
    fn explicit_header_missing_is_reported_with_found_headers() {
        let mut cols = BTreeMap::new();
        cols.insert(Field::Due, "完成时间".to_string());
        let spec = HeaderSpec::new(&cols);
        let rows = vec![row(3, &["序号", "问题描述", "整改时限"])];
        match spec.detect(&rows) {
            Err(HeaderProblem::Missing {
                field,
                header,
                row,
                found,
                ..
            }) => {
                assert_eq!(field, Field::Due);
                assert_eq!(header, "完成时间");
                assert_eq!(row, 3);
                assert_eq!(found, ["序号", "问题描述", "整改时限"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_title_and_no_header() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        let rows = vec![row(1, &["序号", "工作内容", "责任单位", "责任人"])];
        assert!(matches!(
            spec.detect(&rows),
            Err(HeaderProblem::Missing {
                field: Field::Title,
                ..
            })
        ));
        let rows = vec![row(1, &["a", "b"]), row(2, &["c", "d"])];
        assert!(matches!(
            spec.detect(&rows),
            Err(HeaderProblem::NotFound { .. })
        ));
    }

    #[test]
    fn two_level_headers_are_combined() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        let rows = vec![
            row(1, &["清单"]),
            row(2, &["序号", "问题描述", "责任主体", "", "", "整改时限"]),
            row(3, &["", "", "责任单位", "包保领导", "责任人", ""]),
            row(
                4,
                &["1", "油烟", "县城管局", "张明远", "孙强", "2026-12-31"],
            ),
        ];
        let (i, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i, 2, "data starts after the lower header row");
        assert_eq!(map.col(Field::Id), Some(0));
        assert_eq!(map.col(Field::Unit), Some(2));
        assert_eq!(map.col(Field::Leader), Some(3));
        assert_eq!(map.col(Field::Owners), Some(4));
        assert_eq!(map.col(Field::Due), Some(5));
        assert_eq!(map.header(Field::Owners), "责任人");
    }

    #[test]
    fn a_data_row_is_never_taken_for_a_sub_header() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        // The first data row's notes cell says 进度, a progress header, but it has a title.
        let rows = vec![
            row(1, &["序号", "问题描述", "备注"]),
            row(2, &["1", "油烟", "进度"]),
        ];
        let (i, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i, 0);
        assert_eq!(map.col(Field::Progress), None);
    }

    #[test]
    fn first_of_duplicate_headers_wins() {
        let spec = HeaderSpec::new(&BTreeMap::new());
        let rows = vec![row(1, &["问题", "备注", "问题描述", "备注"])];
        let (_, map) = spec
            .detect(&rows)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(map.col(Field::Title), Some(0));
        assert_eq!(map.col(Field::Notes), Some(1));
    }

    fn detect(cells: &[&str]) -> ColumnMap {
        HeaderSpec::new(&BTreeMap::new())
            .detect(&[row(1, cells)])
            .map(|(_, m)| m)
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_county_header_maps_by_name_and_by_rule() {
        let map = detect(&[
            "序号",
            "问题类型",
            "问题描述",
            "所在乡镇",
            "牵头单位",
            "配合单位",
            "县级包保领导",
            "责任人",
            "联系电话",
            "整改措施",
            "整改时限",
            "整改进展情况",
            "是否完成",
            "问题来源",
        ]);
        let expect = [
            (Field::Id, 0),
            (Field::Category, 1),
            (Field::Title, 2),
            (Field::Area, 3),
            (Field::Unit, 4),
            (Field::CoUnits, 5),
            (Field::Leader, 6),
            (Field::Owners, 7),
            (Field::Phones, 8),
            (Field::Measures, 9),
            (Field::Due, 10),
            (Field::ProgressText, 11),
            (Field::Status, 12),
        ];
        for (f, c) in expect {
            assert_eq!(map.col(f), Some(c), "{f:?}");
        }
        assert!(map.status_is_yes_no());
        assert_eq!(map.found_by[slot(Field::Leader)], FoundBy::Rule);
        let (cols, headers) = map.extra();
        assert_eq!(cols, [13]);
        assert_eq!(&headers[..], ["问题来源"]);
    }

    #[test]
    fn rules_settle_the_overlaps_in_their_order() {
        for (header, field) in [
            ("联系电话", Field::Phones),
            ("责任人联系电话", Field::Phones),
            ("联系人", Field::Owners),
            ("具体责任人", Field::Owners),
            ("责任单位负责人", Field::Owners),
            ("县级包保领导", Field::Leader),
            ("县牵头领导", Field::Leader),
            ("县级牵头单位", Field::Unit),
            ("市级责任单位", Field::Unit),
            ("协办单位（部门）", Field::CoUnits),
            ("整改完成时间", Field::Due),
            ("完成时间节点", Field::Due),
            ("推进情况", Field::ProgressText),
            ("工作进展", Field::ProgressText),
            ("是否完成整改", Field::Status),
            ("问题分类", Field::Category),
            ("乡镇（街道）", Field::Area),
            ("具体整改措施", Field::Measures),
        ] {
            let h = normalise_header(header);
            let got = HeaderSpec::new(&BTreeMap::new())
                .field_of(&h)
                .map(|(f, _)| f);
            assert_eq!(got, Some(field), "{header}");
        }
        assert_eq!(by_rule("duecomplete"), None);
    }

    #[test]
    fn progress_beside_a_yes_no_column_is_progress_and_the_question_is_the_status() {
        let map = detect(&["序号", "问题描述", "整改进展", "是否销号"]);
        assert_eq!(map.col(Field::Status), Some(3));
        assert_eq!(map.col(Field::ProgressText), Some(2));
        assert!(map.status_is_yes_no());
    }

    #[test]
    fn tool_exports_map_without_configuration() {
        let jira = detect(&[
            "Summary",
            "Issue key",
            "Issue id",
            "Issue Type",
            "Status",
            "Assignee",
            "Resolved",
            "Due date",
            "Labels",
            "Labels",
        ]);
        assert_eq!(jira.col(Field::Title), Some(0));
        assert_eq!(jira.col(Field::Id), Some(1));
        assert_eq!(jira.col(Field::Category), Some(3));
        assert_eq!(jira.col(Field::Due), Some(7));
        assert_eq!(jira.completed(), Some(6));
        let (_, headers) = jira.extra();
        assert_eq!(&headers[..], ["Issue id", "Labels", "Labels (2)"]);
        let asana = detect(&[
            "Task ID",
            "Completed At",
            "Name",
            "Assignee",
            "Assignee Email",
            "Due Date",
        ]);
        assert_eq!(asana.col(Field::Id), Some(0));
        assert_eq!(asana.completed(), Some(1));
        assert_eq!(asana.col(Field::Title), Some(2));
        assert_eq!(asana.col(Field::Owners), Some(3));
        assert_eq!(asana.col(Field::Due), Some(5));
        let trello = detect(&[
            "Card ID",
            "Card Name",
            "Members",
            "Due Date",
            "Due Complete",
            "List Name",
        ]);
        assert_eq!(trello.col(Field::Owners), Some(2));
        assert_eq!(trello.col(Field::Due), Some(3));
        assert_eq!(trello.completed(), Some(4));
    }

    fn sample<'a>(rows: &'a [Vec<Cell<'a>>]) -> Vec<&'a [Cell<'a>]> {
        rows.iter().map(Vec::as_slice).collect()
    }

    fn text_row(cells: &[&str]) -> Vec<Cell<'static>> {
        row(0, cells).1
    }

    fn refine(map: &mut ColumnMap, rows: &[Vec<Cell<'_>>]) {
        let statuses = StatusMap::new(&BTreeMap::new());
        let look = Lookahead {
            statuses: &statuses,
            list_date: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap_or_default(),
            date_order: None,
            locale: Locale::En,
        };
        map.refine(&sample(rows), &look);
    }

    #[test]
    fn columns_of_status_words_and_of_dates_are_found_by_content() {
        let mut map = detect(&["Title", "List", "When"]);
        assert_eq!(map.col(Field::Status), None);
        let rows = vec![
            text_row(&["a", "Doing", "2026-12-01"]),
            text_row(&["b", "Done", "2026-12-05"]),
            text_row(&["c", "", "2026年12月底前"]),
        ];
        refine(&mut map, &rows);
        assert_eq!(map.col(Field::Status), Some(1));
        assert_eq!(map.col(Field::Due), Some(2));
        assert_eq!(map.found_by[slot(Field::Due)], FoundBy::Content);
        assert!(map.extra().0.is_empty());
        let report = map.report(Locale::En);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.starts_with("no leader column")),
            "{report:?}"
        );
    }

    #[test]
    fn a_status_column_of_free_text_is_kept_as_progress_in_words() {
        let mut map = detect(&["问题描述", "进展", "截止"]);
        // 进展 is a rule for progress in words; give the status to it by name instead.
        map.assign(Field::ProgressText, None, FoundBy::Name);
        map.assign(Field::Status, Some(1), FoundBy::Name);
        let rows = vec![
            text_row(&["a", "已完成清运 3 处，剩余 2 处", ""]),
            text_row(&["b", "已约谈企业负责人", ""]),
            text_row(&["c", "整改中", ""]),
        ];
        refine(&mut map, &rows);
        assert_eq!(map.col(Field::Status), None);
        assert_eq!(map.col(Field::ProgressText), Some(1));
        let report = map.report(Locale::ZhCn);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains("holds free text")),
            "{report:?}"
        );
        assert!(
            report.warnings.iter().any(|w| w.contains("未找到状态列")),
            "{report:?}"
        );
    }

    #[test]
    fn a_creation_date_is_never_taken_for_the_deadline() {
        let mut map = detect(&["Title", "Created"]);
        let rows = vec![
            text_row(&["a", "2026-11-01"]),
            text_row(&["b", "2026-11-02"]),
        ];
        refine(&mut map, &rows);
        assert_eq!(map.col(Field::Due), None);
        assert_eq!(map.extra().0, [1]);
    }

    #[test]
    fn columns_without_a_header_are_kept_by_their_letter() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        let map = detect(&["问题描述", "", "备注"]);
        assert_eq!(&map.extra().1[..], ["B"]);
    }
}

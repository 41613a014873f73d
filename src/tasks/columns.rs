//! Which column holds which task field: header text matching and header-row detection.

use super::cell::Cell;
use crate::config::Field;
use std::collections::{BTreeMap, HashMap};

/// How many rows from the top are searched for the header row. Real sheets put a title, a
/// date line, a "填报单位" line and blank rows above the header; none use twenty.
pub(crate) const HEADER_SCAN_ROWS: usize = 20;

/// Header texts recognised without any `[tasks.columns]` entry.
const BUILT_IN: &[(Field, &[&str])] = &[
    (Field::Id, &["序号", "编号", "id", "no.", "no"]),
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
        ],
    ),
    (
        Field::Due,
        &["整改时限", "完成时限", "截止时间", "due", "deadline"],
    ),
    (
        Field::Status,
        &[
            "整改进展",
            "进展情况",
            "完成情况",
            "当前状态",
            "status",
            // Yes/no columns: 是 or 否 per row (see `ColumnMap::status_is_yes_no`).
            "是否完成",
            "是否销号",
            "是否办结",
            "是否整改到位",
        ],
    ),
    (Field::Notes, &["备注", "情况说明", "notes"]),
    (Field::Category, &["问题类别", "类别", "category"]),
    (Field::Progress, &["进度", "完成进度", "progress"]),
    (Field::Channel, &["channel"]),
];

/// Headers of a column holding the day a task was finished: Jira's `Resolved`, Asana's
/// `Completed At`, Linear's `Completed`. A date there means done whatever the status column
/// says, unless it says cancelled (Jira resolves a Won't Do issue too).
const COMPLETED: &[&str] = &[
    "completed at",
    "completed",
    "resolved",
    "resolved at",
    "resolution date",
    "销号时间",
    "办结时间",
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

/// Where each field's column is, once the header row is known.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    cols: [Option<usize>; FIELDS],
    /// The header text as written in the sheet, for row messages.
    headers: [String; FIELDS],
    /// See [`COMPLETED`].
    completed: Option<usize>,
    /// See [`ColumnMap::status_is_yes_no`]; worked out once, not per row.
    status_is_yes_no: bool,
}

impl ColumnMap {
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
        let h = &self.headers[slot(f)];
        if h.is_empty() {
            f.as_str().to_string()
        } else {
            h.clone()
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
        }
    }

    /// The first column whose header matches a field gets it; a later duplicate (two 备注
    /// columns) is ignored rather than guessed between.
    fn candidate(&self, cells: &[Cell<'_>]) -> Candidate {
        let mut cols = [None; FIELDS];
        let mut score = 0;
        for (i, c) in cells.iter().enumerate() {
            let h = normalise_header(&c.text());
            if h.is_empty() {
                continue;
            }
            if let Some(f) = self.lookup.get(&h)
                && cols[slot(*f)].is_none()
            {
                cols[slot(*f)] = Some(i);
                score += 1;
            }
        }
        Candidate { cols, score }
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
        // header_source[f] = index in `rows` of the row that named field f.
        let mut header_source = [i; FIELDS];
        if let Some(sub) = self.sub_header(&rows[i].1, &cand, rows.get(i + 1).map(|r| &r.1)) {
            for f in Field::ALL {
                if let Some(c) = sub.cols[slot(f)] {
                    cand.cols[slot(f)] = Some(c);
                    header_source[slot(f)] = i + 1;
                }
            }
            last = i + 1;
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

        let mut headers: [String; FIELDS] = Default::default();
        for f in Field::ALL {
            if let Some(c) = cand.cols[slot(f)] {
                headers[slot(f)] = rows[header_source[slot(f)]]
                    .1
                    .get(c)
                    .map(|c| c.text().into_owned())
                    .unwrap_or_default();
            }
        }
        let completed = rows[i].1.iter().enumerate().position(|(c, cell)| {
            !cand.cols.contains(&Some(c)) && COMPLETED.contains(&&*normalise_header(&cell.text()))
        });
        let status_is_yes_no = normalise_header(&headers[slot(Field::Status)]).starts_with("是否");
        Ok((
            last,
            ColumnMap {
                cols: cand.cols,
                headers,
                completed,
                status_is_yes_no,
            },
        ))
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
            score: 0,
        };
        for f in Field::ALL {
            let Some(c) = sub.cols[slot(f)] else { continue };
            // The upper cell over this column must not be a field header itself, or the
            // lower text is data that happens to equal a header name.
            let upper_is_field = used.contains(&c)
                || header
                    .get(c)
                    .is_some_and(|h| self.lookup.contains_key(&normalise_header(&h.text())));
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
}

//! Deadlines as offices write them: Excel date cells and serials, ISO-ish dates, and the
//! Chinese forms (`2026年12月31日`, `2026年12月底前`, `12月底前`, `长期坚持`).

use super::cell::Cell;
use super::model::Task;
use crate::config::{DateOrder, Locale};
use chrono::{Datelike, Months, NaiveDate};
use std::borrow::Cow;
use std::collections::HashMap;

/// Cell texts that mean "no deadline". `/` and `-` are what offices put in a cell that does not
/// apply, and 常态化 / 持续推进 describe standing work just as 长期坚持 does.
const NO_DEADLINE: &[&str] = &[
    "长期坚持",
    "长期",
    "长期推进",
    "持续推进",
    "常态化",
    "无",
    "ongoing",
    "none",
    "n/a",
    "-",
    "--",
    "—",
    "——",
    "/",
];

/// How to write a deadline, in the config's language: an English config gets English examples
/// (a Jira user has no use for 2026年12月底前), a Chinese one the forms offices write.
fn hint(locale: Locale) -> &'static str {
    locale.pick(
        "请写成 2026-12-31、2026年12月31日 或 2026年12月底前 这样的日期；立行立改 以清单日期为限，\
         长期坚持 表示无时限",
        "write a date such as 2026-12-31 or 31 Dec 2026, or ongoing for no deadline",
    )
}

/// Reads a due-date cell. `Ok(None)` means no deadline; `Err` is the reason for a bad row.
pub(crate) fn parse_due_cell(
    cell: &Cell<'_>,
    list_date: NaiveDate,
    order: Option<DateOrder>,
    locale: Locale,
) -> Result<Option<NaiveDate>, String> {
    let hint = hint(locale);
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(*d)),
        Cell::Number { value, .. } => plain_serial(*value).map(Some).ok_or_else(|| {
            format!(
                "the number {} is not a date; {hint}",
                super::cell::format_number(*value)
            )
        }),
        Cell::Text(t) => read_due(t, list_date, order, hint),
        Cell::Bool(_) => Err(format!("TRUE/FALSE is not a date; {hint}")),
    }
}

/// Whether `text`, read against `list_date`, gives a date that depends on it: 12月15日前 and
/// 月底 take its year or month, 立行立改 its day. Read once more against a date a year and a
/// month later: a deadline that names its own year reads the same.
pub(crate) fn depends_on_list_date(
    text: &str,
    list_date: NaiveDate,
    order: Option<DateOrder>,
) -> bool {
    // A deadline that names a four-digit year is its own (2026-12-31, 2027年上半年): the
    // common case answered without reading it twice, which the 100,000-row import bench
    // would otherwise pay on every row.
    let four_digits = text
        .as_bytes()
        .windows(4)
        .any(|w| w.iter().all(u8::is_ascii_digit));
    if four_digits {
        return false;
    }
    let later = list_date + chrono::Days::new(397);
    let hint = "";
    read_due(text, list_date, order, hint).ok() != read_due(text, later, order, hint).ok()
}

/// Reads the relative deadlines of `tasks` ([`Task::due_anchored`]) again against the day
/// `first_seen` remembers for their row (task id → day), so that they keep the date they had
/// when weekbell first read them, however often the file has been saved since; `order` gives
/// each task's list's `date_order`. Returns how many deadlines moved back to that date.
pub fn reanchor(
    tasks: &mut [Task],
    first_seen: &HashMap<String, NaiveDate>,
    order: impl Fn(&Task) -> Option<DateOrder>,
) -> usize {
    let mut moved = 0;
    for task in tasks.iter_mut() {
        let Some(day) = first_seen
            .get(&task.id)
            .filter(|_| task.due_anchored.is_some())
        else {
            continue;
        };
        if let Ok(Some(due)) = read_due(&task.details.due_text, *day, order(task), "")
            && task.due != Some(due)
        {
            task.due = Some(due);
            moved += 1;
        }
    }
    moved
}

/// Serial 18264 is 1950-01-01. A number cell without a date format is taken as a serial only
/// from there on, so that a year typed as a number (2026) is an error, not a date in 1905.
const FIRST_PLAIN_SERIAL: f64 = 18264.0;

fn plain_serial(serial: f64) -> Option<NaiveDate> {
    if serial >= FIRST_PLAIN_SERIAL {
        excel_serial(serial)
    } else {
        None
    }
}

/// Converts an Excel serial day number (1900 date system) to a date.
///
/// Serials below 60 are shifted by a day because Excel counts the non-existent 1900-02-29.
pub(crate) fn excel_serial(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let days = if days < 60 { days + 1 } else { days };
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(chrono::Duration::days(days))
}

/// The date a list is "as of", from its title rows: `更新日期：2026年12月4日`, `截至2026-12-04`,
/// or a date cell. Only full dates count, so `2026年第一批` is no date. With several, the latest
/// wins: a title naming a period is as of its end.
pub(crate) fn title_date<'c>(cells: impl IntoIterator<Item = &'c Cell<'c>>) -> Option<NaiveDate> {
    cells
        .into_iter()
        .filter_map(|cell| match cell {
            Cell::Date(d) => Some(*d),
            Cell::Text(t) => dates_in_text(t).max(),
            _ => None,
        })
        .max()
}

fn dates_in_text(text: &str) -> impl Iterator<Item = NaiveDate> + '_ {
    let date_char = |c: char| {
        c.is_ascii_digit()
            || matches!(
                c,
                '０'..='９' | '年' | '月' | '日' | '号' | '-' | '/' | '.' | '－' | '／' | '．'
            )
    };
    text.split(move |c: char| !date_char(c)).filter_map(|run| {
        let digits = normalise(run);
        let mut numbers = digits
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty());
        let year = numbers.next().filter(|y| y.len() == 4).and_then(num)?;
        let month = numbers.next().and_then(num)?;
        let day = numbers.next().and_then(num)?;
        ymd(year, month, day)
    })
}

/// Cell texts that mean "at once": due on the list's own date.
const AT_ONCE: &[&str] = &[
    "立行立改",
    "即知即改",
    "立即整改",
    "立查立改",
    "马上就改",
    "立即",
];

/// Parses deadline text. `list_date` is the date the list is as of (see [`title_date`]): it
/// supplies the year for forms without one (`12月底前`) and the day for 立行立改, so that a
/// deadline does not move when the same list is read again after New Year.
///
/// An all-numeric date whose day and month could be swapped (`03/04/2026`) is refused; the
/// importer reads it with `[tasks] date_order`.
pub fn parse_due(raw: &str, list_date: NaiveDate) -> Result<Option<NaiveDate>, String> {
    read_due(raw, list_date, None, hint(Locale::ZhCn))
}

fn read_due(
    raw: &str,
    list_date: NaiveDate,
    order: Option<DateOrder>,
    hint: &str,
) -> Result<Option<NaiveDate>, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let s = normalise(strip_time(trimmed));
    let parsed = match parse_words(&s, list_date) {
        Some(p) => p,
        None => match split_range(strip_by_then(&s)) {
            Some((start, end)) => parse_range(start, end, list_date, order),
            None => parse_one(&s, list_date, order),
        },
    };
    match parsed {
        Parsed::Date(d) => Ok(Some(d)),
        Parsed::NoDeadline => Ok(None),
        Parsed::Invalid => Err(format!("{trimmed:?} is not a real calendar date; {hint}")),
        Parsed::NoMatch => Err(format!("cannot read {trimmed:?} as a deadline; {hint}")),
        Parsed::Ambiguous => Err(format!(
            "{trimmed:?} could be read month first or day first; set [tasks] date_order = \"mdy\" \
             (12/31/2026) or \"dmy\" (31/12/2026), or write 2026-12-31"
        )),
    }
}

/// 立行立改 and 长期坚持, alone or together (`立行立改，长期坚持`: fix it now, then keep it up; the
/// first deadline is now).
fn parse_words(s: &str, list_date: NaiveDate) -> Option<Parsed> {
    let s = strip_by_then(s);
    if s.is_empty() {
        return None;
    }
    let mut at_once = false;
    for part in s
        .split(['、', '，', ',', '；', ';'])
        .filter(|p| !p.is_empty())
    {
        if AT_ONCE.contains(&part) {
            at_once = true;
        } else if !NO_DEADLINE.contains(&part) {
            return None;
        }
    }
    Some(if at_once {
        Parsed::Date(list_date)
    } else {
        Parsed::NoDeadline
    })
}

/// "By then" endings change nothing about the date itself: 12月底前完成, 12月15日前整改到位.
fn strip_by_then(s: &str) -> &str {
    let mut core = s;
    for ending in ["整改到位", "到位", "整改完成", "完成", "到期"] {
        if let Some(rest) = core.strip_suffix(ending) {
            core = rest;
            break;
        }
    }
    for suffix in ["之前", "以前", "前"] {
        if let Some(rest) = core.strip_suffix(suffix) {
            return rest;
        }
    }
    core
}

/// `11月—12月`, `2026年11月至2027年1月`, `12月1日-15日`: a range's deadline is its end. An
/// ASCII hyphen separates a range only between Chinese dates, since it also separates the parts
/// of an ISO date.
fn split_range(s: &str) -> Option<(&str, &str)> {
    let (start, end) = ["——", "—", "–", "至", "到", "~", "～"]
        .iter()
        .find_map(|sep| s.split_once(sep))
        .or_else(|| s.contains('月').then(|| s.split_once('-')).flatten())?;
    (!start.is_empty() && !end.is_empty()).then_some((start, end))
}

fn parse_range(start: &str, end: &str, list_date: NaiveDate, order: Option<DateOrder>) -> Parsed {
    let start = match parse_one(start, list_date, order) {
        Parsed::Date(d) => d,
        other => return other,
    };
    // `12月1日-15日`: the end names only a day of the start's month.
    let day_only = end
        .strip_suffix('日')
        .or_else(|| end.strip_suffix('号'))
        .and_then(num);
    let parsed = match day_only {
        Some(day) => ymd(u32::try_from(start.year()).unwrap_or(0), start.month(), day).into(),
        // The end's year, if it has none, is the start's: 2026年11月—12月.
        None => parse_one(end, start, order),
    };
    let end_has_year = end.get(..4).is_some_and(all_digits);
    match parsed {
        // 11月—2月 crosses New Year.
        Parsed::Date(d) if d < start && !end_has_year => d
            .checked_add_months(Months::new(12))
            .map_or(Parsed::Invalid, Parsed::Date),
        Parsed::Date(d) if d < start => Parsed::NoMatch,
        other => other,
    }
}

/// One date, period or phrase, without range.
fn parse_one(s: &str, list_date: NaiveDate, order: Option<DateOrder>) -> Parsed {
    if let Some(p) = parse_words(s, list_date) {
        return p;
    }
    let core = strip_by_then(s);
    if core.is_empty() {
        return Parsed::NoMatch;
    }
    if let Some(p) = parse_period(core, list_date) {
        return p;
    }
    if core.contains(['年', '月']) {
        parse_chinese(core, list_date.year())
    } else {
        parse_numeric(core, order)
    }
}

/// 月底, 季度末, 年底, 上半年, 下半年, 第一季度, with or without a year (`2027年上半年`). Without
/// one they are the list's: 月底 is the end of the month of the list's date.
fn parse_period(core: &str, list_date: NaiveDate) -> Option<Parsed> {
    let list_year = u32::try_from(list_date.year()).unwrap_or(0);
    let (year, rest) = match core.split_once('年') {
        Some((y, rest)) if y.len() == 4 && all_digits(y) && !rest.is_empty() => {
            (num(y).unwrap_or(0), Some(rest))
        }
        _ => (list_year, None),
    };
    let explicit_year = rest.is_some();
    let rest = rest.unwrap_or(core);
    let (this, rest) = match rest.strip_prefix('本').or_else(|| rest.strip_prefix('今')) {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (end, base) = match rest.strip_suffix(['末', '底']) {
        Some(b) => (true, b),
        None => (false, rest),
    };
    let quarter_end = |q: u32| end_of_month(year, q * 3).into();
    let parsed = match base {
        "月" if (end || this) && !explicit_year => {
            end_of_month(list_year, list_date.month()).into()
        }
        "季度" | "季" if (end || this) && !explicit_year => {
            quarter_end(list_date.month().div_ceil(3))
        }
        "年" | "年度" if end || this => ymd(year, 12, 31).into(),
        "上半年" | "年中" => ymd(year, 6, 30).into(),
        "下半年" => ymd(year, 12, 31).into(),
        _ => {
            let q = base
                .strip_prefix('第')
                .unwrap_or(base)
                .strip_suffix("季度")?;
            let q = match q {
                "一" | "1" => 1,
                "二" | "2" => 2,
                "三" | "3" => 3,
                "四" | "4" => 4,
                _ => return None,
            };
            quarter_end(q)
        }
    };
    Some(parsed)
}

enum Parsed {
    Date(NaiveDate),
    NoDeadline,
    /// All numbers, and the day and month could be either way round.
    Ambiguous,
    /// Looked like a date but names no real day (2026-02-30, month 13).
    Invalid,
    NoMatch,
}

impl From<Option<NaiveDate>> for Parsed {
    fn from(d: Option<NaiveDate>) -> Self {
        d.map_or(Parsed::Invalid, Parsed::Date)
    }
}

/// Exports from other tools write `2026-12-31 00:00:00`, `2026-12-31T08:30:00+08:00` or, from
/// Jira, `02/Dec/26 12:00 AM`; the time of day means nothing for a deadline. The time is what
/// follows the last space or `T` before the first colon.
fn strip_time(s: &str) -> &str {
    let Some(colon) = s.find(':') else { return s };
    match s[..colon].rfind(['T', ' ']) {
        Some(pos) => s[..pos].trim_end(),
        None => s,
    }
}

/// Full-width digits and punctuation come from Chinese input methods; whitespace inside a
/// date (`2026 年 12 月`) is layout, not meaning.
fn normalise(s: &str) -> Cow<'_, str> {
    let needs_change = |c: char| {
        c.is_whitespace() || c.is_ascii_uppercase() || matches!(c, '０'..='９' | '／' | '－' | '．')
    };
    // Most cells are already plain; copying them would be most of this function's cost.
    if !s.chars().any(needs_change) {
        return Cow::Borrowed(s);
    }
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '／' => '/',
            '－' => '-',
            '．' => '.',
            _ => c.to_ascii_lowercase(),
        })
        .collect::<String>()
        .into()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> Option<u32> {
    if all_digits(s) && s.len() <= 4 {
        s.parse().ok()
    } else {
        None
    }
}

fn ymd(y: u32, m: u32, d: u32) -> Option<NaiveDate> {
    if !(1900..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

fn end_of_month(y: u32, m: u32) -> Option<NaiveDate> {
    ymd(y, m, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

fn parse_numeric(s: &str, order: Option<DateOrder>) -> Parsed {
    if all_digits(s) {
        return match s.len() {
            // 20261231: the compact form some registration systems export.
            8 => match (num(&s[..4]), num(&s[4..6]), num(&s[6..])) {
                (Some(y), Some(m), Some(d)) => ymd(y, m, d).into(),
                _ => Parsed::NoMatch,
            },
            // A date cell saved to CSV without its format comes out as the serial (46387).
            5 => s
                .parse::<f64>()
                .ok()
                .and_then(plain_serial)
                .map_or(Parsed::NoMatch, Parsed::Date),
            _ => Parsed::NoMatch,
        };
    }
    if s.bytes().any(|b| b.is_ascii_alphabetic()) {
        return parse_month_name(s);
    }
    let Some(sep) = s.chars().find(|c| matches!(c, '-' | '/' | '.')) else {
        return Parsed::NoMatch;
    };
    // Most date cells take this path; an array rather than a Vec keeps it free of allocation.
    let mut parts = s.split(sep);
    match [parts.next(), parts.next(), parts.next(), parts.next()] {
        [Some(y), Some(m), None, None] if y.len() == 4 => match (num(y), num(m)) {
            // 2026-12: a month given as a deadline means its last day.
            (Some(y), Some(m)) => end_of_month(y, m).into(),
            _ => Parsed::NoMatch,
        },
        [Some(y), Some(m), Some(d), None] if y.len() == 4 => match (num(y), num(m), num(d)) {
            (Some(y), Some(m), Some(d)) => ymd(y, m, d).into(),
            _ => Parsed::NoMatch,
        },
        [Some(a), Some(b), Some(y), None] => match (num(a), num(b), year(y)) {
            (Some(a), Some(b), Some(y)) => day_and_month(a, b, y, order),
            _ => Parsed::NoMatch,
        },
        _ => Parsed::NoMatch,
    }
}

/// `12/31/2026` or `31/12/2026`. Where only one reading is a real date it is the one; where both
/// are, `order` decides, and without it the cell is [`Parsed::Ambiguous`] rather than a guess that
/// would be a month off.
fn day_and_month(a: u32, b: u32, y: u32, order: Option<DateOrder>) -> Parsed {
    let (month_first, day_first) = (ymd(y, a, b), ymd(y, b, a));
    match order {
        Some(DateOrder::Mdy) => month_first.into(),
        Some(DateOrder::Dmy) => day_first.into(),
        None => match (month_first, day_first) {
            (Some(m), Some(d)) if m == d => Parsed::Date(m),
            (Some(_), Some(_)) => Parsed::Ambiguous,
            (Some(date), None) | (None, Some(date)) => Parsed::Date(date),
            (None, None) => Parsed::Invalid,
        },
    }
}

/// A year of four digits, or of two as Jira writes them (`26` is 2026: deadlines are never in
/// the last century).
fn year(s: &str) -> Option<u32> {
    match s.len() {
        4 => num(s),
        2 => num(s).map(|y| 2000 + y),
        _ => None,
    }
}

/// English month names, as Jira (`02/Dec/26`, its default `dd/MMM/yy`) and US spreadsheets
/// (`Dec 2, 2026`) write them; the text is already lower case and without spaces.
fn parse_month_name(s: &str) -> Parsed {
    // Letters, digits and separators alternate: split into the runs of letters and of digits.
    let mut tokens: Vec<&str> = Vec::with_capacity(3);
    let mut start = 0;
    let kind = |c: char| {
        if c.is_ascii_digit() {
            1
        } else if c.is_ascii_alphabetic() {
            2
        } else {
            0
        }
    };
    let mut prev = 0;
    for (i, c) in s.char_indices() {
        let k = kind(c);
        if k != prev {
            if prev != 0 {
                tokens.push(&s[start..i]);
            }
            start = i;
            prev = k;
        }
        if tokens.len() > 3 {
            return Parsed::NoMatch;
        }
    }
    if prev != 0 {
        tokens.push(&s[start..]);
    }
    let (day, month, y) = match tokens[..] {
        [d, m, y] if all_digits(d) => (num(d), month_number(m), year(y)),
        [m, d, y] => (num(d), month_number(m), year(y)),
        _ => return Parsed::NoMatch,
    };
    match (day, month, y) {
        (Some(d), Some(m), Some(y)) => ymd(y, m, d).into(),
        _ => Parsed::NoMatch,
    }
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if name.len() < 3 {
        return None;
    }
    // `sept` is how some write September.
    let position = MONTHS
        .iter()
        .position(|m| m.starts_with(name))
        .or_else(|| (name == "sept").then_some(8))?;
    u32::try_from(position + 1).ok()
}

fn parse_chinese(s: &str, this_year: i32) -> Parsed {
    let (year, rest) = match s.split_once('年') {
        // 年底前 without a year means this year's end.
        Some(("", rest @ ("底" | "末"))) => (u32::try_from(this_year).unwrap_or(0), rest),
        Some((y, rest)) => match num(y) {
            Some(y) if y >= 1000 => (y, rest),
            _ => return Parsed::NoMatch,
        },
        None => (u32::try_from(this_year).unwrap_or(0), s),
    };
    // 2026年 / 2026年底: the whole year.
    if s.contains('年') && matches!(rest, "" | "底" | "末") {
        return ymd(year, 12, 31).into();
    }
    let Some((month, tail)) = rest.split_once('月') else {
        return Parsed::NoMatch;
    };
    let Some(month) = num(month) else {
        return Parsed::NoMatch;
    };
    match tail {
        "" | "底" | "末" | "份" | "下旬" => end_of_month(year, month).into(),
        "上旬" => ymd(year, month, 10).into(),
        "中旬" => ymd(year, month, 20).into(),
        _ => {
            let day = tail
                .strip_suffix('日')
                .or_else(|| tail.strip_suffix('号'))
                .unwrap_or(tail);
            match num(day) {
                Some(d) => ymd(year, month, d).into(),
                None => Parsed::NoMatch,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
    }

    fn p(s: &str) -> Result<Option<NaiveDate>, String> {
        parse_due(s, today())
    }

    #[test]
    fn only_deadlines_that_take_the_lists_date_depend_on_it() {
        for relative in [
            "12月15日前",
            "12月底",
            "月底",
            "年底",
            "立行立改",
            "上半年",
            "11月—12月",
        ] {
            assert!(depends_on_list_date(relative, today(), None), "{relative}");
        }
        for fixed in [
            "2026-12-31",
            "2026年12月底前",
            "2027年上半年",
            "02/Dec/26 12:00 AM",
            "长期坚持",
            "待定",
        ] {
            assert!(!depends_on_list_date(fixed, today(), None), "{fixed}");
        }
    }

    #[test]
    fn reanchoring_reads_the_text_against_the_remembered_day() {
        let task = |id: &str, text: &str, due| Task {
            id: id.into(),
            title: "油烟治理".into(),
            unit: String::new(),
            leader: None,
            owners: Vec::new(),
            due,
            unreadable_due: None,
            due_anchored: (text != "2027年6月").then_some(d(2027, 2, 3)).flatten(),
            extension: Default::default(),
            co_leaders: Vec::new(),
            list: None,
            status: crate::types::Status::Todo,
            progress: None,
            notes: String::new(),
            category: String::new(),
            channel: None,
            details: super::super::model::Details {
                due_text: text.into(),
                ..Default::default()
            },
            source: super::super::model::RowRef {
                sheet: String::new(),
                row: 2,
            },
        };
        // Read in February 2027 against the file's save date; first seen in November 2026.
        let mut tasks = vec![
            task("1", "12月15日前", d(2027, 12, 15)),
            task("2", "立行立改", d(2027, 2, 3)),
            task("3", "2027年6月", d(2027, 6, 30)),
            task("4", "12月15日前", d(2027, 12, 15)),
        ];
        let first_seen: HashMap<String, NaiveDate> =
            [("1", today()), ("2", today()), ("3", today())]
                .into_iter()
                .map(|(id, day)| (id.to_string(), day))
                .collect();
        assert_eq!(reanchor(&mut tasks, &first_seen, |_| None), 2);
        assert_eq!(tasks[0].due, d(2026, 12, 15));
        assert_eq!(tasks[1].due, Some(today()));
        assert_eq!(tasks[2].due, d(2027, 6, 30), "a stated date is left alone");
        assert_eq!(
            tasks[3].due,
            d(2027, 12, 15),
            "a row not seen before keeps today's reading"
        );
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(p("2026-12-31"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026/12/31"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026.12.31"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-1-5"), Ok(d(2026, 1, 5)));
        assert_eq!(p(" 2026/1/5 "), Ok(d(2026, 1, 5)));
        assert_eq!(p("２０２６－１２－３１"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-12-31 00:00:00"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-12-31T08:30:00"), Ok(d(2026, 12, 31)));
        assert_eq!(p("20261231"), Ok(d(2026, 12, 31)));
        assert_eq!(p("46387"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-02"), Ok(d(2026, 2, 28)));
    }

    #[test]
    fn chinese_forms() {
        assert_eq!(p("2026年12月31日"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年12月31号"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026 年 1 月 5 日"), Ok(d(2026, 1, 5)));
        assert_eq!(p("2026年12月31日前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年12月底前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年12月底"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年12月前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2027年2月底前完成"), Ok(d(2027, 2, 28)));
        assert_eq!(p("2028年2月底"), Ok(d(2028, 2, 29)));
        assert_eq!(p("12月底前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("3月底前"), Ok(d(2026, 3, 31)));
        assert_eq!(p("6月15日"), Ok(d(2026, 6, 15)));
        assert_eq!(p("2026年底前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("年底前"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年6月中旬"), Ok(d(2026, 6, 20)));
    }

    #[test]
    fn no_deadline() {
        for s in [
            "",
            "  ",
            "长期坚持",
            "长期",
            "ongoing",
            "Ongoing",
            "常态化",
            "/",
            "—",
        ] {
            assert_eq!(p(s), Ok(None), "{s:?}");
        }
    }

    #[test]
    fn rejects_garbage_and_impossible_dates() {
        for s in [
            "soon",
            "2026-13-01",
            "2026-02-30",
            "2026年13月",
            "2026年2月30日",
            "13/13/2026",
            "31/02/2026",
            "02/Dex/26",
            "02/Dec/26/1",
            "Dec",
            "年",
            "月",
            "前",
            "第五季度",
            "2026年月底",
            "12月—soon",
            "2027年1月至2026年12月",
            "2026--1",
            "99999999999",
            "26年12月",
            "12345678",
        ] {
            assert!(p(s).is_err(), "{s:?} should be rejected");
        }
        let err = p("next week").err().unwrap_or_default();
        assert!(
            err.contains("next week") && err.contains("长期坚持"),
            "{err}"
        );
    }

    #[test]
    fn the_title_rows_date_is_the_latest_full_date_in_them() {
        let text = |s: &'static str| Cell::Text(s.into());
        let cells = [
            text("某县2026年第一批问题整改清单"),
            text("更新日期：２０２６年12月4日"),
            text("统计时段 2026-11-20 至 2026.11.27"),
        ];
        assert_eq!(title_date(&cells), d(2026, 12, 4));
        assert_eq!(title_date(&[text("截至2026/12/04")]), d(2026, 12, 4));
        assert_eq!(
            title_date(&[Cell::Date(NaiveDate::MIN)]),
            Some(NaiveDate::MIN)
        );
        for none in ["2026年第一批", "第12月4日", "2026年13月40日", "1.2.3", ""] {
            assert_eq!(title_date(&[text(none)]), None, "{none:?}");
        }
    }

    #[test]
    fn at_once_is_due_on_the_list_date_and_standing_work_has_none() {
        for s in [
            "立行立改",
            "即知即改",
            "立行立改、长期坚持",
            "立行立改，长期坚持",
            "即知即改 ",
        ] {
            assert_eq!(p(s), Ok(Some(today())), "{s:?}");
        }
        for s in ["长期坚持", "常态化", "持续推进", "长期坚持、常态化"] {
            assert_eq!(p(s), Ok(None), "{s:?}");
        }
    }

    #[test]
    fn period_words_are_the_list_date_s_period() {
        // The list is as of 2026-11-20.
        assert_eq!(p("月底"), Ok(d(2026, 11, 30)));
        assert_eq!(p("本月底前"), Ok(d(2026, 11, 30)));
        assert_eq!(p("月末"), Ok(d(2026, 11, 30)));
        assert_eq!(p("季度末"), Ok(d(2026, 12, 31)));
        assert_eq!(p("本季度"), Ok(d(2026, 12, 31)));
        assert_eq!(p("年底"), Ok(d(2026, 12, 31)));
        assert_eq!(p("今年底前完成"), Ok(d(2026, 12, 31)));
        assert_eq!(p("上半年"), Ok(d(2026, 6, 30)));
        assert_eq!(p("下半年"), Ok(d(2026, 12, 31)));
        assert_eq!(p("第一季度"), Ok(d(2026, 3, 31)));
        assert_eq!(p("二季度末"), Ok(d(2026, 6, 30)));
        assert_eq!(p("第3季度"), Ok(d(2026, 9, 30)));
        assert_eq!(p("2027年上半年"), Ok(d(2027, 6, 30)));
        assert_eq!(p("2027年第一季度前"), Ok(d(2027, 3, 31)));
        assert_eq!(p("2027年下半年完成"), Ok(d(2027, 12, 31)));
        assert_eq!(p("12月15日前整改到位"), Ok(d(2026, 12, 15)));
        assert_eq!(p("12月15日到期"), Ok(d(2026, 12, 15)));
        let in_may = NaiveDate::from_ymd_opt(2027, 5, 6).unwrap_or_default();
        assert_eq!(parse_due("季度末", in_may), Ok(d(2027, 6, 30)));
        assert_eq!(parse_due("月底", in_may), Ok(d(2027, 5, 31)));
    }

    #[test]
    fn a_range_is_due_at_its_end() {
        assert_eq!(p("11月—12月"), Ok(d(2026, 12, 31)));
        assert_eq!(p("11月——12月"), Ok(d(2026, 12, 31)));
        assert_eq!(p("11月-12月"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年11月至12月"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2027年3月至5月"), Ok(d(2027, 5, 31)));
        assert_eq!(p("2026年11月至2027年1月"), Ok(d(2027, 1, 31)));
        assert_eq!(p("11月—2月"), Ok(d(2027, 2, 28)));
        assert_eq!(p("12月1日-15日"), Ok(d(2026, 12, 15)));
        assert_eq!(p("12月1日～12月20日前"), Ok(d(2026, 12, 20)));
        assert_eq!(p("2026-11-20至2026-12-20"), Ok(d(2026, 12, 20)));
        assert_eq!(p("2026年11月—12月底前完成"), Ok(d(2026, 12, 31)));
    }

    #[test]
    fn tool_exports_us_and_european_dates_and_iso_with_a_time() {
        // Jira's default `dd/MMM/yy h:mm a`.
        assert_eq!(p("02/Dec/26 12:00 AM"), Ok(d(2026, 12, 2)));
        assert_eq!(p("15/Jan/27 4:30 PM"), Ok(d(2027, 1, 15)));
        assert_eq!(p("02/Dec/2026"), Ok(d(2026, 12, 2)));
        assert_eq!(p("Dec 2, 2026"), Ok(d(2026, 12, 2)));
        assert_eq!(p("2 December 2026"), Ok(d(2026, 12, 2)));
        assert_eq!(p("2-Sept-2026"), Ok(d(2026, 9, 2)));
        // Only one reading is a date.
        assert_eq!(p("12/31/2026"), Ok(d(2026, 12, 31)));
        assert_eq!(p("31/12/2026"), Ok(d(2026, 12, 31)));
        assert_eq!(p("31.12.2026"), Ok(d(2026, 12, 31)));
        assert_eq!(p("12/31/26"), Ok(d(2026, 12, 31)));
        assert_eq!(p("04/04/2026"), Ok(d(2026, 4, 4)));
        // Both are: refused without date_order, read with it.
        let err = p("03/04/2026").err().unwrap_or_default();
        assert!(err.contains("date_order"), "{err}");
        let read = |s, order| parse_due_cell(&Cell::Text(s), today(), Some(order), Locale::En);
        assert_eq!(read("03/04/2026".into(), DateOrder::Mdy), Ok(d(2026, 3, 4)));
        assert_eq!(read("03/04/2026".into(), DateOrder::Dmy), Ok(d(2026, 4, 3)));
        assert!(read("12/31/2026".into(), DateOrder::Dmy).is_err());
        // ISO with a time and a zone.
        assert_eq!(p("2026-12-31T08:30:00+08:00"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-12-31T23:59:59Z"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026-12-31 08:30"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026/12/31 8:30:00"), Ok(d(2026, 12, 31)));
        assert_eq!(p("2026年12月31日 上午10:00"), Ok(d(2026, 12, 31)));
    }

    #[test]
    fn hints_follow_the_config_s_locale() {
        let read = |locale| parse_due_cell(&Cell::Text("soon".into()), today(), None, locale);
        let en = read(Locale::En).err().unwrap_or_default();
        assert!(en.contains("2026-12-31") && !en.contains('年'), "{en}");
        let zh = read(Locale::ZhCn).err().unwrap_or_default();
        assert!(
            zh.contains("2026年12月底前") && zh.contains("长期坚持"),
            "{zh}"
        );
    }

    #[test]
    fn serials_and_cells() {
        assert_eq!(excel_serial(46387.0), d(2026, 12, 31));
        assert_eq!(excel_serial(46387.75), d(2026, 12, 31));
        assert_eq!(excel_serial(61.0), d(1900, 3, 1));
        assert_eq!(excel_serial(1.0), d(1900, 1, 1));
        assert_eq!(excel_serial(0.0), None);
        assert_eq!(excel_serial(-5.0), None);
        assert_eq!(excel_serial(f64::NAN), None);
        assert_eq!(excel_serial(f64::INFINITY), None);
        let year = Cell::Number {
            value: 2026.0,
            percent: false,
        };
        assert!(parse_due_cell(&year, today(), None, Locale::ZhCn).is_err());
        assert!(p("12345").is_err());
        let cell = Cell::Number {
            value: 46387.0,
            percent: false,
        };
        assert_eq!(
            parse_due_cell(&cell, today(), None, Locale::ZhCn),
            Ok(d(2026, 12, 31))
        );
        assert!(parse_due_cell(&Cell::Bool(true), today(), None, Locale::ZhCn).is_err());
        assert_eq!(
            parse_due_cell(&Cell::Empty, today(), None, Locale::ZhCn),
            Ok(None)
        );
    }
}

//! Holiday calendars (holiday-cn JSON and ICS): off days and make-up workdays.
//!
//! China moves working days around public holidays: a weekday can be an off day (放假) and a Saturday or
//! Sunday can be a make-up workday (调休上班). Neither follows from the weekday alone, so schedules that
//! skip holidays or run on workdays only consult a [`Calendar`] loaded from the files the State Council's
//! announcements are published in by the holiday-cn project.
//!
//! A calendar also knows which years it has data for, so `check` and the daemon can warn before a
//! schedule runs into a year nobody has loaded yet (see [`crate::schedule::calendar_gap_warning`]).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Whether a listed date is a day off or a day of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// A public holiday: no work, even on a weekday.
    OffDay,
    /// A make-up workday (调休上班): a work day even on a Saturday or Sunday.
    MakeupWorkday,
}

impl DayKind {
    fn describe(self) -> &'static str {
        match self {
            DayKind::OffDay => "a holiday",
            DayKind::MakeupWorkday => "a make-up workday",
        }
    }
}

/// One date the calendar lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    pub kind: DayKind,
    /// The holiday's name as the file gives it (`国庆节`, `上班(补国庆节假期)`), for messages.
    pub name: String,
    /// The file the day came from, so a conflict between two files can name both.
    origin: String,
}

/// Off days and make-up workdays, merged from any number of files.
///
/// An empty calendar is valid: it knows no holidays, so Monday to Friday are workdays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, CalendarDay>,
    years: BTreeSet<i32>,
    /// Years whose file was loaded but lists no days. holiday-cn publishes such a file before the
    /// State Council announces the year, so the year is not covered, but the warning can say why.
    placeholder_years: BTreeSet<i32>,
}

/// How far [`Calendar::next_workday_on_or_after`] looks. Real holidays last about a week; a file that
/// marks a whole year off is wrong, and giving up beats scanning forever.
const MAX_WORKDAY_SEARCH_DAYS: u64 = 366;

/// An ICS event longer than this is not a holiday; refusing it catches a wrong file early.
const MAX_EVENT_DAYS: i64 = 366;

/// A holiday file that could not be read or understood. The messages are shown to office staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The file could not be opened or read.
    #[error(
        "cannot read the holiday file {path}: {reason}. Check the file name under [calendar] holidays in the configuration"
    )]
    Read { path: PathBuf, reason: String },

    /// The file name ends in neither `.json` nor `.ics`.
    #[error(
        "the holiday file {path} is neither JSON nor ICS: use a holiday-cn file whose name ends in .json (such as 2026.json) or .ics (such as 2026.ics)"
    )]
    UnknownFormat { path: PathBuf },

    /// The JSON file does not have the holiday-cn shape.
    #[error(
        "the holiday file {origin} is not a holiday-cn JSON file ({position}): {detail}. Each entry in \"days\" needs \"date\" (YYYY-MM-DD) and \"isOffDay\" (true for a holiday, false for a make-up workday); download the file again from holiday-cn if unsure"
    )]
    Json {
        origin: String,
        position: String,
        detail: String,
    },

    /// A JSON entry's date is not a calendar date.
    #[error(
        "the holiday file {origin} has a day dated \"{date}\" (entry {entry} in \"days\"), which is not a date in YYYY-MM-DD form: correct or remove that entry"
    )]
    JsonDate {
        origin: String,
        entry: usize,
        date: String,
    },

    /// The ICS file is malformed at one line.
    #[error("the holiday file {origin}, line {line}: {detail}")]
    Ics {
        origin: String,
        line: usize,
        detail: String,
    },

    /// Two files, or two entries of one file, disagree about a date.
    #[error(
        "{date} is {first_kind} in {first_origin} but {second_kind} in {second_origin}: remove one of the two files from [calendar] holidays, or correct the day in one of them"
    )]
    Conflict {
        date: NaiveDate,
        first_kind: &'static str,
        first_origin: String,
        second_kind: &'static str,
        second_origin: String,
    },
}

impl Calendar {
    /// Loads and merges holiday files, choosing the format by extension (`.json` or `.ics`).
    pub fn load(paths: &[PathBuf]) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        for path in paths {
            calendar.merge(Calendar::load_file(path)?)?;
        }
        Ok(calendar)
    }

    fn load_file(path: &Path) -> Result<Calendar, CalendarError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let is_json = match extension.as_deref() {
            Some("json") => true,
            Some("ics" | "ical" | "ifb" | "icalendar") => false,
            _ => {
                return Err(CalendarError::UnknownFormat {
                    path: path.to_path_buf(),
                });
            }
        };
        let bytes = std::fs::read(path).map_err(|e| CalendarError::Read {
            path: path.to_path_buf(),
            reason: plain_io_reason(&e),
        })?;
        let origin = path.display().to_string();
        if is_json {
            let text = std::str::from_utf8(strip_bom(&bytes)).map_err(|e| CalendarError::Json {
                origin: origin.clone(),
                position: format!("byte {}", e.valid_up_to()),
                detail: "the file is not UTF-8 text".to_string(),
            })?;
            parse_json(text, &origin)
        } else {
            // holiday-cn names its files after the year, which is the only hint an ICS file without
            // events gives about the year it stands for.
            let year_hint = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|s| s.len() == 4)
                .and_then(|s| s.parse::<i32>().ok());
            parse_ics(&bytes, &origin, year_hint)
        }
    }

    /// Parses holiday-cn JSON: `{"year": 2026, "days": [{"name": "元旦", "date": "2026-01-01", "isOffDay": true}, …]}`.
    pub fn from_json_str(text: &str) -> Result<Calendar, CalendarError> {
        parse_json(text, "(JSON text)")
    }

    /// Parses an ICS calendar whose events are holidays or, when the summary says so (`上班`, `补班`),
    /// make-up workdays.
    pub fn from_ics_str(text: &str) -> Result<Calendar, CalendarError> {
        parse_ics(text.as_bytes(), "(ICS text)", None)
    }

    /// Adds another calendar's days. A date both list with different kinds is an error rather than
    /// "last file wins", because a silent choice would move reminders without anyone noticing.
    pub fn merge(&mut self, other: Calendar) -> Result<(), CalendarError> {
        for (date, day) in other.days {
            self.insert(date, day)?;
        }
        self.years.extend(other.years);
        self.placeholder_years.extend(other.placeholder_years);
        self.placeholder_years.retain(|y| !self.years.contains(y));
        Ok(())
    }

    fn insert(&mut self, date: NaiveDate, day: CalendarDay) -> Result<(), CalendarError> {
        match self.days.get(&date) {
            Some(existing) if existing.kind != day.kind => Err(CalendarError::Conflict {
                date,
                first_kind: existing.kind.describe(),
                first_origin: existing.origin.clone(),
                second_kind: day.kind.describe(),
                second_origin: day.origin,
            }),
            Some(_) => Ok(()),
            None => {
                self.days.insert(date, day);
                Ok(())
            }
        }
    }

    /// The listed day, if the calendar says anything about `date`.
    pub fn day(&self, date: NaiveDate) -> Option<&CalendarDay> {
        self.days.get(&date)
    }

    pub fn is_off_day(&self, date: NaiveDate) -> bool {
        self.kind(date) == Some(DayKind::OffDay)
    }

    pub fn is_makeup_workday(&self, date: NaiveDate) -> bool {
        self.kind(date) == Some(DayKind::MakeupWorkday)
    }

    /// Monday to Friday unless listed as an off day, plus make-up workdays on any weekday.
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        match self.kind(date) {
            Some(DayKind::OffDay) => false,
            Some(DayKind::MakeupWorkday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The first workday at or after `date`, or `None` when none comes within a year (only a broken
    /// file can cause that) or the dates run out.
    pub fn next_workday_on_or_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        (0..MAX_WORKDAY_SEARCH_DAYS)
            .map_while(|offset| date.checked_add_days(Days::new(offset)))
            .find(|d| self.is_workday(*d))
    }

    /// Whether a loaded file lists days for `year`. A file with no days does not count.
    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years loaded files list days for, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Years whose file was loaded but lists no days yet (holiday-cn publishes an empty file until the
    /// State Council announces the year).
    pub fn placeholder_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.placeholder_years.iter().copied()
    }

    /// True when no file listed any day: every Monday to Friday is then a workday.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    fn kind(&self, date: NaiveDate) -> Option<DayKind> {
        self.days.get(&date).map(|d| d.kind)
    }
}

fn plain_io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "the file does not exist".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission to read it was denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".to_string(),
        _ => e.to_string(),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

#[derive(Deserialize)]
struct JsonFile {
    year: Option<i32>,
    days: Vec<JsonDay>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonDay {
    #[serde(default)]
    name: String,
    date: String,
    is_off_day: bool,
}

fn parse_json(text: &str, origin: &str) -> Result<Calendar, CalendarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file: JsonFile = serde_json::from_str(text).map_err(|e| {
        // serde_json appends " at line L column C"; the message puts the position first instead.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let detail = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        CalendarError::Json {
            origin: origin.to_string(),
            position: format!("line {}, column {}", e.line(), e.column()),
            detail,
        }
    })?;
    let mut calendar = Calendar::default();
    for (index, day) in file.days.iter().enumerate() {
        let date = NaiveDate::parse_from_str(day.date.trim(), "%Y-%m-%d").map_err(|_| {
            CalendarError::JsonDate {
                origin: origin.to_string(),
                entry: index + 1,
                date: day.date.clone(),
            }
        })?;
        let kind = if day.is_off_day {
            DayKind::OffDay
        } else {
            DayKind::MakeupWorkday
        };
        calendar.insert(
            date,
            CalendarDay {
                kind,
                name: day.name.clone(),
                origin: origin.to_string(),
            },
        )?;
    }
    let year = file.year.or_else(|| most_common_year(calendar.days.keys()));
    if let Some(year) = year {
        if calendar.days.is_empty() {
            calendar.placeholder_years.insert(year);
        } else {
            calendar.years.insert(year);
        }
    }
    Ok(calendar)
}

/// The year most dates fall in. A holiday file for 2026 may list a make-up day late in 2025; that
/// does not make it a 2025 calendar.
fn most_common_year<'a>(dates: impl Iterator<Item = &'a NaiveDate>) -> Option<i32> {
    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    for date in dates {
        *counts.entry(date.year()).or_default() += 1;
    }
    // Ties go to the later year: max_by_key keeps the last maximum and the map iterates ascending.
    counts
        .into_iter()
        .max_by_key(|&(_, count)| count)
        .map(|(year, _)| year)
}

/// One content line after unfolding, with the physical line it started on.
struct IcsLine {
    number: usize,
    text: String,
}

/// Joins RFC 5545 folded lines (CRLF or LF followed by a space or tab). Folding happens on bytes, and
/// writers may split a multi-byte character, so the bytes are joined before decoding.
fn unfold(bytes: &[u8], origin: &str) -> Result<Vec<IcsLine>, CalendarError> {
    let mut raw: Vec<(usize, Vec<u8>)> = Vec::new();
    for (index, mut line) in strip_bom(bytes).split(|&b| b == b'\n').enumerate() {
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        match (line.first(), raw.last_mut()) {
            (Some(b' ' | b'\t'), Some((_, previous))) => previous.extend_from_slice(&line[1..]),
            _ => raw.push((index + 1, line.to_vec())),
        }
    }
    raw.into_iter()
        .filter(|(_, bytes)| !bytes.iter().all(u8::is_ascii_whitespace))
        .map(|(number, bytes)| {
            String::from_utf8(bytes)
                .map(|text| IcsLine { number, text })
                .map_err(|_| CalendarError::Ics {
                    origin: origin.to_string(),
                    line: number,
                    detail: "this line is not UTF-8 text; save the file as UTF-8".to_string(),
                })
        })
        .collect()
}

/// Splits `NAME;PARAM=x:value` into the upper-cased name and the value. Parameter values may be
/// quoted and contain colons, so the first colon outside quotes ends the name part.
fn split_property(line: &str) -> Option<(String, &str)> {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                let head = &line[..i];
                let name = head.split(';').next().unwrap_or(head);
                return Some((name.trim().to_ascii_uppercase(), &line[i + 1..]));
            }
            _ => {}
        }
    }
    None
}

fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Whether an event's summary marks a make-up workday rather than a holiday. holiday-cn writes
/// `上班(补国庆节假期)` for make-up days and `国庆节假期` for holidays; other publishers write `补班`
/// or `调休上班`, and English calendars "working day".
fn is_makeup_summary(summary: &str) -> bool {
    const MARKERS: [&str; 5] = ["上班", "补班", "make-up work", "makeup work", "working day"];
    let lower = summary.to_lowercase();
    MARKERS.iter().any(|m| lower.contains(m)) || lower.trim() == "班"
}

#[derive(Default)]
struct PendingEvent {
    begin_line: usize,
    summary: Option<String>,
    start: Option<(NaiveDate, usize)>,
    /// Exclusive end date, as RFC 5545 gives DTEND for all-day events.
    end: Option<(NaiveDate, usize)>,
    duration_days: Option<(i64, usize)>,
}

fn parse_ics(
    bytes: &[u8],
    origin: &str,
    year_hint: Option<i32>,
) -> Result<Calendar, CalendarError> {
    let error = |line: usize, detail: String| CalendarError::Ics {
        origin: origin.to_string(),
        line,
        detail,
    };
    let lines = unfold(bytes, origin)?;
    let first = lines.first().ok_or_else(|| {
        error(
            1,
            "the file is empty; a calendar file starts with BEGIN:VCALENDAR".to_string(),
        )
    })?;
    if !first.text.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        return Err(error(
            first.number,
            "this does not look like a calendar file: it should start with BEGIN:VCALENDAR"
                .to_string(),
        ));
    }

    let mut calendar = Calendar::default();
    // Components nest (VCALENDAR > VEVENT > VALARM, VTIMEZONE > STANDARD); only properties directly
    // inside a VEVENT describe a holiday, so VTIMEZONE's own DTSTART must not be read as one.
    let mut stack: Vec<String> = Vec::new();
    let mut event: Option<PendingEvent> = None;
    for line in &lines {
        let Some((name, value)) = split_property(&line.text) else {
            return Err(error(
                line.number,
                "this line has no colon; every line of a calendar file looks like NAME:value"
                    .to_string(),
            ));
        };
        match name.as_str() {
            "BEGIN" => {
                let component = value.trim().to_ascii_uppercase();
                if component == "VEVENT" && stack.last().map(String::as_str) == Some("VCALENDAR") {
                    event = Some(PendingEvent {
                        begin_line: line.number,
                        ..PendingEvent::default()
                    });
                }
                stack.push(component);
            }
            "END" => {
                let component = value.trim().to_ascii_uppercase();
                if stack.last() != Some(&component) {
                    return Err(error(
                        line.number,
                        format!("END:{component} has no matching BEGIN:{component} before it"),
                    ));
                }
                stack.pop();
                if component == "VEVENT"
                    && stack.last().map(String::as_str) == Some("VCALENDAR")
                    && let Some(done) = event.take()
                {
                    add_event(&mut calendar, done, origin)?;
                }
            }
            _ => {
                let in_event = stack.last().map(String::as_str) == Some("VEVENT");
                if let (true, Some(ev)) = (in_event, event.as_mut()) {
                    read_event_property(ev, &name, value, line.number)
                        .map_err(|e| error(line.number, e.to_string()))?;
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        let last_line = lines.last().map_or(1, |l| l.number);
        return Err(error(
            last_line,
            format!(
                "the file ends inside BEGIN:{open} without END:{open}; the file may be cut off, download it again"
            ),
        ));
    }

    let year = most_common_year(calendar.days.keys());
    match (year, year_hint) {
        (Some(year), _) => {
            calendar.years.insert(year);
        }
        (None, Some(hint)) => {
            calendar.placeholder_years.insert(hint);
        }
        (None, None) => {}
    }
    Ok(calendar)
}

/// A property value of an ICS event that cannot be read; [`CalendarError::Ics`] adds the line.
#[derive(Debug, thiserror::Error)]
enum IcsValueError {
    #[error("{property} `{value}` is not a date: expected YYYYMMDD, for example 20260101")]
    NotADate {
        property: &'static str,
        value: String,
    },
    #[error("DURATION `{value}` is not understood: use DTEND, or a duration in days such as P3D")]
    Duration { value: String },
}

fn read_event_property(
    event: &mut PendingEvent,
    name: &str,
    value: &str,
    line: usize,
) -> Result<(), IcsValueError> {
    match name {
        "SUMMARY" => event.summary = Some(unescape_text(value.trim())),
        "DTSTART" => event.start = Some((parse_ics_date(value, "DTSTART")?.0, line)),
        "DTEND" => {
            let (date, has_time) = parse_ics_date(value, "DTEND")?;
            // A date-time end later than midnight still covers that day; a date end is exclusive.
            let exclusive = if has_time {
                date.succ_opt().unwrap_or(date)
            } else {
                date
            };
            event.end = Some((exclusive, line));
        }
        "DURATION" => event.duration_days = Some((parse_duration_days(value)?, line)),
        _ => {}
    }
    Ok(())
}

/// Reads `20260101` or `20260101T090000[Z]`; the bool says whether a non-midnight time was given.
fn parse_ics_date(value: &str, property: &'static str) -> Result<(NaiveDate, bool), IcsValueError> {
    let value = value.trim();
    let (date_part, time_part) = match value.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    let date = (date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()))
        .then(|| NaiveDate::parse_from_str(date_part, "%Y%m%d").ok())
        .flatten()
        .ok_or_else(|| IcsValueError::NotADate {
            property,
            value: value.to_string(),
        })?;
    let has_time = time_part.is_some_and(|t| {
        !t.trim_end_matches(['Z', 'z'])
            .trim_start_matches('0')
            .is_empty()
    });
    Ok((date, has_time))
}

/// Reads whole-day durations (`P3D`, `P1W`), the only kind an all-day holiday needs.
fn parse_duration_days(value: &str) -> Result<i64, IcsValueError> {
    let value = value.trim();
    let unsupported = || IcsValueError::Duration {
        value: value.to_string(),
    };
    let body = value.strip_prefix(['P', 'p']).ok_or_else(unsupported)?;
    let (number, factor) = if let Some(n) = body.strip_suffix(['D', 'd']) {
        (n, 1)
    } else if let Some(n) = body.strip_suffix(['W', 'w']) {
        (n, 7)
    } else {
        return Err(unsupported());
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unsupported());
    }
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(unsupported)
}

fn add_event(
    calendar: &mut Calendar,
    event: PendingEvent,
    origin: &str,
) -> Result<(), CalendarError> {
    let error = |line: usize, detail: String| CalendarError::Ics {
        origin: origin.to_string(),
        line,
        detail,
    };
    let Some((start, start_line)) = event.start else {
        return Err(error(
            event.begin_line,
            "the event that starts here has no DTSTART, so its first day is unknown".to_string(),
        ));
    };
    let Some(summary) = event.summary else {
        return Err(error(
            event.begin_line,
            "the event that starts here has no SUMMARY, so it cannot tell a holiday from a make-up workday"
                .to_string(),
        ));
    };
    let (days, days_line) = match (event.end, event.duration_days) {
        (Some((end, line)), _) => ((end - start).num_days(), line),
        (None, Some((days, line))) => (days, line),
        // RFC 5545: an all-day event without DTEND or DURATION lasts one day.
        (None, None) => (1, start_line),
    };
    if days < 0 {
        return Err(error(
            days_line,
            format!("the event ends before it starts (it starts on {start})"),
        ));
    }
    if days > MAX_EVENT_DAYS {
        return Err(error(
            days_line,
            format!(
                "the event \"{summary}\" lasts {days} days; a holiday lasts a few days, so this is probably not a holiday calendar"
            ),
        ));
    }
    let kind = if is_makeup_summary(&summary) {
        DayKind::MakeupWorkday
    } else {
        DayKind::OffDay
    };
    for offset in 0..days.unsigned_abs() {
        let Some(date) = start.checked_add_days(Days::new(offset)) else {
            break;
        };
        calendar.insert(
            date,
            CalendarDay {
                kind,
                name: summary.clone(),
                origin: origin.to_string(),
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The holiday-cn files bundled with the example configuration.
    fn bundled(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("config/holidays")
            .join(name)
    }

    #[test]
    fn empty_calendar_has_weekdays_as_workdays() {
        let cal = Calendar::default();
        assert!(cal.is_empty());
        assert!(cal.is_workday(date(2026, 10, 1))); // Thursday
        assert!(!cal.is_workday(date(2026, 10, 3))); // Saturday
        assert!(!cal.is_off_day(date(2026, 10, 1)));
        assert_eq!(
            cal.next_workday_on_or_after(date(2026, 10, 3)),
            Some(date(2026, 10, 5))
        );
        assert!(!cal.covers_year(2026));
        assert_eq!(Calendar::load(&[]).unwrap(), cal);
    }

    #[test]
    fn json_off_days_and_makeup_days() {
        let cal = Calendar::from_json_str(
            r#"{"year":2026,"days":[
                {"name":"国庆节","date":"2026-10-01","isOffDay":true},
                {"name":"国庆节","date":"2026-10-10","isOffDay":false}]}"#,
        )
        .unwrap();
        assert!(cal.is_off_day(date(2026, 10, 1)));
        assert!(!cal.is_workday(date(2026, 10, 1)));
        assert!(cal.is_makeup_workday(date(2026, 10, 10))); // a Saturday
        assert!(cal.is_workday(date(2026, 10, 10)));
        assert!(cal.covers_year(2026));
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2026]);
        assert_eq!(cal.day(date(2026, 10, 1)).unwrap().name, "国庆节");
    }

    #[test]
    fn bundled_2026_json_knows_national_day_and_makeup_days() {
        let cal = Calendar::load(&[bundled("2026.json")]).unwrap();
        for d in 1..=7 {
            assert!(cal.is_off_day(date(2026, 10, d)), "2026-10-0{d}");
        }
        // Make-up workdays that fall on weekends.
        assert!(cal.is_workday(date(2026, 1, 4))); // Sunday
        assert!(cal.is_workday(date(2026, 2, 14))); // Saturday
        assert!(cal.is_workday(date(2026, 10, 10))); // Saturday
        assert_eq!(
            cal.next_workday_on_or_after(date(2026, 10, 1)),
            Some(date(2026, 10, 8))
        );
        assert!(cal.covers_year(2026));
        assert!(!cal.covers_year(2027));
    }

    #[test]
    fn bundled_json_and_ics_agree() {
        for year in ["2025", "2026"] {
            let json = Calendar::load(&[bundled(&format!("{year}.json"))]).unwrap();
            let ics = Calendar::load(&[bundled(&format!("{year}.ics"))]).unwrap();
            let kinds = |c: &Calendar| {
                c.days
                    .iter()
                    .map(|(d, day)| (*d, day.kind))
                    .collect::<Vec<_>>()
            };
            assert_eq!(kinds(&json), kinds(&ics), "{year}");
            assert_eq!(
                json.years().collect::<Vec<_>>(),
                ics.years().collect::<Vec<_>>()
            );
            // Loading both formats of the same year merges without conflicts.
            let both = Calendar::load(&[
                bundled(&format!("{year}.json")),
                bundled(&format!("{year}.ics")),
            ])
            .unwrap();
            assert_eq!(kinds(&both), kinds(&json));
        }
    }

    #[test]
    fn several_files_merge() {
        let cal = Calendar::load(&[bundled("2025.json"), bundled("2026.ics")]).unwrap();
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert!(cal.is_off_day(date(2025, 10, 1)));
        assert!(cal.is_off_day(date(2026, 10, 1)));
    }

    #[test]
    fn placeholder_file_does_not_cover_its_year() {
        let cal = Calendar::from_json_str(r#"{"year":2027,"papers":[],"days":[]}"#).unwrap();
        assert!(!cal.covers_year(2027));
        assert_eq!(cal.placeholder_years().collect::<Vec<_>>(), vec![2027]);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2027.ics");
        std::fs::write(
            &path,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n",
        )
        .unwrap();
        let cal = Calendar::load(&[path]).unwrap();
        assert!(cal.is_empty());
        assert!(!cal.covers_year(2027));
        assert_eq!(cal.placeholder_years().collect::<Vec<_>>(), vec![2027]);
    }

    #[test]
    fn ics_with_folding_lf_escapes_and_alternative_markers() {
        // LF line endings, a SUMMARY folded in the middle of a multi-byte character, a DURATION, a
        // one-day event without DTEND, and a nested VALARM.
        let summary = "国庆节假期".as_bytes();
        let mut text = b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:".to_vec();
        text.extend_from_slice(&summary[..4]);
        text.extend_from_slice(b"\n ");
        text.extend_from_slice(&summary[4..]);
        text.extend_from_slice(
            b"\nDTSTART;VALUE=DATE:20261001\nDURATION:P7D\nBEGIN:VALARM\nDTSTART:20200101\nEND:VALARM\nEND:VEVENT\n\
              BEGIN:VEVENT\nSUMMARY:\\u8865\\,\xe8\xa1\xa5\xe7\x8f\xad\nDTSTART;VALUE=DATE:20261010\nEND:VEVENT\n\
              BEGIN:VEVENT\nSUMMARY:Make-up working day\nDTSTART;TZID=\"Asia/Shanghai:x\":20260920T090000\nDTEND:20260920T180000\nEND:VEVENT\n\
              END:VCALENDAR\n",
        );
        let cal = parse_ics(&text, "t.ics", None).unwrap();
        assert_eq!(cal.day(date(2026, 10, 1)).unwrap().name, "国庆节假期");
        assert!(cal.is_off_day(date(2026, 10, 7)));
        assert!(!cal.is_off_day(date(2026, 10, 8)));
        assert!(cal.is_makeup_workday(date(2026, 10, 10)));
        assert_eq!(cal.day(date(2026, 10, 10)).unwrap().name, "u8865,补班");
        assert!(cal.is_makeup_workday(date(2026, 9, 20)));
        assert!(!cal.is_makeup_workday(date(2026, 9, 21)));
        assert!(
            !cal.is_off_day(date(2020, 1, 1)),
            "VALARM's DTSTART is not an event"
        );
        assert!(cal.covers_year(2026));
    }

    #[test]
    fn ics_errors_name_file_and_line() {
        let err = |text: &str| {
            parse_ics(text.as_bytes(), "h.ics", None)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("hello"),
            "the holiday file h.ics, line 1: this does not look like a calendar file: it should start with BEGIN:VCALENDAR"
        );
        assert_eq!(
            err(
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:2026-10-01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
            "the holiday file h.ics, line 4: DTSTART `2026-10-01` is not a date: expected YYYYMMDD, for example 20260101"
        );
        assert_eq!(
            err(
                "BEGIN:VCALENDAR\r\n\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
            "the holiday file h.ics, line 3: the event that starts here has no DTSTART, so its first day is unknown"
        );
        assert!(
            err("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261001\nEND:VEVENT\nEND:VCALENDAR\n")
                .contains("line 2: the event that starts here has no SUMMARY")
        );
        assert!(
            err("BEGIN:VCALENDAR\nBEGIN:VEVENT\n")
                .contains("line 2: the file ends inside BEGIN:VEVENT")
        );
        assert!(
            err("BEGIN:VCALENDAR\nEND:VEVENT\n").contains("line 2: END:VEVENT has no matching")
        );
        assert!(err("BEGIN:VCALENDAR\nnonsense\n").contains("line 2: this line has no colon"));
        assert!(
            err("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nDTSTART:20261001\nDTEND:20250101\nEND:VEVENT\nEND:VCALENDAR")
                .contains("line 5: the event ends before it starts")
        );
        assert!(
            err("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nDTSTART:20261001\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR")
                .contains("line 5: DURATION `PT1H` is not understood")
        );
        assert!(
            err("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nDTSTART:20200101\nDTEND:20300101\nEND:VEVENT\nEND:VCALENDAR")
                .contains("line 5: the event \"x\" lasts 3653 days")
        );
        let bad_utf8 = parse_ics(b"BEGIN:VCALENDAR\nSUMMARY:\xff\n", "h.ics", None).unwrap_err();
        assert!(
            bad_utf8
                .to_string()
                .contains("line 2: this line is not UTF-8")
        );
        assert!(err("").contains("line 1: the file is empty"));
    }

    #[test]
    fn json_errors_name_file_and_position() {
        let e =
            Calendar::from_json_str(r#"{"year":2026,"days":[{"date":"2026-10-01"}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the holiday file (JSON text) is not a holiday-cn JSON file (line 1, column 42): missing field `isOffDay`. Each entry in \"days\" needs \"date\" (YYYY-MM-DD) and \"isOffDay\" (true for a holiday, false for a make-up workday); download the file again from holiday-cn if unsure"
        );
        let e = Calendar::from_json_str(r#"{"days":[{"date":"2026/10/01","isOffDay":true}]}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the holiday file (JSON text) has a day dated \"2026/10/01\" (entry 1 in \"days\"), which is not a date in YYYY-MM-DD form: correct or remove that entry"
        );
        assert!(matches!(
            Calendar::from_json_str("").unwrap_err(),
            CalendarError::Json { .. }
        ));
    }

    #[test]
    fn conflicting_files_are_refused() {
        let a = Calendar::from_json_str(
            r#"{"year":2026,"days":[{"date":"2026-10-08","isOffDay":true}]}"#,
        )
        .unwrap();
        let b = Calendar::from_ics_str(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:上班\nDTSTART:20261008\nEND:VEVENT\nEND:VCALENDAR\n",
        )
        .unwrap();
        let mut merged = a.clone();
        assert_eq!(
            merged.merge(b).unwrap_err().to_string(),
            "2026-10-08 is a holiday in (JSON text) but a make-up workday in (ICS text): remove one of the two files from [calendar] holidays, or correct the day in one of them"
        );
        // The same kind twice is fine.
        let mut again = a.clone();
        again.merge(a.clone()).unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn load_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("2030.json");
        let e = Calendar::load(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot read the holiday file {}: the file does not exist. Check the file name under [calendar] holidays in the configuration",
                missing.display()
            )
        );
        let csv = dir.path().join("2026.csv");
        std::fs::write(&csv, "x").unwrap();
        assert!(matches!(
            Calendar::load(&[csv]).unwrap_err(),
            CalendarError::UnknownFormat { .. }
        ));
        let upper = dir.path().join("2026.JSON");
        std::fs::write(
            &upper,
            "\u{feff}{\"year\":2026,\"days\":[{\"date\":\"2026-05-01\",\"isOffDay\":true}]}",
        )
        .unwrap();
        assert!(
            Calendar::load(&[upper])
                .unwrap()
                .is_off_day(date(2026, 5, 1))
        );
    }

    #[test]
    fn next_workday_gives_up_on_a_year_of_holidays() {
        let days: Vec<String> = (0..400)
            .map(|i| {
                let d = date(2026, 1, 1) + Days::new(i);
                format!(r#"{{"date":"{d}","isOffDay":true}}"#)
            })
            .collect();
        let cal = Calendar::from_json_str(&format!(r#"{{"days":[{}]}}"#, days.join(","))).unwrap();
        assert_eq!(cal.next_workday_on_or_after(date(2026, 1, 1)), None);
        // The last date chrono knows is a Monday: found without stepping past the end.
        assert_eq!(
            cal.next_workday_on_or_after(NaiveDate::MAX),
            Some(NaiveDate::MAX)
        );
        let saturday = NaiveDate::MAX - Days::new(2);
        assert_eq!(saturday.weekday(), Weekday::Sat);
        assert_eq!(
            Calendar::default().next_workday_on_or_after(saturday),
            Some(NaiveDate::MAX)
        );
    }
}

//! Cron expressions: 5-field Unix (Vixie) cron, the `@daily` family, and 6/7-field expressions with
//! seconds first, all run by the `cron` crate.
//!
//! The `cron` crate speaks Quartz: it needs a seconds field, counts 1 as Sunday, and combines day of
//! month and day of week with AND. Office staff copy Unix crontab lines, where `1` is Monday and
//! `0 0 13 * FRI` fires on every 13th *and* every Friday. So every expression is parsed here into
//! plain sets of values, with error messages that name the field, and the crate only receives
//! normalised expressions made of number lists and day names, which mean the same in both dialects.
//! Vixie's OR rule becomes two crate schedules whose occurrences are merged.
//!
//! Why the parsed sets are printed again for `cron` rather than walked here or handed to
//! `croner`: the parser stays either way (neither crate's errors name the field and say what to
//! write, and Vixie's rule that a day field starting with `*` is unrestricted, which copied
//! crontab lines rely on, is decided here), so the reprint costs only `engine_expressions` (about
//! 45 lines) and the stream merge in [`Occurrences`]. For that the crate — which the users asked
//! for — does the search that is easy to get wrong: the next match across months of different
//! lengths, leap days and the year field. Measured in an unoptimised test build, a year of
//! `*/5 * * * *` (105,120 slots) comes out in 160 ms and 1,000 of `0 9 13 * FRI` in 2 ms, while
//! the scheduler asks for a few slots per schedule per wake-up; and the crate's answers are held
//! to the parsed sets by `occurrences_agree_with_a_brute_force_scan` and its proptest. Walking
//! the sets here would drop a dependency but add a search of our own to maintain; `croner`
//! would replace the asked-for crate without removing the parser. Revisit if the reprint ever
//! has to express something the crate cannot read.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use std::collections::BTreeSet;
use std::fmt;
use std::iter::Peekable;
use std::str::FromStr;

/// Which rules an expression follows; decided by its number of fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronSyntax {
    /// 5 fields or an `@` shortcut: Unix (Vixie) cron. 0 and 7 are Sunday; when both day fields are
    /// restricted, a day matching either fires.
    Unix,
    /// 6 or 7 fields, seconds first and an optional year last: the `cron` crate's rules. Day of month
    /// and day of week must both match; day of week must be written as names.
    Quartz,
}

/// One field of a cron expression, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl CronField {
    fn as_str(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day of month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day of week",
            CronField::Year => "year",
        }
    }

    /// Smallest and largest value as written. Unix day of week runs 0–7 (both Sunday); Quartz counts
    /// SUN = 1 … SAT = 7, though only names reach it.
    fn bounds(self, dialect: CronSyntax) -> (u32, u32) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => match dialect {
                CronSyntax::Unix => (0, 7),
                CronSyntax::Quartz => (1, 7),
            },
            CronField::Year => (1970, 2100),
        }
    }

    fn accepted(self, dialect: CronSyntax) -> &'static str {
        match (self, dialect) {
            (CronField::Second | CronField::Minute, _) => "0–59",
            (CronField::Hour, _) => "0–23",
            (CronField::DayOfMonth, _) => "1–31",
            (CronField::Month, _) => "1–12 or JAN–DEC",
            (CronField::DayOfWeek, CronSyntax::Unix) => "0–7 or MON–SUN",
            (CronField::DayOfWeek, CronSyntax::Quartz) => "MON–SUN",
            (CronField::Year, _) => "1970–2100",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cron expression that cannot be used. The messages are shown to office staff, so they say what
/// is wrong in which field and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// Nothing was written.
    #[error(
        "the schedule is empty: write five fields, minute hour day-of-month month day-of-week, for example `0 9 * * MON` for 09:00 every Monday"
    )]
    Empty,

    /// Not 5, 6 or 7 fields.
    #[error(
        "`{text}` has {count} field{plural}, but a schedule has five: minute hour day-of-month month day-of-week, for example `0 9 * * MON` for 09:00 every Monday (six or seven fields are accepted when seconds come first and a year last)",
        plural = if *count == 1 { "" } else { "s" }
    )]
    FieldCount { text: String, count: usize },

    /// An `@` word that is not one of the shortcuts, or a shortcut followed by more text.
    #[error(
        "`{text}` is not a schedule shortcut: use @hourly, @daily, @weekly, @monthly or @yearly on its own, or write five fields such as `0 9 * * MON`"
    )]
    UnknownShorthand { text: String },

    /// A value outside the field's range, or a word the field does not know.
    #[error("{field} `{value}` is out of range: use {accepted}")]
    OutOfRange {
        field: CronField,
        value: String,
        accepted: &'static str,
    },

    /// Text that is not a number, name, range, list or step.
    #[error(
        "{field} `{value}` is not understood: use {accepted}, a range such as `1-5`, a list such as `1,15` or a step such as `*/2`"
    )]
    Invalid {
        field: CronField,
        value: String,
        accepted: &'static str,
    },

    /// A range whose end comes before its start.
    #[error(
        "{field} range `{value}` runs backwards: write the earlier value first, or list the values with commas"
    )]
    BackwardsRange { field: CronField, value: String },

    /// A step of zero or larger than the field.
    #[error("{field} step `{value}` is not usable: the number after `/` must be from 1 to {max}")]
    BadStep {
        field: CronField,
        value: String,
        max: u32,
    },

    /// Quartz-only syntax (`L`, `W`, `#`, and `?` in a 5-field expression).
    #[error("{field} `{value}` uses `{symbol}`, which {reason}")]
    Unsupported {
        field: CronField,
        value: String,
        symbol: &'static str,
        reason: &'static str,
    },

    /// A number in the day-of-week field of a 6/7-field expression.
    #[error(
        "day of week `{value}` is a number, but with six or seven fields numbers count from Sunday = 1, so `1` would mean Sunday, not Monday: write day names instead (MON, TUE, WED, THU, FRI, SAT, SUN)"
    )]
    NumericWeekday { value: String },

    /// The `cron` crate refused a normalised expression; a bug here, not in the user's text.
    #[error(
        "the schedule `{text}` could not be prepared ({detail}); this is a weekbell bug, please report it with the schedule text"
    )]
    Engine { text: String, detail: String },
}

/// A parsed cron expression. Displays as the text it was parsed from.
#[derive(Clone)]
pub struct CronExpr {
    source: String,
    dialect: CronSyntax,
    fields: Fields,
    /// One schedule, or two (day of month, day of week) whose union is Vixie's OR rule.
    engines: Vec<cron::Schedule>,
}

/// The expression as sets of values. Day of week is 0 = Sunday … 6 = Saturday in both dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    seconds: BTreeSet<u32>,
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days_of_month: BTreeSet<u32>,
    months: BTreeSet<u32>,
    days_of_week: BTreeSet<u32>,
    years: Option<BTreeSet<u32>>,
    /// Vixie's OR rule is in force: both day fields are restricted in a 5-field expression.
    either_day: bool,
}

const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const WEEKDAY_LONG: [&str; 7] = [
    "SUNDAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
];
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const MONTH_LONG: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

impl CronExpr {
    /// Parses a 5-field Unix expression, an `@` shortcut, or a 6/7-field expression with seconds first.
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some(first) = words.first() else {
            return Err(CronError::Empty);
        };
        if first.starts_with('@') {
            let expanded = match (first.to_ascii_lowercase().as_str(), words.len()) {
                ("@yearly" | "@annually", 1) => "0 0 1 1 *",
                ("@monthly", 1) => "0 0 1 * *",
                ("@weekly", 1) => "0 0 * * 0",
                ("@daily" | "@midnight", 1) => "0 0 * * *",
                ("@hourly", 1) => "0 * * * *",
                _ => {
                    return Err(CronError::UnknownShorthand {
                        text: text.trim().to_string(),
                    });
                }
            };
            let fields: Vec<&str> = expanded.split(' ').collect();
            return CronExpr::from_words(text, CronSyntax::Unix, &fields);
        }
        match words.len() {
            5 => CronExpr::from_words(text, CronSyntax::Unix, &words),
            6 | 7 => CronExpr::from_words(text, CronSyntax::Quartz, &words),
            count => Err(CronError::FieldCount {
                text: text.trim().to_string(),
                count,
            }),
        }
    }

    fn from_words(
        source: &str,
        dialect: CronSyntax,
        words: &[&str],
    ) -> Result<CronExpr, CronError> {
        // Unix has no seconds field; Quartz puts seconds first.
        let (seconds, rest) = match dialect {
            CronSyntax::Unix => (BTreeSet::from([0]), words),
            CronSyntax::Quartz => match words.split_first() {
                Some((s, rest)) => (parse_field(CronField::Second, s, dialect)?, rest),
                None => return Err(CronError::Empty),
            },
        };
        let word = |i: usize| rest.get(i).copied().unwrap_or("*");
        let minutes = parse_field(CronField::Minute, word(0), dialect)?;
        let hours = parse_field(CronField::Hour, word(1), dialect)?;
        let days_of_month = parse_field(CronField::DayOfMonth, word(2), dialect)?;
        let months = parse_field(CronField::Month, word(3), dialect)?;
        let days_of_week = parse_field(CronField::DayOfWeek, word(4), dialect)?;
        let years = match rest.get(5) {
            Some(y) => Some(parse_field(CronField::Year, y, dialect)?),
            None => None,
        };
        // Vixie cron treats a day field as unrestricted when it starts with `*`, so `*/2` counts as
        // unrestricted too and then combines with AND. Matching that keeps copied crontab lines
        // firing on the days they fired before.
        let either_day =
            dialect == CronSyntax::Unix && !word(2).starts_with('*') && !word(4).starts_with('*');
        let fields = Fields {
            seconds,
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            years,
            either_day,
        };
        let engines = fields
            .engine_expressions()
            .into_iter()
            .map(|e| {
                cron::Schedule::from_str(&e).map_err(|err| CronError::Engine {
                    text: source.trim().to_string(),
                    detail: err.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CronExpr {
            source: source.trim().to_string(),
            dialect,
            fields,
            engines,
        })
    }

    /// The text the expression was parsed from (trimmed), for display.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn dialect(&self) -> CronSyntax {
        self.dialect
    }

    /// Whether the expression fires at this wall-clock time (to the second).
    pub fn matches(&self, local: NaiveDateTime) -> bool {
        let f = &self.fields;
        let dom = f.days_of_month.contains(&local.day());
        let dow = f
            .days_of_week
            .contains(&local.weekday().num_days_from_sunday());
        let day = if f.either_day { dom || dow } else { dom && dow };
        day && local.nanosecond() == 0
            && f.seconds.contains(&local.second())
            && f.minutes.contains(&local.minute())
            && f.hours.contains(&local.hour())
            && f.months.contains(&local.month())
            && f.years
                .as_ref()
                .is_none_or(|y| u32::try_from(local.year()).is_ok_and(|year| y.contains(&year)))
    }

    /// Wall-clock times the expression fires at, strictly after `after`, ascending. These are naive
    /// times: the caller maps them into a time zone (see [`super::dst`]). The sequence ends when the
    /// expression runs out (a year field, or the crate's limit of 2100).
    pub fn occurrences_after(&self, after: NaiveDateTime) -> Occurrences<'_> {
        // The crate works from 1970 to 2100 and adds a second to its starting point, which would
        // overflow at the end of chrono's range; outside that window there is nothing to find.
        let floor = NaiveDate::from_ymd_opt(1969, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59));
        let ceiling = NaiveDate::from_ymd_opt(2101, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let (Some(floor), Some(ceiling)) = (floor, ceiling) else {
            return Occurrences {
                streams: Vec::new(),
            };
        };
        if after >= ceiling {
            return Occurrences {
                streams: Vec::new(),
            };
        }
        // Utc serves as a zone-less clock here: every naive time exists exactly once in it.
        let start = after.max(floor).and_utc();
        Occurrences {
            streams: self
                .engines
                .iter()
                .map(|e| e.after(&start).peekable())
                .collect(),
        }
    }
}

/// Wall-clock occurrences of a [`CronExpr`], merged from its crate schedules.
pub struct Occurrences<'a> {
    streams: Vec<Peekable<cron::ScheduleIterator<'a, Utc>>>,
}

impl Iterator for Occurrences<'_> {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        let earliest: DateTime<Utc> = self
            .streams
            .iter_mut()
            .filter_map(|s| s.peek().copied())
            .min()?;
        // A day matching both halves of the OR rule comes from both streams; yield it once.
        for stream in &mut self.streams {
            if stream.peek() == Some(&earliest) {
                stream.next();
            }
        }
        Some(earliest.naive_utc())
    }
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronExpr")
            .field("source", &self.source)
            .field("dialect", &self.dialect)
            .field(
                "engine",
                &self.engines.iter().map(|e| e.source()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for CronExpr {}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl TryFrom<&str> for CronExpr {
    type Error = CronError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        CronExpr::parse(s)
    }
}

impl Fields {
    /// Expressions for the `cron` crate: seconds first, numbers listed out, weekdays as names, so
    /// nothing depends on how the crate numbers days or reads steps.
    fn engine_expressions(&self) -> Vec<String> {
        let list = |set: &BTreeSet<u32>, field: CronField| {
            let (min, max) = field.bounds(CronSyntax::Unix);
            let full = match field {
                // 0 and 7 both mean Sunday, so a full week has seven values.
                CronField::DayOfWeek => set.len() == 7,
                _ => set.len() == (max - min + 1) as usize,
            };
            if full {
                "*".to_string()
            } else if field == CronField::DayOfWeek {
                set.iter()
                    .filter_map(|&d| WEEKDAY_NAMES.get(d as usize).copied())
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                set.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            }
        };
        let head = format!(
            "{} {} {}",
            list(&self.seconds, CronField::Second),
            list(&self.minutes, CronField::Minute),
            list(&self.hours, CronField::Hour)
        );
        let month = list(&self.months, CronField::Month);
        let year = self
            .years
            .as_ref()
            .map(|y| format!(" {}", list(y, CronField::Year)))
            .unwrap_or_default();
        let dom = list(&self.days_of_month, CronField::DayOfMonth);
        let dow = list(&self.days_of_week, CronField::DayOfWeek);
        if self.either_day {
            vec![
                format!("{head} {dom} {month} *{year}"),
                format!("{head} * {month} {dow}{year}"),
            ]
        } else {
            vec![format!("{head} {dom} {month} {dow}{year}")]
        }
    }
}

/// Parses one field into its set of values (day of week as 0 = Sunday … 6 = Saturday).
fn parse_field(
    field: CronField,
    text: &str,
    dialect: CronSyntax,
) -> Result<BTreeSet<u32>, CronError> {
    let (min, max) = field.bounds(dialect);
    // Where `*` and `MON/2` stop. In Unix day of week that is SAT (6), not the second Sunday (7):
    // `*/2` is the same either way, and `MON/2` then means MON,WED,FRI rather than also Sunday.
    let open_max = match (field, dialect) {
        (CronField::DayOfWeek, CronSyntax::Unix) => 6,
        _ => max,
    };
    let invalid = |value: &str| CronError::Invalid {
        field,
        value: value.to_string(),
        accepted: field.accepted(dialect),
    };
    let mut values = BTreeSet::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(invalid(text));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (item, None),
        };
        let (start, end) = if base == "*" {
            (min, open_max)
        } else if base == "?" {
            check_question_mark(field, dialect, item)?;
            (min, open_max)
        } else if base.is_empty() {
            return Err(invalid(item));
        } else if let Some((a, b)) = base.split_once('-') {
            if a.is_empty() || b.is_empty() {
                return Err(invalid(item));
            }
            let start = parse_value(field, a, dialect, false)?;
            let end = parse_value(field, b, dialect, true)?;
            if start > end {
                return Err(CronError::BackwardsRange {
                    field,
                    value: base.to_string(),
                });
            }
            (start, end)
        } else {
            let value = parse_value(field, base, dialect, false)?;
            // `5/15` means "from 5 on, every 15", as Quartz and most crons read it.
            (
                value,
                if step.is_some() {
                    open_max.max(value)
                } else {
                    value
                },
            )
        };
        let step = match step {
            None => 1,
            Some(s) => {
                let span = open_max - min + 1;
                let bad = || CronError::BadStep {
                    field,
                    value: item.to_string(),
                    max: span,
                };
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(item));
                }
                match s.parse::<u32>() {
                    Ok(n) if (1..=span).contains(&n) => n,
                    _ => return Err(bad()),
                }
            }
        };
        values.extend((start..=end).step_by(step as usize));
    }
    if field == CronField::DayOfWeek {
        values = values
            .into_iter()
            .map(|d| match dialect {
                // Unix: 0 and 7 are Sunday. Quartz: SUN = 1 … SAT = 7.
                CronSyntax::Unix => d % 7,
                CronSyntax::Quartz => d - 1,
            })
            .collect();
    }
    Ok(values)
}

fn check_question_mark(field: CronField, dialect: CronSyntax, item: &str) -> Result<(), CronError> {
    let allowed = dialect == CronSyntax::Quartz
        && matches!(field, CronField::DayOfMonth | CronField::DayOfWeek)
        && item == "?";
    if allowed {
        Ok(())
    } else {
        Err(CronError::Unsupported {
            field,
            value: item.to_string(),
            symbol: "?",
            reason: match dialect {
                CronSyntax::Unix => "five-field (Unix) cron does not have: write `*` for \"any\"",
                CronSyntax::Quartz => {
                    "only stands alone in the day-of-month or day-of-week field: write `*` for \"any\""
                }
            },
        })
    }
}

/// Parses one number or name. `range_end` lets a Unix day-of-week range end in SUN (`FRI-SUN`), as
/// the number 7 would.
fn parse_value(
    field: CronField,
    token: &str,
    dialect: CronSyntax,
    range_end: bool,
) -> Result<u32, CronError> {
    let (min, max) = field.bounds(dialect);
    let out_of_range = || CronError::OutOfRange {
        field,
        value: token.to_string(),
        accepted: field.accepted(dialect),
    };
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        if field == CronField::DayOfWeek && dialect == CronSyntax::Quartz {
            return Err(CronError::NumericWeekday {
                value: token.to_string(),
            });
        }
        return match token.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(out_of_range()),
        };
    }
    let upper = token.to_ascii_uppercase();
    let named = match field {
        CronField::Month => position(&MONTH_NAMES, &MONTH_LONG, &upper).map(|i| i + 1),
        CronField::DayOfWeek => {
            position(&WEEKDAY_NAMES, &WEEKDAY_LONG, &upper).map(|i| match dialect {
                CronSyntax::Unix if i == 0 && range_end => 7,
                CronSyntax::Unix => i,
                CronSyntax::Quartz => i + 1,
            })
        }
        _ => None,
    };
    if let Some(n) = named {
        return Ok(n);
    }
    if let Some((symbol, reason)) = quartz_symbol(&upper) {
        return Err(CronError::Unsupported {
            field,
            value: token.to_string(),
            symbol,
            reason,
        });
    }
    let looks_like_word = !upper.is_empty() && upper.bytes().all(|b| b.is_ascii_alphabetic());
    if looks_like_word && matches!(field, CronField::Month | CronField::DayOfWeek) {
        Err(out_of_range())
    } else {
        Err(CronError::Invalid {
            field,
            value: token.to_string(),
            accepted: field.accepted(dialect),
        })
    }
}

fn position(short: &[&str], long: &[&str], upper: &str) -> Option<u32> {
    short
        .iter()
        .position(|n| *n == upper)
        .or_else(|| long.iter().position(|n| *n == upper))
        .and_then(|i| u32::try_from(i).ok())
}

/// Recognises Quartz's `L` (last), `W` (nearest weekday) and `#` (nth weekday), which neither weekbell
/// nor the `cron` crate support, so the message can say so instead of "not understood".
fn quartz_symbol(upper: &str) -> Option<(&'static str, &'static str)> {
    const NTH: &str = "(the nth weekday of the month) is not supported: list the days instead, for example `1-7` with a day name for the first one";
    const LAST: &str = "(last day) is not supported: list the days instead, for example `28-31`";
    const NEAREST: &str =
        "(nearest weekday) is not supported: list the days instead and use workdays_only";
    if upper.contains('#') {
        return Some(("#", NTH));
    }
    let digits_then = |suffix: char| {
        upper
            .strip_suffix(suffix)
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    if upper == "LW" || digits_then('W') {
        return Some(("W", NEAREST));
    }
    if upper == "L" || digits_then('L') {
        return Some(("L", LAST));
    }
    // A weekday name followed by L (`FRIL`, "last Friday").
    if upper
        .strip_suffix('L')
        .is_some_and(|p| WEEKDAY_NAMES.contains(&p))
    {
        return Some(("L", LAST));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn first(expr: &str, after: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
        CronExpr::parse(expr)
            .unwrap()
            .occurrences_after(after)
            .take(n)
            .collect()
    }

    fn err(expr: &str) -> String {
        CronExpr::parse(expr).unwrap_err().to_string()
    }

    /// A brute-force check, minute by minute (or second by second), against `matches`.
    fn brute_force(
        expr: &CronExpr,
        from: NaiveDateTime,
        to: NaiveDateTime,
        step: Duration,
    ) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let mut t = from + step;
        while t <= to {
            if expr.matches(t) {
                out.push(t);
            }
            t += step;
        }
        out
    }

    #[test]
    fn weekday_numbers_follow_unix() {
        let monday = first("0 9 * * 1", at(2026, 6, 1, 0, 0), 1);
        assert_eq!(monday, vec![at(2026, 6, 1, 9, 0)]); // 2026-06-01 is a Monday
        for sunday in [
            "0 9 * * 0",
            "0 9 * * 7",
            "0 9 * * SUN",
            "0 9 * * sun",
            "0 9 * * Sunday",
        ] {
            assert_eq!(
                first(sunday, at(2026, 6, 1, 0, 0), 1),
                vec![at(2026, 6, 7, 9, 0)],
                "{sunday}"
            );
        }
        assert_eq!(
            first("30 9 * * 1-5", at(2026, 6, 5, 12, 0), 3),
            vec![
                at(2026, 6, 8, 9, 30),
                at(2026, 6, 9, 9, 30),
                at(2026, 6, 10, 9, 30)
            ]
        );
    }

    #[test]
    fn weekday_range_ending_in_seven_wraps_to_sunday() {
        let days = |e: &str| -> Vec<u32> {
            first(e, at(2026, 6, 1, 0, 0), 3)
                .iter()
                .map(|t| t.weekday().num_days_from_sunday())
                .collect()
        };
        assert_eq!(days("0 9 * * 5-7"), vec![5, 6, 0]);
        assert_eq!(days("0 9 * * FRI-SUN"), vec![5, 6, 0]);
        assert_eq!(days("0 9 * * 0-7"), vec![1, 2, 3]);
        // `*/2` over 0–7 gives SUN, TUE, THU, SAT.
        assert_eq!(days("0 9 * * */2"), vec![2, 4, 6]);
        assert_eq!(days("0 9 * * MON-FRI/2"), vec![1, 3, 5]);
        assert_eq!(days("0 9 * * MON/2"), vec![1, 3, 5]);
        assert_eq!(days("0 9 * * 1-7/2"), vec![1, 3, 5]);
        assert_eq!(days("0 9 * * 1-7/3"), vec![1, 4, 0]);
        assert_eq!(days("0 9 * * 7/2"), vec![0, 0, 0]);
        assert_eq!(days("0 9 * * 7/1"), vec![0, 0, 0]);
    }

    #[test]
    fn either_day_field_fires_when_both_are_restricted() {
        // Vixie: `0 0 13 * FRI` fires on every 13th and on every Friday.
        let got = first("0 0 13 * FRI", at(2026, 1, 1, 0, 0), 8);
        let expected = [
            at(2026, 1, 2, 0, 0),
            at(2026, 1, 9, 0, 0),
            at(2026, 1, 13, 0, 0), // Tuesday the 13th
            at(2026, 1, 16, 0, 0),
            at(2026, 1, 23, 0, 0),
            at(2026, 1, 30, 0, 0),
            at(2026, 2, 6, 0, 0),
            at(2026, 2, 13, 0, 0), // Friday the 13th, once
        ];
        assert_eq!(got, expected);
        // `1,15 * MON`: the 1st, the 15th and Mondays.
        assert_eq!(
            first("0 8 1,15 * MON", at(2026, 6, 1, 12, 0), 4),
            vec![
                at(2026, 6, 8, 8, 0),
                at(2026, 6, 15, 8, 0),
                at(2026, 6, 22, 8, 0),
                at(2026, 6, 29, 8, 0)
            ]
        );
    }

    #[test]
    fn a_star_day_field_leaves_the_other_in_charge() {
        assert_eq!(
            first("0 0 13 * *", at(2026, 1, 1, 0, 0), 2),
            vec![at(2026, 1, 13, 0, 0), at(2026, 2, 13, 0, 0)]
        );
        assert_eq!(
            first("0 0 * * FRI", at(2026, 1, 1, 0, 0), 2),
            vec![at(2026, 1, 2, 0, 0), at(2026, 1, 9, 0, 0)]
        );
        // As in Vixie cron, a day field starting with `*` counts as unrestricted: odd days that are Mondays.
        assert_eq!(
            first("0 0 */2 * MON", at(2026, 6, 1, 0, 0), 3),
            vec![
                at(2026, 6, 1, 0, 0) + Duration::days(14),
                at(2026, 6, 29, 0, 0),
                at(2026, 7, 13, 0, 0)
            ]
        );
    }

    #[test]
    fn six_and_seven_field_expressions_follow_the_crate_with_day_names() {
        let e = CronExpr::parse("30 0 9 * * MON-FRI").unwrap();
        assert_eq!(e.dialect(), CronSyntax::Quartz);
        assert_eq!(
            e.occurrences_after(at(2026, 6, 5, 12, 0)).next(),
            NaiveDate::from_ymd_opt(2026, 6, 8)
                .unwrap()
                .and_hms_opt(9, 0, 30)
        );
        // Quartz combines the day fields with AND: Friday the 13ths only.
        assert_eq!(
            first("0 0 0 13 * FRI", at(2026, 1, 1, 0, 0), 2),
            vec![at(2026, 2, 13, 0, 0), at(2026, 3, 13, 0, 0)]
        );
        assert_eq!(
            first("0 0 9 1 JAN ? 2027-2028", at(2026, 1, 1, 0, 0), 3),
            vec![at(2027, 1, 1, 9, 0), at(2028, 1, 1, 9, 0)]
        );
        assert_eq!(
            first("0 0 9 ? * */2", at(2026, 6, 1, 0, 0), 2),
            vec![at(2026, 6, 2, 9, 0), at(2026, 6, 4, 9, 0)]
        );
        assert_eq!(
            err("0 0 9 * * 1"),
            "day of week `1` is a number, but with six or seven fields numbers count from Sunday = 1, so `1` would mean Sunday, not Monday: write day names instead (MON, TUE, WED, THU, FRI, SAT, SUN)"
        );
        assert!(matches!(
            CronExpr::parse("0 0 9 * * 1-5"),
            Err(CronError::NumericWeekday { .. })
        ));
    }

    #[test]
    fn shortcuts_follow_unix_cron() {
        assert_eq!(
            first("@weekly", at(2026, 6, 1, 12, 0), 2),
            vec![at(2026, 6, 7, 0, 0), at(2026, 6, 14, 0, 0)]
        );
        assert_eq!(
            first("@daily", at(2026, 6, 1, 12, 0), 1),
            vec![at(2026, 6, 2, 0, 0)]
        );
        assert_eq!(
            first("@MONTHLY", at(2026, 6, 1, 12, 0), 1),
            vec![at(2026, 7, 1, 0, 0)]
        );
        assert_eq!(
            first("@yearly", at(2026, 6, 1, 12, 0), 1),
            vec![at(2027, 1, 1, 0, 0)]
        );
        assert_eq!(
            first(" @hourly ", at(2026, 6, 1, 12, 5), 1),
            vec![at(2026, 6, 1, 13, 0)]
        );
        assert_eq!(CronExpr::parse(" @weekly ").unwrap().as_str(), "@weekly");
        assert_eq!(
            err("@reboot"),
            "`@reboot` is not a schedule shortcut: use @hourly, @daily, @weekly, @monthly or @yearly on its own, or write five fields such as `0 9 * * MON`"
        );
        assert!(matches!(
            CronExpr::parse("@daily 5"),
            Err(CronError::UnknownShorthand { .. })
        ));
    }

    #[test]
    fn steps_ranges_lists_and_names() {
        assert_eq!(
            first("*/15 9 * * *", at(2026, 6, 1, 9, 0), 4),
            vec![
                at(2026, 6, 1, 9, 15),
                at(2026, 6, 1, 9, 30),
                at(2026, 6, 1, 9, 45),
                at(2026, 6, 2, 9, 0)
            ]
        );
        assert_eq!(
            first("5/20 9 * * *", at(2026, 6, 1, 9, 0), 3),
            vec![
                at(2026, 6, 1, 9, 5),
                at(2026, 6, 1, 9, 25),
                at(2026, 6, 1, 9, 45)
            ]
        );
        assert_eq!(
            first("0 9-17/4 * * *", at(2026, 6, 1, 0, 0), 3),
            vec![
                at(2026, 6, 1, 9, 0),
                at(2026, 6, 1, 13, 0),
                at(2026, 6, 1, 17, 0)
            ]
        );
        assert_eq!(
            first("0 9 1 jan,Jul *", at(2026, 2, 1, 0, 0), 2),
            vec![at(2026, 7, 1, 9, 0), at(2027, 1, 1, 9, 0)]
        );
        assert_eq!(first("0 9 1 MAR-may *", at(2026, 2, 1, 0, 0), 3).len(), 3);
    }

    #[test]
    fn error_messages_name_the_field() {
        assert_eq!(
            err("0 9 * * 8"),
            "day of week `8` is out of range: use 0–7 or MON–SUN"
        );
        assert_eq!(err("60 9 * * *"), "minute `60` is out of range: use 0–59");
        assert_eq!(err("0 24 * * *"), "hour `24` is out of range: use 0–23");
        assert_eq!(
            err("0 9 0 * *"),
            "day of month `0` is out of range: use 1–31"
        );
        assert_eq!(
            err("0 9 * 13 *"),
            "month `13` is out of range: use 1–12 or JAN–DEC"
        );
        assert_eq!(
            err("0 9 * JUNO *"),
            "month `JUNO` is out of range: use 1–12 or JAN–DEC"
        );
        assert_eq!(
            err("0 9 * * MONDY"),
            "day of week `MONDY` is out of range: use 0–7 or MON–SUN"
        );
        assert_eq!(
            err("0 9 * * 99999999999999"),
            "day of week `99999999999999` is out of range: use 0–7 or MON–SUN"
        );
        assert_eq!(
            err("0 MON * * *"),
            "hour `MON` is not understood: use 0–23, a range such as `1-5`, a list such as `1,15` or a step such as `*/2`"
        );
        assert_eq!(
            err("0 17-9 * * *"),
            "hour range `17-9` runs backwards: write the earlier value first, or list the values with commas"
        );
        assert_eq!(
            err("*/0 9 * * *"),
            "minute step `*/0` is not usable: the number after `/` must be from 1 to 60"
        );
        assert_eq!(
            err("0 9 * * SAT-MON"),
            "day of week range `SAT-MON` runs backwards: write the earlier value first, or list the values with commas"
        );
        assert!(err("0 9 1,,2 * *").starts_with("day of month `1,,2` is not understood"));
        assert!(err("0 9 * * 1-").starts_with("day of week `1-` is not understood"));
        assert!(err("0 9 */ * *").starts_with("day of month `*/` is not understood"));
        assert_eq!(
            err("0 9 * *"),
            "`0 9 * *` has 4 fields, but a schedule has five: minute hour day-of-month month day-of-week, for example `0 9 * * MON` for 09:00 every Monday (six or seven fields are accepted when seconds come first and a year last)"
        );
        assert_eq!(err("   "), CronError::Empty.to_string());
        assert_eq!(
            err("0 0 9 * * MON 1969"),
            "year `1969` is out of range: use 1970–2100"
        );
    }

    #[test]
    fn quartz_only_syntax_is_refused_with_the_field_named() {
        assert_eq!(
            err("0 9 L * *"),
            "day of month `L` uses `L`, which (last day) is not supported: list the days instead, for example `28-31`"
        );
        assert_eq!(
            err("0 9 ? * MON"),
            "day of month `?` uses `?`, which five-field (Unix) cron does not have: write `*` for \"any\""
        );
        assert!(err("0 9 * * 5#3").starts_with("day of week `5#3` uses `#`"));
        assert!(err("0 9 15W * *").starts_with("day of month `15W` uses `W`"));
        assert!(err("0 9 LW * *").starts_with("day of month `LW` uses `W`"));
        assert!(err("0 9 * * 5L").starts_with("day of week `5L` uses `L`"));
        assert!(err("0 9 * * FRIL").starts_with("day of week `FRIL` uses `L`"));
        assert!(err("0 0 9 L * ?").starts_with("day of month `L` uses `L`"));
        assert!(err("0 0 9 ? * FRI#3").starts_with("day of week `FRI#3` uses `#`"));
        assert!(err("0 0 9 ?/2 * MON").starts_with("day of month `?/2` uses `?`"));
        // Names containing L or W still work.
        assert!(CronExpr::parse("0 9 * JUL WED").is_ok());
    }

    #[test]
    fn display_keeps_the_original_text() {
        let e = CronExpr::parse("  0 9 * * mon ").unwrap();
        assert_eq!(e.to_string(), "0 9 * * mon");
        assert_eq!(e, "0 9 * * mon".parse().unwrap());
        assert!(format!("{e:?}").contains("0 0 9 * * MON"));
    }

    #[test]
    fn expressions_that_never_fire_end_quietly() {
        assert_eq!(first("0 9 31 2 *", at(2026, 1, 1, 0, 0), 1), vec![]);
        assert_eq!(first("0 9 30 2 *", at(2026, 1, 1, 0, 0), 1), vec![]);
        assert_eq!(first("0 0 9 1 1 ? 2020", at(2026, 1, 1, 0, 0), 1), vec![]);
        // Beyond the crate's last year, and far outside chrono's range, nothing panics.
        assert_eq!(first("* * * * *", at(2100, 12, 31, 23, 59), 1), vec![]);
        assert_eq!(first("* * * * *", NaiveDateTime::MAX, 1), vec![]);
        assert_eq!(
            first("0 0 1 1 *", NaiveDateTime::MIN, 1),
            vec![at(1970, 1, 1, 0, 0)]
        );
        // Leap days are found years apart.
        assert_eq!(
            first("0 9 29 2 *", at(2026, 1, 1, 0, 0), 1),
            vec![at(2028, 2, 29, 9, 0)]
        );
    }

    #[test]
    fn occurrences_agree_with_a_brute_force_scan() {
        let from = at(2026, 2, 25, 0, 0);
        let to = at(2026, 3, 10, 0, 0);
        for text in [
            "0 0 13 * FRI",
            "*/20 8-9 1,3,5 * MON-WED",
            "15 */6 */3 * SAT",
            "0 12 29-31 * 0",
            "0 0 * 3 7",
            "0 9 1-7 * 1",
        ] {
            let e = CronExpr::parse(text).unwrap();
            let got: Vec<_> = e.occurrences_after(from).take_while(|t| *t <= to).collect();
            assert_eq!(
                got,
                brute_force(&e, from, to, Duration::minutes(1)),
                "{text}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn field(
            min: u32,
            max: u32,
            names: &'static [&'static str],
        ) -> impl Strategy<Value = String> {
            let number = move || min..=max;
            let name = move || {
                if names.is_empty() {
                    (min..=max).prop_map(|n| n.to_string()).boxed()
                } else {
                    proptest::sample::select(names)
                        .prop_map(str::to_string)
                        .boxed()
                }
            };
            prop_oneof![
                Just("*".to_string()),
                number().prop_map(|n| n.to_string()),
                name(),
                (number(), number()).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
                (number(), number()).prop_map(|(a, b)| format!("{a},{b}")),
                (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
                (number(), 1..=max.max(1)).prop_map(|(a, s)| format!("{a}/{s}")),
            ]
        }

        fn unix_expression() -> impl Strategy<Value = String> {
            (
                field(0, 59, &[]),
                field(0, 23, &[]),
                field(1, 31, &[]),
                field(1, 12, &["JAN", "feb", "Jun", "DEC"]),
                field(0, 7, &["MON", "fri", "Sun", "SAT"]),
            )
                .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
        }

        proptest! {
            #[test]
            fn parse_never_panics(text in ".{0,60}") {
                let _ = CronExpr::parse(&text);
            }

            #[test]
            fn cron_alphabet_never_panics(text in "[0-9*/,\\-?#@LWlwA-Za-z ]{0,40}") {
                if let Ok(e) = CronExpr::parse(&text) {
                    let _ = e.occurrences_after(at(2026, 1, 1, 0, 0)).take(3).count();
                }
            }

            #[test]
            fn generated_expressions_parse_and_match_brute_force(
                text in unix_expression(),
                start_minutes in 0i64..(60 * 24 * 365),
            ) {
                let e = CronExpr::parse(&text).unwrap();
                let from = at(2026, 1, 1, 0, 0) + Duration::minutes(start_minutes);
                let to = from + Duration::days(3);
                let got: Vec<_> = e.occurrences_after(from).take_while(|t| *t <= to).collect();
                prop_assert_eq!(got, brute_force(&e, from, to, Duration::minutes(1)));
            }
        }
    }
}

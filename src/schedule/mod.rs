//! Schedules: cron expressions in a time zone, holiday rules, and the slots they produce.
//!
//! - [`cron_expr`] parses 5-field Unix cron, `@daily` and friends, and 6/7-field expressions, and
//!   runs them on the `cron` crate without its Quartz surprises.
//! - [`dst`] turns wall-clock times into instants across daylight-saving changes.
//! - [`slots`] applies the time zone and the holiday calendar ([`crate::calendar`]) to produce slots.

pub mod cron_expr;
pub mod dst;
pub mod slots;

pub use cron_expr::{CronError, CronExpr, CronField, CronSyntax, Occurrences};
pub use dst::resolve_local;
pub use slots::{CALENDAR_LOOKAHEAD_DAYS, Schedule, Slot, Slots, calendar_gap_warning, slot_key};

use std::fmt;
use std::str::FromStr;

/// What a schedule does when a slot falls on a holiday (an off day in the calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HolidayPolicy {
    /// Fire anyway.
    #[default]
    Run,
    /// Drop the slot.
    Skip,
    /// Fire at the same local time on the next workday.
    NextWorkday,
}

impl HolidayPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            HolidayPolicy::Run => "run",
            HolidayPolicy::Skip => "skip",
            HolidayPolicy::NextWorkday => "next_workday",
        }
    }
}

impl fmt::Display for HolidayPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HolidayPolicy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "run" => Ok(HolidayPolicy::Run),
            "skip" => Ok(HolidayPolicy::Skip),
            "next_workday" => Ok(HolidayPolicy::NextWorkday),
            _ => Err(()),
        }
    }
}

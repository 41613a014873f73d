//! Black-box checks of the schedule layer against the holiday files bundled in `config/holidays`.

use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;
use weekbell::calendar::Calendar;
use weekbell::schedule::{CronExpr, HolidayPolicy, Schedule, calendar_gap_warning};

fn bundled(names: &[&str]) -> Calendar {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/holidays");
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    Calendar::load(&paths).unwrap_or_else(|e| panic!("the bundled holiday files load: {e}"))
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("no such time {y}-{m}-{d} {h}:00"))
}

fn schedule(name: &str, cron: &str, on_holiday: HolidayPolicy, workdays_only: bool) -> Schedule {
    Schedule {
        name: name.to_string(),
        cron: CronExpr::parse(cron).unwrap_or_else(|e| panic!("{cron}: {e}")),
        tz: chrono_tz::Asia::Shanghai,
        on_holiday,
        workdays_only,
    }
}

/// The example configuration's Monday reminder: National Day Monday moves to Thursday.
#[test]
fn monday_reminder_moves_off_national_day() {
    let cal = bundled(&["2025.json", "2026.json"]);
    let s = schedule(
        "monday-reminders",
        "0 9 * * MON",
        HolidayPolicy::NextWorkday,
        false,
    );
    let slot = s
        .next_after(utc(2026, 10, 1, 0), &cal)
        .unwrap_or_else(|| panic!("no slot after 2026-10-01"));
    assert_eq!(slot.key(), "monday-reminders@2026-10-08T09:00");
    assert_eq!(slot.at_local().to_rfc3339(), "2026-10-08T09:00:00+08:00");
    assert_eq!(slot.at, utc(2026, 10, 8, 1));
    assert_eq!(
        slot.moved_from.map(|t| t.to_string()),
        Some("2026-10-05 09:00:00".to_string())
    );
}

/// A daily workday schedule fires on the make-up Sunday before National Day.
#[test]
fn workdays_only_includes_makeup_sunday() {
    let cal = bundled(&["2026.ics"]);
    let s = schedule("daily", "0 9 * * *", HolidayPolicy::Run, true);
    let keys: Vec<String> = s
        .slots_after(utc(2026, 9, 18, 12), &cal)
        .take(2)
        .map(|slot| slot.key())
        .collect();
    assert_eq!(keys, ["daily@2026-09-20T09:00", "daily@2026-09-21T09:00"]);
}

/// The example configuration has no 2027 file, so December warns.
#[test]
fn december_without_next_year_warns() {
    let cal = bundled(&["2025.json", "2026.json"]);
    let s = schedule("friday-digest", "0 17 * * FRI", HolidayPolicy::Skip, false);
    assert!(calendar_gap_warning(&cal, [&s], utc(2026, 9, 1, 0)).is_none());
    let warning = calendar_gap_warning(&cal, [&s], utc(2026, 12, 1, 0))
        .unwrap_or_else(|| panic!("no calendar gap warning"));
    assert!(warning.contains("no data for 2027"), "{warning}");
    assert!(warning.contains("\"friday-digest\""), "{warning}");
}

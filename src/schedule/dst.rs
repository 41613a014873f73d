//! Wall-clock times to instants across daylight-saving changes ("floating wall clock").
//!
//! Schedules are written in local time. Twice a year some local times do not exist (the clock jumps
//! forward) or exist twice (it falls back). The `cron` crate skips the first and fires twice on the
//! second, sometimes out of order, so weekbell runs cron over naive local times and decides here:
//! a schedule fires once per wall-clock time, at the first valid instant after a gap and at the
//! first of two occurrences in an overlap.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

/// The longest gap a zone has had: Pacific/Apia skipped 2011-12-30 entirely. Searching a little
/// further than that bounds the loop without ever missing a real gap's end.
const MAX_GAP: Duration = Duration::hours(48);

/// The instant a wall-clock time stands for in `tz`.
///
/// - A time that exists once is that instant.
/// - A time that exists twice (clocks fall back) is its first occurrence, so the schedule fires once.
/// - A time that does not exist (clocks spring forward) is the first valid instant after the gap:
///   02:30 on the morning the clock jumps from 02:00 to 03:00 fires at 03:00.
///
/// `None` only when no valid time follows within two days, which no real zone has.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => first_valid_after_gap(tz, local),
    }
}

/// Zone changes happen on whole minutes, so the first valid whole minute after `local` is where the
/// gap ends.
fn first_valid_after_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    let mut probe = local.with_second(0)?.with_nanosecond(0)?;
    let limit = local.checked_add_signed(MAX_GAP)?;
    while probe < limit {
        probe = probe.checked_add_signed(Duration::minutes(1))?;
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return Some(t),
            LocalResult::None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn rfc3339(t: DateTime<Tz>) -> String {
        t.to_rfc3339()
    }

    #[test]
    fn gap_moves_to_its_end() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            rfc3339(resolve_local(ny, local(2026, 3, 8, 2, 30)).unwrap()),
            "2026-03-08T03:00:00-04:00"
        );
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            rfc3339(resolve_local(berlin, local(2026, 3, 29, 2, 0)).unwrap()),
            "2026-03-29T03:00:00+02:00"
        );
        // Lord Howe moves its clock by 30 minutes.
        let lh = chrono_tz::Australia::Lord_Howe;
        assert_eq!(
            rfc3339(resolve_local(lh, local(2026, 10, 4, 2, 10)).unwrap()),
            "2026-10-04T02:30:00+11:00"
        );
        // Seconds inside the gap still land on the gap's end.
        let with_seconds = local(2026, 3, 8, 2, 59).with_second(30).unwrap();
        assert_eq!(
            rfc3339(resolve_local(ny, with_seconds).unwrap()),
            "2026-03-08T03:00:00-04:00"
        );
    }

    #[test]
    fn overlap_takes_the_first_occurrence() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            rfc3339(resolve_local(ny, local(2026, 11, 1, 1, 30)).unwrap()),
            "2026-11-01T01:30:00-04:00"
        );
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            rfc3339(resolve_local(berlin, local(2026, 10, 25, 2, 30)).unwrap()),
            "2026-10-25T02:30:00+02:00"
        );
    }

    #[test]
    fn a_skipped_day_resolves_to_the_next() {
        // Samoa skipped 2011-12-30 when it crossed the date line.
        let apia = chrono_tz::Pacific::Apia;
        let t = resolve_local(apia, local(2011, 12, 30, 9, 0)).unwrap();
        assert_eq!(rfc3339(t), "2011-12-31T00:00:00+14:00");
        assert_eq!(
            t.with_timezone(&Utc).to_rfc3339(),
            "2011-12-30T10:00:00+00:00"
        );
    }

    #[test]
    fn resolving_is_monotonic_through_transitions() {
        for tz in [
            chrono_tz::America::New_York,
            chrono_tz::Europe::Berlin,
            chrono_tz::Australia::Lord_Howe,
        ] {
            let mut previous = None;
            let mut t = local(2026, 1, 1, 0, 0);
            while t < local(2027, 1, 1, 0, 0) {
                let r = resolve_local(tz, t).unwrap();
                if let Some(p) = previous {
                    assert!(r >= p, "{tz} {t}");
                }
                previous = Some(r);
                t += Duration::minutes(10);
            }
        }
    }
}

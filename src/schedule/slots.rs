//! Slots: the instants a schedule fires at, after time zones, daylight saving and holidays.
//!
//! A slot is identified by its schedule's name and its local wall-clock time
//! (`monday-reminders@2026-10-08T09:00`), so every replica and every restart derives the same key for
//! the same firing, whatever instant arithmetic says.

use super::HolidayPolicy;
use super::cron_expr::{CronExpr, Occurrences};
use super::dst::resolve_local;
use crate::calendar::Calendar;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// A cron expression in a time zone with holiday rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub cron: CronExpr,
    pub tz: Tz,
    pub on_holiday: HolidayPolicy,
    /// Keep only slots on workdays: Monday to Friday unless a holiday, plus make-up workdays.
    pub workdays_only: bool,
}

/// One firing of one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The schedule's name.
    pub schedule: String,
    /// The wall-clock time it fires at, after any holiday move and daylight-saving adjustment.
    pub local: NaiveDateTime,
    /// The instant it fires at.
    pub at: DateTime<Utc>,
    /// The nominal wall-clock time, when `next_workday` moved the slot off a holiday.
    pub moved_from: Option<NaiveDateTime>,
    /// The schedule's time zone, so the slot can show itself in local time.
    pub tz: Tz,
}

impl Slot {
    /// The ledger key: `name@2026-12-04T17:00`, with seconds only when they are not zero.
    pub fn key(&self) -> String {
        slot_key(&self.schedule, self.local)
    }

    /// The instant in the schedule's time zone.
    pub fn at_local(&self) -> DateTime<Tz> {
        self.at.with_timezone(&self.tz)
    }
}

/// The ledger key of a schedule's slot at a wall-clock time; see [`Slot::key`].
pub fn slot_key(schedule: &str, local: NaiveDateTime) -> String {
    if local.second() == 0 {
        format!("{schedule}@{}", local.format("%Y-%m-%dT%H:%M"))
    } else {
        format!("{schedule}@{}", local.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// How long the filters may reject every candidate before the iterator concludes the schedule will
/// never fire again (`0 9 * * SAT` with `workdays_only` and no make-up Saturdays, say). Rare but real
/// schedules fire at least once in this span; the cron itself may be sparser (a leap day), which
/// does not count, because only rejected candidates run the clock.
const GIVE_UP_AFTER: Duration = Duration::days(5 * 366);

/// How far [`Schedule::previous_before`] looks back.
/// In minutes: a per-second schedule finds its previous slot in the first window, a weekly
/// one in the fifth, without iterating a day of seconds.
const PREVIOUS_WINDOWS_MINUTES: [i64; 7] =
    [2, 60, 1440, 8 * 1440, 32 * 1440, 100 * 1440, 400 * 1440];

/// How far back a slot may have been moved from. A slot moved by `next_workday` fires later than its
/// nominal time, so iteration must start before the run of days off that precedes `after`.
const MAX_MOVE_LOOKBACK_DAYS: usize = 366;

impl Schedule {
    /// Whether the holiday calendar changes when this schedule fires.
    pub fn uses_calendar(&self) -> bool {
        self.on_holiday != HolidayPolicy::Run || self.workdays_only
    }

    /// Slots strictly after `after`, ascending by instant, each wall-clock time at most once.
    ///
    /// The sequence ends when the cron expression runs out, or when the holiday rules have rejected
    /// every candidate for five years.
    pub fn slots_after<'a>(&'a self, after: DateTime<Utc>, cal: &'a Calendar) -> Slots<'a> {
        let wall = after.with_timezone(&self.tz).naive_local();
        let start = if self.on_holiday == HolidayPolicy::NextWorkday {
            self.earliest_nominal_that_can_move_to(wall, cal)
        } else {
            wall
        };
        Slots {
            schedule: self,
            calendar: cal,
            candidates: self.cron.occurrences_after(start),
            after,
            pending: BTreeMap::new(),
            frontier: None,
            last_yielded: None,
            last_kept: start,
            exhausted: false,
        }
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>, cal: &Calendar) -> Option<Slot> {
        self.slots_after(after, cal).next()
    }

    /// The most recent slot strictly before `before`, looking back at most 400 days. Used for "done
    /// since the last digest".
    pub fn previous_before(&self, before: DateTime<Utc>, cal: &Calendar) -> Option<Slot> {
        // Widening windows keep a minutely schedule from iterating 400 days of slots.
        PREVIOUS_WINDOWS_MINUTES.iter().find_map(|&minutes| {
            let from = before.checked_sub_signed(Duration::minutes(minutes))?;
            self.slots_after(from, cal)
                .take_while(|s| s.at < before)
                .last()
        })
    }

    /// A slot on day D can be moved past `wall` only if every day from D to `wall`'s date is not a
    /// workday; this walks back over that run of days and returns the first midnight to scan from.
    fn earliest_nominal_that_can_move_to(
        &self,
        wall: NaiveDateTime,
        cal: &Calendar,
    ) -> NaiveDateTime {
        let mut day = wall.date();
        for _ in 0..MAX_MOVE_LOOKBACK_DAYS {
            match day.pred_opt() {
                Some(previous) if !cal.is_workday(previous) => day = previous,
                _ => break,
            }
        }
        // One second before midnight, because occurrences are strictly after the start.
        let start = day
            .and_time(NaiveTime::MIN)
            .checked_sub_signed(Duration::seconds(1));
        start.map_or(wall, |s| s.min(wall))
    }

    /// Applies the holiday rules to one nominal wall-clock time.
    fn place(&self, nominal: NaiveDateTime, cal: &Calendar) -> Placement {
        let date = nominal.date();
        let (target, moved_from) = if cal.is_off_day(date) {
            match self.on_holiday {
                HolidayPolicy::Run => (nominal, None),
                HolidayPolicy::Skip => return Placement::RejectDay(date),
                HolidayPolicy::NextWorkday => {
                    let next = date
                        .succ_opt()
                        .and_then(|d| cal.next_workday_on_or_after(d));
                    match next {
                        Some(day) => (day.and_time(nominal.time()), Some(nominal)),
                        None => return Placement::RejectDay(date),
                    }
                }
            }
        } else {
            (nominal, None)
        };
        if self.workdays_only && !cal.is_workday(target.date()) {
            return Placement::RejectDay(date);
        }
        match resolve_local(self.tz, target) {
            Some(t) => Placement::Keep(Slot {
                schedule: self.name.clone(),
                local: t.naive_local(),
                at: t.with_timezone(&Utc),
                moved_from,
                tz: self.tz,
            }),
            None => Placement::Drop,
        }
    }
}

enum Placement {
    Keep(Slot),
    /// The rules refuse every time on this nominal date, so scanning can jump to the next day.
    RejectDay(NaiveDate),
    /// This one time cannot be placed (no valid local time follows it).
    Drop,
}

/// The iterator behind [`Schedule::slots_after`].
///
/// Holiday moves make slots come out of order (a Friday holiday moved to Monday must wait for the
/// Saturday slot), so slots wait in `pending` until the nominal candidates have passed them. Nominal
/// times map to instants monotonically and a moved slot is always later than its nominal time, so
/// once a candidate's own instant is past a pending slot, nothing earlier can still arrive.
pub struct Slots<'a> {
    schedule: &'a Schedule,
    calendar: &'a Calendar,
    candidates: Occurrences<'a>,
    after: DateTime<Utc>,
    /// Slots not yet yielded, one per instant. Colliding slots (a moved one landing on the workday's
    /// own slot) are the same wall-clock time and the same key, so they fire once.
    pending: BTreeMap<DateTime<Utc>, Slot>,
    /// The instant of the latest nominal candidate: every future slot is at or after it.
    frontier: Option<DateTime<Utc>>,
    last_yielded: Option<DateTime<Utc>>,
    /// The nominal time of the latest candidate the rules let through, for the give-up rule.
    last_kept: NaiveDateTime,
    exhausted: bool,
}

impl Iterator for Slots<'_> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        loop {
            if let Some(slot) = self.pop_settled() {
                let fresh = slot.at > self.after && self.last_yielded.is_none_or(|l| slot.at > l);
                if fresh {
                    self.last_yielded = Some(slot.at);
                    return Some(slot);
                }
                continue;
            }
            if self.exhausted {
                return None;
            }
            let Some(nominal) = self.candidates.next() else {
                self.exhausted = true;
                continue;
            };
            if let Some(t) = resolve_local(self.schedule.tz, nominal) {
                let t = t.with_timezone(&Utc);
                self.frontier = Some(self.frontier.map_or(t, |f| f.max(t)));
            }
            match self.schedule.place(nominal, self.calendar) {
                Placement::Keep(slot) => {
                    self.last_kept = nominal;
                    self.add_pending(slot);
                }
                Placement::Drop => {}
                Placement::RejectDay(date) => {
                    if nominal.signed_duration_since(self.last_kept) > GIVE_UP_AFTER {
                        self.exhausted = true;
                        continue;
                    }
                    // Skipping the rest of the day keeps a minutely schedule over a long holiday
                    // from walking every minute.
                    if let Some(end_of_day) = date.and_hms_opt(23, 59, 59) {
                        self.candidates = self.schedule.cron.occurrences_after(end_of_day);
                    }
                }
            }
        }
    }
}

impl Slots<'_> {
    /// The earliest pending slot, once nothing earlier can still arrive.
    fn pop_settled(&mut self) -> Option<Slot> {
        let (&first, _) = self.pending.first_key_value()?;
        let settled = self.exhausted || self.frontier.is_some_and(|f| first < f);
        if settled {
            self.pending.pop_first().map(|(_, slot)| slot)
        } else {
            None
        }
    }

    fn add_pending(&mut self, slot: Slot) {
        match self.pending.entry(slot.at) {
            Entry::Vacant(e) => {
                e.insert(slot);
            }
            // The day's own slot wins over one moved onto it: it would have fired there anyway.
            Entry::Occupied(mut e) => {
                if e.get().moved_from.is_some() && slot.moved_from.is_none() {
                    e.insert(slot);
                }
            }
        }
    }
}

/// How far ahead [`calendar_gap_warning`] looks.
pub const CALENDAR_LOOKAHEAD_DAYS: i64 = 60;

/// A warning for `check` and the daemon when the holiday calendar lacks a year that matters soon.
///
/// The rule: for every schedule whose firing depends on the calendar (`on_holiday` is `skip` or
/// `next_workday`, or `workdays_only` is set), every year touched by the next
/// [`CALENDAR_LOOKAHEAD_DAYS`] days, counted from `now` in that schedule's time zone, must be covered
/// by a loaded holiday file that lists days. So from early November a calendar without next year's
/// file warns, which is when the State Council usually announces the next year. Schedules that run
/// on holidays anyway and use no workday rule never warn. The text names the years and schedules
/// and says what to do.
pub fn calendar_gap_warning<'a>(
    cal: &Calendar,
    schedules: impl IntoIterator<Item = &'a Schedule>,
    now: DateTime<Utc>,
) -> Option<String> {
    let mut missing: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for schedule in schedules.into_iter().filter(|s| s.uses_calendar()) {
        let start = now.with_timezone(&schedule.tz).year();
        let end = now
            .checked_add_signed(Duration::days(CALENDAR_LOOKAHEAD_DAYS))
            .map_or(start, |t| t.with_timezone(&schedule.tz).year());
        for year in (start..=end).filter(|y| !cal.covers_year(*y)) {
            let names = missing.entry(year).or_default();
            if !names.contains(&schedule.name.as_str()) {
                names.push(&schedule.name);
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let years: Vec<String> = missing.keys().map(i32::to_string).collect();
    let mut names: Vec<&str> = missing.values().flatten().copied().collect();
    names.sort_unstable();
    names.dedup();
    let years_text = join_words(&years);
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let (schedule_word, verb) = if names.len() == 1 {
        ("schedule", "follows")
    } else {
        ("schedules", "follow")
    };
    let placeholders: Vec<String> = cal
        .placeholder_years()
        .filter(|y| missing.contains_key(y))
        .map(|y| y.to_string())
        .collect();
    let situation = if !placeholders.is_empty() {
        format!(
            "The holiday calendar has no days for {years_text} (the file for {} is loaded but still empty, so the arrangement has probably not been announced yet)",
            join_words(&placeholders)
        )
    } else if cal.years().next().is_none() {
        "No holiday calendar is loaded ([calendar] holidays lists no files)".to_string()
    } else {
        format!("The holiday calendar has no data for {years_text}")
    };
    Some(format!(
        "{situation}, but the {schedule_word} {} {verb} holidays. Until {years_text} is added, public holidays and make-up workdays there are not known: Monday to Friday count as workdays and weekends as days off. When the State Council announces the holidays for {years_text} (usually in November), add the holiday-cn file for {years_text} (such as {}.json) to [calendar] holidays.",
        join_words(&quoted),
        years.last().map_or("the year", String::as_str),
    ))
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::PathBuf;

    fn bundled_calendar() -> Calendar {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/holidays/2026.json");
        Calendar::load(&[path]).unwrap()
    }

    fn schedule(cron: &str, tz: Tz, on_holiday: HolidayPolicy, workdays_only: bool) -> Schedule {
        Schedule {
            name: "s".to_string(),
            cron: CronExpr::parse(cron).unwrap(),
            tz,
            on_holiday,
            workdays_only,
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn local_strings(s: &Schedule, after: DateTime<Utc>, cal: &Calendar, n: usize) -> Vec<String> {
        s.slots_after(after, cal)
            .take(n)
            .map(|slot| slot.at_local().to_rfc3339())
            .collect()
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
    const NEW_YORK: Tz = chrono_tz::America::New_York;
    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn key_shows_seconds_only_when_set() {
        let s = schedule("0 17 * * FRI", SHANGHAI, HolidayPolicy::Run, false);
        let slot = s
            .next_after(utc(2026, 12, 1, 0, 0), &Calendar::default())
            .unwrap();
        assert_eq!(slot.key(), "s@2026-12-04T17:00");
        assert_eq!(slot.at, utc(2026, 12, 4, 9, 0));
        assert_eq!(slot.at_local().to_rfc3339(), "2026-12-04T17:00:00+08:00");
        let s = schedule("30 0 17 * * FRI", SHANGHAI, HolidayPolicy::Run, false);
        let slot = s
            .next_after(utc(2026, 12, 1, 0, 0), &Calendar::default())
            .unwrap();
        assert_eq!(slot.key(), "s@2026-12-04T17:00:30");
    }

    #[test]
    fn slots_are_strictly_after_the_start() {
        let s = schedule("0 9 * * *", SHANGHAI, HolidayPolicy::Run, false);
        let cal = Calendar::default();
        let at_nine = utc(2026, 6, 1, 1, 0);
        assert_eq!(
            s.next_after(at_nine, &cal).unwrap().at,
            utc(2026, 6, 2, 1, 0)
        );
        let just_before = at_nine - Duration::nanoseconds(1);
        assert_eq!(s.next_after(just_before, &cal).unwrap().at, at_nine);
    }

    #[test]
    fn spring_forward_fires_at_the_end_of_the_gap() {
        let cal = Calendar::default();
        let ny = schedule("30 2 * * *", NEW_YORK, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&ny, utc(2026, 3, 7, 12, 0), &cal, 3),
            [
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00",
                "2026-03-10T02:30:00-04:00",
            ]
        );
        let slot = ny.next_after(utc(2026, 3, 7, 12, 0), &cal).unwrap();
        assert_eq!(slot.key(), "s@2026-03-08T03:00");
        let berlin = schedule("30 2 * * *", BERLIN, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&berlin, utc(2026, 3, 28, 12, 0), &cal, 2),
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
    }

    #[test]
    fn fall_back_fires_once_at_the_first_occurrence() {
        let cal = Calendar::default();
        let ny = schedule("30 1 * * *", NEW_YORK, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&ny, utc(2026, 10, 31, 12, 0), &cal, 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
        // Starting between the two 01:30s does not fire the second one.
        assert_eq!(
            local_strings(&ny, utc(2026, 11, 1, 5, 45), &cal, 1),
            ["2026-11-02T01:30:00-05:00"]
        );
        let berlin = schedule("30 2 * * *", BERLIN, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&berlin, utc(2026, 10, 24, 12, 0), &cal, 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
    }

    #[test]
    fn sub_hourly_through_fall_back_stays_increasing() {
        let cal = Calendar::default();
        let ny = schedule("*/30 * * * *", NEW_YORK, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&ny, utc(2026, 11, 1, 4, 0), &cal, 5),
            [
                "2026-11-01T00:30:00-04:00",
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T02:00:00-05:00",
                "2026-11-01T02:30:00-05:00",
            ]
        );
        let spring = schedule("*/30 * * * *", NEW_YORK, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&spring, utc(2026, 3, 8, 6, 0), &cal, 4),
            [
                "2026-03-08T01:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-08T03:30:00-04:00",
                "2026-03-08T04:00:00-04:00",
            ]
        );
    }

    #[test]
    fn next_workday_moves_a_national_day_monday() {
        let cal = bundled_calendar();
        let s = schedule("0 9 * * MON", SHANGHAI, HolidayPolicy::NextWorkday, false);
        let slots: Vec<Slot> = s
            .slots_after(utc(2026, 9, 27, 0, 0), &cal)
            .take(3)
            .collect();
        assert_eq!(
            slots[0].at_local().to_rfc3339(),
            "2026-09-28T09:00:00+08:00"
        );
        assert_eq!(
            slots[1].at_local().to_rfc3339(),
            "2026-10-08T09:00:00+08:00"
        );
        assert_eq!(slots[1].key(), "s@2026-10-08T09:00");
        assert_eq!(
            slots[1].moved_from,
            NaiveDate::from_ymd_opt(2026, 10, 5).and_then(|d| d.and_hms_opt(9, 0, 0))
        );
        assert_eq!(
            slots[2].at_local().to_rfc3339(),
            "2026-10-12T09:00:00+08:00"
        );
        assert_eq!(slots[2].moved_from, None);
        // During the holiday the moved slot is still ahead.
        let during = s.next_after(utc(2026, 10, 6, 0, 0), &cal).unwrap();
        assert_eq!(during.at_local().to_rfc3339(), "2026-10-08T09:00:00+08:00");
        assert!(during.moved_from.is_some());
        // ... and it is the one before the following Monday.
        let previous = s.previous_before(utc(2026, 10, 12, 0, 0), &cal).unwrap();
        assert_eq!(previous, during);
    }

    #[test]
    fn skip_drops_holiday_slots() {
        let cal = bundled_calendar();
        let s = schedule("0 9 * * MON", SHANGHAI, HolidayPolicy::Skip, false);
        assert_eq!(
            local_strings(&s, utc(2026, 9, 29, 0, 0), &cal, 1),
            ["2026-10-12T09:00:00+08:00"]
        );
        let run = schedule("0 9 * * MON", SHANGHAI, HolidayPolicy::Run, false);
        assert_eq!(
            local_strings(&run, utc(2026, 9, 29, 0, 0), &cal, 1),
            ["2026-10-05T09:00:00+08:00"]
        );
    }

    #[test]
    fn moved_slots_collapse_onto_the_workday_and_stay_in_order() {
        let cal = bundled_calendar();
        // Every day of the National Day week moves to Thursday 10-08, which has its own slot.
        let s = schedule("0 9 * * *", SHANGHAI, HolidayPolicy::NextWorkday, false);
        let slots: Vec<Slot> = s
            .slots_after(utc(2026, 9, 30, 0, 0), &cal)
            .take(4)
            .collect();
        let times: Vec<String> = slots.iter().map(|s| s.at_local().to_rfc3339()).collect();
        assert_eq!(
            times,
            [
                "2026-09-30T09:00:00+08:00",
                "2026-10-08T09:00:00+08:00",
                "2026-10-09T09:00:00+08:00",
                "2026-10-10T09:00:00+08:00",
            ]
        );
        assert_eq!(slots[1].moved_from, None, "the workday's own slot is kept");

        // Mid-autumn (Fri 09-25 to Sun 09-27): Friday's slot moves to Monday 09-28, after the
        // weekend's own slots, which are not holidays... except that 09-26/27 are listed off days
        // too, so all three collapse onto Monday.
        let fridays = schedule(
            "0 9 * * FRI,SAT",
            SHANGHAI,
            HolidayPolicy::NextWorkday,
            false,
        );
        assert_eq!(
            local_strings(&fridays, utc(2026, 9, 21, 0, 0), &cal, 3),
            [
                "2026-09-28T09:00:00+08:00",
                "2026-10-08T09:00:00+08:00",
                "2026-10-09T09:00:00+08:00",
            ]
        );
    }

    #[test]
    fn a_moved_slot_waits_for_earlier_weekend_slots() {
        // A Friday holiday moves to Monday; Saturday's and Sunday's slots (ordinary weekend days)
        // must come out first.
        let cal = Calendar::from_json_str(
            r#"{"year":2026,"days":[{"date":"2026-06-05","isOffDay":true}]}"#,
        )
        .unwrap();
        let s = schedule("0 9 * * *", SHANGHAI, HolidayPolicy::NextWorkday, false);
        let slots: Vec<Slot> = s
            .slots_after(utc(2026, 6, 4, 12, 0), &cal)
            .take(3)
            .collect();
        let keys: Vec<String> = slots.iter().map(Slot::key).collect();
        assert_eq!(
            keys,
            [
                "s@2026-06-06T09:00",
                "s@2026-06-07T09:00",
                "s@2026-06-08T09:00"
            ]
        );
        let hourly = schedule("0 18 * * FRI", SHANGHAI, HolidayPolicy::NextWorkday, false);
        let moved = hourly.next_after(utc(2026, 6, 4, 12, 0), &cal).unwrap();
        assert_eq!(moved.key(), "s@2026-06-08T18:00");
        assert!(moved.moved_from.is_some());
    }

    #[test]
    fn workdays_only_fires_on_makeup_weekends() {
        let cal = bundled_calendar();
        let s = schedule("0 9 * * *", SHANGHAI, HolidayPolicy::Run, true);
        // 2026-09-20 is a Sunday and a make-up workday for National Day.
        assert_eq!(
            local_strings(&s, utc(2026, 9, 18, 12, 0), &cal, 2),
            ["2026-09-20T09:00:00+08:00", "2026-09-21T09:00:00+08:00"]
        );
        // Ordinary weekends and holidays are left out: after Wed 09-30 comes Thu 10-08, then Fri
        // 10-09 and the make-up Saturday 10-10.
        assert_eq!(
            local_strings(&s, utc(2026, 9, 30, 12, 0), &cal, 3),
            [
                "2026-10-08T09:00:00+08:00",
                "2026-10-09T09:00:00+08:00",
                "2026-10-10T09:00:00+08:00"
            ]
        );
        // Weekend-only cron with workdays_only fires only on make-up days.
        let weekends = schedule("0 9 * * SAT,SUN", SHANGHAI, HolidayPolicy::Run, true);
        assert_eq!(
            local_strings(&weekends, utc(2026, 3, 1, 0, 0), &cal, 3),
            [
                "2026-05-09T09:00:00+08:00",
                "2026-09-20T09:00:00+08:00",
                "2026-10-10T09:00:00+08:00"
            ]
        );
    }

    #[test]
    fn schedules_that_never_fire_end() {
        let cal = bundled_calendar();
        let never = schedule("0 9 31 2 *", SHANGHAI, HolidayPolicy::Run, false);
        assert_eq!(never.next_after(utc(2026, 1, 1, 0, 0), &cal), None);
        assert_eq!(never.previous_before(utc(2026, 1, 1, 0, 0), &cal), None);
        // Without make-up days, a weekend-only schedule on workdays only never fires.
        let weekends = schedule("* * * * SAT,SUN", SHANGHAI, HolidayPolicy::Skip, true);
        assert_eq!(
            weekends.next_after(utc(2027, 1, 1, 0, 0), &Calendar::default()),
            None
        );
        // National Day is always a holiday in the bundled year; later years are not covered, so
        // the schedule fires again in 2027.
        let national_day = schedule("0 9 1 10 *", SHANGHAI, HolidayPolicy::Skip, false);
        assert_eq!(
            local_strings(&national_day, utc(2026, 1, 1, 0, 0), &cal, 1),
            ["2027-10-01T09:00:00+08:00"]
        );
        // Years without a matching cron time end at the crate's limit.
        let leap_monday = schedule("0 0 9 29 FEB MON", SHANGHAI, HolidayPolicy::Run, true);
        assert_eq!(
            local_strings(&leap_monday, utc(2026, 1, 1, 0, 0), &cal, 2),
            ["2044-02-29T09:00:00+08:00", "2072-02-29T09:00:00+08:00"]
        );
    }

    #[test]
    fn previous_before_finds_the_last_slot() {
        let cal = bundled_calendar();
        let digest = schedule("0 17 * * FRI", SHANGHAI, HolidayPolicy::Skip, false);
        let prev = digest
            .previous_before(utc(2026, 10, 16, 9, 0), &cal)
            .unwrap();
        // 10-16 17:00 is not yet; 10-09 is the last Friday before.
        assert_eq!(prev.key(), "s@2026-10-09T17:00");
        // Strictly before: at exactly the slot's instant, the one before it.
        let at_slot = digest.previous_before(prev.at, &cal).unwrap();
        assert_eq!(
            at_slot.key(),
            "s@2026-09-18T17:00",
            "09-25 and 10-02 are holidays"
        );
        let minutely = schedule("* * * * *", SHANGHAI, HolidayPolicy::Run, false);
        assert_eq!(
            minutely
                .previous_before(utc(2026, 10, 16, 9, 0), &cal)
                .unwrap()
                .key(),
            "s@2026-10-16T16:59"
        );
    }

    #[test]
    fn gap_warning_rule() {
        let cal = bundled_calendar();
        let follows = schedule("0 9 * * MON", SHANGHAI, HolidayPolicy::NextWorkday, false);
        let runs = Schedule {
            name: "runs".to_string(),
            ..schedule("0 9 * * MON", SHANGHAI, HolidayPolicy::Run, false)
        };
        // Mid-year: the next 60 days are in 2026, which is covered.
        assert_eq!(
            calendar_gap_warning(&cal, [&follows, &runs], utc(2026, 6, 1, 0, 0)),
            None
        );
        // December: the next 60 days reach into 2027, which is not.
        let warning =
            calendar_gap_warning(&cal, [&follows, &runs], utc(2026, 12, 1, 0, 0)).unwrap();
        assert_eq!(
            warning,
            "The holiday calendar has no data for 2027, but the schedule \"s\" follows holidays. Until 2027 is added, public holidays and make-up workdays there are not known: Monday to Friday count as workdays and weekends as days off. When the State Council announces the holidays for 2027 (usually in November), add the holiday-cn file for 2027 (such as 2027.json) to [calendar] holidays."
        );
        // Schedules that ignore holidays never warn.
        assert_eq!(
            calendar_gap_warning(&cal, [&runs], utc(2026, 12, 1, 0, 0)),
            None
        );
        assert_eq!(
            calendar_gap_warning(&Calendar::default(), [&runs], utc(2026, 12, 1, 0, 0)),
            None
        );
        // A workdays_only schedule with no calendar at all warns.
        let workdays = Schedule {
            name: "digest".to_string(),
            ..schedule("0 17 * * *", SHANGHAI, HolidayPolicy::Run, true)
        };
        let none = calendar_gap_warning(
            &Calendar::default(),
            [&workdays, &follows],
            utc(2026, 6, 1, 0, 0),
        )
        .unwrap();
        assert!(none.starts_with("No holiday calendar is loaded ([calendar] holidays lists no files), but the schedules \"digest\" and \"s\" follow holidays."), "{none}");
        // A loaded but empty 2027 file is mentioned.
        let mut with_placeholder = cal.clone();
        with_placeholder
            .merge(Calendar::from_json_str(r#"{"year":2027,"days":[]}"#).unwrap())
            .unwrap();
        let w =
            calendar_gap_warning(&with_placeholder, [&follows], utc(2026, 11, 15, 0, 0)).unwrap();
        assert!(
            w.contains("the file for 2027 is loaded but still empty"),
            "{w}"
        );
        // The time zone decides the year: 2026-12-31 20:00 UTC is already 2027 in Shanghai.
        let late = calendar_gap_warning(&cal, [&follows], utc(2026, 12, 31, 20, 0)).unwrap();
        assert!(late.contains("no data for 2027"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashSet;

        const ZONES: [Tz; 6] = [
            chrono_tz::America::New_York,
            chrono_tz::Europe::Berlin,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Shanghai,
            chrono_tz::UTC,
            chrono_tz::America::Santiago,
        ];

        fn field(
            min: u32,
            max: u32,
            names: &'static [&'static str],
        ) -> impl Strategy<Value = String> {
            let number = move || min..=max;
            prop_oneof![
                3 => Just("*".to_string()),
                2 => number().prop_map(|n| n.to_string()),
                1 => (number(), number()).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
                1 => (number(), number()).prop_map(|(a, b)| format!("{a},{b}")),
                1 => (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
                1 => proptest::sample::select(if names.is_empty() { &["*"][..] } else { names }).prop_map(str::to_string),
            ]
        }

        fn expression() -> impl Strategy<Value = String> {
            (
                field(0, 59, &[]),
                field(0, 23, &[]),
                field(1, 31, &[]),
                field(1, 12, &["MAR", "oct", "Nov"]),
                field(0, 7, &["MON", "FRI", "SUN", "SAT"]),
            )
                .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
        }

        fn policy() -> impl Strategy<Value = HolidayPolicy> {
            prop_oneof![
                Just(HolidayPolicy::Run),
                Just(HolidayPolicy::Skip),
                Just(HolidayPolicy::NextWorkday),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn slots_increase_and_keys_are_unique(
                text in expression(),
                zone in 0..ZONES.len(),
                on_holiday in policy(),
                workdays_only in any::<bool>(),
                start_minutes in 0i64..(60 * 24 * 366 * 2),
            ) {
                let cal = bundled_calendar();
                let s = Schedule {
                    name: "p".to_string(),
                    cron: CronExpr::parse(&text).unwrap(),
                    tz: ZONES[zone],
                    on_holiday,
                    workdays_only,
                };
                let after = utc(2025, 6, 1, 0, 0) + Duration::minutes(start_minutes);
                let slots: Vec<Slot> = s.slots_after(after, &cal).take(40).collect();
                let mut keys = HashSet::new();
                let mut previous = after;
                for slot in &slots {
                    prop_assert!(slot.at > previous, "{} not after {}", slot.at, previous);
                    previous = slot.at;
                    prop_assert!(keys.insert(slot.key()), "duplicate key {}", slot.key());
                    prop_assert_eq!(slot.at_local().naive_local(), slot.local);
                    if workdays_only {
                        prop_assert!(cal.is_workday(slot.local.date()));
                    }
                    if on_holiday != HolidayPolicy::Run {
                        prop_assert!(!cal.is_off_day(slot.local.date()));
                    }
                }
                // Starting from any yielded slot continues the same sequence.
                if let Some(middle) = slots.get(slots.len() / 2) {
                    let rest: Vec<Slot> = s.slots_after(middle.at, &cal).take(5).collect();
                    let expected: Vec<Slot> = slots.iter().filter(|x| x.at > middle.at).take(5).cloned().collect();
                    prop_assert!(rest.len() >= expected.len());
                    prop_assert_eq!(&rest[..expected.len()], &expected[..]);
                    let previous = s.previous_before(middle.at + Duration::seconds(1), &cal);
                    prop_assert_eq!(previous.as_ref(), Some(middle));
                }
            }

            #[test]
            fn arbitrary_text_never_panics(text in "[0-9*/,\\-?#@LWA-Za-z ]{0,30}", zone in 0..ZONES.len()) {
                if let Ok(cron) = CronExpr::parse(&text) {
                    let s = Schedule {
                        name: "p".to_string(),
                        cron,
                        tz: ZONES[zone],
                        on_holiday: HolidayPolicy::NextWorkday,
                        workdays_only: true,
                    };
                    let _ = s.slots_after(utc(2026, 1, 1, 0, 0), &bundled_calendar()).take(3).count();
                }
            }
        }
    }
}

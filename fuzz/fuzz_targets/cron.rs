//! The cron normaliser: `CronExpr::parse`, and for an expression it accepts, the first few
//! occurrences and a `matches` check (which must agree with them).
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use weekbell::schedule::CronExpr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = CronExpr::parse(text) else {
        return;
    };
    let _ = expr.as_str();
    let _ = expr.dialect();
    let Some(start) = NaiveDate::from_ymd_opt(2026, 2, 27).and_then(|d| d.and_hms_opt(23, 59, 0))
    else {
        return;
    };
    for t in expr.occurrences_after(start).take(3) {
        assert!(t > start, "{text:?}: occurrence {t} is not after {start}");
        assert!(expr.matches(t), "{text:?}: occurrence {t} does not match");
    }
});

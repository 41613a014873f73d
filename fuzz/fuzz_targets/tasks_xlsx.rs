//! The workbook importer on an `.xlsx` (calamine, merged cells, date and percent cells). Seed
//! the corpus with real workbooks: raw bytes are a zip, which random input rarely is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell_fuzz::{PEOPLE, tasks_config};

fuzz_target!(|data: &[u8]| {
    let cfg = tasks_config(&[]);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
    if let Err(e) = weekbell::tasks::load_bytes("tasks.xlsx", data, &cfg, &PEOPLE, today) {
        let _ = e.to_string();
    }
});

//! The record importers: the same bytes as a TOML and as a JSON task list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell_fuzz::{PEOPLE, tasks_config};

fuzz_target!(|data: &[u8]| {
    let cfg = tasks_config(&[]);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
    for name in ["tasks.toml", "tasks.json"] {
        if let Err(e) = weekbell::tasks::load_bytes(name, data, &cfg, &PEOPLE, today) {
            let _ = e.to_string();
        }
    }
});

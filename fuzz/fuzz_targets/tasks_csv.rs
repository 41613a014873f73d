//! The CSV importer (`weekbell::tasks::load_bytes`): encoding detection (UTF-8, BOM, GBK),
//! header-row search, column mapping and every cell parser. Each input is read three ways: as
//! a CSV with the built-in headers, as a CSV with the English team list's `owner`/`team`
//! mapping, and as a TSV. Seed the corpus with real lists (`config/tasks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::config::Field;
use weekbell_fuzz::{PEOPLE, tasks_config};

fuzz_target!(|data: &[u8]| {
    let builtin = tasks_config(&[]);
    let team = tasks_config(&[(Field::Owners, "owner"), (Field::Unit, "team")]);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
    for (name, cfg) in [
        ("tasks.csv", &builtin),
        ("tasks.csv", &team),
        ("tasks.tsv", &builtin),
    ] {
        if let Err(e) = weekbell::tasks::load_bytes(name, data, cfg, &PEOPLE, today) {
            let _ = e.to_string();
        }
    }
});

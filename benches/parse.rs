//! Parsing hostile command text: `cargo bench --bench parse`.
//!
//! A command arrives from anyone who can post in the group, and its length is bounded only by the
//! request body limit (64 KiB). Stripping leading `<at …>` mentions used to search the whole
//! rest of the message once per mention, so 60 KB of `"<at >"` took 1.45 s (issue #12). Target:
//! at most 10 ms for that message in release, i.e. linear in the text. The figure printed is the
//! best of several runs, so it measures the code rather than the machine's other work.

use std::time::{Duration, Instant};

/// The same allocator as the `weekbell` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 10;
const TARGET: Duration = Duration::from_millis(10);

fn main() {
    // `cargo test --all-targets` runs bench binaries too; the figures come from `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("parse bench: run it with `cargo bench --bench parse`");
        return;
    }
    let inputs = [
        ("60 KB of \"<at >\"", "<at >".repeat(12_000)),
        (
            "60 KB of DingTalk-style mentions before a command",
            format!("{}完成 12", "<at id=\"1\">@张三</at> ".repeat(2_400)),
        ),
        ("60 KB of full-width text", "完成１２　".repeat(4_000)),
    ];
    let mut all_met = true;
    for (name, text) in &inputs {
        let mut best = Duration::MAX;
        for _ in 0..RUNS {
            let start = Instant::now();
            let parsed = weekbell::commands::parse(std::hint::black_box(text));
            std::hint::black_box(&parsed);
            best = best.min(start.elapsed());
        }
        let met = best <= TARGET;
        all_met &= met;
        println!(
            "{name} ({} bytes): best of {RUNS} {:.3} ms (target ≤ {} ms: {})",
            text.len(),
            best.as_secs_f64() * 1e3,
            TARGET.as_millis(),
            if met { "met" } else { "MISSED" }
        );
    }
    if !all_met {
        std::process::exit(1);
    }
}

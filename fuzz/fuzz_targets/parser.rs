//! The chat command language: `weekbell::commands::parse`, then `respond` against a small
//! task list as each kind of sender. The first byte picks the sender; the rest is the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sender, text)) = data.split_first() else {
        return;
    };
    // Chat platforms deliver text as UTF-8; lossy decoding keeps invalid input useful.
    let text = String::from_utf8_lossy(text);
    weekbell_fuzz::run_command(&text, sender % 5);
});

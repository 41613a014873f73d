//! Slack Socket Mode frames: `slack_socket::read_envelope` reads a frame as the client does
//! (hello, disconnect, `slash_commands` / `events_api` / `interactive` envelopes and their
//! payloads), and a message it hands over goes on into the command parser. With the first
//! byte odd, the rest is wrapped as the `payload` of an envelope of a type picked by the
//! second byte, so the fuzzer reaches the payload parsers without having to find the envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::commands;
use weekbell::inbound::slack_socket::read_envelope;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let frame = if mode % 2 == 1 {
        let kinds = ["slash_commands", "events_api", "interactive"];
        let kind = kinds[usize::from(rest.first().copied().unwrap_or(0)) % kinds.len()];
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(payload) => serde_json::json!({
                "envelope_id": "e", "type": kind, "retry_attempt": mode / 2, "payload": payload,
            })
            .to_string(),
            Err(_) => return,
        }
    } else {
        text.into_owned()
    };
    if let Some(m) = read_envelope(&frame) {
        let _ = m.sender.ids();
        let _ = commands::parse(&m.text);
    }
});

//! Feishu long-connection frames: `feishu_ws::Frame::decode` on any bytes; a frame it accepts
//! must encode and decode back to itself, and its event (if it carries a whole one) goes
//! through the client's event reading and on into the command parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::commands;
use weekbell::inbound::feishu_ws::{Frame, read_event};

fuzz_target!(|data: &[u8]| {
    match Frame::decode(data) {
        Ok(frame) => {
            let again = Frame::decode(&frame.encode());
            assert_eq!(again.as_ref(), Ok(&frame), "encode/decode round trip");
            let _ = frame.header("type");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Some(m) = read_event(data) {
        let _ = m.sender.ids();
        let _ = commands::parse(&m.text);
    }
});

//! `DingTalkInbound::verify_and_parse`; with `sign` set the timestamp is signed, so the robot
//! message parser behind the check is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{DingTalkInbound, dingtalk};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const SECRET: &str = "gU3kq8Xw2Lr9Zt5Vb7Nm1Pq4Sd6Fh8Jk0Lz2Xc4Vb6Nm8Qw";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[
        dingtalk::TIMESTAMP_HEADER,
        dingtalk::SIGN_HEADER,
        "content-type",
    ]);
    if input.sign {
        let ts_ms = (input.ts_secs() * 1000).to_string();
        set(&mut headers, dingtalk::TIMESTAMP_HEADER, &ts_ms);
        set(
            &mut headers,
            dingtalk::SIGN_HEADER,
            &dingtalk::sign(SECRET, &ts_ms),
        );
    }
    let verifier = DingTalkInbound::new(Secret::new(SECRET));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

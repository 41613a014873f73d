//! `SlackInbound::verify_and_parse` on a request built from the input; with `sign` set the
//! request carries a valid signature, so the form and event parsers behind it are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{SlackInbound, slack};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[
        slack::TIMESTAMP_HEADER,
        slack::SIGNATURE_HEADER,
        slack::RETRY_HEADER,
        "content-type",
    ]);
    if input.sign {
        let ts = input.ts_secs().to_string();
        set(&mut headers, slack::TIMESTAMP_HEADER, &ts);
        set(
            &mut headers,
            slack::SIGNATURE_HEADER,
            &slack::signature(SECRET, &ts, &input.body),
        );
    }
    let verifier = SlackInbound::new(Secret::new(SECRET));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

//! `TeamsInbound::verify_and_parse` (an outgoing webhook); with `sign` set the request carries
//! a valid `Authorization: HMAC …`, so the activity and HTML reading behind it is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{TeamsInbound, teams};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const TOKEN: &str = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[teams::AUTHORIZATION_HEADER, "content-type"]);
    if input.sign {
        set(
            &mut headers,
            teams::AUTHORIZATION_HEADER,
            &teams::signature(TOKEN, &input.body),
        );
    }
    let _ = teams::command_text(&String::from_utf8_lossy(&input.body));
    let verifier = TeamsInbound::new(Secret::new(TOKEN));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

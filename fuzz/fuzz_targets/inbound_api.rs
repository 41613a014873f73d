//! `ApiInbound::verify_and_parse` (the JSON API); with `sign` set the request carries the
//! bearer token, so the JSON reading behind it is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{ApiInbound, api};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const TOKEN: &str = "api-7c1f0e9b2d4a";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[api::AUTHORIZATION_HEADER, "content-type"]);
    if input.sign {
        set(
            &mut headers,
            api::AUTHORIZATION_HEADER,
            &format!("Bearer {TOKEN}"),
        );
    }
    let verifier = ApiInbound::new(Secret::new(TOKEN));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

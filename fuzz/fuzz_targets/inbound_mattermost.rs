//! `MattermostInbound::verify_and_parse` (slash commands and outgoing webhooks) with two
//! configured tokens; with `sign` set the request carries one of them in the `Authorization`
//! header, so the form and JSON readers behind it are reached (without it, a token in the
//! fuzzed body is what decides).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{MattermostInbound, mattermost};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const TOKENS: [&str; 2] = ["xbxb8ctiffgd5d6huoc3pbqqpc", "4m1ztuqcwbdqtfhsdrfr1mdaxy"];

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[mattermost::AUTHORIZATION_HEADER, "content-type"]);
    if input.sign {
        let token = TOKENS[usize::from(input.iv[0] % 2)];
        set(
            &mut headers,
            mattermost::AUTHORIZATION_HEADER,
            &format!("Token {token}"),
        );
    }
    let verifier = MattermostInbound::new(Secret::new(TOKENS.join(", ")));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

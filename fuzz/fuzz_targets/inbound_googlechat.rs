//! `GoogleChatInbound::verify_and_parse` against a key generated for the run, the unverified
//! key-id peek the daemon does first, and `KeySet::parse` on the body (as if it were what a
//! `certs` URL or file returned); with `sign` set the request carries a valid bearer token
//! issued at the skewed time, so the token's time checks and the event reading (both formats)
//! behind them are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::config::Audience;
use weekbell::inbound::googlechat::{self, GoogleChatInbound, KeySet};
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, google, set};

fuzz_target!(|input: FuzzRequest| {
    let Some(signer) = google::SIGNER.as_ref() else {
        return;
    };
    let _ = KeySet::parse(&input.body);
    let mut headers = input.header_map(&[googlechat::AUTHORIZATION_HEADER, "content-type"]);
    if input.sign
        && let Some(token) = signer.token(input.ts_secs())
    {
        set(
            &mut headers,
            googlechat::AUTHORIZATION_HEADER,
            &format!("Bearer {token}"),
        );
    }
    let verifier = GoogleChatInbound {
        audience: Audience::ProjectNumber(google::PROJECT.into()),
        service_account: None,
    };
    check(input.method(), &input.query, &headers, &input.body, |req| {
        let _ = googlechat::token_key_id(req);
        verifier.verify_and_parse(req, NOW_MS, &signer.keys)
    });
});

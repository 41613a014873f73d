//! `DiscordInbound::verify_and_parse` on a request built from the input; with `sign` set the
//! request carries a valid Ed25519 signature at the skewed timestamp, so the interaction
//! parser behind it (PING, slash commands, options) is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{DiscordInbound, discord};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const SEED: [u8; 32] = *b"weekbell-fuzz-discord-app-seed!!";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[
        discord::SIGNATURE_HEADER,
        discord::TIMESTAMP_HEADER,
        "content-type",
    ]);
    if input.sign {
        let ts = input.ts_secs().to_string();
        set(&mut headers, discord::TIMESTAMP_HEADER, &ts);
        set(
            &mut headers,
            discord::SIGNATURE_HEADER,
            &discord::signature(&SEED, &ts, &input.body),
        );
    }
    let verifier = DiscordInbound::new(Secret::new(discord::public_key_hex(&SEED)));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

//! `TelegramInbound::verify_and_parse` on a request built from the input; with `sign` set the
//! request carries the right secret token, so the update parser behind it is reached. The
//! body is also parsed as an update directly, as the long-polling client does, for a bot
//! whose username is known and one whose username is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::TelegramInbound;
use weekbell::inbound::telegram::{Addressee, SECRET_HEADER, parse_update};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const SECRET: &str = "wb_7f3a9c2e1b5d-0a";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[SECRET_HEADER, "content-type"]);
    if input.sign {
        set(&mut headers, SECRET_HEADER, SECRET);
    }
    let addressee = Addressee {
        bot_username: (input.skew_secs % 2 == 0).then(|| "weekbell_bot".to_string()),
        bot_id: Some("123456789".into()),
        chat: if input.iv[0] % 2 == 0 {
            "-1001234567890".into()
        } else {
            "@weekbell_news".into()
        },
    };
    let verifier = TelegramInbound {
        secret_token: Secret::new(SECRET),
        addressee: addressee.clone(),
    };
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
    if let Ok(update) = serde_json::from_slice::<serde_json::Value>(&input.body) {
        let _ = parse_update(&update, &addressee);
    }
});

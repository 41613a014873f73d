//! `FeishuInbound::verify_and_parse` under the three ways a Feishu app can be set up (Encrypt
//! Key, Verification Token, both; picked from the IV). With `sign` set the fuzzed body is the
//! event: it is encrypted with the key into `{"encrypt": …}` and the result signed, so the
//! decryption and the event parser are reached. Without `sign`, the IV's second byte may have
//! the body encrypted but left unsigned, which reaches the unsigned path's decryption (the URL
//! verification may come unsigned). Every refusal of a POST without signature headers must be
//! the one `Refusal::Unsigned`: an answer that told failures apart would be a padding oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::{FeishuInbound, Refusal, feishu};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const KEY: &str = "kF9s2LmQ7xYzA1bC3dE5fG7hJ9kL1mN";
const TOKEN: &str = "l802sPhp2r1AMSPDTaJc5eYZOEnKyp";

fuzz_target!(|input: FuzzRequest| {
    let mut headers = input.header_map(&[
        feishu::TIMESTAMP_HEADER,
        feishu::NONCE_HEADER,
        feishu::SIGNATURE_HEADER,
        "content-type",
    ]);
    let (key, token) = match input.iv[0] % 3 {
        0 => (Some(KEY), None),
        1 => (None, Some(TOKEN)),
        _ => (Some(KEY), Some(TOKEN)),
    };
    let mut body = input.body.clone();
    let seal = input.sign || input.iv[1] % 2 == 1;
    if seal
        && key.is_some()
        && let Ok(encrypted) = feishu::encrypt(KEY, &input.body, input.iv)
    {
        body = serde_json::json!({ "encrypt": encrypted })
            .to_string()
            .into_bytes();
    }
    if input.sign && key.is_some() {
        let ts = input.ts_secs().to_string();
        let nonce = input.nonce();
        set(&mut headers, feishu::TIMESTAMP_HEADER, &ts);
        set(&mut headers, feishu::NONCE_HEADER, &nonce);
        set(
            &mut headers,
            feishu::SIGNATURE_HEADER,
            &feishu::signature(KEY, &ts, &nonce, &body),
        );
    }
    let verifier = FeishuInbound {
        verification_token: token.map(Secret::new),
        encrypt_key: key.map(Secret::new),
    };
    let unsigned = [
        feishu::TIMESTAMP_HEADER,
        feishu::NONCE_HEADER,
        feishu::SIGNATURE_HEADER,
    ]
    .iter()
    .all(|name| !headers.contains_key(*name));
    check(input.method(), &input.query, &headers, &body, |req| {
        let verdict = verifier.verify_and_parse(req, NOW_MS);
        if unsigned && req.method == "POST" {
            assert!(
                matches!(
                    verdict,
                    Ok(_) | Err(Refusal::Unsigned(_) | Refusal::TooLarge(_))
                ),
                "an unsigned request refused with a telling answer: {verdict:?}"
            );
        }
        verdict
    });
});

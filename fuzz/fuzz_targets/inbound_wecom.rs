//! `WeComInbound::verify_and_parse`. With `sign` set the fuzzed body is the plaintext message:
//! it is encrypted and signed as WeCom does, into `{"encrypt": …}` with the signature in the
//! query (for GET, the URL verification, into `echostr`), so the decryption, the receive-id
//! check and the message parser are reached. The IV's first byte picks whether a receive id
//! is required.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::WeComInbound;
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check};

const TOKEN: &str = "QDfCNvKdKgD5Jp";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fuzz_target!(|input: FuzzRequest| {
    let headers = input.header_map(&["content-type"]);
    let verifier = WeComInbound {
        token: Secret::new(TOKEN),
        encoding_aes_key: Secret::new(AES_KEY),
        receive_id: (input.iv[0] % 2 == 1).then(|| "wwcorp".to_string()),
    };
    let mut query = input.query.clone();
    let mut body = input.body.clone();
    if input.sign
        && let Ok(reply) = verifier.encrypt(&input.body, input.iv, input.ts_secs(), &input.nonce())
    {
        query = format!(
            "msg_signature={}&timestamp={}&nonce={}",
            reply.msg_signature, reply.timestamp, reply.nonce
        );
        if input.method().eq_ignore_ascii_case("GET") {
            query.push_str(&format!("&echostr={}", enc(&reply.encrypt)));
        } else {
            body = serde_json::json!({ "encrypt": reply.encrypt })
                .to_string()
                .into_bytes();
        }
    }
    check(input.method(), &query, &headers, &body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });
});

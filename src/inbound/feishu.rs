//! Feishu / Lark app bot: the `im.message.receive_v1` event over the Webhook ("将事件发送至开发者
//! 服务器") mode.
//!
//! With an Encrypt Key configured, every event carries `X-Lark-Request-Timestamp`,
//! `X-Lark-Request-Nonce` and `X-Lark-Signature = hex(SHA-256(timestamp + nonce + encrypt_key +
//! raw_body))`, and the body is `{"encrypt": base64(iv ‖ AES-256-CBC(key = SHA-256(encrypt_key),
//! PKCS#7))}`. The Verification Token is inside the (decrypted) body: `header.token` in schema
//! 2.0, `token` in the URL-verification request and in schema 1.0.
//!
//! The URL-verification request is the one exception to "signature first": Feishu's SDK answers
//! it without a signature check, so it may come unsigned. An unsigned request is answered only
//! if it is a URL verification that decrypts under our key (when one is configured) and carries
//! our token (when one is configured); any other unsigned request is refused, always with the
//! same [`Refusal::Unsigned`], so that no answer tells bad padding from bad content (a padding
//! oracle). With a key configured, an unsigned body larger than a handshake is refused before
//! it is decrypted.
//!
//! Without an Encrypt Key, Feishu signs nothing: the Verification Token in the body is the only
//! check, and it does not protect the body. Configure an Encrypt Key.

use super::crypto::{aes256_cbc_decrypt, base64_decode, strip_pkcs7};
use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, check_fresh_ms, configured,
    ct_eq, parse_json, parse_timestamp, required_str, secs_to_ms, str_at, string_at,
};
use crate::config::{ChannelConfig, FeishuSettings};
use crate::secret::Secret;
use sha2::{Digest, Sha256};

pub const TIMESTAMP_HEADER: &str = "x-lark-request-timestamp";
pub const NONCE_HEADER: &str = "x-lark-request-nonce";
pub const SIGNATURE_HEADER: &str = "x-lark-signature";

/// Feishu documents no window for event timestamps, and its SDK checks none. Feishu retries
/// an unacknowledged event after 15 s, 5 min, 1 h and 6 h; whether a retry is re-signed with
/// a fresh timestamp is not documented. One hour, as DingTalk's and Feishu's own custom-bot
/// window, accepts the first three retries either way and keeps replays bounded; the dedupe on
/// `message_id` covers what the window lets through.
pub const WINDOW_SECS: i64 = 3600;

/// The largest unsigned body decrypted when an Encrypt Key is configured. The URL verification
/// (`{"challenge", "token", "type"}`, a UUID and a 32-character token) encrypts to about 190
/// bytes of body; a message event is well over a kilobyte.
pub const MAX_UNSIGNED_BODY_BYTES: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct FeishuInbound {
    pub verification_token: Option<Secret>,
    pub encrypt_key: Option<Secret>,
}

impl FeishuInbound {
    pub fn verify_and_parse(&self, req: &Request, now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        let token = configured(self.verification_token.as_ref());
        let key = configured(self.encrypt_key.as_ref());
        if token.is_none() && key.is_none() {
            return Err(Refusal::Misconfigured(
                "Feishu needs an Encrypt Key (preferred) or a Verification Token",
            ));
        }
        let signed = match key {
            Some(key) => self.verify_signature(req, key, now_ms)?,
            None => false,
        };
        if signed {
            return self.read_signed(req, token, key);
        }
        // Whatever went wrong with an unsigned request is answered alike: when bad padding and
        // a malformed plaintext were told apart (401 against 400), 256 requests recovered a
        // plaintext byte. The inner refusal still says why, for the log.
        self.read_unsigned(req, token, key)
            .map_err(|why| Refusal::Unsigned(Box::new(why)))
    }

    /// A request whose signature verified: any event.
    fn read_signed(
        &self,
        req: &Request,
        token: Option<&str>,
        key: Option<&str>,
    ) -> Result<Verdict, Refusal> {
        let outer = parse_json(req.body, "Feishu body")?;
        let event = match (outer.get("encrypt"), key) {
            (Some(encrypted), Some(key)) => {
                let encrypted = encrypted
                    .as_str()
                    .ok_or_else(|| Refusal::Malformed("`encrypt` is not a string".into()))?;
                parse_json(&decrypt(key, encrypted)?, "decrypted Feishu event")?
            }
            _ => outer,
        };
        check_token(&event, token)?;
        match challenge(&event)? {
            Some(verdict) => Ok(verdict),
            None => parse_event(&event),
        }
    }

    /// A request without signature headers. With an Encrypt Key only the URL verification may
    /// come so (Feishu's SDK answers it before checking any signature), and it is small, so a
    /// larger body is refused before anything is decrypted. Without a key nothing is signed and
    /// the Verification Token in the body is the only check.
    fn read_unsigned(
        &self,
        req: &Request,
        token: Option<&str>,
        key: Option<&str>,
    ) -> Result<Verdict, Refusal> {
        let Some(key) = key else {
            let event = parse_json(req.body, "Feishu body")?;
            if event.get("encrypt").is_some() {
                return Err(Refusal::Misconfigured(
                    "Feishu sent an encrypted body but no Encrypt Key is configured",
                ));
            }
            check_token(&event, token)?;
            return match challenge(&event)? {
                Some(verdict) => Ok(verdict),
                None => parse_event(&event),
            };
        };
        if req.body.len() > MAX_UNSIGNED_BODY_BYTES {
            return Err(Refusal::MissingHeader(SIGNATURE_HEADER));
        }
        let outer = parse_json(req.body, "Feishu body")?;
        let encrypted = str_at(&outer, &["encrypt"])
            // With a key configured Feishu encrypts everything, the handshake included.
            .ok_or(Refusal::MissingHeader(SIGNATURE_HEADER))?;
        let event = parse_json(&decrypt(key, encrypted)?, "decrypted Feishu event")?;
        check_token(&event, token)?;
        challenge(&event)?.ok_or(Refusal::MissingHeader(SIGNATURE_HEADER))
    }

    /// `Ok(true)` when signed and good, `Ok(false)` when no signature headers at all (only a
    /// URL verification may then pass), an error when partly signed, stale or wrong.
    fn verify_signature(&self, req: &Request, key: &str, now_ms: i64) -> Result<bool, Refusal> {
        let ts = req.header(TIMESTAMP_HEADER)?;
        let nonce = req.header(NONCE_HEADER)?;
        let sig = req.header(SIGNATURE_HEADER)?;
        let (ts_raw, nonce, sig) = match (ts, nonce, sig) {
            (None, None, None) => return Ok(false),
            (Some(t), Some(n), Some(s)) => (t, n, s),
            (None, _, _) => return Err(Refusal::MissingHeader(TIMESTAMP_HEADER)),
            (_, None, _) => return Err(Refusal::MissingHeader(NONCE_HEADER)),
            (_, _, None) => return Err(Refusal::MissingHeader(SIGNATURE_HEADER)),
        };
        let ts = parse_timestamp(ts_raw, TIMESTAMP_HEADER)?;
        check_fresh_ms(secs_to_ms(ts), now_ms, WINDOW_SECS)?;
        let given = hex::decode(sig).map_err(|_| Refusal::BadSignature)?;
        let expected = digest(ts_raw, nonce, key, req.body);
        if ct_eq(&given, &expected) {
            Ok(true)
        } else {
            Err(Refusal::BadSignature)
        }
    }
}

/// The Verification Token in a (decrypted) event, when one is configured: `header.token` in
/// schema 2.0, `token` in the URL verification and schema 1.0.
fn check_token(event: &serde_json::Value, token: Option<&str>) -> Result<(), Refusal> {
    let Some(expected) = token else {
        return Ok(());
    };
    let given = str_at(event, &["header", "token"])
        .or_else(|| str_at(event, &["token"]))
        .ok_or(Refusal::BadToken)?;
    if ct_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::BadToken)
    }
}

/// The answer to a URL verification; `None` for any other event.
fn challenge(event: &serde_json::Value) -> Result<Option<Verdict>, Refusal> {
    if str_at(event, &["type"]) != Some("url_verification") {
        return Ok(None);
    }
    let challenge = required_str(event, &["challenge"])?;
    let body = serde_json::json!({ "challenge": challenge }).to_string();
    Ok(Some(Verdict::Challenge {
        content_type: "application/json; charset=utf-8",
        body: body.into_bytes(),
    }))
}

fn digest(ts: &str, nonce: &str, key: &str, body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(ts.as_bytes());
    h.update(nonce.as_bytes());
    h.update(key.as_bytes());
    h.update(body);
    h.finalize().to_vec()
}

/// `X-Lark-Signature` for a body, as Feishu computes it; for tests and local tools.
pub fn signature(encrypt_key: &str, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    hex::encode(digest(timestamp, nonce, encrypt_key, body))
}

/// Decrypts an `encrypt` value: base64 of a 16-byte IV followed by the ciphertext.
pub fn decrypt(encrypt_key: &str, encrypted: &str) -> Result<Vec<u8>, Refusal> {
    let raw = base64_decode(encrypted)?;
    if raw.len() < 32 {
        return Err(Refusal::BadCiphertext("shorter than an IV and one block"));
    }
    let (iv, ciphertext) = raw.split_at(16);
    let key = Sha256::digest(encrypt_key.as_bytes());
    let plain = aes256_cbc_decrypt(key.as_slice(), iv, ciphertext)?;
    strip_pkcs7(plain, 16)
}

/// Encrypts as Feishu does (for tests and local tools that play Feishu).
pub fn encrypt(encrypt_key: &str, plaintext: &[u8], iv: [u8; 16]) -> Result<String, Refusal> {
    use super::crypto::{aes256_cbc_encrypt, base64_encode, pad_pkcs7};
    let key = Sha256::digest(encrypt_key.as_bytes());
    let mut out = iv.to_vec();
    out.extend(aes256_cbc_encrypt(
        key.as_slice(),
        &iv,
        &pad_pkcs7(plaintext.to_vec(), 16),
    )?);
    Ok(base64_encode(&out))
}

/// An `im.message.receive_v1` event (schema 2.0), decrypted and checked: the HTTP callback's body,
/// or the payload of a long-connection frame.
pub(crate) fn parse_event(event: &serde_json::Value) -> Result<Verdict, Refusal> {
    if str_at(event, &["schema"]) != Some("2.0") {
        return Ok(Verdict::Ignore("feishu event in schema 1.0"));
    }
    if str_at(event, &["header", "event_type"]) != Some("im.message.receive_v1") {
        return Ok(Verdict::Ignore(
            "feishu event other than im.message.receive_v1",
        ));
    }
    let Some(body) = event.get("event").filter(|e| e.is_object()) else {
        return Err(Refusal::Malformed("event without `event`".into()));
    };
    if str_at(body, &["sender", "sender_type"]) != Some("user") {
        return Ok(Verdict::Ignore("feishu message from an app, not a person"));
    }
    if str_at(body, &["message", "message_type"]) != Some("text") {
        return Ok(Verdict::Ignore("feishu message other than text"));
    }
    // Feishu's event docs name message_id as the dedupe key: a redelivery can carry a new
    // event_id.
    let message_id = required_str(body, &["message", "message_id"])?;
    let chat_id = required_str(body, &["message", "chat_id"])?;
    let content = required_str(body, &["message", "content"])?;
    // `content` is itself JSON, in a string: `{"text":"@_user_1 完成 12"}`.
    let content = parse_json(content.as_bytes(), "message.content")?;
    let text = content
        .get("text")
        .and_then(|t| t.as_str())
        .ok_or_else(|| Refusal::Malformed("message.content has no `text`".into()))?
        .to_string();
    let ids = |key: &str| string_at(body, &["sender", "sender_id", key]);
    let sender = Sender::Feishu {
        open_id: ids("open_id"),
        user_id: ids("user_id"),
        union_id: ids("union_id"),
    };
    if sender.ids().is_empty() {
        return Err(Refusal::Malformed("sender has no id".into()));
    }
    Ok(Verdict::Message(InboundMessage {
        message_id: message_id.clone(),
        sender,
        sender_name: None,
        text,
        reply: ReplyRoute::Feishu {
            message_id,
            chat_id,
            chat_type: string_at(body, &["message", "chat_type"]),
        },
        retry: false,
    }))
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &FeishuSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    FeishuInbound {
        verification_token: settings.verification_token.clone(),
        encrypt_key: settings.encrypt_key.clone(),
    }
    .verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    const KEY: &str = "kF9s2LmQ7xYzA1bC3dE5fG7hJ9kL1mN";
    const TOKEN: &str = "l802sPhp2r1AMSPDTaJc5eYZOEnKyp";
    const TS: &str = "1764918000";
    const NONCE: &str = "1628347564";
    const NOW_MS: i64 = 1_764_918_000_000 + 2_000;
    const IV: [u8; 16] = *b"0123456789abcdef";

    fn event() -> String {
        serde_json::json!({
            "schema": "2.0",
            "header": {
                "event_id": "5e3702a84e847582be8db7fb73283c02",
                "event_type": "im.message.receive_v1",
                "create_time": "1764918000000",
                "token": TOKEN,
                "app_id": "cli_9f5343c580712544",
                "tenant_key": "2ca1d211f64f6438"
            },
            "event": {
                "sender": {
                    "sender_id": {
                        "union_id": "on_8ed6aa67826108097d9ee143816345",
                        "user_id": "e33ggbyz",
                        "open_id": "ou_84aad35d084aa403a838cf73ee18467"
                    },
                    "sender_type": "user",
                    "tenant_key": "736588c9260f175e"
                },
                "message": {
                    "message_id": "om_5ce6d572455d361153b7cb51da133945",
                    "create_time": "1764918000000",
                    "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                    "chat_type": "group",
                    "message_type": "text",
                    "content": "{\"text\":\"@_user_1 完成 12\"}",
                    "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "weekbell"}]
                }
            }
        })
        .to_string()
    }

    fn both() -> FeishuInbound {
        FeishuInbound {
            verification_token: Some(Secret::new(TOKEN)),
            encrypt_key: Some(Secret::new(KEY)),
        }
    }

    fn encrypted_body(plain: &str) -> String {
        let enc = encrypt(KEY, plain.as_bytes(), IV).unwrap();
        serde_json::json!({ "encrypt": enc }).to_string()
    }

    fn signed(body: &str) -> HeaderMap {
        headers(&[
            (TIMESTAMP_HEADER, TS),
            (NONCE_HEADER, NONCE),
            (
                SIGNATURE_HEADER,
                &signature(KEY, TS, NONCE, body.as_bytes()),
            ),
        ])
    }

    fn run(v: &FeishuInbound, h: &HeaderMap, body: &str, now: i64) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers: h,
            body: body.as_bytes(),
        };
        v.verify_and_parse(&req, now)
    }

    #[test]
    fn documented_decrypt_vector() {
        // From Feishu's "Encrypt Key 加密配置示例": key "test key".
        assert_eq!(
            decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").unwrap(),
            b"hello world"
        );
        assert!(decrypt("other key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").is_err());
    }

    #[test]
    fn signature_known_answer() {
        // Cross-checked with Python: sha256((ts + nonce + key).encode() + body).hexdigest()
        assert_eq!(
            signature(KEY, TS, NONCE, br#"{"encrypt":"abc"}"#),
            "922ed227ff5a7e271d5806319f2001d2261476b843d1af648fa8133335c7a418"
        );
    }

    #[test]
    fn encrypted_signed_message_parses() {
        let body = encrypted_body(&event());
        let Ok(Verdict::Message(m)) = run(&both(), &signed(&body), &body, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "om_5ce6d572455d361153b7cb51da133945");
        assert_eq!(m.text, "@_user_1 完成 12");
        assert_eq!(
            m.sender.ids(),
            vec![
                "e33ggbyz",
                "ou_84aad35d084aa403a838cf73ee18467",
                "on_8ed6aa67826108097d9ee143816345"
            ]
        );
        assert_eq!(
            m.reply,
            ReplyRoute::Feishu {
                message_id: "om_5ce6d572455d361153b7cb51da133945".into(),
                chat_id: "oc_5ce6d572455d361153b7xx51da133945".into(),
                chat_type: Some("group".into()),
            }
        );
    }

    #[test]
    fn token_only_plaintext_message_parses() {
        let v = FeishuInbound {
            verification_token: Some(Secret::new(TOKEN)),
            encrypt_key: None,
        };
        let body = event();
        assert!(matches!(
            run(&v, &HeaderMap::new(), &body, NOW_MS),
            Ok(Verdict::Message(_))
        ));
        let wrong = body.replace(TOKEN, "someone-elses-token");
        assert_eq!(
            run(&v, &HeaderMap::new(), &wrong, NOW_MS),
            Err(Refusal::Unsigned(Box::new(Refusal::BadToken)))
        );
    }

    #[test]
    fn url_verification_plain_and_encrypted() {
        let plain = format!(
            r#"{{"challenge":"ajls384kdjx98XX","token":"{TOKEN}","type":"url_verification"}}"#
        );
        let answer = Ok(Verdict::Challenge {
            content_type: "application/json; charset=utf-8",
            body: br#"{"challenge":"ajls384kdjx98XX"}"#.to_vec(),
        });
        let token_only = FeishuInbound {
            verification_token: Some(Secret::new(TOKEN)),
            encrypt_key: None,
        };
        assert_eq!(run(&token_only, &HeaderMap::new(), &plain, NOW_MS), answer);
        // With an Encrypt Key the handshake is encrypted, and may come unsigned.
        let enc = encrypted_body(&plain);
        assert_eq!(run(&both(), &HeaderMap::new(), &enc, NOW_MS), answer);
        assert_eq!(run(&both(), &signed(&enc), &enc, NOW_MS), answer);
        // …but not in plaintext, and not with another token.
        assert_eq!(
            run(&both(), &HeaderMap::new(), &plain, NOW_MS),
            Err(Refusal::Unsigned(Box::new(Refusal::MissingHeader(
                SIGNATURE_HEADER
            ))))
        );
        let other = encrypted_body(&plain.replace(TOKEN, "nope"));
        assert_eq!(
            run(&both(), &HeaderMap::new(), &other, NOW_MS),
            Err(Refusal::Unsigned(Box::new(Refusal::BadToken)))
        );
    }

    #[test]
    fn ignores_apps_non_text_and_other_events() {
        let e = event();
        for (from, to) in [
            (r#""sender_type":"user""#, r#""sender_type":"app""#),
            (r#""message_type":"text""#, r#""message_type":"image""#),
            ("im.message.receive_v1", "im.chat.member.bot.added_v1"),
        ] {
            assert!(e.contains(from), "{from}");
            let body = encrypted_body(&e.replace(from, to));
            assert!(
                matches!(
                    run(&both(), &signed(&body), &body, NOW_MS),
                    Ok(Verdict::Ignore(_))
                ),
                "{to}"
            );
        }
    }

    #[test]
    fn refusals() {
        let body = encrypted_body(&event());
        let h = signed(&body);
        // Tampered body.
        let tampered = encrypted_body(&event().replace("完成 12", "完成 13"));
        assert_eq!(
            run(&both(), &h, &tampered, NOW_MS),
            Err(Refusal::BadSignature)
        );
        // Wrong key.
        let wrong = FeishuInbound {
            encrypt_key: Some(Secret::new("another key")),
            ..both()
        };
        assert_eq!(run(&wrong, &h, &body, NOW_MS), Err(Refusal::BadSignature));
        // Stale both ways.
        let ts_ms = 1_764_918_000_000;
        assert!(matches!(
            run(&both(), &h, &body, ts_ms + 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: -3601,
                ..
            })
        ));
        assert!(matches!(
            run(&both(), &h, &body, ts_ms - 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: 3601,
                ..
            })
        ));
        // Event without signature headers, or with only some.
        assert_eq!(
            run(&both(), &HeaderMap::new(), &body, NOW_MS),
            Err(Refusal::Unsigned(Box::new(Refusal::MissingHeader(
                SIGNATURE_HEADER
            ))))
        );
        let partial = headers(&[(TIMESTAMP_HEADER, TS), (SIGNATURE_HEADER, "00")]);
        assert_eq!(
            run(&both(), &partial, &body, NOW_MS),
            Err(Refusal::MissingHeader(NONCE_HEADER))
        );
        // Signed but malformed: not JSON, not base64, bad padding, content not JSON.
        for bad in ["{\"encrypt\": ", r#"{"encrypt":"%%%"}"#, r#"{"encrypt":7}"#] {
            assert!(
                matches!(
                    run(&both(), &signed(bad), bad, NOW_MS),
                    Err(Refusal::Malformed(_) | Refusal::BadCiphertext(_))
                ),
                "{bad}"
            );
        }
        let key = Sha256::digest(KEY.as_bytes());
        let mut bad_pad = IV.to_vec();
        bad_pad.extend(
            crate::inbound::crypto::aes256_cbc_encrypt(key.as_slice(), &IV, &[0x11; 32]).unwrap(),
        );
        let bad_pad = format!(
            r#"{{"encrypt":"{}"}}"#,
            crate::inbound::crypto::base64_encode(&bad_pad)
        );
        assert_eq!(
            run(&both(), &signed(&bad_pad), &bad_pad, NOW_MS),
            Err(Refusal::BadCiphertext("bad padding"))
        );
        let not_json = encrypted_body("not json");
        assert!(matches!(
            run(&both(), &signed(&not_json), &not_json, NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        let bad_content =
            encrypted_body(&event().replace(r#"{\"text\":\"@_user_1 完成 12\"}"#, r#"{\"text\":"#));
        assert!(matches!(
            run(&both(), &signed(&bad_content), &bad_content, NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        // Token mismatch inside a good signature.
        let other_app = encrypted_body(&event().replace(TOKEN, "other-app-token"));
        assert_eq!(
            run(&both(), &signed(&other_app), &other_app, NOW_MS),
            Err(Refusal::BadToken)
        );
        // Nothing configured.
        assert!(matches!(
            run(&FeishuInbound::default(), &h, &body, NOW_MS),
            Err(Refusal::Misconfigured(_))
        ));
        // Encrypted body, but no key to read it.
        let token_only = FeishuInbound {
            verification_token: Some(Secret::new(TOKEN)),
            encrypt_key: None,
        };
        assert!(matches!(
            run(&token_only, &h, &body, NOW_MS),
            Err(Refusal::Unsigned(inner)) if matches!(*inner, Refusal::Misconfigured(_))
        ));
    }

    /// The unsigned bodies of a padding-oracle attack and their neighbours: bad base64, short
    /// and odd-length ciphertext, bad padding, good padding over text that is not JSON, JSON
    /// that is not a URL verification, another app's token, a whole event, plaintext, not JSON.
    fn unsigned_attempts() -> Vec<String> {
        let key = Sha256::digest(KEY.as_bytes());
        let mut bodies = Vec::new();
        for i in 0u8..40 {
            // A forged last byte of the IV, as the attack walks it, over blocks of every value.
            let mut iv = IV;
            iv[15] ^= i;
            let mut raw = iv.to_vec();
            raw.extend(
                crate::inbound::crypto::aes256_cbc_encrypt(key.as_slice(), &iv, &[i; 32]).unwrap(),
            );
            raw.truncate(raw.len() - usize::from(i % 3));
            let encrypt = crate::inbound::crypto::base64_encode(&raw);
            bodies.push(serde_json::json!({ "encrypt": encrypt }).to_string());
        }
        for plain in [
            "not json".to_string(),
            "{}".into(),
            "[1,2]".into(),
            r#"{"type":"url_verification"}"#.into(),
            r#"{"type":"url_verification","token":"nope","challenge":"c"}"#.into(),
            format!(r#"{{"type":"url_verification","token":"{TOKEN}"}}"#),
            format!(r#"{{"type":"event_callback","token":"{TOKEN}","challenge":"c"}}"#),
            event(),
            event().replace(TOKEN, "other-app-token"),
            "challenge".into(),
        ] {
            bodies.push(encrypted_body(&plain));
        }
        for raw in [
            String::new(),
            "{".into(),
            "null".into(),
            r#"{"encrypt":7}"#.into(),
            r#"{"encrypt":""}"#.into(),
            r#"{"encrypt":"%%%"}"#.into(),
            r#"{"encrypt":"AAAA"}"#.into(),
            event(),
            format!(r#"{{"challenge":"c","token":"{TOKEN}","type":"url_verification"}}"#),
            "x".repeat(2000),
            format!(r#"{{"encrypt":"{}"}}"#, "A".repeat(1500)),
            r#"{"schema":"2.0"}"#.into(),
            "[]".into(),
            r#"{"encrypt":null}"#.into(),
        ] {
            bodies.push(raw);
        }
        bodies
    }

    #[test]
    fn every_unsigned_failure_is_one_refusal_with_a_key() {
        let attempts = unsigned_attempts();
        assert_eq!(attempts.len(), 64);
        for body in &attempts {
            let refused = run(&both(), &HeaderMap::new(), body, NOW_MS);
            assert!(
                matches!(refused, Err(Refusal::Unsigned(_))),
                "{body}: {refused:?}"
            );
        }
    }

    #[test]
    fn every_unsigned_failure_is_one_refusal_with_only_a_token() {
        let token_only = FeishuInbound {
            verification_token: Some(Secret::new(TOKEN)),
            encrypt_key: None,
        };
        for body in unsigned_attempts() {
            let outcome = run(&token_only, &HeaderMap::new(), &body, NOW_MS);
            // Plaintext with the right token is how a token-only app is called.
            let genuine = body == event()
                || body
                    == format!(
                        r#"{{"challenge":"c","token":"{TOKEN}","type":"url_verification"}}"#
                    );
            assert!(
                genuine || matches!(outcome, Err(Refusal::Unsigned(_))),
                "{body}: {outcome:?}"
            );
        }
    }

    #[test]
    fn an_unsigned_body_larger_than_a_handshake_is_not_decrypted() {
        // A good encrypted URL verification, padded past the limit with whitespace: refused
        // for its size before the decryption could accept it.
        let plain = format!(
            r#"{{"challenge":"ajls384kdjx98XX","token":"{TOKEN}","type":"url_verification"}}"#
        );
        let body = encrypted_body(&plain);
        assert!(matches!(
            run(&both(), &HeaderMap::new(), &body, NOW_MS),
            Ok(Verdict::Challenge { .. })
        ));
        let padded = format!("{body}{}", " ".repeat(MAX_UNSIGNED_BODY_BYTES));
        assert_eq!(
            run(&both(), &HeaderMap::new(), &padded, NOW_MS),
            Err(Refusal::Unsigned(Box::new(Refusal::MissingHeader(
                SIGNATURE_HEADER
            ))))
        );
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            ts in "[0-9a-z\\-]{0,24}",
            sig in "[ -~]{0,80}",
            now in any::<i64>(),
            sign_it in any::<bool>(),
        ) {
            let sig = if sign_it { signature(KEY, &ts, NONCE, &body) } else { sig };
            let h = headers(&[(TIMESTAMP_HEADER, &ts), (NONCE_HEADER, NONCE), (SIGNATURE_HEADER, &sig)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = both().verify_and_parse(&req, now);
        }

        #[test]
        fn signed_ciphertext_never_panics(
            cipher in proptest::collection::vec(any::<u8>(), 0..200),
            plain in "[{}\\[\\]\":,a-z0-9_. ]{0,200}",
        ) {
            let raw = format!(r#"{{"encrypt":"{}"}}"#, crate::inbound::crypto::base64_encode(&cipher));
            let _ = run(&both(), &signed(&raw), &raw, NOW_MS);
            let body = encrypted_body(&plain);
            let _ = run(&both(), &signed(&body), &body, NOW_MS);
        }
    }
}

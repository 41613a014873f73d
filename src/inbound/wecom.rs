//! WeCom (企业微信) AI bot in API mode ("智能机器人"): URL verification by GET, messages by POST,
//! both encrypted with the bot's EncodingAESKey and signed with its Token.
//!
//! `msg_signature = hex(SHA-1(concat(sort([token, timestamp, nonce, encrypt]))))` with
//! `msg_signature`, `timestamp` and `nonce` in the query string; `encrypt` is the `echostr`
//! parameter (GET) or the `encrypt` field of the JSON body (POST). The signature covers the
//! ciphertext, not the raw body, so the body is parsed just far enough to find `encrypt`
//! and nothing else is read until it verifies.
//!
//! AES key = base64decode(EncodingAESKey + "="), AES-256-CBC with IV = key[..16], PKCS#7 to
//! 32-byte blocks; plaintext = 16 random bytes ‖ be32 length ‖ message ‖ receive id.

use super::crypto::{
    aes256_cbc_decrypt, aes256_cbc_encrypt, base64_decode, base64_decode_key, base64_encode,
    pad_pkcs7, strip_pkcs7,
};
use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, check_fresh_ms, check_size,
    configured, ct_eq, form_get, missing_credentials, parse_form, parse_json, parse_timestamp,
    required_str, secs_to_ms, str_at, string_at,
};
use crate::config::{ChannelConfig, WeComSettings};
use crate::secret::Secret;
use sha1::{Digest, Sha1};

/// WeCom documents no window and its SDKs check none; the same hour as DingTalk and Feishu
/// bounds replays without refusing redeliveries. The dedupe on `msgid` covers the rest.
pub const WINDOW_SECS: i64 = 3600;

/// WeCom pads to 32-byte blocks, not AES's 16.
const PAD_BLOCK: usize = 32;

#[derive(Debug, Clone)]
pub struct WeComInbound {
    pub token: Secret,
    /// The 43-character EncodingAESKey from the bot's API settings.
    pub encoding_aes_key: Secret,
    /// The receive id the plaintext must end with: `""` for AI bots, the CorpID for classic
    /// app callbacks; `None` skips the check.
    pub receive_id: Option<String>,
}

/// An encrypted passive reply, ready to be written as the HTTP response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeComReply {
    pub encrypt: String,
    pub msg_signature: String,
    pub timestamp: i64,
    pub nonce: String,
}

impl WeComReply {
    /// `{"encrypt", "msgsignature", "timestamp", "nonce"}`, the passive-reply body. The
    /// timestamp is a string, as WeCom's own sample code writes it (the JSON template of
    /// `WXBizJsonMsgCrypt` quotes it) and as other clients send it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::json!({
            "encrypt": self.encrypt,
            "msgsignature": self.msg_signature,
            "timestamp": self.timestamp.to_string(),
            "nonce": self.nonce,
        })
        .to_string()
        .into_bytes()
    }
}

impl WeComInbound {
    /// The channel's AI-bot callback check; `None` without both `token` and
    /// `encoding_aes_key`.
    pub fn for_channel(channel: &ChannelConfig) -> Option<WeComInbound> {
        Some(WeComInbound {
            token: channel.settings.wecom()?.token.clone()?,
            encoding_aes_key: channel.settings.wecom()?.encoding_aes_key.clone()?,
            // The AI bot encrypts for an empty receive id; not checking it accepts either.
            receive_id: None,
        })
    }

    pub fn verify_and_parse(&self, req: &Request, now_ms: i64) -> Result<Verdict, Refusal> {
        check_size(req.body)?;
        let get = req.is("GET");
        if !get && !req.is("POST") {
            return Err(Refusal::MethodNotAllowed(super::short(req.method)));
        }
        let token = configured(Some(&self.token)).ok_or(Refusal::Misconfigured("WeCom Token"))?;
        let key = self.key()?;
        let query = parse_form(req.query.as_bytes())?;
        let param = |name: &'static str| form_get(&query, name).ok_or(Refusal::MissingParam(name));
        let signature = param("msg_signature")?;
        let ts_raw = param("timestamp")?;
        let nonce = param("nonce")?;
        let ts = parse_timestamp(ts_raw, "timestamp")?;
        check_fresh_ms(secs_to_ms(ts), now_ms, WINDOW_SECS)?;

        if get {
            let echostr = param("echostr")?;
            verify(token, ts_raw, nonce, echostr, signature)?;
            let plain = self.decrypt_with(&key, echostr)?;
            return Ok(Verdict::Challenge {
                content_type: "text/plain; charset=utf-8",
                body: plain,
            });
        }
        let outer = parse_json(req.body, "WeCom body")?;
        let encrypt = str_at(&outer, &["encrypt"])
            .ok_or_else(|| Refusal::Malformed("field `encrypt` is missing".into()))?;
        verify(token, ts_raw, nonce, encrypt, signature)?;
        let plain = self.decrypt_with(&key, encrypt)?;
        parse_message(&plain)
    }

    /// The passive reply to message `message_id`: a finished `stream` message (WeCom's AI bot
    /// answers user messages only as streams), encrypted and signed, ready to send as the HTTP
    /// response body.
    pub fn stream_reply(
        &self,
        message_id: &str,
        content: &str,
        timestamp: i64,
    ) -> Result<Vec<u8>, Refusal> {
        let plaintext = serde_json::json!({
            "msgtype": "stream",
            "stream": { "id": message_id, "finish": true, "content": content },
        })
        .to_string();
        let nonce = format!("{:016x}", fastrand::u64(..));
        let mut random16 = [0u8; 16];
        for b in &mut random16 {
            *b = fastrand::u8(..);
        }
        self.encrypt(plaintext.as_bytes(), random16, timestamp, &nonce)
            .map(|reply| reply.to_json())
    }

    /// Encrypts a passive reply (or anything WeCom expects encrypted) and signs it.
    /// `random16` must be fresh random bytes; it is the only variable part of the ciphertext.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        random16: [u8; 16],
        timestamp: i64,
        nonce: &str,
    ) -> Result<WeComReply, Refusal> {
        let token = configured(Some(&self.token)).ok_or(Refusal::Misconfigured("WeCom Token"))?;
        let key = self.key()?;
        let len = u32::try_from(plaintext.len())
            .map_err(|_| Refusal::Misconfigured("reply is too long to encrypt"))?;
        let mut buf = random16.to_vec();
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(plaintext);
        buf.extend_from_slice(self.receive_id.as_deref().unwrap_or_default().as_bytes());
        let cipher = aes256_cbc_encrypt(&key, &key[..16], &pad_pkcs7(buf, PAD_BLOCK as u8))?;
        let encrypt = base64_encode(&cipher);
        let ts = timestamp.to_string();
        let msg_signature = hex::encode(sign_digest(token, &ts, nonce, &encrypt));
        Ok(WeComReply {
            encrypt,
            msg_signature,
            timestamp,
            nonce: nonce.to_string(),
        })
    }

    /// Decrypts an `encrypt` or `echostr` value (no signature check: for tests and tools).
    pub fn decrypt(&self, encrypted: &str) -> Result<Vec<u8>, Refusal> {
        let key = self.key()?;
        self.decrypt_with(&key, encrypted)
    }

    fn key(&self) -> Result<Vec<u8>, Refusal> {
        const BAD: Refusal =
            Refusal::Misconfigured("WeCom EncodingAESKey must be the 43 characters shown by WeCom");
        let raw = configured(Some(&self.encoding_aes_key)).ok_or(BAD)?.trim();
        if raw.len() != 43 {
            return Err(BAD);
        }
        match base64_decode_key(&format!("{raw}=")) {
            Some(key) if key.len() == 32 => Ok(key),
            _ => Err(BAD),
        }
    }

    fn decrypt_with(&self, key: &[u8], encrypted: &str) -> Result<Vec<u8>, Refusal> {
        let raw = base64_decode(encrypted)?;
        let plain = strip_pkcs7(aes256_cbc_decrypt(key, &key[..16], &raw)?, PAD_BLOCK)?;
        let short = Refusal::BadCiphertext("plaintext shorter than its length field says");
        let len_bytes: [u8; 4] = plain
            .get(16..20)
            .and_then(|b| b.try_into().ok())
            .ok_or(short.clone())?;
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| short.clone())?;
        let end = 20usize.checked_add(len).ok_or(short.clone())?;
        let msg = plain.get(20..end).ok_or(short.clone())?;
        let receiver = plain.get(end..).ok_or(short)?;
        if let Some(expected) = &self.receive_id
            && receiver != expected.as_bytes()
        {
            return Err(Refusal::WrongReceiver);
        }
        Ok(msg.to_vec())
    }
}

fn sign_digest(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Vec<u8> {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    let mut h = Sha1::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    h.finalize().to_vec()
}

fn verify(
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    signature: &str,
) -> Result<(), Refusal> {
    let given = hex::decode(signature).map_err(|_| Refusal::BadSignature)?;
    if ct_eq(&given, &sign_digest(token, timestamp, nonce, encrypt)) {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

/// `msg_signature` as WeCom computes it; for tests and local tools.
pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    hex::encode(sign_digest(token, timestamp, nonce, encrypt))
}

fn parse_message(plain: &[u8]) -> Result<Verdict, Refusal> {
    let msg = parse_json(plain, "decrypted WeCom message")?;
    if !msg.is_object() {
        return Err(Refusal::Malformed("WeCom message is not an object".into()));
    }
    // Stream refreshes and events have no msgid of a user's message.
    if str_at(&msg, &["msgtype"]) != Some("text") {
        return Ok(Verdict::Ignore("wecom message other than text"));
    }
    let message_id = required_str(&msg, &["msgid"])?;
    let user_id = required_str(&msg, &["from", "userid"])?;
    let text = msg
        .get("text")
        .and_then(|t| t.get("content"))
        .and_then(|c| c.as_str())
        .ok_or_else(|| Refusal::Malformed("field `text.content` is missing".into()))?
        .to_string();
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::WeCom { user_id },
        sender_name: None,
        text,
        reply: ReplyRoute::WeCom {
            response_url: string_at(&msg, &["response_url"]).map(Secret::new),
            chat_id: string_at(&msg, &["chatid"]),
            chat_type: string_at(&msg, &["chattype"]),
        },
        retry: false,
    }))
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    _settings: &WeComSettings,
    channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    WeComInbound::for_channel(channel)
        .ok_or_else(missing_credentials)?
        .verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::percent_encode as urlencode;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    // wechatpy's test vector (tests/test_enterprise_crypto.py), from WeCom's sample code.
    const DOC_TOKEN: &str = "123456";
    const DOC_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const DOC_CORP: &str = "wx49f0ab532d5d035a";
    const DOC_SIG: &str = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96";
    const DOC_TS: &str = "1411443780";
    const DOC_NONCE: &str = "437374425";
    const DOC_ECHO: &str =
        "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
    const DOC_NOW_MS: i64 = 1_411_443_780_000 + 1_000;

    const TS: i64 = 1_764_918_000;
    const NOW_MS: i64 = 1_764_918_000_000 + 1_000;

    fn doc() -> WeComInbound {
        WeComInbound {
            token: Secret::new(DOC_TOKEN),
            encoding_aes_key: Secret::new(DOC_KEY),
            receive_id: Some(DOC_CORP.into()),
        }
    }

    fn bot() -> WeComInbound {
        WeComInbound {
            token: Secret::new("QDG6eK"),
            encoding_aes_key: Secret::new("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"),
            receive_id: Some(String::new()),
        }
    }

    fn run(
        v: &WeComInbound,
        method: &str,
        query: &str,
        body: &str,
        now: i64,
    ) -> Result<Verdict, Refusal> {
        let h = HeaderMap::new();
        let req = Request {
            method,
            query,
            headers: &h,
            body: body.as_bytes(),
        };
        v.verify_and_parse(&req, now)
    }

    const TEXT: &str = r#"{"msgid":"CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=","aibotid":"AIBOTID","chatid":"CHATID","chattype":"group","from":{"userid":"zhangsan"},"response_url":"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC","msgtype":"text","text":{"content":"@RobotA 完成 12"}}"#;

    /// A POST as WeCom would send it for `plaintext`.
    fn post(v: &WeComInbound, plaintext: &str) -> (String, String) {
        let r = v
            .encrypt(plaintext.as_bytes(), [7; 16], TS, "nonce1")
            .unwrap();
        let query = format!(
            "msg_signature={}&timestamp={}&nonce={}",
            r.msg_signature, r.timestamp, r.nonce
        );
        (
            query,
            serde_json::json!({ "encrypt": r.encrypt }).to_string(),
        )
    }

    #[test]
    fn documented_url_verification() {
        assert_eq!(signature(DOC_TOKEN, DOC_TS, DOC_NONCE, DOC_ECHO), DOC_SIG);
        let query = format!(
            "msg_signature={DOC_SIG}&timestamp={DOC_TS}&nonce={DOC_NONCE}&echostr={}",
            urlencode(DOC_ECHO)
        );
        assert_eq!(
            run(&doc(), "GET", &query, "", DOC_NOW_MS),
            Ok(Verdict::Challenge {
                content_type: "text/plain; charset=utf-8",
                body: b"5927782489442352469".to_vec(),
            })
        );
        // The same with a wrong nonce, as in wechatpy's failing case.
        let query = query.replace("nonce=437374425", "nonce=437374424");
        assert_eq!(
            run(&doc(), "GET", &query, "", DOC_NOW_MS),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn documented_encrypt_vector() {
        // wechatpy-rs / wechat-rust: key as above, random "1234567890123456", "test" for "rust".
        let v = WeComInbound {
            receive_id: Some("rust".into()),
            ..doc()
        };
        let r = v.encrypt(b"test", *b"1234567890123456", 0, "n").unwrap();
        assert_eq!(r.encrypt, "9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY=");
        assert_eq!(v.decrypt(&r.encrypt).unwrap(), b"test");
    }

    #[test]
    fn round_trip_text_message() {
        let (query, body) = post(&bot(), TEXT);
        let Ok(Verdict::Message(m)) = run(&bot(), "POST", &query, &body, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
        assert_eq!(m.text, "@RobotA 完成 12");
        assert_eq!(
            m.sender,
            Sender::WeCom {
                user_id: "zhangsan".into()
            }
        );
        let ReplyRoute::WeCom {
            response_url,
            chat_id,
            chat_type,
        } = m.reply
        else {
            panic!("wrong route")
        };
        assert_eq!(
            response_url.as_ref().map(Secret::expose),
            Some("https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC")
        );
        assert_eq!(chat_id.as_deref(), Some("CHATID"));
        assert_eq!(chat_type.as_deref(), Some("group"));
    }

    #[test]
    fn the_passive_reply_sends_its_timestamp_as_a_string_like_the_official_sample() {
        let r = bot()
            .encrypt(b"{\"msgtype\":\"text\"}", [1; 16], TS, "n2")
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
        assert_eq!(json["timestamp"], TS.to_string());
        assert_eq!(json["nonce"], "n2");
        assert_eq!(
            json["msgsignature"],
            signature("QDG6eK", &TS.to_string(), "n2", &r.encrypt)
        );
        assert_eq!(
            bot().decrypt(&r.encrypt).unwrap(),
            b"{\"msgtype\":\"text\"}"
        );
    }

    #[test]
    fn non_text_is_ignored() {
        let stream =
            r#"{"msgid":"m2","from":{"userid":"u"},"msgtype":"stream","stream":{"id":"s1"}}"#;
        let (query, body) = post(&bot(), stream);
        assert!(matches!(
            run(&bot(), "POST", &query, &body, NOW_MS),
            Ok(Verdict::Ignore(_))
        ));
    }

    #[test]
    fn refusals() {
        let (query, body) = post(&bot(), TEXT);
        // Tampered ciphertext.
        let other = post(&bot(), &TEXT.replace("完成 12", "完成 13")).1;
        assert_eq!(
            run(&bot(), "POST", &query, &other, NOW_MS),
            Err(Refusal::BadSignature)
        );
        // Wrong token; wrong key (same token): the signature still matches, decryption fails.
        let wrong_token = WeComInbound {
            token: Secret::new("other"),
            ..bot()
        };
        assert_eq!(
            run(&wrong_token, "POST", &query, &body, NOW_MS),
            Err(Refusal::BadSignature)
        );
        let wrong_key = WeComInbound {
            encoding_aes_key: Secret::new(DOC_KEY),
            ..bot()
        };
        assert!(matches!(
            run(&wrong_key, "POST", &query, &body, NOW_MS),
            Err(Refusal::BadCiphertext(_) | Refusal::WrongReceiver)
        ));
        // Another receiver id.
        let corp = WeComInbound {
            receive_id: Some(DOC_CORP.into()),
            ..bot()
        };
        assert_eq!(
            run(&corp, "POST", &query, &body, NOW_MS),
            Err(Refusal::WrongReceiver)
        );
        // Stale both ways.
        let ts_ms = TS * 1000;
        assert!(matches!(
            run(&bot(), "POST", &query, &body, ts_ms + 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: -3601,
                ..
            })
        ));
        assert!(matches!(
            run(&bot(), "POST", &query, &body, ts_ms - 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: 3601,
                ..
            })
        ));
        // Missing parameters.
        for name in ["msg_signature", "timestamp", "nonce"] {
            let q: Vec<&str> = query.split('&').filter(|p| !p.starts_with(name)).collect();
            assert_eq!(
                run(&bot(), "POST", &q.join("&"), &body, NOW_MS),
                Err(Refusal::MissingParam(name))
            );
        }
        let get = query.clone();
        assert_eq!(
            run(&bot(), "GET", &get, "", NOW_MS),
            Err(Refusal::MissingParam("echostr"))
        );
        // Signed but malformed: bad padding, bad length field, not JSON inside.
        let key = bot().key().unwrap();
        let sealed = |plain: &[u8]| {
            let c = aes256_cbc_encrypt(&key, &key[..16], plain).unwrap();
            let enc = base64_encode(&c);
            let q = format!(
                "msg_signature={}&timestamp={TS}&nonce=n",
                signature("QDG6eK", &TS.to_string(), "n", &enc)
            );
            (q, serde_json::json!({ "encrypt": enc }).to_string())
        };
        let (q, b) = sealed(&[0x21; 32]);
        assert_eq!(
            run(&bot(), "POST", &q, &b, NOW_MS),
            Err(Refusal::BadCiphertext("bad padding"))
        );
        let mut long_len = vec![0u8; 16];
        long_len.extend_from_slice(&1000u32.to_be_bytes());
        let (q, b) = sealed(&pad_pkcs7(long_len, 32));
        assert!(matches!(
            run(&bot(), "POST", &q, &b, NOW_MS),
            Err(Refusal::BadCiphertext(_))
        ));
        let (q, b) = post(&bot(), "not json");
        assert!(matches!(
            run(&bot(), "POST", &q, &b, NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            run(&bot(), "POST", &query, "{\"encrypt\":", NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            run(&bot(), "PUT", &query, &body, NOW_MS),
            Err(Refusal::MethodNotAllowed(_))
        ));
        let bad_key = WeComInbound {
            encoding_aes_key: Secret::new("short"),
            ..bot()
        };
        assert!(matches!(
            run(&bad_key, "POST", &query, &body, NOW_MS),
            Err(Refusal::Misconfigured(_))
        ));
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            query in "[ -~]{0,200}",
            now in any::<i64>(),
            get in any::<bool>(),
        ) {
            let h = HeaderMap::new();
            let req = Request { method: if get { "GET" } else { "POST" }, query: &query, headers: &h, body: &body };
            let _ = bot().verify_and_parse(&req, now);
        }

        #[test]
        fn signed_ciphertext_never_panics(cipher in proptest::collection::vec(any::<u8>(), 0..200)) {
            let enc = base64_encode(&cipher);
            let query = format!(
                "msg_signature={}&timestamp={TS}&nonce=n&echostr={}",
                signature("QDG6eK", &TS.to_string(), "n", &enc),
                urlencode(&enc)
            );
            let body = serde_json::json!({ "encrypt": enc }).to_string();
            let _ = run(&bot(), "POST", &query, &body, NOW_MS);
            let _ = run(&bot(), "GET", &query, "", NOW_MS);
        }

        #[test]
        fn round_trip_any_plaintext(plain in proptest::collection::vec(any::<u8>(), 0..300), random in any::<[u8; 16]>()) {
            let r = bot().encrypt(&plain, random, TS, "n").unwrap();
            prop_assert_eq!(bot().decrypt(&r.encrypt).unwrap(), plain);
        }
    }
}

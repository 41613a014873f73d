//! DingTalk enterprise-app robot, HTTP callback mode.
//!
//! Headers `timestamp` (ms) and `sign = base64(HMAC-SHA256(key = AppSecret, msg =
//! "{timestamp}\n{AppSecret}"))`, the timestamp within one hour of now.
//!
//! The signature covers only the timestamp, not the body: DingTalk's scheme proves that the
//! sender knew the AppSecret within the hour, and the body's integrity rests on HTTPS. So a
//! changed body with intact headers verifies; there is nothing in the request to detect it.
//! What weekbell adds on top:
//! - [`SignatureUse`]: the server remembers each accepted header pair with a digest of its body
//!   (in the store, so replicas share it) and refuses the pair with any other body. DingTalk's
//!   own retry, the same body, still passes, and the `msgId` dedupe answers it once;
//! - with the channel's `app_key` set, a message whose `robotCode` is not that AppKey is
//!   refused: for an app's robot the two are the same (the official SDKs send the Client ID as
//!   `robotCode` when they answer);
//! - the `sessionWebhook` an answer goes to is checked by the server against DingTalk's hosts
//!   (`platforms::dingtalk::session_webhook_refusal`).

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, check_fresh_ms, configured,
    int_at, need, parse_json, parse_timestamp, required_str, str_at, string_at,
};
use crate::config::{ChannelConfig, DingTalkSettings};
use crate::secret::Secret;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub const TIMESTAMP_HEADER: &str = "timestamp";
pub const SIGN_HEADER: &str = "sign";

/// DingTalk's documented window ("相差 1 小时以上").
pub const WINDOW_SECS: i64 = 3600;

/// How long an accepted header pair must be remembered: a timestamp is accepted from one
/// window before now to one window after, so the same pair can come back for twice the window.
pub const SIGNATURE_MEMORY_MS: i64 = 2 * WINDOW_SECS * 1000;

#[derive(Debug, Clone)]
pub struct DingTalkInbound {
    pub app_secret: Secret,
    /// The app's AppKey (Client ID); when set, a message's `robotCode` must be this.
    pub app_key: Option<String>,
}

impl DingTalkInbound {
    pub fn new(app_secret: Secret) -> Self {
        DingTalkInbound {
            app_secret,
            app_key: None,
        }
    }

    /// Refuses messages for any robot but `app_key`'s (blank: no check).
    pub fn for_app(mut self, app_key: &str) -> Self {
        let app_key = app_key.trim();
        self.app_key = (!app_key.is_empty()).then(|| app_key.to_string());
        self
    }

    pub fn verify_and_parse(&self, req: &Request, now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        self.verify(req, now_ms)?;
        let verdict = parse_message(req.body)?;
        if let (Some(app_key), Verdict::Message(message)) = (&self.app_key, &verdict) {
            let robot_code = match &message.reply {
                ReplyRoute::DingTalk { robot_code, .. } => robot_code.as_deref(),
                _ => None,
            };
            match robot_code {
                Some(code) if code == app_key => {}
                Some(_) => {
                    return Err(Refusal::ForAnotherApp(format!(
                        "robotCode is not this channel's app_key {app_key}"
                    )));
                }
                None => {
                    return Err(Refusal::ForAnotherApp(
                        "robotCode is missing, and this channel has an app_key".into(),
                    ));
                }
            }
        }
        Ok(verdict)
    }

    fn verify(&self, req: &Request, now_ms: i64) -> Result<(), Refusal> {
        let secret = configured(Some(&self.app_secret))
            .ok_or(Refusal::Misconfigured("DingTalk AppSecret"))?;
        let ts_raw = req.required_header(TIMESTAMP_HEADER)?;
        let sign = req.required_header(SIGN_HEADER)?;
        let ts = parse_timestamp(ts_raw, TIMESTAMP_HEADER)?;
        check_fresh_ms(ts, now_ms, WINDOW_SECS)?;
        let given = base64::engine::general_purpose::STANDARD
            .decode(sign)
            .map_err(|_| Refusal::BadSignature)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .map_err(|_| Refusal::Misconfigured("DingTalk AppSecret is not a usable key"))?;
        mac.update(ts_raw.as_bytes());
        mac.update(b"\n");
        mac.update(secret.as_bytes());
        mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)
    }
}

/// One use of a header pair: what the server remembers to bind the pair to its first body.
/// Digests only: the stored rows hold neither the signature (a credential for the hour) nor
/// the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureUse {
    /// Hex SHA-256 of `timestamp`, a newline and `sign`, as sent.
    pub signature: String,
    /// Hex SHA-256 of the raw body.
    pub body_sha256: String,
}

impl SignatureUse {
    /// `None` when either header is missing (the verifier refuses such a request anyway).
    pub fn of(req: &Request) -> Option<SignatureUse> {
        let ts = req.header(TIMESTAMP_HEADER).ok().flatten()?;
        let sign = req.header(SIGN_HEADER).ok().flatten()?;
        let signature = Sha256::new()
            .chain_update(ts.as_bytes())
            .chain_update(b"\n")
            .chain_update(sign.as_bytes())
            .finalize();
        Some(SignatureUse {
            signature: hex::encode(signature),
            body_sha256: hex::encode(Sha256::digest(req.body)),
        })
    }

    /// `Ok` when `first_body_sha256`, the body this pair was first accepted with, is this
    /// request's: a retry of the same message.
    pub fn check(&self, first_body_sha256: &str) -> Result<(), Refusal> {
        if self.body_sha256 == first_body_sha256 {
            Ok(())
        } else {
            Err(Refusal::ReplayedSignature)
        }
    }
}

/// The `sign` header DingTalk sends with `timestamp_ms`; for tests and local tools.
pub fn sign(app_secret: &str, timestamp_ms: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp_ms}\n{app_secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Reads the robot message JSON (also the `data` of a Stream-mode frame) without any check of
/// where it came from.
pub(crate) fn parse_message(body: &[u8]) -> Result<Verdict, Refusal> {
    let msg = parse_json(body, "DingTalk message")?;
    if !msg.is_object() {
        return Err(Refusal::Malformed(
            "DingTalk message is not an object".into(),
        ));
    }
    let message_id = required_str(&msg, &["msgId"])?;
    if str_at(&msg, &["msgtype"]) != Some("text") {
        return Ok(Verdict::Ignore("dingtalk message other than text"));
    }
    let text = msg
        .get("text")
        .and_then(|t| t.get("content"))
        .and_then(|c| c.as_str())
        .ok_or_else(|| Refusal::Malformed("field `text.content` is missing".into()))?
        .to_string();
    let sender_id = required_str(&msg, &["senderId"])?;
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::DingTalk {
            staff_id: string_at(&msg, &["senderStaffId"]),
            sender_id,
        },
        sender_name: string_at(&msg, &["senderNick"]),
        text,
        reply: ReplyRoute::DingTalk {
            session_webhook: string_at(&msg, &["sessionWebhook"]).map(Secret::new),
            session_webhook_expires_at_ms: int_at(&msg, &["sessionWebhookExpiredTime"]),
            conversation_id: string_at(&msg, &["conversationId"]),
            conversation_type: string_at(&msg, &["conversationType"]),
            robot_code: string_at(&msg, &["robotCode"]),
        },
        retry: false,
    }))
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &DingTalkSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    DingTalkInbound::new(need(&settings.app_secret)?)
        .for_app(settings.app_key.as_ref().map_or("", Secret::expose))
        .verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    const SECRET: &str = "SEC2b1f0c5e8a9d4f7b3c6e1a0d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d";
    const TS: &str = "1764918000000";
    const NOW_MS: i64 = 1_764_918_000_000 + 5_000;

    // Shaped like the official "接收消息" example.
    const BODY: &str = r#"{
        "conversationId": "cid6KeBBLoveMJOGXoYKF5x7EeiodoA==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$Bot", "staffId": ""}],
        "chatbotCorpId": "dinge8a565xxxx",
        "chatbotUserId": "$:LWCP_v1:$Bot",
        "msgId": "msgdsiw8Yz1hxGhBPiHI0QZKQ==",
        "senderNick": "张三",
        "isAdmin": false,
        "senderStaffId": "manager7675",
        "sessionWebhookExpiredTime": 1764923400000,
        "createAt": 1764918000000,
        "senderCorpId": "dinge8a565xxxx",
        "conversationType": "2",
        "senderId": "$:LWCP_v1:$ABCdef==",
        "conversationTitle": "项目组",
        "isInAtList": true,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=c2e0a5",
        "text": {"content": " 完成 12"},
        "robotCode": "dingrobot123",
        "msgtype": "text"
    }"#;

    fn inbound() -> DingTalkInbound {
        DingTalkInbound::new(Secret::new(SECRET))
    }

    fn run(h: &HeaderMap, body: &str, now_ms: i64) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers: h,
            body: body.as_bytes(),
        };
        inbound().verify_and_parse(&req, now_ms)
    }

    fn signed(ts: &str) -> HeaderMap {
        headers(&[(TIMESTAMP_HEADER, ts), (SIGN_HEADER, &sign(SECRET, ts))])
    }

    #[test]
    fn sign_known_answer() {
        // No worked example in DingTalk's docs; cross-checked with Python:
        //   base64.b64encode(hmac.new(secret, f"{ts}\n{secret}".encode(), sha256).digest())
        // It is the same construction as the outbound 加签, whose test has the same vector.
        assert_eq!(
            sign(SECRET, TS),
            "csdRKV/zUXe8P7G0dV7IjhJ2l5oGSnD97KqnUaVAgWg="
        );
    }

    #[test]
    fn text_message_parses() {
        let h = headers(&[
            (TIMESTAMP_HEADER, TS),
            (SIGN_HEADER, "csdRKV/zUXe8P7G0dV7IjhJ2l5oGSnD97KqnUaVAgWg="),
        ]);
        let Ok(Verdict::Message(m)) = run(&h, BODY, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "msgdsiw8Yz1hxGhBPiHI0QZKQ==");
        assert_eq!(m.text, " 完成 12");
        assert_eq!(m.sender_name.as_deref(), Some("张三"));
        assert_eq!(m.sender.ids(), vec!["manager7675", "$:LWCP_v1:$ABCdef=="]);
        let ReplyRoute::DingTalk {
            session_webhook,
            session_webhook_expires_at_ms,
            conversation_id,
            conversation_type,
            robot_code,
        } = m.reply
        else {
            panic!("wrong route")
        };
        assert_eq!(
            session_webhook.as_ref().map(Secret::expose),
            Some("https://oapi.dingtalk.com/robot/sendBySession?session=c2e0a5")
        );
        assert_eq!(session_webhook_expires_at_ms, Some(1_764_923_400_000));
        assert_eq!(
            conversation_id.as_deref(),
            Some("cid6KeBBLoveMJOGXoYKF5x7EeiodoA==")
        );
        assert_eq!(conversation_type.as_deref(), Some("2"));
        assert_eq!(robot_code.as_deref(), Some("dingrobot123"));
    }

    #[test]
    fn external_sender_has_no_staff_id() {
        let body = BODY.replace(r#""senderStaffId": "manager7675","#, "");
        let Ok(Verdict::Message(m)) = run(&signed(TS), &body, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.sender.ids(), vec!["$:LWCP_v1:$ABCdef=="]);
    }

    #[test]
    fn non_text_is_ignored() {
        let body = r#"{"msgId":"m1","msgtype":"picture","senderId":"s","content":{}}"#;
        assert!(matches!(
            run(&signed(TS), body, NOW_MS),
            Ok(Verdict::Ignore(_))
        ));
    }

    #[test]
    fn refusals() {
        // Wrong secret.
        let h = headers(&[
            (TIMESTAMP_HEADER, TS),
            (SIGN_HEADER, &sign("another-secret", TS)),
        ]);
        assert_eq!(run(&h, BODY, NOW_MS), Err(Refusal::BadSignature));
        // A sign made for another timestamp.
        let h = headers(&[
            (TIMESTAMP_HEADER, TS),
            (SIGN_HEADER, &sign(SECRET, "1764918000001")),
        ]);
        assert_eq!(run(&h, BODY, NOW_MS), Err(Refusal::BadSignature));
        // Not base64.
        let h = headers(&[(TIMESTAMP_HEADER, TS), (SIGN_HEADER, "not base64!")]);
        assert_eq!(run(&h, BODY, NOW_MS), Err(Refusal::BadSignature));
        // Stale both ways, just past the hour.
        let ts_ms = 1_764_918_000_000;
        assert!(matches!(
            run(&signed(TS), BODY, ts_ms + 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: -3601,
                ..
            })
        ));
        assert!(matches!(
            run(&signed(TS), BODY, ts_ms - 3_601_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: 3601,
                ..
            })
        ));
        assert!(run(&signed(TS), BODY, ts_ms + 3_600_000).is_ok());
        // Seconds instead of milliseconds read as a 1970 time.
        assert!(matches!(
            run(&signed("1764918000"), BODY, NOW_MS),
            Err(Refusal::StaleTimestamp { .. })
        ));
        // Missing headers.
        let h = headers(&[(TIMESTAMP_HEADER, TS)]);
        assert_eq!(
            run(&h, BODY, NOW_MS),
            Err(Refusal::MissingHeader(SIGN_HEADER))
        );
        let h = headers(&[(SIGN_HEADER, &sign(SECRET, TS))]);
        assert_eq!(
            run(&h, BODY, NOW_MS),
            Err(Refusal::MissingHeader(TIMESTAMP_HEADER))
        );
        // Good headers, malformed bodies.
        for body in [
            "{\"msgId\": ",
            "[]",
            r#"{"msgtype":"text","text":{"content":"x"},"senderId":"s"}"#,
            r#"{"msgId":"m","msgtype":"text","senderId":"s"}"#,
            r#"{"msgId":"m","msgtype":"text","text":{"content":"x"}}"#,
        ] {
            assert!(
                matches!(run(&signed(TS), body, NOW_MS), Err(Refusal::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn the_body_is_not_covered_by_the_signature() {
        // Documents DingTalk's scheme rather than endorsing it: the verifier alone cannot tell,
        // which is why the server binds each header pair to its first body (`SignatureUse`).
        let tampered = BODY.replace("完成 12", "完成 13");
        let Ok(Verdict::Message(m)) = run(&signed(TS), &tampered, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.text, " 完成 13");
    }

    #[test]
    fn a_message_for_another_robot_is_refused_when_the_app_is_known() {
        let run_for = |app_key: &str, body: &str| {
            let h = signed(TS);
            let req = Request {
                method: "POST",
                query: "",
                headers: &h,
                body: body.as_bytes(),
            };
            inbound().for_app(app_key).verify_and_parse(&req, NOW_MS)
        };
        assert!(matches!(
            run_for("dingrobot123", BODY),
            Ok(Verdict::Message(_))
        ));
        assert!(matches!(
            run_for("dingotherapp", BODY),
            Err(Refusal::ForAnotherApp(_))
        ));
        let without = BODY.replace(r#""robotCode": "dingrobot123","#, "");
        assert!(matches!(
            run_for("dingrobot123", &without),
            Err(Refusal::ForAnotherApp(_))
        ));
        // No app known: no check, as before.
        assert!(matches!(run_for("  ", &without), Ok(Verdict::Message(_))));
        // Not a text message: nothing is run, nothing to check.
        let picture = r#"{"msgId":"m1","msgtype":"picture","senderId":"s","content":{}}"#;
        assert!(matches!(
            run_for("dingrobot123", picture),
            Ok(Verdict::Ignore(_))
        ));
    }

    #[test]
    fn a_header_pair_is_bound_to_its_first_body_only() {
        let h = signed(TS);
        let use_of = |body: &str| {
            SignatureUse::of(&Request {
                method: "POST",
                query: "",
                headers: &h,
                body: body.as_bytes(),
            })
        };
        let (Some(first), Some(retry)) = (use_of(BODY), use_of(BODY)) else {
            panic!("no signature use")
        };
        let tampered = BODY.replace("manager7675", "admin0001");
        let Some(replay) = use_of(&tampered) else {
            panic!("no signature use")
        };
        assert_eq!(first.signature, replay.signature);
        assert_eq!(retry.check(&first.body_sha256), Ok(()));
        assert_eq!(
            replay.check(&first.body_sha256),
            Err(Refusal::ReplayedSignature)
        );
        // Another pair is another key; the stored form holds no header value.
        let Some(other) = SignatureUse::of(&Request {
            method: "POST",
            query: "",
            headers: &signed("1764918000001"),
            body: BODY.as_bytes(),
        }) else {
            panic!("no signature use")
        };
        assert_ne!(other.signature, first.signature);
        assert!(!first.signature.contains(TS) && first.signature.len() == 64);
        let no_sign = headers(&[(TIMESTAMP_HEADER, TS)]);
        let req = Request {
            method: "POST",
            query: "",
            headers: &no_sign,
            body: BODY.as_bytes(),
        };
        assert_eq!(SignatureUse::of(&req), None);
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            ts in "[0-9a-z\\-]{0,24}",
            sig in "[ -~]{0,64}",
            now in any::<i64>(),
            sign_it in any::<bool>(),
        ) {
            let sig = if sign_it { sign(SECRET, &ts) } else { sig };
            let h = headers(&[(TIMESTAMP_HEADER, &ts), (SIGN_HEADER, &sig)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = inbound().verify_and_parse(&req, now);
        }

        #[test]
        fn signed_json_never_panics(json in "[{}\\[\\]\":,a-zA-Z0-9 ]{0,200}") {
            let _ = run(&signed(TS), &json, NOW_MS);
        }
    }
}

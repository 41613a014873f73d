//! Slack: slash commands (form-encoded) and the Events API (JSON), both signed with the
//! app's signing secret.
//!
//! `X-Slack-Signature: v0=hex(HMAC-SHA256(signing_secret, "v0:{X-Slack-Request-Timestamp}:{body}"))`,
//! with the timestamp within 5 minutes of now.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, check_fresh_ms, configured,
    form_get, need, parse_form, parse_json, parse_timestamp, required_str, secs_to_ms, str_at,
    string_at,
};
use crate::config::{ChannelConfig, SlackSettings};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const RETRY_HEADER: &str = "x-slack-retry-num";

/// Slack's documented replay window.
pub const WINDOW_SECS: i64 = 300;

#[derive(Debug, Clone)]
pub struct SlackInbound {
    pub signing_secret: Secret,
}

impl SlackInbound {
    pub fn new(signing_secret: Secret) -> Self {
        SlackInbound { signing_secret }
    }

    pub fn verify_and_parse(&self, req: &Request, now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        self.verify(req, now_ms)?;
        let retry = req.header(RETRY_HEADER)?.is_some();
        // The signature covers the body whatever its type, so the content type only picks the
        // parser. Slack sends commands as a form and events as JSON.
        let trimmed = req.body.trim_ascii_start();
        if trimmed.first() == Some(&b'{') {
            parse_event(req.body, retry)
        } else {
            parse_command(req.body, retry)
        }
    }

    fn verify(&self, req: &Request, now_ms: i64) -> Result<(), Refusal> {
        let secret = configured(Some(&self.signing_secret))
            .ok_or(Refusal::Misconfigured("Slack signing secret"))?;
        let ts_raw = req.required_header(TIMESTAMP_HEADER)?;
        let signature = req.required_header(SIGNATURE_HEADER)?;
        let ts = parse_timestamp(ts_raw, TIMESTAMP_HEADER)?;
        check_fresh_ms(secs_to_ms(ts), now_ms, WINDOW_SECS)?;
        let given = signature
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(Refusal::BadSignature)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
            .map_err(|_| Refusal::Misconfigured("Slack signing secret is not a usable key"))?;
        mac.update(b"v0:");
        mac.update(ts_raw.as_bytes());
        mac.update(b":");
        mac.update(req.body);
        mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)
    }
}

/// The inline answer to a slash command: shown to the whole channel, or only to the person
/// who typed it when `ephemeral` (Slack's default for a slash command's answer, and what it
/// shows as "Only visible to you"). `mrkdwn` is Slack markup already; plain text must be
/// escaped with [`escape`] first.
pub fn command_answer(mrkdwn: &str, ephemeral: bool) -> serde_json::Value {
    let response_type = if ephemeral { "ephemeral" } else { "in_channel" };
    serde_json::json!({ "response_type": response_type, "text": mrkdwn })
}

/// Plain text made safe for mrkdwn: Slack reads `&`, `<` and `>` as markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `v0=…` for a body, as Slack computes it; for tests and local tools that play Slack.
pub fn signature(signing_secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn parse_command(body: &[u8], retry: bool) -> Result<Verdict, Refusal> {
    let form = parse_form(body)?;
    // Slack probes a command's URL now and then with `ssl_check=1` and no command.
    if form_get(&form, "ssl_check").is_some() && form_get(&form, "command").is_none() {
        return Ok(Verdict::Ignore("slack ssl_check probe"));
    }
    command_from(|key| form_get(&form, key), retry)
}

/// A slash command from its fields: the HTTP form's, or the JSON `payload` of a Socket Mode
/// `slash_commands` envelope (the same names). `get` answers `None` for absent or blank.
pub(crate) fn command_from<'f>(
    get: impl Fn(&str) -> Option<&'f str>,
    retry: bool,
) -> Result<Verdict, Refusal> {
    let required = |key: &'static str| {
        get(key)
            .map(str::to_string)
            .ok_or_else(|| Refusal::Malformed(format!("slash command field `{key}` is missing")))
    };
    let message_id = required("trigger_id")?;
    let user_id = required("user_id")?;
    let channel_id = required("channel_id")?;
    let response_url = required("response_url")?;
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::Slack {
            user_id,
            team_id: get("team_id").map(str::to_string),
        },
        sender_name: get("user_name").map(str::to_string),
        // `text` is what follows the command word and is empty for a bare `/weekbell`.
        text: get("text").unwrap_or_default().to_string(),
        reply: ReplyRoute::SlackCommand {
            response_url: Secret::new(response_url),
            channel_id,
        },
        retry,
    }))
}

fn parse_event(body: &[u8], retry: bool) -> Result<Verdict, Refusal> {
    event_from(&parse_json(body, "Slack event")?, retry)
}

/// An Events API payload: the HTTP body, or the `payload` of a Socket Mode `events_api`
/// envelope.
pub(crate) fn event_from(payload: &serde_json::Value, retry: bool) -> Result<Verdict, Refusal> {
    match str_at(payload, &["type"]) {
        Some("url_verification") => {
            let challenge = required_str(payload, &["challenge"])?;
            Ok(Verdict::Challenge {
                content_type: "text/plain; charset=utf-8",
                body: challenge.into_bytes(),
            })
        }
        Some("event_callback") => parse_callback(payload, retry),
        Some(_) => Ok(Verdict::Ignore(
            "slack payload type other than event_callback",
        )),
        None => Err(Refusal::Malformed("Slack payload has no `type`".into())),
    }
}

fn parse_callback(payload: &serde_json::Value, retry: bool) -> Result<Verdict, Refusal> {
    let Some(event) = payload.get("event").filter(|e| e.is_object()) else {
        return Err(Refusal::Malformed("event_callback without `event`".into()));
    };
    let kind = str_at(event, &["type"]);
    match kind {
        Some("app_mention") => {}
        // In channels every message arrives as `message` when the app subscribes to
        // `message.channels`; only direct messages are commands, mentions come as
        // `app_mention`. Answering every channel message would flood it with help texts.
        Some("message") if str_at(event, &["channel_type"]) == Some("im") => {}
        Some("message") => return Ok(Verdict::Ignore("slack channel message without a mention")),
        _ => return Ok(Verdict::Ignore("slack event other than a message")),
    }
    // Edits, deletions, joins and bot posts come as subtypes; our own replies carry `bot_id`.
    if event.get("bot_id").is_some_and(|b| !b.is_null()) {
        return Ok(Verdict::Ignore("slack message from a bot"));
    }
    if str_at(event, &["subtype"]).is_some() {
        return Ok(Verdict::Ignore("slack message subtype (edit, join, bot …)"));
    }
    let user_id = required_str(event, &["user"])?;
    // The app's own bot user, as `authorizations` names it: a reply of ours seen again.
    let own = payload
        .get("authorizations")
        .and_then(|a| a.as_array())
        .is_some_and(|all| {
            all.iter().any(|a| {
                a.get("is_bot").and_then(|b| b.as_bool()) == Some(true)
                    && str_at(a, &["user_id"]) == Some(user_id.as_str())
            })
        });
    if own {
        return Ok(Verdict::Ignore(
            "slack message from this app's own bot user",
        ));
    }
    let channel_id = required_str(event, &["channel"])?;
    let ts = required_str(event, &["ts"])?;
    // One message can arrive as several events (`app_mention` and `message.im`, or a
    // redelivery under a new `event_id`), but its channel and `ts` never change.
    let message_id = format!("{channel_id}:{ts}");
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::Slack {
            user_id,
            team_id: string_at(payload, &["team_id"]),
        },
        sender_name: None,
        text: event
            .get("text")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string(),
        reply: ReplyRoute::SlackChannel {
            channel_id,
            ts,
            thread_ts: string_at(event, &["thread_ts"]),
        },
        retry,
    }))
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &SlackSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    SlackInbound::new(need(&settings.signing_secret)?).verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    // Slack's own example from "Verifying requests from Slack".
    const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TS: &str = "1531420618";
    const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const DOC_NOW_MS: i64 = 1_531_420_618_000 + 10_000;

    fn inbound() -> SlackInbound {
        SlackInbound::new(Secret::new(DOC_SECRET))
    }

    fn signed(ts: &str, body: &str) -> HeaderMap {
        headers(&[
            (TIMESTAMP_HEADER, ts),
            (
                SIGNATURE_HEADER,
                &signature(DOC_SECRET, ts, body.as_bytes()),
            ),
        ])
    }

    fn run(headers: &HeaderMap, body: &str, now_ms: i64) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers,
            body: body.as_bytes(),
        };
        inbound().verify_and_parse(&req, now_ms)
    }

    #[test]
    fn documented_example_verifies_and_parses() {
        assert_eq!(signature(DOC_SECRET, DOC_TS, DOC_BODY.as_bytes()), DOC_SIG);
        let h = headers(&[(TIMESTAMP_HEADER, DOC_TS), (SIGNATURE_HEADER, DOC_SIG)]);
        let Ok(Verdict::Message(m)) = run(&h, DOC_BODY, DOC_NOW_MS) else {
            panic!("the documented request was refused")
        };
        assert_eq!(
            m.message_id,
            "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
        );
        assert_eq!(
            m.sender,
            Sender::Slack {
                user_id: "U2CERLKJA".into(),
                team_id: Some("T1DC2JH3J".into())
            }
        );
        assert_eq!(m.sender_name.as_deref(), Some("roadrunner"));
        assert_eq!(m.text, "");
        assert!(!m.retry);
        let ReplyRoute::SlackCommand {
            response_url,
            channel_id,
        } = m.reply
        else {
            panic!("wrong route")
        };
        assert_eq!(channel_id, "G8PSS9T3V");
        assert_eq!(
            response_url.expose(),
            "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
        );
    }

    #[test]
    fn command_text_is_decoded() {
        let body = "command=%2Fweekbell&text=%E5%AE%8C%E6%88%90+12&user_id=U1&channel_id=C1\
                    &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2Fx&trigger_id=t.1";
        let Ok(Verdict::Message(m)) = run(&signed(DOC_TS, body), body, DOC_NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.text, "完成 12");
        assert_eq!(m.message_id, "t.1");
        assert_eq!(m.sender_name, None);
    }

    #[test]
    fn refusals() {
        let h = headers(&[(TIMESTAMP_HEADER, DOC_TS), (SIGNATURE_HEADER, DOC_SIG)]);
        // Tampered body.
        let tampered = DOC_BODY.replace("text=", "text=done+1");
        assert_eq!(run(&h, &tampered, DOC_NOW_MS), Err(Refusal::BadSignature));
        // Wrong secret.
        let wrong = SlackInbound::new(Secret::new("another-secret"));
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: DOC_BODY.as_bytes(),
        };
        assert_eq!(
            wrong.verify_and_parse(&req, DOC_NOW_MS),
            Err(Refusal::BadSignature)
        );
        // Stale, both ways, just past the 5 minutes.
        let ts_ms = 1_531_420_618_000;
        assert!(matches!(
            run(&h, DOC_BODY, ts_ms + 301_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: -301,
                ..
            })
        ));
        assert!(matches!(
            run(&h, DOC_BODY, ts_ms - 301_000),
            Err(Refusal::StaleTimestamp { skew_secs: 301, .. })
        ));
        assert!(run(&h, DOC_BODY, ts_ms + 300_000).is_ok());
        // Missing headers.
        let only_ts = headers(&[(TIMESTAMP_HEADER, DOC_TS)]);
        assert_eq!(
            run(&only_ts, DOC_BODY, DOC_NOW_MS),
            Err(Refusal::MissingHeader(SIGNATURE_HEADER))
        );
        let only_sig = headers(&[(SIGNATURE_HEADER, DOC_SIG)]);
        assert_eq!(
            run(&only_sig, DOC_BODY, DOC_NOW_MS),
            Err(Refusal::MissingHeader(TIMESTAMP_HEADER))
        );
        // Not hex, or another version.
        let v1 = headers(&[
            (TIMESTAMP_HEADER, DOC_TS),
            (SIGNATURE_HEADER, &DOC_SIG.replace("v0=", "v1=")),
        ]);
        assert_eq!(run(&v1, DOC_BODY, DOC_NOW_MS), Err(Refusal::BadSignature));
        // A signed but malformed body.
        let bad_json = "{\"type\": \"event_callback\", ";
        assert!(matches!(
            run(&signed(DOC_TS, bad_json), bad_json, DOC_NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        let bad_form = "text=%E5%AE&user_id=U1";
        assert!(matches!(
            run(&signed(DOC_TS, bad_form), bad_form, DOC_NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        let no_user = "text=hi&channel_id=C&response_url=u&trigger_id=t";
        assert!(matches!(
            run(&signed(DOC_TS, no_user), no_user, DOC_NOW_MS),
            Err(Refusal::Malformed(_))
        ));
        // Wrong method; blank secret.
        let req = Request {
            method: "GET",
            query: "",
            headers: &h,
            body: DOC_BODY.as_bytes(),
        };
        assert!(matches!(
            inbound().verify_and_parse(&req, DOC_NOW_MS),
            Err(Refusal::MethodNotAllowed(_))
        ));
        let blank = SlackInbound::new(Secret::new(" "));
        let req = Request {
            method: "POST",
            ..req
        };
        assert!(matches!(
            blank.verify_and_parse(&req, DOC_NOW_MS),
            Err(Refusal::Misconfigured(_))
        ));
    }

    #[test]
    fn url_verification_echoes_the_challenge() {
        let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        assert_eq!(
            run(&signed(DOC_TS, body), body, DOC_NOW_MS),
            Ok(Verdict::Challenge {
                content_type: "text/plain; charset=utf-8",
                body: b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".to_vec(),
            })
        );
    }

    #[test]
    fn app_mention_becomes_a_message() {
        let body = r#"{"token":"x","team_id":"T1","type":"event_callback","event_id":"Ev1",
            "event":{"type":"app_mention","user":"U1","text":"<@UBOT> done 12","ts":"1700000000.000100",
                     "channel":"C1","event_ts":"1700000000.000100"}}"#;
        let mut h = signed(DOC_TS, body);
        h.insert(RETRY_HEADER, "1".parse().unwrap());
        let Ok(Verdict::Message(m)) = run(&h, body, DOC_NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "C1:1700000000.000100");
        assert_eq!(m.text, "<@UBOT> done 12");
        assert!(m.retry);
        assert_eq!(
            m.reply,
            ReplyRoute::SlackChannel {
                channel_id: "C1".into(),
                ts: "1700000000.000100".into(),
                thread_ts: None
            }
        );
    }

    #[test]
    fn bots_edits_and_channel_chatter_are_ignored() {
        for event in [
            r#"{"type":"app_mention","user":"U1","text":"x","ts":"1","channel":"C1","bot_id":"B1"}"#,
            r#"{"type":"message","subtype":"message_changed","channel":"D1","channel_type":"im","ts":"1"}"#,
            r#"{"type":"message","user":"U1","text":"hi","ts":"1","channel":"C1","channel_type":"channel"}"#,
            r#"{"type":"reaction_added","user":"U1"}"#,
        ] {
            let body = format!(r#"{{"type":"event_callback","event":{event}}}"#);
            assert!(
                matches!(
                    run(&signed(DOC_TS, &body), &body, DOC_NOW_MS),
                    Ok(Verdict::Ignore(_))
                ),
                "{event}"
            );
        }
        let own = r#"{"type":"event_callback","authorizations":[{"team_id":"T1","user_id":"UBOT","is_bot":true}],
            "event":{"type":"app_mention","user":"UBOT","text":"<@UBOT> hi","ts":"3","channel":"C1"}}"#;
        assert!(matches!(
            run(&signed(DOC_TS, own), own, DOC_NOW_MS),
            Ok(Verdict::Ignore(_))
        ));
        let dm = r#"{"type":"event_callback","event":{"type":"message","user":"U1","text":"list","ts":"2","channel":"D1","channel_type":"im"}}"#;
        assert!(matches!(
            run(&signed(DOC_TS, dm), dm, DOC_NOW_MS),
            Ok(Verdict::Message(_))
        ));
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
            let sig = if sign_it { signature(DOC_SECRET, &ts, &body) } else { sig };
            let h = headers(&[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &sig)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = inbound().verify_and_parse(&req, now);
        }

        #[test]
        fn signed_text_never_panics(text in "\\PC{0,200}", json in any::<bool>()) {
            let body = if json {
                format!(r#"{{"type":"event_callback","event":{{"type":"app_mention","user":"U","ts":"1","channel":"C","text":{}}}}}"#,
                    serde_json::Value::String(text.clone()))
            } else {
                format!("text={text}&user_id=U&channel_id=C&response_url=u&trigger_id=t")
            };
            let _ = run(&signed(DOC_TS, &body), &body, DOC_NOW_MS);
        }
    }
}

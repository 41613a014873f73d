//! Google Chat incoming webhook: outbound wire format.
//!
//! A plain text message, `{"text": …}`, in Chat's own syntax. A `cardsV2` card would hold more
//! per message (the card counts against the 32,000-byte message limit, not the 4,096-character
//! text limit), but @mentions notify only from `text`, and reminders are mostly mentions; text
//! also reads the same as what people type in Chat, and a long digest is simply split.

use super::driver::{Driver, documented};
use super::{
    DEFAULT_WAIT, MAX_WAIT, PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, by_status,
    json_body, json_headers, webhook_url, with_quote, without_code,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

pub(super) const DIALECT: Dialect = Dialect::GoogleChatText;

/// Chat refuses text over 4,096 characters ("Message is longer than 4096 characters",
/// INVALID_ARGUMENT); 96 spare keep clear of it.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Chars(4_000);

/// A whole message, cards included, may be at most 32,000 bytes.
pub(super) const BODY_LIMIT: usize = 32_000;

/// `<users/123>` by the numeric user id; the `googlechat` handle may be written with or
/// without its `users/` prefix, as Chat shows it in `user.name`.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = person.handle(Platform::Googlechat)?.trim();
    let id = handle.strip_prefix("users/").unwrap_or(handle);
    crate::types::is_safe_handle(id).then(|| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(id.to_string()),
        mobile: None,
    })
}

pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. No signing: the `key` and `token` query parameters are
// the credential.

/// 60 writes a minute per space, shared by every app and webhook in it (Chat API usage
/// limits); more gets RESOURCE_EXHAUSTED.
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(60, Duration::from_secs(60));

const WEBHOOK_HINT: &str = "in Google Chat, open the space's Apps & integrations → Webhooks, \
    create a webhook and put its whole URL (with `key` and `token`) in `webhook`";

/// Every reply of the webhook: HTTP 200 with the created Message on success; otherwise a Google
/// JSON error, `{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT"}}`, whose
/// `status` (a google.rpc.Code name) decides.
///
/// Sources: the Chat API reference (spaces.messages.create; usage limits: 60 writes a minute
/// per space), Google's API error model (google.rpc.Code and its HTTP mapping), and replies
/// quoted in public issues ("Message is longer than 4096 characters", mr-karan/calert#11;
/// RESOURCE_EXHAUSTED on bursts, TwiN/gatus#1607).
pub(super) const REPLIES: &[ReplyRow<&str>] = &[
    ReplyRow {
        code: "OK",
        platform_message: "HTTP 200 with the Message resource",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: "INVALID_ARGUMENT",
        platform_message: "HTTP 400, e.g. Message is longer than 4096 characters; API key not \
                           valid. Please pass a valid API key.",
        verdict: ReplyVerdict::Permanent,
        reason: "Google Chat refused the message as invalid",
        hint: "if Google's message is about the API key, put the webhook's whole URL in \
               `webhook` again; if it is about length, set a smaller `max_message_size`; \
               otherwise this is a weekbell bug: please report it",
    },
    ReplyRow {
        code: "FAILED_PRECONDITION",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Google Chat cannot post into this space in its current state",
        hint: "check that the space still exists and allows webhooks, then create a new \
               webhook if needed",
    },
    ReplyRow {
        code: "UNAUTHENTICATED",
        platform_message: "HTTP 401",
        verdict: ReplyVerdict::Permanent,
        reason: "Google Chat does not accept this webhook's key or token",
        hint: WEBHOOK_HINT,
    },
    ReplyRow {
        code: "PERMISSION_DENIED",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "Google Chat refused the webhook: it was removed from the space, or the space \
                 no longer allows webhooks",
        hint: WEBHOOK_HINT,
    },
    ReplyRow {
        code: "NOT_FOUND",
        platform_message: "HTTP 404",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Google Chat space no longer exists",
        hint: WEBHOOK_HINT,
    },
    ReplyRow {
        code: "RESOURCE_EXHAUSTED",
        platform_message: "HTTP 429",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Google Chat is rate-limiting this space (60 messages a minute, shared by \
                 every app and webhook in it)",
        hint: "",
    },
    ReplyRow {
        code: "ABORTED",
        platform_message: "HTTP 409",
        verdict: ReplyVerdict::Retry,
        reason: "Google Chat aborted the request because of a conflict",
        hint: "",
    },
    ReplyRow {
        code: "INTERNAL",
        platform_message: "HTTP 500",
        verdict: ReplyVerdict::Retry,
        reason: "Google Chat had an internal error",
        hint: "",
    },
    ReplyRow {
        code: "UNAVAILABLE",
        platform_message: "HTTP 503",
        verdict: ReplyVerdict::Retry,
        reason: "Google Chat is unavailable",
        hint: "",
    },
    ReplyRow {
        code: "DEADLINE_EXCEEDED",
        platform_message: "HTTP 504",
        verdict: ReplyVerdict::Retry,
        reason: "Google Chat did not finish the request in time",
        hint: "",
    },
];

/// `POST <webhook>` with `{"text": …}`.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    _now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = webhook_url(channel)?;
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&request_body(part))?,
    })
}

/// A 2xx carrying the created message (its `name`) is sent; a Google error is looked up by its
/// `status` in [`REPLIES`]; a 429 waits; anything else is judged by HTTP status — except a 2xx
/// without a message, which is not taken as delivered (a proxy's page says nothing about Chat).
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        let created = json
            .as_ref()
            .and_then(|v| v.get("name"))
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with("spaces/"));
        return if created {
            Outcome::Sent
        } else {
            without_code("Google Chat", status, retry_after, body)
        };
    }
    let error = json.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("status")).and_then(Value::as_str);
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    if let Some(row) = code.and_then(|c| REPLIES.iter().find(|row| row.code == c))
        && row.verdict != ReplyVerdict::Sent
    {
        return row.outcome(
            "Google Chat",
            format!("HTTP {status} {}", row.code),
            message,
            retry_after,
        );
    }
    if status == 429 {
        return Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: with_quote(
                "Google Chat is rate-limiting this space",
                "Google Chat",
                "HTTP 429",
                message,
            ),
        };
    }
    match by_status("Google Chat", status, retry_after, body) {
        Outcome::Permanent { reason, .. } if matches!(status, 401 | 403 | 404) => {
            Outcome::Permanent {
                reason,
                hint: WEBHOOK_HINT.to_string(),
            }
        }
        other => other,
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    size_limit: Some(SIZE_LIMIT),
    body_limit: Some(BODY_LIMIT),
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, _| mention_for(person),
    request_body: |part, _| request_body(part),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::{channel, header, now, part};
    use std::collections::BTreeMap;

    const HOOK: &str = "https://chat.googleapis.com/v1/spaces/AAAAx1y2z3/messages?\
        key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=Yq3kF9vT2mW8xN1bC5dG7hJ0lP4sR6uA";

    fn error(code: u16, status: &str, message: &str) -> Vec<u8> {
        json!({"error": {"code": code, "message": message, "status": status}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn prepare_posts_text() {
        let ch = channel(Platform::Googlechat, HOOK, None);
        let req = Platform::Googlechat.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), HOOK);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body, json!({ "text": part().text }));
    }

    #[test]
    fn handles_with_or_without_the_users_prefix_mention_the_same_id() {
        for handle in ["users/115236089054", " 115236089054 "] {
            let person = Person {
                id: "alice".into(),
                name: "Alice".into(),
                unit: None,
                mobile: None,
                email: None,
                handles: BTreeMap::from([(Platform::Googlechat, handle.to_string())]),
                admin: false,
            };
            let m = mention_for(&person);
            assert_eq!(
                m.and_then(|m| m.handle).as_deref(),
                Some("115236089054"),
                "{handle}"
            );
        }
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let (status, body) = match row.code {
                "OK" => (
                    200,
                    json!({"name": "spaces/AAAA/messages/BBBB.BBBB", "text": "x"})
                        .to_string()
                        .into_bytes(),
                ),
                "INVALID_ARGUMENT" | "FAILED_PRECONDITION" => (400, error(400, row.code, "m")),
                "UNAUTHENTICATED" => (401, error(401, row.code, "m")),
                "PERMISSION_DENIED" => (403, error(403, row.code, "m")),
                "NOT_FOUND" => (404, error(404, row.code, "m")),
                "RESOURCE_EXHAUSTED" => (429, error(429, row.code, "m")),
                "ABORTED" => (409, error(409, row.code, "m")),
                "INTERNAL" => (500, error(500, row.code, "m")),
                "UNAVAILABLE" => (503, error(503, row.code, "m")),
                "DEADLINE_EXCEEDED" => (504, error(504, row.code, "m")),
                other => panic!("no status for {other}"),
            };
            let got = classify(status, None, &body);
            crate::platforms::replies::assert_verdict(row.code, row.verdict, &got);
            if let Outcome::Permanent { reason, .. } = &got {
                assert!(reason.starts_with(row.reason), "{reason}");
            }
        }
    }

    #[test]
    fn the_length_error_quotes_google() {
        let body = error(
            400,
            "INVALID_ARGUMENT",
            "Message is longer than 4096 characters",
        );
        let Outcome::Permanent { reason, hint } = classify(400, None, &body) else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("Google Chat HTTP 400 INVALID_ARGUMENT: Message is longer than 4096"),
            "{reason}"
        );
        assert!(hint.contains("max_message_size"), "{hint}");
    }

    #[test]
    fn replies_without_a_google_error() {
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), b"Too Many Requests"),
            Outcome::Wait { after, .. } if after == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(502, None, b"<html>Bad Gateway</html>"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(404, None, b"Not Found"),
            Outcome::Permanent { hint, .. } if hint == WEBHOOK_HINT
        ));
        assert!(matches!(
            classify(422, None, b"?"),
            Outcome::Permanent { .. }
        ));
        // A 200 that is not a created message says nothing about Chat.
        assert!(matches!(
            classify(200, None, b"<html>captive portal</html>"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(200, None, br#"{"name": "operations/1"}"#),
            Outcome::Retry { .. }
        ));
        // An unknown Google status is judged by its HTTP status.
        assert!(matches!(
            classify(400, None, &error(400, "OUT_OF_RANGE", "m")),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(
            classify(503, None, &error(503, "SOMETHING_NEW", "m")),
            Outcome::Retry { .. }
        ));
    }
}

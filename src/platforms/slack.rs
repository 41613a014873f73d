//! Slack incoming webhook: outbound wire format.

pub(super) mod directory;

use super::driver::{Driver, documented};
use super::{
    DEFAULT_WAIT, MAX_WAIT, PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, by_status,
    json_body, json_headers, str_field, webhook_url, with_quote,
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

pub(super) const DIALECT: Dialect = Dialect::SlackMrkdwn;

/// Slack truncates `text` beyond 40,000 characters; 1,000 spare keep clear of it.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Chars(39_000);

/// `<@U123>` by member id.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Slack).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// `text` is mrkdwn by default and the mentions are inside it.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. Incoming webhooks have no signing: the URL is the secret.

/// About one message a second per webhook, with short bursts allowed (429 + `Retry-After`).
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(1, Duration::from_secs(1));

const NEW_WEBHOOK_HINT: &str = "create a new incoming webhook for the channel in the Slack app's \
    settings and put its URL in `webhook`";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every reply an incoming webhook is known to give: `200 ok` on success, otherwise a non-2xx
/// status with a plain-text error code as the body (not JSON).
///
/// Sources: python-slack-sdk's webhook tests and mock server, Slack's rate-limit page, and
/// public fixtures mapping the error strings to statuses.
pub(super) const REPLIES: &[ReplyRow<&str>] = &[
    ReplyRow {
        code: "ok",
        platform_message: "HTTP 200",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: "invalid_payload",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack could not read the message",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "no_text",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack refused a message without text",
        hint: "the channel's template rendered nothing; check the templates in its \
               `templates` directory",
    },
    ReplyRow {
        code: "too_many_attachments",
        platform_message: "HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack refused the message: too many attachments",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "posting_to_general_channel_denied",
        platform_message: "HTTP 400 or 403",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack refused the message: only admins may post to this workspace's general \
                 channel",
        hint: "point the webhook at another channel, or ask an admin to allow posting there",
    },
    ReplyRow {
        code: "invalid_token",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack does not accept this webhook's token: the webhook was revoked or its app \
                 removed",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "action_prohibited",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack refused the message: a workspace admin restricted posting to this channel",
        hint: "ask a workspace admin to allow the app to post to the channel",
    },
    ReplyRow {
        code: "team_disabled",
        platform_message: "HTTP 403",
        verdict: ReplyVerdict::Permanent,
        reason: "the Slack workspace is disabled",
        hint: "the workspace was closed or suspended; use a webhook of a workspace that is active",
    },
    ReplyRow {
        code: "channel_not_found",
        platform_message: "HTTP 404",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Slack channel no longer exists",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "no_service",
        platform_message: "HTTP 404",
        verdict: ReplyVerdict::Permanent,
        reason: "Slack has no webhook at this address: it was disabled or deleted, or the URL is \
                 wrong",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "no_active_hooks",
        platform_message: "HTTP 404",
        verdict: ReplyVerdict::Permanent,
        reason: "the Slack webhook's integration is disabled",
        hint: "enable the incoming webhook again in the Slack app's settings, or create a new one",
    },
    ReplyRow {
        code: "channel_is_archived",
        platform_message: "HTTP 410",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Slack channel is archived",
        hint: "unarchive the channel, or create a webhook for another channel and put its URL \
               in `webhook`",
    },
    ReplyRow {
        code: "rate_limited",
        platform_message: "HTTP 429 with Retry-After",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Slack is rate-limiting this webhook (about one message a second)",
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

/// A 2xx is delivered (a webhook never carries errors in a 200); a 429 waits for its
/// `Retry-After`; a 5xx is retried; a 4xx is looked up by its error string in [`REPLIES`] and
/// otherwise judged by status.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    // Workflow webhooks and proxies may answer JSON: {"ok": false, "error": "…"}.
    let json: Option<Value> = serde_json::from_str(text).ok();
    let code = match json.as_ref() {
        Some(reply) if reply.get("ok") == Some(&Value::Bool(false)) => {
            str_field(reply, "error").unwrap_or("unknown_error")
        }
        Some(reply) if reply.get("ok") == Some(&Value::Bool(true)) => "ok",
        _ => text,
    };
    let is_success = (200..300).contains(&status);
    if is_success && (code == "ok" || json.is_none()) {
        return Outcome::Sent;
    }
    if status == 429 || code == "rate_limited" {
        return Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: with_quote(
                "Slack is rate-limiting this webhook (about one message a second)",
                "Slack HTTP",
                status,
                Some(code),
            ),
        };
    }
    if status >= 500 {
        return by_status("Slack", status, retry_after, body);
    }
    match REPLIES.iter().find(|row| row.code == code) {
        Some(row) if row.verdict != ReplyVerdict::Sent => {
            let label = format!("HTTP {status}");
            row.outcome("Slack", label, Some(code), retry_after)
        }
        _ => by_status("Slack", status, retry_after, body),
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    size_limit: Some(SIZE_LIMIT),
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

    #[test]
    fn prepare_posts_text() {
        let url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";
        let ch = channel(Platform::Slack, url, None);
        let req = Platform::Slack.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), url);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert!(body["text"].is_string());
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let status = match row.code {
                "ok" => 200,
                "invalid_payload" | "no_text" | "too_many_attachments" => 400,
                "posting_to_general_channel_denied"
                | "invalid_token"
                | "action_prohibited"
                | "team_disabled" => 403,
                "channel_not_found" | "no_service" | "no_active_hooks" => 404,
                "channel_is_archived" => 410,
                "rate_limited" => 429,
                other => panic!("no status for {other}"),
            };
            let got = classify(status, None, row.code.as_bytes());
            crate::platforms::replies::assert_verdict(row.code, row.verdict, &got);
            if let Outcome::Permanent { reason, .. } = &got {
                assert!(reason.starts_with(row.reason), "{reason}");
            }
        }
    }

    #[test]
    fn statuses_without_a_known_code() {
        assert!(matches!(
            classify(429, Some(Duration::from_secs(2)), b"rate_limited"),
            Outcome::Wait { after, .. } if after == Duration::from_secs(2)
        ));
        assert!(matches!(
            classify(500, None, b"internal_error"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(classify(503, None, b""), Outcome::Retry { .. }));
        assert!(matches!(
            classify(400, None, b"something_new"),
            Outcome::Permanent { .. }
        ));
        assert_eq!(classify(200, None, b""), Outcome::Sent);
        assert_eq!(classify(200, None, br#"{"ok":true}"#), Outcome::Sent);
        assert!(matches!(
            classify(200, None, br#"{"ok":false,"error":"invalid_token"}"#),
            Outcome::Permanent { .. }
        ));
    }
}

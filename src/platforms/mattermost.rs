//! Mattermost incoming webhook: outbound wire format.

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

pub(super) const DIALECT: Dialect = Dialect::MattermostMarkdown;

/// A post holds 16,383 characters (runes: `PostMessageMaxRunesV2`, Mattermost 5.0 and later).
/// The server would split a longer text itself, at any character; weekbell splits first, at
/// line boundaries, and numbers the parts.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Chars(16_383);

/// `@username`. The handle is the username, written without the `@`; usernames are lower
/// case letters, digits, `.`, `-` and `_`, so anything else cannot be a mention.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Mattermost)
        .map(|h| h.trim_start_matches('@').to_ascii_lowercase())
        .filter(|h| {
            h.starts_with(|c: char| c.is_ascii_alphanumeric())
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
        .map(|handle| Mention {
            person_id: Some(person.id.clone()),
            name: person.name.clone(),
            handle: Some(handle),
            mobile: None,
        })
}

/// `{"text": …}`; the mentions are in the text. The post shows the webhook's own display name
/// and icon, which its settings in Mattermost choose (overriding them per post needs a system
/// setting most servers leave off).
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. Incoming webhooks have no signing: the URL is the secret.

/// Mattermost documents no limit for webhooks. A server with `RateLimitSettings` enabled limits
/// every request from one address to 10 a second (its default `PerSec`), and pacing at that
/// keeps a reminder fan-out from filling the channel faster than people can read it.
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(10, Duration::from_secs(1));

const NEW_WEBHOOK_HINT: &str = "create a new incoming webhook (Main Menu → Integrations → \
    Incoming Webhooks → Add Incoming Webhook) and put its URL in `webhook`";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every error an incoming webhook is known to answer: a JSON AppError
/// (`{"id": …, "message": …, "request_id": …, "status_code": …}`) with that status. Success
/// is `200` with the text `ok`. The `id` is the code; its message is the English text.
///
/// Source: Mattermost server `app/webhook.go` (`HandleIncomingWebhook`, `CreateWebhookPost`),
/// `web/webhook.go` and `web/handlers.go` (webhook errors are written as JSON), and
/// `app/ratelimit.go` (429 `limit exceeded` when rate limiting is on).
pub(super) const REPLIES: &[ReplyRow<&str>] = &[
    ReplyRow {
        code: "web.incoming_webhook.invalid.app_error",
        platform_message: "HTTP 400: Invalid webhook",
        verdict: ReplyVerdict::Permanent,
        reason: "Mattermost has no incoming webhook at this address: it was deleted, or the URL \
                 is wrong",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "web.incoming_webhook.disabled.app_error",
        platform_message: "HTTP 501: Incoming webhooks have been disabled by the system admin.",
        verdict: ReplyVerdict::Permanent,
        reason: "incoming webhooks are turned off on this Mattermost server",
        hint: "ask the system admin to enable System Console → Integrations → Integration \
               Management → Enable Incoming Webhooks",
    },
    ReplyRow {
        code: "web.incoming_webhook.parse.app_error",
        platform_message: "HTTP 400: Unable to parse incoming data",
        verdict: ReplyVerdict::Permanent,
        reason: "Mattermost could not read the message",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "web.incoming_webhook.text.app_error",
        platform_message: "HTTP 400: No text specified",
        verdict: ReplyVerdict::Permanent,
        reason: "Mattermost refused a message without text",
        hint: "the channel's template rendered nothing; check the templates in its \
               `templates` directory",
    },
    ReplyRow {
        code: "app.channel.get.existing.app_error",
        platform_message: "HTTP 404: Unable to find the existing channel",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Mattermost channel no longer exists",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "web.incoming_webhook.channel.app_error",
        platform_message: "HTTP 404: Couldn't find the channel",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Mattermost channel no longer exists",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "web.incoming_webhook.user.app_error",
        platform_message: "HTTP 403: Couldn't find the user",
        verdict: ReplyVerdict::Permanent,
        reason: "the Mattermost user who created the webhook no longer exists",
        hint: "incoming webhooks post as the person who created them; ask someone active to \
               create a new one and put its URL in `webhook`",
    },
    ReplyRow {
        code: "web.incoming_webhook.permissions.app_error",
        platform_message: "HTTP 403: Inappropriate channel permissions",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's creator may no longer post in its private Mattermost channel",
        hint: "add the webhook's creator to the channel again, or create a new webhook as a \
               member of the channel",
    },
    ReplyRow {
        code: "web.incoming_webhook.channel_locked.app_error",
        platform_message: "HTTP 403: This webhook is not permitted to post to the requested \
                           channel",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook is locked to another Mattermost channel",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: "api.post.create_webhook_post.creating.app_error",
        platform_message: "HTTP 500: Error creating post",
        verdict: ReplyVerdict::Retry,
        reason: "Mattermost could not create the post",
        hint: "",
    },
    ReplyRow {
        code: "limit exceeded",
        platform_message: "HTTP 429 with Retry-After (RateLimitSettings)",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "the Mattermost server is rate-limiting this address",
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

/// A 2xx is delivered (the handler answers `ok` after the post is created); a 429 waits for
/// `Retry-After`; otherwise the AppError's `id` is looked up in [`REPLIES`], then the status.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    if (200..300).contains(&status) {
        return Outcome::Sent;
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let text = String::from_utf8_lossy(body);
    let (code, message) = match json.as_ref() {
        Some(e) => (
            str_field(e, "id").unwrap_or_default().to_string(),
            str_field(e, "message").map(str::to_string),
        ),
        None => (text.trim().to_string(), None),
    };
    if status == 429 {
        return Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: with_quote(
                "the Mattermost server is rate-limiting this address",
                "Mattermost HTTP",
                status,
                Some(&code),
            ),
        };
    }
    match REPLIES.iter().find(|row| row.code == code) {
        Some(row) => row.outcome("Mattermost", &code, message.as_deref(), retry_after),
        None => by_status("Mattermost", status, retry_after, body),
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

    fn app_error(id: &str, message: &str, status: u16) -> String {
        json!({"id": id, "message": message, "detailed_error": "",
               "request_id": "pdc7ez1ycbbwpe6t1ahmb8t4so", "status_code": status})
        .to_string()
    }

    #[test]
    fn prepare_posts_text_as_json() {
        let url = "https://chat.example.org/hooks/xq8ipxgs6fbapbbyk6su3e5ryw";
        let ch = channel(Platform::Mattermost, url, None);
        let Ok(req) = Platform::Mattermost.prepare(&ch, &part(), now()) else {
            panic!("prepare failed")
        };
        assert_eq!(req.url.expose(), url);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body, json!({"text": part().text}));
    }

    #[test]
    fn handles_are_usernames() {
        let mut p = Person {
            id: "alice".into(),
            name: "Alice".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: [(Platform::Mattermost, "@Alice.W".to_string())].into(),
            admin: false,
        };
        assert_eq!(
            mention_for(&p).and_then(|m| m.handle),
            Some("alice.w".into())
        );
        p.handles.insert(Platform::Mattermost, "a+b".into());
        assert!(mention_for(&p).is_none());
    }

    /// The HTTP status Mattermost sends each error with.
    fn status_of(code: &str) -> u16 {
        match code {
            "web.incoming_webhook.disabled.app_error" => 501,
            "app.channel.get.existing.app_error" | "web.incoming_webhook.channel.app_error" => 404,
            "web.incoming_webhook.user.app_error"
            | "web.incoming_webhook.permissions.app_error"
            | "web.incoming_webhook.channel_locked.app_error" => 403,
            "api.post.create_webhook_post.creating.app_error" => 500,
            "limit exceeded" => 429,
            _ => 400,
        }
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let status = status_of(row.code);
            let body = if status == 429 {
                "limit exceeded\n".to_string()
            } else {
                app_error(row.code, row.platform_message, status)
            };
            let got = classify(status, None, body.as_bytes());
            crate::platforms::replies::assert_verdict(row.code, row.verdict, &got);
            if let Outcome::Permanent { reason, hint } = &got {
                assert!(reason.starts_with(row.reason), "{reason}");
                assert_eq!(hint, row.hint);
            }
        }
    }

    #[test]
    fn other_replies() {
        assert_eq!(classify(200, None, b"ok"), Outcome::Sent);
        assert!(matches!(
            classify(429, Some(Duration::from_secs(1)), b"limit exceeded\n"),
            Outcome::Wait { after, .. } if after == Duration::from_secs(1)
        ));
        assert!(matches!(
            classify(502, None, b"Bad Gateway"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(
                500,
                None,
                app_error("app.channel.get.find.app_error", "x", 500).as_bytes()
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(404, None, b"404 page not found"),
            Outcome::Permanent { .. }
        ));
        let Outcome::Permanent { reason, .. } = classify(
            400,
            None,
            app_error(
                "web.incoming_webhook.invalid.app_error",
                "Invalid webhook",
                400,
            )
            .as_bytes(),
        ) else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("(Mattermost web.incoming_webhook.invalid.app_error: Invalid webhook)"),
            "{reason}"
        );
    }
}

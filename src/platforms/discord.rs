//! Discord channel webhook: outbound wire format, and the follow-up messages that carry the
//! rest of a long answer to a slash command.

use super::driver::{Driver, documented};
use super::{
    DEFAULT_WAIT, MAX_WAIT, PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, by_status,
    int_field, json_body, json_headers, str_field, webhook_url, with_quote, without_code,
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

pub(super) const DIALECT: Dialect = Dialect::DiscordMarkdown;

/// `content` may hold 2,000 characters, counted in code points (Discord's API is Python;
/// discord-api-docs#1315). Mentions count with their full `<@id>` markup, which is what the
/// splitter measures.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Chars(2_000);

/// `allowed_mentions.users` takes at most 100 ids.
const MAX_PINGED_USERS: usize = 100;

/// `flags` bit that shows a follow-up message to the person who used the command only.
const EPHEMERAL: u64 = 1 << 6;

/// Where the follow-ups of an interaction go unless `api_base` says otherwise.
const DEFAULT_API_BASE: &str = "https://discord.com";

/// `<@id>` by user id. Discord ids are numbers (snowflakes); anything else (a username copied
/// by mistake) would show as text, so such a person is named instead.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Discord)
        .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))
        .map(|handle| Mention {
            person_id: Some(person.id.clone()),
            name: person.name.clone(),
            handle: Some(handle),
            mobile: None,
        })
}

/// `content` with the text; `allowed_mentions` pings exactly the part's mentions: never
/// `@everyone`, `@here` or a role, whatever a task's text says.
///
/// Content rather than embeds: mentions inside an embed never notify, people who turned off
/// link previews do not see embeds at all, and a digest split into 2,000-character parts
/// reads the same as one long message.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    let mut users: Vec<&str> = Vec::new();
    // Discord refuses the whole message if one id is not a snowflake.
    let snowflakes = part
        .mentions
        .iter()
        .filter_map(|m| m.handle.as_deref())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()));
    for id in snowflakes {
        if !users.contains(&id) && users.len() < MAX_PINGED_USERS {
            users.push(id);
        }
    }
    json!({
        "content": part.text,
        "allowed_mentions": { "parse": [], "users": users },
    })
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. Webhooks have no signing: the URL's token is the secret.

/// Discord's per-webhook bucket: 5 requests per 2 seconds (`X-RateLimit-Limit: 5`). A channel
/// also has an undocumented limit of about 30 messages a minute; going over it answers 429
/// with `retry_after`, which pauses the channel as told.
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(5, Duration::from_secs(2));

const NEW_WEBHOOK_HINT: &str = "create a new webhook (Server Settings → Integrations → Webhooks → \
    New Webhook → Copy Webhook URL) and put its URL in `webhook`";

const ACCESS_HINT: &str = "the webhook cannot post where it points: check that its channel or \
    thread still exists and that the webhook may post there, or create a new webhook";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every JSON error code Discord is known to answer an Execute Webhook request with, by the
/// code in the body (`{"code": …, "message": …}`). Success is `200` with the message (we
/// always ask `?wait=true`), and 429s are read from `retry_after`.
///
/// Source: discord-api-docs, "Opcodes and Status Codes" (JSON error codes), "Rate Limits"
/// and the webhook resource page.
pub(super) const REPLIES: &[ReplyRow<i64>] = &[
    ReplyRow {
        code: 10003,
        platform_message: "HTTP 404: Unknown Channel",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Discord channel or thread no longer exists",
        hint: "if the webhook address ends in ?thread_id=…, check that the thread still exists; \
               otherwise create a new webhook for the channel and put its URL in `webhook`",
    },
    ReplyRow {
        code: 10015,
        platform_message: "HTTP 404: Unknown Webhook",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord has no webhook at this address: it was deleted, or the URL is wrong \
                 (Discord asks that such a webhook is not tried again)",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: 50027,
        platform_message: "HTTP 401: Invalid Webhook Token",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord does not accept the webhook's token: the URL was cut short or the \
                 webhook was reset",
        hint: NEW_WEBHOOK_HINT,
    },
    ReplyRow {
        code: 50001,
        platform_message: "HTTP 403: Missing Access",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord refused the message: the webhook has no access to the channel or thread",
        hint: ACCESS_HINT,
    },
    ReplyRow {
        code: 50013,
        platform_message: "HTTP 403: Missing Permissions",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord refused the message: the webhook lacks a permission it needs there",
        hint: ACCESS_HINT,
    },
    ReplyRow {
        code: 50006,
        platform_message: "HTTP 400: Cannot send an empty message",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord refused an empty message",
        hint: "the channel's template rendered nothing; check the templates in its \
               `templates` directory",
    },
    ReplyRow {
        code: 50035,
        platform_message: "HTTP 400: Invalid Form Body",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord refused a field of the message",
        hint: "if the reason says content must be 2000 or fewer in length, remove the \
               channel's `max_message_size` (or set it to 2000 at most); otherwise this is a \
               weekbell bug: please report it with the reason above",
    },
    ReplyRow {
        code: 50109,
        platform_message: "HTTP 400: The request body contains invalid JSON.",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord could not read the message",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: 50008,
        platform_message: "HTTP 400: Cannot send messages in a non-text channel",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook's Discord channel does not take messages",
        hint: "create the webhook in a text channel and put its URL in `webhook`",
    },
    ReplyRow {
        code: 50083,
        platform_message: "HTTP 400: Tried to perform an operation on an archived thread",
        verdict: ReplyVerdict::Permanent,
        reason: "the Discord thread the webhook posts to is archived",
        hint: "unarchive the thread, or remove ?thread_id=… from the webhook address",
    },
    ReplyRow {
        code: 160005,
        platform_message: "HTTP 400: Thread is locked",
        verdict: ReplyVerdict::Permanent,
        reason: "the Discord thread the webhook posts to is locked",
        hint: "unlock the thread, or remove ?thread_id=… from the webhook address",
    },
    ReplyRow {
        code: 220001,
        platform_message: "HTTP 400: Webhooks posted to forum channels must have a thread_name \
                           or thread_id",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook belongs to a forum channel, where every message needs a post",
        hint: "add ?thread_id=ID of one of the forum's posts to the webhook address, or create \
               the webhook in a text channel",
    },
    ReplyRow {
        code: 40005,
        platform_message: "HTTP 413: Request entity too large",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord refused the message as too large",
        hint: "remove the channel's `max_message_size`, or set it to 2000 at most",
    },
    ReplyRow {
        code: 200000,
        platform_message: "HTTP 400: Message was blocked by automatic moderation",
        verdict: ReplyVerdict::Permanent,
        reason: "the server's AutoMod blocked the message",
        hint: "a word in the tasks matched one of the server's AutoMod rules: change the rule, \
               exempt the webhook's channel, or change the task's text",
    },
    ReplyRow {
        code: 240000,
        platform_message: "HTTP 400: Message blocked by harmful links filter",
        verdict: ReplyVerdict::Permanent,
        reason: "Discord blocked a link in the message as harmful",
        hint: "remove the link from the task's text or notes",
    },
    ReplyRow {
        code: 40004,
        platform_message: "HTTP 403: Send messages has been temporarily disabled",
        verdict: ReplyVerdict::Retry,
        reason: "Discord has temporarily disabled sending messages",
        hint: "",
    },
    ReplyRow {
        code: 130000,
        platform_message: "HTTP 503: API resource is currently overloaded",
        verdict: ReplyVerdict::Retry,
        reason: "Discord is overloaded",
        hint: "",
    },
    ReplyRow {
        code: 20028,
        platform_message: "HTTP 429: The write action you are performing on the channel has \
                           hit the write rate limit",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Discord is rate-limiting messages to this channel (about 30 a minute)",
        hint: "",
    },
    ReplyRow {
        code: 20029,
        platform_message: "HTTP 429: The write action you are performing on the server has hit \
                           the write rate limit",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Discord is rate-limiting messages to this server",
        hint: "",
    },
    ReplyRow {
        code: 20016,
        platform_message: "HTTP 429: This action cannot be performed due to slowmode rate limit",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "the Discord channel is in slowmode",
        hint: "",
    },
];

/// `POST <webhook>?wait=true` with `{"content": …, "allowed_mentions": …}`.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    _now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = execute_url(webhook_url(channel)?)?;
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&request_body(part))?,
    })
}

/// The webhook URL with `wait=true`, so that Discord answers only once the message is saved
/// and says why when it is not (without it, "a message that is not saved does not return an
/// error"). Every other query parameter (`thread_id`) is kept.
fn execute_url(mut url: reqwest::Url) -> Result<reqwest::Url, Outcome> {
    let path = url.path().trim_end_matches('/');
    if path.ends_with("/slack") || path.ends_with("/github") {
        return Err(Outcome::Permanent {
            reason: "the Discord webhook address ends in /slack or /github, which makes Discord \
                     read Slack's or GitHub's message format"
                .into(),
            hint: "remove /slack or /github from the end of `webhook`".into(),
        });
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "wait")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("wait", "true");
    Ok(url)
}

/// A follow-up message of an interaction: `POST {api_base}/api/v10/webhooks/{application
/// id}/{interaction token}`, which works like a channel webhook for 15 minutes after the
/// command (and always waits for the message to be saved).
pub(super) fn followup(
    channel: &ChannelConfig,
    part: &OutboundPart,
    application_id: &str,
    token: &str,
    ephemeral: bool,
) -> Result<PreparedRequest, Outcome> {
    let well_formed = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.len() <= 512
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    };
    if !well_formed(application_id, &[]) || !well_formed(token, &['-', '_', '.']) {
        return Err(Outcome::Permanent {
            reason: "the Discord interaction to follow up is malformed".into(),
            hint: BUG_HINT.into(),
        });
    }
    let base = channel.api_base().unwrap_or(DEFAULT_API_BASE);
    let mut body = request_body(part);
    if ephemeral {
        body["flags"] = json!(EPHEMERAL);
    }
    Ok(PreparedRequest {
        url: Secret::new(format!("{base}/api/v10/webhooks/{application_id}/{token}")),
        headers: json_headers(),
        body: json_body(&body)?,
    })
}

/// `200` with the saved message is delivered; `204` too (Discord accepted it; only a proxy
/// that drops `?wait=true` gets it). Another 2xx proves nothing and is retried. A 429 waits for
/// the body's `retry_after` (fractional seconds, more precise than the `Retry-After` header);
/// other errors are looked up by their JSON `code` in [`REPLIES`], then judged by status.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        let saved = json.as_ref().is_some_and(|m| m.get("id").is_some());
        if saved || (status == 204 && body.trim_ascii().is_empty()) {
            return Outcome::Sent;
        }
        return without_code("Discord", status, retry_after, body);
    }
    let code = json.as_ref().and_then(|v| int_field(v, "code"));
    let quoted = json.as_ref().map(error_text);
    if status == 429 {
        let body_wait = json
            .as_ref()
            .and_then(|v| v.get("retry_after"))
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s.min(MAX_WAIT.as_secs_f64())).ok());
        let global = json
            .as_ref()
            .and_then(|v| v.get("global"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let reason = match REPLIES.iter().find(|r| Some(r.code) == code) {
            Some(row) => row.reason,
            None if global => "Discord is rate-limiting this server's requests (global limit)",
            None => "Discord is rate-limiting this webhook (5 messages per 2 seconds)",
        };
        let label = code.map_or_else(|| "HTTP 429".to_string(), |c| c.to_string());
        return Outcome::Wait {
            after: body_wait
                .or(retry_after)
                .unwrap_or(DEFAULT_WAIT)
                .min(MAX_WAIT),
            reason: with_quote(reason, "Discord", label, quoted.as_deref()),
        };
    }
    match REPLIES.iter().find(|r| Some(r.code) == code) {
        Some(row) => row.outcome("Discord", row.code, quoted.as_deref(), retry_after),
        None => by_status("Discord", status, retry_after, body),
    }
}

/// Discord's `message`, and for 50035 the first field error under `errors`
/// (`content: Must be 2000 or fewer in length.`).
fn error_text(reply: &Value) -> String {
    let message = str_field(reply, "message").unwrap_or_default().to_string();
    match reply
        .get("errors")
        .and_then(|e| first_field_error(e, String::new(), 0))
    {
        Some((path, detail)) if path.is_empty() => format!("{message}: {detail}"),
        Some((path, detail)) => format!("{message}: {path}: {detail}"),
        None => message,
    }
}

/// The dotted path and message of the first `_errors` entry in Discord's nested error tree.
fn first_field_error(tree: &Value, path: String, depth: usize) -> Option<(String, String)> {
    if depth > 8 {
        return None;
    }
    let fields = tree.as_object()?;
    if let Some(first) = fields
        .get("_errors")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        let message = str_field(first, "message").unwrap_or("invalid").to_string();
        return Some((path, message));
    }
    fields.iter().find_map(|(key, child)| {
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        first_field_error(child, path, depth + 1)
    })
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
    use crate::config::{DiscordSettings, PlatformSettings};
    use crate::platforms::test_support::{channel, header, now, part};

    const HOOK: &str = "https://discord.com/api/webhooks/1234567890/AbCdEf-token_xyz";

    fn discord_part(text: &str, ids: &[&str]) -> OutboundPart {
        let mut p = part();
        p.text = text.into();
        p.mentions = ids
            .iter()
            .map(|id| Mention {
                person_id: None,
                name: "x".into(),
                handle: Some(id.to_string()),
                mobile: None,
            })
            .collect();
        p
    }

    #[test]
    fn prepare_waits_for_the_message_and_keeps_the_thread() {
        let ch = channel(Platform::Discord, HOOK, None);
        let Ok(req) = Platform::Discord.prepare(&ch, &part(), now()) else {
            panic!("prepare failed")
        };
        assert_eq!(req.url.expose(), format!("{HOOK}?wait=true"));
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let threaded = channel(
            Platform::Discord,
            &format!("{HOOK}?thread_id=42&wait=false"),
            None,
        );
        let Ok(req) = Platform::Discord.prepare(&threaded, &part(), now()) else {
            panic!("prepare failed")
        };
        assert_eq!(req.url.expose(), format!("{HOOK}?thread_id=42&wait=true"));
        for suffix in ["/slack", "/github"] {
            let ch = channel(Platform::Discord, &format!("{HOOK}{suffix}"), None);
            assert!(matches!(
                Platform::Discord.prepare(&ch, &part(), now()),
                Err(Outcome::Permanent { .. })
            ));
        }
    }

    #[test]
    fn allowed_mentions_ping_exactly_the_mentioned_people() {
        let body = request_body(&discord_part(
            "<@1> <@2> <@1> @\u{200B}everyone",
            &["1", "2", "1"],
        ));
        assert_eq!(
            body,
            json!({"content": "<@1> <@2> <@1> @\u{200B}everyone",
                   "allowed_mentions": {"parse": [], "users": ["1", "2"]}})
        );
        let many: Vec<String> = (0..150).map(|i| i.to_string()).collect();
        let ids: Vec<&str> = many.iter().map(String::as_str).collect();
        let body = request_body(&discord_part("x", &ids));
        assert_eq!(
            body["allowed_mentions"]["users"].as_array().map(Vec::len),
            Some(100)
        );
    }

    #[test]
    fn only_numeric_ids_are_mentioned() {
        let mut p = Person {
            id: "alice".into(),
            name: "Alice".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: [(Platform::Discord, "80351110224678912".to_string())].into(),
            admin: false,
        };
        assert!(mention_for(&p).is_some());
        p.handles.insert(Platform::Discord, "alice#1234".into());
        assert!(mention_for(&p).is_none());
    }

    #[test]
    fn followups_go_to_the_interaction_webhook() {
        let mut ch = channel(Platform::Discord, HOOK, None);
        ch.settings = PlatformSettings::Discord(DiscordSettings {
            api_base: Some("http://127.0.0.1:9/".into()),
            ..Default::default()
        });
        let Ok(req) = followup(&ch, &part(), "11", "aW50ZXJhY3Rpb24.tok-en_", true) else {
            panic!("followup failed")
        };
        assert_eq!(
            req.url.expose(),
            "http://127.0.0.1:9/api/v10/webhooks/11/aW50ZXJhY3Rpb24.tok-en_"
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["flags"], 64);
        assert!(followup(&ch, &part(), "11", "../x", false).is_err());
        assert!(followup(&ch, &part(), "", "t", false).is_err());
    }

    /// The HTTP status Discord sends each code with.
    fn status_of(code: i64) -> u16 {
        match code {
            10003 | 10015 => 404,
            50027 => 401,
            50001 | 50013 | 40004 => 403,
            40005 => 413,
            130000 => 503,
            20028 | 20029 | 20016 => 429,
            _ => 400,
        }
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let body = json!({"message": row.platform_message, "code": row.code}).to_string();
            let got = classify(status_of(row.code), None, body.as_bytes());
            crate::platforms::replies::assert_verdict(&row.code.to_string(), row.verdict, &got);
            if let Outcome::Permanent { reason, hint } = &got {
                assert!(reason.starts_with(row.reason), "{reason}");
                assert_eq!(hint, row.hint);
            }
        }
    }

    #[test]
    fn success_needs_the_saved_message() {
        let message = br#"{"id":"1180000000000000000","channel_id":"1","content":"x","type":0}"#;
        assert_eq!(classify(200, None, message), Outcome::Sent);
        assert_eq!(classify(204, None, b""), Outcome::Sent);
        assert!(matches!(classify(200, None, b"ok"), Outcome::Retry { .. }));
        assert!(matches!(classify(200, None, b"{}"), Outcome::Retry { .. }));
    }

    #[test]
    fn rate_limits_wait_for_retry_after() {
        let body =
            br#"{"message":"You are being rate limited.","retry_after":1.337,"global":false}"#;
        assert!(matches!(
            classify(429, Some(Duration::from_secs(2)), body),
            Outcome::Wait { after, .. } if after == Duration::from_millis(1337)
        ));
        let global =
            br#"{"message":"You are being rate limited.","retry_after":64.57,"global":true}"#;
        let Outcome::Wait { after, reason } = classify(429, None, global) else {
            panic!("not a wait")
        };
        assert_eq!(after, Duration::from_millis(64_570));
        assert!(reason.contains("global"), "{reason}");
        // Cloudflare's HTML 429: the header, else a minute.
        assert!(matches!(
            classify(429, Some(Duration::from_secs(9)), b"<html>error code: 1015</html>"),
            Outcome::Wait { after, .. } if after == Duration::from_secs(9)
        ));
        assert!(matches!(
            classify(429, None, b""),
            Outcome::Wait { after, .. } if after == DEFAULT_WAIT
        ));
        let huge = br#"{"retry_after":1e300}"#;
        assert!(matches!(
            classify(429, None, huge),
            Outcome::Wait { after, .. } if after == MAX_WAIT
        ));
    }

    #[test]
    fn form_errors_quote_the_failing_field() {
        let body = br#"{"message":"Invalid Form Body","code":50035,"errors":{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}}"#;
        let Outcome::Permanent { reason, .. } = classify(400, None, body) else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("50035: Invalid Form Body: content: Must be 2000 or fewer in length."),
            "{reason}"
        );
        let nested = json!({"code": 50035, "message": "Invalid Form Body",
            "errors": {"allowed_mentions": {"users": {"0": {"_errors": [{"code": "X", "message": "bad id"}]}}}}});
        let Outcome::Permanent { reason, .. } = classify(400, None, nested.to_string().as_bytes())
        else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("allowed_mentions.users.0: bad id"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_codes_and_server_errors_fall_back_to_the_status() {
        assert!(matches!(
            classify(401, None, br#"{"message": "401: Unauthorized", "code": 0}"#),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(
            classify(502, None, b"Bad Gateway"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(
                500,
                None,
                br#"{"message": "500: Internal Server Error", "code": 0}"#
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(404, None, br#"{"message": "404: Not Found", "code": 0}"#),
            Outcome::Permanent { .. }
        ));
    }
}

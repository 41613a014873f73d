//! A local Discord for tests: channel webhooks and interaction follow-ups that check each
//! request as Discord does and answer with Discord's own bodies, errors and rate-limit
//! headers; and the other direction, interactions signed with a key the test generates.
//!
//! | route | checks, and the refusal each gives |
//! |---|---|
//! | `POST /api/webhooks/{id}/{token}` ([`FakeDiscord::url`]) | id (404 10015 Unknown Webhook), token (401 50027); `Content-Type: application/json` (400 50035); JSON (400 50109); `content` or `embeds` non-empty (400 50006); `content` ≤ 2,000 code points (400 50035 `BASE_TYPE_MAX_LENGTH`); `allowed_mentions` shape: `parse` ⊆ users/roles/everyone, `users` ≤ 100 snowflakes, not both `parse: ["users"]` and `users` (400 50035); per-webhook bucket of 5 per 2 s when [`DiscordOptions::rate_limit`] is on (429 with `retry_after`, `Retry-After`, `X-RateLimit-*`) |
//! | `POST /api/v10/webhooks/{application}/{interaction token}` ([`FakeDiscord::api_base`]) | a follow-up of an interaction the test opened with [`FakeDiscord::open_interaction`] (404 10015 otherwise); then as above; `flags` may be 64 |
//!
//! Accepted messages are answered `204` without `?wait=true` (Discord does not say whether the
//! message was saved) and `200` with the created message with it, and recorded with who they
//! would ping: the `<@id>` mentions `allowed_mentions` lets through, and whether `@everyone`
//! or `@here` would.

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen, random_token};
use super::lock;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// The webhook id every fake has (its token is random).
pub const WEBHOOK_ID: &str = "1180366720153128000";

#[derive(Debug, Clone, Default)]
pub struct DiscordOptions {
    /// Enforce the per-webhook bucket (5 requests per 2 seconds).
    pub rate_limit: bool,
}

/// A scripted answer for one request, in Discord's shapes.
#[derive(Debug, Clone)]
pub enum DiscordReply {
    /// A JSON error code with the status and message Discord gives it.
    Code(i64),
    /// A 429 as Discord sends it: JSON `retry_after` (seconds, fractional), `global`, and the
    /// `Retry-After` header rounded up.
    RateLimited { retry_after: f64, global: bool },
    /// This status with Cloudflare's or a gateway's plain-text body.
    Status(u16),
    /// Handle the request as usual, but answer only after this long.
    Delay(Duration),
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct DiscordMessage {
    pub body: Value,
    pub path_and_query: String,
    /// The user ids Discord would notify.
    pub pings: Vec<String>,
    /// Whether `@everyone`/`@here` in the content would notify the channel.
    pub pings_everyone: bool,
}

/// A local Discord on [`FakeHttp`] (accepted messages, statuses, waits).
pub struct FakeDiscord {
    http: FakeHttp<DiscordMessage>,
    peer: Arc<Peer>,
}

struct Peer {
    token: String,
    options: DiscordOptions,
    state: Mutex<PeerState>,
}

#[derive(Default)]
struct PeerState {
    interactions: Vec<(String, String)>,
    window: VecDeque<Instant>,
    next_id: u64,
}

impl Peer {
    fn lock(&self) -> MutexGuard<'_, PeerState> {
        lock(&self.state)
    }
}

impl Deref for FakeDiscord {
    type Target = FakeHttp<DiscordMessage>;

    fn deref(&self) -> &FakeHttp<DiscordMessage> {
        &self.http
    }
}

impl FakeDiscord {
    pub async fn start(options: DiscordOptions) -> FakeDiscord {
        let peer = Arc::new(Peer {
            token: random_token(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                68,
            ),
            options,
            state: Mutex::new(PeerState::default()),
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start(move |seen| check(&checks, seen)).await;
        FakeDiscord { http, peer }
    }

    /// The channel webhook's URL, as Discord's "Copy Webhook URL" gives it.
    pub fn url(&self) -> String {
        self.url_with(WEBHOOK_ID, &self.peer.token)
    }

    pub fn url_with(&self, id: &str, token: &str) -> String {
        format!("{}/api/webhooks/{id}/{token}", self.http.base_url())
    }

    pub fn token(&self) -> &str {
        &self.peer.token
    }

    /// The `api_base` where interaction follow-ups go.
    pub fn api_base(&self) -> String {
        self.http.base_url()
    }

    /// Lets follow-ups of this interaction in, as Discord does for 15 minutes after it.
    pub fn open_interaction(&self, application_id: &str, token: &str) {
        self.peer
            .lock()
            .interactions
            .push((application_id.into(), token.into()));
    }

    pub fn script(&self, replies: impl IntoIterator<Item = DiscordReply>) {
        self.http.script(replies.into_iter().map(|r| match r {
            DiscordReply::Code(code) => Scripted::Answer(error(code)),
            DiscordReply::RateLimited {
                retry_after,
                global,
            } => Scripted::Answer(rate_limited(retry_after, global, true)),
            DiscordReply::Status(status) => {
                Scripted::Answer(Answer::text(status, format!("{status} error")))
            }
            DiscordReply::Delay(d) => Scripted::Delay(d),
        }));
    }
}

/// Discord's status and message for a JSON error code.
pub fn code_reply(code: i64) -> (u16, &'static str) {
    match code {
        10003 => (404, "Unknown Channel"),
        10015 => (404, "Unknown Webhook"),
        50027 => (401, "Invalid Webhook Token"),
        50001 => (403, "Missing Access"),
        50013 => (403, "Missing Permissions"),
        50006 => (400, "Cannot send an empty message"),
        50035 => (400, "Invalid Form Body"),
        50109 => (400, "The request body contains invalid JSON."),
        50008 => (400, "Cannot send messages in a non-text channel"),
        50083 => (
            400,
            "Tried to perform an operation on an archived thread, such as editing a message or adding a user to the thread",
        ),
        160005 => (400, "Thread is locked"),
        220001 => (
            400,
            "Webhooks posted to forum channels must have a thread_name or thread_id",
        ),
        40005 => (413, "Request entity too large"),
        200000 => (400, "Message was blocked by automatic moderation"),
        240000 => (400, "Message blocked by harmful links filter"),
        40004 => (403, "Send messages has been temporarily disabled"),
        130000 => (
            503,
            "API resource is currently overloaded. Try again a little later",
        ),
        20028 => (
            429,
            "The write action you are performing on the channel has hit the write rate limit.",
        ),
        20029 => (
            429,
            "The write action you are performing on the server has hit the write rate limit",
        ),
        20016 => (
            429,
            "This action cannot be performed due to slowmode rate limit.",
        ),
        _ => (400, "General error"),
    }
}

fn json_answer(status: u16, body: Value) -> Answer {
    Answer::json(status, &body).with_content_type("application/json")
}

fn error(code: i64) -> Answer {
    let (status, message) = code_reply(code);
    let mut body = json!({"message": message, "code": code});
    if status == 429 {
        body["retry_after"] = json!(1.5);
        body["global"] = json!(false);
    }
    json_answer(status, body)
}

fn form_error(path: &[&str], code: &str, message: &str) -> Answer {
    let mut errors = json!({"_errors": [{"code": code, "message": message}]});
    for key in path.iter().rev() {
        errors = json!({ *key: errors });
    }
    json_answer(
        400,
        json!({"message": "Invalid Form Body", "code": 50035, "errors": errors}),
    )
}

fn rate_limited(retry_after: f64, global: bool, limit_headers: bool) -> Answer {
    let answer = json_answer(
        429,
        json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global}),
    )
    .with_header("retry-after", (retry_after.ceil().max(0.0) as u64).to_string());
    if global {
        answer
            .with_header("x-ratelimit-global", "true")
            .with_header("x-ratelimit-scope", "global")
    } else if limit_headers {
        answer
            .with_header("x-ratelimit-limit", "5")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-scope", "user")
            .with_header("x-ratelimit-reset-after", format!("{retry_after:.3}"))
    } else {
        answer
    }
}

fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

fn check(peer: &Peer, seen: &Seen) -> Checked<DiscordMessage> {
    match accept(peer, seen) {
        Ok((message, answer)) => Checked::Accept(message, answer),
        Err(refusal) => Checked::Answer(refusal),
    }
}

/// The message and Discord's answer, or Discord's refusal.
fn accept(peer: &Peer, seen: &Seen) -> Result<(DiscordMessage, Answer), Answer> {
    let segments: Vec<&str> = seen.path().trim_matches('/').split('/').collect();
    let followup = match segments.as_slice() {
        ["api", "webhooks", id, token] => {
            if *id != WEBHOOK_ID {
                return Err(error(10015));
            }
            if *token != peer.token {
                return Err(error(50027));
            }
            false
        }
        ["api", "v10", "webhooks", app, token] => {
            let open = peer
                .lock()
                .interactions
                .iter()
                .any(|(a, t)| a == app && t == token);
            if !open {
                return Err(error(10015));
            }
            true
        }
        _ => {
            return Err(json_answer(
                404,
                json!({"message": "404: Not Found", "code": 0}),
            ));
        }
    };
    if peer.options.rate_limit {
        let now = Instant::now();
        let mut state = peer.lock();
        while state
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(2))
        {
            state.window.pop_front();
        }
        if state.window.len() >= 5 {
            let reset = state
                .window
                .front()
                .map(|t| 2.0 - now.duration_since(*t).as_secs_f64())
                .unwrap_or(2.0);
            return Err(rate_limited(reset.max(0.001), false, true));
        }
        state.window.push_back(now);
    }
    let json_type = seen
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    if !json_type {
        return Err(json_answer(
            400,
            json!({"message": "Invalid Form Body", "code": 50035, "errors": {"_errors": [{"code": "CONTENT_TYPE_INVALID", "message": "Expected \"Content-Type\" header to be one of {'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'}."}]}}),
        ));
    }
    let Ok(value) = serde_json::from_slice::<Value>(&seen.body) else {
        return Err(error(50109));
    };
    let content = value.get("content").and_then(Value::as_str).unwrap_or("");
    let has_embeds = value
        .get("embeds")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty());
    if content.trim().is_empty() && !has_embeds {
        return Err(error(50006));
    }
    if content.chars().count() > 2000 {
        return Err(form_error(
            &["content"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    if let Some(flags) = value.get("flags").and_then(Value::as_u64)
        && (!followup && flags & 64 != 0 || flags & !(4 | 64 | 4096) != 0)
    {
        return Err(form_error(
            &["flags"],
            "MESSAGE_FLAGS_INVALID",
            "Invalid flags.",
        ));
    }
    let (pings, pings_everyone) = allowed_pings(&value, content)?;
    let id = {
        let mut state = peer.lock();
        state.next_id += 1;
        format!("11803667201531{:05}", state.next_id)
    };
    let message = DiscordMessage {
        body: value.clone(),
        path_and_query: seen.path_and_query.clone(),
        pings: pings.clone(),
        pings_everyone,
    };
    // Followups always wait; channel webhooks only when asked to.
    if !followup && seen.query("wait").as_deref() != Some("true") {
        return Ok((message, Answer::empty(204)));
    }
    let mentions: Vec<Value> = pings
        .iter()
        .map(|id| json!({"id": id, "username": format!("user{id}"), "discriminator": "0"}))
        .collect();
    let answer = json_answer(
        200,
        json!({
            "id": id,
            "type": 0,
            "content": content,
            "channel_id": seen.query("thread_id").unwrap_or_else(|| "1180366720153127936".into()),
            "author": {"id": WEBHOOK_ID, "username": "weekbell", "avatar": null, "discriminator": "0000", "bot": true},
            "attachments": [],
            "embeds": value.get("embeds").cloned().unwrap_or(json!([])),
            "mentions": mentions,
            "mention_roles": [],
            "pinned": false,
            "mention_everyone": pings_everyone,
            "tts": false,
            "timestamp": "2025-12-05T07:00:00.000000+00:00",
            "edited_timestamp": null,
            "flags": value.get("flags").cloned().unwrap_or(json!(0)),
            "components": [],
            "webhook_id": WEBHOOK_ID,
        }),
    );
    Ok((message, answer))
}

/// Who the message would notify, and whether `allowed_mentions` is well formed.
fn allowed_pings(value: &Value, content: &str) -> Result<(Vec<String>, bool), Answer> {
    let written: Vec<String> = content
        .split("<@")
        .skip(1)
        .filter_map(|rest| {
            let id = rest.trim_start_matches('!').split('>').next()?;
            is_snowflake(id).then(|| id.to_string())
        })
        .collect();
    let mentions_everyone = content.contains("@everyone") || content.contains("@here");
    let Some(allowed) = value.get("allowed_mentions") else {
        // Without it Discord pings everything written.
        return Ok((written, mentions_everyone));
    };
    let bad = |message: &str| {
        form_error(
            &["allowed_mentions"],
            "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
            message,
        )
    };
    let parse: Vec<&str> = match allowed.get("parse") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(p @ ("users" | "roles" | "everyone")) => out.push(p),
                    _ => return Err(bad("parse must only hold users, roles or everyone")),
                }
            }
            out
        }
        Some(_) => return Err(bad("parse must be an array")),
    };
    let users: Vec<String> = match allowed.get("users") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() > 100 {
                return Err(form_error(
                    &["allowed_mentions", "users"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 100 or fewer in length.",
                ));
            }
            let mut out = Vec::new();
            for item in items {
                match item.as_str().filter(|s| is_snowflake(s)) {
                    Some(id) => out.push(id.to_string()),
                    None => {
                        return Err(form_error(
                            &["allowed_mentions", "users", "0"],
                            "NUMBER_TYPE_COERCE",
                            "Value is not snowflake.",
                        ));
                    }
                }
            }
            out
        }
        Some(_) => return Err(bad("users must be an array")),
    };
    if parse.contains(&"users") && !users.is_empty() {
        return Err(bad(
            "parse:[\"users\"] and users: [ids] are mutually exclusive.",
        ));
    }
    let pings = written
        .into_iter()
        .filter(|id| parse.contains(&"users") || users.contains(id))
        .fold(Vec::new(), |mut acc, id| {
            if !acc.contains(&id) {
                acc.push(id);
            }
            acc
        });
    Ok((pings, mentions_everyone && parse.contains(&"everyone")))
}

// ---------------------------------------------------------------------------------------------
// The other direction: interactions as Discord posts them to an app's endpoint.

/// The signing seed of the test app (its public key: [`public_key`]).
pub const APP_SEED: [u8; 32] = *b"weekbell-fake-discord-app-seed!!";

pub const APPLICATION_ID: &str = "1170000000000000042";

pub fn public_key() -> String {
    weekbell::inbound::discord::public_key_hex(&APP_SEED)
}

/// A slash command interaction: `/weekbell text:<text>` by `user_id` in a server.
pub fn slash_command(id: &str, token: &str, user_id: &str, text: &str) -> String {
    json!({
        "app_permissions": "2248473465835073",
        "application_id": APPLICATION_ID,
        "authorizing_integration_owners": {"0": "1150000000000000000"},
        "channel_id": "1160000000000000000",
        "context": 0,
        "data": {
            "id": "1190000000000000000",
            "name": "weekbell",
            "options": [{"name": "text", "type": 3, "value": text}],
            "type": 1
        },
        "entitlements": [],
        "guild_id": "1150000000000000000",
        "guild_locale": "en-US",
        "id": id,
        "locale": "en-US",
        "member": {
            "deaf": false,
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "mute": false,
            "nick": null,
            "permissions": "2248473465835073",
            "roles": [],
            "user": {"avatar": null, "discriminator": "0", "global_name": "Alice", "id": user_id, "username": "alice"}
        },
        "token": token,
        "type": 2,
        "version": 1
    })
    .to_string()
}

/// The PING Discord sends when the endpoint URL is saved.
pub fn ping() -> String {
    json!({"application_id": APPLICATION_ID, "id": "1180000000000000000", "token": "aW50ZXJhY3Rpb246cGluZw", "type": 1, "version": 1}).to_string()
}

/// The two signature headers for `body` at `timestamp`, signed with `seed`.
pub fn signed_headers(seed: &[u8; 32], timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    let ts = timestamp.to_string();
    vec![
        (
            "x-signature-ed25519",
            weekbell::inbound::discord::signature(seed, &ts, body.as_bytes()),
        ),
        ("x-signature-timestamp", ts),
    ]
}

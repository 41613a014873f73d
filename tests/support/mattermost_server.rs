//! A local Mattermost for tests: an incoming webhook that checks each request as the server's
//! `web/webhook.go` and `app/webhook.go` do and answers as they do (`200 ok`, or a JSON
//! AppError), and the other direction: slash commands and outgoing webhooks as the server
//! posts them to an integration.
//!
//! | route | checks, and the refusal each gives |
//! |---|---|
//! | `POST /hooks/{key}` ([`FakeMattermost::url`]) | incoming webhooks enabled (501 `web.incoming_webhook.disabled.app_error`); JSON body, or a form's `payload` field (400 `web.incoming_webhook.parse.app_error`); `text` non-empty or `attachments` (400 `web.incoming_webhook.text.app_error`); key (400 `web.incoming_webhook.invalid.app_error`, as the server looks the key up after reading the body); with [`MattermostOptions::per_sec`], the server's `RateLimitSettings` (429 `limit exceeded` with `Retry-After` and `X-Ratelimit-*`) |
//!
//! A text longer than 16,383 characters is split into several posts, as the server does; each
//! accepted request is recorded with its posts and who they would notify (`@username`, and
//! `@channel`/`@all`/`@here`).

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen, form_value, random_token};
use super::lock;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// `model.PostMessageMaxRunesV2`.
pub const MAX_RUNES: usize = 16_383;

#[derive(Debug, Clone, Default)]
pub struct MattermostOptions {
    /// System Console → Enable Incoming Webhooks turned off.
    pub disabled: bool,
    /// `RateLimitSettings`: requests a second per address, with a burst of as many again.
    pub per_sec: Option<u32>,
}

/// A scripted answer for one request.
#[derive(Debug, Clone)]
pub enum MattermostReply {
    /// An AppError with this id, its English message and status.
    AppError(&'static str),
    /// This status with a proxy's plain-text body.
    Status(u16),
    /// `429 limit exceeded` with `Retry-After`.
    TooManyRequests { retry_after_secs: u64 },
    /// Handle as usual, answer after this long.
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub struct MattermostPost {
    pub body: Value,
    pub content_type: String,
    /// The posts the server created (several when the text was over [`MAX_RUNES`]).
    pub posts: Vec<String>,
    /// Usernames `@mentioned` in the text.
    pub mentions: Vec<String>,
    /// Whether `@channel`, `@all` or `@here` would notify the channel.
    pub channel_wide: bool,
}

/// A local Mattermost on [`FakeHttp`] (accepted posts, statuses, waits).
pub struct FakeMattermost {
    http: FakeHttp<MattermostPost>,
    peer: Arc<Peer>,
}

struct Peer {
    key: String,
    options: MattermostOptions,
    window: Mutex<VecDeque<Instant>>,
}

impl Peer {
    fn window(&self) -> MutexGuard<'_, VecDeque<Instant>> {
        lock(&self.window)
    }
}

impl Deref for FakeMattermost {
    type Target = FakeHttp<MattermostPost>;

    fn deref(&self) -> &FakeHttp<MattermostPost> {
        &self.http
    }
}

impl FakeMattermost {
    pub async fn start(options: MattermostOptions) -> FakeMattermost {
        let peer = Arc::new(Peer {
            key: new_id(),
            options,
            window: Mutex::new(VecDeque::new()),
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start(move |seen| check(&checks, seen)).await;
        FakeMattermost { http, peer }
    }

    pub fn url(&self) -> String {
        self.url_with(&self.peer.key)
    }

    pub fn url_with(&self, key: &str) -> String {
        format!("{}/hooks/{key}", self.http.base_url())
    }

    pub fn key(&self) -> &str {
        &self.peer.key
    }

    pub fn script(&self, replies: impl IntoIterator<Item = MattermostReply>) {
        self.http.script(replies.into_iter().map(|r| match r {
            MattermostReply::AppError(id) => Scripted::Answer(app_error(id)),
            MattermostReply::Status(status) => {
                Scripted::Answer(Answer::text(status, format!("{status} error")))
            }
            MattermostReply::TooManyRequests { retry_after_secs } => {
                Scripted::Answer(limit_exceeded(10, retry_after_secs))
            }
            MattermostReply::Delay(d) => Scripted::Delay(d),
        }));
    }
}

/// A 26-character Mattermost id.
pub fn new_id() -> String {
    random_token(b"abcdefghijkmnopqrstuwxyz13456789", 26)
}

/// The status and English message of an AppError id.
pub fn app_error_reply(id: &str) -> (u16, &'static str) {
    match id {
        "web.incoming_webhook.invalid.app_error" => (400, "Invalid webhook"),
        "web.incoming_webhook.disabled.app_error" => (
            501,
            "Incoming webhooks have been disabled by the system admin.",
        ),
        "web.incoming_webhook.parse.app_error" => (400, "Unable to parse incoming data"),
        "web.incoming_webhook.text.app_error" => (400, "No text specified"),
        "app.channel.get.existing.app_error" => (404, "Unable to find the existing channel."),
        "web.incoming_webhook.channel.app_error" => (404, "Couldn't find the channel"),
        "web.incoming_webhook.user.app_error" => (403, "Couldn't find the user"),
        "web.incoming_webhook.permissions.app_error" => (403, "Inappropriate channel permissions"),
        "web.incoming_webhook.channel_locked.app_error" => (
            403,
            "This webhook is not permitted to post to the requested channel",
        ),
        "api.post.create_webhook_post.creating.app_error" => (500, "Error creating post"),
        _ => (500, "An error occurred"),
    }
}

fn app_error(id: &str) -> Answer {
    let (status, message) = app_error_reply(id);
    Answer::json(
        status,
        &json!({"id": id, "message": message, "detailed_error": "", "request_id": new_id(), "status_code": status}),
    )
    .with_content_type("application/json")
}

fn limit_exceeded(limit: u32, retry_after_secs: u64) -> Answer {
    Answer::text(429, "limit exceeded\n")
        .with_header("x-ratelimit-limit", limit.to_string())
        .with_header("x-ratelimit-remaining", "0")
        .with_header("x-ratelimit-reset", retry_after_secs.to_string())
        .with_header("retry-after", retry_after_secs.to_string())
}

fn check(peer: &Peer, seen: &Seen) -> Checked<MattermostPost> {
    if let Some(per_sec) = peer.options.per_sec {
        // A GCRA with a burst of `per_sec` more, as throttled does, approximated by a window.
        let now = Instant::now();
        let mut window = peer.window();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= (per_sec * 2) as usize {
            return Checked::Answer(limit_exceeded(per_sec, 1));
        }
        window.push_back(now);
    }
    let Some(key) = seen.path().strip_prefix("/hooks/") else {
        return Checked::Answer(Answer::text(404, "404 page not found"));
    };
    if peer.options.disabled {
        return Checked::Answer(app_error("web.incoming_webhook.disabled.app_error"));
    }
    let content_type = seen.header("content-type").unwrap_or("").to_string();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let value: Option<Value> = if media == "application/x-www-form-urlencoded" {
        std::str::from_utf8(&seen.body)
            .ok()
            .and_then(|form| form_value(form, "payload"))
            .and_then(|p| serde_json::from_str(&p).ok())
    } else {
        serde_json::from_slice(&seen.body).ok()
    };
    let Some(value) = value.filter(Value::is_object) else {
        return Checked::Answer(app_error("web.incoming_webhook.parse.app_error"));
    };
    let text = value.get("text").and_then(Value::as_str).unwrap_or("");
    if text.is_empty() && value.get("attachments").is_none() {
        return Checked::Answer(app_error("web.incoming_webhook.text.app_error"));
    }
    if key != peer.key {
        return Checked::Answer(app_error("web.incoming_webhook.invalid.app_error"));
    }
    let chars: Vec<char> = text.chars().collect();
    let posts: Vec<String> = chars
        .chunks(MAX_RUNES)
        .map(|c| c.iter().collect())
        .collect();
    let (mentions, channel_wide) = mentions_in(text);
    let post = MattermostPost {
        body: value.clone(),
        content_type,
        posts,
        mentions,
        channel_wide,
    };
    Checked::Accept(
        post,
        Answer::text(200, "ok").with_content_type("text/plain"),
    )
}

/// `@word` mentions as the server finds them in text: a username is letters, digits, `.`, `-`
/// and `_` after an `@` that does not follow a letter or digit.
fn mentions_in(text: &str) -> (Vec<String>, bool) {
    let mut names = Vec::new();
    let mut channel_wide = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' || (i > 0 && chars[i - 1].is_alphanumeric()) {
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect::<String>()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        match name.as_str() {
            "" => {}
            "channel" | "all" | "here" => channel_wide = true,
            _ => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    (names, channel_wide)
}

// ---------------------------------------------------------------------------------------------
// The other direction: what the server posts to an integration.

/// Form encoding as Go's `url.Values.Encode` does it.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A custom slash command's form, as `app/command.go` builds it (`url.Values`, keys sorted).
pub fn slash_command(
    token: &str,
    user_id: &str,
    user_name: &str,
    text: &str,
    trigger_id: &str,
) -> String {
    let hook = new_id();
    format!(
        "channel_id=ee6yk8us7bfr5b4xrsarwpmq6c&channel_name=town-square&command=%2Fweekbell\
         &response_url={}&team_domain=county&team_id=oxqd4xfpg7bp5eq1w9tgqeqjrc&text={}\
         &token={token}&trigger_id={trigger_id}&user_id={user_id}&user_name={user_name}",
        enc(&format!("https://chat.example.org/hooks/commands/{hook}")),
        enc(text),
    )
}

/// An outgoing webhook's JSON body, as `app/webhook.go` builds it (`OutgoingWebhookPayload`).
pub fn outgoing_webhook(
    token: &str,
    user_id: &str,
    user_name: &str,
    text: &str,
    post_id: &str,
) -> String {
    json!({
        "token": token,
        "team_id": "oxqd4xfpg7bp5eq1w9tgqeqjrc",
        "team_domain": "county",
        "channel_id": "ee6yk8us7bfr5b4xrsarwpmq6c",
        "channel_name": "town-square",
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "user_id": user_id,
        "user_name": user_name,
        "post_id": post_id,
        "text": text,
        "trigger_word": text.split_whitespace().next().unwrap_or(""),
        "file_ids": ""
    })
    .to_string()
}

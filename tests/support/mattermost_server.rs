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

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
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

pub struct FakeMattermost {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    key: String,
    options: MattermostOptions,
    state: Mutex<FakeState>,
    arrived: Notify,
}

#[derive(Default)]
struct FakeState {
    script: VecDeque<MattermostReply>,
    received: Vec<MattermostPost>,
    statuses: Vec<u16>,
    window: VecDeque<Instant>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FakeMattermost {
    pub async fn start(options: MattermostOptions) -> FakeMattermost {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("fake Mattermost: cannot bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fake Mattermost: {e}"));
        let shared = Arc::new(Shared {
            key: new_id(),
            options,
            state: Mutex::new(FakeState::default()),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMattermost { addr, shared, task }
    }

    pub fn url(&self) -> String {
        self.url_with(&self.shared.key)
    }

    pub fn url_with(&self, key: &str) -> String {
        format!("http://{}/hooks/{key}", self.addr)
    }

    pub fn key(&self) -> &str {
        &self.shared.key
    }

    pub fn script(&self, replies: impl IntoIterator<Item = MattermostReply>) {
        self.shared.lock().script.extend(replies);
    }

    pub fn received(&self) -> Vec<MattermostPost> {
        self.shared.lock().received.clone()
    }

    pub fn statuses(&self) -> Vec<u16> {
        self.shared.lock().statuses.clone()
    }

    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<MattermostPost> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }
}

impl Drop for FakeMattermost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A 26-character Mattermost id.
pub fn new_id() -> String {
    (0..26)
        .map(|_| {
            let c = b"abcdefghijkmnopqrstuwxyz13456789";
            c[fastrand::usize(..c.len())] as char
        })
        .collect()
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

fn app_error(id: &str) -> Response {
    let (status, message) = app_error_reply(id);
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({"id": id, "message": message, "detailed_error": "", "request_id": new_id(), "status_code": status})
            .to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn limit_exceeded(limit: u32, retry_after_secs: u64) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, "limit exceeded\n").into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0));
    h.insert("x-ratelimit-reset", HeaderValue::from(retry_after_secs));
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let scripted = shared.lock().script.pop_front();
    let (response, delay) = match scripted {
        Some(MattermostReply::AppError(id)) => (app_error(id), None),
        Some(MattermostReply::Status(status)) => (
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                format!("{status} error"),
            )
                .into_response(),
            None,
        ),
        Some(MattermostReply::TooManyRequests { retry_after_secs }) => {
            (limit_exceeded(10, retry_after_secs), None)
        }
        Some(MattermostReply::Delay(d)) => (check(&shared, &uri, &headers, &body), Some(d)),
        None => (check(&shared, &uri, &headers, &body), None),
    };
    shared.lock().statuses.push(response.status().as_u16());
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| {
            let v = v.replace('+', " ");
            let bytes = v.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%'
                    && let Some(b) = v
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(bytes[i]);
                i += 1;
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    })
}

fn check(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(per_sec) = shared.options.per_sec {
        // A GCRA with a burst of `per_sec` more, as throttled does, approximated by a window.
        let now = Instant::now();
        let mut state = shared.lock();
        while state
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            state.window.pop_front();
        }
        if state.window.len() >= (per_sec * 2) as usize {
            return limit_exceeded(per_sec, 1);
        }
        state.window.push_back(now);
    }
    let Some(key) = uri.path().strip_prefix("/hooks/") else {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    if shared.options.disabled {
        return app_error("web.incoming_webhook.disabled.app_error");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let value: Option<Value> = if media == "application/x-www-form-urlencoded" {
        form_value(body, "payload").and_then(|p| serde_json::from_str(&p).ok())
    } else {
        serde_json::from_slice(body).ok()
    };
    let Some(value) = value.filter(Value::is_object) else {
        return app_error("web.incoming_webhook.parse.app_error");
    };
    let text = value.get("text").and_then(Value::as_str).unwrap_or("");
    if text.is_empty() && value.get("attachments").is_none() {
        return app_error("web.incoming_webhook.text.app_error");
    }
    if key != shared.key {
        return app_error("web.incoming_webhook.invalid.app_error");
    }
    let chars: Vec<char> = text.chars().collect();
    let posts: Vec<String> = chars
        .chunks(MAX_RUNES)
        .map(|c| c.iter().collect())
        .collect();
    let (mentions, channel_wide) = mentions_in(text);
    shared.lock().received.push(MattermostPost {
        body: value.clone(),
        content_type,
        posts,
        mentions,
        channel_wide,
    });
    shared.arrived.notify_waiters();
    let mut r = (StatusCode::OK, "ok").into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
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

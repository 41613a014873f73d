//! Helpers shared by integration tests: add `mod support;` to a test file.
//!
//! - [`fake_http`]: the one scriptable loopback HTTP server every local platform runs on
//!   (scripted answers and dropped connections, request capture, waits); a platform's file is
//!   its checks and its answers;
//! - [`chat_servers`]: local fakes of DingTalk, WeCom, Feishu, Slack and a generic webhook;
//! - [`discord_server`], [`mattermost_server`]: local Discord and Mattermost, both ways;
//! - [`teams_server`], [`googlechat_server`]: Microsoft Teams (Workflows and the connector) and
//!   Google Chat (webhook, signing keys, tokens);
//! - [`dingtalk_stream_server`], [`slack_socket_server`], [`feishu_ws_server`]: the WebSocket
//!   gateways, on [`ws_gateway`]'s shared listener and ticket book;
//! - `telegram_server.rs` and `chaos_sink.rs`, included with `#[path]` by the one test file
//!   each that uses them (next to `mod support;`);
//! - [`channel`], [`part`], [`client`], [`dead_url`]: small builders for transport tests.
//!
//! One unwrap style across `tests/`: `.unwrap_or_else(|e| panic!("what failed: {e}"))` (for an
//! `Option`, `.unwrap_or_else(|| panic!("what is missing"))`), never `.unwrap()`, `.expect()`
//! or a `match` whose error arm panics. It was already the style of most tests (268 uses
//! against 176 `.unwrap()`, 38 `.expect()` and 27 `match`es), it says what failed as
//! `.expect()` does, and it keeps the library's rule against `unwrap`/`expect` greppable: any
//! of them under `src/` or `tests/` stands out. `store.rs`, where nearly every line is a store
//! call that must succeed, says so once with its `or_fail()` (the same panic, at the caller's
//! line).

// Each test file uses a different subset.
#![allow(dead_code)]

pub mod chat_servers;
pub mod daemon;
pub mod dingtalk_stream_server;
pub mod directory_servers;
pub mod discord_server;
pub mod fake_http;
pub mod feishu_ws_server;
pub mod googlechat_server;
pub mod logs;
pub mod mattermost_server;
pub mod pg;
pub mod slack_socket_server;
pub mod teams_server;
pub mod ws_gateway;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use weekbell::config::{ChannelConfig, PlatformSettings, TaskFilter, WebhookSettings};
use weekbell::platforms::Platform;
use weekbell::render::{Mention, OutboundPart};
use weekbell::secret::Secret;

/// A channel named `team` on `platform` posting to `webhook`, signed with `secret` if given
/// (for the generic webhook, as its `signing_secret`).
pub fn channel(platform: Platform, webhook: &str, secret: Option<&str>) -> ChannelConfig {
    let mut plain_secret = secret.map(Secret::new);
    let settings = match plain_secret.take() {
        Some(s) if platform == Platform::Webhook => PlatformSettings::Webhook(WebhookSettings {
            signing_secret: Some(s),
            ..Default::default()
        }),
        other => {
            plain_secret = other;
            PlatformSettings::empty(platform)
        }
    };
    ChannelConfig {
        name: "team".into(),
        platform,
        webhook: Some(Secret::new(webhook)),
        secret: plain_secret,
        settings,
        template_dir: None,
        filter: TaskFilter::default(),
        max_message_size: None,
        rate_limit: None,
        locale: None,
    }
}

/// One message part with `text`, a title and one mention.
pub fn part(text: &str) -> OutboundPart {
    OutboundPart {
        title: "本周督办 weekly digest".into(),
        text: text.into(),
        mentions: vec![Mention {
            person_id: Some("sun.qiang".into()),
            name: "孙强".into(),
            handle: Some("staff-0001".into()),
            mobile: None,
        }],
        part: 1,
        parts: 1,
    }
}

/// A client with `timeout`, no proxy (the fakes are on loopback) and no redirects.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// A loopback URL where nothing listens: a port bound and released again.
pub async fn dead_url(path: &str) -> String {
    let listener = bind_loopback().await;
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"));
    drop(listener);
    format!("http://{addr}{path}")
}

/// A Slack slash command's form body (`/weekbell TEXT` from `user`), as Slack posts it.
pub fn slack_form(text: &str, user: &str, trigger: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "token=deprecated&team_id=T0001&channel_id=C2147483705&user_id={user}&user_name=x&command=%2Fweekbell&text={}&api_app_id=A123&response_url={}&trigger_id={trigger}",
        enc(text),
        enc("https://hooks.slack.com/commands/T0001/1234/abcd")
    )
}

/// A loopback port free now, for a daemon's `[server] listen` (the daemon binds it itself, so
/// the test cannot hand it a listener).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
        .port()
}

/// A listener on a random loopback port, for the local platform fakes.
pub async fn bind_loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
}

/// Locks `m` even when a panicking test thread poisoned it: the peers' records must stay
/// readable for the assertions and messages that explain the panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

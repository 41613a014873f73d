//! Slack Socket Mode: slash commands and Events API events over a WebSocket the app opens
//! itself, for workspaces whose weekbell has no public URL.
//!
//! Each connection starts with `POST {api_base}/api/apps.connections.open` with the app-level
//! token (`xapp-…`, scope `connections:write`) as `Authorization: Bearer`; the answer is a
//! one-time `wss://` URL. The frames are JSON text:
//! - `hello` once connected; `disconnect` when Slack wants the app on a new connection
//!   (`refresh_requested`, `warning`: a new one is opened *before* this one is closed, as the
//!   Python SDK does; `too_many_websockets`: more than 10 connections for the app, so the
//!   client backs off instead of adding to them);
//! - envelopes `{envelope_id, type, payload, accepts_response_payload, retry_attempt}` of type
//!   `events_api`, `slash_commands` or `interactive`, each to be acked with
//!   `{"envelope_id": …}` within 3 s or Slack sends it again (`retry_attempt` 1…3). The payloads
//!   are what the HTTP endpoints receive, as JSON and unsigned (the connection is
//!   authenticated by the token), and are read by [`crate::inbound::slack`]'s parsers.
//!
//! Events are acked on receipt and then handed over; the answer goes through the channel's
//! webhook ([`crate::inbound::ReplyRoute::SlackChannel`]). A slash command's answer can ride in its ack
//! (`{"envelope_id", "payload": {"text", "response_type"}}`), so the handler is given an
//! [`InlineAnswer`] and the ack waits for it up to [`INLINE_WAIT`]; a command slower than that
//! is acked without an answer, and the handler's `send` then fails so it can post the answer
//! another way. An ack goes out on whichever connection is current when it is ready, so a
//! command still running when Slack moves the app to a new connection is acked there. Repeats
//! are recognised by `event_id`, by the message's channel and `ts`, and by the command's
//! `trigger_id`, so Slack's redeliveries change nothing twice.
//!
//! The token never reaches a log line; the socket URL is logged without its query (the
//! ticket). Slack pings the socket (tungstenite answers); the shared watchdog pings back after
//! `keepalive` of silence.

use super::socket::{self, Endpoint, Failure, Link, Seen, Step, Then, printable};
use crate::backoff::Backoff;
use crate::inbound::slack::{command_from, event_from};
use crate::inbound::{InboundMessage, Verdict, str_at};
use crate::secret::Redactor;
use crate::secret::Secret;
use crate::shutdown::Shutdown;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Slack's Web API host.
pub const DEFAULT_API_BASE: &str = "https://slack.com";
/// Where a Socket Mode URL is asked for, under the API base.
pub const OPEN_PATH: &str = "/api/apps.connections.open";
/// How long an ack waits for a slash command's answer: Slack gives 3 s for the ack, and the
/// answer must still travel.
pub const INLINE_WAIT: Duration = Duration::from_millis(2500);
/// Slack's last retry of an event comes about 5 minutes after the first delivery; ids are
/// remembered twice that long.
const SEEN_TTL: Duration = Duration::from_secs(10 * 60);
const SEEN_CAPACITY: usize = 10_000;
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Slack's `ratelimited` without a `Retry-After`: the Python SDK's default.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// Errors of `apps.connections.open` that no retry will cure, with what to do about each.
const FATAL: [(&str, &str); 8] = [
    (
        "not_authed",
        "set app_token to the app-level token (xapp-…) from the app's Basic Information → \
         App-Level Tokens",
    ),
    (
        "invalid_auth",
        "app_token is not a valid token: copy the app-level token (xapp-…) again from Basic \
         Information → App-Level Tokens",
    ),
    (
        "not_allowed_token_type",
        "app_token must be an app-level token (xapp-…), not a bot (xoxb-) or user (xoxp-) token",
    ),
    (
        "missing_scope",
        "give the app-level token the connections:write scope",
    ),
    (
        "account_inactive",
        "the token belongs to a deleted user or a deactivated app",
    ),
    (
        "token_revoked",
        "the token was revoked: generate a new app-level token",
    ),
    (
        "user_removed_from_team",
        "the token's user was removed from the workspace",
    ),
    ("team_disabled", "the workspace has been disabled"),
];

/// How to reach Slack in Socket Mode. `Debug` shows the token as `***`.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// The app-level token (`xapp-…`) with `connections:write`. Sent only in the open call's
    /// `Authorization` header.
    pub app_token: Secret,
    /// Base URL of the Web API, no trailing path: [`DEFAULT_API_BASE`]; tests use loopback.
    pub api_base: String,
    /// Waits between failed connection attempts.
    pub backoff: Backoff,
    /// Silence on the socket after which the client sends a WebSocket ping. Slack pings at
    /// least every 30 s (the Node SDK's `serverPingTimeout`), so 30 s of silence is already
    /// unusual.
    pub keepalive: Duration,
}

impl SocketConfig {
    /// The production settings: [`DEFAULT_API_BASE`], 1 s → 60 s backoff, 30 s keepalive.
    pub fn new(app_token: Secret) -> Self {
        SocketConfig {
            app_token,
            api_base: DEFAULT_API_BASE.to_string(),
            backoff: Backoff::default(),
            keepalive: Duration::from_secs(30),
        }
    }
}

/// The way back into a slash command's ack. [`InlineAnswer::send`] fails once the ack has gone
/// without it, or once [`INLINE_WAIT`] has passed since the envelope arrived: the caller must
/// then deliver the answer another way.
#[derive(Debug)]
pub struct InlineAnswer {
    ack: oneshot::Sender<Value>,
    /// Checked here as well as by the ack's own wait, which is only polled while a connection
    /// is up: an answer given during a reconnect after this would ride in an ack Slack no
    /// longer takes.
    deadline: Instant,
}

impl InlineAnswer {
    /// Puts `payload` (a message: `{"text", "response_type"}`) into the ack; gives it back if
    /// the ack has already gone or is too late to carry it.
    pub fn send(self, payload: Value) -> Result<(), Value> {
        if Instant::now() >= self.deadline {
            return Err(payload);
        }
        self.ack.send(payload)
    }
}

/// Runs the Socket Mode client until `shutdown` becomes true (or its sender is dropped).
///
/// `handler` gets each command and mention addressed to the app, with an [`InlineAnswer`] for
/// slash commands (`None` for events, which are answered through the channel). Handlers run
/// concurrently with each other and with the connection, inside this future. Failures are
/// logged (target `weekbell::inbound::socket`) and retried with backoff; a token Slack refuses
/// for good (`invalid_auth`, `not_allowed_token_type`, …) stops the client with an error line
/// saying what to fix. A blank token is reported once and the client only waits for shutdown.
pub async fn run<H, Fut>(
    config: SocketConfig,
    http: reqwest::Client,
    handler: H,
    shutdown: impl Into<Shutdown>,
) where
    H: Fn(InboundMessage, Option<InlineAnswer>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut shutdown = shutdown.into();
    let token = config.app_token.expose();
    let app = app_id(token);
    if token.trim().is_empty() {
        tracing::error!(
            "Slack Socket Mode: app_token is empty; set it to the app-level token (xapp-…). \
             Not connecting."
        );
        shutdown.recv().await;
        return;
    }
    if !token.trim().starts_with("xapp-") {
        tracing::warn!(
            app,
            "Slack Socket Mode: app_token does not start with xapp-; Socket Mode needs the \
             app-level token, not the bot token"
        );
    }
    let client = Slack {
        config,
        app,
        handler,
        seen: Seen::new(SEEN_CAPACITY, SEEN_TTL),
        pending: FuturesUnordered::new(),
        handled: PhantomData,
    };
    socket::run(client, http, shutdown).await;
}

/// The app id inside an app-level token (`xapp-1-A0123ABCD-…`): public, and what Slack's
/// pages call the app, so log lines can name it. Empty for a token of another shape.
fn app_id(token: &str) -> String {
    token
        .trim()
        .split('-')
        .nth(2)
        .filter(|id| id.starts_with('A') && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("")
        .to_string()
}

type Answered = Pin<Box<dyn Future<Output = (String, Option<Value>)> + Send>>;

struct Slack<H, Fut> {
    config: SocketConfig,
    app: String,
    handler: H,
    seen: Seen,
    /// Slash commands whose ack waits for their answer. Not tied to a connection: each ack goes
    /// out on whichever connection is current when it is ready.
    pending: FuturesUnordered<Answered>,
    handled: PhantomData<fn() -> Fut>,
}

/// What an envelope asks of us.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per frame, matched at once; a box would only add an allocation"
)]
enum Envelope {
    /// Ack now, nothing else (a repeat, an interactive payload, a bot's message …).
    Ack,
    /// Ack now, then hand over.
    Event(InboundMessage),
    /// Hand over, and ack once the answer is there (or [`INLINE_WAIT`] has passed).
    Command(InboundMessage),
    /// Too many handlers running: no ack, so Slack sends it again.
    Hold,
}

impl<H, Fut> socket::Client for Slack<H, Fut>
where
    H: Fn(InboundMessage, Option<InlineAnswer>) -> Fut,
    Fut: Future<Output = ()>,
{
    type Handled = Fut;
    type Opener = SocketConfig;
    type Opened = ();
    type Event = (String, Option<Value>);

    const LABEL: &'static str = "Slack Socket Mode";
    const PLATFORM: &'static str = "slack";

    fn app(&self) -> &str {
        &self.app
    }

    fn opener(&self) -> SocketConfig {
        self.config.clone()
    }

    async fn open(config: SocketConfig, http: reqwest::Client) -> Result<Endpoint<()>, Failure> {
        let token = config.app_token.expose().trim().to_string();
        let url = format!("{}{OPEN_PATH}", config.api_base.trim_end_matches('/'));
        let sent = http
            .post(url)
            .bearer_auth(&token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .timeout(OPEN_TIMEOUT)
            .send()
            .await;
        let response = sent.map_err(|e| {
            Failure::retry(format!(
                "cannot reach apps.connections.open: {}",
                Redactor::of([token.as_str()]).text(&e.without_url().to_string())
            ))
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(3600)));
        let body = response.bytes().await.map_err(|e| {
            Failure::retry(format!(
                "cannot read the answer of apps.connections.open: {}",
                e.without_url()
            ))
        })?;
        opened(status, retry_after, &body, &token)
    }

    fn connected(&mut self, (): ()) {
        // Acks still waiting for a command's answer are kept: Slack takes an ack on any of the
        // app's connections, and the official Python SDK sends every ack on whichever
        // connection is current when the listener finishes (`send_socket_mode_response` writes
        // to `current_session`, replaced on reconnect). Dropping them here left a command that
        // outlived a `refresh_requested` unacked, shown in Slack as failed although it ran.
    }

    fn keepalive(&self) -> Duration {
        self.config.keepalive
    }

    fn retry_delay(&mut self, failures: u32) -> Option<Duration> {
        Some(self.config.backoff.jittered(failures))
    }

    async fn on_message(&mut self, link: &mut Link<'_, Fut>, message: Message) -> Step {
        let Message::Text(text) = message else {
            tracing::debug!(app = self.app, "Slack Socket Mode: ignoring a binary frame");
            return Step::Go;
        };
        let frame: Value = match serde_json::from_str(text.as_str()) {
            Ok(v) => v,
            Err(e) => {
                // serde_json's message holds only a position, never the input.
                tracing::warn!(
                    app = self.app,
                    "Slack Socket Mode: dropped an unreadable frame: not JSON ({e})"
                );
                return Step::Go;
            }
        };
        if let Some(id) = str_at(&frame, &["envelope_id"]) {
            let id = id.to_string();
            return match envelope(&mut self.seen, link.busy(), &frame, Instant::now()) {
                Envelope::Ack => acked(link, &id, None).await,
                Envelope::Hold => {
                    tracing::warn!(
                        app = self.app,
                        "Slack Socket Mode: {} commands are still being handled; leaving one \
                         unacked for Slack to send again",
                        socket::MAX_IN_FLIGHT
                    );
                    Step::Go
                }
                Envelope::Event(message) => {
                    let step = acked(link, &id, None).await;
                    // Handled even if the ack was lost: a redelivery is caught by `seen`.
                    link.spawn((self.handler)(message, None));
                    step
                }
                Envelope::Command(message) => {
                    let (ack, rx) = oneshot::channel();
                    let deadline = Instant::now() + INLINE_WAIT;
                    let inline = InlineAnswer { ack, deadline };
                    link.spawn((self.handler)(message, Some(inline)));
                    self.pending.push(Box::pin(async move {
                        let answer = tokio::time::timeout_at(deadline, rx).await;
                        (id, answer.ok().and_then(Result::ok))
                    }));
                    Step::Go
                }
            };
        }
        match str_at(&frame, &["type"]) {
            Some("hello") => {
                tracing::info!(
                    app = self.app,
                    connections = frame["num_connections"].as_u64(),
                    approximate_connection_time_s =
                        frame["debug_info"]["approximate_connection_time"].as_u64(),
                    "Slack Socket Mode: hello"
                );
                Step::Go
            }
            Some("disconnect") => {
                let reason = printable(str_at(&frame, &["reason"]).unwrap_or("none given"), 64);
                match reason.as_str() {
                    "refresh_requested" | "warning" => {
                        Step::Refresh(format!("Slack sent disconnect ({reason})"))
                    }
                    "too_many_websockets" => Step::Lost(
                        "Slack sent disconnect (too_many_websockets): the app has more than 10 \
                         connections; is another weekbell, or another tool, using the same app \
                         token?"
                            .to_string(),
                    ),
                    _ => Step::Reconnect(format!("Slack sent disconnect ({reason})")),
                }
            }
            other => {
                let kind = printable(other.unwrap_or(""), 32);
                tracing::debug!(
                    app = self.app,
                    kind,
                    "Slack Socket Mode: ignoring a frame without an envelope"
                );
                Step::Go
            }
        }
    }

    async fn next_event(&mut self) -> (String, Option<Value>) {
        match self.pending.next().await {
            Some(answered) => answered,
            None => std::future::pending().await,
        }
    }

    async fn on_event(&mut self, link: &mut Link<'_, Fut>, event: Self::Event) -> Step {
        let (id, answer) = event;
        if answer.is_none() {
            tracing::info!(
                app = self.app,
                "Slack Socket Mode: a slash command took longer than {} ms; acked without its \
                 answer, which follows through the channel's webhook",
                INLINE_WAIT.as_millis()
            );
        }
        acked(link, &id, answer).await
    }
}

/// Sends the ack of envelope `id`, with the command's answer if there is one.
async fn acked<F: Future<Output = ()>>(
    link: &mut Link<'_, F>,
    id: &str,
    payload: Option<Value>,
) -> Step {
    match link.send(Message::text(ack(id, payload))).await {
        Ok(()) => Step::Go,
        Err(e) => Step::Lost(format!("cannot send an ack: {e}")),
    }
}

/// `{"envelope_id": …}`, plus `"payload"` when it answers a slash command.
fn ack(envelope_id: &str, payload: Option<Value>) -> String {
    match payload {
        Some(payload) => json!({"envelope_id": envelope_id, "payload": payload}),
        None => json!({"envelope_id": envelope_id}),
    }
    .to_string()
}

/// The answer of `apps.connections.open`. Errors never quote the body, which holds the URL.
fn opened(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    token: &str,
) -> Result<Endpoint<()>, Failure> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = str_at(&value, &["error"]).map(|e| printable(e, 64));
    if status == 429 || error.as_deref() == Some("ratelimited") {
        let wait = retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
        return Err(Failure {
            why: format!(
                "apps.connections.open is rate limited; waiting {} s as Slack asks",
                wait.as_secs()
            ),
            then: Then::Wait(wait),
        });
    }
    if value["ok"] == Value::Bool(true)
        && let Some(url) = str_at(&value, &["url"])
    {
        let url = url.trim().to_string();
        let mut secrets: Vec<String> = reqwest::Url::parse(&url)
            .map(|u| u.query_pairs().map(|(_, v)| v.into_owned()).collect())
            .unwrap_or_default();
        secrets.retain(|s| s.len() >= 4);
        secrets.push(token.to_string());
        return Ok(Endpoint {
            url,
            secrets,
            opened: (),
        });
    }
    match error {
        Some(error) => match FATAL.iter().find(|(code, _)| *code == error) {
            Some((_, hint)) => Err(Failure {
                why: format!("Slack refused the app token ({error}): {hint}"),
                then: Then::Stop,
            }),
            None => Err(Failure::retry(format!(
                "apps.connections.open answered HTTP {status}, error {error}"
            ))),
        },
        None if value.is_null() => Err(Failure::retry(format!(
            "apps.connections.open answered HTTP {status} without JSON"
        ))),
        None => Err(Failure::retry(format!(
            "apps.connections.open answered HTTP {status} without a URL"
        ))),
    }
}

/// Decides about one envelope. Events are remembered by `event_id` and by the message (a
/// mention can arrive as `app_mention` and as `message`), commands by `trigger_id`; a repeat is
/// acked again and not handed over. Unreadable payloads are acked too: a redelivery would be
/// just as unreadable.
fn envelope(seen: &mut Seen, busy: bool, frame: &Value, now: Instant) -> Envelope {
    let kind = str_at(frame, &["type"]).unwrap_or("");
    let retry = frame["retry_attempt"].as_u64().is_some_and(|n| n > 0);
    let payload = &frame["payload"];
    let verdict = match kind {
        "slash_commands" => command_from(|key| str_at(payload, &[key]), retry),
        "events_api" => {
            if let Some(event_id) = str_at(payload, &["event_id"]) {
                let key = format!("event:{event_id}");
                if seen.contains(&key, now) {
                    tracing::debug!("Slack Socket Mode: event delivered again; acked");
                    return Envelope::Ack;
                }
                if !busy {
                    seen.insert(key, now);
                }
            }
            event_from(payload, retry)
        }
        other => {
            let kind = printable(other, 32);
            tracing::debug!(kind, "Slack Socket Mode: envelope not handled; acked");
            return Envelope::Ack;
        }
    };
    match verdict {
        Err(refusal) => {
            tracing::warn!("Slack Socket Mode: unreadable {kind} envelope acked: {refusal}");
            Envelope::Ack
        }
        Ok(Verdict::Message(message)) => {
            let key = format!("msg:{}", message.message_id);
            if seen.contains(&key, now) {
                tracing::debug!("Slack Socket Mode: message delivered again; acked");
                Envelope::Ack
            } else if busy {
                Envelope::Hold
            } else {
                seen.insert(key, now);
                if kind == "slash_commands" {
                    Envelope::Command(message)
                } else {
                    Envelope::Event(message)
                }
            }
        }
        Ok(Verdict::Ignore(why)) => {
            tracing::debug!("Slack Socket Mode: {why}");
            Envelope::Ack
        }
        Ok(Verdict::Challenge { .. } | Verdict::Added { .. }) => Envelope::Ack,
    }
}

/// What a user typed, as the command parser would see it: for the fuzz target, which feeds
/// envelopes through the same decisions the client makes.
pub fn read_envelope(text: &str) -> Option<InboundMessage> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let mut seen = Seen::new(16, SEEN_TTL);
    match envelope(&mut seen, false, &frame, Instant::now()) {
        Envelope::Event(m) | Envelope::Command(m) => Some(m),
        Envelope::Ack | Envelope::Hold => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::slack::command_answer;
    use crate::inbound::{ReplyRoute, Sender};
    use proptest::prelude::*;

    fn command_envelope(id: &str, trigger: &str, text: &str) -> Value {
        json!({
            "envelope_id": id,
            "type": "slash_commands",
            "accepts_response_payload": true,
            "payload": {
                "token": "deprecated", "team_id": "T111", "team_domain": "acme",
                "channel_id": "C111", "channel_name": "eng", "user_id": "U222",
                "user_name": "alice", "command": "/weekbell", "text": text,
                "api_app_id": "A111", "is_enterprise_install": "false",
                "response_url": "https://hooks.slack.com/commands/T111/222/xyz",
                "trigger_id": trigger,
            },
        })
    }

    fn event_envelope(id: &str, event_id: &str, ts: &str, retry: u64) -> Value {
        json!({
            "envelope_id": id,
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": retry,
            "retry_reason": if retry > 0 { "timeout" } else { "" },
            "payload": {
                "token": "x", "team_id": "T111", "api_app_id": "A111",
                "type": "event_callback", "event_id": event_id, "event_time": 1_610_241_741,
                "event": {
                    "type": "app_mention", "user": "U222", "text": "<@U333> done 12",
                    "ts": ts, "channel": "C111", "event_ts": ts,
                },
                "authorizations": [{"team_id": "T111", "user_id": "U333", "is_bot": true}],
            },
        })
    }

    #[test]
    fn a_slash_command_is_read_from_its_json_payload() {
        let mut seen = Seen::new(100, SEEN_TTL);
        let now = Instant::now();
        let frame = command_envelope("e1", "13345224609.738474920.8088930838d88f008e0", "完成 12");
        let Envelope::Command(m) = envelope(&mut seen, false, &frame, now) else {
            panic!("not a command")
        };
        assert_eq!(m.message_id, "13345224609.738474920.8088930838d88f008e0");
        assert_eq!(m.text, "完成 12");
        assert_eq!(m.sender_name.as_deref(), Some("alice"));
        assert_eq!(
            m.sender,
            Sender::Slack {
                user_id: "U222".into(),
                team_id: Some("T111".into())
            }
        );
        assert!(
            matches!(m.reply, ReplyRoute::SlackCommand { ref channel_id, .. } if channel_id == "C111")
        );
        // The same trigger under another envelope: acked, not run again.
        let again = command_envelope("e2", "13345224609.738474920.8088930838d88f008e0", "完成 12");
        assert!(matches!(
            envelope(&mut seen, false, &again, now),
            Envelope::Ack
        ));
        // A bare `/weekbell` has empty text.
        let bare = command_envelope("e3", "t-3", "");
        assert!(
            matches!(envelope(&mut seen, false, &bare, now), Envelope::Command(m) if m.text.is_empty())
        );
    }

    #[test]
    fn events_are_deduplicated_by_event_id_and_message() {
        let mut seen = Seen::new(100, SEEN_TTL);
        let now = Instant::now();
        let first = event_envelope("e1", "Ev1", "1610241741.000200", 0);
        let Envelope::Event(m) = envelope(&mut seen, false, &first, now) else {
            panic!("not handed over")
        };
        assert_eq!(m.message_id, "C111:1610241741.000200");
        assert_eq!(m.text, "<@U333> done 12");
        assert!(!m.retry);
        // Slack's retry of the same event, and the same message under another event id.
        for frame in [
            event_envelope("e2", "Ev1", "1610241741.000200", 1),
            event_envelope("e3", "Ev2", "1610241741.000200", 0),
        ] {
            assert!(matches!(
                envelope(&mut seen, false, &frame, now),
                Envelope::Ack
            ));
        }
        // A retry of an event first seen while busy is handed over, marked as a retry.
        let held = event_envelope("e4", "Ev3", "1610241741.000300", 0);
        assert!(matches!(
            envelope(&mut seen, true, &held, now),
            Envelope::Hold
        ));
        let retried = event_envelope("e5", "Ev3", "1610241741.000300", 1);
        assert!(matches!(envelope(&mut seen, false, &retried, now), Envelope::Event(m) if m.retry));
    }

    #[test]
    fn bots_interactions_and_junk_are_acked_and_skipped() {
        let mut seen = Seen::new(100, SEEN_TTL);
        let now = Instant::now();
        let mut own = event_envelope("e1", "Ev9", "1.2", 0);
        own["payload"]["event"]["user"] = json!("U333");
        let mut bot = event_envelope("e2", "Ev10", "1.3", 0);
        bot["payload"]["event"]["bot_id"] = json!("B1");
        let interactive = json!({"envelope_id": "e3", "type": "interactive",
            "accepts_response_payload": false, "payload": {"type": "block_actions"}});
        let broken =
            json!({"envelope_id": "e4", "type": "slash_commands", "payload": {"text": "x"}});
        let not_object = json!({"envelope_id": "e5", "type": "events_api", "payload": "x"});
        for frame in [own, bot, interactive, broken, not_object] {
            assert!(
                matches!(envelope(&mut seen, false, &frame, now), Envelope::Ack),
                "{frame}"
            );
        }
    }

    #[test]
    fn acks_have_the_sdk_shape() {
        assert_eq!(
            ack("57d6a792-4d35", None),
            r#"{"envelope_id":"57d6a792-4d35"}"#
        );
        assert_eq!(
            ack("57d6a792-4d35", Some(command_answer("*done*", false))),
            r#"{"envelope_id":"57d6a792-4d35","payload":{"response_type":"in_channel","text":"*done*"}}"#
        );
    }

    #[test]
    fn the_open_answer_is_read_and_its_errors_sorted() {
        let ok = br#"{"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=12348-abcd&app_id=A5678"}"#;
        let Ok(endpoint) = opened(200, None, ok, "xapp-1-A5678-1-ab") else {
            panic!("refused")
        };
        assert_eq!(
            endpoint.url,
            "wss://wss-primary.slack.com/link/?ticket=12348-abcd&app_id=A5678"
        );
        assert!(endpoint.secrets.contains(&"12348-abcd".to_string()));
        assert!(endpoint.secrets.contains(&"xapp-1-A5678-1-ab".to_string()));

        let stop = opened(200, None, br#"{"ok":false,"error":"invalid_auth"}"#, "t").err();
        assert!(
            matches!(stop, Some(Failure { then: Then::Stop, ref why }) if why.contains("invalid_auth") && why.contains("xapp-"))
        );
        let wrong_type = opened(
            200,
            None,
            br#"{"ok":false,"error":"not_allowed_token_type"}"#,
            "t",
        );
        assert!(matches!(
            wrong_type,
            Err(Failure {
                then: Then::Stop,
                ..
            })
        ));
        let limited = opened(
            429,
            Some(Duration::from_secs(7)),
            br#"{"ok":false,"error":"ratelimited"}"#,
            "t",
        );
        assert!(
            matches!(limited, Err(Failure { then: Then::Wait(d), .. }) if d == Duration::from_secs(7))
        );
        let limited_no_header = opened(200, None, br#"{"ok":false,"error":"ratelimited"}"#, "t");
        assert!(
            matches!(limited_no_header, Err(Failure { then: Then::Wait(d), .. }) if d == DEFAULT_RATE_LIMIT_WAIT)
        );
        for (status, body) in [
            (500, &b"<html>oops</html>"[..]),
            (200, br#"{"ok":false,"error":"internal_error"}"#),
            (200, br#"{"ok":true}"#),
            (200, b""),
        ] {
            assert!(
                matches!(
                    opened(status, None, body, "t"),
                    Err(Failure {
                        then: Then::Retry,
                        ..
                    })
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn the_app_id_is_read_from_the_token() {
        assert_eq!(app_id("xapp-1-A0123ABCD-4567-89abcdef"), "A0123ABCD");
        assert_eq!(app_id("xoxb-123-456"), "");
        assert_eq!(app_id(""), "");
        assert_eq!(app_id("xapp-1-A0/x-1"), "");
    }

    #[test]
    fn an_inline_answer_fails_once_the_ack_is_gone_or_too_late() {
        let in_time = Instant::now() + INLINE_WAIT;
        let (ack, rx) = oneshot::channel();
        drop(rx);
        let gone = InlineAnswer {
            ack,
            deadline: in_time,
        };
        assert_eq!(gone.send(json!({"text": "x"})), Err(json!({"text": "x"})));
        let (ack, mut rx) = oneshot::channel();
        let waiting = InlineAnswer {
            ack,
            deadline: in_time,
        };
        assert!(waiting.send(json!({"text": "y"})).is_ok());
        assert_eq!(rx.try_recv().ok(), Some(json!({"text": "y"})));
        // The ack still waits (no connection is up to poll its timer), but its time is over.
        let (ack, mut rx) = oneshot::channel();
        let late = InlineAnswer {
            ack,
            deadline: Instant::now(),
        };
        assert_eq!(late.send(json!({"text": "z"})), Err(json!({"text": "z"})));
        assert!(rx.try_recv().is_err());
    }

    proptest! {
        #[test]
        fn envelopes_never_panic(text in "\\PC{0,300}", kind in 0usize..4) {
            let kinds = ["slash_commands", "events_api", "interactive", "hello"];
            let frame = json!({"envelope_id": "e", "type": kinds[kind], "payload": {"text": text.clone(),
                "event": {"type": "app_mention", "text": text, "user": "U", "ts": "1", "channel": "C"},
                "type": "event_callback"}});
            let _ = read_envelope(&frame.to_string());
        }

        #[test]
        fn any_text_never_panics(text in "\\PC{0,300}") {
            let _ = read_envelope(&text);
        }
    }
}

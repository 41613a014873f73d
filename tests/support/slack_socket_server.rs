//! A local stand-in for Slack's Socket Mode, for tests of `weekbell::inbound::slack_socket`.
//!
//! It plays both halves on `127.0.0.1`, checking what Slack checks and answering as Slack does:
//! - `POST /api/apps.connections.open` (HTTP, on `fake_http.rs`) wants
//!   `Authorization: Bearer <app token>` (none: `{"ok":false,"error":"not_authed"}`; another:
//!   `invalid_auth`; a bot token `xoxb-…`: `not_allowed_token_type`, as Slack answers) and returns
//!   `{"ok":true,"url":"ws://127.0.0.1:P/link/?ticket=…&app_id=A0TESTAPP"}` with a fresh ticket.
//!   Answers can be scripted ([`FakeSocketMode::script`]): `ratelimited` as HTTP 429 with
//!   `Retry-After`, or any other error body.
//! - the WebSocket at `/link/?ticket=…` refuses (HTTP 401) a ticket it did not issue or one
//!   already used, sends `hello` first thing, pings the client every [`PING_EVERY`] and counts
//!   the pongs. Each connection is handed to the test as a [`SlackConn`]: the test sends
//!   envelopes and reads acks. [`SlackConn::deliver`] behaves as Slack does with an
//!   `events_api` envelope left unacked for [`ACK_DEADLINE`]: it sends it again with
//!   `retry_attempt` 1, 2, 3 and `retry_reason: "timeout"`.

#![allow(dead_code)]

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen};
use super::lock;
use super::ws_gateway::{Refusal, TicketProblem, Tickets, WsListener, ticket_of};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Request;

/// How long Slack waits for an ack before sending an envelope again.
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How often the fake pings each connection (Slack: at least every 30 s).
pub const PING_EVERY: Duration = Duration::from_millis(200);
/// The app id in the URLs handed out.
pub const APP_ID: &str = "A0TESTAPP";
const OPEN_PATH: &str = "/api/apps.connections.open";

/// One call of `apps.connections.open`, as received and answered.
#[derive(Debug, Clone)]
pub struct OpenCall {
    pub authorization: Option<String>,
    pub answer: Value,
    pub status: u16,
    pub at: Instant,
}

/// A scripted answer of `apps.connections.open`.
#[derive(Debug, Clone)]
pub enum OpenReply {
    /// HTTP 429, `Retry-After: secs`, `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 with `{"ok":false,"error":…}`.
    Error(String),
}

struct Peer {
    app_token: String,
    ws_addr: String,
    tickets: Arc<Mutex<Tickets>>,
}

pub struct FakeSocketMode {
    http: FakeHttp,
    ws: WsListener<SlackConn>,
    peer: Arc<Peer>,
}

impl FakeSocketMode {
    /// Slack for an app whose app-level token is `app_token`.
    pub async fn start(app_token: &str) -> Self {
        let tickets = Arc::new(Mutex::new(Tickets::default()));
        let handshakes = Arc::clone(&tickets);
        let ws = WsListener::start(move |req| handshake(&handshakes, req), serve).await;
        let peer = Arc::new(Peer {
            app_token: app_token.to_string(),
            ws_addr: ws.addr().to_string(),
            tickets,
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start(move |seen| connections_open(&checks, seen)).await;
        FakeSocketMode { http, ws, peer }
    }

    /// The value for the channel's `api_base` (`SocketConfig::api_base`).
    pub fn api_base(&self) -> String {
        self.http.base_url()
    }

    pub fn script(&self, replies: impl IntoIterator<Item = OpenReply>) {
        self.http.script_when(
            |seen| seen.path() == OPEN_PATH && seen.method == "POST",
            replies.into_iter().map(|r| {
                Scripted::Answer(match r {
                    OpenReply::RateLimited { retry_after_secs } => {
                        slack_reply(429, json!({"ok": false, "error": "ratelimited"}))
                            .with_header("retry-after", retry_after_secs.to_string())
                    }
                    OpenReply::Error(error) => {
                        slack_reply(200, json!({"ok": false, "error": error}))
                    }
                })
            }),
        );
    }

    /// The answered calls of `apps.connections.open`.
    pub fn open_calls(&self) -> Vec<OpenCall> {
        self.http
            .exchanges()
            .into_iter()
            .filter(|e| e.seen.path() == OPEN_PATH && e.seen.method == "POST")
            .filter_map(|e| {
                Some(OpenCall {
                    authorization: e.seen.header("authorization").map(str::to_string),
                    answer: serde_json::from_str(&e.reply_body).unwrap_or(Value::Null),
                    status: e.status?,
                    at: e.seen.at,
                })
            })
            .collect()
    }

    pub fn tickets(&self) -> Vec<String> {
        lock(&self.peer.tickets).issued()
    }

    pub fn refused_sockets(&self) -> Vec<String> {
        self.ws.refused()
    }

    /// The next accepted connection (its `hello` already sent); panics if none comes `within`.
    pub async fn next_connection(&self, within: Duration) -> SlackConn {
        self.ws
            .next(within, "Socket Mode connection", || {
                format!(
                    "open calls: {:?}; refused: {:?}",
                    self.open_calls(),
                    self.refused_sockets()
                )
            })
            .await
    }

    /// Whether a connection arrives `within`.
    pub async fn try_next_connection(&self, within: Duration) -> Option<SlackConn> {
        self.ws.try_next(within).await
    }
}

fn slack_reply(status: u16, body: Value) -> Answer {
    Answer::json(status, &body)
}

fn connections_open(peer: &Peer, seen: &Seen) -> Checked {
    if seen.path() != OPEN_PATH {
        return Checked::Answer(Answer::empty(404));
    }
    if seen.method != "POST" {
        return Checked::Answer(Answer::empty(405));
    }
    let token = seen
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let error =
        |error: &str| Checked::Answer(slack_reply(200, json!({"ok": false, "error": error})));
    match token {
        None => error("not_authed"),
        Some(t) if t.starts_with("xoxb-") || t.starts_with("xoxp-") => {
            error("not_allowed_token_type")
        }
        Some(t) if t != peer.app_token => error("invalid_auth"),
        Some(_) => {
            let ticket = format!(
                "{:08x}-{:04x}-{:04x}",
                fastrand::u32(..),
                fastrand::u16(..),
                fastrand::u16(..)
            );
            lock(&peer.tickets).issue(&ticket);
            let url = format!(
                "ws://{}/link/?ticket={ticket}&app_id={APP_ID}",
                peer.ws_addr
            );
            Checked::Answer(slack_reply(200, json!({"ok": true, "url": url})))
        }
    }
}

/// The ticket a handshake opens with, or why it is refused (HTTP 401).
fn handshake(tickets: &Mutex<Tickets>, req: &Request) -> Result<String, Refusal> {
    let ticket = ticket_of(req);
    if req.uri().path() != "/link/" {
        return Err(Refusal::unauthorized(format!("path {}", req.uri().path())));
    }
    match lock(tickets).redeem(&ticket, None) {
        Ok(()) => Ok(ticket),
        Err(TicketProblem::Reused) => Err(Refusal::unauthorized("ticket reused")),
        Err(TicketProblem::Unknown | TicketProblem::Expired) => {
            Err(Refusal::unauthorized("unknown ticket"))
        }
    }
}

/// Greets a new connection with `hello`, then pings it every [`PING_EVERY`], counting pongs,
/// and passes frames both ways between the socket and the test's [`SlackConn`].
async fn serve(mut ws: WebSocketStream<TcpStream>, ticket: String) -> Option<SlackConn> {
    let hello = json!({
        "type": "hello", "num_connections": 1,
        "debug_info": {"host": "applink-fake", "build_number": 10, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    });
    ws.send(Message::text(hello.to_string())).await.ok()?;
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let (in_tx, in_rx) = mpsc::unbounded_channel::<Value>();
    let pongs = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(tokio::sync::Notify::new());
    let task_pongs = pongs.clone();
    let task_closed = closed.clone();
    let task = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        loop {
            tokio::select! {
                out = out_rx.recv() => match out {
                    Some(m) => if ws.send(m).await.is_err() { break },
                    None => { let _ = ws.close(None).await; break }
                },
                read = ws.next() => match read {
                    Some(Ok(Message::Text(t))) => {
                        let v = serde_json::from_str(t.as_str()).unwrap_or_else(|_| json!({"unparsable": t.as_str()}));
                        let _ = in_tx.send(v);
                    }
                    Some(Ok(Message::Pong(_))) => { task_pongs.fetch_add(1, Ordering::SeqCst); }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => if ws.send(Message::Ping(Default::default())).await.is_err() { break },
            }
        }
        task_closed.notify_one();
    });
    Some(SlackConn {
        ticket,
        out: out_tx,
        acks: in_rx,
        pongs,
        closed,
        task,
    })
}

/// One accepted connection. Dropping it closes the socket.
pub struct SlackConn {
    pub ticket: String,
    out: mpsc::UnboundedSender<Message>,
    acks: mpsc::UnboundedReceiver<Value>,
    pongs: Arc<AtomicUsize>,
    closed: Arc<tokio::sync::Notify>,
    task: JoinHandle<()>,
}

impl Drop for SlackConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SlackConn {
    pub fn send(&self, frame: &Value) {
        let _ = self.out.send(Message::text(frame.to_string()));
    }

    pub fn send_text(&self, text: &str) {
        let _ = self.out.send(Message::text(text.to_string()));
    }

    /// `disconnect` with this reason, as Slack sends it.
    pub fn disconnect(&self, reason: &str) {
        self.send(&json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}));
    }

    /// Pongs received for the fake's pings.
    pub fn pongs(&self) -> usize {
        self.pongs.load(Ordering::SeqCst)
    }

    /// The next frame from the client; panics after `within`.
    pub async fn recv(&mut self, within: Duration) -> Value {
        match tokio::time::timeout(within, self.acks.recv()).await {
            Ok(Some(v)) => v,
            Ok(None) => panic!("the client closed the connection"),
            Err(_) => panic!("no frame from the client within {within:?}"),
        }
    }

    /// The next frame, or `None` if nothing comes `within`.
    pub async fn try_recv(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, self.acks.recv())
            .await
            .ok()
            .flatten()
    }

    /// Sends `envelope` and waits for its ack as Slack does: an `events_api` envelope left
    /// unacked for `deadline` is sent again with `retry_attempt` 1…3. Returns the ack and the
    /// `retry_attempt` it answered; panics if the last attempt goes unacked too.
    pub async fn deliver(&mut self, envelope: &Value, deadline: Duration) -> (Value, u64) {
        let id = envelope["envelope_id"].clone();
        let retried = envelope["type"] == "events_api";
        let mut envelope = envelope.clone();
        for attempt in 0..=3u64 {
            if attempt > 0 {
                envelope["retry_attempt"] = json!(attempt);
                envelope["retry_reason"] = json!("timeout");
            }
            self.send(&envelope);
            let until = Instant::now() + deadline;
            while let Ok(Some(frame)) = tokio::time::timeout_at(until, self.acks.recv()).await {
                if frame["envelope_id"] == id {
                    return (frame, attempt);
                }
            }
            if !retried {
                break;
            }
        }
        panic!("envelope {id} was never acked")
    }

    /// Waits until the client closes the connection; panics after `within`.
    pub async fn expect_closed(&self, within: Duration) {
        if self.task.is_finished() {
            return;
        }
        if tokio::time::timeout(within, self.closed.notified())
            .await
            .is_err()
            && !self.task.is_finished()
        {
            panic!("the client did not close the connection within {within:?}");
        }
    }

    pub fn is_closed(&self) -> bool {
        self.task.is_finished()
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes as Slack sends them.

/// A `slash_commands` envelope for `/weekbell TEXT` typed by `user`.
pub fn slash_command(envelope_id: &str, trigger_id: &str, user: &str, text: &str) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "token": "deprecated", "team_id": "T0001", "team_domain": "acme",
            "channel_id": "C2147483705", "channel_name": "eng", "user_id": user,
            "user_name": "someone", "command": "/weekbell", "text": text, "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0001/1234/abcd",
            "trigger_id": trigger_id,
        },
    })
}

/// An `events_api` envelope carrying an `app_mention` by `user` in channel C2147483705.
pub fn app_mention(envelope_id: &str, event_id: &str, ts: &str, user: &str, text: &str) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": {
            "token": "deprecated", "team_id": "T0001", "api_app_id": APP_ID,
            "type": "event_callback", "event_id": event_id, "event_time": 1_764_918_000,
            "event": {
                "type": "app_mention", "user": user, "text": format!("<@U0BOT> {text}"),
                "ts": ts, "channel": "C2147483705", "event_ts": ts,
                "client_msg_id": format!("{event_id}-client"),
            },
            "authorizations": [{"team_id": "T0001", "user_id": "U0BOT", "is_bot": true}],
        },
    })
}

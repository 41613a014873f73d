//! A local stand-in for Slack's Socket Mode, for tests of `weekbell::inbound::slack_socket`.
//!
//! It plays both halves on `127.0.0.1`, checking what Slack checks and answering as Slack does:
//! - `POST /api/apps.connections.open` (HTTP, axum) wants `Authorization: Bearer <app token>`
//!   (none: `{"ok":false,"error":"not_authed"}`; another: `invalid_auth`; a bot token `xoxb-…`:
//!   `not_allowed_token_type`, as Slack answers) and returns
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

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};

/// How long Slack waits for an ack before sending an envelope again.
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How often the fake pings each connection (Slack: at least every 30 s).
pub const PING_EVERY: Duration = Duration::from_millis(200);
/// The app id in the URLs handed out.
pub const APP_ID: &str = "A0TESTAPP";

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

struct Shared {
    app_token: String,
    ws_addr: String,
    script: VecDeque<OpenReply>,
    issued: HashSet<String>,
    used: HashSet<String>,
    opens: Vec<OpenCall>,
    refused_sockets: Vec<String>,
}

pub struct FakeSocketMode {
    api_base: String,
    shared: Arc<Mutex<Shared>>,
    conns: tokio::sync::Mutex<mpsc::UnboundedReceiver<SlackConn>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeSocketMode {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn addr(l: &TcpListener) -> String {
    match l.local_addr() {
        Ok(a) => a.to_string(),
        Err(e) => panic!("no local address: {e}"),
    }
}

impl FakeSocketMode {
    /// Slack for an app whose app-level token is `app_token`.
    pub async fn start(app_token: &str) -> Self {
        let http = super::bind_loopback().await;
        let ws = super::bind_loopback().await;
        let api_base = format!("http://{}", addr(&http));
        let shared = Arc::new(Mutex::new(Shared {
            app_token: app_token.to_string(),
            ws_addr: addr(&ws),
            script: VecDeque::new(),
            issued: HashSet::new(),
            used: HashSet::new(),
            opens: Vec::new(),
            refused_sockets: Vec::new(),
        }));
        let router = Router::new()
            .route(
                "/api/apps.connections.open",
                axum::routing::post(connections_open),
            )
            .with_state(shared.clone());
        let http_task = tokio::spawn(async move {
            let _ = axum::serve(http, router).await;
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let ws_shared = shared.clone();
        let ws_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = ws.accept().await else {
                    continue;
                };
                tokio::spawn(handshake(stream, ws_shared.clone(), tx.clone()));
            }
        });
        FakeSocketMode {
            api_base,
            shared,
            conns: tokio::sync::Mutex::new(rx),
            tasks: vec![http_task, ws_task],
        }
    }

    /// The value for the channel's `api_base` (`SocketConfig::api_base`).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    pub fn script(&self, replies: impl IntoIterator<Item = OpenReply>) {
        lock(&self.shared).script.extend(replies);
    }

    pub fn open_calls(&self) -> Vec<OpenCall> {
        lock(&self.shared).opens.clone()
    }

    pub fn tickets(&self) -> Vec<String> {
        lock(&self.shared).issued.iter().cloned().collect()
    }

    pub fn refused_sockets(&self) -> Vec<String> {
        lock(&self.shared).refused_sockets.clone()
    }

    /// The next accepted connection (its `hello` already sent); panics if none comes `within`.
    pub async fn next_connection(&self, within: Duration) -> SlackConn {
        let mut rx = self.conns.lock().await;
        match tokio::time::timeout(within, rx.recv()).await {
            Ok(Some(c)) => c,
            Ok(None) => panic!("the fake Slack stopped"),
            Err(_) => panic!(
                "no Socket Mode connection within {within:?}; open calls: {:?}; refused: {:?}",
                self.open_calls(),
                self.refused_sockets()
            ),
        }
    }

    /// Whether a connection arrives `within`.
    pub async fn try_next_connection(&self, within: Duration) -> Option<SlackConn> {
        let mut rx = self.conns.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }
}

async fn connections_open(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut s = lock(&shared);
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let (status, retry_after, answer) = match s.script.pop_front() {
        Some(OpenReply::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(retry_after_secs),
            json!({"ok": false, "error": "ratelimited"}),
        ),
        Some(OpenReply::Error(error)) => {
            (StatusCode::OK, None, json!({"ok": false, "error": error}))
        }
        None => match token {
            None => (
                StatusCode::OK,
                None,
                json!({"ok": false, "error": "not_authed"}),
            ),
            Some(t) if t.starts_with("xoxb-") || t.starts_with("xoxp-") => (
                StatusCode::OK,
                None,
                json!({"ok": false, "error": "not_allowed_token_type"}),
            ),
            Some(t) if t != s.app_token => (
                StatusCode::OK,
                None,
                json!({"ok": false, "error": "invalid_auth"}),
            ),
            Some(_) => {
                let ticket = format!(
                    "{:08x}-{:04x}-{:04x}",
                    fastrand::u32(..),
                    fastrand::u16(..),
                    fastrand::u16(..)
                );
                s.issued.insert(ticket.clone());
                let url = format!("ws://{}/link/?ticket={ticket}&app_id={APP_ID}", s.ws_addr);
                (StatusCode::OK, None, json!({"ok": true, "url": url}))
            }
        },
    };
    s.opens.push(OpenCall {
        authorization,
        answer: answer.clone(),
        status: status.as_u16(),
        at: Instant::now(),
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        answer.to_string(),
    )
        .into_response();
    if let Some(secs) = retry_after
        && let Ok(v) = secs.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's Callback trait fixes the error type"
)]
async fn handshake(
    stream: TcpStream,
    shared: Arc<Mutex<Shared>>,
    tx: mpsc::UnboundedSender<SlackConn>,
) {
    let check = shared.clone();
    let ticket_slot = Arc::new(Mutex::new(String::new()));
    let slot = ticket_slot.clone();
    let callback = move |req: &Request, resp: WsResponse| -> Result<WsResponse, ErrorResponse> {
        let mut s = lock(&check);
        let ticket = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("ticket="))
            .unwrap_or("")
            .to_string();
        let why = if req.uri().path() != "/link/" {
            Some(format!("path {}", req.uri().path()))
        } else if s.used.contains(&ticket) {
            Some("ticket reused".to_string())
        } else if !s.issued.contains(&ticket) {
            Some("unknown ticket".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            s.refused_sockets.push(why.clone());
            let mut r = ErrorResponse::new(Some(why));
            *r.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
            return Err(r);
        }
        s.used.insert(ticket.clone());
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = ticket;
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let hello = json!({
        "type": "hello", "num_connections": 1,
        "debug_info": {"host": "applink-fake", "build_number": 10, "approximate_connection_time": 18060},
        "connection_info": {"app_id": APP_ID},
    });
    if ws.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
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
    let ticket = ticket_slot
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = tx.send(SlackConn {
        ticket,
        out: out_tx,
        acks: in_rx,
        pongs,
        closed,
        task,
    });
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

//! A local stand-in for DingTalk's Stream-mode gateway, for tests of
//! `weekbell::inbound::dingtalk_stream`.
//!
//! Not part of `support/mod.rs`; include it with
//! `#[path = "support/dingtalk_stream_server.rs"] mod dingtalk_stream_server;`.
//!
//! It plays both halves of the protocol on `127.0.0.1`:
//! - `POST /v1.0/gateway/connections/open` (HTTP, axum) checks what the real gateway needs:
//!   `Accept: application/json` (without it the real one answers XML, and so does this one),
//!   a JSON body, `clientId`/`clientSecret` (else 401 with
//!   `{"requestid","code":"authFailed","message":"鉴权失败"}`, the body field reports show),
//!   and a CALLBACK subscription to `/v1.0/im/bot/messages/get` (else 400).
//!   It answers `{endpoint: "ws://127.0.0.1:P/connect", ticket}` with a fresh ticket.
//! - the WebSocket at `/connect?ticket=…` refuses (HTTP 401) a ticket it did not issue, one
//!   already used, or one older than 90 s. Each accepted connection is handed to the test as
//!   a [`Conn`] that the test scripts frame by frame; a `Conn` that is not read from never
//!   answers WebSocket pings, which makes it a half-open link as far as the client can tell.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};

pub const ROBOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
/// The documented life of a ticket.
pub const TICKET_LIFE: Duration = Duration::from_secs(90);

/// One call of the open endpoint, as received and answered.
#[derive(Debug, Clone)]
pub struct OpenCall {
    pub accept: Option<String>,
    pub content_type: Option<String>,
    /// The body, parsed (`Value::Null` if it was not JSON).
    pub body: Value,
    pub status: u16,
}

struct Shared {
    client_id: String,
    client_secret: String,
    ws_addr: String,
    /// Replaces the endpoint handed out (e.g. a `wss://` URL where no TLS server listens).
    endpoint_override: Option<String>,
    issued: HashMap<String, Instant>,
    used: HashSet<String>,
    opens: Vec<OpenCall>,
    refused_sockets: Vec<String>,
}

pub struct FakeStreamGateway {
    gateway: String,
    shared: Arc<Mutex<Shared>>,
    conns: tokio::sync::Mutex<mpsc::UnboundedReceiver<Conn>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeStreamGateway {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panicking test thread must not hide the state from the others.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeStreamGateway {
    /// A gateway that accepts exactly these credentials.
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        let http = super::bind_loopback().await;
        let ws = super::bind_loopback().await;
        let ws_addr = match ws.local_addr() {
            Ok(a) => a.to_string(),
            Err(e) => panic!("no local address: {e}"),
        };
        let gateway = match http.local_addr() {
            Ok(a) => format!("http://{a}"),
            Err(e) => panic!("no local address: {e}"),
        };
        let shared = Arc::new(Mutex::new(Shared {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ws_addr,
            endpoint_override: None,
            issued: HashMap::new(),
            used: HashSet::new(),
            opens: Vec::new(),
            refused_sockets: Vec::new(),
        }));
        let router = Router::new()
            .route(
                "/v1.0/gateway/connections/open",
                axum::routing::post(open_connection),
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
        FakeStreamGateway {
            gateway,
            shared,
            conns: tokio::sync::Mutex::new(rx),
            tasks: vec![http_task, ws_task],
        }
    }

    /// The value for `StreamConfig::gateway`.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    pub fn set_endpoint(&self, endpoint: &str) {
        lock(&self.shared).endpoint_override = Some(endpoint.to_string());
    }

    pub fn open_calls(&self) -> Vec<OpenCall> {
        lock(&self.shared).opens.clone()
    }

    /// Every ticket handed out, in no particular order.
    pub fn tickets(&self) -> Vec<String> {
        lock(&self.shared).issued.keys().cloned().collect()
    }

    /// Why WebSocket handshakes were refused, one line each.
    pub fn refused_sockets(&self) -> Vec<String> {
        lock(&self.shared).refused_sockets.clone()
    }

    /// The next accepted WebSocket connection; panics if none comes `within`.
    pub async fn next_connection(&self, within: Duration) -> Conn {
        let mut rx = self.conns.lock().await;
        match tokio::time::timeout(within, rx.recv()).await {
            Ok(Some(c)) => c,
            Ok(None) => panic!("the fake gateway stopped"),
            Err(_) => panic!(
                "no WebSocket connection within {within:?}; open calls: {:?}; refused: {:?}",
                self.open_calls(),
                self.refused_sockets()
            ),
        }
    }

    /// Waits until `n` open calls have been made; panics after `within`.
    pub async fn wait_for_open_calls(&self, n: usize, within: Duration) -> Vec<OpenCall> {
        let deadline = Instant::now() + within;
        loop {
            let calls = self.open_calls();
            if calls.len() >= n {
                return calls;
            }
            if Instant::now() >= deadline {
                panic!("only {} open calls within {within:?}", calls.len());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn request_id() -> String {
    format!("{:08X}-{:04X}", fastrand::u32(..), fastrand::u16(..))
}

async fn open_connection(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let accept = text(header::ACCEPT);
    let content_type = text(header::CONTENT_TYPE);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = lock(&shared);
    let (status, reply) = if !accept
        .as_deref()
        .is_some_and(|a| a.contains("application/json"))
    {
        // What the Node SDK says the real gateway does without the header.
        let xml =
            "<?xml version=\"1.0\"?><OpenConnectionResponse><endpoint/></OpenConnectionResponse>";
        (
            StatusCode::OK,
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/xml")],
                xml,
            )
                .into_response(),
        )
    } else if !content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json"))
        || !parsed.is_object()
    {
        let reply = json!({
            "requestid": request_id(), "code": "invalidParameter", "message": "body is not JSON",
        });
        (
            StatusCode::BAD_REQUEST,
            json_reply(StatusCode::BAD_REQUEST, reply),
        )
    } else if parsed["clientId"].as_str() != Some(s.client_id.as_str())
        || parsed["clientSecret"].as_str() != Some(s.client_secret.as_str())
    {
        let reply = json!({"requestid": request_id(), "code": "authFailed", "message": "鉴权失败"});
        (
            StatusCode::UNAUTHORIZED,
            json_reply(StatusCode::UNAUTHORIZED, reply),
        )
    } else if !parsed["subscriptions"].as_array().is_some_and(|subs| {
        subs.iter()
            .any(|x| x["type"] == "CALLBACK" && x["topic"] == ROBOT_TOPIC)
    }) {
        let reply = json!({
            "requestid": request_id(), "code": "invalidParameter", "message": "subscriptions",
        });
        (
            StatusCode::BAD_REQUEST,
            json_reply(StatusCode::BAD_REQUEST, reply),
        )
    } else {
        let ticket = format!(
            "{:08x}-{:04x}-{:04x}-{:012x}",
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u16(..),
            fastrand::u64(..) & 0xffff_ffff_ffff
        );
        s.issued.insert(ticket.clone(), Instant::now());
        let endpoint = s
            .endpoint_override
            .clone()
            .unwrap_or_else(|| format!("ws://{}/connect", s.ws_addr));
        let reply = json!({"endpoint": endpoint, "ticket": ticket});
        (StatusCode::OK, json_reply(StatusCode::OK, reply))
    };
    s.opens.push(OpenCall {
        accept,
        content_type,
        body: parsed,
        status: status.as_u16(),
    });
    reply
}

fn refuse(why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(why.to_string()));
    *r.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
    r
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's Callback trait fixes the error type"
)]
async fn handshake(stream: TcpStream, shared: Arc<Mutex<Shared>>, tx: mpsc::UnboundedSender<Conn>) {
    let accepted = Arc::new(Mutex::new(None::<String>));
    let slot = accepted.clone();
    let check_shared = shared.clone();
    let callback = move |req: &Request, resp: WsResponse| -> Result<WsResponse, ErrorResponse> {
        let mut s = lock(&check_shared);
        let uri = req.uri();
        let ticket = uri
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("ticket="))
            .unwrap_or("")
            .to_string();
        let why = if uri.path() != "/connect" {
            Some(format!("path {}", uri.path()))
        } else if ticket.is_empty() {
            Some("no ticket".to_string())
        } else if s.used.contains(&ticket) {
            Some("ticket reused".to_string())
        } else {
            match s.issued.get(&ticket) {
                None => Some("unknown ticket".to_string()),
                Some(at) if at.elapsed() > TICKET_LIFE => Some("ticket expired".to_string()),
                Some(_) => None,
            }
        };
        if let Some(why) = why {
            s.refused_sockets.push(why.clone());
            return Err(refuse(&why));
        }
        s.used.insert(ticket.clone());
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(ticket);
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let ticket = accepted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    let _ = tx.send(Conn { ticket, ws });
}

/// One accepted connection, scripted by the test. Dropping it drops the TCP connection
/// without a closing handshake.
pub struct Conn {
    /// The ticket it was opened with.
    pub ticket: String,
    ws: WebSocketStream<TcpStream>,
}

impl Conn {
    pub async fn send(&mut self, frame: &Value) {
        self.send_text(&frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        if let Err(e) = self.ws.send(Message::text(text.to_string())).await {
            panic!("cannot send to the client: {e}");
        }
    }

    /// The next text frame, parsed; WebSocket pings and pongs are skipped (tungstenite
    /// answers pings while reading). Panics on a close, a non-JSON frame or a timeout.
    pub async fn recv(&mut self, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("no frame from the client within {within:?}"),
                Ok(None) => panic!("the client closed the connection"),
                Ok(Some(Err(e))) => panic!("reading from the client failed: {e}"),
                Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str(t.as_str()) {
                    Ok(v) => return v,
                    Err(e) => panic!("the client sent non-JSON {t:?}: {e}"),
                },
                Ok(Some(Ok(Message::Close(f)))) => {
                    panic!("the client closed the connection: {f:?}")
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Waits for the client to close (a close frame or end of stream); panics if it sends a
    /// text frame first or nothing happens `within`.
    pub async fn expect_closed(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("the client did not close the connection within {within:?}"),
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) => return,
                Ok(Some(Ok(Message::Text(t)))) => panic!("expected a close, got {t:?}"),
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Frames as the gateway sends them.

fn headers(topic: &str, message_id: &str) -> Value {
    json!({
        "appId": "9256b875-17e5-46a8-890a-bf4246dc5349",
        "connectionId": "c3faec14-ebe9-11ed-8943-0ec429f1b9a1",
        "contentType": "application/json",
        "messageId": message_id,
        "time": "1764918000000",
        "topic": topic,
    })
}

pub fn ping_frame(message_id: &str, opaque: &str) -> Value {
    json!({
        "specVersion": "1.0", "type": "SYSTEM", "headers": headers("ping", message_id),
        "data": json!({"opaque": opaque}).to_string(),
    })
}

pub fn disconnect_frame(message_id: &str, reason: &str) -> Value {
    json!({
        "specVersion": "1.0", "type": "SYSTEM", "headers": headers("disconnect", message_id),
        "data": json!({"reason": reason}).to_string(),
    })
}

/// A CALLBACK on the robot topic carrying `data` (a JSON string, as on the wire).
pub fn robot_frame(message_id: &str, data: &str) -> Value {
    json!({
        "specVersion": "1.0", "type": "CALLBACK", "headers": headers(ROBOT_TOPIC, message_id),
        "data": data,
    })
}

/// A group text message @-mentioning the bot, shaped like the protocol notes' example.
pub fn robot_message(msg_id: &str, content: &str) -> String {
    json!({
        "conversationId": "cidAsXSBLnA==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
        "chatbotCorpId": "ding9f50b15bccd16741",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "msgId": msg_id,
        "senderNick": "张三",
        "isAdmin": false,
        "senderStaffId": "manager7675",
        "sessionWebhookExpiredTime": 1_764_923_400_000_i64,
        "createAt": 1_764_918_000_000_i64,
        "senderCorpId": "ding9f50b15bccd16741",
        "conversationType": "2",
        "senderId": "$:LWCP_v1:$ABCdef==",
        "conversationTitle": "项目组",
        "isInAtList": true,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=76da",
        "text": {"content": content},
        "robotCode": "dingrobot123",
        "msgtype": "text",
    })
    .to_string()
}

//! A local stand-in for DingTalk's Stream-mode gateway, for tests of
//! `weekbell::inbound::dingtalk_stream`.
//!
//! It plays both halves of the protocol on `127.0.0.1`:
//! - `POST /v1.0/gateway/connections/open` (HTTP, on `fake_http.rs`) checks what the real gateway needs:
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

use super::fake_http::{Answer, Checked, FakeHttp, Seen};
use super::lock;
use super::ws_gateway::{Refusal, TicketProblem, Tickets, WsListener, ticket_of};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Request;

pub const ROBOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
/// The documented life of a ticket.
pub const TICKET_LIFE: Duration = Duration::from_secs(90);
const OPEN_PATH: &str = "/v1.0/gateway/connections/open";

/// One call of the open endpoint, as received and answered.
#[derive(Debug, Clone)]
pub struct OpenCall {
    pub accept: Option<String>,
    pub content_type: Option<String>,
    /// The body, parsed (`Value::Null` if it was not JSON).
    pub body: Value,
    pub status: u16,
}

/// What the open endpoint and the handshake check share.
#[derive(Default)]
struct PeerState {
    /// Replaces the endpoint handed out (e.g. a `wss://` URL where no TLS server listens).
    endpoint_override: Option<String>,
    tickets: Tickets,
}

struct Peer {
    client_id: String,
    client_secret: String,
    ws_addr: String,
    state: Arc<Mutex<PeerState>>,
}

pub struct FakeStreamGateway {
    http: FakeHttp,
    ws: WsListener<Conn>,
    peer: Arc<Peer>,
}

impl FakeStreamGateway {
    /// A gateway that accepts exactly these credentials.
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        let state = Arc::new(Mutex::new(PeerState::default()));
        let handshakes = Arc::clone(&state);
        let ws = WsListener::start(
            move |req| handshake(&handshakes, req),
            |ws, ticket| async move { Some(Conn { ticket, ws }) },
        )
        .await;
        let peer = Arc::new(Peer {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ws_addr: ws.addr().to_string(),
            state,
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start(move |seen| open_connection(&checks, seen)).await;
        FakeStreamGateway { http, ws, peer }
    }

    /// The value for `StreamConfig::gateway`.
    pub fn gateway(&self) -> String {
        self.http.base_url()
    }

    pub fn set_endpoint(&self, endpoint: &str) {
        lock(&self.peer.state).endpoint_override = Some(endpoint.to_string());
    }

    /// The answered calls of the open endpoint.
    pub fn open_calls(&self) -> Vec<OpenCall> {
        self.http
            .exchanges()
            .into_iter()
            .filter(|e| e.seen.path() == OPEN_PATH && e.seen.method == "POST")
            .filter_map(|e| {
                Some(OpenCall {
                    accept: e.seen.header("accept").map(str::to_string),
                    content_type: e.seen.header("content-type").map(str::to_string),
                    body: e.seen.json(),
                    status: e.status?,
                })
            })
            .collect()
    }

    /// Every ticket handed out, in no particular order.
    pub fn tickets(&self) -> Vec<String> {
        lock(&self.peer.state).tickets.issued()
    }

    /// Why WebSocket handshakes were refused, one line each.
    pub fn refused_sockets(&self) -> Vec<String> {
        self.ws.refused()
    }

    /// The next accepted WebSocket connection; panics if none comes `within`.
    pub async fn next_connection(&self, within: Duration) -> Conn {
        self.ws
            .next(within, "WebSocket connection", || {
                format!(
                    "open calls: {:?}; refused: {:?}",
                    self.open_calls(),
                    self.refused_sockets()
                )
            })
            .await
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

fn json_reply(status: u16, body: Value) -> Answer {
    Answer::json(status, &body).with_content_type("application/json")
}

fn request_id() -> String {
    format!("{:08X}-{:04X}", fastrand::u32(..), fastrand::u16(..))
}

fn open_connection(peer: &Peer, seen: &Seen) -> Checked {
    if seen.path() != OPEN_PATH {
        return Checked::Answer(Answer::empty(404));
    }
    if seen.method != "POST" {
        return Checked::Answer(Answer::empty(405));
    }
    let accept = seen.header("accept");
    let content_type = seen.header("content-type");
    let parsed = seen.json();
    let answer = if !accept.is_some_and(|a| a.contains("application/json")) {
        // What the Node SDK says the real gateway does without the header.
        let xml =
            "<?xml version=\"1.0\"?><OpenConnectionResponse><endpoint/></OpenConnectionResponse>";
        Answer::new(200, Some("application/xml"), xml)
    } else if !content_type.is_some_and(|c| c.starts_with("application/json"))
        || !parsed.is_object()
    {
        json_reply(
            400,
            json!({
                "requestid": request_id(), "code": "invalidParameter", "message": "body is not JSON",
            }),
        )
    } else if parsed["clientId"].as_str() != Some(peer.client_id.as_str())
        || parsed["clientSecret"].as_str() != Some(peer.client_secret.as_str())
    {
        json_reply(
            401,
            json!({"requestid": request_id(), "code": "authFailed", "message": "鉴权失败"}),
        )
    } else if !parsed["subscriptions"].as_array().is_some_and(|subs| {
        subs.iter()
            .any(|x| x["type"] == "CALLBACK" && x["topic"] == ROBOT_TOPIC)
    }) {
        json_reply(
            400,
            json!({
                "requestid": request_id(), "code": "invalidParameter", "message": "subscriptions",
            }),
        )
    } else {
        let ticket = format!(
            "{:08x}-{:04x}-{:04x}-{:012x}",
            fastrand::u32(..),
            fastrand::u16(..),
            fastrand::u16(..),
            fastrand::u64(..) & 0xffff_ffff_ffff
        );
        let mut s = lock(&peer.state);
        s.tickets.issue(&ticket);
        let endpoint = s
            .endpoint_override
            .clone()
            .unwrap_or_else(|| format!("ws://{}/connect", peer.ws_addr));
        json_reply(200, json!({"endpoint": endpoint, "ticket": ticket}))
    };
    Checked::Answer(answer)
}

/// The ticket a handshake opens with, or why it is refused (HTTP 401).
fn handshake(state: &Mutex<PeerState>, req: &Request) -> Result<String, Refusal> {
    let ticket = ticket_of(req);
    let why = if req.uri().path() != "/connect" {
        format!("path {}", req.uri().path())
    } else if ticket.is_empty() {
        "no ticket".to_string()
    } else {
        match lock(state).tickets.redeem(&ticket, Some(TICKET_LIFE)) {
            Ok(()) => return Ok(ticket),
            Err(TicketProblem::Reused) => "ticket reused".to_string(),
            Err(TicketProblem::Unknown) => "unknown ticket".to_string(),
            Err(TicketProblem::Expired) => "ticket expired".to_string(),
        }
    };
    Err(Refusal::unauthorized(why))
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
                Ok(Some(Ok(Message::Text(t)))) => {
                    return serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("the client sent non-JSON {t:?}: {e}"));
                }
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

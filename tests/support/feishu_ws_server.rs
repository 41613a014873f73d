//! A local stand-in for Feishu's long-connection gateway, for tests of
//! `weekbell::inbound::feishu_ws`.
//!
//! It plays both halves on `127.0.0.1`:
//! - `POST /callback/ws/endpoint` checks the JSON body's `AppID`/`AppSecret` (else code 10014,
//!   as for the tenant token) and the `locale` header the SDKs send, and answers
//!   `{code: 0, data: {URL: "ws://127.0.0.1:P/ws/v2?device_id=…&service_id=33554678&access_key=…&ticket=…", ClientConfig}}`
//!   with a fresh ticket and [`FakeLongConnection::set_client_config`]'s settings. It can be
//!   scripted to answer another code ([`FakeLongConnection::script_code`]).
//! - every other path is passed on to an upstream server when one is given (the Open API fake
//!   of `chat_servers`), since Feishu serves both from one domain.
//! - the WebSocket at `/ws/v2?ticket=…` refuses an unknown or reused ticket (HTTP 401), or, when
//!   told to ([`FakeLongConnection::reject_handshakes`]), answers HTTP 514 with
//!   `Handshake-Status: 514`, `Handshake-Autherrcode: 1000040350`, as the gateway does when the
//!   app has too many connections. It accepts binary frames only (a text frame is recorded as a
//!   violation), answers each `type=ping` control frame with a `pong` whose payload is the
//!   current `ClientConfig` (or [`FakeLongConnection::set_pong_config`]'s), records the pings with their times, and hands everything else the
//!   client sends (acks) to the test through [`FeishuConn::recv`].

#![allow(dead_code)]

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen};
use super::lock;
use super::ws_gateway::{Refusal, Tickets, WsListener, ticket_of};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::Request;
use weekbell::inbound::feishu_ws::{Frame, METHOD_CONTROL, METHOD_DATA};

pub const SERVICE_ID: i32 = 33_554_678;
const ENDPOINT_PATH: &str = "/callback/ws/endpoint";

#[derive(Debug, Clone)]
pub struct EndpointCall {
    pub body: Value,
    pub locale: Option<String>,
    pub answer: Value,
}

/// What the endpoint, the handshake check and the connections share.
struct PeerState {
    client_config: Value,
    pong_config: Option<Value>,
    reject_handshakes: bool,
    /// Tickets and access keys handed out; a ticket opens one connection.
    tickets: Tickets,
    pings: Vec<(Instant, i32)>,
    violations: Vec<String>,
}

struct Peer {
    app_id: String,
    app_secret: String,
    ws_addr: String,
    upstream: Option<String>,
    state: Arc<Mutex<PeerState>>,
}

pub struct FakeLongConnection {
    http: FakeHttp,
    ws: WsListener<FeishuConn>,
    peer: Arc<Peer>,
}

impl FakeLongConnection {
    /// A gateway for the app `app_id`/`app_secret`; other paths go to `upstream` if given.
    pub async fn start(app_id: &str, app_secret: &str, upstream: Option<String>) -> Self {
        let state = Arc::new(Mutex::new(PeerState {
            client_config: json!({"ReconnectCount": -1, "ReconnectInterval": 0, "ReconnectNonce": 0, "PingInterval": 120}),
            pong_config: None,
            reject_handshakes: false,
            tickets: Tickets::default(),
            pings: Vec::new(),
            violations: Vec::new(),
        }));
        let handshakes = Arc::clone(&state);
        let connections = Arc::clone(&state);
        let ws = WsListener::start(
            move |req| handshake(&handshakes, req),
            move |ws, _ticket| serve(ws, Arc::clone(&connections)),
        )
        .await;
        let peer = Arc::new(Peer {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            ws_addr: ws.addr().to_string(),
            upstream,
            state,
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start_async(move |seen: Seen| {
            let peer = Arc::clone(&checks);
            async move { peer.answer(seen).await }
        })
        .await;
        FakeLongConnection { http, ws, peer }
    }

    /// The value for the channel's `api_base` (`LongConnectionConfig::domain`).
    pub fn base(&self) -> String {
        self.http.base_url()
    }

    /// The `ClientConfig` handed out by the endpoint and in every pong from now on.
    pub fn set_client_config(&self, config: Value) {
        lock(&self.peer.state).client_config = config;
    }

    /// The `ClientConfig` pongs carry from now on, when it should differ from the endpoint's.
    pub fn set_pong_config(&self, config: Value) {
        lock(&self.peer.state).pong_config = Some(config);
    }

    /// The next endpoint calls answer these codes instead of a URL.
    pub fn script_code(&self, codes: impl IntoIterator<Item = i64>) {
        self.http.script_when(
            |seen| seen.path() == ENDPOINT_PATH && seen.method == "POST",
            codes.into_iter().map(|code| {
                Scripted::Answer(endpoint_reply(
                    json!({"code": code, "msg": "scripted", "data": {}}),
                ))
            }),
        );
    }

    pub fn reject_handshakes(&self, reject: bool) {
        lock(&self.peer.state).reject_handshakes = reject;
    }

    /// The answered calls of the endpoint.
    pub fn calls(&self) -> Vec<EndpointCall> {
        self.http
            .exchanges()
            .into_iter()
            .filter(|e| e.seen.path() == ENDPOINT_PATH && e.seen.method == "POST")
            .filter(|e| e.status.is_some())
            .map(|e| EndpointCall {
                body: e.seen.json(),
                locale: e.seen.header("locale").map(str::to_string),
                answer: serde_json::from_str(&e.reply_body).unwrap_or(Value::Null),
            })
            .collect()
    }

    pub fn pings(&self) -> Vec<(Instant, i32)> {
        lock(&self.peer.state).pings.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        lock(&self.peer.state).violations.clone()
    }

    pub fn refused_sockets(&self) -> Vec<String> {
        self.ws.refused()
    }

    /// Every ticket and access key handed out.
    pub fn url_secrets(&self) -> Vec<String> {
        lock(&self.peer.state).tickets.issued()
    }

    pub async fn next_connection(&self, within: Duration) -> FeishuConn {
        self.ws
            .next(within, "long connection", || {
                format!(
                    "calls: {:?}; refused: {:?}",
                    self.calls(),
                    self.refused_sockets()
                )
            })
            .await
    }

    /// Waits until `n` pings have arrived; panics after `within`.
    pub async fn wait_for_pings(&self, n: usize, within: Duration) -> Vec<(Instant, i32)> {
        let deadline = Instant::now() + within;
        loop {
            let pings = self.pings();
            if pings.len() >= n {
                return pings;
            }
            assert!(
                Instant::now() < deadline,
                "only {} pings within {within:?}",
                pings.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn endpoint_reply(body: Value) -> Answer {
    Answer::json(200, &body).with_content_type("application/json")
}

impl Peer {
    async fn answer(&self, seen: Seen) -> Checked {
        if seen.path() != ENDPOINT_PATH {
            return Checked::Answer(self.proxy(&seen).await);
        }
        if seen.method != "POST" {
            return Checked::Answer(Answer::empty(405));
        }
        let parsed = seen.json();
        let mut s = lock(&self.state);
        let answer = if parsed["AppID"] != self.app_id.as_str()
            || parsed["AppSecret"] != self.app_secret.as_str()
        {
            json!({"code": 10014, "msg": "app secret invalid", "data": {}})
        } else {
            let ticket = format!("{:08x}-{:04x}", fastrand::u32(..), fastrand::u16(..));
            let access_key = format!("{:016x}", fastrand::u64(..));
            s.tickets.issue(&ticket);
            s.tickets.issue(&access_key);
            let url = format!(
                "ws://{}/ws/v2?fpid=493&aid=552564&device_id={}&access_key={access_key}&service_id={SERVICE_ID}&ticket={ticket}",
                self.ws_addr,
                fastrand::u32(..)
            );
            json!({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": s.client_config}})
        };
        Checked::Answer(endpoint_reply(answer))
    }

    /// Feishu serves the Open API from the same domain: pass the call on to `upstream`.
    async fn proxy(&self, seen: &Seen) -> Answer {
        let Some(upstream) = self.upstream.clone() else {
            return Answer::empty(404);
        };
        let path = if seen.path_and_query.is_empty() {
            "/"
        } else {
            seen.path_and_query.as_str()
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_default();
        let mut request = client
            .request(seen.method.clone(), format!("{upstream}{path}"))
            .body(seen.body.to_vec());
        for name in ["authorization", "content-type"] {
            if let Some(v) = seen.headers.get(name) {
                request = request.header(name, v.clone());
            }
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let bytes = r.bytes().await.unwrap_or_default();
                Answer::new(
                    status,
                    Some("application/json"),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )
            }
            Err(_) => Answer::empty(502),
        }
    }
}

/// The ticket a handshake opens with, or why it is refused: HTTP 514 while told to reject
/// (the gateway's answer to an app with too many connections), 401 for a bad ticket.
fn handshake(state: &Mutex<PeerState>, req: &Request) -> Result<String, Refusal> {
    let mut s = lock(state);
    if s.reject_handshakes {
        return Err(Refusal {
            status: 514,
            why: "too many connections".into(),
            headers: vec![
                ("Handshake-Status", "514"),
                ("Handshake-Autherrcode", "1000040350"),
                ("Handshake-Msg", "exceed conn limit"),
            ],
        });
    }
    let ticket = ticket_of(req);
    if req.uri().path() != "/ws/v2" || s.tickets.redeem(&ticket, None).is_err() {
        return Err(Refusal::unauthorized("unknown or reused ticket"));
    }
    Ok(ticket)
}

/// Serves a new connection: answers pings with pongs carrying the `ClientConfig`, records
/// pings and protocol violations, and passes other frames both ways between the socket and
/// the test's [`FeishuConn`].
async fn serve(
    mut ws: WebSocketStream<TcpStream>,
    state: Arc<Mutex<PeerState>>,
) -> Option<FeishuConn> {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Frame>();
    let (in_tx, in_rx) = mpsc::unbounded_channel::<Frame>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                out = out_rx.recv() => match out {
                    Some(f) => if ws.send(Message::binary(f.encode())).await.is_err() { break },
                    None => { let _ = ws.close(None).await; break }
                },
                read = ws.next() => match read {
                    Some(Ok(Message::Binary(b))) => match Frame::decode(&b) {
                        Ok(f) if f.method == METHOD_CONTROL && f.header("type") == Some("ping") => {
                            let config = {
                                let mut s = lock(&state);
                                s.pings.push((Instant::now(), f.service));
                                s.pong_config.as_ref().unwrap_or(&s.client_config).to_string()
                            };
                            let pong = Frame {
                                service: f.service,
                                method: METHOD_CONTROL,
                                headers: vec![("type".into(), "pong".into())],
                                payload: Some(config.into_bytes()),
                                ..Frame::default()
                            };
                            if ws.send(Message::binary(pong.encode())).await.is_err() { break }
                        }
                        Ok(f) => { let _ = in_tx.send(f); }
                        Err(e) => lock(&state).violations.push(format!("undecodable frame: {e}")),
                    },
                    Some(Ok(Message::Text(t))) => lock(&state).violations.push(format!("text frame {t}")),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    });
    Some(FeishuConn {
        out: out_tx,
        acks: in_rx,
        task,
    })
}

/// One accepted connection. Dropping it closes the socket.
pub struct FeishuConn {
    out: mpsc::UnboundedSender<Frame>,
    acks: mpsc::UnboundedReceiver<Frame>,
    task: JoinHandle<()>,
}

impl Drop for FeishuConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FeishuConn {
    pub fn send(&self, frame: Frame) {
        let _ = self.out.send(frame);
    }

    /// Sends `event` (its JSON) as data frames: whole when `parts` is 1, else split into
    /// `parts` fragments sent last first.
    pub fn send_event(&self, seq_id: u64, message_id: &str, event: &str, parts: usize) {
        let bytes = event.as_bytes();
        let size = bytes.len().div_ceil(parts.max(1));
        let chunks: Vec<&[u8]> = bytes.chunks(size.max(1)).collect();
        for (seq, chunk) in chunks.iter().enumerate().rev() {
            self.send(event_frame(
                seq_id + seq as u64,
                message_id,
                chunks.len(),
                seq,
                chunk,
            ));
        }
    }

    /// The next frame the client sent that is not a ping; panics after `within`.
    pub async fn recv(&mut self, within: Duration) -> Frame {
        match tokio::time::timeout(within, self.acks.recv()).await {
            Ok(Some(f)) => f,
            Ok(None) => panic!("the client closed the connection"),
            Err(_) => panic!("no frame from the client within {within:?}"),
        }
    }

    pub async fn try_recv(&mut self, within: Duration) -> Option<Frame> {
        tokio::time::timeout(within, self.acks.recv())
            .await
            .ok()
            .flatten()
    }

    pub async fn expect_closed(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.task.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the client did not close within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One data frame of an event, with the headers the gateway sets.
pub fn event_frame(seq_id: u64, message_id: &str, sum: usize, seq: usize, payload: &[u8]) -> Frame {
    Frame {
        seq_id,
        log_id: 8_800_000_000 + seq_id,
        service: SERVICE_ID,
        method: METHOD_DATA,
        headers: vec![
            ("type".into(), "event".into()),
            ("message_id".into(), message_id.into()),
            ("sum".into(), sum.to_string()),
            ("seq".into(), seq.to_string()),
            ("trace_id".into(), format!("trace-{seq_id}")),
            ("timestamp".into(), "1774004597520".into()),
        ],
        payload_encoding: String::new(),
        payload_type: String::new(),
        payload: Some(payload.to_vec()),
        log_id_new: format!("02{seq_id:016x}"),
    }
}

/// An `im.message.receive_v1` event from `open_id` in group `oc_e95e`, as the long connection
/// carries it (plaintext, empty token).
pub fn message_event(event_id: &str, message_id: &str, open_id: &str, text: &str) -> String {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "token": "", "create_time": "1774004597520",
                   "event_type": "im.message.receive_v1", "tenant_key": "114effbf",
                   "app_id": "cli_a1b2c3d4e5f6"},
        "event": {
            "sender": {"sender_id": {"open_id": open_id, "union_id": "on_5370", "user_id": "f865491f"},
                       "sender_type": "user", "tenant_key": "114effbf"},
            "message": {"message_id": message_id, "chat_id": "oc_e95e", "chat_type": "group",
                        "message_type": "text", "content": json!({"text": format!("@_user_1 {text}")}).to_string(),
                        "create_time": "1774004597216",
                        "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "weekbell"}]}
        }
    })
    .to_string()
}

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

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
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
use weekbell::inbound::feishu_ws::{Frame, METHOD_CONTROL, METHOD_DATA};

pub const SERVICE_ID: i32 = 33_554_678;

#[derive(Debug, Clone)]
pub struct EndpointCall {
    pub body: Value,
    pub locale: Option<String>,
    pub answer: Value,
}

struct Shared {
    app_id: String,
    app_secret: String,
    ws_addr: String,
    upstream: Option<String>,
    client_config: Value,
    pong_config: Option<Value>,
    codes: VecDeque<i64>,
    reject_handshakes: bool,
    issued: HashSet<String>,
    used: HashSet<String>,
    calls: Vec<EndpointCall>,
    refused_sockets: Vec<String>,
    pings: Vec<(Instant, i32)>,
    violations: Vec<String>,
}

pub struct FakeLongConnection {
    base: String,
    shared: Arc<Mutex<Shared>>,
    conns: tokio::sync::Mutex<mpsc::UnboundedReceiver<FeishuConn>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeLongConnection {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn local(l: &TcpListener) -> String {
    match l.local_addr() {
        Ok(a) => a.to_string(),
        Err(e) => panic!("no local address: {e}"),
    }
}

impl FakeLongConnection {
    /// A gateway for the app `app_id`/`app_secret`; other paths go to `upstream` if given.
    pub async fn start(app_id: &str, app_secret: &str, upstream: Option<String>) -> Self {
        let http = super::bind_loopback().await;
        let ws = super::bind_loopback().await;
        let base = format!("http://{}", local(&http));
        let shared = Arc::new(Mutex::new(Shared {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            ws_addr: local(&ws),
            upstream,
            client_config: json!({"ReconnectCount": -1, "ReconnectInterval": 0, "ReconnectNonce": 0, "PingInterval": 120}),
            pong_config: None,
            codes: VecDeque::new(),
            reject_handshakes: false,
            issued: HashSet::new(),
            used: HashSet::new(),
            calls: Vec::new(),
            refused_sockets: Vec::new(),
            pings: Vec::new(),
            violations: Vec::new(),
        }));
        let router = Router::new()
            .route("/callback/ws/endpoint", axum::routing::post(endpoint))
            .fallback(proxy)
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
        FakeLongConnection {
            base,
            shared,
            conns: tokio::sync::Mutex::new(rx),
            tasks: vec![http_task, ws_task],
        }
    }

    /// The value for the channel's `api_base` (`LongConnectionConfig::domain`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The `ClientConfig` handed out by the endpoint and in every pong from now on.
    pub fn set_client_config(&self, config: Value) {
        lock(&self.shared).client_config = config;
    }

    /// The `ClientConfig` pongs carry from now on, when it should differ from the endpoint's.
    pub fn set_pong_config(&self, config: Value) {
        lock(&self.shared).pong_config = Some(config);
    }

    /// The next endpoint calls answer these codes instead of a URL.
    pub fn script_code(&self, codes: impl IntoIterator<Item = i64>) {
        lock(&self.shared).codes.extend(codes);
    }

    pub fn reject_handshakes(&self, reject: bool) {
        lock(&self.shared).reject_handshakes = reject;
    }

    pub fn calls(&self) -> Vec<EndpointCall> {
        lock(&self.shared).calls.clone()
    }

    pub fn pings(&self) -> Vec<(Instant, i32)> {
        lock(&self.shared).pings.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared).violations.clone()
    }

    pub fn refused_sockets(&self) -> Vec<String> {
        lock(&self.shared).refused_sockets.clone()
    }

    /// Every ticket and access key handed out.
    pub fn url_secrets(&self) -> Vec<String> {
        lock(&self.shared).issued.iter().cloned().collect()
    }

    pub async fn next_connection(&self, within: Duration) -> FeishuConn {
        let mut rx = self.conns.lock().await;
        match tokio::time::timeout(within, rx.recv()).await {
            Ok(Some(c)) => c,
            Ok(None) => panic!("the fake gateway stopped"),
            Err(_) => panic!(
                "no long connection within {within:?}; calls: {:?}; refused: {:?}",
                self.calls(),
                self.refused_sockets()
            ),
        }
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

async fn endpoint(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let locale = headers
        .get("locale")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut s = lock(&shared);
    let answer = if let Some(code) = s.codes.pop_front() {
        json!({"code": code, "msg": "scripted", "data": {}})
    } else if parsed["AppID"] != s.app_id.as_str() || parsed["AppSecret"] != s.app_secret.as_str() {
        json!({"code": 10014, "msg": "app secret invalid", "data": {}})
    } else {
        let ticket = format!("{:08x}-{:04x}", fastrand::u32(..), fastrand::u16(..));
        let access_key = format!("{:016x}", fastrand::u64(..));
        s.issued.insert(ticket.clone());
        s.issued.insert(access_key.clone());
        let url = format!(
            "ws://{}/ws/v2?fpid=493&aid=552564&device_id={}&access_key={access_key}&service_id={SERVICE_ID}&ticket={ticket}",
            s.ws_addr,
            fastrand::u32(..)
        );
        json!({"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": s.client_config}})
    };
    s.calls.push(EndpointCall {
        body: parsed,
        locale,
        answer: answer.clone(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

async fn proxy(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(upstream) = lock(&shared).upstream.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default();
    let mut request = client
        .request(method, format!("{upstream}{path}"))
        .body(body.to_vec());
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(v) = headers.get(&name) {
            request = request.header(name, v.clone());
        }
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's Callback trait fixes the error type"
)]
async fn handshake(
    stream: TcpStream,
    shared: Arc<Mutex<Shared>>,
    tx: mpsc::UnboundedSender<FeishuConn>,
) {
    let check = shared.clone();
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
        let refuse = |s: &mut Shared, status: u16, why: &str, headers: &[(&str, &str)]| {
            s.refused_sockets.push(why.to_string());
            let mut r = ErrorResponse::new(Some(why.to_string()));
            if let Ok(code) = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status) {
                *r.status_mut() = code;
            }
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()),
                    tokio_tungstenite::tungstenite::http::HeaderValue::from_str(v),
                ) {
                    r.headers_mut().insert(k, v);
                }
            }
            Err(r)
        };
        if s.reject_handshakes {
            return refuse(
                &mut s,
                514,
                "too many connections",
                &[
                    ("Handshake-Status", "514"),
                    ("Handshake-Autherrcode", "1000040350"),
                    ("Handshake-Msg", "exceed conn limit"),
                ],
            );
        }
        if req.uri().path() != "/ws/v2" || s.used.contains(&ticket) || !s.issued.contains(&ticket) {
            return refuse(&mut s, 401, "unknown or reused ticket", &[]);
        }
        s.used.insert(ticket);
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Frame>();
    let (in_tx, in_rx) = mpsc::unbounded_channel::<Frame>();
    let task_shared = shared.clone();
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
                                let mut s = lock(&task_shared);
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
                        Err(e) => lock(&task_shared).violations.push(format!("undecodable frame: {e}")),
                    },
                    Some(Ok(Message::Text(t))) => lock(&task_shared).violations.push(format!("text frame {t}")),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    });
    let _ = tx.send(FeishuConn {
        out: out_tx,
        acks: in_rx,
        task,
    });
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

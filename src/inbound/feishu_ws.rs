//! Feishu / Lark long connection (长连接): `im.message.receive_v1` events over a WebSocket the
//! app opens itself, for offices with no public URL.
//!
//! Each connection starts with `POST {domain}/callback/ws/endpoint` with `{"AppID","AppSecret"}`
//! (no Authorization header); the answer `{code, data: {URL, ClientConfig}}` gives a one-time
//! `wss://` URL, whose query (`device_id`, `service_id`, keys and a ticket) is treated as secret,
//! and the connection settings. `code` 1 (busy) and 1000040343 (internal error) are retried;
//! any other non-zero code (1000040350: too many connections) will not change by retrying and
//! stops the client, as the official SDKs do.
//!
//! Every WebSocket message is a binary proto2 `pbbp2.Frame` ([`Frame`], encoded here by hand:
//! nine scalar fields do not need a code generator and a build step):
//! - data frames (`method` 1) with header `type=event` carry the event JSON, the same as the
//!   HTTP callback's but plaintext and unsigned (the connection is authenticated by the URL,
//!   which only the App Secret can obtain); it is read by [`super::feishu`]'s parser. A large
//!   event comes in fragments (`sum` > 1, `seq` from 0, one `message_id`), joined here and given
//!   up after 5 s, as the SDKs do;
//! - an event is acked by sending its frame back with a `biz_rt` header added and the payload
//!   replaced by `{"code":200,…}`, for a fragmented one the frame that completed it. Feishu
//!   redelivers an unacked event (3 s deadline), so it is acked on receipt and handled after;
//!   repeats are recognised by `header.event_id` and `message.message_id`;
//! - control frames (`method` 0): the client sends `type=ping` every `PingInterval` with the
//!   URL's `service_id`; the `pong`'s payload, when there is one, is a new `ClientConfig`, applied
//!   at once.
//! - after a lost connection the client waits a random part of `ReconnectNonce`, then retries
//!   every `ReconnectInterval`, `ReconnectCount` times (forever when negative). A refused
//!   handshake names its reason in `Handshake-Status` / `Handshake-Autherrcode`: 403 (the app is
//!   banned) and 514 + 1000040350 (too many connections) stop the client, the rest is retried.
//!
//! The App Secret only travels in the endpoint call's body; no log line shows it or the URL's
//! query.

use super::feishu::parse_event;
use super::socket::{self, Endpoint, Failure, Link, Seen, Step, Then, printable, scrub};
use super::{InboundMessage, Verdict, int_at, str_at};
use crate::secret::Secret;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::HeaderMap;

/// Feishu's Open Platform; Lark's is `https://open.larksuite.com`.
pub const DEFAULT_DOMAIN: &str = "https://open.feishu.cn";
/// Where a connection URL is asked for, under the domain.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// `method` of a control frame (ping, pong) and of a data frame (event, card).
pub const METHOD_CONTROL: i32 = 0;
pub const METHOD_DATA: i32 = 1;
/// The ack's payload, byte for byte what the Go SDK sends.
pub const ACK_PAYLOAD: &[u8] = br#"{"code":200,"headers":null,"data":null}"#;
/// Fragments of one event left incomplete this long are dropped (the SDKs' cache time).
const FRAGMENT_TTL: Duration = Duration::from_secs(5);
/// More fragments than this for one event, or more events being joined at once, is a broken
/// peer rather than a big message.
const MAX_FRAGMENTS: usize = 64;
const MAX_JOINING: usize = 64;
/// Feishu redelivers unacked events after about 5 min, 1 h and 6 h (field reports); a little
/// more than that is remembered. The store's dedupe on the message id covers what this misses.
const SEEN_TTL: Duration = Duration::from_secs(7 * 3600);
const SEEN_CAPACITY: usize = 10_000;
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// The watchdog gives a pong this long after a ping before it probes the socket itself.
const PONG_GRACE: Duration = Duration::from_secs(10);
/// Endpoint codes worth retrying: system busy, internal error.
const RETRY_CODES: [i64; 2] = [1, 1_000_040_343];
/// Too many connections for the app (Feishu allows 50).
pub const TOO_MANY_CONNECTIONS: i64 = 1_000_040_350;

// ---------------------------------------------------------------------------------------------
// The frame.

/// `pbbp2.Frame`, proto2. Fields 1–4 are `required`: always encoded, and a frame without one of
/// them is refused, as the Go SDK's decoder does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// 1: echoed in the ack; 0 in pings.
    pub seq_id: u64,
    /// 2: echoed in the ack; 0 in pings.
    pub log_id: u64,
    /// 3: the `service_id` of the connection URL.
    pub service: i32,
    /// 4: [`METHOD_CONTROL`] or [`METHOD_DATA`].
    pub method: i32,
    /// 5: `type`, `message_id`, `sum`, `seq`, `trace_id`, `biz_rt`, …
    pub headers: Vec<(String, String)>,
    /// 6, 7: echoed.
    pub payload_encoding: String,
    pub payload_type: String,
    /// 8: the event's JSON, or a `ClientConfig` in a pong.
    pub payload: Option<Vec<u8>>,
    /// 9: echoed.
    pub log_id_new: String,
}

/// Why bytes are not a `Frame`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame ends inside a field")]
    Truncated,
    #[error("a varint is longer than 10 bytes")]
    VarintTooLong,
    #[error("field {field} has wire type {wire}, not the one pbbp2 declares")]
    WrongWireType { field: u64, wire: u8 },
    #[error("wire type {0} (groups or unknown) is not allowed here")]
    UnsupportedWireType(u8),
    #[error("field number 0 is not allowed")]
    FieldZero,
    #[error("required field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} is not UTF-8")]
    NotUtf8(&'static str),
}

impl Frame {
    /// The value of header `key`, if any (the first, as the SDKs read it).
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The Go SDK's layout: 1–4 always, each header, 6 and 7 always, 8 when present, 9 always.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.payload.as_ref().map_or(0, Vec::len));
        put_varint_field(&mut out, 1, self.seq_id);
        put_varint_field(&mut out, 2, self.log_id);
        // int32 is sign-extended to 64 bits on the wire, as proto2 says.
        put_varint_field(&mut out, 3, i64::from(self.service) as u64);
        put_varint_field(&mut out, 4, i64::from(self.method) as u64);
        for (key, value) in &self.headers {
            let mut header = Vec::with_capacity(key.len() + value.len() + 4);
            put_bytes_field(&mut header, 1, key.as_bytes());
            put_bytes_field(&mut header, 2, value.as_bytes());
            put_bytes_field(&mut out, 5, &header);
        }
        put_bytes_field(&mut out, 6, self.payload_encoding.as_bytes());
        put_bytes_field(&mut out, 7, self.payload_type.as_bytes());
        if let Some(payload) = &self.payload {
            put_bytes_field(&mut out, 8, payload);
        }
        put_bytes_field(&mut out, 9, self.log_id_new.as_bytes());
        out
    }

    /// Reads a frame; fields in any order, unknown fields skipped, a repeated scalar's last
    /// value kept (proto2 rules).
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        let mut frame = Frame::default();
        let mut seen = [false; 4];
        let mut r = Reader(bytes);
        while !r.0.is_empty() {
            let (field, wire) = r.tag()?;
            match (field, wire) {
                (1..=4, 0) => {
                    let v = r.varint()?;
                    match field {
                        1 => frame.seq_id = v,
                        2 => frame.log_id = v,
                        // int32: the low 32 bits, as every protobuf runtime reads them.
                        3 => frame.service = v as u32 as i32,
                        _ => frame.method = v as u32 as i32,
                    }
                    seen[field as usize - 1] = true;
                }
                (5, 2) => frame.headers.push(decode_header(r.bytes()?)?),
                (6, 2) => frame.payload_encoding = utf8(r.bytes()?, "payload_encoding")?,
                (7, 2) => frame.payload_type = utf8(r.bytes()?, "payload_type")?,
                (8, 2) => frame.payload = Some(r.bytes()?.to_vec()),
                (9, 2) => frame.log_id_new = utf8(r.bytes()?, "LogIDNew")?,
                (1..=9, _) => return Err(FrameError::WrongWireType { field, wire }),
                _ => r.skip(wire)?,
            }
        }
        for (present, name) in seen.iter().zip(["SeqID", "LogID", "service", "method"]) {
            if !present {
                return Err(FrameError::Missing(name));
            }
        }
        Ok(frame)
    }
}

fn decode_header(bytes: &[u8]) -> Result<(String, String), FrameError> {
    let (mut key, mut value) = (None, None);
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        match r.tag()? {
            (1, 2) => key = Some(utf8(r.bytes()?, "Header.key")?),
            (2, 2) => value = Some(utf8(r.bytes()?, "Header.value")?),
            (field @ 1..=2, wire) => return Err(FrameError::WrongWireType { field, wire }),
            (_, wire) => r.skip(wire)?,
        }
    }
    match (key, value) {
        (Some(k), Some(v)) => Ok((k, v)),
        (None, _) => Err(FrameError::Missing("Header.key")),
        (_, None) => Err(FrameError::Missing("Header.value")),
    }
}

fn utf8(bytes: &[u8], field: &'static str) -> Result<String, FrameError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| FrameError::NotUtf8(field))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, FrameError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.0.split_first().ok_or(FrameError::Truncated)?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(FrameError::VarintTooLong)
    }

    fn tag(&mut self) -> Result<(u64, u8), FrameError> {
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 {
            return Err(FrameError::FieldZero);
        }
        Ok((field, (tag & 7) as u8))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], FrameError> {
        let n = usize::try_from(n).map_err(|_| FrameError::Truncated)?;
        if n > self.0.len() {
            return Err(FrameError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'a [u8], FrameError> {
        let n = self.varint()?;
        self.take(n)
    }

    fn skip(&mut self, wire: u8) -> Result<(), FrameError> {
        match wire {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => self.bytes().map(drop),
            5 => self.take(4).map(drop),
            other => Err(FrameError::UnsupportedWireType(other)),
        }
    }
}

/// The ping the client sends every `PingInterval`.
pub fn ping_frame(service: i32) -> Frame {
    Frame {
        service,
        method: METHOD_CONTROL,
        headers: vec![("type".into(), "ping".into())],
        ..Frame::default()
    }
}

/// The ack of a data frame: the frame as received, `biz_rt` (handling time, ms) added, the
/// payload replaced.
pub fn ack_frame(received: &Frame, biz_rt_ms: u64) -> Frame {
    let mut ack = received.clone();
    ack.headers.push(("biz_rt".into(), biz_rt_ms.to_string()));
    ack.payload = Some(ACK_PAYLOAD.to_vec());
    ack
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// How to reach Feishu's long connection. `Debug` shows the secret as `***`.
#[derive(Debug, Clone)]
pub struct LongConnectionConfig {
    /// The app's App ID (`cli_…`), public: named in log lines.
    pub app_id: String,
    /// The App Secret; sent only in the endpoint call's body.
    pub app_secret: Secret,
    /// [`DEFAULT_DOMAIN`], `https://open.larksuite.com` for Lark; tests use loopback.
    pub domain: String,
    /// The settings in force until the server sends its own (the SDKs' defaults).
    pub settings: ClientConfig,
}

impl LongConnectionConfig {
    pub fn new(app_id: impl Into<String>, app_secret: Secret) -> Self {
        LongConnectionConfig {
            app_id: app_id.into(),
            app_secret,
            domain: DEFAULT_DOMAIN.to_string(),
            settings: ClientConfig::default(),
        }
    }
}

/// The server's `ClientConfig`, in force; the SDKs' defaults until the server says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    pub ping_interval: Duration,
    /// Reconnect tries after a loss; negative: for ever.
    pub reconnect_count: i64,
    pub reconnect_interval: Duration,
    /// The first reconnect waits a random part of this, so clients do not return in step.
    pub reconnect_nonce: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ping_interval: Duration::from_secs(120),
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
        }
    }
}

impl ClientConfig {
    /// Applies the fields `value` has. The Go SDK takes a missing field as 0, which would make
    /// it ping in a busy loop; here an absent field keeps its value and a ping interval must be
    /// at least a second.
    pub fn apply(&mut self, value: &Value) {
        let secs = |key: &str| {
            int_at(value, &[key])
                .and_then(|n| u64::try_from(n).ok())
                .map(Duration::from_secs)
        };
        if let Some(d) = secs("PingInterval").filter(|d| *d >= Duration::from_secs(1)) {
            self.ping_interval = d;
        }
        if let Some(n) = int_at(value, &["ReconnectCount"]) {
            self.reconnect_count = n;
        }
        if let Some(d) = secs("ReconnectInterval") {
            self.reconnect_interval = d;
        }
        if let Some(d) = secs("ReconnectNonce") {
            self.reconnect_nonce = d;
        }
    }

    /// The wait before attempt `failures + 1` after a loss; `None` when the count is used up.
    fn delay(&self, failures: u32, unit: f64) -> Option<Duration> {
        if self.reconnect_count >= 0 && i64::from(failures) > self.reconnect_count {
            return None;
        }
        Some(if failures <= 1 {
            self.reconnect_nonce.mul_f64(unit.clamp(0.0, 1.0))
        } else {
            self.reconnect_interval
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

/// Runs the long-connection client until `shutdown` becomes true (or its sender is dropped).
///
/// Each text message addressed to the bot is acked first and then given to `handler`; its
/// answer goes through the Open API ([`super::ReplyRoute::Feishu`]). Handlers run beside the
/// connection, inside this future. Failures are logged (target `weekbell::inbound::socket`);
/// what retrying cannot cure stops the client with an error line. Blank credentials are
/// reported once and the client then only waits for shutdown.
pub async fn run<H, Fut>(
    config: LongConnectionConfig,
    http: reqwest::Client,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    if config.app_id.trim().is_empty() || config.app_secret.expose().trim().is_empty() {
        tracing::error!(
            app_id = config.app_id,
            "Feishu long connection: app_id or app_secret is empty; set the app's App ID and App \
             Secret. Not connecting."
        );
        socket::stopped(&mut shutdown).await;
        return;
    }
    let client = Feishu {
        settings: config.settings,
        config,
        service: 0,
        next_ping: Instant::now(),
        fragments: Fragments::default(),
        seen: Seen::new(SEEN_CAPACITY, SEEN_TTL),
        handler,
        handled: PhantomData,
    };
    socket::run(client, http, shutdown).await;
}

/// What the endpoint call answers besides the URL.
pub struct Opened {
    service: i32,
    settings: Option<Value>,
}

struct Feishu<H, Fut> {
    config: LongConnectionConfig,
    settings: ClientConfig,
    /// The connection URL's `service_id`, put into every ping.
    service: i32,
    next_ping: Instant,
    fragments: Fragments,
    seen: Seen,
    handler: H,
    handled: PhantomData<fn() -> Fut>,
}

/// A ping is due.
pub struct PingDue;

impl<H, Fut> socket::Client for Feishu<H, Fut>
where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    type Handled = Fut;
    type Opener = LongConnectionConfig;
    type Opened = Opened;
    type Event = PingDue;

    const LABEL: &'static str = "Feishu long connection";
    const PLATFORM: &'static str = "feishu";

    fn app(&self) -> &str {
        &self.config.app_id
    }

    fn opener(&self) -> LongConnectionConfig {
        self.config.clone()
    }

    async fn open(
        config: LongConnectionConfig,
        http: reqwest::Client,
    ) -> Result<Endpoint<Opened>, Failure> {
        let secret = config.app_secret.expose().to_string();
        let url = format!("{}{ENDPOINT_PATH}", config.domain.trim_end_matches('/'));
        let sent = http
            .post(url)
            .header("locale", "zh")
            .json(&json!({"AppID": config.app_id, "AppSecret": secret}))
            .timeout(OPEN_TIMEOUT)
            .send()
            .await;
        let response = sent.map_err(|e| {
            Failure::retry(format!(
                "cannot reach {ENDPOINT_PATH}: {}",
                scrub(&e.without_url().to_string(), &[&secret])
            ))
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| {
            Failure::retry(format!(
                "cannot read the answer of {ENDPOINT_PATH}: {}",
                e.without_url()
            ))
        })?;
        endpoint(status, &body, &config.app_id, &secret)
    }

    fn refused_handshake(status: u16, headers: &HeaderMap) -> Failure {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| printable(v.trim(), 120))
        };
        handshake_failure(
            status,
            header("Handshake-Status").and_then(|s| s.parse().ok()),
            header("Handshake-Autherrcode").and_then(|s| s.parse().ok()),
            header("Handshake-Msg"),
        )
    }

    fn connected(&mut self, opened: Opened) {
        if let Some(settings) = &opened.settings {
            self.settings.apply(settings);
        }
        self.service = opened.service;
        self.fragments = Fragments::default();
        // The SDKs ping as soon as they are connected.
        self.next_ping = Instant::now();
    }

    fn keepalive(&self) -> Duration {
        // Pongs answer the pings every `PingInterval`; only a longer silence is suspicious.
        self.settings.ping_interval.saturating_add(PONG_GRACE)
    }

    fn retry_delay(&mut self, failures: u32) -> Option<Duration> {
        self.settings.delay(failures, fastrand::f64())
    }

    async fn on_message(&mut self, link: &mut Link<'_, Fut>, message: Message) -> Step {
        let app_id = self.config.app_id.as_str();
        let Message::Binary(bytes) = message else {
            tracing::warn!(
                app_id,
                "Feishu long connection: ignoring a text frame (the protocol is binary)"
            );
            return Step::Go;
        };
        let frame = match Frame::decode(&bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(
                    app_id,
                    "Feishu long connection: dropped an unreadable frame: {e}"
                );
                return Step::Go;
            }
        };
        let received = Instant::now();
        let kind = frame.header("type").unwrap_or("");
        match (frame.method, kind) {
            (METHOD_CONTROL, "pong") => {
                if let Some(settings) = frame
                    .payload
                    .as_deref()
                    .and_then(|p| serde_json::from_slice::<Value>(p).ok())
                {
                    let before = self.settings;
                    self.settings.apply(&settings);
                    if self.settings != before {
                        tracing::info!(app_id, settings = ?self.settings, "Feishu long connection: new settings from the server");
                        self.next_ping = self
                            .next_ping
                            .min(socket::after(self.settings.ping_interval));
                    }
                }
                Step::Go
            }
            (METHOD_DATA, "event") => {
                let Some(payload) = self.fragments.add(&frame, received) else {
                    return Step::Go;
                };
                let step = event_step(&mut self.seen, link.busy(), &payload, received);
                if matches!(step, EventStep::Hold) {
                    tracing::warn!(
                        app_id,
                        "Feishu long connection: {} messages are still being handled; leaving \
                         one unacked for Feishu to send again",
                        socket::MAX_IN_FLIGHT
                    );
                    return Step::Go;
                }
                let elapsed = socket::millis(received.elapsed());
                let sent = link
                    .send(Message::binary(ack_frame(&frame, elapsed).encode()))
                    .await;
                if let EventStep::Deliver(message) = step {
                    // Handled even if the ack was lost: a redelivery is caught by `seen`.
                    link.spawn((self.handler)(message));
                }
                match sent {
                    Ok(()) => Step::Go,
                    Err(e) => Step::Lost(format!("cannot send an ack: {e}")),
                }
            }
            (method, kind) => {
                // `card` callbacks, server pings and anything newer: the SDKs neither act on
                // them nor ack them.
                let kind = printable(kind, 32);
                tracing::debug!(
                    app_id,
                    method,
                    kind,
                    "Feishu long connection: frame not handled"
                );
                Step::Go
            }
        }
    }

    async fn next_event(&mut self) -> PingDue {
        tokio::time::sleep_until(self.next_ping).await;
        PingDue
    }

    async fn on_event(&mut self, link: &mut Link<'_, Fut>, PingDue: PingDue) -> Step {
        self.next_ping = socket::after(self.settings.ping_interval);
        match link
            .send(Message::binary(ping_frame(self.service).encode()))
            .await
        {
            Ok(()) => Step::Go,
            Err(e) => Step::Lost(format!("cannot send a ping: {e}")),
        }
    }
}

/// Reads the endpoint call's answer. Errors never quote the body, which holds the URL.
fn endpoint(
    status: u16,
    body: &[u8],
    app_id: &str,
    secret: &str,
) -> Result<Endpoint<Opened>, Failure> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let msg = str_at(&value, &["msg"]).map(|m| printable(&scrub(m, &[secret]), 200));
    if status != 200 {
        return Err(Failure::retry(format!(
            "{ENDPOINT_PATH} answered HTTP {status} ({})",
            msg.as_deref().unwrap_or("system busy")
        )));
    }
    let Some(code) = int_at(&value, &["code"]) else {
        return Err(Failure::retry(format!(
            "{ENDPOINT_PATH} answered without a code"
        )));
    };
    let msg = msg.unwrap_or_default();
    if RETRY_CODES.contains(&code) {
        return Err(Failure::retry(format!(
            "{ENDPOINT_PATH} answered code {code} ({msg}); retrying"
        )));
    }
    if code == TOO_MANY_CONNECTIONS {
        return Err(Failure {
            why: format!(
                "Feishu refused a connection for app {app_id}: code {code}, too many connections \
                 ({msg}). Every client of the app gets its own share of the events; stop the \
                 other clients using this app"
            ),
            then: Then::Stop,
        });
    }
    if code != 0 {
        return Err(Failure {
            why: format!(
                "Feishu refused a connection for app {app_id}: code {code} ({msg}). Check that \
                 app_id and app_secret are the app's App ID and App Secret (凭证与基础信息), that \
                 it is a self-built app (企业自建应用), and that its events are set to be received \
                 over the long connection (事件与回调 → 使用长连接接收事件)"
            ),
            then: Then::Stop,
        });
    }
    let Some(url) = str_at(&value, &["data", "URL"]).map(|u| u.trim().to_string()) else {
        return Err(Failure::retry(format!(
            "{ENDPOINT_PATH} answered code 0 without a URL"
        )));
    };
    let parsed = reqwest::Url::parse(&url).ok();
    let query = |key: &str| {
        parsed.as_ref().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
    };
    let service = query("service_id")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut secrets: Vec<String> = parsed
        .as_ref()
        .map(|u| u.query_pairs().map(|(_, v)| v.into_owned()).collect())
        .unwrap_or_default();
    secrets.retain(|s| s.len() >= 4);
    secrets.push(secret.to_string());
    Ok(Endpoint {
        url,
        secrets,
        opened: Opened {
            service,
            settings: value
                .get("data")
                .and_then(|d| d.get("ClientConfig"))
                .cloned(),
        },
    })
}

/// A handshake answered with `status` instead of 101, as the SDKs read its headers.
fn handshake_failure(
    status: u16,
    handshake_status: Option<i64>,
    auth_code: Option<i64>,
    message: Option<String>,
) -> Failure {
    let msg = message.unwrap_or_default();
    match (handshake_status, auth_code) {
        (Some(403), _) => Failure {
            why: format!("Feishu forbids this app a connection (Handshake-Status 403: {msg})"),
            then: Then::Stop,
        },
        (Some(514), Some(TOO_MANY_CONNECTIONS)) => Failure {
            why: format!(
                "Feishu refused the connection: too many connections for this app \
                 (Handshake-Status 514, {TOO_MANY_CONNECTIONS}: {msg}); stop the other clients \
                 using this app"
            ),
            then: Then::Stop,
        },
        (Some(code), _) => Failure::retry(format!(
            "the WebSocket handshake was refused (HTTP {status}, Handshake-Status {code}: {msg})"
        )),
        (None, _) => Failure::retry(format!(
            "the WebSocket handshake was refused (HTTP {status})"
        )),
    }
}

/// One event's fragments so far, by `seq`, and when the first came.
type Parts = (Instant, Vec<Option<Vec<u8>>>);

/// Events being put together from fragments.
#[derive(Default)]
struct Fragments {
    joining: HashMap<String, Parts>,
}

impl Fragments {
    /// The event's whole payload once all of it is here; `None` while parts are missing or
    /// when the parts make no sense (logged).
    fn add(&mut self, frame: &Frame, now: Instant) -> Option<Vec<u8>> {
        let number = |key: &str| {
            frame
                .header(key)
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let payload = frame.payload.clone().unwrap_or_default();
        let sum = number("sum").unwrap_or(1);
        if sum <= 1 {
            return Some(payload);
        }
        let id = frame.header("message_id").unwrap_or("").to_string();
        let seq = number("seq");
        let (Some(seq), false, true) = (seq, id.is_empty(), sum <= MAX_FRAGMENTS) else {
            tracing::warn!(
                sum,
                "Feishu long connection: dropped a fragment without a usable message_id, seq or sum"
            );
            return None;
        };
        if seq >= sum {
            tracing::warn!(
                sum,
                seq,
                "Feishu long connection: dropped a fragment out of range"
            );
            return None;
        }
        self.joining
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < FRAGMENT_TTL);
        if !self.joining.contains_key(&id) && self.joining.len() >= MAX_JOINING {
            tracing::warn!("Feishu long connection: too many events in fragments; dropped one");
            return None;
        }
        let (_, parts) = self
            .joining
            .entry(id.clone())
            .or_insert_with(|| (now, vec![None; sum]));
        if parts.len() != sum {
            tracing::warn!("Feishu long connection: fragments disagree on their count; dropped");
            self.joining.remove(&id);
            return None;
        }
        parts[seq] = Some(payload);
        if parts.iter().any(Option::is_none) {
            return None;
        }
        let (_, parts) = self.joining.remove(&id)?;
        Some(parts.into_iter().flatten().flatten().collect())
    }
}

/// What to do with one whole event.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per frame, matched at once; a box would only add an allocation"
)]
enum EventStep {
    /// Ack, nothing else (a repeat, a picture, another event type, unreadable JSON).
    Ack,
    /// Ack, then hand over.
    Deliver(InboundMessage),
    /// Too many handlers running: no ack, so Feishu sends it again.
    Hold,
}

/// Decides about one event. Unreadable events are acked like the rest: a redelivery would be
/// just as unreadable.
fn event_step(seen: &mut Seen, busy: bool, payload: &[u8], now: Instant) -> EventStep {
    let Ok(event) = serde_json::from_slice::<Value>(payload) else {
        tracing::warn!("Feishu long connection: an event that is not JSON was acked and dropped");
        return EventStep::Ack;
    };
    let event_key = str_at(&event, &["header", "event_id"]).map(|id| format!("event:{id}"));
    if let Some(key) = &event_key
        && seen.contains(key, now)
    {
        tracing::debug!("Feishu long connection: event delivered again; acked");
        return EventStep::Ack;
    }
    let step = match parse_event(&event) {
        Err(refusal) => {
            tracing::warn!("Feishu long connection: unreadable event acked: {refusal}");
            EventStep::Ack
        }
        Ok(Verdict::Message(message)) => {
            let key = format!("msg:{}", message.message_id);
            if seen.contains(&key, now) {
                tracing::debug!("Feishu long connection: message redelivered under a new event id");
                EventStep::Ack
            } else if busy {
                return EventStep::Hold;
            } else {
                seen.insert(key, now);
                EventStep::Deliver(message)
            }
        }
        Ok(Verdict::Ignore(why)) => {
            tracing::debug!("Feishu long connection: {why}");
            EventStep::Ack
        }
        Ok(Verdict::Challenge { .. } | Verdict::Added { .. }) => EventStep::Ack,
    };
    if let Some(key) = event_key {
        seen.insert(key, now);
    }
    step
}

/// The message an event frame carries, as the client would hand it over: for the fuzz target.
pub fn read_event(frame: &[u8]) -> Option<InboundMessage> {
    let frame = Frame::decode(frame).ok()?;
    let payload = Fragments::default().add(&frame, Instant::now())?;
    match event_step(
        &mut Seen::new(16, SEEN_TTL),
        false,
        &payload,
        Instant::now(),
    ) {
        EventStep::Deliver(m) => Some(m),
        EventStep::Ack | EventStep::Hold => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::ReplyRoute;
    use proptest::prelude::*;

    /// `NewPingFrame(33554678)` as the Go SDK marshals it: 1–4, the header, then 6, 7 and 9
    /// empty (field 8 left out, the payload being nil). Written out by hand from
    /// `pbbp2.pb.go`'s `MarshalToSizedBuffer`.
    const GO_PING: &[u8] = &[
        0x08, 0x00, 0x10, 0x00, 0x18, 0xf6, 0x81, 0x80, 0x10, 0x20, 0x00, 0x2a, 0x0c, 0x0a, 0x04,
        b't', b'y', b'p', b'e', 0x12, 0x04, b'p', b'i', b'n', b'g', 0x32, 0x00, 0x3a, 0x00, 0x4a,
        0x00,
    ];

    fn event_json(event_id: &str, message_id: &str, text: &str) -> String {
        json!({
            "schema": "2.0",
            "header": {"event_id": event_id, "token": "", "create_time": "1774004597520",
                       "event_type": "im.message.receive_v1", "tenant_key": "114effbf",
                       "app_id": "cli_a9394c7bc1f89cc1"},
            "event": {
                "sender": {"sender_id": {"open_id": "ou_3db3", "union_id": "on_5370", "user_id": "f865491f"},
                           "sender_type": "user", "tenant_key": "114effbf"},
                "message": {"message_id": message_id, "chat_id": "oc_e95e", "chat_type": "group",
                            "message_type": "text",
                            "content": json!({"text": text}).to_string(),
                            "create_time": "1774004597216",
                            "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "Bot"}]}
            }
        })
        .to_string()
    }

    fn data_frame(seq_id: u64, headers: &[(&str, &str)], payload: &[u8]) -> Frame {
        Frame {
            seq_id,
            log_id: 7_000_000_000 + seq_id,
            service: 33_554_678,
            method: METHOD_DATA,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            payload_encoding: String::new(),
            payload_type: String::new(),
            payload: Some(payload.to_vec()),
            log_id_new: format!("log-{seq_id}"),
        }
    }

    #[test]
    fn the_ping_matches_the_go_sdk_bytes() {
        assert_eq!(ping_frame(33_554_678).encode(), GO_PING);
        assert_eq!(Frame::decode(GO_PING), Ok(ping_frame(33_554_678)));
    }

    #[test]
    fn frames_written_by_other_runtimes_are_read() {
        // A pong as protobufjs writes it (empty optional fields left out, service 1).
        let pong = [
            0x08, 0x00, 0x10, 0x00, 0x18, 0x01, 0x20, 0x00, 0x2a, 0x0c, 0x0a, 0x04, b't', b'y',
            b'p', b'e', 0x12, 0x04, b'p', b'o', b'n', b'g',
        ];
        let frame = Frame::decode(&pong).unwrap_or_default();
        assert_eq!(frame.service, 1);
        assert_eq!(frame.header("type"), Some("pong"));
        assert_eq!(frame.payload, None);
        // Fields in another order, an unknown field of each wire type, a repeated scalar.
        let mut odd = vec![0x20, 0x01, 0x18, 0x05, 0x10, 0x09, 0x08, 0x03];
        odd.extend([0x50, 0x96, 0x01]); // field 10, varint
        odd.extend([0x59, 1, 2, 3, 4, 5, 6, 7, 8]); // field 11, 64-bit
        odd.extend([0x62, 0x02, b'h', b'i']); // field 12, bytes
        odd.extend([0x6d, 1, 2, 3, 4]); // field 13, 32-bit
        odd.extend([0x08, 0x04]); // SeqID again: the last one counts
        odd.extend([0x42, 0x02, b'{', b'}']);
        let frame = Frame::decode(&odd).unwrap_or_default();
        assert_eq!(
            (frame.seq_id, frame.log_id, frame.service, frame.method),
            (4, 9, 5, 1)
        );
        assert_eq!(frame.payload.as_deref(), Some(&b"{}"[..]));
        // A negative service, sign-extended to ten bytes, both ways.
        let negative = Frame {
            service: -2,
            ..Frame::default()
        };
        let bytes = negative.encode();
        assert_eq!(
            &bytes[4..15],
            &[
                0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]
        );
        assert_eq!(Frame::decode(&bytes), Ok(negative));
    }

    #[test]
    fn broken_frames_are_refused_with_a_reason() {
        let cases: [(&[u8], FrameError); 9] = [
            (
                &[0x08, 0x00, 0x10, 0x00, 0x18, 0x00],
                FrameError::Missing("method"),
            ),
            (&[], FrameError::Missing("SeqID")),
            (&[0x08], FrameError::Truncated),
            (
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
                FrameError::VarintTooLong,
            ),
            (
                &[0x0a, 0x00],
                FrameError::WrongWireType { field: 1, wire: 2 },
            ),
            (&[0x42, 0x05, b'a'], FrameError::Truncated),
            (&[0x00], FrameError::FieldZero),
            (&[0x53], FrameError::UnsupportedWireType(3)),
            (
                &[0x2a, 0x03, 0x0a, 0x01, b'k'],
                FrameError::Missing("Header.value"),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Frame::decode(bytes), Err(expected), "{bytes:?}");
        }
        let mut bad_utf8 = ping_frame(1).encode();
        bad_utf8.extend([0x4a, 0x01, 0xff]);
        assert_eq!(
            Frame::decode(&bad_utf8),
            Err(FrameError::NotUtf8("LogIDNew"))
        );
    }

    #[test]
    fn the_ack_echoes_the_frame_with_biz_rt_and_code_200() {
        let frame = data_frame(
            11,
            &[
                ("type", "event"),
                ("message_id", "m1"),
                ("sum", "1"),
                ("seq", "0"),
                ("trace_id", "t1"),
            ],
            b"{}",
        );
        let ack = Frame::decode(&ack_frame(&frame, 3).encode()).unwrap_or_default();
        assert_eq!(
            (ack.seq_id, ack.log_id, ack.service, ack.method),
            (11, 7_000_000_011, 33_554_678, 1)
        );
        assert_eq!(ack.log_id_new, "log-11");
        assert_eq!(ack.header("trace_id"), Some("t1"));
        assert_eq!(ack.header("biz_rt"), Some("3"));
        let payload: Value =
            serde_json::from_slice(ack.payload.as_deref().unwrap_or(b"")).unwrap_or_default();
        assert_eq!(payload["code"], 200);
    }

    #[test]
    fn fragments_are_joined_by_message_id_and_expire() {
        let whole = event_json("ev1", "om_1", "完成 12");
        let (a, b) = whole.as_bytes().split_at(40);
        let t0 = Instant::now();
        let mut f = Fragments::default();
        let part = |seq: &str, bytes: &[u8]| {
            data_frame(
                1,
                &[
                    ("type", "event"),
                    ("message_id", "m1"),
                    ("sum", "2"),
                    ("seq", seq),
                ],
                bytes,
            )
        };
        // Second part first.
        assert_eq!(f.add(&part("1", b), t0), None);
        assert_eq!(f.add(&part("0", a), t0), Some(whole.as_bytes().to_vec()));
        // A set left incomplete is forgotten after 5 s.
        assert_eq!(f.add(&part("0", a), t0), None);
        assert_eq!(f.add(&part("1", b), t0 + Duration::from_secs(6)), None);
        // Nonsense is dropped, never a panic.
        let nonsense = [
            data_frame(
                1,
                &[
                    ("type", "event"),
                    ("message_id", "m2"),
                    ("sum", "2"),
                    ("seq", "2"),
                ],
                b"x",
            ),
            data_frame(1, &[("type", "event"), ("sum", "2"), ("seq", "0")], b"x"),
            data_frame(
                1,
                &[
                    ("type", "event"),
                    ("message_id", "m3"),
                    ("sum", "1000"),
                    ("seq", "0"),
                ],
                b"x",
            ),
            data_frame(
                1,
                &[("type", "event"), ("message_id", "m4"), ("sum", "2")],
                b"x",
            ),
        ];
        for frame in &nonsense {
            assert_eq!(f.add(frame, t0), None);
        }
        let unfragmented = data_frame(1, &[("type", "event")], b"whole");
        assert_eq!(f.add(&unfragmented, t0).as_deref(), Some(&b"whole"[..]));
    }

    #[test]
    fn events_are_delivered_once_by_event_id_and_message_id() {
        let now = Instant::now();
        let mut seen = Seen::new(100, SEEN_TTL);
        let first = event_json("ev1", "om_1", "@_user_1 完成 12");
        let EventStep::Deliver(m) = event_step(&mut seen, false, first.as_bytes(), now) else {
            panic!("not delivered")
        };
        assert_eq!(m.message_id, "om_1");
        assert_eq!(m.text, "@_user_1 完成 12");
        assert!(
            matches!(m.reply, ReplyRoute::Feishu { ref message_id, .. } if message_id == "om_1")
        );
        assert!(matches!(
            event_step(&mut seen, false, first.as_bytes(), now),
            EventStep::Ack
        ));
        let new_event_id = event_json("ev2", "om_1", "@_user_1 完成 12");
        assert!(matches!(
            event_step(&mut seen, false, new_event_id.as_bytes(), now),
            EventStep::Ack
        ));
        let other = event_json("ev3", "om_2", "list");
        assert!(matches!(
            event_step(&mut seen, true, other.as_bytes(), now),
            EventStep::Hold
        ));
        assert!(matches!(
            event_step(&mut seen, false, other.as_bytes(), now),
            EventStep::Deliver(_)
        ));
        for junk in [
            &b"not json"[..],
            b"{}",
            br#"{"schema":"2.0","header":{"event_type":"im.message.receive_v1"}}"#,
        ] {
            assert!(matches!(
                event_step(&mut seen, false, junk, now),
                EventStep::Ack
            ));
        }
    }

    #[test]
    fn the_endpoint_answer_is_read_and_its_codes_sorted() {
        let ok = br#"{"code":0,"msg":"ok","data":{"URL":"wss://msg-frontier.feishu.cn/ws/v2?fpid=493&aid=552564&device_id=7301&access_key=9f8e7d6c&service_id=33554678&ticket=5b1c-77","ClientConfig":{"ReconnectCount":-1,"ReconnectInterval":120,"ReconnectNonce":30,"PingInterval":90}}}"#;
        let Ok(e) = endpoint(200, ok, "cli_a", "s3cret") else {
            panic!("refused")
        };
        assert_eq!(e.opened.service, 33_554_678);
        assert!(
            e.secrets.contains(&"9f8e7d6c".to_string())
                && e.secrets.contains(&"5b1c-77".to_string())
        );
        assert!(e.secrets.contains(&"s3cret".to_string()));
        let mut settings = ClientConfig::default();
        settings.apply(e.opened.settings.as_ref().unwrap_or(&Value::Null));
        assert_eq!(settings.ping_interval, Duration::from_secs(90));

        for (status, body) in [
            (200, &br#"{"code":1,"msg":"system busy"}"#[..]),
            (200, br#"{"code":1000040343,"msg":"internal error"}"#),
            (502, b"<html>bad gateway</html>"),
            (200, br#"{"code":0,"data":{}}"#),
            (200, b"not json"),
        ] {
            assert!(
                matches!(
                    endpoint(status, body, "cli_a", "s"),
                    Err(Failure {
                        then: Then::Retry,
                        ..
                    })
                ),
                "{body:?}"
            );
        }
        let too_many = endpoint(
            200,
            br#"{"code":1000040350,"msg":"exceed conn limit"}"#,
            "cli_a",
            "s",
        );
        assert!(
            matches!(too_many, Err(Failure { then: Then::Stop, ref why }) if why.contains("too many connections"))
        );
        let bad = endpoint(
            200,
            br#"{"code":10003,"msg":"invalid param s3cret"}"#,
            "cli_a",
            "s3cret",
        );
        assert!(
            matches!(bad, Err(Failure { then: Then::Stop, ref why }) if why.contains("cli_a") && !why.contains("s3cret"))
        );
    }

    #[test]
    fn handshake_refusals_stop_or_retry_as_the_sdks_do() {
        let stop = |f: Failure| matches!(f.then, Then::Stop);
        assert!(stop(handshake_failure(
            403,
            Some(403),
            None,
            Some("forbidden".into())
        )));
        assert!(stop(handshake_failure(
            514,
            Some(514),
            Some(TOO_MANY_CONNECTIONS),
            None
        )));
        assert!(!stop(handshake_failure(514, Some(514), Some(1), None)));
        assert!(!stop(handshake_failure(500, None, None, None)));
    }

    #[test]
    fn settings_apply_what_is_there_and_reconnects_follow_them() {
        let mut c = ClientConfig::default();
        c.apply(&json!({"PingInterval": 0, "ReconnectNonce": 2}));
        assert_eq!(
            c.ping_interval,
            Duration::from_secs(120),
            "a zero interval is ignored"
        );
        assert_eq!(c.reconnect_nonce, Duration::from_secs(2));
        assert_eq!(c.delay(1, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(c.delay(2, 0.5), Some(Duration::from_secs(120)));
        assert_eq!(c.delay(u32::MAX, 0.5), Some(Duration::from_secs(120)));
        c.apply(&json!({"ReconnectCount": 2, "ReconnectInterval": 5, "PingInterval": "7"}));
        assert_eq!(c.ping_interval, Duration::from_secs(7));
        assert_eq!(c.delay(2, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(c.delay(3, 0.0), None);
    }

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Frame::decode(&bytes);
            let _ = read_event(&bytes);
        }

        #[test]
        fn frames_round_trip(
            seq_id in any::<u64>(), log_id in any::<u64>(), service in any::<i32>(), method in any::<i32>(),
            headers in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..4),
            payload in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            log_id_new in "\\PC{0,8}",
        ) {
            let frame = Frame { seq_id, log_id, service, method, headers, payload_encoding: String::new(),
                payload_type: "json".into(), payload, log_id_new };
            prop_assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
    }
}

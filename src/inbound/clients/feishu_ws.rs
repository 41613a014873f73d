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
//! Every WebSocket message is a binary proto2 `pbbp2.Frame` ([`Frame`], encoded by hand in
//! `frame.rs`, which says why not with `prost`; the settings are in `config.rs`):
//! - data frames (`method` 1) with header `type=event` carry the event JSON, the same as the
//!   HTTP callback's but plaintext and unsigned (the connection is authenticated by the URL,
//!   which only the App Secret can obtain); it is read by [`crate::inbound::feishu`]'s parser. A large
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

mod config;
mod frame;

pub use config::{ClientConfig, DEFAULT_DOMAIN, LongConnectionConfig};
pub use frame::{
    ACK_PAYLOAD, Frame, FrameError, METHOD_CONTROL, METHOD_DATA, ack_frame, ping_frame,
};

use super::socket::{self, Endpoint, Failure, Link, Seen, Step, Then, printable};
use crate::inbound::feishu::parse_event;
use crate::inbound::{InboundMessage, Verdict, int_at, str_at};
use crate::secret::Redactor;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::HeaderMap;

/// Where a connection URL is asked for, under the domain.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
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
// The client.

/// Runs the long-connection client until `shutdown` becomes true (or its sender is dropped).
///
/// Each text message addressed to the bot is acked first and then given to `handler`; its
/// answer goes through the Open API ([`crate::inbound::ReplyRoute::Feishu`]). Handlers run beside the
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
        crate::shutdown::signalled(&mut shutdown).await;
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
                Redactor::of([secret.as_str()]).text(&e.without_url().to_string())
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
    let msg = str_at(&value, &["msg"]).map(|m| printable(&Redactor::of([secret]).text(m), 200));
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
    use super::frame::tests::data_frame;
    use super::*;
    use crate::inbound::ReplyRoute;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Frame::decode(&bytes);
            let _ = read_event(&bytes);
        }
    }
}

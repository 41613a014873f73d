//! DingTalk Stream mode: robot messages over a WebSocket the bot opens itself, for offices
//! with no public URL.
//!
//! Unlike the rest of `inbound`, this module does IO. Each connection starts with
//! `POST {gateway}/v1.0/gateway/connections/open` (credentials in the body, no auth header),
//! whose answer is an `endpoint` and a `ticket`; the WebSocket is then opened at
//! `endpoint?ticket=…`. The robot message is the same JSON the HTTP callback carries and is
//! read by [`crate::inbound::dingtalk`]'s parser. It carries no signature and none is checked: the
//! connection itself is authenticated by the ticket, which only the AppSecret can obtain.
//!
//! The protocol, as the official SDKs and DingTalk's protocol notes describe it:
//! - frames are JSON text with `specVersion`, `type` (SYSTEM/EVENT/CALLBACK), `headers`
//!   (`topic`, `messageId`, …) and `data`, a *string* holding JSON;
//! - an ack is `{code, headers{contentType, messageId}, message, data}` on the connection that
//!   carried the frame;
//! - every robot message is acked on receipt and its handler runs afterwards, beside the
//!   reading loop (a slow handler must not hold up pings and acks). The official Python SDK
//!   does the same: its `ChatbotHandler.raw_process` hands the message to an executor and
//!   answers 200 at once, whatever is still running. Its Go SDK instead leaves a frame unacked
//!   when its 100 handler slots are full, "for retry"; but a re-push of an unacked robot
//!   message is nowhere documented (robot messages are described as fire-and-forget), so this
//!   client does not count on one. Past [`socket::MAX_IN_FLIGHT`] running handlers a robot
//!   message is acked and queued (at most [`MAX_QUEUED`]), and run as handlers finish; only
//!   past that bound is a message left unacked, with a warning. A repeated `messageId`, or a
//!   repeated `msgId` under a new `messageId`, is acked again without calling the handler a
//!   second time;
//! - a ticket opens one connection within 90 s: every connect fetches a fresh one;
//! - SYSTEM `ping` is answered with its own `data`; SYSTEM `disconnect` means the gateway has
//!   stopped delivering on this connection, so the client reconnects at once rather than
//!   waiting for the close;
//! - sockets can go half-open unnoticed by TCP, so the client keeps its own watchdog: after
//!   `keepalive` of silence it sends a WebSocket ping and drops the connection if nothing at all
//!   arrives soon after.
//!
//! The connection itself (reconnects, backoff, the watchdog, shutdown) is [`super::socket`]'s,
//! shared with Slack Socket Mode and Feishu's long connection.
//!
//! The secret and the ticket never reach a log line: the secret only travels in the open
//! call's body, and error texts that could quote the socket URL are scrubbed of the ticket.

use super::socket::{self, Endpoint, Failure, Link, Seen, SendError, Step, Then, printable};
use crate::inbound::dingtalk::parse_message;
use crate::inbound::{InboundMessage, Verdict};
use crate::secret::Redactor;
use crate::secret::Secret;
use crate::secret::percent_encode as encode;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

pub use crate::backoff::Backoff;
use crate::shutdown::Shutdown;

/// The topic robot messages arrive on, and the one CALLBACK subscription the client makes.
pub const ROBOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
/// DingTalk's OpenAPI host (mainland China).
pub const DEFAULT_GATEWAY: &str = "https://api.dingtalk.com";
/// Where a connection ticket is asked for, under the gateway.
pub const OPEN_PATH: &str = "/v1.0/gateway/connections/open";

/// The gateway ignores the `data` of a robot-message ack; this is what the protocol notes show.
const ROBOT_ACK_DATA: &str = r#"{"response": null}"#;
/// The Python SDK remembers acks for 5 minutes, up to 10 000 ids; redeliveries come ~60 s
/// after the first push, well inside that.
const SEEN_CAPACITY: usize = 10_000;
const SEEN_TTL: Duration = Duration::from_secs(5 * 60);
/// Robot messages acked while [`socket::MAX_IN_FLIGHT`] handlers run, waiting for a free slot.
/// A command is a line of text, a few hundred bytes parsed: a full queue is well under 10 MB
/// even for the longest messages DingTalk lets a person send.
pub const MAX_QUEUED: usize = 1_000;
/// How often queued messages are looked at while they wait for a free handler slot.
const DRAIN_TICK: Duration = Duration::from_millis(20);
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach DingTalk in Stream mode. `Debug` shows the secret as `***`.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The app's AppKey (Client ID). Named in log lines so an operator can tell apps apart.
    pub client_id: String,
    /// The app's AppSecret (Client Secret). Sent only in the body of the open call.
    pub client_secret: Secret,
    /// Base URL of the OpenAPI, no trailing path: [`DEFAULT_GATEWAY`]; tests use loopback.
    pub gateway: String,
    /// Waits between failed connection attempts.
    pub backoff: Backoff,
    /// Silence on the socket after which the client sends a WebSocket ping. If nothing
    /// arrives within a further `min(keepalive, 10 s)`, the connection is taken for dead and
    /// reopened.
    pub keepalive: Duration,
}

impl StreamConfig {
    /// The production settings: [`DEFAULT_GATEWAY`], 1 s → 60 s backoff, 60 s keepalive (the
    /// Python SDK's ping interval).
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        StreamConfig {
            client_id: client_id.into(),
            client_secret,
            gateway: DEFAULT_GATEWAY.to_string(),
            backoff: Backoff::default(),
            keepalive: Duration::from_secs(60),
        }
    }
}

/// Runs the Stream client until `shutdown` becomes true (or its sender is dropped, which
/// leaves no one able to stop it otherwise).
///
/// Each robot message (a text message addressed to the bot) is acked first and then given to
/// `handler`; other message types are acked and skipped. The handler returns nothing because
/// the ack cannot carry an answer: the gateway ignores the ack's `data`, and replies go to
/// the message's `sessionWebhook` or the OpenAPI (see [`crate::inbound::ReplyRoute::DingTalk`]).
/// Handlers run concurrently with each other and with the connection, inside this future
/// (so they need not be `Send`; the whole future is `Send` when they are). On shutdown the
/// socket is closed at once and handlers already running get a few seconds to finish.
///
/// Failures are logged (target `weekbell::inbound::socket`) and retried with backoff; a refusal of the credentials is an `error` that names the AppKey and what to
/// check. Blank credentials are reported once and the client then only waits for shutdown.
pub async fn run<H, Fut>(
    config: StreamConfig,
    client: reqwest::Client,
    handler: H,
    shutdown: impl Into<Shutdown>,
) where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut shutdown = shutdown.into();
    let app_key = config.client_id.as_str();
    if app_key.trim().is_empty() || config.client_secret.expose().trim().is_empty() {
        tracing::error!(
            app_key,
            "DingTalk Stream: AppKey or AppSecret is empty; set the app's Client ID and Client \
             Secret. Not connecting."
        );
        shutdown.recv().await;
        return;
    }
    if app_key.trim() != app_key
        || config.client_secret.expose().trim() != config.client_secret.expose()
    {
        // Field reports of `authFailed` with "correct" credentials come down to this.
        tracing::warn!(
            app_key,
            "DingTalk Stream: AppKey or AppSecret has leading or trailing whitespace; the \
             gateway will likely refuse it"
        );
    }

    let stream = DingTalk {
        config,
        handler,
        seen: Seen::new(SEEN_CAPACITY, SEEN_TTL),
        queued: VecDeque::new(),
        drain_at: Instant::now(),
        handled: PhantomData,
    };
    socket::run(stream, client, shutdown).await;
}

// ---------------------------------------------------------------------------------------------
// The connection.

/// The open call's answer. Deliberately not `Debug`: the ticket must not be printed.
struct Ticket {
    endpoint: String,
    ticket: String,
}

enum OpenError {
    /// 400/401/403: most likely the credentials; the detail is the gateway's `code` and
    /// `message`, scrubbed of the secret.
    Refused { status: u16, detail: String },
    /// Anything else: network, 5xx, a body without a ticket.
    Failed(String),
}

fn open_url(gateway: &str) -> String {
    format!("{}{OPEN_PATH}", gateway.trim_end_matches('/'))
}

fn open_body(config: &StreamConfig) -> Value {
    json!({
        "clientId": config.client_id,
        "clientSecret": config.client_secret.expose(),
        "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
        "ua": concat!("weekbell/", env!("CARGO_PKG_VERSION")),
    })
}

async fn open(config: &StreamConfig, client: &reqwest::Client) -> Result<Ticket, OpenError> {
    let secret = config.client_secret.expose();
    let response = client
        .post(open_url(&config.gateway))
        // Without it the gateway answers XML (Node SDK).
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&open_body(config))
        .timeout(OPEN_TIMEOUT)
        .send()
        .await
        .map_err(|e| OpenError::Failed(Redactor::of([secret]).text(&e.to_string())))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| OpenError::Failed(Redactor::of([secret]).text(&e.to_string())))?;
    if !(200..300).contains(&status) {
        let detail = error_detail(&body, secret);
        return Err(if matches!(status, 400 | 401 | 403) {
            OpenError::Refused { status, detail }
        } else {
            OpenError::Failed(format!("HTTP {status}: {detail}"))
        });
    }
    parse_ticket(&body).map_err(|why| OpenError::Failed(format!("HTTP {status} but {why}")))
}

/// Why the open call's answer holds no ticket. Never quotes the body, which holds the ticket.
#[derive(Debug, thiserror::Error)]
enum TicketError {
    #[error("the body is XML or HTML, not JSON")]
    Markup,
    #[error("the body is not JSON")]
    NotJson,
    #[error("the answer lacks an endpoint or a ticket")]
    Missing,
}

/// Reads `{endpoint, ticket}`.
fn parse_ticket(body: &[u8]) -> Result<Ticket, TicketError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        if body.trim_ascii_start().starts_with(b"<") {
            TicketError::Markup
        } else {
            TicketError::NotJson
        }
    })?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (field("endpoint"), field("ticket")) {
        (Some(endpoint), Some(ticket)) => Ok(Ticket { endpoint, ticket }),
        _ => Err(TicketError::Missing),
    }
}

/// What a refusal says, for the log: `code: message (requestid …)` from DingTalk's JSON error
/// body (`{"requestid","code":"authFailed","message":"鉴权失败"}` in field reports), else a
/// short printable excerpt.
fn error_detail(body: &[u8], secret: &str) -> String {
    let detail = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim();
            let (code, message, request) = (get("code"), get("message"), get("requestid"));
            let mut s = [code, message]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            if s.is_empty() {
                s = printable(&v.to_string(), 200);
            }
            if !request.is_empty() {
                s.push_str(&format!(" (requestid {})", printable(request, 64)));
            }
            s
        }
        Err(_) if body.trim_ascii_start().starts_with(b"<") => {
            "an HTML page, not DingTalk's JSON: is `gateway` the DingTalk OpenAPI, over HTTPS?"
                .to_string()
        }
        Err(_) if body.is_empty() => "empty body".to_string(),
        Err(_) => printable(&String::from_utf8_lossy(body), 200),
    };
    Redactor::of([secret]).text(&detail)
}

/// `endpoint?ticket=…`, the ticket percent-encoded as the Python SDK does (it is a UUID in
/// practice, so this only matters for a peculiar gateway).
fn socket_url(endpoint: &str, ticket: &str) -> String {
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}ticket={}", encode(ticket))
}

// ---------------------------------------------------------------------------------------------
// Frames.

/// What a text frame from the gateway asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    /// SYSTEM `ping`: answer with the same `data`.
    Ping { message_id: String, data: String },
    /// SYSTEM `disconnect`: the gateway stops delivering here.
    Disconnect {
        message_id: Option<String>,
        data: String,
        reason: String,
    },
    /// Another SYSTEM topic (the Node SDK knows `CONNECTED`, `REGISTERED`, `KEEPALIVE`; none
    /// is answered).
    System { topic: String },
    /// CALLBACK on [`ROBOT_TOPIC`]; `data` is the robot message's JSON.
    Robot { message_id: String, data: String },
    /// CALLBACK on a topic we did not subscribe to.
    OtherCallback { message_id: String, topic: String },
    /// EVENT frames come only with an EVENT subscription, which the client does not make.
    Event { message_id: String, topic: String },
    /// A `type` the protocol does not have.
    Unknown { message_id: String, kind: String },
    /// Nothing that can be acked (not JSON, no `messageId`): logged and dropped.
    Unreadable(String),
}

fn classify(text: &str) -> Frame {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        // serde_json's message holds only a position, never the input.
        Err(e) => return Frame::Unreadable(format!("not JSON ({e})")),
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let header = |name: &str| {
        value
            .get("headers")
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let topic = header("topic").unwrap_or("").to_string();
    // The SDKs only ever see a string; an object is taken as already parsed.
    let data = match value.get("data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if kind == "SYSTEM" && topic != "ping" && topic != "disconnect" {
        return Frame::System { topic };
    }
    let message_id = header("messageId").map(str::to_string);
    if kind == "SYSTEM" && topic == "disconnect" {
        // Acted on even without an id to ack: the gateway has stopped delivering here.
        let reason = serde_json::from_str::<Value>(&data)
            .ok()
            .and_then(|d| d.get("reason").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "no reason given".to_string());
        return Frame::Disconnect {
            message_id,
            data,
            reason: printable(&reason, 120),
        };
    }
    let Some(message_id) = message_id else {
        return Frame::Unreadable(format!(
            "a {} frame without headers.messageId",
            printable(kind, 16)
        ));
    };
    match kind {
        // `ping` is the only SYSTEM topic left.
        "SYSTEM" => Frame::Ping { message_id, data },
        "CALLBACK" if topic == ROBOT_TOPIC => Frame::Robot { message_id, data },
        "CALLBACK" => Frame::OtherCallback { message_id, topic },
        "EVENT" => Frame::Event { message_id, topic },
        other => Frame::Unknown {
            message_id,
            kind: printable(other, 16),
        },
    }
}

/// The reply to one frame: `code` 200 ok / 404 not handled / 500 failed; `data` is a string
/// holding JSON, like the frame's.
fn ack(message_id: &str, code: u16, message: &str, data: &str) -> String {
    json!({
        "code": code,
        "headers": {"contentType": "application/json", "messageId": message_id},
        "message": message,
        "data": data,
    })
    .to_string()
}

/// What to do with one robot message.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per frame, matched at once; a box would only add an allocation"
)]
enum RobotStep {
    /// Ack, nothing else (a repeat, a picture, an unreadable body).
    Ack,
    /// Ack, then hand over (or queue, while every handler slot is taken).
    Deliver(InboundMessage),
    /// Every handler slot and the queue are full: no ack, the last resort (a gateway that
    /// pushes unacked messages again will offer it once more; nothing was remembered).
    Hold,
}

/// The Stream client as [`socket::run`] drives it.
struct DingTalk<H, Fut> {
    config: StreamConfig,
    handler: H,
    seen: Seen,
    /// Acked messages waiting for a handler slot, oldest first; they outlive reconnections.
    queued: VecDeque<InboundMessage>,
    /// When the queue is next looked at (while it is not empty).
    drain_at: Instant,
    handled: PhantomData<fn() -> Fut>,
}

impl<H, Fut> Drop for DingTalk<H, Fut> {
    fn drop(&mut self) {
        if !self.queued.is_empty() {
            tracing::warn!(
                app_key = self.config.client_id.as_str(),
                queued = self.queued.len(),
                "DingTalk Stream: stopped with acked commands still queued; they were not run"
            );
        }
    }
}

impl<H, Fut> socket::Client for DingTalk<H, Fut>
where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    type Handled = Fut;
    type Opener = (StreamConfig, Backoff);
    type Opened = ();
    /// Time to look at the queue again: handlers may have finished meanwhile.
    type Event = ();

    const LABEL: &'static str = "DingTalk Stream";
    const PLATFORM: &'static str = "dingtalk";

    fn app(&self) -> &str {
        &self.config.client_id
    }

    fn opener(&self) -> Self::Opener {
        (self.config.clone(), self.config.backoff)
    }

    async fn open(
        (config, _): Self::Opener,
        http: reqwest::Client,
    ) -> Result<Endpoint<()>, Failure> {
        let app_key = config.client_id.as_str();
        match open(&config, &http).await {
            Ok(ticket) => Ok(Endpoint {
                url: socket_url(&ticket.endpoint, &ticket.ticket),
                secrets: vec![encode(&ticket.ticket), ticket.ticket],
                opened: (),
            }),
            Err(OpenError::Refused { status, detail }) => Err(Failure {
                why: format!(
                    "the gateway refused to open a connection for AppKey {app_key} (HTTP \
                     {status}: {detail}). Check that client_id is the app's AppKey (Client ID) \
                     and client_secret its AppSecret (Client Secret), copied without spaces, and \
                     that the app is published with a robot in Stream mode"
                ),
                then: Then::Refused,
            }),
            Err(OpenError::Failed(why)) => Err(Failure::retry(format!(
                "cannot get a connection ticket: {why}"
            ))),
        }
    }

    fn connected(&mut self, (): ()) {}

    fn keepalive(&self) -> Duration {
        self.config.keepalive
    }

    fn retry_delay(&mut self, failures: u32) -> Option<Duration> {
        Some(self.config.backoff.jittered(failures))
    }

    async fn on_message(&mut self, link: &mut Link<'_, Fut>, message: Message) -> Step {
        let Message::Text(text) = message else {
            tracing::debug!(
                app_key = self.config.client_id.as_str(),
                "DingTalk Stream: ignoring a binary frame"
            );
            return Step::Go;
        };
        match self.on_text(link, text.as_str()).await {
            Ok(None) => Step::Go,
            Ok(Some(step)) => step,
            Err(e) => Step::Lost(format!("cannot send an ack: {e}")),
        }
    }

    async fn next_event(&mut self) -> Self::Event {
        if self.queued.is_empty() {
            std::future::pending().await
        } else {
            tokio::time::sleep_until(self.drain_at).await;
        }
    }

    async fn on_event(&mut self, link: &mut Link<'_, Fut>, (): ()) -> Step {
        self.run_queued(link);
        Step::Go
    }
}

impl<H, Fut> DingTalk<H, Fut>
where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    /// Answers one text frame. `Ok(Some(step))` ends the connection; `Err` is a failed write.
    async fn on_text(
        &mut self,
        link: &mut Link<'_, Fut>,
        text: &str,
    ) -> Result<Option<Step>, SendError> {
        let app_key = self.config.client_id.as_str();
        match classify(text) {
            Frame::Ping { message_id, data } => {
                link.send(Message::text(ack(&message_id, 200, "OK", &data)))
                    .await?;
            }
            Frame::Disconnect {
                message_id,
                data,
                reason,
            } => {
                // The Go SDK acks it on this connection before closing, since an unanswered
                // command is repeated. A failed ack changes nothing: we are leaving.
                if let Some(id) = message_id {
                    let _ = link.send(Message::text(ack(&id, 200, "OK", &data))).await;
                }
                link.close().await;
                return Ok(Some(Step::Reconnect(format!(
                    "the gateway sent disconnect ({reason})"
                ))));
            }
            Frame::System { topic } => {
                let topic = printable(&topic, 32);
                tracing::debug!(app_key, topic, "DingTalk Stream system frame");
            }
            Frame::Robot { message_id, data } => {
                let room = !link.busy() || self.queued.len() < MAX_QUEUED;
                let step = robot_step(&mut self.seen, room, &message_id, &data, Instant::now());
                match step {
                    RobotStep::Ack => {
                        link.send(Message::text(ack(&message_id, 200, "OK", ROBOT_ACK_DATA)))
                            .await?;
                    }
                    RobotStep::Deliver(message) => {
                        let sent = link
                            .send(Message::text(ack(&message_id, 200, "OK", ROBOT_ACK_DATA)))
                            .await;
                        // Handled even if the ack was lost: a redelivery is caught by `seen`.
                        self.queued.push_back(message);
                        self.run_queued(link);
                        sent?;
                    }
                    RobotStep::Hold => {
                        tracing::warn!(
                            app_key,
                            "DingTalk Stream: {} commands are running and {MAX_QUEUED} more are \
                             queued; leaving one unacked",
                            socket::MAX_IN_FLIGHT
                        );
                    }
                }
            }
            Frame::OtherCallback { message_id, topic } => {
                tracing::warn!(
                    app_key,
                    topic = %printable(&topic, 64),
                    "DingTalk Stream: callback on a topic this client does not handle; answered 404"
                );
                link.send(Message::text(ack(
                    &message_id,
                    404,
                    "topic not handled",
                    ROBOT_ACK_DATA,
                )))
                .await?;
            }
            Frame::Event { message_id, topic } => {
                // SUCCESS, not LATER: asking for redelivery of an event we will never handle
                // would only repeat it.
                let topic = printable(&topic, 64);
                tracing::debug!(app_key, topic, "DingTalk Stream: ignoring an event");
                let data = json!({"status": "SUCCESS", "message": "not handled"}).to_string();
                link.send(Message::text(ack(&message_id, 200, "OK", &data)))
                    .await?;
            }
            Frame::Unknown { message_id, kind } => {
                tracing::warn!(
                    app_key,
                    "DingTalk Stream: frame of unknown type {kind:?}; answered 404"
                );
                link.send(Message::text(ack(
                    &message_id,
                    404,
                    "type not handled",
                    ROBOT_ACK_DATA,
                )))
                .await?;
            }
            Frame::Unreadable(why) => {
                tracing::warn!(
                    app_key,
                    "DingTalk Stream: dropped an unreadable frame: {why}"
                );
            }
        }
        Ok(None)
    }
}

impl<H, Fut> DingTalk<H, Fut>
where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = ()>,
{
    /// Starts queued messages, oldest first, while handler slots are free.
    fn run_queued(&mut self, link: &mut Link<'_, Fut>) {
        while !link.busy() {
            let Some(message) = self.queued.pop_front() else {
                break;
            };
            link.spawn((self.handler)(message));
        }
        if !self.queued.is_empty() {
            self.drain_at = Instant::now() + DRAIN_TICK;
        }
    }
}

/// Decides about one robot message. Repeats are recognised by the transport id
/// (`messageId`) and by DingTalk's own `msgId`, since a redelivery may come with either kept.
/// Unreadable bodies are acked with 200 like the rest: a redelivery would be just as
/// unreadable.
fn robot_step(
    seen: &mut Seen,
    room: bool,
    message_id: &str,
    data: &str,
    now: Instant,
) -> RobotStep {
    let transport_key = format!("id:{message_id}");
    if seen.contains(&transport_key, now) {
        tracing::debug!(message_id, "DingTalk Stream: repeated delivery acked again");
        return RobotStep::Ack;
    }
    match parse_message(data.as_bytes()) {
        Err(refusal) => {
            tracing::warn!(
                message_id,
                "DingTalk Stream: unreadable robot message acked: {refusal}"
            );
            seen.insert(transport_key, now);
            RobotStep::Ack
        }
        Ok(Verdict::Message(message)) => {
            let message_key = format!("msg:{}", message.message_id);
            if seen.contains(&message_key, now) {
                tracing::debug!(
                    message_id,
                    "DingTalk Stream: message redelivered under a new id"
                );
                seen.insert(transport_key, now);
                RobotStep::Ack
            } else if !room {
                RobotStep::Hold
            } else {
                seen.insert(transport_key, now);
                seen.insert(message_key, now);
                RobotStep::Deliver(message)
            }
        }
        Ok(Verdict::Ignore(why)) => {
            tracing::debug!(message_id, "DingTalk Stream: {why}");
            seen.insert(transport_key, now);
            RobotStep::Ack
        }
        Ok(Verdict::Challenge { .. } | Verdict::Added { .. }) => {
            seen.insert(transport_key, now);
            RobotStep::Ack
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOT_DATA: &str = r#"{"conversationId":"cidAsXSBLnA==","atUsers":[{"dingtalkId":"$:LWCP_v1:$bot"}],"chatbotCorpId":"ding9f50b15bccd16741","chatbotUserId":"$:LWCP_v1:$bot","msgId":"msgLICYe1234==","senderNick":"张三","isAdmin":false,"senderStaffId":"manager7675","sessionWebhookExpiredTime":1690367502152,"createAt":1690362101894,"senderCorpId":"ding9f50b15bccd16741","conversationType":"2","senderId":"$:LWCP_v1:$ABC==","conversationTitle":"项目组","isInAtList":true,"sessionWebhook":"https://oapi.dingtalk.com/robot/sendBySession?session=76da","text":{"content":" 完成 12"},"robotCode":"dingrobot123","msgtype":"text"}"#;

    fn frame(kind: &str, topic: &str, message_id: &str, data: &str) -> String {
        json!({
            "specVersion": "1.0",
            "type": kind,
            "headers": {
                "appId": "9256b875", "connectionId": "c3faec14", "contentType": "application/json",
                "messageId": message_id, "time": "1690362101894", "topic": topic,
            },
            "data": data,
        })
        .to_string()
    }

    #[test]
    fn classifies_the_protocol_frames() {
        assert_eq!(
            classify(&frame("SYSTEM", "ping", "m1", r#"{"opaque":"abc"}"#)),
            Frame::Ping {
                message_id: "m1".into(),
                data: r#"{"opaque":"abc"}"#.into()
            }
        );
        assert_eq!(
            classify(&frame(
                "SYSTEM",
                "disconnect",
                "m2",
                r#"{"reason":"persistent connection is timeout"}"#
            )),
            Frame::Disconnect {
                message_id: Some("m2".into()),
                data: r#"{"reason":"persistent connection is timeout"}"#.into(),
                reason: "persistent connection is timeout".into(),
            }
        );
        assert_eq!(
            classify(&frame("SYSTEM", "disconnect", "m2", "")),
            Frame::Disconnect {
                message_id: Some("m2".into()),
                data: String::new(),
                reason: "no reason given".into(),
            }
        );
        assert_eq!(
            classify(r#"{"type":"SYSTEM","headers":{"topic":"disconnect"}}"#),
            Frame::Disconnect {
                message_id: None,
                data: String::new(),
                reason: "no reason given".into(),
            }
        );
        assert_eq!(
            classify(&frame("CALLBACK", ROBOT_TOPIC, "m3", ROBOT_DATA)),
            Frame::Robot {
                message_id: "m3".into(),
                data: ROBOT_DATA.into()
            }
        );
        assert_eq!(
            classify(&frame(
                "CALLBACK",
                "/v1.0/card/instances/callback",
                "m4",
                "{}"
            )),
            Frame::OtherCallback {
                message_id: "m4".into(),
                topic: "/v1.0/card/instances/callback".into()
            }
        );
        assert_eq!(
            classify(&frame("EVENT", "*", "m5", "{}")),
            Frame::Event {
                message_id: "m5".into(),
                topic: "*".into()
            }
        );
        assert_eq!(
            classify(&frame("WHATEVER", "x", "m6", "{}")),
            Frame::Unknown {
                message_id: "m6".into(),
                kind: "WHATEVER".into()
            }
        );
        // Other SYSTEM topics need no messageId, since none is answered.
        assert_eq!(
            classify(r#"{"type":"SYSTEM","headers":{"topic":"REGISTERED"}}"#),
            Frame::System {
                topic: "REGISTERED".into()
            }
        );
    }

    #[test]
    fn data_as_an_object_is_accepted() {
        let text =
            r#"{"type":"SYSTEM","headers":{"topic":"ping","messageId":"m"},"data":{"opaque":"x"}}"#;
        assert_eq!(
            classify(text),
            Frame::Ping {
                message_id: "m".into(),
                data: r#"{"opaque":"x"}"#.into()
            }
        );
    }

    #[test]
    fn unreadable_frames_are_reported_not_panicked_on() {
        for text in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"type":"CALLBACK","headers":{"topic":"/v1.0/im/bot/messages/get"}}"#,
            r#"{"type":"SYSTEM","headers":{"topic":"ping","messageId":"  "}}"#,
            r#"{"type":"CALLBACK","headers":"x"}"#,
        ] {
            assert!(matches!(classify(text), Frame::Unreadable(_)), "{text}");
        }
    }

    #[test]
    fn ack_has_the_documented_shape_and_order() {
        assert_eq!(
            ack("212ca9d7_974_1898c159aa6_1783b", 200, "OK", ROBOT_ACK_DATA),
            r#"{"code":200,"headers":{"contentType":"application/json","messageId":"212ca9d7_974_1898c159aa6_1783b"},"message":"OK","data":"{\"response\": null}"}"#
        );
        let pong: Value =
            serde_json::from_str(&ack("p1", 200, "OK", r#"{"opaque":"abc"}"#)).unwrap_or_default();
        assert_eq!(pong["data"], r#"{"opaque":"abc"}"#);
        assert_eq!(pong["headers"]["messageId"], "p1");
    }

    #[test]
    fn open_body_subscribes_to_robot_messages() {
        let config = StreamConfig::new("dingappkey", Secret::new("s3cret"));
        let body = open_body(&config);
        assert_eq!(body["clientId"], "dingappkey");
        assert_eq!(body["clientSecret"], "s3cret");
        assert_eq!(
            body["subscriptions"],
            json!([{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}])
        );
        assert!(
            body["ua"]
                .as_str()
                .is_some_and(|ua| ua.starts_with("weekbell/"))
        );
        assert_eq!(
            open_url("https://api.dingtalk.com/"),
            "https://api.dingtalk.com/v1.0/gateway/connections/open"
        );
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn ticket_answer_is_checked_without_quoting_it() {
        let ok = parse_ticket(
            br#"{"endpoint":"wss://wss-open-connection.dingtalk.com:443/connect","ticket":"7724109a-1"}"#,
        );
        assert!(ok.is_ok_and(|t| t.ticket == "7724109a-1"
            && t.endpoint == "wss://wss-open-connection.dingtalk.com:443/connect"));
        for body in [
            &br#"{"endpoint":"","ticket":"tkt-123"}"#[..],
            br#"{"endpoint":"wss://x/connect"}"#,
            b"<xml><ticket>tkt-123</ticket></xml>",
            b"",
        ] {
            match parse_ticket(body) {
                Ok(_) => panic!("accepted {body:?}"),
                Err(why) => assert!(!why.to_string().contains("tkt-123"), "{why}"),
            }
        }
    }

    #[test]
    fn refusal_detail_names_the_code_and_hides_the_secret() {
        let body = r#"{"requestid":"ED203550-DBBC","code":"authFailed","message":"鉴权失败"}"#;
        assert_eq!(
            error_detail(body.as_bytes(), "s3cret"),
            "authFailed: 鉴权失败 (requestid ED203550-DBBC)"
        );
        let echo = r#"{"code":"invalidParameter","message":"clientSecret s3cret is invalid"}"#;
        let detail = error_detail(echo.as_bytes(), "s3cret");
        assert!(
            !detail.contains("s3cret") && detail.contains("***"),
            "{detail}"
        );
        assert!(error_detail(b"<html>400</html>", "s").contains("HTML"));
        assert_eq!(error_detail(b"", "s"), "empty body");
    }

    #[test]
    fn socket_url_appends_an_encoded_ticket() {
        assert_eq!(
            socket_url(
                "wss://wss-open-connection.dingtalk.com:443/connect",
                "7724109a-abc"
            ),
            "wss://wss-open-connection.dingtalk.com:443/connect?ticket=7724109a-abc"
        );
        assert_eq!(
            socket_url("ws://127.0.0.1:9/connect?x=1", "a b+c/="),
            "ws://127.0.0.1:9/connect?x=1&ticket=a%20b%2Bc%2F%3D"
        );
    }

    #[test]
    fn robot_messages_are_delivered_once() {
        let now = Instant::now();
        let mut seen = Seen::new(100, SEEN_TTL);
        let RobotStep::Deliver(m) = robot_step(&mut seen, true, "t1", ROBOT_DATA, now) else {
            panic!("not delivered")
        };
        assert_eq!(m.message_id, "msgLICYe1234==");
        assert_eq!(m.text, " 完成 12");
        // The same transport id, and the same msgId under a new transport id.
        assert!(matches!(
            robot_step(&mut seen, true, "t1", ROBOT_DATA, now),
            RobotStep::Ack
        ));
        assert!(matches!(
            robot_step(&mut seen, true, "t2", ROBOT_DATA, now),
            RobotStep::Ack
        ));
        // No room even to queue: held back unacked, and not remembered, so a redelivery is
        // handled.
        let other = ROBOT_DATA.replace("msgLICYe1234==", "msgOther==");
        assert!(matches!(
            robot_step(&mut seen, false, "t3", &other, now),
            RobotStep::Hold
        ));
        assert!(matches!(
            robot_step(&mut seen, true, "t3", &other, now),
            RobotStep::Deliver(_)
        ));
    }

    #[test]
    fn unreadable_and_non_text_robot_messages_are_acked() {
        let now = Instant::now();
        let mut seen = Seen::new(100, SEEN_TTL);
        for (id, data) in [
            ("u1", "{broken"),
            ("u2", "[]"),
            ("u3", r#"{"msgtype":"text"}"#),
            (
                "u4",
                r#"{"msgId":"p","msgtype":"picture","senderId":"s","content":{}}"#,
            ),
        ] {
            assert!(
                matches!(robot_step(&mut seen, true, id, data, now), RobotStep::Ack),
                "{data}"
            );
        }
    }
}

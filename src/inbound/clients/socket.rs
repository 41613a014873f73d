//! What the clients that take commands over a WebSocket they open themselves share: DingTalk
//! Stream mode, Slack Socket Mode and Feishu's long connection, for offices with no public URL.
//!
//! Each platform's client implements [`Client`]: how to ask for a connection (a bootstrap call
//! that answers a one-time WebSocket URL), how to read and answer its frames, and how it wants
//! to be retried. [`run`] does the rest the same way for all three:
//! - every connect repeats the bootstrap call, since the URLs carry single-use tickets;
//! - failures are retried after the client's delay (exponential [`Backoff`](crate::backoff::Backoff) with jitter unless
//!   the platform dictates its own), a connection that received anything resets the count, and
//!   a refusal the client calls fatal stops it with one clear log line;
//! - a watchdog: after `keepalive` of silence a WebSocket ping goes out, and a connection on
//!   which nothing at all arrives soon after is taken for half-open and reopened;
//! - a client may ask to move to a fresh connection *before* closing the current one
//!   ([`Step::Refresh`], Slack's `disconnect`): frames keep being read on the old socket while the
//!   new one is opened;
//! - message handlers run beside the connection, inside the client's future, capped at
//!   [`MAX_IN_FLIGHT`]; on shutdown the socket is closed at once and handlers already running get
//!   [`SHUTDOWN_GRACE`] to finish.
//!
//! Nothing secret reaches a log line: the bootstrap call's credentials are the client's
//! business, the socket URL is logged without its query, and error texts that could quote it are
//! scrubbed of [`Endpoint::secrets`].

use crate::metrics;
use crate::secret::Redactor;
use crate::shutdown::{SHUTDOWN_GRACE, Shutdown};
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::HeaderMap;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The SDKs' cap on handlers in flight. Past it a message is left unacked, so the platform
/// sends it again later instead of memory growing without bound.
pub(crate) const MAX_IN_FLIGHT: usize = 100;
/// Well inside every platform's ticket life (DingTalk's is 90 s), so a slow handshake fails
/// before the ticket does.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a watchdog ping may go unanswered (DingTalk's Go SDK: 5 s; Slack's Node SDK: 5 s;
/// a little more for slow links).
const PONG_WAIT: Duration = Duration::from_secs(10);
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// A chat message is at most a few tens of KB; this bounds what a broken peer can make us
/// buffer.
pub(crate) const MAX_FRAME_BYTES: usize = 1 << 20;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where to connect, as the platform's bootstrap call answered. Deliberately not `Debug`: the
/// URL carries a ticket.
pub(crate) struct Endpoint<O> {
    pub url: String,
    /// Pieces of `url` (and anything else) that must not reach a log line.
    pub secrets: Vec<String>,
    /// What else the call answered, for [`Client::connected`] (Feishu's `ClientConfig`).
    pub opened: O,
}

impl<O> Endpoint<O> {
    /// The URL without its query (where tickets and keys live), for the log.
    fn shown(&self) -> String {
        let bare = self.url.split(['?', '#']).next().unwrap_or("");
        Redactor::of(self.secret_refs()).text(bare)
    }

    fn secret_refs(&self) -> Vec<&str> {
        self.secrets.iter().map(String::as_str).collect()
    }
}

/// Why a bootstrap call or a handshake failed, and what to do about it.
pub(crate) struct Failure {
    /// For the log: what happened and, for refusals, what to check. Free of secrets.
    pub why: String,
    pub then: Then,
}

pub(crate) enum Then {
    /// Transient: a warning, then the client's retry delay.
    Retry,
    /// The platform said how long to wait (Slack `ratelimited` with `Retry-After`).
    Wait(Duration),
    /// Most likely the credentials, but retried: an error line, then the retry delay.
    Refused,
    /// Will not work until someone changes the config or the app: an error line, and the
    /// client stops (it then only waits for shutdown).
    Stop,
}

impl Failure {
    pub(crate) fn retry(why: impl Into<String>) -> Self {
        Failure {
            why: why.into(),
            then: Then::Retry,
        }
    }
}

/// What a client asks of the connection after a frame or an event of its own.
pub(crate) enum Step {
    Go,
    /// Something broke (a write failed, the peer misbehaved): reconnect after the retry delay.
    Lost(String),
    /// The platform asked for a new connection: reconnect now (with a new URL).
    Reconnect(String),
    /// The platform asked for a new connection and still delivers on this one: open the new one
    /// first, then close this one.
    Refresh(String),
}

/// The connection as a client's frame handler sees it.
pub(crate) struct Link<'a, F> {
    socket: &'a mut Socket,
    inflight: &'a mut FuturesUnordered<F>,
}

impl<F: Future<Output = ()>> Link<'_, F> {
    /// Sends one frame; `Err` says why it could not be written (the connection is then lost).
    pub(crate) async fn send(&mut self, message: Message) -> Result<(), SendError> {
        send(self.socket, message).await
    }

    /// Best effort: the connection is being abandoned either way.
    pub(crate) async fn close(&mut self) {
        close(self.socket).await;
    }

    /// Runs a message handler beside the connection.
    pub(crate) fn spawn(&mut self, handled: F) {
        self.inflight.push(handled);
    }

    /// Whether [`MAX_IN_FLIGHT`] handlers are running.
    pub(crate) fn busy(&self) -> bool {
        self.inflight.len() >= MAX_IN_FLIGHT
    }
}

/// One platform's connection mode. See the module docs for what [`run`] does with it.
pub(crate) trait Client {
    /// A running message handler.
    type Handled: Future<Output = ()>;
    /// What the bootstrap call needs, owned, so that a new connection can be opened while the
    /// client keeps serving the current one.
    type Opener: Send + 'static;
    /// What the bootstrap call answers besides the URL.
    type Opened: Send + Sync + 'static;
    /// Work of the client's own that the connection waits for beside the socket.
    type Event;

    /// `DingTalk Stream`, `Slack Socket Mode`, …: how log lines start.
    const LABEL: &'static str;
    /// The platform's name, for the metrics.
    const PLATFORM: &'static str;

    /// The app's public id, for log lines (never a secret).
    fn app(&self) -> &str;
    fn opener(&self) -> Self::Opener;
    /// The bootstrap call.
    fn open(
        opener: Self::Opener,
        http: reqwest::Client,
    ) -> impl Future<Output = Result<Endpoint<Self::Opened>, Failure>> + Send;
    /// A WebSocket handshake answered with `status` instead of 101.
    fn refused_handshake(status: u16, _headers: &HeaderMap) -> Failure {
        Failure::retry(format!(
            "the WebSocket handshake was refused (HTTP {status})"
        ))
    }
    /// A new connection is up (its per-connection state starts afresh).
    fn connected(&mut self, opened: Self::Opened);
    /// Silence after which the watchdog pings; asked again after every frame.
    fn keepalive(&self) -> Duration;
    /// The wait before attempt `failures + 1`; `None` gives up (an error line, then the
    /// client stops).
    fn retry_delay(&mut self, failures: u32) -> Option<Duration>;
    fn on_message(
        &mut self,
        link: &mut Link<'_, Self::Handled>,
        message: Message,
    ) -> impl Future<Output = Step>;
    /// The next event of the client's own (pending for ever if it has none).
    fn next_event(&mut self) -> impl Future<Output = Self::Event>;
    fn on_event(
        &mut self,
        link: &mut Link<'_, Self::Handled>,
        event: Self::Event,
    ) -> impl Future<Output = Step>;
}

/// Runs `client` until `shutdown` becomes true (or its sender is dropped, which leaves no one
/// able to stop it otherwise). Failures are logged under the client's label and retried;
/// see the module docs.
pub(crate) async fn run<C: Client>(
    mut client: C,
    http: reqwest::Client,
    shutdown: impl Into<Shutdown>,
) {
    let mut shutdown = shutdown.into();
    let mut inflight = FuturesUnordered::new();
    let mut failures: u32 = 0;
    let mut made_before_break: Option<Connection<C::Opened>> = None;
    loop {
        let attempt = match made_before_break.take() {
            Some(connection) => Some(Ok(connection)),
            None => {
                let opening = establish::<C>(client.opener(), http.clone());
                until(opening, &mut inflight, &mut shutdown).await
            }
        };
        let wait = match attempt {
            None => break,
            Some(Err(failure)) => {
                failures = failures.saturating_add(1);
                match failed(&mut client, failure, failures) {
                    Some(wait) => wait,
                    None => break stop(&mut inflight, &mut shutdown).await,
                }
            }
            Some(Ok((endpoint, socket))) => {
                let app = client.app().to_string();
                tracing::info!(app, endpoint = %endpoint.shown(), "{} connected", C::LABEL);
                metrics::socket_connection(C::PLATFORM, "connected");
                let secrets = endpoint.secrets.clone();
                client.connected(endpoint.opened);
                let started = Instant::now();
                let session = session(
                    &mut client,
                    socket,
                    &mut inflight,
                    &mut shutdown,
                    &http,
                    &secrets,
                )
                .await;
                if session.frames > 0 {
                    failures = 0;
                }
                match session.end {
                    End::Shutdown => break,
                    End::Replaced(connection) => {
                        made_before_break = Some(*connection);
                        Duration::ZERO
                    }
                    End::Failed(failure) => {
                        failures = failures.saturating_add(1);
                        match failed(&mut client, failure, failures) {
                            Some(wait) => wait,
                            None => break stop(&mut inflight, &mut shutdown).await,
                        }
                    }
                    // A server that asks for a new connection right after every connect would
                    // otherwise be hammered; it gets the retry delay instead.
                    End::Reconnect(why)
                        if client
                            .retry_delay(1)
                            .is_some_and(|first| started.elapsed() >= first) =>
                    {
                        tracing::info!(app, "{}: {why}; reconnecting now", C::LABEL);
                        Duration::ZERO
                    }
                    End::Reconnect(why) | End::Lost(why) => {
                        failures = failures.saturating_add(1);
                        metrics::socket_connection(C::PLATFORM, "lost");
                        let Some(wait) = client.retry_delay(failures) else {
                            tracing::error!(
                                app,
                                "{} connection lost: {why}; the platform's reconnect count is \
                                 used up, not reconnecting (restart weekbell to try again)",
                                C::LABEL
                            );
                            break stop(&mut inflight, &mut shutdown).await;
                        };
                        tracing::warn!(
                            app,
                            retry_in_ms = millis(wait),
                            "{} connection lost: {why}; reconnecting",
                            C::LABEL
                        );
                        wait
                    }
                }
            }
        };
        if !wait.is_zero()
            && until(tokio::time::sleep(wait), &mut inflight, &mut shutdown)
                .await
                .is_none()
        {
            break;
        }
    }
    tracing::info!(app = client.app(), "{} client stopping", C::LABEL);
    drain(&mut inflight, C::LABEL).await;
}

/// Logs a failed attempt; the wait before the next, or `None` to stop.
fn failed<C: Client>(client: &mut C, failure: Failure, failures: u32) -> Option<Duration> {
    let app = client.app().to_string();
    let why = failure.why;
    let wait = match failure.then {
        Then::Stop => None,
        Then::Wait(wait) => Some(wait),
        Then::Retry | Then::Refused => client.retry_delay(failures),
    };
    let Some(wait) = wait else {
        metrics::socket_connection(C::PLATFORM, "stopped");
        tracing::error!(app, "{}: {why}; not reconnecting", C::LABEL);
        return None;
    };
    let retry_in_ms = millis(wait);
    if matches!(failure.then, Then::Refused) {
        metrics::socket_connection(C::PLATFORM, "refused");
        tracing::error!(app, retry_in_ms, "{}: {why}", C::LABEL);
    } else {
        metrics::socket_connection(C::PLATFORM, "failed");
        tracing::warn!(app, retry_in_ms, "{}: {why}", C::LABEL);
    }
    Some(wait)
}

/// After a fatal refusal: nothing more to do but let running handlers finish and wait for
/// shutdown.
async fn stop<Fut: Future<Output = ()>>(
    inflight: &mut FuturesUnordered<Fut>,
    shutdown: &mut Shutdown,
) {
    until(std::future::pending::<()>(), inflight, shutdown).await;
}

type Connection<O> = (Endpoint<O>, Socket);

/// The bootstrap call, then the handshake.
async fn establish<C: Client>(
    opener: C::Opener,
    http: reqwest::Client,
) -> Result<Connection<C::Opened>, Failure> {
    let endpoint = C::open(opener, http).await?;
    let socket = connect::<C>(&endpoint).await?;
    Ok((endpoint, socket))
}

async fn connect<C: Client>(endpoint: &Endpoint<C::Opened>) -> Result<Socket, Failure> {
    use tokio_tungstenite::tungstenite::Error;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let connecting =
        tokio_tungstenite::connect_async_with_config(endpoint.url.as_str(), Some(ws_config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(Failure::retry(format!(
            "cannot open the WebSocket: no handshake within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
        Ok(Err(Error::Http(response))) => Err(C::refused_handshake(
            response.status().as_u16(),
            response.headers(),
        )),
        // Some of tungstenite's errors quote the URL, ticket included.
        Ok(Err(e)) => Err(Failure::retry(format!(
            "cannot open the WebSocket: {}",
            Redactor::of(endpoint.secret_refs()).text(&e.to_string())
        ))),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Why a connection ended.
enum End<O> {
    Shutdown,
    Lost(String),
    Reconnect(String),
    /// The connection that replaced it (made before this one was broken).
    Replaced(Box<Connection<O>>),
    /// The replacement could not be made.
    Failed(Failure),
}

struct Session<O> {
    end: End<O>,
    /// Frames received: any at all shows the credentials and the path work.
    frames: u64,
}

/// Resolves with the replacement once it is made; never while there is none.
async fn replaced<T>(pending: &mut Option<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> T {
    match pending {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn session<'c, C: Client + 'c>(
    client: &'c mut C,
    mut socket: Socket,
    inflight: &mut FuturesUnordered<C::Handled>,
    shutdown: &mut Shutdown,
    http: &reqwest::Client,
    secrets: &[String],
) -> Session<C::Opened> {
    type Replacement<'r, O> =
        Pin<Box<dyn Future<Output = Result<Connection<O>, Failure>> + Send + 'r>>;
    let mut replacement: Option<Replacement<'c, C::Opened>> = None;
    let mut frames = 0u64;
    let mut watchdog = Watchdog::new(client.keepalive());
    let end = loop {
        let step = tokio::select! {
            biased;
            () = shutdown.recv() => {
                close(&mut socket).await;
                break End::Shutdown;
            }
            made = replaced(&mut replacement) => {
                close(&mut socket).await;
                break match made {
                    Ok(connection) => End::Replaced(Box::new(connection)),
                    Err(failure) => End::Failed(failure),
                };
            }
            read = socket.next() => {
                // Any traffic at all, pongs included, shows the link is alive.
                watchdog.heard(client.keepalive());
                let message = match read {
                    None => Err("the server closed the connection".to_string()),
                    Some(Err(e)) => Err(format!("reading failed: {}", Redactor::of(refs(secrets)).text(&e.to_string()))),
                    Some(Ok(Message::Close(frame))) => Err(match frame {
                        Some(f) => format!(
                            "the server closed the connection ({}: {})",
                            u16::from(f.code),
                            printable(f.reason.as_str(), 120)
                        ),
                        None => "the server closed the connection".to_string(),
                    }),
                    Some(Ok(message)) => Ok(message),
                };
                match message {
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                        frames += 1;
                        let mut link = Link { socket: &mut socket, inflight: &mut *inflight };
                        client.on_message(&mut link, message).await
                    }
                    // tungstenite answers WebSocket pings itself.
                    Ok(_) => Step::Go,
                    Err(why) => match replacement.take() {
                        // The old connection went first; the new one is on its way.
                        Some(pending) => match until(pending, inflight, shutdown).await {
                            None => break End::Shutdown,
                            Some(Ok(connection)) => break End::Replaced(Box::new(connection)),
                            Some(Err(failure)) => break End::Failed(failure),
                        },
                        None => Step::Lost(why),
                    },
                }
            }
            Some(()) = inflight.next(), if !inflight.is_empty() => Step::Go,
            event = client.next_event() => {
                let mut link = Link { socket: &mut socket, inflight: &mut *inflight };
                client.on_event(&mut link, event).await
            }
            () = tokio::time::sleep_until(watchdog.deadline) => {
                match watchdog.fire() {
                    Some(ping) => match send(&mut socket, ping).await {
                        Ok(()) => Step::Go,
                        Err(e) => Step::Lost(format!("cannot send a ping: {e}")),
                    },
                    None => Step::Lost(format!(
                        "nothing received for {} ms, not even an answer to a ping (half-open \
                         connection?)",
                        millis(watchdog.silence())
                    )),
                }
            }
        };
        match step {
            Step::Go => {}
            Step::Lost(why) => {
                close(&mut socket).await;
                break End::Lost(why);
            }
            Step::Reconnect(why) => {
                close(&mut socket).await;
                break End::Reconnect(why);
            }
            Step::Refresh(why) => {
                if replacement.is_none() {
                    tracing::info!(
                        app = client.app(),
                        "{}: {why}; opening a new connection before closing this one",
                        C::LABEL
                    );
                    replacement = Some(Box::pin(establish::<C>(client.opener(), http.clone())));
                }
            }
        }
    };
    Session { end, frames }
}

fn refs(secrets: &[String]) -> Vec<&str> {
    secrets.iter().map(String::as_str).collect()
}

/// Pings after `keepalive` of silence, then gives the link `min(keepalive, PONG_WAIT)` more.
struct Watchdog {
    deadline: Instant,
    keepalive: Duration,
    pinged: bool,
}

impl Watchdog {
    fn new(keepalive: Duration) -> Self {
        let mut w = Watchdog {
            deadline: Instant::now(),
            keepalive,
            pinged: false,
        };
        w.heard(keepalive);
        w
    }

    fn heard(&mut self, keepalive: Duration) {
        // A zero keepalive would ping in a busy loop.
        self.keepalive = keepalive.max(Duration::from_millis(10));
        self.pinged = false;
        self.deadline = after(self.keepalive);
    }

    fn pong_wait(&self) -> Duration {
        self.keepalive.min(PONG_WAIT)
    }

    fn silence(&self) -> Duration {
        self.keepalive.saturating_add(self.pong_wait())
    }

    /// The deadline passed: a ping to send, or `None` when the last one went unanswered.
    fn fire(&mut self) -> Option<Message> {
        if self.pinged {
            return None;
        }
        self.pinged = true;
        self.deadline = after(self.pong_wait());
        Some(Message::Ping(Default::default()))
    }
}

/// `now + wait`; a wait too long to represent is as good as never.
pub(crate) fn after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Why a frame could not be written; the connection is then lost.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("no progress writing for {} s", WRITE_TIMEOUT.as_secs())]
    Stalled,
    #[error(transparent)]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
}

async fn send(socket: &mut Socket, message: Message) -> Result<(), SendError> {
    match tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await {
        Err(_) => Err(SendError::Stalled),
        Ok(result) => Ok(result?),
    }
}

async fn close(socket: &mut Socket) {
    // Best effort: the connection is being abandoned either way.
    let _ = tokio::time::timeout(CLOSE_WAIT, socket.close(None)).await;
}

// ---------------------------------------------------------------------------------------------
// Remembering what was handled.

/// Ids seen recently, oldest first: bounded both in count and in age.
pub(crate) struct Seen {
    capacity: usize,
    ttl: Duration,
    order: std::collections::VecDeque<(Instant, String)>,
    keys: std::collections::HashSet<String>,
}

impl Seen {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Seen {
            capacity: capacity.max(1),
            ttl,
            order: Default::default(),
            keys: Default::default(),
        }
    }

    pub(crate) fn contains(&mut self, key: &str, now: Instant) -> bool {
        self.expire(now);
        self.keys.contains(key)
    }

    pub(crate) fn insert(&mut self, key: String, now: Instant) {
        self.expire(now);
        if self.keys.contains(&key) {
            return;
        }
        while self.order.len() >= self.capacity {
            if let Some((_, old)) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        self.keys.insert(key.clone());
        self.order.push_back((now, key));
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting.

/// Runs `work` while the handlers keep running; `None` if shutdown came first.
async fn until<T, Fut>(
    work: impl Future<Output = T>,
    inflight: &mut FuturesUnordered<Fut>,
    shutdown: &mut Shutdown,
) -> Option<T>
where
    Fut: Future<Output = ()>,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            () = shutdown.recv() => return None,
            value = &mut work => return Some(value),
            Some(()) = inflight.next(), if !inflight.is_empty() => {}
        }
    }
}

async fn drain<Fut: Future<Output = ()>>(inflight: &mut FuturesUnordered<Fut>, label: &str) {
    if inflight.is_empty() {
        return;
    }
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while inflight.next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            "{label}: {} message handler(s) still running after {} s; abandoned",
            inflight.len(),
            SHUTDOWN_GRACE.as_secs()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Log hygiene.

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Peer-supplied text bounded and with control characters replaced, for a log line.
pub(crate) fn printable(s: &str, max_chars: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_is_bounded_in_count_and_age() {
        let t0 = Instant::now();
        let mut seen = Seen::new(3, Duration::from_secs(300));
        for (i, k) in ["a", "b", "c", "d"].into_iter().enumerate() {
            seen.insert(k.to_string(), t0 + Duration::from_secs(i as u64));
        }
        assert_eq!(seen.len(), 3);
        assert!(!seen.contains("a", t0 + Duration::from_secs(4)));
        assert!(seen.contains("d", t0 + Duration::from_secs(4)));
        // "b" went in at t0+1 s and is gone 300 s later; "d" (t0+3 s) is not yet.
        assert!(!seen.contains("b", t0 + Duration::from_secs(301)));
        assert!(seen.contains("d", t0 + Duration::from_secs(302)));
        assert!(!seen.contains("d", t0 + Duration::from_secs(303)));
        assert_eq!(seen.len(), 0);
    }

    #[test]
    fn watchdog_pings_once_then_gives_up() {
        let mut w = Watchdog::new(Duration::from_secs(30));
        assert!(matches!(w.fire(), Some(Message::Ping(_))));
        assert!(w.fire().is_none());
        assert_eq!(w.silence(), Duration::from_secs(40));
        w.heard(Duration::from_secs(2));
        assert!(w.fire().is_some());
        assert_eq!(w.silence(), Duration::from_secs(4));
        w.heard(Duration::ZERO);
        assert_eq!(w.keepalive, Duration::from_millis(10));
    }

    #[test]
    fn endpoints_are_shown_without_their_query() {
        let e = Endpoint {
            url: "wss://msg-frontier.feishu.cn/ws/v2?device_id=1&ticket=T-123".to_string(),
            secrets: vec!["T-123".to_string()],
            opened: (),
        };
        assert_eq!(e.shown(), "wss://msg-frontier.feishu.cn/ws/v2");
        let odd = Endpoint {
            url: "ws://127.0.0.1:9/link/T-123#x".to_string(),
            secrets: vec!["T-123".to_string()],
            opened: (),
        };
        assert_eq!(odd.shown(), "ws://127.0.0.1:9/link/***");
    }

    #[test]
    fn scrub_printable_encode() {
        assert_eq!(
            Redactor::of(["T1", ""]).text("ws://h/connect?ticket=T1 failed"),
            "ws://h/connect?ticket=*** failed"
        );
        assert_eq!(printable("a\u{7}b", 10), "a?b");
        assert_eq!(printable("abcdef", 3), "abc…");
        assert_eq!(
            crate::secret::percent_encode("a b+c/=~"),
            "a%20b%2Bc%2F%3D~"
        );
    }
}

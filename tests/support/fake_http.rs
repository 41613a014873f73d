//! The one scriptable loopback HTTP server every local platform (test peer) runs on, so that a
//! peer file holds only what is the platform's own: the check that decides what a request gets,
//! and the bodies it answers with.
//!
//! A [`FakeHttp`] records every request as it arrives ([`FakeHttp::exchanges`], with the status
//! once answered: a poll that blocks shows while it blocks), keeps what the check accepted
//! ([`FakeHttp::received`], of the peer's own record type `R`), and answers from a script
//! ahead of the check:
//!
//! ```ignore
//! let http = FakeHttp::start(|seen| match seen.path() {
//!     "/hook" => Checked::Accept(json!({"ok": true}), Answer::text(200, "ok")),
//!     _ => Checked::Answer(Answer::text(404, "Not Found")),
//! })
//! .await;
//! http.script([Scripted::Answer(Answer::text(502, "502 Bad Gateway")), Scripted::Reset]);
//! // … two requests get those, the third is checked …
//! let all = http.wait_for(1, Duration::from_secs(10)).await;
//! ```
//!
//! Scripted answers are consumed one per request, in order, before any check; an entry queued
//! with [`FakeHttp::script_when`] waits for a request it matches (Telegram scripts per method).
//! The connection of a request can be reset (TCP RST) or closed (FIN) without an answer, by
//! the script or by the check ([`Checked::Reset`]).

use super::lock;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
    /// Wall-clock arrival, for tests that compare it with times weekbell stored.
    pub wall: DateTime<Utc>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(p, _)| p)
    }

    /// The raw query string, without the `?`.
    pub fn raw_query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, q)| q)
    }

    /// A query parameter, form-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        form_value(self.raw_query()?, name)
    }

    /// The body parsed as JSON, `Value::Null` if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The value of `name` in `a=1&b=2` (form-encoded), decoded.
pub fn form_value(raw: &str, name: &str) -> Option<String> {
    form_pairs(raw).find_map(|(k, v)| (k == name).then_some(v))
}

/// The decoded `(key, value)` pairs of `a=1&b=2`; a pair without `=` has an empty value.
pub fn form_pairs(raw: &str) -> impl Iterator<Item = (String, String)> + '_ {
    raw.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k), form_decode(v))
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte, a `%` not
/// followed by two hex digits stays itself.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `None`: no `Content-Type` at all, as for a 204.
    pub content_type: Option<&'static str>,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
    /// Sent only after this long (the request is recorded at once).
    pub delay: Option<Duration>,
}

impl Answer {
    pub fn new(status: u16, content_type: Option<&'static str>, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
            delay: None,
        }
    }

    /// JSON with `application/json; charset=utf-8`; [`Answer::with_content_type`] for
    /// platforms that leave the charset out.
    pub fn json(status: u16, body: &Value) -> Answer {
        Answer::new(
            status,
            Some("application/json; charset=utf-8"),
            body.to_string(),
        )
    }

    pub fn text(status: u16, body: impl Into<String>) -> Answer {
        Answer::new(status, Some("text/plain; charset=utf-8"), body)
    }

    /// A status with no body and no `Content-Type`.
    pub fn empty(status: u16) -> Answer {
        Answer::new(status, None, "")
    }

    pub fn with_content_type(mut self, content_type: &'static str) -> Answer {
        self.content_type = Some(content_type);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    /// Answers only after `delay`: a platform that did the work and answered late.
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = Some(delay);
        self
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        match self.content_type {
            Some(t) => {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(t));
            }
            None => {
                response.headers_mut().remove(header::CONTENT_TYPE);
            }
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// What the platform's check decided.
pub enum Checked<R = Value> {
    /// Taken: kept as this record (waking [`FakeHttp::wait_for`]) and answered with this.
    Accept(R, Answer),
    /// Answered with this and nothing kept: a refusal, or a call that posts nothing.
    Answer(Answer),
    /// The request is read, then the connection reset without an answer.
    Reset,
}

/// A scripted answer, used for one request before any check.
#[derive(Debug, Clone)]
pub enum Scripted {
    Answer(Answer),
    /// Check and record as usual, but answer only after this long.
    Delay(Duration),
    /// Read the request, then reset the connection.
    Reset,
    /// Read the request, then close the connection.
    Close,
}

/// One request and the status it got: `None` while it is being answered, or for good when the
/// connection was dropped instead.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub seen: Seen,
    pub status: Option<u16>,
    pub reply_body: String,
}

type CheckFuture<R> = Pin<Box<dyn Future<Output = Checked<R>> + Send>>;
type Check<R> = dyn Fn(Seen) -> CheckFuture<R> + Send + Sync;
type Filter = Arc<dyn Fn(&Seen) -> bool + Send + Sync>;

struct Inner<R> {
    check: Box<Check<R>>,
    state: Mutex<FakeState<R>>,
    arrived: Notify,
}

struct FakeState<R> {
    script: VecDeque<(Option<Filter>, Scripted)>,
    accepted: Vec<(R, Seen)>,
    exchanges: Vec<Exchange>,
}

impl<R> Inner<R> {
    fn lock(&self) -> MutexGuard<'_, FakeState<R>> {
        lock(&self.state)
    }
}

/// A running fake; dropping it stops the server.
pub struct FakeHttp<R = Value> {
    addr: std::net::SocketAddr,
    inner: Arc<Inner<R>>,
    task: JoinHandle<()>,
}

impl<R: Clone + Send + Sync + 'static> FakeHttp<R> {
    /// A fake whose check answers at once.
    pub async fn start(check: impl Fn(&Seen) -> Checked<R> + Send + Sync + 'static) -> Self {
        Self::start_async(move |seen: Seen| std::future::ready(check(&seen))).await
    }

    /// A fake whose check may wait (a long poll, a platform that stalls, a proxied call).
    pub async fn start_async<F>(check: impl Fn(Seen) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Checked<R>> + Send + 'static,
    {
        let listener = super::bind_loopback().await;
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fake: no local address: {e}"));
        let inner = Arc::new(Inner {
            check: Box::new(move |seen| Box::pin(check(seen)) as CheckFuture<R>),
            state: Mutex::new(FakeState {
                script: VecDeque::new(),
                accepted: Vec::new(),
                exchanges: Vec::new(),
            }),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .fallback(handle::<R>)
            .with_state(Arc::clone(&inner))
            .into_make_service_with_connect_info::<Conn>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(FakeListener(listener), app).await;
        });
        FakeHttp { addr, inner, task }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues answers for the next requests, after any already queued.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.inner
            .lock()
            .script
            .extend(answers.into_iter().map(|a| (None, a)));
    }

    /// Queues answers for the next requests `filter` matches; others pass them by.
    pub fn script_when(
        &self,
        filter: impl Fn(&Seen) -> bool + Send + Sync + 'static,
        answers: impl IntoIterator<Item = Scripted>,
    ) {
        let filter: Filter = Arc::new(filter);
        self.inner
            .lock()
            .script
            .extend(answers.into_iter().map(|a| (Some(Arc::clone(&filter)), a)));
    }

    /// The accepted requests' records, in arrival order.
    pub fn received(&self) -> Vec<R> {
        self.records().into_iter().map(|(r, _)| r).collect()
    }

    /// The accepted requests as they arrived.
    pub fn accepted(&self) -> Vec<Seen> {
        self.records().into_iter().map(|(_, s)| s).collect()
    }

    /// The accepted requests' records with the requests.
    pub fn records(&self) -> Vec<(R, Seen)> {
        self.inner.lock().accepted.clone()
    }

    /// Every request, accepted or not, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.lock().exchanges.clone()
    }

    /// How many requests arrived, accepted or not.
    pub fn request_count(&self) -> usize {
        self.inner.lock().exchanges.len()
    }

    /// The status of every answer given so far, in arrival order.
    pub fn statuses(&self) -> Vec<u16> {
        self.inner
            .lock()
            .exchanges
            .iter()
            .filter_map(|e| e.status)
            .collect()
    }

    /// Waits until at least `n` requests were accepted, or `timeout` passes; the records by
    /// then.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<R> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= n || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }
}

impl<R> Drop for FakeHttp<R> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<R> FakeState<R> {
    fn next_scripted(&mut self, seen: &Seen) -> Option<Scripted> {
        let at = self
            .script
            .iter()
            .position(|(filter, _)| filter.as_ref().is_none_or(|f| f(seen)))?;
        self.script.remove(at).map(|(_, s)| s)
    }
}

async fn handle<R: Clone + Send + Sync + 'static>(
    State(inner): State<Arc<Inner<R>>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        path_and_query: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        headers,
        body,
        at: Instant::now(),
        wall: Utc::now(),
    };
    let (index, scripted) = {
        let mut state = inner.lock();
        state.exchanges.push(Exchange {
            seen: seen.clone(),
            status: None,
            reply_body: String::new(),
        });
        (state.exchanges.len() - 1, state.next_scripted(&seen))
    };
    let (checked, scripted_delay) = match scripted {
        Some(Scripted::Reset) => return dropped(&conn, true),
        Some(Scripted::Close) => return dropped(&conn, false),
        Some(Scripted::Answer(answer)) => (Checked::Answer(answer), None),
        Some(Scripted::Delay(d)) => ((inner.check)(seen.clone()).await, Some(d)),
        None => ((inner.check)(seen.clone()).await, None),
    };
    let answer = match checked {
        Checked::Reset => return dropped(&conn, true),
        Checked::Answer(answer) => answer,
        Checked::Accept(record, answer) => {
            inner.lock().accepted.push((record, seen));
            inner.arrived.notify_waiters();
            answer
        }
    };
    if let Some(exchange) = inner.lock().exchanges.get_mut(index) {
        exchange.status = Some(answer.status);
        exchange.reply_body.clone_from(&answer.body);
    }
    if let Some(d) = scripted_delay.or(answer.delay) {
        tokio::time::sleep(d).await;
    }
    answer.into_response()
}

fn dropped(conn: &Conn, reset: bool) -> Response {
    conn.kill(reset);
    StatusCode::OK.into_response()
}

// ---------------------------------------------------------------------------------------------
// Connections that a handler can reset or close without answering.

/// A listener whose connections a handler can kill.
struct FakeListener(TcpListener);

/// The handle a handler gets (as `ConnectInfo`) to kill its own connection.
#[derive(Debug, Clone, Default)]
struct Conn(Arc<Mutex<Option<bool>>>);

impl Conn {
    /// Marks the connection to be dropped at its next read or write; `reset` sends a TCP RST
    /// (`SO_LINGER` 0) instead of an orderly close.
    fn kill(&self, reset: bool) {
        *lock(&self.0) = Some(reset);
    }

    fn killed(&self) -> Option<bool> {
        *lock(&self.0)
    }
}

impl Listener for FakeListener {
    type Io = KillableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let conn = Conn::default();
                    return (
                        KillableStream {
                            inner: stream,
                            conn: conn.clone(),
                        },
                        conn,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Conn::default())
    }
}

impl Connected<IncomingStream<'_, FakeListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, FakeListener>) -> Self {
        stream.remote_addr().clone()
    }
}

struct KillableStream {
    inner: TcpStream,
    conn: Conn,
}

impl KillableStream {
    fn check(&mut self) -> io::Result<()> {
        match self.conn.killed() {
            None => Ok(()),
            Some(reset) => {
                if reset {
                    let _ = self.inner.set_zero_linger();
                }
                Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "fake server dropped the connection",
                ))
            }
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `len` characters drawn from `alphabet`: a platform's token, key or id of its own shape.
pub fn random_token(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[fastrand::usize(..alphabet.len())] as char)
        .collect()
}

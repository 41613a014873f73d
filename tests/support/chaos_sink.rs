//! A DingTalk custom robot (`/robot/send?access_token=T`) that fails a share of requests the
//! ways the real one and the network between do, for fault tests of the daemon.
//!
//! With chaos on, each request fails with probability [`ChaosOptions::failure_rate`] (drawn
//! from a seeded `fastrand::Rng`, so a run can be repeated), the failure being one of
//! [`Fault`] in the weights of [`ChaosOptions::weights`]; every other request is checked
//! (path, token, JSON markdown body), recorded as [`Accepted`] and answered
//! `{"errcode":0,"errmsg":"ok"}` after a random latency ([`ChaosOptions::min_latency`] to
//! [`ChaosOptions::max_latency`]).
//! A message is recorded *before* the latency, as a platform posts it and then answers: a
//! sender killed during that latency has delivered a message it does not know about.
//!
//! Failures never record the message: a stalled request is one the platform never posted (it
//! answers `errcode -1` when the stall ends, long after weekbell has given up), and a reset
//! connection lost the request.
//!
//! The reset uses the technique of `chat_servers.rs`: a listener whose streams the handler can
//! mark, through `ConnectInfo`, to fail their next read or write, with `SO_LINGER` 0 so that
//! dropping the socket sends a TCP RST.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use serde_json::{Value, json};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One way a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// HTTP 500, 502 or 503 with a gateway's plain-text body (weekbell: retry).
    ServerError,
    /// HTTP 429 with `Retry-After: 1` (weekbell: wait).
    TooManyRequests,
    /// HTTP 200 with DingTalk's `{"errcode":-1,"errmsg":"系统繁忙"}` (weekbell: retry).
    Busy,
    /// No answer until [`ChaosOptions::stall`] has passed (weekbell: timeout, retry).
    Stall,
    /// The request is read, then the connection is reset (weekbell: retry).
    Reset,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::ServerError,
        Fault::TooManyRequests,
        Fault::Busy,
        Fault::Stall,
        Fault::Reset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ServerError => "5xx",
            Fault::TooManyRequests => "429",
            Fault::Busy => "errcode-1",
            Fault::Stall => "stall",
            Fault::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub seed: u64,
    /// Share of requests that fail while chaos is on.
    pub failure_rate: f64,
    /// Relative weights of the faults, in the order of [`Fault::ALL`].
    pub weights: [u32; 5],
    /// How long a [`Fault::Stall`] holds the request (longer than weekbell's timeout).
    pub stall: Duration,
    /// Successful answers come after a uniform random delay between these two. The minimum
    /// lets a test tell a message's copies from the next message's by time: every copy of a
    /// message arrived at least this long before weekbell recorded it as sent.
    pub min_latency: Duration,
    pub max_latency: Duration,
}

/// A message the sink accepted (posted to the "group").
#[derive(Debug, Clone)]
pub struct Accepted {
    /// `markdown.text` of the body.
    pub text: String,
    /// Wall-clock arrival, microseconds since the epoch.
    pub wall_us: i64,
}

#[derive(Debug, Default)]
struct Log {
    accepted: Vec<Accepted>,
    requests: usize,
    faults: Vec<(Fault, i64)>,
    refused: Vec<String>,
}

struct Shared {
    token: String,
    options: ChaosOptions,
    chaos: AtomicBool,
    rng: Mutex<fastrand::Rng>,
    log: Mutex<Log>,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running sink; dropping it stops the server.
pub struct ChaosSink {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ChaosSink {
    pub async fn start(options: ChaosOptions) -> ChaosSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("chaos sink: cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("chaos sink: no local address: {e}"));
        let shared = Arc::new(Shared {
            token: format!("chaos{:016x}", options.seed),
            rng: Mutex::new(fastrand::Rng::with_seed(options.seed)),
            options,
            chaos: AtomicBool::new(true),
            log: Mutex::new(Log::default()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<Conn>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(KillableListener(listener), app).await;
        });
        ChaosSink { addr, shared, task }
    }

    /// The webhook to configure.
    pub fn url(&self) -> String {
        format!(
            "http://{}/robot/send?access_token={}",
            self.addr, self.shared.token
        )
    }

    /// Turns failures on or off (successes keep their latency).
    pub fn set_chaos(&self, on: bool) {
        self.shared.chaos.store(on, Ordering::SeqCst);
    }

    /// Accepted messages in arrival order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.shared.log().accepted.clone()
    }

    /// Every request that arrived, accepted, failed or refused.
    pub fn requests(&self) -> usize {
        self.shared.log().requests
    }

    /// The injected failures with their wall-clock time (µs), in arrival order.
    pub fn faults(&self) -> Vec<(Fault, i64)> {
        self.shared.log().faults.clone()
    }

    /// Requests refused by the checks (wrong path, token or body): a test bug or a weekbell
    /// bug, never injected.
    pub fn refused(&self) -> Vec<String> {
        self.shared.log().refused.clone()
    }
}

impl Drop for ChaosSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// What to do with one request, drawn under the RNG lock.
enum Plan {
    Fail(Fault, u16),
    Accept(Duration),
}

fn draw(shared: &Shared) -> Plan {
    let o = &shared.options;
    let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
    // Always draw the same number of values, so the sequence does not depend on the switch.
    let fail = rng.f64() < o.failure_rate;
    let total: u32 = o.weights.iter().sum::<u32>().max(1);
    let mut pick = rng.u32(0..total);
    let status = [500u16, 502, 503][rng.usize(0..3)];
    let spread = o.max_latency.saturating_sub(o.min_latency);
    let latency = (o.min_latency + spread.mul_f64(rng.f64())).min(Duration::from_secs(5));
    if fail && shared.chaos.load(Ordering::SeqCst) {
        for (fault, w) in Fault::ALL.iter().zip(o.weights) {
            if pick < w {
                return Plan::Fail(*fault, status);
            }
            pick -= w;
        }
    }
    Plan::Accept(latency)
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn busy() -> Response {
    json_reply(StatusCode::OK, json!({"errcode": -1, "errmsg": "系统繁忙"}))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let at = now_us();
    let plan = draw(&shared);
    shared.log().requests += 1;
    if let Plan::Fail(fault, status) = plan {
        shared.log().faults.push((fault, at));
        return match fault {
            Fault::ServerError => {
                let text = match status {
                    500 => "500 Internal Server Error",
                    502 => "502 Bad Gateway",
                    _ => "503 Service Unavailable",
                };
                let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                (code, text).into_response()
            }
            Fault::TooManyRequests => {
                // A gateway's 429: no DingTalk errcode, so the status and Retry-After decide.
                let mut r =
                    (StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests").into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Fault::Busy => busy(),
            Fault::Stall => {
                tokio::time::sleep(shared.options.stall).await;
                busy()
            }
            Fault::Reset => {
                conn.kill();
                StatusCode::OK.into_response()
            }
        };
    }
    let Plan::Accept(latency) = plan else {
        return busy();
    };
    let token_ok = uri.path() == "/robot/send"
        && uri
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|kv| kv == format!("access_token={}", shared.token));
    if !token_ok {
        shared
            .log()
            .refused
            .push(format!("bad path or token: {}", uri.path()));
        return json_reply(
            StatusCode::OK,
            json!({"errcode": 300001, "errmsg": "token is not exist"}),
        );
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let text = parsed
        .as_ref()
        .filter(|v| v["msgtype"] == "markdown")
        .and_then(|v| v["markdown"]["text"].as_str())
        .map(str::to_owned);
    let Some(text) = text else {
        shared.log().refused.push(format!(
            "not a markdown body: {}",
            String::from_utf8_lossy(&body)
        ));
        return json_reply(
            StatusCode::OK,
            json!({"errcode": 40035, "errmsg": "缺少参数 json"}),
        );
    };
    shared.log().accepted.push(Accepted { text, wall_us: at });
    tokio::time::sleep(latency).await;
    json_reply(StatusCode::OK, json!({"errcode": 0, "errmsg": "ok"}))
}

// ---------------------------------------------------------------------------------------------
// Connections a handler can reset.

struct KillableListener(TcpListener);

/// The handle a handler gets (as `ConnectInfo`) to reset its own connection.
#[derive(Debug, Clone, Default)]
struct Conn(Arc<AtomicBool>);

impl Conn {
    fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Listener for KillableListener {
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

impl Connected<IncomingStream<'_, KillableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

struct KillableStream {
    inner: TcpStream,
    conn: Conn,
}

impl KillableStream {
    fn check(&mut self) -> io::Result<()> {
        if self.conn.0.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "chaos sink reset the connection",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
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

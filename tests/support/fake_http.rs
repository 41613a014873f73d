//! A scriptable loopback HTTP server for platform fakes that live in their own files
//! (`teams_server.rs`, `googlechat_server.rs`): the platform file supplies a check that decides
//! what a request gets, as the platform would; this file records requests, queues scripted
//! answers ahead of the check, and can stall, reset or close a connection.

use super::chat_servers::{Conn, FakeListener};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
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

    /// A query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.path_and_query.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
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
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn json(status: u16, body: &Value) -> Answer {
        Answer {
            status,
            content_type: "application/json; charset=utf-8",
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// What the platform check decided.
pub enum Checked {
    /// Taken, recorded as this value, answered with this.
    Accept(Value, Answer),
    Refuse(Answer),
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

/// One request and the status it got (`None` when the connection was dropped).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub seen: Seen,
    pub status: Option<u16>,
    pub reply_body: String,
}

type Check = dyn Fn(&Seen) -> Checked + Send + Sync;

struct Inner {
    check: Box<Check>,
    state: Mutex<FakeState>,
    arrived: Notify,
}

#[derive(Default)]
struct FakeState {
    script: VecDeque<Scripted>,
    accepted: Vec<(Value, Seen)>,
    exchanges: Vec<Exchange>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fake; dropping it stops the server.
pub struct FakeHttp {
    addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl FakeHttp {
    pub async fn start(check: impl Fn(&Seen) -> Checked + Send + Sync + 'static) -> FakeHttp {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("fake: cannot bind a loopback port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake: no local address: {e}"),
        };
        let inner = Arc::new(Inner {
            check: Box::new(check),
            state: Mutex::new(FakeState::default()),
            arrived: Notify::new(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner))
            .into_make_service_with_connect_info::<Conn>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(FakeListener(listener), app).await;
        });
        FakeHttp { addr, inner, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.inner.lock().script.extend(answers);
    }

    /// The accepted requests' recorded values, in arrival order.
    pub fn received(&self) -> Vec<Value> {
        self.inner
            .lock()
            .accepted
            .iter()
            .map(|(v, _)| v.clone())
            .collect()
    }

    /// The accepted requests as they arrived.
    pub fn accepted(&self) -> Vec<Seen> {
        self.inner
            .lock()
            .accepted
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.lock().exchanges.clone()
    }

    pub fn request_count(&self) -> usize {
        self.inner.lock().exchanges.len()
    }

    /// Waits until at least `n` requests were accepted, or `timeout` passes.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
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
    };
    let scripted = inner.lock().script.pop_front();
    let (answer, delay) = match scripted {
        Some(Scripted::Reset | Scripted::Close) => {
            conn.kill(matches!(scripted, Some(Scripted::Reset)));
            inner.lock().exchanges.push(Exchange {
                seen,
                status: None,
                reply_body: String::new(),
            });
            return StatusCode::OK.into_response();
        }
        Some(Scripted::Answer(answer)) => (answer, None),
        Some(Scripted::Delay(d)) => (check(&inner, &seen), Some(d)),
        None => (check(&inner, &seen), None),
    };
    inner.lock().exchanges.push(Exchange {
        seen,
        status: Some(answer.status),
        reply_body: answer.body.clone(),
    });
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    answer.into_response()
}

fn check(inner: &Inner, seen: &Seen) -> Answer {
    match (inner.check)(seen) {
        Checked::Refuse(answer) => answer,
        Checked::Accept(value, answer) => {
            inner.lock().accepted.push((value, seen.clone()));
            inner.arrived.notify_waiters();
            answer
        }
    }
}

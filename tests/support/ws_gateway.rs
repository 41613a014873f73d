//! What the WebSocket gateway peers (`dingtalk_stream_server.rs`, `slack_socket_server.rs`,
//! `feishu_ws_server.rs`) share: a loopback listener that upgrades each connection the
//! peer's handshake check lets in, records why it refused the others, and hands the accepted
//! ones to the test in order; and the book of single-use tickets the three gateways hand out
//! from their HTTP endpoint and redeem at the upgrade.

use super::lock;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, StatusCode};

/// A handshake the gateway turns down: the HTTP status, the reason recorded (and sent as the
/// body), and any headers the platform adds.
pub struct Refusal {
    pub status: u16,
    pub why: String,
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Refusal {
    /// HTTP 401, as the gateways answer a bad ticket.
    pub fn unauthorized(why: impl Into<String>) -> Refusal {
        Refusal {
            status: 401,
            why: why.into(),
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> ErrorResponse {
        let mut r = ErrorResponse::new(Some(self.why));
        if let Ok(code) = StatusCode::from_u16(self.status) {
            *r.status_mut() = code;
        }
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                r.headers_mut().insert(k, v);
            }
        }
        r
    }
}

/// The `ticket` query parameter of a handshake request, empty when there is none.
pub fn ticket_of(req: &Request) -> String {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("ticket="))
        .unwrap_or("")
        .to_string()
}

/// Why a ticket cannot open a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketProblem {
    Reused,
    Unknown,
    Expired,
}

/// Tickets handed out and redeemed: each opens one connection, within its life if it has one.
#[derive(Debug, Default)]
pub struct Tickets {
    issued: HashMap<String, Instant>,
    used: HashSet<String>,
}

impl Tickets {
    pub fn issue(&mut self, ticket: &str) {
        self.issued.insert(ticket.to_string(), Instant::now());
    }

    /// Every ticket issued, in no particular order.
    pub fn issued(&self) -> Vec<String> {
        self.issued.keys().cloned().collect()
    }

    /// Uses `ticket` up, if it was issued, not used and (with a `life`) not older than it.
    pub fn redeem(&mut self, ticket: &str, life: Option<Duration>) -> Result<(), TicketProblem> {
        if self.used.contains(ticket) {
            return Err(TicketProblem::Reused);
        }
        match self.issued.get(ticket) {
            None => return Err(TicketProblem::Unknown),
            Some(at) if life.is_some_and(|life| at.elapsed() > life) => {
                return Err(TicketProblem::Expired);
            }
            Some(_) => {}
        }
        self.used.insert(ticket.to_string());
        Ok(())
    }
}

/// A running WebSocket listener; dropping it stops accepting (connections already handed
/// out live on in their handles).
pub struct WsListener<C> {
    addr: String,
    conns: tokio::sync::Mutex<mpsc::UnboundedReceiver<C>>,
    refused: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl<C> Drop for WsListener<C> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<C: Send + 'static> WsListener<C> {
    /// Listens on a loopback port. `check` decides each handshake from its request: the
    /// ticket it opens with, or a refusal; `open` turns an upgraded socket and its ticket into
    /// the test's handle (after a greeting, or with a task that serves it), `None` to drop it.
    pub async fn start<F>(
        check: impl Fn(&Request) -> Result<String, Refusal> + Send + Sync + 'static,
        open: impl Fn(WebSocketStream<TcpStream>, String) -> F + Send + Sync + 'static,
    ) -> WsListener<C>
    where
        F: Future<Output = Option<C>> + Send + 'static,
    {
        let listener = super::bind_loopback().await;
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"))
            .to_string();
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::unbounded_channel();
        let check = Arc::new(check);
        let open = Arc::new(open);
        let log = Arc::clone(&refused);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (check, open, log, tx) = (
                    Arc::clone(&check),
                    Arc::clone(&open),
                    Arc::clone(&log),
                    tx.clone(),
                );
                tokio::spawn(async move {
                    let slot = Arc::new(Mutex::new(String::new()));
                    let accepted = Arc::clone(&slot);
                    #[allow(
                        clippy::result_large_err,
                        reason = "tungstenite's Callback trait fixes the error type"
                    )]
                    let callback = move |req: &Request,
                                         resp: WsResponse|
                          -> Result<WsResponse, ErrorResponse> {
                        match check(req) {
                            Ok(ticket) => {
                                *lock(&accepted) = ticket;
                                Ok(resp)
                            }
                            Err(refusal) => {
                                lock(&log).push(refusal.why.clone());
                                Err(refusal.into_response())
                            }
                        }
                    };
                    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                        return;
                    };
                    let ticket = std::mem::take(&mut *lock(&slot));
                    if let Some(conn) = open(ws, ticket).await {
                        let _ = tx.send(conn);
                    }
                });
            }
        });
        WsListener {
            addr,
            conns: tokio::sync::Mutex::new(rx),
            refused,
            task,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Why handshakes were refused, one line each.
    pub fn refused(&self) -> Vec<String> {
        lock(&self.refused).clone()
    }

    /// The next accepted connection, or `None` if none comes `within`.
    pub async fn try_next(&self, within: Duration) -> Option<C> {
        let mut rx = self.conns.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    /// The next accepted connection; panics with `what` and `context()` if none comes
    /// `within`.
    pub async fn next(&self, within: Duration, what: &str, context: impl FnOnce() -> String) -> C {
        match self.try_next(within).await {
            Some(c) => c,
            None => panic!("no {what} within {within:?}; {}", context()),
        }
    }
}

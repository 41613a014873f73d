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
//! It runs on `fake_http.rs`, whose reset sends a TCP RST after reading the request.
//!
//! Not part of `support/mod.rs`; include it with
//! `#[path = "support/chaos_sink.rs"] mod chaos_sink;` next to `mod support;`.

use crate::support::fake_http::{Answer, Checked, FakeHttp, Seen};
use crate::support::lock;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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
    faults: Vec<(Fault, i64)>,
    refused: Vec<String>,
}

struct Peer {
    token: String,
    options: ChaosOptions,
    chaos: AtomicBool,
    rng: Mutex<fastrand::Rng>,
    log: Mutex<Log>,
}

impl Peer {
    fn log(&self) -> MutexGuard<'_, Log> {
        lock(&self.log)
    }
}

/// The running sink; dropping it stops the server.
pub struct ChaosSink {
    http: FakeHttp<Accepted>,
    peer: Arc<Peer>,
}

impl ChaosSink {
    pub async fn start(options: ChaosOptions) -> ChaosSink {
        let peer = Arc::new(Peer {
            token: format!("chaos{:016x}", options.seed),
            rng: Mutex::new(fastrand::Rng::with_seed(options.seed)),
            options,
            chaos: AtomicBool::new(true),
            log: Mutex::new(Log::default()),
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start_async(move |seen: Seen| {
            let peer = Arc::clone(&checks);
            async move { peer.answer(&seen).await }
        })
        .await;
        ChaosSink { http, peer }
    }

    /// The webhook to configure.
    pub fn url(&self) -> String {
        format!(
            "{}/robot/send?access_token={}",
            self.http.base_url(),
            self.peer.token
        )
    }

    /// Turns failures on or off (successes keep their latency).
    pub fn set_chaos(&self, on: bool) {
        self.peer.chaos.store(on, Ordering::SeqCst);
    }

    /// Accepted messages in arrival order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.http.received()
    }

    /// Every request that arrived, accepted, failed or refused.
    pub fn requests(&self) -> usize {
        self.http.request_count()
    }

    /// The injected failures with their wall-clock time (µs), in arrival order.
    pub fn faults(&self) -> Vec<(Fault, i64)> {
        self.peer.log().faults.clone()
    }

    /// Requests refused by the checks (wrong path, token or body): a test bug or a weekbell
    /// bug, never injected.
    pub fn refused(&self) -> Vec<String> {
        self.peer.log().refused.clone()
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

fn draw(peer: &Peer) -> Plan {
    let o = &peer.options;
    let mut rng = lock(&peer.rng);
    // Always draw the same number of values, so the sequence does not depend on the switch.
    let fail = rng.f64() < o.failure_rate;
    let total: u32 = o.weights.iter().sum::<u32>().max(1);
    let mut pick = rng.u32(0..total);
    let status = [500u16, 502, 503][rng.usize(0..3)];
    let spread = o.max_latency.saturating_sub(o.min_latency);
    let latency = (o.min_latency + spread.mul_f64(rng.f64())).min(Duration::from_secs(5));
    if fail && peer.chaos.load(Ordering::SeqCst) {
        for (fault, w) in Fault::ALL.iter().zip(o.weights) {
            if pick < w {
                return Plan::Fail(*fault, status);
            }
            pick -= w;
        }
    }
    Plan::Accept(latency)
}

fn busy() -> Answer {
    Answer::json(200, &json!({"errcode": -1, "errmsg": "系统繁忙"}))
}

impl Peer {
    async fn answer(&self, seen: &Seen) -> Checked<Accepted> {
        let at = now_us();
        let latency = match draw(self) {
            Plan::Accept(latency) => latency,
            Plan::Fail(fault, status) => {
                self.log().faults.push((fault, at));
                return match fault {
                    Fault::ServerError => {
                        let text = match status {
                            500 => "500 Internal Server Error",
                            502 => "502 Bad Gateway",
                            _ => "503 Service Unavailable",
                        };
                        Checked::Answer(Answer::text(status, text))
                    }
                    // A gateway's 429: no DingTalk errcode, so the status and Retry-After decide.
                    Fault::TooManyRequests => Checked::Answer(
                        Answer::text(429, "429 Too Many Requests").with_header("retry-after", "1"),
                    ),
                    Fault::Busy => Checked::Answer(busy()),
                    Fault::Stall => {
                        tokio::time::sleep(self.options.stall).await;
                        Checked::Answer(busy())
                    }
                    Fault::Reset => Checked::Reset,
                };
            }
        };
        let token_ok = seen.path() == "/robot/send"
            && seen
                .raw_query()
                .unwrap_or_default()
                .split('&')
                .any(|kv| kv == format!("access_token={}", self.token));
        if !token_ok {
            self.log()
                .refused
                .push(format!("bad path or token: {}", seen.path()));
            return Checked::Answer(Answer::json(
                200,
                &json!({"errcode": 300001, "errmsg": "token is not exist"}),
            ));
        }
        let text = serde_json::from_slice::<serde_json::Value>(&seen.body)
            .ok()
            .filter(|v| v["msgtype"] == "markdown")
            .and_then(|v| v["markdown"]["text"].as_str().map(str::to_owned));
        let Some(text) = text else {
            self.log().refused.push(format!(
                "not a markdown body: {}",
                String::from_utf8_lossy(&seen.body)
            ));
            return Checked::Answer(Answer::json(
                200,
                &json!({"errcode": 40035, "errmsg": "缺少参数 json"}),
            ));
        };
        // Recorded now, answered after the latency: as a platform posts, then answers.
        Checked::Accept(
            Accepted { text, wall_us: at },
            Answer::json(200, &json!({"errcode": 0, "errmsg": "ok"})).after(latency),
        )
    }
}

//! The accept loop of `weekbell run`'s HTTP server, with the limits `axum::serve` lacks.
//!
//! `axum::serve` reads request headers with no deadline and accepts every connection: a client
//! trickling one header line every 15 s kept its connection for minutes, 300 idle connections
//! under a 256-descriptor limit made `/healthz` time out, and 500 connections each holding
//! ~350 KB of unfinished headers raised the daemon from 26 MB to 235 MB. Here each connection
//! is served by hyper's HTTP/1 connection with:
//!
//! - a header-read deadline ([`HEADER_READ_TIMEOUT`]). hyper starts it whenever it waits for a
//!   request head, so it is also the idle keep-alive timeout: a connection that sends no
//!   complete request head within it is closed, whether it is new, trickling, or idle after an
//!   answer;
//! - a cap on buffered bytes ([`MAX_HEADER_BYTES`]): a longer head is refused with 431;
//! - a cap on open connections ([`connection_cap`], from the descriptor limit). A connection
//!   beyond the cap takes the place of the oldest one that has no request being answered (it
//!   is closed: it is idle, or still sending its head), so new clients, `/healthz` among them,
//!   keep getting in. Only when every connection is answering a request (each bounded by
//!   `REQUEST_TIMEOUT`) is the new one refused: closed at once rather than left waiting, because
//!   a waiting connection would hold a descriptor while it waits, and every platform retries a
//!   failed delivery.

use crate::shutdown::Shutdown;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// How long a client may take to send a request head, and how long a kept-alive connection
/// may sit idle. Chat platforms send a whole request at once; 10 s is the ceiling.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes hyper buffers for one connection while it reads a request head (its
/// minimum is 8 KiB). Platform heads are well under 4 KiB (Google Chat's bearer token, the
/// largest, is about 1 KiB), so 16 KiB leaves room and bounds 500 half-sent heads to 8 MB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most connections served at once when the descriptor limit allows it.
const MAX_CONNECTIONS: usize = 1024;

/// Descriptors kept for everything else the daemon opens: the store (SQLite files or the
/// PostgreSQL pool), up to 32 sends in flight, the socket clients, the config watcher, logs.
const RESERVED_DESCRIPTORS: usize = 128;

/// The fewest connections served, whatever the descriptor limit says.
const MIN_CONNECTIONS: usize = 16;

/// How long to pause accepting after `accept` fails (out of descriptors, most likely), so the
/// loop does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How many connections may be open at once: [`MAX_CONNECTIONS`], or fewer when the process's
/// descriptor limit (`RLIMIT_NOFILE`, read from `/proc/self/limits`) leaves less room after
/// [`RESERVED_DESCRIPTORS`].
pub fn connection_cap() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| open_files_limit(&limits));
    cap_for(limit)
}

fn cap_for(descriptor_limit: Option<usize>) -> usize {
    descriptor_limit.map_or(MAX_CONNECTIONS, |limit| {
        limit
            .saturating_sub(RESERVED_DESCRIPTORS)
            .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
    })
}

/// The soft limit on the "Max open files" line; `None` when absent or "unlimited".
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One open connection, as the accept loop sees it.
#[derive(Default)]
struct Tracked {
    /// Requests handed to the router and not yet answered.
    answering: AtomicUsize,
    /// Told when a newer connection takes this one's place.
    evict: Notify,
}

/// The open connections, oldest first.
struct Open {
    cap: usize,
    next_id: u64,
    by_age: BTreeMap<u64, Arc<Tracked>>,
}

/// What to do with a connection just accepted.
enum Admission {
    /// Its id and state, and whether an idle connection was closed to make room.
    Admitted(u64, Arc<Tracked>, bool),
    /// Every slot is answering a request.
    Full,
}

impl Open {
    fn admit(&mut self) -> Admission {
        let full = self.by_age.len() >= self.cap;
        if full {
            let idle = self
                .by_age
                .iter()
                .find(|(_, c)| c.answering.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id);
            let Some(evicted) = idle.and_then(|id| self.by_age.remove(&id)) else {
                return Admission::Full;
            };
            evicted.evict.notify_one();
        }
        let id = self.next_id;
        self.next_id += 1;
        let tracked = Arc::new(Tracked::default());
        self.by_age.insert(id, tracked.clone());
        Admission::Admitted(id, tracked, full)
    }
}

/// Takes a connection off the open list when its task ends, however it ends.
struct Slot {
    open: Arc<Mutex<Open>>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            open.by_age.remove(&self.id);
        }
    }
}

/// Counts a request as being answered while it lives.
struct Answering(Arc<Tracked>);

impl Answering {
    fn start(tracked: &Arc<Tracked>) -> Self {
        tracked.answering.fetch_add(1, Ordering::AcqRel);
        Answering(tracked.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets the
/// requests in flight finish (kept-alive connections are closed after their answer).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    cap: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Mutex::new(Open {
        cap: cap.max(1),
        next_id: 0,
        by_age: BTreeMap::new(),
    }));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        while tasks.try_join_next().is_some() {}
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admission = match open.lock() {
            Ok(mut open) => open.admit(),
            Err(_) => Admission::Full,
        };
        let (id, tracked) = match admission {
            Admission::Admitted(id, tracked, evicted) => {
                if evicted {
                    // Let the evicted connection close before the next accept, so that a
                    // burst of connections does not run the process out of descriptors.
                    tokio::task::yield_now().await;
                }
                (id, tracked)
            }
            Admission::Full => {
                tracing::warn!(
                    "refused a connection: all {cap} connections are answering requests"
                );
                crate::metrics::refused("http", "connections");
                continue;
            }
        };
        let slot = Slot {
            open: open.clone(),
            id,
        };
        let router = TowerToHyperService::new(app.clone());
        let counted = tracked.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let answering = Answering::start(&counted);
            let answer = hyper::service::Service::call(&router, request);
            async move {
                let answer = answer.await;
                drop(answering);
                answer
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = Shutdown::new(stop_rx.clone());
        tasks.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!("connection ended: {e}");
                    }
                    return;
                }
                // A newer connection took this slot; dropping the connection closes it.
                () = tracked.evict.notified() => return,
                () = stop.recv() => {}
            }
            connection.as_mut().graceful_shutdown();
            if let Err(e) = connection.await {
                tracing::debug!("connection ended during shutdown: {e}");
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest_of_the_daemon() {
        assert_eq!(cap_for(None), MAX_CONNECTIONS);
        assert_eq!(cap_for(Some(1_048_576)), MAX_CONNECTIONS);
        assert_eq!(cap_for(Some(256)), 128);
        assert_eq!(cap_for(Some(64)), MIN_CONNECTIONS);
    }

    #[test]
    fn the_descriptor_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            256                  4096                 files     \n";
        assert_eq!(open_files_limit(limits), Some(256));
        assert_eq!(
            open_files_limit("Max open files            unlimited            unlimited   files"),
            None
        );
        assert_eq!(open_files_limit(""), None);
    }

    #[test]
    fn a_connection_beyond_the_cap_takes_the_place_of_the_oldest_idle_one() {
        let mut open = Open {
            cap: 3,
            next_id: 0,
            by_age: BTreeMap::new(),
        };
        let mut admitted = Vec::new();
        for _ in 0..3 {
            let Admission::Admitted(id, tracked, _) = open.admit() else {
                panic!("refused under the cap")
            };
            admitted.push((id, tracked));
        }
        // The oldest is answering a request: the second, idle, makes room.
        let _answering = Answering::start(&admitted[0].1);
        let Admission::Admitted(..) = open.admit() else {
            panic!("refused with idle connections open")
        };
        assert!(open.by_age.contains_key(&admitted[0].0));
        assert!(!open.by_age.contains_key(&admitted[1].0));
        assert_eq!(open.by_age.len(), 3);
    }

    #[test]
    fn a_connection_is_refused_when_every_slot_is_answering() {
        let mut open = Open {
            cap: 2,
            next_id: 0,
            by_age: BTreeMap::new(),
        };
        let mut busy = Vec::new();
        for _ in 0..2 {
            let Admission::Admitted(_, tracked, _) = open.admit() else {
                panic!("refused under the cap")
            };
            busy.push(Answering::start(&tracked));
        }
        assert!(matches!(open.admit(), Admission::Full));
        busy.pop();
        assert!(matches!(open.admit(), Admission::Admitted(..)));
    }
}

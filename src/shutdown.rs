//! The one shutdown signal: every long-running task of `weekbell run` (delivery, retention, the
//! socket clients, the Telegram pollers, the HTTP server's connections) listens on a
//! [`Shutdown`], and each gets [`SHUTDOWN_GRACE`] to finish what it started.
//!
//! Modelled on mini-redis's `Shutdown`: a listener that remembers it has seen the signal, so a
//! task can ask [`Shutdown::is_shutdown`] between steps and await [`Shutdown::recv`] in a
//! `select!`. It sits on a `watch` channel rather than a broadcast one so that a listener
//! made after the signal (a handler spawned late) sees it too.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// How long work already started may run on after the signal: sends in flight, and command
/// handlers of the socket clients (their messages are acked, so the platform will not send them
/// again). What is left stays in the outbox for the next start.
///
/// One figure for both: the socket clients gave their handlers 5 s and delivery 10 s. The
/// longer is the safer, since a command cut off is lost while a few seconds more of stopping
/// lose nothing.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Listens for the shutdown signal: `true` sent on the channel, or its sender dropped.
#[derive(Debug, Clone)]
pub struct Shutdown {
    /// Set once the signal was seen, so it is never awaited twice.
    is_shutdown: bool,
    notify: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new(notify: watch::Receiver<bool>) -> Self {
        Shutdown {
            is_shutdown: false,
            notify,
        }
    }

    /// Whether the signal has come (also when it came since the last [`recv`](Self::recv)).
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown || *self.notify.borrow()
    }

    /// Resolves once the signal has come; at once when it already has.
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        signalled(&mut self.notify).await;
        self.is_shutdown = true;
    }

    /// Resolves at the next change of the signal, for a loop that also looks at other things
    /// when woken; pending for ever once the sender is gone and the signal was never sent.
    pub async fn changed(&mut self) {
        if self.is_shutdown() {
            return;
        }
        if self.notify.changed().await.is_err() {
            // The sender is gone: that is the signal too.
            self.is_shutdown = true;
        }
    }

    /// Runs `work`; `None` if the signal came first (the work is dropped, a request in flight
    /// with it).
    pub async fn until<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            () = self.recv() => None,
            value = work => Some(value),
        }
    }
}

impl From<watch::Receiver<bool>> for Shutdown {
    fn from(notify: watch::Receiver<bool>) -> Self {
        Shutdown::new(notify)
    }
}

/// Resolves once `notify` holds `true` or its sender is gone: what [`Shutdown::recv`] awaits,
/// for the callers that hold the bare receiver.
pub async fn signalled(notify: &mut watch::Receiver<bool>) {
    let _ = notify.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_shutdown_is_seen_by_listeners_made_before_and_after_the_signal() {
        let (tx, rx) = watch::channel(false);
        let mut early = Shutdown::new(rx.clone());
        assert!(!early.is_shutdown());
        assert_eq!(early.until(async { 1 }).await, Some(1));
        let _ = tx.send(true);
        early.recv().await;
        assert!(early.is_shutdown());
        let mut late = Shutdown::from(rx);
        assert!(late.is_shutdown());
        assert_eq!(late.until(std::future::pending::<()>()).await, None);
    }

    #[tokio::test]
    async fn a_dropped_sender_is_a_shutdown() {
        let (tx, rx) = watch::channel(false);
        let mut s = Shutdown::new(rx);
        drop(tx);
        s.changed().await;
        assert!(s.is_shutdown());
        s.recv().await;
    }
}

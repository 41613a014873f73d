//! What the scheduler, delivery and the command path of one process share: the store, the
//! clock, this process's name, and the two signals that tie writers of the outbox to delivery.
//! Its own module so that the daemon (which builds it) and the command path (which writes
//! answers to the outbox) both use it without importing each other.

use crate::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::watch;

/// What the daemon shares between the scheduler and delivery.
pub struct Shared {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Identifies this process in the ledger and in outbox leases.
    pub instance: String,
    /// Bumped when the scheduler has written new messages. A watch channel, not a `Notify`:
    /// a dispatcher busy leasing when the bump comes still sees it when it next waits.
    pub wake: watch::Sender<u64>,
    /// Bumped when delivery has committed a batch of outcomes, so `weekbell send` ends as soon
    /// as its parts are recorded instead of polling the outbox.
    pub recorded: watch::Sender<u64>,
}

impl Shared {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Shared {
        Shared {
            store,
            clock,
            instance: instance_id(),
            wake: watch::Sender::new(0),
            recorded: watch::Sender::new(0),
        }
    }

    /// Tells delivery to look at the outbox now.
    pub fn wake_delivery(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A fresh identifier for this process: host-free, so it can appear in logs and the ledger.
pub fn instance_id() -> String {
    format!("wb-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

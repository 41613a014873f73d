//! Delivery: one dispatcher leases the head of every channel's queue, one sender per channel
//! sends in order under its rate limit, and one recorder writes outcomes in batches.
//!
//! Why three parts and not a polling loop per channel: with a thousand channels, per-channel
//! polling costs a thousand queries a second while idle, and a lease plus an outcome per
//! message are two transactions each on SQLite's single writer. Here the dispatcher leases all
//! due heads in one statement, and the recorder commits whatever outcomes have piled up while
//! the previous commit ran, so the database work per fan-out grows with the number of batches,
//! not of messages.
//!
//! Order within a channel holds because only a channel's head is ever leased, and its next
//! message becomes the head only when the recorder has committed the outcome of this one.

use super::Shared;
use crate::backoff::Backoff;
use crate::config::{ChannelConfig, RateLimitSetting};
use crate::plan::Plan;
use crate::platforms::{OutboxPayload, Outcome, deliver, deliver_reply};
use crate::ratelimit::TokenBucket;
use crate::shutdown::Shutdown;
use crate::store::{OutboxMessage, OutboxUpdate};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// Tunables of delivery; the defaults suit real chat platforms.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// A sender holds a message this long; if the process dies, another may take it after.
    pub lease: Duration,
    /// First retry delay; doubles each attempt up to `max_backoff`, each wait up to 20 %
    /// shorter at random (see [`Backoff`]).
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How often the dispatcher looks at the outbox even without a wake-up (other replicas,
    /// `outbox retry` from the CLI).
    pub idle_poll: Duration,
    /// Most messages leased by one query.
    pub lease_batch: i64,
    /// Most requests in flight at once, over all channels. A fan-out to a thousand channels
    /// would otherwise open a thousand connections at once; with a bound, finished requests
    /// hand their kept-alive connections to the next ones (and file descriptors stay few).
    pub max_in_flight: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            lease: Duration::from_secs(30),
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
            lease_batch: 1000,
            max_in_flight: 32,
        }
    }
}

/// Most outcomes written in one transaction.
const RECORD_BATCH: usize = 512;

/// Which channels a delivery serves: all of them (`weekbell run`), or a few (`weekbell send`,
/// which must not send other schedules' waiting messages).
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Channels(Vec<String>),
}

pub struct Delivery {
    shared: Arc<Shared>,
    plan: watch::Receiver<Arc<Plan>>,
    stop: Shutdown,
    client: reqwest::Client,
    config: DeliveryConfig,
    scope: Scope,
}

/// A send's outcome on its way to the recorder.
struct Finished {
    channel: String,
    update: Option<OutboxUpdate>,
}

impl Delivery {
    pub fn new(
        shared: Arc<Shared>,
        plan: watch::Receiver<Arc<Plan>>,
        stop: impl Into<Shutdown>,
        client: reqwest::Client,
        config: DeliveryConfig,
        scope: Scope,
    ) -> Self {
        Delivery {
            shared,
            plan,
            stop: stop.into(),
            client,
            config,
            scope,
        }
    }

    /// Runs until the stop signal; then lets each channel finish the message it holds (a
    /// sender waiting for its rate limit gives its message back) and writes every outcome.
    pub async fn run(self) {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel::<Finished>();
        let (recorded_tx, mut recorded_rx) = mpsc::unbounded_channel::<Vec<String>>();
        let recorder = tokio::spawn(record_loop(self.shared.clone(), finished_rx, recorded_tx));
        let sender_ctx = Arc::new(SenderCtx {
            permits: Semaphore::new(self.config.max_in_flight.max(1)),
            shared: self.shared.clone(),
            plan: self.plan.clone(),
            stop: self.stop.clone(),
            client: self.client.clone(),
            config: self.config.clone(),
        });
        let mut senders: HashMap<String, mpsc::UnboundedSender<OutboxMessage>> = HashMap::new();
        let mut sender_tasks = JoinSet::new();
        // Channel → the id of the message its sender holds, until its outcome is recorded.
        let mut in_flight: HashMap<String, String> = HashMap::new();
        // A channel's next head, leased in the moment between its previous message's outcome
        // being committed and the recorder saying so: it goes out as soon as the channel is
        // free, rather than waiting for its lease to run out.
        let mut parked: HashMap<String, OutboxMessage> = HashMap::new();
        let mut absent_warned: HashSet<String> = HashSet::new();
        let mut wake = self.shared.wake.subscribe();
        let mut stop = self.stop.clone();
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(30_000);

        loop {
            if stop.is_shutdown() {
                break;
            }
            let now_ms = self.shared.clock.now().timestamp_millis();
            let leased = match self.lease(now_ms, lease_ms).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("cannot read the outbox: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                        () = stop.changed() => {}
                    }
                    continue;
                }
            };
            let plan = self.plan.borrow().clone();
            let mut dispatched = 0usize;
            for msg in leased {
                match in_flight.get(&msg.channel) {
                    // Its lease ran out while the sender still has it (a long rate-limit
                    // wait): the lease was just renewed, and the sender goes on.
                    Some(held) if *held == msg.id => continue,
                    Some(_) => {
                        parked.insert(msg.channel.clone(), msg);
                        continue;
                    }
                    None => {}
                }
                if !plan.config.channels.contains_key(&msg.channel) {
                    // The channel was removed from the config: its messages wait in the outbox
                    // (leased, so this is not retried every pass) until it comes back.
                    if absent_warned.insert(msg.channel.clone()) {
                        tracing::warn!(
                            channel = %msg.channel,
                            "messages wait in the outbox for a channel that is no longer in the config"
                        );
                    }
                    continue;
                }
                let channel = msg.channel.clone();
                let tx = senders.entry(channel.clone()).or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    sender_tasks.spawn(send_loop(
                        channel.clone(),
                        rx,
                        sender_ctx.clone(),
                        finished_tx.clone(),
                    ));
                    tx
                });
                let id = msg.id.clone();
                if tx.send(msg).is_ok() {
                    in_flight.insert(channel, id);
                    dispatched += 1;
                }
            }
            let wait = if dispatched > 0 {
                self.config.idle_poll
            } else {
                self.until_next(now_ms).await
            };
            tokio::select! {
                got = recorded_rx.recv() => {
                    let Some(channels) = got else {
                        tracing::error!("the outcome recorder stopped; delivery stops");
                        break;
                    };
                    let mut got = Some(channels);
                    while let Some(channels) = got {
                        for c in channels {
                            in_flight.remove(&c);
                            if let (Some(msg), Some(tx)) = (parked.remove(&c), senders.get(&c)) {
                                let id = msg.id.clone();
                                if tx.send(msg).is_ok() {
                                    in_flight.insert(c, id);
                                }
                            }
                        }
                        got = recorded_rx.try_recv().ok();
                    }
                }
                _ = wake.changed() => {}
                () = tokio::time::sleep(wait) => {}
                () = stop.changed() => {}
            }
        }

        // Parked heads were never handed to a sender: give their leases back, so the next
        // start need not wait for them to run out.
        let unsent: Vec<OutboxUpdate> = parked
            .into_values()
            .map(|m| OutboxUpdate::Released {
                id: m.id,
                worker: self.shared.instance.clone(),
            })
            .collect();
        if !unsent.is_empty()
            && let Err(e) = self.shared.store.record(&unsent).await
        {
            tracing::warn!("could not give back the leases of unsent messages: {e}");
        }
        // Senders finish (or give back) what they hold, then the recorder writes it all.
        drop(senders);
        drop(finished_tx);
        while sender_tasks.join_next().await.is_some() {}
        let _ = recorder.await;
    }

    async fn lease(
        &self,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboxMessage>, crate::store::StoreError> {
        let store = &self.shared.store;
        let worker = &self.shared.instance;
        let batch = self.config.lease_batch;
        match &self.scope {
            Scope::All => {
                store
                    .lease_heads(worker, now_ms, lease_ms, None, batch)
                    .await
            }
            Scope::Channels(channels) => {
                let mut all = Vec::new();
                for c in channels {
                    all.extend(
                        store
                            .lease_heads(worker, now_ms, lease_ms, Some(c), batch)
                            .await?,
                    );
                }
                Ok(all)
            }
        }
    }

    /// How long to sleep when nothing could be leased: until the next head is due, at most
    /// `idle_poll`, and never a busy loop.
    async fn until_next(&self, now_ms: i64) -> Duration {
        let store = &self.shared.store;
        let next = match &self.scope {
            Scope::All => store.next_leasable(None).await,
            Scope::Channels(channels) => {
                let mut earliest: Result<Option<i64>, _> = Ok(None);
                for c in channels {
                    match store.next_leasable(Some(c)).await {
                        Ok(Some(t)) => {
                            earliest = earliest.map(|e| Some(e.map_or(t, |e: i64| e.min(t))));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            earliest = Err(e);
                            break;
                        }
                    }
                }
                earliest
            }
        };
        let floor = Duration::from_millis(10);
        match next {
            Ok(Some(t)) => Duration::from_millis(u64::try_from(t - now_ms).unwrap_or(0))
                .clamp(floor, self.config.idle_poll),
            Ok(None) | Err(_) => self.config.idle_poll,
        }
    }
}

/// What every channel's sender needs.
struct SenderCtx {
    permits: Semaphore,
    shared: Arc<Shared>,
    plan: watch::Receiver<Arc<Plan>>,
    stop: Shutdown,
    client: reqwest::Client,
    config: DeliveryConfig,
}

/// Sends one channel's messages, one at a time, as the dispatcher hands them over.
async fn send_loop(
    channel: String,
    mut inbox: mpsc::UnboundedReceiver<OutboxMessage>,
    ctx: Arc<SenderCtx>,
    finished: mpsc::UnboundedSender<Finished>,
) {
    let mut sender = ChannelSender {
        channel,
        ctx,
        bucket: None,
        limit: None,
    };
    while let Some(msg) = inbox.recv().await {
        let update = sender.handle(msg).await;
        let _ = finished.send(Finished {
            channel: sender.channel.clone(),
            update,
        });
    }
}

struct ChannelSender {
    channel: String,
    ctx: Arc<SenderCtx>,
    bucket: Option<TokenBucket>,
    /// The limit the bucket was built for, to rebuild it when the config changes.
    limit: Option<(u32, Duration)>,
}

impl ChannelSender {
    fn limit_for(&mut self, channel: &ChannelConfig) {
        let wanted = match channel.rate_limit {
            Some(RateLimitSetting::Off) => None,
            Some(RateLimitSetting::Limit { count, per }) => Some((count, per)),
            None => channel
                .platform
                .default_rate_limit()
                .map(|r| (r.count, r.per)),
        };
        if wanted != self.limit {
            self.limit = wanted;
            self.bucket = wanted.map(|(count, per)| TokenBucket::new(count, per));
        }
    }

    /// Tries the message once; the answer is what to record (`None`: nothing, the message is
    /// no longer ours).
    async fn handle(&mut self, msg: OutboxMessage) -> Option<OutboxUpdate> {
        let ctx = self.ctx.clone();
        let worker = ctx.shared.instance.clone();
        let plan = ctx.plan.borrow().clone();
        let Some(channel) = plan.config.channels.get(&self.channel) else {
            return Some(OutboxUpdate::Released { id: msg.id, worker });
        };
        self.limit_for(channel);
        let now_ms = ctx.shared.clock.now().timestamp_millis();
        if now_ms > msg.deadline_ms {
            let reason = "not delivered before its deadline (12 hours after its slot)".to_owned();
            tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
            return Some(OutboxUpdate::Expired {
                id: msg.id,
                reason,
                at_ms: now_ms,
            });
        }
        let payload: OutboxPayload = match serde_json::from_str(&msg.payload) {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("the stored message cannot be read: {e}");
                tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
                return Some(OutboxUpdate::Dead {
                    id: msg.id,
                    reason,
                    at_ms: now_ms,
                });
            }
        };
        if let Some(bucket) = &mut self.bucket {
            loop {
                let wait = bucket.try_take(tokio::time::Instant::now());
                if wait.is_zero() {
                    break;
                }
                if ctx.stop.is_shutdown() {
                    // Give it back: the next start sends it without waiting for the lease.
                    return Some(OutboxUpdate::Released { id: msg.id, worker });
                }
                tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
            }
        }
        let Ok(_permit) = ctx.permits.acquire().await else {
            return Some(OutboxUpdate::Released { id: msg.id, worker });
        };
        if !self.keep_lease(&msg).await {
            return None;
        }
        let started = ctx.shared.clock.now();
        let outcome = match &payload.reply_via {
            None => deliver(&ctx.client, channel, &payload.part, started).await,
            Some(via) => deliver_reply(&ctx.client, channel, &payload.part, via, started).await,
        };
        let now_ms = ctx.shared.clock.now().timestamp_millis();
        let attempts = msg.attempts + 1;
        let platform = channel.platform.as_str();
        let update = match outcome {
            Outcome::Sent => {
                crate::metrics::sent(platform, started.timestamp_millis() - slot_at_ms(&msg));
                tracing::info!(
                    channel = %self.channel,
                    id = %msg.id,
                    attempts,
                    late = msg.late,
                    lateness_ms = (started.timestamp_millis() - slot_at_ms(&msg)).max(0),
                    "sent"
                );
                OutboxUpdate::Sent {
                    id: msg.id,
                    worker,
                    at_ms: now_ms,
                }
            }
            Outcome::Retry { reason } => {
                let delay = self.backoff(attempts);
                self.retry_or_die(msg, now_ms, delay, reason)
            }
            Outcome::Wait { after, reason } => {
                if let Some(bucket) = &mut self.bucket {
                    bucket.pause(tokio::time::Instant::now(), after);
                }
                // A throttled channel waits as told, at least as long as the backoff would.
                let delay = after.max(ctx.config.base_backoff);
                self.retry_or_die(msg, now_ms, delay, reason)
            }
            Outcome::Permanent { reason, hint } => {
                let reason = format!("{reason} — {hint}");
                tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
                OutboxUpdate::Dead {
                    id: msg.id,
                    reason,
                    at_ms: now_ms,
                }
            }
        };
        match &update {
            OutboxUpdate::Retry { .. } => crate::metrics::failed(platform),
            OutboxUpdate::Dead { .. } => crate::metrics::dead(platform),
            _ => {}
        }
        Some(update)
    }

    /// After a long wait (for the rate limit, or for a turn among the requests in flight) the
    /// lease may be close to running out; past half its time it is renewed, so no other
    /// replica takes the message while this one sends it. `false`: it is no longer ours.
    async fn keep_lease(&self, msg: &OutboxMessage) -> bool {
        let ctx = &self.ctx;
        let lease_ms = i64::try_from(ctx.config.lease.as_millis()).unwrap_or(30_000);
        let now_ms = ctx.shared.clock.now().timestamp_millis();
        let half_left = msg
            .lease_until_ms
            .is_some_and(|until| until.saturating_sub(now_ms) > lease_ms / 2);
        if half_left {
            return true;
        }
        let until = now_ms.saturating_add(lease_ms);
        match ctx
            .shared
            .store
            .extend_lease(&msg.id, &ctx.shared.instance, until)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(channel = %self.channel, id = %msg.id, "lease lost while waiting for the rate limit; another sender has the message");
                false
            }
            Err(e) => {
                // Sending anyway risks a duplicate only if another replica took the message
                // in the same moment; not sending risks nothing (the lease runs out and it is
                // sent later), so do not send.
                tracing::error!(channel = %self.channel, id = %msg.id, "cannot renew the lease: {e}");
                false
            }
        }
    }

    fn retry_or_die(
        &self,
        msg: OutboxMessage,
        now_ms: i64,
        delay: Duration,
        reason: String,
    ) -> OutboxUpdate {
        let next = now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        if next > msg.deadline_ms {
            let reason =
                format!("{reason}; gave up: the next try would be past the message's deadline");
            tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
            OutboxUpdate::Dead {
                id: msg.id,
                reason,
                at_ms: now_ms,
            }
        } else {
            tracing::warn!(
                channel = %self.channel,
                id = %msg.id,
                attempt = msg.attempts + 1,
                retry_in_ms = delay.as_millis() as u64,
                "send failed, will retry: {reason}"
            );
            OutboxUpdate::Retry {
                id: msg.id,
                next_try_ms: next,
                error: reason,
            }
        }
    }

    /// The wait before the next try of a message tried `attempts` times.
    fn backoff(&self, attempts: i64) -> Duration {
        let config = &self.ctx.config;
        let backoff = Backoff {
            min: config.base_backoff,
            max: config.max_backoff,
        };
        backoff.jittered(u32::try_from(attempts.max(0)).unwrap_or(u32::MAX))
    }
}

/// Writes outcomes in batches: whatever arrived while the previous commit ran goes into the
/// next one. Tells the dispatcher which channels are free again once their outcome is durable.
async fn record_loop(
    shared: Arc<Shared>,
    mut finished: mpsc::UnboundedReceiver<Finished>,
    recorded: mpsc::UnboundedSender<Vec<String>>,
) {
    let mut batch = Vec::new();
    while let Some(first) = finished.recv().await {
        batch.clear();
        batch.push(first);
        while batch.len() < RECORD_BATCH {
            match finished.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        let updates: Vec<OutboxUpdate> = batch.iter().filter_map(|f| f.update.clone()).collect();
        let mut tries = 0;
        loop {
            match shared.store.record(&updates).await {
                Ok(missing) => {
                    for id in missing {
                        tracing::warn!(id = %id, "a sent message is no longer in the outbox");
                    }
                    break;
                }
                Err(e) if tries < 5 => {
                    tries += 1;
                    tracing::error!("cannot record the outcome of sends; trying again: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    // Their leases run out and they are sent again: at-least-once, not lost.
                    tracing::error!(
                        messages = updates.len(),
                        "cannot record the outcome of sends; they will be sent again: {e}"
                    );
                    break;
                }
            }
        }
        let _ = recorded.send(batch.drain(..).map(|f| f.channel).collect());
        shared.recorded.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The slot instant a message belongs to, recovered from its ordering key.
fn slot_at_ms(msg: &OutboxMessage) -> i64 {
    msg.ord / 10_000
}

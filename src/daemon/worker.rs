//! One delivery worker per channel: head-of-line order, rate limit, retries, dead letters.

use super::Shared;
use super::ratelimit::TokenBucket;
use crate::config::{ChannelConfig, RateLimitSetting};
use crate::plan::Plan;
use crate::platforms::{Outcome, deliver};
use crate::render::OutboundPart;
use crate::store::{Head, OutboxMessage};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Tunables of delivery; the defaults suit real chat platforms.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// A worker holds a message this long; if it dies, another may take the message after.
    pub lease: Duration,
    /// First retry delay; doubles each attempt up to `max_backoff`, with ±20% jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How often an idle worker looks at the outbox even without a wake-up (other replicas,
    /// `outbox retry`).
    pub idle_poll: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            lease: Duration::from_secs(30),
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// The request timeout: platforms answer in well under a second when they are healthy.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The client every worker shares: the request timeout, and no redirects (a webhook that
/// redirects is misconfigured, and following it could send the message somewhere else).
pub fn http_client() -> Result<reqwest::Client, String> {
    crate::platforms::http_client(REQUEST_TIMEOUT)
}

pub struct Worker {
    channel: String,
    shared: Arc<Shared>,
    plan: watch::Receiver<Arc<Plan>>,
    stop: watch::Receiver<bool>,
    client: reqwest::Client,
    config: DeliveryConfig,
    bucket: Option<TokenBucket>,
    wake: watch::Receiver<u64>,
}

impl Worker {
    pub fn new(
        channel: String,
        shared: Arc<Shared>,
        plan: watch::Receiver<Arc<Plan>>,
        stop: watch::Receiver<bool>,
        client: reqwest::Client,
        config: DeliveryConfig,
    ) -> Self {
        Worker {
            wake: shared.wake.subscribe(),
            channel,
            shared,
            plan,
            stop,
            client,
            config,
            bucket: None,
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits up to `d`, waking early for new messages or shutdown.
    async fn idle(&mut self, d: Duration) {
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            _ = self.wake.changed() => {}
            _ = stop.changed() => {}
        }
    }

    fn limit_for(&mut self, channel: &ChannelConfig) {
        let wanted = match channel.rate_limit {
            Some(RateLimitSetting::Off) => None,
            Some(RateLimitSetting::Limit { count, per }) => Some((count, per)),
            None => channel
                .platform
                .default_rate_limit()
                .map(|r| (r.count, r.per)),
        };
        if self.bucket.is_none() {
            self.bucket = wanted.map(|(count, per)| TokenBucket::new(count, per));
        }
        if wanted.is_none() {
            self.bucket = None;
        }
    }

    pub async fn run(mut self) {
        loop {
            if self.stopping() {
                return;
            }
            let plan = self.plan.borrow().clone();
            let Some(channel) = plan.config.channels.get(&self.channel).cloned() else {
                // The channel was removed from the config: its messages wait in the outbox.
                self.idle(Duration::from_secs(5)).await;
                continue;
            };
            self.limit_for(&channel);
            let now_ms = self.shared.clock.now().timestamp_millis();
            let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(30_000);
            let head = match self
                .shared
                .store
                .lease_head(&self.channel, &self.shared.instance, now_ms, lease_ms)
                .await
            {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(channel = %self.channel, "cannot read the outbox: {e}");
                    self.idle(Duration::from_secs(2)).await;
                    continue;
                }
            };
            match head {
                Head::Empty => self.idle(self.config.idle_poll).await,
                Head::WaitUntil(t) => {
                    let wait = u64::try_from(t - now_ms).unwrap_or(0);
                    self.idle(Duration::from_millis(wait).min(self.config.idle_poll))
                        .await;
                }
                Head::Leased(msg) => self.handle(&channel, msg).await,
            }
        }
    }

    async fn handle(&mut self, channel: &ChannelConfig, msg: OutboxMessage) {
        let store = &self.shared.store;
        let now = self.shared.clock.now();
        if now.timestamp_millis() > msg.deadline_ms {
            let reason = "not delivered before its deadline (12 hours after its slot)";
            self.record(
                store
                    .mark_expired(&msg.id, reason, now.timestamp_millis())
                    .await,
            );
            tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
            return;
        }
        let part: OutboundPart = match serde_json::from_str(&msg.payload) {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("the stored message cannot be read: {e}");
                self.record(
                    store
                        .mark_dead(&msg.id, &reason, now.timestamp_millis())
                        .await,
                );
                tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {reason}");
                return;
            }
        };
        if let Some(bucket) = &mut self.bucket {
            loop {
                let wait = bucket.try_take(tokio::time::Instant::now());
                if wait.is_zero() {
                    break;
                }
                if *self.stop.borrow() {
                    // Leave it leased; the lease runs out and the next start sends it.
                    return;
                }
                tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
            }
        }
        let started = self.shared.clock.now();
        let outcome = deliver(&self.client, channel, &part, started).await;
        let now = self.shared.clock.now();
        let now_ms = now.timestamp_millis();
        let attempts = msg.attempts + 1;
        match outcome {
            Outcome::Sent => {
                self.record(
                    store
                        .mark_sent(&msg.id, &self.shared.instance, now_ms)
                        .await,
                );
                tracing::info!(
                    channel = %self.channel,
                    id = %msg.id,
                    attempts,
                    late = msg.late,
                    lateness_ms = (started.timestamp_millis() - slot_at_ms(&msg)).max(0),
                    "sent"
                );
            }
            Outcome::Retry { reason } => {
                let delay = self.backoff(attempts);
                self.retry_or_die(&msg, now_ms, delay, &reason).await;
            }
            Outcome::Wait { after, reason } => {
                if let Some(bucket) = &mut self.bucket {
                    bucket.pause(tokio::time::Instant::now(), after);
                }
                // A throttled channel waits as told, at least as long as the backoff would.
                let delay = after.max(self.config.base_backoff);
                self.retry_or_die(&msg, now_ms, delay, &reason).await;
            }
            Outcome::Permanent { reason, hint } => {
                let text = format!("{reason} — {hint}");
                self.record(store.mark_dead(&msg.id, &text, now_ms).await);
                tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {text}");
            }
        }
    }

    async fn retry_or_die(&self, msg: &OutboxMessage, now_ms: i64, delay: Duration, reason: &str) {
        let next = now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        let store = &self.shared.store;
        if next > msg.deadline_ms {
            let text =
                format!("{reason}; gave up: the next try would be past the message's deadline");
            self.record(store.mark_dead(&msg.id, &text, now_ms).await);
            tracing::error!(channel = %self.channel, id = %msg.id, "dead letter: {text}");
        } else {
            self.record(store.mark_retry(&msg.id, next, reason).await);
            tracing::warn!(
                channel = %self.channel,
                id = %msg.id,
                attempt = msg.attempts + 1,
                retry_in_ms = delay.as_millis() as u64,
                "send failed, will retry: {reason}"
            );
        }
    }

    /// Exponential backoff with ±20% jitter, so replicas and channels do not retry in step.
    fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
        let base = self.config.base_backoff.saturating_mul(1u32 << exp);
        let capped = base.min(self.config.max_backoff);
        capped.mul_f64(0.8 + 0.4 * fastrand::f64())
    }

    fn record(&self, r: Result<(), crate::store::StoreError>) {
        if let Err(e) = r {
            tracing::error!(channel = %self.channel, "cannot record a send's outcome: {e}");
        }
    }
}

/// The slot instant a message belongs to, recovered from its ordering key.
fn slot_at_ms(msg: &OutboxMessage) -> i64 {
    msg.ord / 10_000
}

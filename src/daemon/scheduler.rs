//! Firing slots: claim the slot and write its messages to the outbox in one transaction.

use super::Shared;
use crate::plan::{Plan, PlanError};
use crate::schedule::Slot;
use crate::state::Current;
use crate::store::{NewMessage, SlotClaim, SlotStatus, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// A message not delivered within this long after its slot becomes a dead letter: a Monday
/// reminder that arrives on Tuesday evening does more harm than good.
pub const DELIVERY_WINDOW: Duration = Duration::hours(12);
/// How far back the catch-up looks for missed slots when the ledger has older entries; older
/// misses are not worth a log line each.
pub const CATCH_UP_LOOKBACK: Duration = Duration::days(7);
/// At most this many missed slots of one schedule are recorded as skipped at a start.
const MAX_RECORDED_MISSES: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum FireError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// At start, slots this recent are fired normally rather than judged as missed (see
/// [`Scheduler::catch_up`]).
pub const STARTUP_GRACE: chrono::Duration = chrono::Duration::seconds(30);

/// Tracks, per schedule, the instant up to which slots have been handled.
pub struct Scheduler {
    shared: Arc<Shared>,
    handled_until: HashMap<String, DateTime<Utc>>,
}

impl Scheduler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Scheduler {
            shared,
            handled_until: HashMap::new(),
        }
    }

    /// At start, for each schedule the ledger knows: the most recent slot missed while the
    /// daemon was down is sent once, marked late, if it is at most `catch_up` late; every other
    /// missed slot is recorded as skipped and logged, so a long outage never ends in a burst.
    /// A schedule the ledger has never seen starts from now: weekbell was not down for it, it
    /// was not running yet.
    ///
    /// Slots of the last [`STARTUP_GRACE`] are not "missed": they are fired as usual, so a
    /// replica starting while others run does not mark as skipped a slot the others are about
    /// to send (they claim it first, or this one does).
    pub async fn catch_up(&mut self, plan: &Plan) -> Result<(), FireError> {
        let now = self.shared.clock.now();
        let cutoff = now - STARTUP_GRACE;
        for (sc, schedule) in plan.config.schedules.iter().zip(&plan.schedules) {
            self.handled_until.insert(sc.name.clone(), now);
            let Some(latest) = self.shared.store.latest_slot(&sc.name).await? else {
                continue;
            };
            let last = DateTime::<Utc>::from_timestamp_millis(latest.slot_at_ms).unwrap_or(now);
            // Never before the ledger's latest slot: older slots were handled (or predate
            // the first start), and firing them now would send them out of order.
            self.handled_until.insert(sc.name.clone(), cutoff.max(last));
            let from = last.max(now - CATCH_UP_LOOKBACK);
            let mut missed: Vec<Slot> = schedule
                .slots_after(from, &plan.calendar)
                .take_while(|s| s.at <= cutoff)
                .take(MAX_RECORDED_MISSES)
                .collect();
            let newest = match missed.pop() {
                Some(slot) if now - slot.at <= sc.catch_up => Some(slot),
                Some(slot) => {
                    missed.push(slot);
                    None
                }
                None => None,
            };
            let mut skipped = 0usize;
            for slot in &missed {
                let claim = self.claim(slot, SlotStatus::Skipped, now);
                if self.shared.store.claim_slot(&claim, &[]).await? {
                    skipped += 1;
                }
            }
            if let (Some(first), Some(last)) = (missed.first(), missed.last())
                && skipped > 0
            {
                tracing::warn!(
                    schedule = %sc.name,
                    skipped,
                    first = %first.key(),
                    last = %last.key(),
                    "skipped slots missed while weekbell was down (older than catch_up, or superseded by a newer slot)"
                );
            }
            if let Some(slot) = newest {
                tracing::warn!(slot = %slot.key(), late_s = (now - slot.at).num_seconds(), "sending a missed slot late");
                self.fire(plan, &slot, SlotStatus::Late).await?;
            }
        }
        Ok(())
    }

    /// After a reload: schedules that are new start from now; removed ones are forgotten.
    pub fn reconcile(&mut self, plan: &Plan) {
        let now = self.shared.clock.now();
        self.handled_until
            .retain(|name, _| plan.config.schedules.iter().any(|s| &s.name == name));
        for sc in &plan.config.schedules {
            self.handled_until.entry(sc.name.clone()).or_insert(now);
        }
    }

    /// The earliest slot not yet handled, across schedules.
    pub fn next_due(&self, plan: &Plan) -> Option<DateTime<Utc>> {
        plan.config
            .schedules
            .iter()
            .zip(&plan.schedules)
            .filter_map(|(sc, s)| {
                let from = self.handled_until.get(&sc.name).copied()?;
                s.next_after(from, &plan.calendar).map(|slot| slot.at)
            })
            .min()
    }

    /// Fires every slot whose instant has come.
    pub async fn fire_due(&mut self, plan: &Plan) -> Result<(), FireError> {
        let now = self.shared.clock.now();
        for (sc, schedule) in plan.config.schedules.iter().zip(&plan.schedules) {
            let Some(from) = self.handled_until.get(&sc.name).copied() else {
                continue;
            };
            let due: Vec<Slot> = schedule
                .slots_after(from, &plan.calendar)
                .take_while(|s| s.at <= now)
                .collect();
            for slot in due {
                // A slot that is late here (the machine slept, the clock jumped) is still
                // judged by catch_up, like one missed while down.
                let status = if now - slot.at > sc.catch_up {
                    SlotStatus::Skipped
                } else {
                    SlotStatus::OnTime
                };
                if status == SlotStatus::Skipped {
                    let claim = self.claim(&slot, status, now);
                    self.shared.store.claim_slot(&claim, &[]).await?;
                    tracing::warn!(slot = %slot.key(), "skipped a slot that came too late (clock jump or suspend)");
                } else {
                    self.fire(plan, &slot, status).await?;
                }
                self.handled_until.insert(sc.name.clone(), slot.at);
            }
        }
        Ok(())
    }

    async fn fire(&self, plan: &Plan, slot: &Slot, status: SlotStatus) -> Result<bool, FireError> {
        let now = self.shared.clock.now();
        let claim = self.claim(slot, status, now);
        let won = enqueue_slot(&self.shared, plan, slot, &claim, None).await?;
        if won {
            self.shared.wake_delivery();
        }
        Ok(won)
    }

    fn claim(&self, slot: &Slot, status: SlotStatus, now: DateTime<Utc>) -> SlotClaim {
        SlotClaim {
            schedule: slot.schedule.clone(),
            slot_local: slot_local(slot),
            slot_at_ms: slot.at.timestamp_millis(),
            status,
            claimed_by: self.shared.instance.clone(),
            now_ms: now.timestamp_millis(),
        }
    }
}

/// The ledger's local-time part of a slot key (`2026-12-04T17:00`).
pub fn slot_local(slot: &Slot) -> String {
    let key = slot.key();
    match key.split_once('@') {
        Some((_, local)) => local.to_string(),
        None => key,
    }
}

/// Renders a slot's messages for every channel and claims the slot with them in one
/// transaction. Returns false when another process (or an earlier run) already claimed it.
pub async fn enqueue_slot(
    shared: &Shared,
    plan: &Plan,
    slot: &Slot,
    claim: &SlotClaim,
    only_channel: Option<&str>,
) -> Result<bool, FireError> {
    if shared
        .store
        .is_claimed(&claim.schedule, &claim.slot_local)
        .await?
    {
        return Ok(false);
    }
    // The list as it stands, chat updates included, not just the file.
    let current = Current::load(plan.basis(), &shared.store).await?;
    let rendered = plan.messages(slot, only_channel, &current)?;
    let slot_key = format!("{}@{}", claim.schedule, claim.slot_local);
    let deadline_ms = (slot.at.max(shared.clock.now()) + DELIVERY_WINDOW).timestamp_millis();
    let mut messages = Vec::new();
    for cm in &rendered {
        for (m, msg) in cm.messages.iter().enumerate() {
            for part in &msg.parts {
                let payload = serde_json::to_string(part).unwrap_or_default();
                let index = i64::try_from(messages.len()).unwrap_or(i64::MAX);
                messages.push(NewMessage {
                    id: format!("{slot_key}/{}/{m}/{}", cm.channel.name, part.part),
                    slot_key: slot_key.clone(),
                    channel: cm.channel.name.clone(),
                    platform: cm.channel.platform.as_str().to_string(),
                    ord: claim
                        .slot_at_ms
                        .saturating_mul(10_000)
                        .saturating_add(index),
                    payload,
                    late: claim.status == SlotStatus::Late,
                    deadline_ms,
                    created_ms: claim.now_ms,
                });
            }
        }
    }
    let won = shared.store.claim_slot(claim, &messages).await?;
    if won {
        tracing::info!(slot = %slot_key, messages = messages.len(), status = ?claim.status, "slot claimed; messages are in the outbox");
    } else {
        tracing::debug!(slot = %slot_key, "slot already claimed elsewhere");
    }
    Ok(won)
}

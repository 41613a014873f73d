//! The slot ledger: one row per claimed slot, whose primary key makes a slot fire once across
//! replicas, written in one transaction with the slot's outbox messages.

use super::outbox::bind_message;
use super::{
    LedgerEntry, NewMessage, RowError, SlotClaim, Store, StoreError, col, no_limit_if_not_positive,
    sql,
};
use sqlx::any::AnyRow;

impl Store {
    /// Claims a slot and enqueues its messages, in one transaction: the ledger row is inserted
    /// with `ON CONFLICT DO NOTHING`; if this call inserted it, every message is inserted into
    /// the outbox and the answer is `true`; if the slot was already claimed, nothing is written
    /// and the answer is `false`. If anything fails (a message id already taken, a lost
    /// connection), nothing is written and the error says so — a crash can never leave a slot
    /// claimed with its messages missing.
    pub async fn claim_slot(
        &self,
        claim: &SlotClaim,
        messages: &[NewMessage],
    ) -> Result<bool, StoreError> {
        let fail = |e| {
            let action = format!("claiming slot {}@{}", claim.schedule, claim.slot_local);
            self.query_error(action, e)
        };
        let count = i64::try_from(messages.len()).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let inserted = sqlx::query(sql::CLAIM_SLOT)
            .bind(&claim.schedule)
            .bind(&claim.slot_local)
            .bind(claim.slot_at_ms)
            .bind(claim.status.as_str())
            .bind(&claim.claimed_by)
            .bind(claim.now_ms)
            .bind(count)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        if inserted == 0 {
            tx.rollback().await.map_err(fail)?;
            tracing::debug!(schedule = %claim.schedule, slot = %claim.slot_local, "slot already claimed");
            return Ok(false);
        }
        for message in messages {
            let result = bind_message(sqlx::query(sql::INSERT_MESSAGE), message)
                .execute(&mut *tx)
                .await;
            if let Err(e) = result {
                // Dropping `tx` would roll back too; doing it here reports a failed rollback.
                let action = format!(
                    "claiming slot {}@{} (enqueueing message {}; the claim was rolled back)",
                    claim.schedule, claim.slot_local, message.id
                );
                let err = self.query_error(action, e);
                tx.rollback().await.map_err(fail)?;
                return Err(err);
            }
        }
        tx.commit().await.map_err(fail)?;
        tracing::debug!(
            schedule = %claim.schedule,
            slot = %claim.slot_local,
            messages = messages.len(),
            "slot claimed"
        );
        Ok(true)
    }

    pub async fn is_claimed(&self, schedule: &str, slot_local: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(sql::IS_CLAIMED)
            .bind(schedule)
            .bind(slot_local)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("looking up slot {schedule}@{slot_local}"), e))?;
        Ok(row.is_some())
    }

    /// The most recent ledger entry (by `slot_at_ms`) of a schedule, any status.
    pub async fn latest_slot(&self, schedule: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let row = sqlx::query(sql::LATEST_SLOT)
            .bind(schedule)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading the last slot of {schedule}"), e))?;
        row.map(|r| decode_ledger(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    /// Ledger entries, newest slot first, of one schedule or all; `limit` ≤ 0 means all.
    pub async fn ledger(
        &self,
        schedule: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = sqlx::query(sql::LEDGER)
            .bind(schedule)
            .bind(no_limit_if_not_positive(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading the slot ledger", e))?;
        rows.iter()
            .map(|r| decode_ledger(r).map_err(|d| self.corrupt(d)))
            .collect()
    }
}

fn decode_ledger(row: &AnyRow) -> Result<LedgerEntry, RowError> {
    Ok(LedgerEntry {
        schedule: col(row, "schedule")?,
        slot_local: col(row, "slot_local")?,
        slot_at_ms: col(row, "slot_at_ms")?,
        status: col::<String>(row, "status")?.parse()?,
        claimed_by: col(row, "claimed_by")?,
        claimed_ms: col(row, "claimed_ms")?,
        messages: col(row, "messages")?,
    })
}

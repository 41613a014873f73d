//! The outbox: rendered messages waiting to be sent, leased one head of line per channel, and
//! the outcomes of sends written back in batches.

use super::{
    AnyQuery, Backend, NewMessage, OutboxCounts, OutboxFilter, OutboxMessage, OutboxStatus,
    OutboxUpdate, RowError, Store, StoreError, col, no_limit_if_not_positive, sql,
};
use sqlx::any::AnyRow;

impl Store {
    /// Enqueues the answer to a chat command (one message per part) in one transaction.
    /// Parts already enqueued — a platform delivered the same command twice — are left as
    /// they are; the answer is how many were new.
    pub async fn enqueue_reply(&self, messages: &[NewMessage]) -> Result<usize, StoreError> {
        let fail = |e| self.query_error("enqueueing the answer to a command", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut inserted = 0;
        for m in messages {
            inserted += bind_message(sqlx::query(sql::INSERT_REPLY), m)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    /// The channels that have pending messages, sorted.
    pub async fn pending_channels(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(sql::PENDING_CHANNELS)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("listing channels with pending messages", e))
    }

    /// Leases the head of line of every channel — or of `channel` alone — that is due
    /// (`next_try_ms <= now_ms`) and free (never leased, or its lease ended before `now_ms`),
    /// to `worker` until `now_ms + lease_ms`; at most `limit` messages, oldest first.
    ///
    /// A channel whose head is not due, or is leased (even to `worker`), gives nothing: its
    /// later messages wait behind the head, so a channel's messages go out in order. Of several
    /// replicas asking at once, each message goes to exactly one. [`Store::next_leasable`] says
    /// when to ask again.
    pub async fn lease_heads(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        channel: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let until = now_ms.saturating_add(lease_ms.max(0));
        let statement = match self.backend {
            Backend::Sqlite => sql::LEASE_HEADS,
            Backend::Postgres => sql::PG_LEASE_HEADS,
        };
        let rows = sqlx::query(statement)
            .bind(worker)
            .bind(until)
            .bind(now_ms)
            .bind(channel)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("leasing messages to send", e))?;
        let mut leased = rows
            .iter()
            .map(decode_message)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|d| self.corrupt(d))?;
        leased.sort_by(|a, b| (a.created_ms, a.ord, &a.id).cmp(&(b.created_ms, b.ord, &b.id)));
        Ok(leased)
    }

    /// The first instant at which [`Store::lease_heads`] could lease something for `channel`
    /// (or any channel): a head's next try, or the instant after its lease ends. `None` when
    /// nothing is pending. An instant at or before now means "now".
    pub async fn next_leasable(&self, channel: Option<&str>) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, Option<i64>>(sql::NEXT_LEASABLE)
            .bind(channel)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.query_error("reading when the next message is due", e))
    }

    /// Extends a lease `worker` holds to `until_ms`: a sender that waited long for its rate
    /// limit keeps its message. `false` when the lease is no longer `worker`'s (it ran out and
    /// someone else took the message, or the message is no longer pending): do not send it.
    pub async fn extend_lease(
        &self,
        id: &str,
        worker: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::EXTEND_LEASE)
            .bind(id)
            .bind(worker)
            .bind(until_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("extending the lease of message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Writes the outcomes of several sends in one transaction — one commit for a whole
    /// batch is what lets a fan-out to a thousand channels keep up with the network. Each
    /// update only touches a message in the state it expects (see [`OutboxUpdate`]); the ids of
    /// messages that do not exist at all are returned.
    pub async fn record(&self, updates: &[OutboxUpdate]) -> Result<Vec<String>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let fail = |e| self.query_error("recording the outcome of sends", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut untouched = Vec::new();
        for update in updates {
            let query = match update {
                OutboxUpdate::Sent { id, worker, at_ms } => sqlx::query(sql::MARK_SENT)
                    .bind(id.as_str())
                    .bind(*at_ms)
                    .bind(worker.as_str()),
                OutboxUpdate::Retry {
                    id,
                    next_try_ms,
                    error,
                } => sqlx::query(sql::MARK_RETRY)
                    .bind(id.as_str())
                    .bind(*next_try_ms)
                    .bind(error.as_str()),
                OutboxUpdate::Dead { id, reason, at_ms } => sqlx::query(sql::MARK_DEAD)
                    .bind(id.as_str())
                    .bind(reason.as_str())
                    .bind(*at_ms),
                OutboxUpdate::Expired { id, reason, at_ms } => sqlx::query(sql::MARK_EXPIRED)
                    .bind(id.as_str())
                    .bind(reason.as_str())
                    .bind(*at_ms),
                OutboxUpdate::Released { id, worker } => sqlx::query(sql::RELEASE_LEASE)
                    .bind(id.as_str())
                    .bind(worker.as_str()),
            };
            let changed = query.execute(&mut *tx).await.map_err(fail)?.rows_affected();
            if changed == 0 {
                untouched.push(update.id());
            }
        }
        tx.commit().await.map_err(fail)?;
        let mut missing = Vec::new();
        for id in untouched {
            if let Err(StoreError::NoSuchMessage { id }) = self.require_message(id).await {
                missing.push(id);
            }
        }
        Ok(missing)
    }

    async fn record_one(&self, update: OutboxUpdate) -> Result<(), StoreError> {
        match self.record(std::slice::from_ref(&update)).await?.pop() {
            Some(id) => Err(StoreError::NoSuchMessage { id }),
            None => Ok(()),
        }
    }

    /// Records that the platform accepted the message. `worker` stays in `lease_owner` as the
    /// sender. Marking a sent message again changes nothing; a dead or dropped one that was in
    /// flight becomes sent, because it was.
    pub async fn mark_sent(&self, id: &str, worker: &str, now_ms: i64) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Sent {
            id: id.to_owned(),
            worker: worker.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// A failed attempt to try again: `attempts += 1`, next try at `next_try_ms`, lease
    /// released, `error` (already redacted by the caller) kept. No effect unless pending.
    pub async fn mark_retry(
        &self,
        id: &str,
        next_try_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Retry {
            id: id.to_owned(),
            next_try_ms,
            error: error.to_owned(),
        })
        .await
    }

    /// A failed attempt that ends the message (a permanent error, or no time left for another
    /// try): it becomes a dead letter with `reason`, and the attempt is counted. No effect
    /// unless pending.
    pub async fn mark_dead(&self, id: &str, reason: &str, now_ms: i64) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Dead {
            id: id.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// Like [`Store::mark_dead`] without counting an attempt: the message's deadline passed
    /// while it waited, and it was not tried again.
    pub async fn mark_expired(
        &self,
        id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.record_one(OutboxUpdate::Expired {
            id: id.to_owned(),
            reason: reason.to_owned(),
            at_ms: now_ms,
        })
        .await
    }

    /// Outbox rows, newest first, filtered by status and channel.
    pub async fn outbox(&self, filter: OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(sql::OUTBOX_LIST)
            .bind(filter.status.map(OutboxStatus::as_str))
            .bind(filter.channel.as_deref())
            .bind(no_limit_if_not_positive(filter.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("listing the outbox", e))?;
        rows.iter()
            .map(|r| decode_message(r).map_err(|d| self.corrupt(d)))
            .collect()
    }

    pub async fn outbox_get(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(sql::OUTBOX_GET)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading message {id}"), e))?;
        row.map(|r| decode_message(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    /// Sends a dead (or pending) message again: pending, due at `now_ms`, attempts reset, its
    /// deadline moved to at least `now_ms + extend_ms`. `false` when there is no such message
    /// or it is sent or dropped (see [`Store::outbox_get`] to tell which).
    pub async fn outbox_retry(
        &self,
        id: &str,
        now_ms: i64,
        extend_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::OUTBOX_RETRY)
            .bind(id)
            .bind(now_ms)
            .bind(now_ms.saturating_add(extend_ms.max(0)))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reviving message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Withdraws a pending or dead message: it becomes `dropped`, kept for the record and never
    /// sent. `false` when there is no such message or it is already sent or dropped.
    pub async fn outbox_drop(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::OUTBOX_DROP)
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("dropping message {id}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = sqlx::query(sql::OUTBOX_COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("counting the outbox", e))?;
        let mut counts = OutboxCounts::default();
        for row in &rows {
            let (status, n) = decode_count(row).map_err(|d| self.corrupt(d))?;
            match status {
                OutboxStatus::Pending => counts.pending = n,
                OutboxStatus::Sent => counts.sent = n,
                OutboxStatus::Dead => counts.dead = n,
                OutboxStatus::Dropped => counts.dropped = n,
            }
        }
        Ok(counts)
    }

    /// `Ok` when the message exists (whatever its status), [`StoreError::NoSuchMessage`] if not.
    async fn require_message(&self, id: &str) -> Result<(), StoreError> {
        let status: Option<String> = sqlx::query_scalar(sql::OUTBOX_STATUS)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("reading message {id}"), e))?;
        match status {
            Some(status) => {
                tracing::debug!(id, %status, "outbox message no longer pending; left as it is");
                Ok(())
            }
            None => Err(StoreError::NoSuchMessage { id: id.to_owned() }),
        }
    }
}

/// Binds a new outbox row in `INSERT_MESSAGE`/`INSERT_REPLY` order.
pub(super) fn bind_message<'q>(query: AnyQuery<'q>, m: &'q NewMessage) -> AnyQuery<'q> {
    query
        .bind(&m.id)
        .bind(&m.slot_key)
        .bind(&m.channel)
        .bind(&m.platform)
        .bind(m.ord)
        .bind(&m.payload)
        .bind(m.created_ms)
        .bind(m.deadline_ms)
        .bind(i64::from(m.late))
}

fn decode_message(row: &AnyRow) -> Result<OutboxMessage, RowError> {
    Ok(OutboxMessage {
        id: col(row, "id")?,
        slot_key: col(row, "slot_key")?,
        channel: col(row, "channel")?,
        platform: col(row, "platform")?,
        ord: col(row, "ord")?,
        payload: col(row, "payload")?,
        status: col::<String>(row, "status")?.parse()?,
        attempts: col(row, "attempts")?,
        next_try_ms: col(row, "next_try_ms")?,
        deadline_ms: col(row, "deadline_ms")?,
        last_error: col(row, "last_error")?,
        late: col::<i64>(row, "late")? != 0,
        created_ms: col(row, "created_ms")?,
        updated_ms: col(row, "updated_ms")?,
        sent_ms: col(row, "sent_ms")?,
        lease_owner: col(row, "lease_owner")?,
        lease_until_ms: col(row, "lease_until_ms")?,
    })
}

fn decode_count(row: &AnyRow) -> Result<(OutboxStatus, i64), RowError> {
    Ok((col::<String>(row, "status")?.parse()?, col(row, "n")?))
}

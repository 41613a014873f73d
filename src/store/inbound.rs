//! What the listening half remembers: inbound ids already handled, DingTalk signatures bound
//! to their first body, and the cursors of polled sources (leased to one replica at a time).

use super::{CursorLease, Store, StoreError, col, sql};

impl Store {
    // ---- inbound ids ------------------------------------------------------------------------

    /// Remembers a platform's message or event id. `false` when it was seen before on this
    /// channel, i.e. the platform is retrying and the request was already handled.
    pub async fn note_inbound(
        &self,
        channel: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(sql::NOTE_INBOUND)
            .bind(channel)
            .bind(message_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("recording inbound id on {channel}"), e))?
            .rows_affected();
        Ok(inserted > 0)
    }

    // ---- inbound signatures -----------------------------------------------------------------

    /// Binds a header pair (`signature`, a digest) to the body it came with, unless it is bound
    /// already, and answers the digest of the body it is bound to: `body_sha256` for its first
    /// use and for a retry, another digest for a replay with a new body. Rows seen before
    /// `forget_before_ms` (when no such pair can be accepted any more) are pruned first, so the
    /// table holds at most one window of callbacks.
    pub async fn bind_signature(
        &self,
        channel: &str,
        signature: &str,
        body_sha256: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<String, StoreError> {
        let fail = |e| self.query_error(format!("recording a signature on {channel}"), e);
        sqlx::query(sql::PRUNE_SIGNATURES)
            .bind(forget_before_ms)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        sqlx::query(sql::NOTE_SIGNATURE)
            .bind(channel)
            .bind(signature)
            .bind(body_sha256)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        // Read back rather than trusting `rows_affected`: of two requests racing with one pair,
        // the loser must learn the winner's body.
        sqlx::query_scalar::<_, String>(sql::SIGNATURE_BODY)
            .bind(channel)
            .bind(signature)
            .fetch_one(&self.pool)
            .await
            .map_err(fail)
    }

    // ---- inbound cursors --------------------------------------------------------------------

    /// Takes, or renews, the lease on the cursor of a polled source (`telegram:<bot id>`)
    /// for `holder` until `until_ms`, and says where to resume. Of replicas asking at once,
    /// one gets [`CursorLease::Held`]; the others see who holds it. A lease that runs out
    /// (its holder died) is taken over by the next one to ask.
    pub async fn lease_cursor(
        &self,
        consumer: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<CursorLease, StoreError> {
        let fail = |e| self.query_error(format!("leasing the cursor of {consumer}"), e);
        let taken: Option<Option<i64>> = sqlx::query_scalar(sql::LEASE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(now_ms)
            .bind(until_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        if let Some(position) = taken {
            return Ok(CursorLease::Held { position });
        }
        let row = sqlx::query(sql::CURSOR_HOLDER)
            .bind(consumer)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        let (holder, until_ms) = match row {
            Some(row) => (
                col::<Option<String>>(&row, "holder")
                    .map_err(|e| self.corrupt(e))?
                    .unwrap_or_default(),
                col::<i64>(&row, "lease_until_ms").map_err(|e| self.corrupt(e))?,
            ),
            None => (String::new(), 0),
        };
        Ok(CursorLease::Busy { holder, until_ms })
    }

    /// Records where to resume (everything the source served before `position` was handled),
    /// if `holder` still holds the lease. The position may be lower than the last one: it is
    /// whatever the source's ids call for. `false` when the lease was lost (another replica
    /// took it over): stop fetching.
    pub async fn move_cursor(
        &self,
        consumer: &str,
        holder: &str,
        position: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(sql::MOVE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(position)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("moving the cursor of {consumer}"), e))?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Gives the lease up (on shutdown), so another replica takes over without waiting for
    /// it to run out.
    pub async fn release_cursor(
        &self,
        consumer: &str,
        holder: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::RELEASE_CURSOR)
            .bind(consumer)
            .bind(holder)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("releasing the cursor of {consumer}"), e))?;
        Ok(())
    }
}

//! Deleting what is no longer needed, a batch at a time (the daemon's retention task calls
//! these): sent and dropped messages, and inbound ids past the platforms' retry window.

use super::{Store, StoreError, sql};

impl Store {
    /// Deletes at most `limit` messages sent or dropped before `before_ms`; pending and dead
    /// messages are kept. Returns how many were deleted; fewer than `limit` means none is left.
    pub async fn prune_outbox(&self, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_OUTBOX)
            .bind(before_ms)
            .bind(limit.max(0))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("deleting old sent and dropped messages", e))?;
        Ok(done.rows_affected())
    }

    /// Forgets at most `limit` inbound ids seen before `before_ms` (platforms retry for
    /// hours, not days). Returns how many were forgotten; fewer than `limit` means none is
    /// left.
    pub async fn prune_inbound(&self, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_INBOUND)
            .bind(before_ms)
            .bind(limit.max(0))
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("forgetting old inbound ids", e))?;
        Ok(done.rows_affected())
    }
}

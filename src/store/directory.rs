//! What the chat platforms' directories answered: a person's mobile or email turned into a
//! platform user id (or "no such user"), and an unknown sender's id turned into their mobile.

use super::{DirectoryEntry, Store, StoreError, col, sql};
use crate::types::Platform;

impl Store {
    /// Records one answer, replacing the one before. `user_id` `None`: the platform knows no
    /// such user (kept too, so that the next pass does not ask again within the day).
    pub async fn put_directory(
        &self,
        platform: Platform,
        key_kind: &str,
        key: &str,
        user_id: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::PUT_DIRECTORY)
            .bind(platform.as_str())
            .bind(key_kind)
            .bind(key)
            .bind(user_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("recording a {platform} directory answer"), e))?;
        Ok(())
    }

    /// Every answer on record. Rows of a platform this version does not know are skipped: a
    /// newer weekbell sharing the database may have written them.
    pub async fn directory(&self) -> Result<Vec<DirectoryEntry>, StoreError> {
        let rows = sqlx::query(sql::ALL_DIRECTORY)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading the directory answers", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let platform: String = col(&row, "platform").map_err(|e| self.corrupt(e))?;
            let Ok(platform) = platform.parse::<Platform>() else {
                continue;
            };
            out.push(DirectoryEntry {
                platform,
                key_kind: col(&row, "key_kind").map_err(|e| self.corrupt(e))?,
                key: col(&row, "lookup_key").map_err(|e| self.corrupt(e))?,
                user_id: col(&row, "user_id").map_err(|e| self.corrupt(e))?,
                resolved_ms: col(&row, "resolved_ms").map_err(|e| self.corrupt(e))?,
            });
        }
        Ok(out)
    }
}

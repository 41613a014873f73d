//! The task list's side of the store: the last good list (`task_snapshot`) and every change
//! recorded against it (`task_events`), deduplicated by the platform's message id.

use super::{
    AnyQuery, Appended, InboundText, NewEvent, RowError, Store, StoreError, TaskEvent,
    TaskSnapshot, col, sql,
};
use sqlx::any::AnyRow;

impl Store {
    // ---- task snapshot ----------------------------------------------------------------------

    /// Replaces the last good task list.
    pub async fn save_task_snapshot(
        &self,
        source: &str,
        json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SAVE_SNAPSHOT)
            .bind(source)
            .bind(json)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| self.query_error("saving the task list snapshot", e))?;
        Ok(())
    }

    pub async fn load_task_snapshot(&self) -> Result<Option<TaskSnapshot>, StoreError> {
        let row = sqlx::query(sql::LOAD_SNAPSHOT)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error("reading the task list snapshot", e))?;
        row.map(|r| decode_snapshot(&r).map_err(|d| self.corrupt(d)))
            .transpose()
    }

    // ---- rows first seen --------------------------------------------------------------------

    /// Remembers, for each task id not yet remembered, the day its relative deadline was read
    /// against (`YYYY-MM-DD`); ids already remembered keep their first day. One transaction;
    /// returns how many were new.
    pub async fn remember_first_seen(
        &self,
        rows: &[(String, String)],
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let fail = |e| self.query_error("remembering when task list rows were first seen", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        let mut inserted = 0;
        for (task_id, day) in rows {
            inserted += sqlx::query(sql::REMEMBER_FIRST_SEEN)
                .bind(task_id)
                .bind(day)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    /// Every remembered (task id, day), as [`Store::remember_first_seen`] stored them.
    pub async fn first_seen(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(sql::FIRST_SEEN)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading when task list rows were first seen", e))?;
        rows.iter()
            .map(|r| {
                Ok((
                    col::<String>(r, "task_id").map_err(|d| self.corrupt(d))?,
                    col::<String>(r, "anchor_day").map_err(|d| self.corrupt(d))?,
                ))
            })
            .collect()
    }

    // ---- task events ------------------------------------------------------------------------

    /// Records several events in one transaction — all of one command's changes, or none —
    /// and says how many were new (a platform's retry of a message inserts nothing).
    ///
    /// With `from`, the message's id and text hash are remembered in the same transaction;
    /// when the id is already remembered with another text, nothing is written and the
    /// answer is [`Appended::IdSeenWithOtherText`]: the events' dedupe keys would refuse the
    /// changes anyway, and the command must not be answered as if they were made.
    pub async fn append_events(
        &self,
        from: Option<&InboundText>,
        events: &[NewEvent],
    ) -> Result<Appended, StoreError> {
        if events.is_empty() {
            return Ok(Appended::Events(0));
        }
        let fail = |e| self.query_error("recording task events", e);
        let mut tx = self.begin_write().await.map_err(fail)?;
        if let Some(m) = from {
            // Seen when its command was: the events carry that time.
            let seen_ms = events.first().map_or(0, |e| e.at_ms);
            let inserted = sqlx::query(sql::NOTE_INBOUND_TEXT)
                .bind(&m.channel)
                .bind(&m.message_id)
                .bind(seen_ms)
                .bind(&m.text_sha256)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
            if inserted == 0 {
                let known: Option<String> = sqlx::query_scalar(sql::INBOUND_TEXT)
                    .bind(&m.channel)
                    .bind(&m.message_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(fail)?;
                // NULL: remembered before texts were; the dedupe keys decide alone.
                if known.is_some_and(|k| k != m.text_sha256) {
                    tx.rollback().await.map_err(fail)?;
                    return Ok(Appended::IdSeenWithOtherText);
                }
            }
        }
        let mut inserted = 0;
        for e in events {
            inserted += bind_event(sqlx::query(sql::APPEND_EVENT), e)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
        }
        tx.commit().await.map_err(fail)?;
        Ok(Appended::Events(
            usize::try_from(inserted).unwrap_or(usize::MAX),
        ))
    }

    /// Records a change to a task. `false` when its id or its dedupe key (the platform's
    /// message id) is already recorded: a platform's retry of the same command.
    pub async fn append_event(&self, e: &NewEvent) -> Result<bool, StoreError> {
        let inserted = bind_event(sqlx::query(sql::APPEND_EVENT), e)
            .execute(&self.pool)
            .await
            .map_err(|err| {
                self.query_error(
                    format!("recording event {} of task {}", e.id, e.task_id),
                    err,
                )
            })?
            .rows_affected();
        Ok(inserted > 0)
    }

    /// Events, oldest first, of one task or all, at or after `since_ms`.
    pub async fn events(
        &self,
        task_id: Option<&str>,
        since_ms: Option<i64>,
    ) -> Result<Vec<TaskEvent>, StoreError> {
        let since = since_ms.unwrap_or(i64::MIN);
        let query = match task_id {
            Some(task) => sqlx::query(sql::TASK_EVENTS_SINCE).bind(task).bind(since),
            None => sqlx::query(sql::EVENTS_SINCE).bind(since),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.query_error("reading task events", e))?;
        rows.iter()
            .map(|r| decode_event(r).map_err(|d| self.corrupt(d)))
            .collect()
    }

    /// How many events were recorded at or after `since_ms`.
    pub async fn count_events_since(&self, since_ms: i64) -> Result<i64, StoreError> {
        sqlx::query_scalar::<_, i64>(sql::COUNT_EVENTS_SINCE)
            .bind(since_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.query_error("counting task events", e))
    }
}

/// Binds an event in `APPEND_EVENT` order.
fn bind_event<'q>(query: AnyQuery<'q>, e: &'q NewEvent) -> AnyQuery<'q> {
    query
        .bind(&e.id)
        .bind(e.dedupe_key.as_deref())
        .bind(&e.task_id)
        .bind(e.at_ms)
        .bind(&e.actor)
        .bind(&e.source)
        .bind(e.channel.as_deref())
        .bind(&e.field)
        .bind(e.old_value.as_deref())
        .bind(e.new_value.as_deref())
}

fn decode_snapshot(row: &AnyRow) -> Result<TaskSnapshot, RowError> {
    Ok(TaskSnapshot {
        source: col(row, "source")?,
        json: col(row, "tasks_json")?,
        saved_ms: col(row, "saved_ms")?,
    })
}

fn decode_event(row: &AnyRow) -> Result<TaskEvent, RowError> {
    Ok(TaskEvent {
        id: col(row, "id")?,
        dedupe_key: col(row, "dedupe_key")?,
        task_id: col(row, "task_id")?,
        at_ms: col(row, "at_ms")?,
        actor: col(row, "actor")?,
        source: col(row, "source")?,
        channel: col(row, "channel")?,
        field: col(row, "field")?,
        old_value: col(row, "old_value")?,
        new_value: col(row, "new_value")?,
    })
}

//! Forgetting what nobody needs any more, so the database does not grow for ever: messages
//! sent or dropped more than [`KEEP_FINISHED_MESSAGES`] ago, and inbound message ids seen more
//! than [`KEEP_SEEN_IDS`] ago. Task events (the history `export` and `history` show) and the
//! slot ledger are kept; dead messages stay until someone retries or drops them.
//!
//! Every replica prunes; deleting the same old rows twice is harmless. Rows go in batches of
//! [`BATCH`], each its own short statement with a pause after it, so neither SQLite's single
//! writer nor PostgreSQL's row locks are held long while slots and commands are written.

use super::Shared;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Sent and dropped messages are kept a month: `weekbell outbox list` answers "did the
/// digests of the last weeks go out, and when?", and a monthly review looks back that far.
/// The slot ledger keeps every slot beyond that.
pub const KEEP_FINISHED_MESSAGES: i64 = 30 * DAY_MS;

/// Inbound ids are kept a week. They only tell a platform's retry from a reused id; the last
/// retry any platform makes comes within hours (Feishu redelivers an event after 15 s, 5 min,
/// 1 h and 6 h, about 7.1 h in all), so a week is a wide margin. Events keep their own dedupe
/// keys for ever, so an old retry still records nothing twice.
pub const KEEP_SEEN_IDS: i64 = 7 * DAY_MS;

/// How often a replica prunes; also once at start.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Rows deleted per statement.
const BATCH: i64 = 1000;

/// The pause after a full batch, in which other writers get the database.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// How many rows one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub messages: u64,
    pub seen_ids: u64,
}

/// Prunes at start and then every [`PRUNE_EVERY`] until `stop` turns true. A failure (the
/// database away) is logged and tried again at the next round.
pub async fn run(shared: Arc<Shared>, stop: impl Into<Shutdown>) {
    let mut stop = stop.into();
    loop {
        let now_ms = shared.clock.now().timestamp_millis();
        match prune(&shared.store, now_ms, BATCH, &stop).await {
            Ok(p) if p != Pruned::default() => tracing::info!(
                messages = p.messages,
                seen_ids = p.seen_ids,
                "pruned sent and dropped messages and old inbound ids"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("could not prune old rows; trying again in an hour: {e}"),
        }
        tokio::select! {
            () = stop.recv() => return,
            () = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

/// One pass at `now_ms`: batches of at most `batch` rows until a batch comes back short.
/// Stops between batches once `stop` is true; a statement is never cut off half-way.
pub async fn prune(
    store: &Store,
    now_ms: i64,
    batch: i64,
    stop: &Shutdown,
) -> Result<Pruned, StoreError> {
    let finished_before = now_ms.saturating_sub(KEEP_FINISHED_MESSAGES);
    let seen_before = now_ms.saturating_sub(KEEP_SEEN_IDS);
    Ok(Pruned {
        messages: in_batches(batch, stop, || store.prune_outbox(finished_before, batch)).await?,
        seen_ids: in_batches(batch, stop, || store.prune_inbound(seen_before, batch)).await?,
    })
}

/// Runs `delete` (which removes at most `batch` rows) until it removes fewer, or `stop` turns
/// true, pausing between batches; the rows removed in all.
async fn in_batches<F, Fut>(batch: i64, stop: &Shutdown, mut delete: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let full = u64::try_from(batch).unwrap_or(0);
    let mut total = 0;
    loop {
        let n = delete().await?;
        total += n;
        if n < full || stop.is_shutdown() {
            return Ok(total);
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewMessage, SlotClaim, SlotStatus};
    use tokio::sync::watch;

    const NOW: i64 = 1_796_000_000_000;

    fn message(n: usize, created_ms: i64) -> NewMessage {
        NewMessage {
            id: format!("slot/team/0/{n}"),
            slot_key: "slot".into(),
            channel: "team".into(),
            platform: "console".into(),
            ord: i64::try_from(n).unwrap_or(0),
            payload: r#"{"text":"x"}"#.into(),
            late: false,
            deadline_ms: created_ms + 3_600_000,
            created_ms,
        }
    }

    #[tokio::test]
    async fn old_sent_and_dropped_messages_and_old_ids_go_in_batches_the_rest_stays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("weekbell.db").display());
        let store = Store::open(&url).await.expect("store");
        let old = NOW - KEEP_FINISHED_MESSAGES - 1;
        // 25 old sent messages (more than two batches of 10), one old dropped, one recent
        // sent, one old dead and one pending.
        let messages: Vec<NewMessage> = (0..30).map(|n| message(n, old - 1000)).collect();
        let claim = SlotClaim {
            schedule: "digest".into(),
            slot_local: "2026-10-01T17:00".into(),
            slot_at_ms: old - 1000,
            status: SlotStatus::OnTime,
            claimed_by: "test".into(),
            now_ms: old - 1000,
        };
        assert!(store.claim_slot(&claim, &messages).await.expect("claim"));
        for m in &messages[..25] {
            store.mark_sent(&m.id, "w", old).await.expect("sent");
        }
        assert!(
            store
                .outbox_drop(&messages[25].id, old)
                .await
                .expect("drop")
        );
        store
            .mark_sent(&messages[26].id, "w", NOW - 1000)
            .await
            .expect("recent");
        store
            .mark_dead(&messages[27].id, "refused", old)
            .await
            .expect("dead");
        for n in 0..12 {
            let seen = if n < 11 { NOW - KEEP_SEEN_IDS - 1 } else { NOW };
            store
                .note_inbound("team", &format!("m{n}"), seen)
                .await
                .expect("seen");
        }

        let (_tx, stop) = watch::channel(false);
        let stop = Shutdown::new(stop);
        let pruned = prune(&store, NOW, 10, &stop).await.expect("prune");
        assert_eq!(
            pruned,
            Pruned {
                messages: 26,
                seen_ids: 11
            }
        );
        let counts = store.outbox_counts().await.expect("counts");
        assert_eq!(
            (counts.sent, counts.dropped, counts.dead, counts.pending),
            (1, 0, 1, 2)
        );
        // The remaining id is still known; a pruned one may be noted afresh.
        assert!(!store.note_inbound("team", "m11", NOW).await.expect("seen"));
        assert!(store.note_inbound("team", "m0", NOW).await.expect("seen"));
        // Nothing is left to prune.
        let again = prune(&store, NOW, 10, &stop).await.expect("prune");
        assert_eq!(again, Pruned::default());
        store.close().await;
    }
}

//! The task list as it stands now: the last good file, with every recorded event on top
//! (the file and the chat both write, and the latest change wins).
//!
//! [`Current`] is one consistent view for one use (a digest, `weekbell tasks`, an export).
//! [`LiveView`] keeps a view up to date inside the daemon, where commands arrive hundreds of
//! times a second: it reads only the events recorded since it last looked, and rebuilds from
//! the file only when the files were reloaded or an event arrived out of order (another
//! replica's clock running behind).

use crate::config::Config;
use crate::people::{Absence, Absences};
use crate::store::{Appended, InboundText, NewEvent, Store, StoreError, TaskEvent};
use crate::tasks::merge::{self, MergeOptions, WeekActivity};
use crate::tasks::{Task, TaskList};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Mutex;

/// How far back [`LiveView`] looks for other writers' events, so that one committed with a
/// slightly earlier timestamp than ours (a replica whose clock runs behind, a slow commit) is
/// still seen. Replicas' clocks must agree better than this (NTP does).
const CLOCK_SKEW_MARGIN_MS: i64 = 30 * 1000;

/// Gives the list's relative deadlines (`12月15日前`, `立行立改` read against the file's save
/// date, [`Task::due_anchored`]) the date they had when weekbell first saw their row, as the
/// store remembers it; with `remember`, rows seen for the first time are remembered against
/// today's reading. Without this, an office that saves its list in January would see every
/// December deadline move to the next December, and its overdue tasks leave the overdue list.
///
/// Commands that write to the store remember (the daemon, `send`, `cmd`); commands that only
/// read use what was remembered.
pub async fn anchor_deadlines(
    list: &mut TaskList,
    store: &Store,
    config: &Config,
    remember: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    if list.tasks.iter().all(|t| t.due_anchored.is_none()) {
        return Ok(());
    }
    if remember {
        store
            .remember_first_seen(&list.anchored_rows(), now_ms)
            .await?;
    }
    let first_seen: std::collections::HashMap<String, chrono::NaiveDate> = store
        .first_seen()
        .await?
        .into_iter()
        .filter_map(|(id, day)| match day.parse() {
            Ok(day) => Some((id, day)),
            Err(_) => {
                tracing::warn!(task = %id, day, "a remembered first-seen day is not a date; ignored");
                None
            }
        })
        .collect();
    let moved = crate::tasks::reanchor(&mut list.tasks, &first_seen, |t| {
        config.date_order(t.list.as_deref())
    });
    if moved > 0 {
        tracing::debug!(
            moved,
            "relative deadlines read against the day their rows were first seen"
        );
    }
    Ok(())
}

/// What a merged list is built from: the file's tasks and what applying events to them reads.
/// The caller hands it in (`Plan::basis`), so this module knows nothing of the plan that
/// loaded them: `plan` builds on `state`, not the other way round.
#[derive(Debug, Clone, Copy)]
pub struct Basis<'a> {
    /// The task list as the file has it.
    pub file: &'a [Task],
    /// The zone notes are dated in, and the people whose names they show.
    pub merge: MergeOptions<'a>,
    /// Which load of the files `file` came from: a [`LiveView`] keeps its list while this
    /// stays the same and starts over from the file when it changes (a reload).
    pub generation: u64,
    /// The leave the config gives (`[[people]] away`), before the chat's.
    pub absences: &'a [Absence],
}

/// The merged task list and the events it was built from.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub tasks: Vec<Task>,
    /// Every recorded event, oldest first (weekly reports and "done since" come from here).
    pub events: Vec<TaskEvent>,
    /// Who is on leave: the config's, then the chat's.
    pub absences: Absences,
}

impl Current {
    /// The file alone, for when there is no store to read (previews of a fresh install).
    pub fn file_only(file: &[Task]) -> Current {
        Current {
            tasks: file.to_vec(),
            events: Vec::new(),
            absences: Absences::default(),
        }
    }

    /// The file with every event in `store` applied.
    pub async fn load(basis: Basis<'_>, store: &Store) -> Result<Current, StoreError> {
        let events = store.events(None, None).await?;
        Ok(Current::build(basis, events))
    }

    fn build(basis: Basis<'_>, events: Vec<TaskEvent>) -> Current {
        let mut tasks = basis.file.to_vec();
        let stats = merge::apply_events_with(&mut tasks, &events, &basis.merge);
        if stats.unknown_task + stats.malformed > 0 {
            tracing::debug!(
                unknown_task = stats.unknown_task,
                malformed = stats.malformed,
                "some recorded events do not apply to the current list"
            );
        }
        let mut absences = Absences::new(basis.absences);
        merge::record_absences(&mut absences, &events);
        Current {
            tasks,
            events,
            absences,
        }
    }

    /// What happened from `since_ms` up to `until_ms`: tasks marked done, units that
    /// reported. The upper bound keeps a preview of a past slot from counting what came after.
    pub fn activity(&self, since_ms: i64, until_ms: i64) -> WeekActivity {
        let end = self.events.partition_point(|e| e.at_ms <= until_ms);
        merge::week_activity(&self.events[..end], since_ms)
    }
}

/// A [`Current`] kept fresh for the daemon, cheap enough to consult on every command.
///
/// - The process's own changes are applied as they are recorded ([`LiveView::record`]).
/// - Other writers (replicas, `weekbell cmd`) are noticed by counting the recorded events of
///   the last few seconds ([`NARROW_MARGIN_MS`]; one indexed count, shared by all the
///   commands of a [`FRESH_FOR`]), and once a [`WIDE_CHECK_EVERY`] of the last
///   [`CLOCK_SKEW_MARGIN_MS`]; only when a count differs from what is held are those events
///   read and applied. A change made through one replica is seen by every command that
///   reaches any other replica [`FRESH_FOR`] after it was committed.
/// - An event older than the newest one applied (another replica's clock runs behind, or two
///   commands committed in the other order) re-merges its task from the file row and all of
///   the task's events, since merging applies events in time order.
/// - Only the last [`RETAIN_MS`] of events are kept in memory, for the `status` command's week.
#[derive(Default)]
pub struct LiveView {
    inner: Mutex<Option<Live>>,
}

/// The window counted on every command: long enough for a commit to become visible.
pub const NARROW_MARGIN_MS: i64 = 3_000;

/// How long one count of the narrow window answers for: under load, one store round trip per
/// this many milliseconds instead of one per command. Far below what a person in a chat can
/// notice, and it bounds how stale another replica's change can look.
pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_millis(50);

/// How often the whole [`CLOCK_SKEW_MARGIN_MS`] window is counted, for events that arrive with
/// an older timestamp (skewed clocks, slow commits).
pub const WIDE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Events kept in memory: a week for the digest's "this week", and a day more.
const RETAIN_MS: i64 = 8 * 24 * 3600 * 1000;

struct Live {
    /// The [`Basis::generation`] the list was built on.
    generation: u64,
    tasks: Arc<Vec<Task>>,
    /// The last [`RETAIN_MS`] of events, ordered by `(at_ms, id)`.
    events: Vec<TaskEvent>,
    /// Who is on leave, from every event (a leave outlasts the events kept).
    absences: Absences,
    /// Ids of `events`.
    applied: HashSet<String>,
    /// When the wide window was last counted.
    last_check: Option<std::time::Instant>,
    /// When either window was last counted.
    last_narrow: Option<std::time::Instant>,
}

impl LiveView {
    pub fn new() -> Self {
        LiveView::default()
    }

    /// The current tasks of `basis`, every event recorded so far applied.
    pub async fn tasks(
        &self,
        basis: Basis<'_>,
        store: &Store,
        now_ms: i64,
    ) -> Result<Arc<Vec<Task>>, StoreError> {
        let mut guard = self.inner.lock().await;
        let live = match guard.take() {
            Some(live) if live.generation == basis.generation => {
                live.refresh(basis, store, now_ms).await?
            }
            _ => Live::load(basis, store, now_ms).await?,
        };
        let tasks = live.tasks.clone();
        *guard = Some(live);
        Ok(tasks)
    }

    /// Records `events` in the store (one transaction) and applies them to the view, under
    /// the view's lock: a command that looks in between would otherwise see them in the
    /// store but not in the view, and read the whole window back to catch up. Returns how
    /// many were new (a platform's retry records none), or that `from`'s id came before with
    /// other text (see [`Store::append_events`]). A view built on an older `basis` (the files
    /// were reloaded since) is dropped instead, and the next look rebuilds it.
    ///
    /// Concurrent commands reach the lock in another order than they arrived, so an event
    /// stamped with its command's arrival could sort before one already applied, and applying
    /// it would mean re-merging its task from the store's whole history. Instead its time is
    /// moved to just after the newest applied event: the order of the changes is the order in
    /// which they were committed, which is also what "the latest change wins" should mean.
    pub async fn record(
        &self,
        basis: Basis<'_>,
        store: &Store,
        from: Option<&InboundText>,
        mut events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        let mut guard = self.inner.lock().await;
        if guard
            .as_ref()
            .is_some_and(|live| live.generation != basis.generation)
        {
            *guard = None;
        }
        if let Some(live) = guard.as_ref() {
            order_after(live.events.last(), &mut events);
        }
        let appended = store.append_events(from, &events).await?;
        let Appended::Events(inserted) = appended else {
            return Ok(appended);
        };
        if let Some(live) = guard.as_mut() {
            if inserted == events.len() {
                live.apply(basis, store, events.iter().map(TaskEvent::from).collect())
                    .await?;
            } else if inserted > 0 {
                // Some were new, some not: the next look at the store sorts it out.
                live.last_check = None;
            }
        }
        Ok(appended)
    }

    /// The events of the last [`RETAIN_MS`] held in memory, for judging warnings in the
    /// `status` command: enough for a `no_update_for` of up to eight days; a longer one counts
    /// from the list's date when the task's last update is older than that.
    pub async fn recent_events(&self) -> Vec<TaskEvent> {
        let guard = self.inner.lock().await;
        guard
            .as_ref()
            .map(|live| live.events.clone())
            .unwrap_or_default()
    }

    /// Who is on leave, as of the events applied so far.
    pub async fn absences(&self) -> Absences {
        let guard = self.inner.lock().await;
        guard
            .as_ref()
            .map(|live| live.absences.clone())
            .unwrap_or_default()
    }

    /// What happened between `since_ms` and `until_ms` (within the last week).
    pub async fn activity(&self, since_ms: i64, until_ms: i64) -> WeekActivity {
        let guard = self.inner.lock().await;
        match guard.as_ref() {
            Some(live) => {
                let end = live.events.partition_point(|e| e.at_ms <= until_ms);
                merge::week_activity(&live.events[..end], since_ms)
            }
            None => WeekActivity::default(),
        }
    }
}

/// Moves `events` (one command's, with one time) to just after `newest` when any of them
/// would sort before it by `(at_ms, id)`.
fn order_after(newest: Option<&TaskEvent>, events: &mut [NewEvent]) {
    let Some(newest) = newest else {
        return;
    };
    let behind = events
        .iter()
        .any(|e| (e.at_ms, e.id.as_str()) <= (newest.at_ms, newest.id.as_str()));
    if behind {
        for e in events.iter_mut() {
            e.at_ms = newest.at_ms + 1;
        }
    }
}

impl Live {
    async fn load(basis: Basis<'_>, store: &Store, now_ms: i64) -> Result<Live, StoreError> {
        let current = Current::load(basis, store).await?;
        let mut live = Live {
            generation: basis.generation,
            tasks: Arc::new(current.tasks),
            events: current.events,
            absences: current.absences,
            applied: HashSet::new(),
            last_check: Some(std::time::Instant::now()),
            last_narrow: Some(std::time::Instant::now()),
        };
        live.prune(now_ms);
        Ok(live)
    }

    async fn refresh(
        mut self,
        basis: Basis<'_>,
        store: &Store,
        now_ms: i64,
    ) -> Result<Live, StoreError> {
        let wide = self
            .last_check
            .is_none_or(|t| t.elapsed() >= WIDE_CHECK_EVERY);
        let fresh = self.last_narrow.is_some_and(|t| t.elapsed() < FRESH_FOR);
        if fresh && !wide {
            return Ok(self);
        }
        self.last_narrow = Some(std::time::Instant::now());
        let margin = if wide {
            self.last_check = Some(std::time::Instant::now());
            CLOCK_SKEW_MARGIN_MS
        } else {
            NARROW_MARGIN_MS
        };
        let cutoff = now_ms.saturating_sub(margin);
        let in_store = store.count_events_since(cutoff).await?;
        let held = self.events.len() - self.events.partition_point(|e| e.at_ms < cutoff);
        if usize::try_from(in_store).is_ok_and(|n| n == held) {
            return Ok(self);
        }
        let recent = store.events(None, Some(cutoff)).await?;
        self.apply(basis, store, recent).await?;
        if self
            .events
            .first()
            .is_some_and(|e| e.at_ms < now_ms - RETAIN_MS - 3_600_000)
        {
            self.prune(now_ms);
        }
        Ok(self)
    }

    /// Applies the events not applied yet: in place when they are newer than everything
    /// applied, otherwise by re-merging their tasks from the store.
    async fn apply(
        &mut self,
        basis: Basis<'_>,
        store: &Store,
        events: Vec<TaskEvent>,
    ) -> Result<(), StoreError> {
        let mut fresh: Vec<TaskEvent> = events
            .into_iter()
            .filter(|e| !self.applied.contains(&e.id))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        fresh.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        let newest = self.events.last().map(|e| (e.at_ms, e.id.clone()));
        let in_order = newest
            .as_ref()
            .is_none_or(|(at, id)| fresh.first().is_some_and(|e| (e.at_ms, &e.id) > (*at, id)));
        let options = basis.merge;
        if in_order {
            // Only the rows the events name are merged. Merging into the whole list indexed
            // every id of it on each write: on a 10,000-row list that index (hashing and
            // cloning 10,000 ids) was about a third of the daemon's CPU in the commands bench.
            // A command names one or two tasks, so comparing ids row by row is cheaper than
            // any index.
            let mut named: Vec<&str> = fresh.iter().map(|e| e.task_id.as_str()).collect();
            named.sort_unstable();
            named.dedup();
            for task in Arc::make_mut(&mut self.tasks)
                .iter_mut()
                .filter(|t| named.contains(&t.id.as_str()))
            {
                merge::apply_events_with(std::slice::from_mut(task), &fresh, &options);
            }
        } else {
            let touched: HashSet<&str> = fresh.iter().map(|e| e.task_id.as_str()).collect();
            for task_id in touched {
                let history = store.events(Some(task_id), None).await?;
                let tasks = Arc::make_mut(&mut self.tasks);
                for (file_row, task) in basis.file.iter().zip(tasks.iter_mut()) {
                    if task.id == task_id {
                        *task = file_row.clone();
                        merge::apply_events_with(std::slice::from_mut(task), &history, &options);
                    }
                }
            }
        }
        merge::record_absences(&mut self.absences, &fresh);
        for e in &fresh {
            self.applied.insert(e.id.clone());
        }
        self.events.extend(fresh);
        if !in_order {
            self.events
                .sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        }
        Ok(())
    }

    /// Forgets events older than [`RETAIN_MS`]: they are applied to the tasks already.
    fn prune(&mut self, now_ms: i64) {
        let keep_from = self
            .events
            .partition_point(|e| e.at_ms < now_ms - RETAIN_MS);
        self.events.drain(..keep_from);
        self.applied = self.events.iter().map(|e| e.id.clone()).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, at_ms: i64) -> NewEvent {
        NewEvent {
            id: id.to_string(),
            dedupe_key: None,
            task_id: "1".to_string(),
            at_ms,
            actor: "alice".to_string(),
            source: "chat".to_string(),
            channel: None,
            field: "note".to_string(),
            old_value: None,
            new_value: Some("x".to_string()),
        }
    }

    #[test]
    fn a_command_that_reaches_the_lock_late_is_ordered_after_what_was_applied() {
        let newest = TaskEvent::from(&event("chat:b/0", 1_000));
        let mut late = vec![event("chat:a/0", 990), event("chat:a/1", 990)];
        order_after(Some(&newest), &mut late);
        assert_eq!(
            late.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
            [1_001, 1_001]
        );

        // Same millisecond but an id that sorts first: still behind.
        let mut same_ms = vec![event("chat:a/0", 1_000)];
        order_after(Some(&newest), &mut same_ms);
        assert_eq!(same_ms[0].at_ms, 1_001);
    }

    #[test]
    fn a_command_already_in_order_keeps_its_time() {
        let newest = TaskEvent::from(&event("chat:a/0", 1_000));
        let mut later = vec![event("chat:b/0", 1_000), event("chat:b/1", 1_000)];
        order_after(Some(&newest), &mut later);
        assert_eq!(later[0].at_ms, 1_000);
        let mut first = vec![event("chat:a/0", 5)];
        order_after(None, &mut first);
        assert_eq!(first[0].at_ms, 5);
    }
}

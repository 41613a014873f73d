//! The task list as it stands now: the last good file, with every recorded event on top
//! (DESIGN §1: the file and the chat both write, the latest change wins).
//!
//! [`Current`] is one consistent view for one use (a digest, `weekbell tasks`, an export).
//! [`LiveView`] keeps a view up to date inside the daemon, where commands arrive hundreds of
//! times a second: it reads only the events recorded since it last looked, and rebuilds from
//! the file only when the plan changed or an event arrived out of order (another replica's
//! clock running behind).

use crate::plan::Plan;
use crate::render::WeekActivity;
use crate::store::{Store, StoreError, TaskEvent};
use crate::tasks::Task;
use crate::tasks::merge::{self, MergeOptions};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Mutex;

/// How far back [`LiveView`] re-reads events, so that an event another replica committed with
/// a slightly earlier timestamp than ours is still seen; ids already applied are skipped.
const CLOCK_SKEW_MARGIN_MS: i64 = 5 * 60 * 1000;

/// The merged task list and the events it was built from.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub tasks: Vec<Task>,
    /// Every recorded event, oldest first (weekly reports and "done since" come from here).
    pub events: Vec<TaskEvent>,
}

impl Current {
    /// The file alone, for when there is no store to read (previews of a fresh install).
    pub fn file_only(plan: &Plan) -> Current {
        Current {
            tasks: plan.tasks.tasks.clone(),
            events: Vec::new(),
        }
    }

    /// The file with every event in `store` applied.
    pub async fn load(plan: &Plan, store: &Store) -> Result<Current, StoreError> {
        let events = store.events(None, None).await?;
        Ok(Current::build(plan, events))
    }

    fn build(plan: &Plan, events: Vec<TaskEvent>) -> Current {
        let mut tasks = plan.tasks.tasks.clone();
        let stats = merge::apply_events_with(&mut tasks, &events, &merge_options(plan));
        if stats.unknown_task + stats.malformed > 0 {
            tracing::debug!(
                unknown_task = stats.unknown_task,
                malformed = stats.malformed,
                "some recorded events do not apply to the current list"
            );
        }
        Current { tasks, events }
    }

    /// What happened from `since_ms` up to `until_ms`: tasks marked done, units that
    /// reported. The upper bound keeps a preview of a past slot from counting what came after.
    pub fn activity(&self, since_ms: i64, until_ms: i64) -> WeekActivity {
        let end = self.events.partition_point(|e| e.at_ms <= until_ms);
        merge::week_activity(&self.events[..end], since_ms)
    }
}

fn merge_options(plan: &Plan) -> MergeOptions<'_> {
    MergeOptions {
        zone: plan.config.timezone,
        people: Some(&plan.people),
    }
}

/// A [`Current`] kept fresh for the daemon.
#[derive(Default)]
pub struct LiveView {
    inner: Mutex<Option<Live>>,
}

struct Live {
    plan: Arc<Plan>,
    current: Arc<Current>,
    /// Ids of the events applied, to skip them when the skew margin reads them again.
    applied: HashSet<String>,
    /// The newest event's `(at_ms, id)`: a newer event can be applied on top; an older one
    /// means a rebuild, since merging applies events in this order.
    newest: Option<(i64, String)>,
}

impl LiveView {
    pub fn new() -> Self {
        LiveView::default()
    }

    /// The current view for `plan`, with every event recorded so far.
    pub async fn get(&self, plan: &Arc<Plan>, store: &Store) -> Result<Arc<Current>, StoreError> {
        let mut guard = self.inner.lock().await;
        let live = match guard.take() {
            Some(live) if Arc::ptr_eq(&live.plan, plan) => live,
            _ => {
                let current = Current::load(plan, store).await?;
                Live::from_current(plan.clone(), current)
            }
        };
        // On an error the view is dropped, and the next call starts over from the store.
        let live = live.refresh(store).await?;
        let current = live.current.clone();
        *guard = Some(live);
        Ok(current)
    }
}

impl Live {
    fn from_current(plan: Arc<Plan>, current: Current) -> Live {
        let applied = current.events.iter().map(|e| e.id.clone()).collect();
        let newest = current.events.last().map(|e| (e.at_ms, e.id.clone()));
        Live {
            plan,
            current: Arc::new(current),
            applied,
            newest,
        }
    }

    async fn refresh(mut self, store: &Store) -> Result<Live, StoreError> {
        let since = self
            .newest
            .as_ref()
            .map(|(at, _)| at.saturating_sub(CLOCK_SKEW_MARGIN_MS));
        let recent = store.events(None, since).await?;
        let fresh: Vec<TaskEvent> = recent
            .into_iter()
            .filter(|e| !self.applied.contains(&e.id))
            .collect();
        if fresh.is_empty() {
            return Ok(self);
        }
        let in_order = match &self.newest {
            None => true,
            Some((at, id)) => fresh.first().is_some_and(|e| (e.at_ms, &e.id) > (*at, id)),
        };
        if !in_order {
            let current = Current::load(&self.plan, store).await?;
            return Ok(Live::from_current(self.plan, current));
        }
        let mut current = Arc::unwrap_or_clone(self.current);
        merge::apply_events_with(&mut current.tasks, &fresh, &merge_options(&self.plan));
        for e in &fresh {
            self.applied.insert(e.id.clone());
        }
        self.newest = fresh.last().map(|e| (e.at_ms, e.id.clone()));
        current.events.extend(fresh);
        self.current = Arc::new(current);
        Ok(self)
    }
}

//! `weekbell run`: the scheduler, the outbox, delivery and reloading.
//!
//! The scheduler never calls the network: at each slot it renders the messages and writes them
//! to the outbox in the same transaction that claims the slot. Delivery sends each channel's
//! messages in order, under its rate limit; `delivery.rs` says how.

mod delivery;
mod retention;
mod scheduler;

pub use crate::ratelimit::TokenBucket;
pub use crate::shared::{Shared, instance_id};
pub use delivery::{Delivery, DeliveryConfig, Scope};
pub use scheduler::{FireError, Scheduler, enqueue_slot};

use crate::backoff::Backoff;
use crate::chat::ChatService;
use crate::chat::Inbox;
use crate::chat::directory::{REFRESH_EVERY, Resolver, apply_cached};
use crate::chat::inbox::{on_polled_message, on_socket_command, on_stream_message};
use crate::clock::Clock;
use crate::config::PlatformSettings;
use crate::inbound::dingtalk_stream::{self, StreamConfig};
use crate::inbound::feishu_ws::{self, LongConnectionConfig};
use crate::inbound::googlechat_keys::GoogleKeys;
use crate::inbound::slack_socket::{self, InlineAnswer, SocketConfig};
use crate::inbound::telegram_poll::{self, PollConfig};
use crate::plan::{Plan, PlanError};
use crate::platforms::{ClientError, SEND_TIMEOUT, http_client};
use crate::server::ServerState;
pub use crate::shutdown::SHUTDOWN_GRACE;
use crate::shutdown::Shutdown;
use crate::state::anchor_deadlines;
use crate::store::{Store, StoreError};
use crate::types::Platform;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How long a fetch of Google's signing keys may take; a Google Chat request waits for it, and
/// Chat gives up on an app after 30 seconds.
const GOOGLE_KEYS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one directory look-up may take (a token request and the question).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the config, task list and calendar files are checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);
/// The pause after the store refused to record a slot, doubling from 1 s to 30 s while it keeps
/// refusing. Taken without jitter, as before: the replicas' slots are claimed in the store, so
/// their retries meeting in step cost nothing.
const STORE_RETRY: Backoff = Backoff {
    min: Duration::from_secs(1),
    max: Duration::from_secs(30),
};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fire(#[from] FireError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "cannot listen on {addr} ([server] listen): {source}; is another process using the port?"
    )]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Runs the daemon until `shutdown` resolves: loads the config, catches up missed slots,
/// then fires slots and delivers messages; reloads files when they change.
pub async fn run(
    config_path: &Path,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let now = clock.now();
    let mut plan = Plan::load(config_path, now.date_naive())?;
    let store = Store::open(plan.config.store_url.expose()).await?;
    anchor_deadlines(
        &mut plan.tasks,
        &store,
        &plan.config,
        true,
        now.timestamp_millis(),
    )
    .await?;
    let shared = Arc::new(Shared::new(store, clock));
    tracing::info!(
        instance = %shared.instance,
        config = %config_path.display(),
        tasks = plan.tasks.tasks.len(),
        schedules = plan.schedules.len(),
        channels = plan.config.channels.len(),
        "weekbell started"
    );
    for w in plan.warnings(now) {
        tracing::warn!("{w}");
    }
    let snapshot = serde_json::to_string(&plan.tasks.tasks).unwrap_or_default();
    let source = list_sources(&plan.config);
    shared
        .store
        .save_task_snapshot(&source, &snapshot, now.timestamp_millis())
        .await?;

    add_found_handles(&mut plan, &shared.store).await;
    let plan = Arc::new(plan);
    let (plan_tx, plan_rx) = watch::channel(plan.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let client = http_client(SEND_TIMEOUT)?;
    let client_for_streams = client.clone();
    let delivery = Delivery::new(
        shared.clone(),
        plan_rx.clone(),
        stop_rx.clone(),
        client,
        DeliveryConfig::default(),
        Scope::All,
    );
    let mut delivery = tokio::spawn(delivery.run());
    tokio::spawn(retention::run(shared.clone(), stop_rx.clone()));

    let resolver = Arc::new(Resolver::new(http_client(LOOKUP_TIMEOUT)?));
    tokio::spawn(look_people_up(
        resolver.clone(),
        plan_rx.clone(),
        shared.clone(),
        stop_rx.clone(),
    ));

    let chat = Arc::new(ChatService::new(shared.store.clone()));
    let inbox = Arc::new(Inbox {
        plan: plan_rx.clone(),
        chat: chat.clone(),
        shared: shared.clone(),
        senders: Default::default(),
        directory: resolver.clone(),
    });
    let state = Arc::new(ServerState {
        inbox: inbox.clone(),
        google_keys: GoogleKeys::new(http_client(GOOGLE_KEYS_TIMEOUT)?),
    });
    let mut streams = spawn_socket_clients(&plan, &state, &client_for_streams, &stop_rx);
    for config in telegram_clients(&plan) {
        let state = state.clone();
        let client = client_for_streams.clone();
        let stop = stop_rx.clone();
        let store = shared.store.clone();
        let holder = shared.instance.clone();
        let clock = shared.clock.clone();
        streams.spawn(async move {
            let name = config.channel.clone();
            let handler = |message| {
                let state = state.clone();
                let name = name.clone();
                async move { on_polled_message(&state.inbox, &name, message).await }
            };
            telegram_poll::run(config, client, store, holder, clock, handler, stop).await;
        });
    }
    let mut server = None;
    if let Some(addr) = &plan.config.server_listen {
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .map_err(|source| DaemonError::Listen {
                addr: addr.clone(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| addr.clone());
        tracing::info!(listen = %local, "HTTP server up: POST /hooks/{{channel}}, GET /healthz, GET /metrics");
        let state = state.clone();
        let mut stop = Shutdown::new(stop_rx.clone());
        let stopped = async move { stop.recv().await };
        server = Some(tokio::spawn(async move {
            if let Err(e) = crate::server::serve(listener, state, stopped).await {
                tracing::error!("the HTTP server stopped: {e}");
            }
        }));
    }

    let mut scheduler = Scheduler::new(shared.clone());
    scheduler.catch_up(&plan).await?;

    let mut watched = Watched::new(&plan);
    let mut current = plan;
    // While the store refuses writes, the slot that failed is due at once again: without a
    // pause the loop would retry it as fast as the store can refuse.
    let mut store_backoff = Duration::ZERO;
    let mut store_failures = 0u32;
    tokio::pin!(shutdown);
    loop {
        let now = shared.clock.now();
        let next = scheduler.next_due(&current);
        let until_next = next
            .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(RELOAD_CHECK);
        let sleep = until_next.min(RELOAD_CHECK).max(store_backoff);
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(sleep) => {}
        }
        // New directory answers reload the plan too, so its people get the handles found.
        if watched.changed() || resolver.take_changed() {
            match Plan::load(config_path, shared.clock.now().date_naive()) {
                Ok(mut new_plan) => {
                    add_found_handles(&mut new_plan, &shared.store).await;
                    let now_ms = shared.clock.now().timestamp_millis();
                    // The store being down is logged and waited out like any store failure;
                    // until then the deadlines are read against the file's save date.
                    if let Err(e) = anchor_deadlines(
                        &mut new_plan.tasks,
                        &shared.store,
                        &new_plan.config,
                        true,
                        now_ms,
                    )
                    .await
                    {
                        tracing::error!("could not read when the list's rows were first seen: {e}");
                    }
                    tracing::info!(
                        tasks = new_plan.tasks.tasks.len(),
                        "reloaded the config and task list"
                    );
                    let snapshot = serde_json::to_string(&new_plan.tasks.tasks).unwrap_or_default();
                    let source = list_sources(&new_plan.config);
                    if let Err(e) = shared
                        .store
                        .save_task_snapshot(
                            &source,
                            &snapshot,
                            shared.clock.now().timestamp_millis(),
                        )
                        .await
                    {
                        tracing::error!("could not save the task list snapshot: {e}");
                    }
                    watched = Watched::new(&new_plan);
                    let new_plan = Arc::new(new_plan);
                    scheduler.reconcile(&new_plan);
                    let _ = plan_tx.send(new_plan.clone());
                    current = new_plan;
                }
                Err(e) => {
                    tracing::error!(
                        "the changed files have a problem; keeping the last good version: {e}"
                    );
                    watched.accept_current();
                    current.mark_stale();
                }
            }
        }
        match scheduler.fire_due(&current).await {
            Ok(()) => {
                store_failures = 0;
                store_backoff = Duration::ZERO;
            }
            Err(e) => {
                store_failures = store_failures.saturating_add(1);
                store_backoff = STORE_RETRY.delay(store_failures, 0.0);
                tracing::error!(
                    "could not record a slot; trying again in {}s: {e}",
                    store_backoff.as_secs()
                );
            }
        }
    }

    tracing::info!(
        "stopping: no new slots; sends in flight get {}s",
        SHUTDOWN_GRACE.as_secs()
    );
    let _ = stop_tx.send(true);
    shared.wake_delivery();
    // Socket clients close their sockets at once and give running commands the grace; Telegram
    // pollers drop their request and give their lease back.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), async {
        while streams.join_next().await.is_some() {}
    })
    .await;
    if let Some(server) = server {
        // Requests in flight finish; their answers are in the outbox before delivery stops.
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut delivery)
        .await
        .is_err()
    {
        tracing::warn!(
            "sends still in flight after the grace period stay in the outbox for the next start"
        );
        delivery.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// A channel's client for commands over an outbound WebSocket, for offices with no public URL.
enum SocketClient {
    /// DingTalk Stream mode (`stream = true`).
    DingTalk(StreamConfig),
    /// Slack Socket Mode (`socket_mode = true`).
    Slack(SocketConfig),
    /// Feishu / Lark long connection (`long_connection = true`).
    Feishu(LongConnectionConfig),
}

/// The channels that take commands over an outbound WebSocket, with their connection
/// settings. Read once at start: changing the mode or the app's credentials takes a restart.
fn socket_clients(plan: &Plan) -> Vec<(String, SocketClient)> {
    let api_base = |c: &crate::config::ChannelConfig| c.api_base().map(str::to_string);
    plan.config
        .channels
        .values()
        .filter_map(|c| {
            let client = match &c.settings {
                PlatformSettings::Dingtalk(d) if d.stream => {
                    let key = d.app_key.as_ref()?.expose().to_string();
                    let mut config = StreamConfig::new(key, d.app_secret.clone()?);
                    if let Some(base) = api_base(c) {
                        config.gateway = base;
                    }
                    SocketClient::DingTalk(config)
                }
                PlatformSettings::Slack(s) if s.socket_mode => {
                    let mut config = SocketConfig::new(s.app_token.clone()?);
                    if let Some(base) = api_base(c) {
                        config.api_base = base;
                    }
                    SocketClient::Slack(config)
                }
                PlatformSettings::Feishu(f) if f.long_connection => {
                    let id = f.app_id.as_ref()?.expose().to_string();
                    let mut config = LongConnectionConfig::new(id, f.app_secret.clone()?);
                    if let Some(base) = api_base(c) {
                        config.domain = base;
                    }
                    SocketClient::Feishu(config)
                }
                _ => return None,
            };
            Some((c.name.clone(), client))
        })
        .collect()
}

/// Starts one client per channel that takes commands over an outbound WebSocket; each stops
/// when `stop` turns true, closing its socket at once and giving running commands
/// [`SHUTDOWN_GRACE`].
fn spawn_socket_clients(
    plan: &Plan,
    state: &Arc<ServerState>,
    http: &reqwest::Client,
    stop: &watch::Receiver<bool>,
) -> tokio::task::JoinSet<()> {
    let mut clients = tokio::task::JoinSet::new();
    for (name, client) in socket_clients(plan) {
        let (state, http, stop) = (state.clone(), http.clone(), stop.clone());
        match client {
            SocketClient::DingTalk(config) => {
                tracing::info!(channel = %name, app_key = %config.client_id, "DingTalk Stream mode: connecting");
                clients.spawn(async move {
                    let handler = |message| {
                        let (state, name) = (state.clone(), name.clone());
                        async move { on_stream_message(&state.inbox, &name, message).await }
                    };
                    dingtalk_stream::run(config, http, handler, stop).await;
                });
            }
            SocketClient::Slack(config) => {
                tracing::info!(channel = %name, "Slack Socket Mode: connecting");
                clients.spawn(async move {
                    let handler = |message, inline: Option<InlineAnswer>| {
                        let (state, name) = (state.clone(), name.clone());
                        async move {
                            match inline {
                                Some(inline) => {
                                    on_socket_command(&state.inbox, &name, message, inline).await
                                }
                                None => on_stream_message(&state.inbox, &name, message).await,
                            }
                        }
                    };
                    slack_socket::run(config, http, handler, stop).await;
                });
            }
            SocketClient::Feishu(config) => {
                tracing::info!(channel = %name, app_id = %config.app_id, "Feishu long connection: connecting");
                clients.spawn(async move {
                    let handler = |message| {
                        let (state, name) = (state.clone(), name.clone());
                        async move { on_stream_message(&state.inbox, &name, message).await }
                    };
                    feishu_ws::run(config, http, handler, stop).await;
                });
            }
        }
    }
    clients
}

/// The Telegram channels that poll for commands (`polling = true`) or must learn their bot's
/// username for a webhook. Read once at start, as for Stream mode.
fn telegram_clients(plan: &Plan) -> Vec<PollConfig> {
    plan.config
        .channels
        .values()
        .filter(|c| c.platform == Platform::Telegram)
        .filter_map(PollConfig::for_channel)
        .collect()
}

/// The files a plan was built from and their modification times, to notice edits.
struct Watched {
    files: Vec<(PathBuf, Option<SystemTime>)>,
}

impl Watched {
    fn new(plan: &Plan) -> Self {
        let mut paths = vec![plan.config.path.clone()];
        paths.extend(plan.config.lists.iter().map(|l| l.tasks.source.clone()));
        paths.extend(plan.config.holiday_files.iter().cloned());
        for dir in plan
            .config
            .channels
            .values()
            .filter_map(|c| c.template_dir.clone())
            .chain(
                plan.config
                    .schedules
                    .iter()
                    .filter_map(|s| s.template_dir.clone()),
            )
        {
            for name in ["digest.j2", "reminder.j2", "report_call.j2"] {
                paths.push(dir.join(name));
            }
        }
        Watched {
            files: paths
                .into_iter()
                .map(|p| {
                    let m = mtime(&p);
                    (p, m)
                })
                .collect(),
        }
    }

    fn changed(&self) -> bool {
        self.files.iter().any(|(p, m)| mtime(p) != *m)
    }

    /// Remembers the current times, so a bad edit is reported once, not every two seconds.
    fn accept_current(&mut self) {
        for (p, m) in &mut self.files {
            *m = mtime(p);
        }
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Gives the plan's people the handles the platforms' directories found (a config handle
/// wins). A store failure leaves them as the config has them, and is logged.
/// The lists' files, for the snapshot's `source`: one path, or several joined by `; `.
fn list_sources(config: &crate::config::Config) -> String {
    config
        .lists
        .iter()
        .map(|l| l.tasks.source.display().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn add_found_handles(plan: &mut Plan, store: &Store) {
    match apply_cached(&mut plan.people, store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(handles = n, "handles found in the platforms' directories"),
        Err(e) => tracing::warn!(
            "cannot read the directory answers; using the config's handles only: {e}"
        ),
    }
}

/// Looks people up at start and then every [`REFRESH_EVERY`], in a task of its own so that
/// sending never waits for a directory; ends at the shutdown signal.
async fn look_people_up(
    resolver: Arc<Resolver>,
    plan: watch::Receiver<Arc<Plan>>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let mut stop = Shutdown::new(stop);
    loop {
        let current = plan.borrow().clone();
        match resolver
            .refresh(&current, &shared.store, shared.clock.now(), &mut stop)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(found = n, "people found in the platforms' directories"),
            Err(e) => tracing::warn!("directory look-ups stopped; trying again tomorrow: {e}"),
        }
        if stop
            .until(tokio::time::sleep(REFRESH_EVERY))
            .await
            .is_none()
        {
            return;
        }
    }
}

//! Running one status command against the live task list: recognise the sender, run the
//! command, record its changes as events, and answer.
//!
//! The same path serves every way a command arrives — a chat platform, the JSON API,
//! `weekbell cmd` — so they behave alike. A platform's retry of a message records nothing
//! twice: each event carries the platform's message id as its dedupe key, and the events of
//! one command are written in one transaction. The retry is answered again with the state as
//! it now is.

pub mod directory;
pub mod inbox;

pub use inbox::{CommandReply, Inbox};

use crate::commands::{self, Context, EventMeta, Lang, Notice, Reply};
use crate::config::ChannelConfig;
use crate::metrics;
use crate::people::Person;
use crate::plan::{Plan, PlanError};
use crate::platforms::{OutboxPayload, ReplyVia};
use crate::state::LiveView;
use crate::store::{Appended, InboundText, NewMessage, Store, StoreError};
use crate::types::OutboundPart;
use crate::types::Platform;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// How long an answer or a notice sent through the outbox may wait: after this the asker has
/// moved on (and DingTalk's session webhook, Slack's response URL expire within the hour).
const REPLY_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The outbox rows that put `parts` in `channel`'s queue under `key` (part n is `{key}/{n-1}`,
/// so a second enqueue of the same key adds nothing), through `via` or the channel's webhook.
pub(crate) fn outbox_messages(
    key: &str,
    channel: &ChannelConfig,
    parts: Vec<OutboundPart>,
    via: Option<ReplyVia>,
    now_ms: i64,
) -> Vec<NewMessage> {
    let deadline = now_ms + i64::try_from(REPLY_DEADLINE.as_millis()).unwrap_or(i64::MAX / 2);
    parts
        .into_iter()
        .filter_map(|part| {
            let i = part.part.saturating_sub(1);
            let payload = serde_json::to_string(&OutboxPayload {
                part,
                reply_via: via.clone(),
            })
            .ok()?;
            Some(NewMessage {
                id: format!("{key}/{i}"),
                slot_key: key.to_string(),
                channel: channel.name.clone(),
                platform: channel.platform.as_str().to_string(),
                ord: now_ms.saturating_mul(10_000).saturating_add(i as i64),
                payload,
                late: false,
                deadline_ms: deadline,
                created_ms: now_ms,
            })
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render the digest: {0}")]
    Render(#[from] PlanError),
}

/// Who sent a command.
#[derive(Debug, Clone)]
pub enum SenderRef<'a> {
    /// A chat user: the platform and every id it gave for them, matched against the people's
    /// handles for that platform.
    Handles {
        platform: Platform,
        ids: Vec<&'a str>,
    },
    /// A person id from the config: the JSON API's `as`, `weekbell cmd --as`.
    Person(&'a str),
}

/// One command as it arrived.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    /// The channel it came through; `None` from the CLI.
    pub channel: Option<&'a str>,
    pub sender: SenderRef<'a>,
    /// The platform's message id (the API's request id), for deduplication.
    pub message_id: Option<&'a str>,
    pub text: &'a str,
    /// `chat`, `api` or `cli`, recorded with the events.
    pub source: &'a str,
}

/// The answer to a command.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The reply as text; for `status`, the digest's parts joined.
    pub text: String,
    /// For `status`: the digest rendered for the channel, ready to send as it is.
    pub digest: Option<Vec<OutboundPart>>,
    /// The command word, for metrics and logs (`done`, `list`, `unknown`, …).
    pub command: &'static str,
    /// Changes recorded now (0 for reads, refusals, no-ops and retries).
    pub recorded: usize,
    /// The sender as recognised, for logs.
    pub person: Option<String>,
    /// For the asker alone where the platform can say so ([`commands::Reply::Private`]).
    pub private: bool,
    /// Notices to other people queued in the outbox, for the caller to wake delivery.
    pub notices_queued: usize,
}

/// Runs commands; shared by the HTTP handlers and stream clients of one daemon.
pub struct ChatService {
    store: Store,
    view: LiveView,
}

impl ChatService {
    pub fn new(store: Store) -> Self {
        ChatService {
            store,
            view: LiveView::new(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one command at `now` against `plan` and the events recorded so far.
    pub async fn handle(
        &self,
        plan: &Arc<Plan>,
        incoming: &Incoming<'_>,
        now: DateTime<Utc>,
    ) -> Result<Answer, ChatError> {
        let channel: Option<&ChannelConfig> =
            incoming.channel.and_then(|c| plan.config.channels.get(c));
        let (person, handle) = recognise(plan, &incoming.sender);
        let now_ms = now.timestamp_millis();
        let tasks = self.view.tasks(plan.basis(), &self.store, now_ms).await?;
        let absences = self.view.absences().await;
        let fallback: Lang = channel
            .and_then(|c| c.locale)
            .unwrap_or(plan.config.locale)
            .into();
        let parsed = commands::parse(incoming.text);
        let ctx = Context {
            sender: person,
            sender_handle: handle,
            tasks: &tasks,
            channel,
            today: now.with_timezone(&plan.config.timezone).date_naive(),
            lang: fallback,
            people: Some(&plan.people),
            lists: &plan.config.lists,
            absences: Some(&absences),
        };
        let mut outcome = commands::respond(&parsed, &ctx);
        let command = command_name(&parsed, person.is_some());
        let notice_channels = notice_channels(plan, channel, &tasks, &outcome.notices);
        // Only a digest reads the list after this point. Letting go of it before recording
        // means applying the change finds the list unshared and updates it in place instead
        // of copying it.
        let digest_tasks = matches!(outcome.reply, Reply::Digest).then_some(tasks);

        let mut recorded = 0;
        let mut notices_queued = 0;
        if let (Some(p), false) = (person, outcome.changes.is_empty()) {
            let at_ms = now.timestamp_millis();
            let dedupe = incoming
                .message_id
                .map(|m| format!("{}:{}:{m}", incoming.source, incoming.channel.unwrap_or("")));
            let id = match &dedupe {
                Some(d) => d.clone(),
                None => format!("{}:{at_ms}:{:016x}", incoming.source, fastrand::u64(..)),
            };
            let events = commands::to_events(
                &outcome.changes,
                &EventMeta {
                    id: &id,
                    dedupe_key: dedupe.as_deref(),
                    at_ms,
                    actor: &p.id,
                    source: incoming.source,
                    channel: incoming.channel,
                },
            );
            let from = incoming.message_id.map(|m| InboundText {
                channel: incoming.channel.unwrap_or("").to_string(),
                message_id: m.to_string(),
                text_sha256: hex::encode(Sha256::digest(incoming.text.as_bytes())),
            });
            let appended = self
                .view
                .record(plan.basis(), &self.store, from.as_ref(), events)
                .await?;
            if matches!(appended, Appended::Events(n) if n > 0) {
                notices_queued = self
                    .send_notices(plan, &notice_channels, &outcome.notices, &id, now_ms)
                    .await;
            }
            match appended {
                Appended::Events(0) => tracing::info!(
                    channel = incoming.channel.unwrap_or("-"),
                    command,
                    "a repeated delivery of a command: nothing recorded again"
                ),
                Appended::Events(n) => recorded = n,
                Appended::IdSeenWithOtherText => {
                    tracing::warn!(
                        channel = incoming.channel.unwrap_or("-"),
                        command,
                        "a message id seen before came with other text: nothing recorded"
                    );
                    outcome.reply =
                        Reply::Private(commands::already_handled(parsed.lang(fallback)));
                }
            }
        }
        metrics::command(command, outcome_label(&outcome, person.is_some(), recorded));

        let private = matches!(outcome.reply, Reply::Private(_));
        let (text, digest) = match outcome.reply {
            Reply::Text(t) | Reply::Private(t) => (t, None),
            Reply::Digest => {
                let tasks = digest_tasks.unwrap_or_default();
                let week_ago = now_ms - 7 * 24 * 3600 * 1000;
                let activity = self.view.activity(week_ago, now_ms).await;
                let events = self.view.recent_events().await;
                let message =
                    plan.digest_now(channel, &tasks, &activity, &events, &absences, now)?;
                let text = message
                    .parts
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                (text, Some(message.parts))
            }
        };
        Ok(Answer {
            text,
            digest,
            command,
            recorded,
            person: person.map(|p| p.id.clone()),
            private,
            notices_queued,
        })
    }
}

impl ChatService {
    /// Puts each notice in its channels' outboxes, keyed by the command so that it is sent
    /// once. The command's changes are already recorded, so a notice that cannot be queued is
    /// logged, not answered as a failure.
    async fn send_notices(
        &self,
        plan: &Plan,
        channels: &[Vec<&ChannelConfig>],
        notices: &[Notice],
        command_id: &str,
        now_ms: i64,
    ) -> usize {
        let mut queued = 0;
        for (n, (notice, channels)) in notices.iter().zip(channels).enumerate() {
            for channel in channels {
                let parts = match plan.notice(channel, &notice.to, &notice.text) {
                    Ok(m) => m.parts,
                    Err(e) => {
                        tracing::error!(channel = %channel.name, "cannot render a notice: {e}");
                        continue;
                    }
                };
                let key = format!("notice:{}:{command_id}/{n}", channel.name);
                let messages = outbox_messages(&key, channel, parts, None, now_ms);
                match self.store.enqueue_reply(&messages).await {
                    Ok(n) => queued += n,
                    Err(e) => {
                        tracing::error!(channel = %channel.name, "cannot queue a notice: {e}")
                    }
                }
            }
        }
        queued
    }
}

/// Where each notice goes: the channel the command came through, or, without one (`weekbell
/// cmd`, the JSON API), every channel that covers the notice's task.
fn notice_channels<'p>(
    plan: &'p Plan,
    channel: Option<&'p ChannelConfig>,
    tasks: &[crate::tasks::Task],
    notices: &[Notice],
) -> Vec<Vec<&'p ChannelConfig>> {
    notices
        .iter()
        .map(|n| match channel {
            Some(c) => vec![c],
            None => {
                let task = tasks.iter().find(|t| t.id == n.task_id);
                plan.config
                    .channels
                    .values()
                    .filter(|c| task.is_some_and(|t| t.covered_by(c)))
                    .collect()
            }
        })
        .collect()
}

/// The configured person behind a sender, and the id to quote to an unrecognised one.
fn recognise<'p, 's>(
    plan: &'p Plan,
    sender: &SenderRef<'s>,
) -> (Option<&'p Person>, Option<&'s str>) {
    match sender {
        SenderRef::Person(id) => (plan.people.get(id), Some(*id)),
        SenderRef::Handles { platform, ids } => {
            let person = ids.iter().find_map(|id| {
                plan.people.all().iter().find(|p| {
                    p.handle(*platform)
                        .is_some_and(|h| same_handle(*platform, h, id))
                })
            });
            (person, ids.first().copied())
        }
    }
}

/// Whether someone in the plan has one of `ids` as their handle on `platform`.
pub(crate) fn knows(plan: &Plan, platform: Platform, ids: &[&str]) -> bool {
    let sender = SenderRef::Handles {
        platform,
        ids: ids.to_vec(),
    };
    recognise(plan, &sender).0.is_some()
}

/// Whether a configured handle names the sender id `id`. Telegram handles may be written
/// `@username`, and usernames are not case-sensitive there.
fn same_handle(platform: Platform, handle: &str, id: &str) -> bool {
    let handle = handle.trim();
    match platform {
        Platform::Telegram => handle.trim_start_matches('@').eq_ignore_ascii_case(id),
        _ => handle == id,
    }
}

fn command_name(parsed: &commands::Parsed, recognised: bool) -> &'static str {
    use commands::{Command, Parsed};
    if !recognised {
        return "unrecognised";
    }
    match parsed {
        Parsed::Command { command, .. } => match command {
            Command::Help => "help",
            Command::List(_) => "list",
            Command::Status => "status",
            Command::Done { .. } => "done",
            Command::Progress { .. } => "progress",
            Command::Block { .. } => "block",
            Command::Reopen { .. } => "reopen",
            Command::Note { .. } => "note",
            Command::Report { .. } => "report",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::Extend { .. } => "extend",
            Command::ApproveExtension { .. } => "approve_extension",
            Command::DenyExtension { .. } => "deny_extension",
            Command::Away { .. } => "away",
            Command::Back { .. } => "back",
        },
        Parsed::Usage { .. } => "usage",
        Parsed::Unknown { .. } => "unknown",
    }
}

fn outcome_label(outcome: &commands::Response, recognised: bool, recorded: usize) -> &'static str {
    if !recognised {
        "refused"
    } else if outcome.changes.is_empty() {
        "answered"
    } else if recorded == 0 {
        "duplicate"
    } else {
        "changed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    async fn service(dir: &std::path::Path) -> (Arc<Plan>, ChatService) {
        let tasks =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
        let config = dir.join("weekbell.toml");
        let text = format!(
            "timezone = \"UTC\"\nlocale = \"en\"\n[store]\nurl = \"sqlite://{db}\"\n[tasks]\nsource = \"{tasks}\"\n[tasks.columns]\nowners = \"owner\"\nunit = \"team\"\n[channels.terminal]\nplatform = \"console\"\n[[people]]\nid = \"alice\"\nname = \"Alice\"\n",
            db = dir.join("weekbell.db").display(),
            tasks = tasks.display(),
        );
        std::fs::write(&config, text).expect("write config");
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("time");
        let plan = Arc::new(Plan::load(&config, at.date_naive()).expect("plan"));
        let store = Store::open(&format!("sqlite://{}", dir.join("weekbell.db").display()))
            .await
            .expect("store");
        (plan, ChatService::new(store))
    }

    fn command<'a>(id: &'a str, text: &'a str) -> Incoming<'a> {
        Incoming {
            channel: Some("terminal"),
            sender: SenderRef::Person("alice"),
            message_id: Some(id),
            text,
            source: "chat",
        }
    }

    #[tokio::test]
    async fn the_change_committed_last_wins_even_when_it_arrived_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plan, chat) = service(dir.path()).await;
        let t = |s| {
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, s)
                .single()
                .expect("time")
        };

        let first = chat
            .handle(&plan, &command("m1", "progress API-101 40%"), t(5))
            .await
            .expect("first");
        assert_eq!(first.recorded, 1);
        // A command stamped earlier that reaches the view after the first one was recorded,
        // as concurrent requests do.
        let second = chat
            .handle(&plan, &command("m2", "progress API-101 70%"), t(1))
            .await
            .expect("second");
        assert_eq!(second.recorded, 1);

        let live = chat
            .view
            .tasks(plan.basis(), &chat.store, t(6).timestamp_millis())
            .await
            .expect("view");
        let task = live.iter().find(|t| t.id == "API-101").expect("API-101");
        assert_eq!(task.progress, Some(70));

        // The store, merged afresh from the file, agrees with the live view.
        let fresh = crate::state::Current::load(plan.basis(), &chat.store)
            .await
            .expect("load");
        let task = fresh
            .tasks
            .iter()
            .find(|t| t.id == "API-101")
            .expect("API-101");
        assert_eq!(task.progress, Some(70));
        let times: Vec<i64> = fresh.events.iter().map(|e| e.at_ms).collect();
        assert_eq!(
            times,
            [t(5).timestamp_millis(), t(5).timestamp_millis() + 1]
        );
    }
}

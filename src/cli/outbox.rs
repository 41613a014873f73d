//! `weekbell outbox`: what is waiting, what was sent, what died and why.

use super::output::{table, truncate};
use super::{Cli, CliError, runtime};
use chrono::{DateTime, Utc};
use weekbell::clock::{Clock, SystemClock};
use weekbell::config;
use weekbell::plan::PlanError;
use weekbell::store::{OutboxFilter, OutboxStatus, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List messages, newest first (the default action).
    List {
        /// pending, sent, dead or dropped.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a dead (or pending) message again, now.
    Retry { id: String },
    /// Never send this message (kept in the outbox for the record).
    Drop { id: String },
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    // Only the store URL is needed: the outbox stays readable while the task list is broken.
    let cfg = config::load(&cli.config).map_err(|e| CliError::from(PlanError::from(e)))?;
    let rt = runtime()?;
    rt.block_on(async {
        let store = Store::open(cfg.store_url.expose()).await?;
        let now = SystemClock.now().timestamp_millis();
        match &args.action {
            None => list(&store, None, None, 50, args.json).await,
            Some(Action::List {
                status,
                channel,
                limit,
            }) => {
                let status = match status.as_deref() {
                    None => None,
                    Some(s) => Some(s.parse::<OutboxStatus>().map_err(|_| {
                        CliError::Usage(format!(
                            "unknown status `{s}`: use pending, sent, dead or dropped"
                        ))
                    })?),
                };
                list(&store, status, channel.clone(), *limit, args.json).await
            }
            Some(Action::Retry { id }) => {
                // A retried dead letter gets a fresh 12-hour window.
                if store.outbox_retry(id, now, 12 * 3600 * 1000).await? {
                    outln!("{id}: pending again; a running daemon sends it within seconds")?;
                    Ok(())
                } else {
                    Err(CliError::Usage(format!(
                        "{id}: no such message, or it was already sent"
                    )))
                }
            }
            Some(Action::Drop { id }) => {
                if store.outbox_drop(id, now).await? {
                    outln!("{id}: dropped; it will not be sent")?;
                    Ok(())
                } else {
                    Err(CliError::Usage(format!(
                        "{id}: no such message, or it was already sent"
                    )))
                }
            }
        }
    })
}

async fn list(
    store: &Store,
    status: Option<OutboxStatus>,
    channel: Option<String>,
    limit: i64,
    json: bool,
) -> Result<(), CliError> {
    let messages = store
        .outbox(OutboxFilter {
            status,
            channel,
            limit,
        })
        .await?;
    if json {
        // A reply's address (a DingTalk session webhook) is a credential: not printed.
        let messages: Vec<_> = messages
            .into_iter()
            .map(|mut m| {
                if let Ok(mut payload) = serde_json::from_str::<serde_json::Value>(&m.payload)
                    && let Some(fields) = payload.as_object_mut()
                    && fields.remove("reply_via").is_some()
                {
                    m.payload = payload.to_string();
                }
                m
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&messages).unwrap_or_else(|_| "[]".into())
        )?;
        return Ok(());
    }
    let counts = store.outbox_counts().await?;
    let mut rows = vec![
        [
            "MESSAGE",
            "CHANNEL",
            "STATUS",
            "FAILED TRIES",
            "WHEN",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for m in &messages {
        let when = match (m.status, m.sent_ms) {
            (OutboxStatus::Sent, Some(t)) => format!("sent {}", time(t)),
            (OutboxStatus::Pending, _) => format!("next {}", time(m.next_try_ms)),
            _ => String::new(),
        };
        rows.push(vec![
            m.id.clone(),
            m.channel.clone(),
            format!(
                "{}{}",
                m.status.as_str(),
                if m.late { " (late)" } else { "" }
            ),
            m.attempts.to_string(),
            when,
            truncate(m.last_error.as_deref().unwrap_or(""), 80),
        ]);
    }
    out!("{}", table(&rows))?;
    outln!(
        "pending {} · sent {} · dead {} · dropped {}",
        counts.pending,
        counts.sent,
        counts.dead,
        counts.dropped
    )?;
    Ok(())
}

fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

//! `weekbell history [ID]`: every recorded change, oldest first — who, when, from where, what
//! it was and what it became.

use super::output::{table, truncate};
use super::{Cli, CliError, runtime};
use serde::Serialize;
use weekbell::clock::{Clock, SystemClock};
use weekbell::plan::Plan;
use weekbell::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this task (or, for weekly reports, this unit).
    id: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct EventJson<'a> {
    at: String,
    task: &'a str,
    field: &'a str,
    old: Option<&'a str>,
    new: Option<&'a str>,
    actor: &'a str,
    actor_name: Option<&'a str>,
    source: &'a str,
    channel: Option<&'a str>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let now = SystemClock.now();
    let plan = Plan::load(&cli.config, now.date_naive())?;
    let rt = runtime()?;
    let events = rt.block_on(async {
        match Store::open_existing(plan.config.store_url.expose()).await? {
            Some(store) => {
                let events = store.events(args.id.as_deref(), None).await;
                store.close().await;
                events
            }
            None => Ok(Vec::new()),
        }
    })?;
    let zone = plan.config.timezone;
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| ms.to_string())
    };
    let name = |id: &str| plan.people.get(id).map(|p| p.name.as_str());
    if args.json {
        let rows: Vec<EventJson> = events
            .iter()
            .map(|e| EventJson {
                at: at(e.at_ms),
                task: &e.task_id,
                field: &e.field,
                old: e.old_value.as_deref(),
                new: e.new_value.as_deref(),
                actor: &e.actor,
                actor_name: name(&e.actor),
                source: &e.source,
                channel: e.channel.as_deref(),
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        )?;
        return Ok(());
    }
    let mut rows = vec![
        ["TIME", "TASK", "FIELD", "OLD", "NEW", "WHO", "FROM"]
            .map(String::from)
            .to_vec(),
    ];
    for e in &events {
        rows.push(vec![
            at(e.at_ms),
            e.task_id.clone(),
            e.field.clone(),
            truncate(e.old_value.as_deref().unwrap_or("—"), 20),
            truncate(e.new_value.as_deref().unwrap_or("—"), 40),
            name(&e.actor).unwrap_or(&e.actor).to_string(),
            match &e.channel {
                Some(c) => format!("{} {c}", e.source),
                None => e.source.clone(),
            },
        ]);
    }
    out!("{}", table(&rows))?;
    outln!(
        "{} change(s){} ({})",
        events.len(),
        args.id
            .as_deref()
            .map(|id| format!(" to {id}"))
            .unwrap_or_default(),
        zone
    )?;
    Ok(())
}

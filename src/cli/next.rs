//! `weekbell next`: upcoming slots.

use super::CliError;
use super::{Cli, instant};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use weekbell::plan::Plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this schedule.
    #[arg(long)]
    schedule: Option<String>,
    /// How many slots to list.
    #[arg(long, default_value_t = 10)]
    count: usize,
    /// List slots strictly after this instant (RFC 3339 with offset) instead of now.
    #[arg(long)]
    after: Option<DateTime<FixedOffset>>,
    /// Print a JSON array of {schedule, at, local}.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SlotJson {
    schedule: String,
    /// The instant, RFC 3339 with the schedule zone's offset.
    at: String,
    /// The wall-clock time in the schedule's zone.
    local: String,
    key: String,
    /// The nominal time, when a holiday rule moved the slot.
    moved_from: Option<String>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let after = instant(args.after.as_ref());
    let plan = Plan::load(&cli.config, after.date_naive())?;
    let slots = plan.upcoming(args.schedule.as_deref(), after, args.count)?;
    let rows: Vec<SlotJson> = slots
        .iter()
        .map(|s| SlotJson {
            schedule: s.schedule.clone(),
            at: s.at_local().to_rfc3339(),
            local: s.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            key: s.key(),
            moved_from: s
                .moved_from
                .map(|m| m.format("%Y-%m-%dT%H:%M:%S").to_string()),
        })
        .collect();
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        )?;
        return Ok(());
    }
    if rows.is_empty() {
        outln!("no upcoming slots")?;
        return Ok(());
    }
    let mut table = vec![vec![
        "SCHEDULE".to_string(),
        "LOCAL TIME".to_string(),
        "INSTANT".to_string(),
        "NOTE".to_string(),
    ]];
    for (s, r) in slots.iter().zip(&rows) {
        let note = match s.moved_from {
            Some(m) => format!("moved from {} (holiday)", m.format("%a %Y-%m-%d %H:%M")),
            None => String::new(),
        };
        table.push(vec![
            r.schedule.clone(),
            s.local.format("%a %Y-%m-%d %H:%M").to_string(),
            r.at.clone(),
            note,
        ]);
    }
    out!("{}", super::output::table(&table))?;
    Ok(())
}

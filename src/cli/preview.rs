//! `weekbell preview`: the exact messages a slot would post, without posting them.

use super::CliError;
use super::{Cli, instant};
use chrono::{DateTime, Duration, FixedOffset};
use serde::Serialize;
use weekbell::plan::{Plan, PlanError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schedule to preview; all schedules when left out.
    schedule: Option<String>,
    /// Preview the first slot at or after this instant (RFC 3339 with offset) instead of now.
    #[arg(long)]
    at: Option<DateTime<FixedOffset>>,
    /// Only this channel.
    #[arg(long)]
    channel: Option<String>,
    /// Print each message part as the JSON request body the platform receives.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PartJson {
    schedule: String,
    slot: String,
    at: String,
    channel: String,
    platform: &'static str,
    recipient: Option<String>,
    part: usize,
    parts: usize,
    body: serde_json::Value,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let at = instant(args.at.as_ref());
    let mut plan = Plan::load(&cli.config, at.date_naive())?;
    super::anchor_read_only(&mut plan)?;
    let names: Vec<String> = match &args.schedule {
        Some(s) => vec![s.clone()],
        None => plan
            .config
            .schedules
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    };
    let current = super::current_tasks(&plan)?;
    let mut json = Vec::new();
    for name in &names {
        let (_, schedule) = plan.schedule_config(name)?;
        // "At or after": a slot exactly at `--at` is the one to preview.
        let slot = schedule
            .next_after(at - Duration::seconds(1), &plan.calendar)
            .ok_or_else(|| PlanError::NoSlot(name.clone()))?;
        let rendered = plan.messages(&slot, args.channel.as_deref(), &current)?;
        for cm in &rendered {
            if !args.json {
                outln!(
                    "━━ {} → {} ({}) ━━ {} message(s), slot {} {}",
                    slot.schedule,
                    cm.channel.name,
                    cm.channel.platform,
                    cm.messages.len(),
                    slot.at_local().format("%Y-%m-%d %H:%M %:z"),
                    schedule.tz,
                )?;
            }
            for msg in &cm.messages {
                for part in &msg.parts {
                    if args.json {
                        json.push(PartJson {
                            schedule: slot.schedule.clone(),
                            slot: slot.key(),
                            at: slot.at_local().to_rfc3339(),
                            channel: cm.channel.name.clone(),
                            platform: cm.channel.platform.as_str(),
                            recipient: msg.recipient.clone(),
                            part: part.part,
                            parts: part.parts,
                            body: cm
                                .channel
                                .platform
                                .request_body_in(part, cm.channel.dialect()),
                        });
                    } else {
                        outln!()?;
                        outln!("{}", part.text.trim_end())?;
                    }
                }
                if !args.json {
                    outln!()?;
                    outln!("────────")?;
                }
            }
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".into())
        )?;
    }
    Ok(())
}

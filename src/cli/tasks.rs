//! `weekbell tasks`: the task list as weekbell sees it.

use super::CliError;
use super::output::{table, truncate};
use super::{Cli, instant};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::collections::BTreeMap;
use weekbell::plan::Plan;
use weekbell::tasks::warning::Judge;
use weekbell::tasks::{Extra, ListDate, Status, Task};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Judge overdue as of this instant (RFC 3339) instead of now; dates use the config's zone.
    #[arg(long)]
    at: Option<DateTime<FixedOffset>>,
    /// Only tasks with this status (todo, in_progress, blocked, done, ongoing, cancelled).
    #[arg(long, value_parser = parse_status)]
    status: Option<Status>,
    /// Only tasks of this responsible unit (exact text).
    #[arg(long)]
    unit: Option<String>,
    /// Only open tasks past their deadline.
    #[arg(long)]
    overdue: bool,
    /// Only tasks of this [[lists]] entry (its name; `tasks` for the [tasks] list).
    #[arg(long, value_name = "NAME")]
    list: Option<String>,
    /// Only tasks at this warning level, by name or label (`red`, `红色预警`), or `none`.
    #[arg(long, value_name = "LEVEL")]
    warning: Option<String>,
    /// Print a JSON array of tasks.
    #[arg(long)]
    json: bool,
}

/// A `--status` value that names no status.
#[derive(Debug, thiserror::Error)]
#[error("unknown status `{0}`; use one of: {names}", names = Status::ALL.map(Status::as_str).join(", "))]
struct UnknownStatus(String);

fn parse_status(s: &str) -> Result<Status, UnknownStatus> {
    Status::from_name(s).ok_or_else(|| UnknownStatus(s.to_string()))
}

#[derive(Serialize)]
struct TaskJson<'a> {
    id: &'a str,
    title: &'a str,
    unit: &'a str,
    leader: Option<&'a str>,
    /// Every leader, `leader` first (包片 and 包线, and the area's from `[areas]`).
    leaders: Vec<&'a str>,
    owners: Vec<&'a str>,
    due: Option<String>,
    status: Status,
    progress: Option<u8>,
    notes: &'a str,
    overdue: bool,
    category: &'a str,
    area: &'a str,
    co_units: &'a [String],
    measures: &'a str,
    progress_text: &'a str,
    /// The deadline cell as written (`2026年12月底前`).
    due_text: &'a str,
    /// Every column that maps to no field, header → value.
    extra: &'a Extra,
    /// Leader and owners with a known mobile (configured or from the list's phone column),
    /// name → mobile.
    mobiles: BTreeMap<&'a str, &'a str>,
    /// The [[lists]] entry's name; null for the [tasks] list.
    list: Option<&'a str>,
    /// The task's warning level's name, or `none`.
    warning: &'a str,
    /// The deadline before any extension (the same as `due` when none was granted).
    due_original: Option<String>,
    /// A deadline extension asked for and not yet answered, or null.
    extension: Option<ExtensionJson<'a>>,
}

#[derive(Serialize)]
struct ExtensionJson<'a> {
    to: String,
    reason: &'a str,
    /// The person id of who asked.
    by: &'a str,
    /// RFC 3339, in the config's zone.
    at: String,
    /// Asked after the deadline had passed.
    late: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let at = instant(args.at.as_ref());
    // The config is needed to know its zone, so load it once with the UTC date, then judge
    // "today" in the configured zone.
    let mut plan = Plan::load(&cli.config, at.date_naive())?;
    super::anchor_read_only(&mut plan)?;
    let today = at.with_timezone(&plan.config.timezone).date_naive();
    // Chat updates recorded by the daemon are part of the list.
    let current = super::current_tasks(&plan)?;
    let levels = &plan.config.warning_levels;
    if let Some(word) = args.warning.as_deref()
        && word != "none"
        && !levels.iter().any(|l| l.is_named(word))
    {
        let mut names: Vec<&str> = vec!["none"];
        for l in levels {
            if !names.contains(&l.name.as_str()) {
                names.push(&l.name);
            }
        }
        return Err(CliError::Usage(format!(
            "no warning level `{word}`; levels are: {}",
            names.join(", ")
        )));
    }
    let judge = Judge::new(
        levels,
        &current.events,
        plan.config.timezone,
        plan.tasks.list_date.map(ListDate::date),
    );
    let level_name = |t: &Task| judge.level(t, today).map_or("none", |l| l.name.as_str());
    let selected: Vec<&Task> = current
        .tasks
        .iter()
        .filter(|t| args.status.is_none_or(|s| t.status == s))
        .filter(|t| args.unit.as_ref().is_none_or(|u| t.unit == *u))
        .filter(|t| !args.overdue || t.is_overdue(today))
        .filter(|t| {
            args.list
                .as_deref()
                .is_none_or(|l| t.list.as_deref().unwrap_or(weekbell::config::UNNAMED_LIST) == l)
        })
        .filter(|t| {
            args.warning.as_deref().is_none_or(|word| {
                let name = level_name(t);
                name == word || levels.iter().any(|l| l.name == name && l.is_named(word))
            })
        })
        .collect();
    if args.json {
        let rows: Vec<TaskJson> = selected
            .iter()
            .map(|t| TaskJson {
                id: &t.id,
                title: &t.title,
                unit: &t.unit,
                leader: t.leader.as_ref().map(|l| l.name.as_str()),
                leaders: t.leaders().map(|l| l.name.as_str()).collect(),
                owners: t.owners.iter().map(|o| o.name.as_str()).collect(),
                due: t.due.map(|d| d.format("%Y-%m-%d").to_string()),
                status: t.status,
                progress: t.progress,
                notes: &t.notes,
                overdue: t.is_overdue(today),
                category: &t.category,
                area: &t.details.area,
                co_units: &t.details.co_units,
                measures: &t.details.measures,
                progress_text: &t.details.progress_text,
                due_text: &t.details.due_text,
                extra: &t.details.extra,
                list: t.list.as_deref(),
                mobiles: t
                    .leaders()
                    .chain(&t.owners)
                    .filter_map(|a| {
                        let p = match &a.person {
                            Some(id) => plan.people.resolve(id),
                            None => plan.people.resolve(&a.name),
                        }?;
                        Some((a.name.as_str(), p.mobile.as_deref()?))
                    })
                    .collect(),
                warning: level_name(t),
                due_original: t.due_original().map(|d| d.format("%Y-%m-%d").to_string()),
                extension: t.extension.pending.as_ref().map(|r| ExtensionJson {
                    to: r.to.format("%Y-%m-%d").to_string(),
                    reason: &r.reason,
                    by: &r.by,
                    at: chrono::DateTime::from_timestamp_millis(r.at_ms)
                        .map(|utc| utc.with_timezone(&plan.config.timezone).to_rfc3339())
                        .unwrap_or_default(),
                    late: r.late,
                }),
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        )?;
        return Ok(());
    }
    let mut rows = vec![
        ["ID", "STATUS", "DUE", "UNIT", "LEADER", "OWNERS", "TITLE"]
            .map(String::from)
            .to_vec(),
    ];
    for t in &selected {
        let due = match t.due {
            Some(d) if t.is_overdue(today) => format!("{d} (+{}d)", t.days_overdue(today)),
            Some(d) => d.to_string(),
            None => "—".to_string(),
        };
        rows.push(vec![
            t.id.clone(),
            t.status.to_string(),
            due,
            t.unit.clone(),
            t.leader
                .as_ref()
                .map(|l| l.name.clone())
                .unwrap_or_default(),
            t.owners
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            truncate(&t.title, 40),
        ]);
    }
    out!("{}", table(&rows))?;
    let overdue = selected.iter().filter(|t| t.is_overdue(today)).count();
    outln!("{} tasks, {overdue} overdue as of {today}", selected.len())?;
    Ok(())
}

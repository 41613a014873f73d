//! The command line: argument parsing, output formatting and exit codes. The work itself is
//! done by the library (`weekbell::plan`); this module only presents it.

mod check;
mod next;
mod output;
mod preview;
mod tasks;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use weekbell::plan::PlanError;

/// Exit code for bad configuration or input (DESIGN §9).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a failure at run time.
pub const EXIT_RUNTIME: u8 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "weekbell",
    version,
    about = "Weekly reminders and status digests for teams that run on a task list",
    long_about = "weekbell reads a weekly task list (Excel, CSV, …), posts reminders to task owners and a status digest to group chats on a schedule, and takes status commands typed in the chat.",
    after_help = "Examples:\n  weekbell check\n  weekbell next --count 10\n  weekbell preview friday-digest\n  weekbell --config config/examples/slack.toml tasks --overdue"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        env = "WEEKBELL_CONFIG",
        default_value = "config/weekbell.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config, task list, calendar and templates, and summarise them.
    #[command(
        after_help = "Example:\n  weekbell check\n\nExits 0 when everything loads, 2 with the file, line and column of each problem otherwise."
    )]
    Check,
    /// List upcoming slots, so a schedule can be checked before it is trusted.
    #[command(
        after_help = "Examples:\n  weekbell next\n  weekbell next --schedule monday-reminders --count 20 --after 2026-09-28T00:00:00+08:00 --json"
    )]
    Next(next::Args),
    /// Show the exact messages each channel would receive for a slot.
    #[command(
        after_help = "Examples:\n  weekbell preview\n  weekbell preview friday-digest --at 2026-12-04T08:00:00+08:00\n  weekbell preview monday-reminders --channel county --json"
    )]
    Preview(preview::Args),
    /// List the tasks as weekbell sees them.
    #[command(
        after_help = "Examples:\n  weekbell tasks\n  weekbell tasks --overdue --unit 县生态环境分局\n  weekbell tasks --status blocked --json"
    )]
    Tasks(tasks::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check => check::run(&cli),
        Command::Next(args) => next::run(&cli, args),
        Command::Preview(args) => preview::run(&cli, args),
        Command::Tasks(args) => tasks::run(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &PlanError) -> u8 {
    match e {
        PlanError::Config(_)
        | PlanError::Tasks(_)
        | PlanError::Calendar(_)
        | PlanError::Render(_)
        | PlanError::Template(_)
        | PlanError::UnknownSchedule(_)
        | PlanError::UnknownChannel(_) => EXIT_BAD_INPUT,
        PlanError::NoSlot(_) => EXIT_RUNTIME,
    }
}

/// Prints an error for a person: config problems as underlined source snippets.
fn report(e: &PlanError) {
    if let PlanError::Config(c) = e {
        let reports = c.reports();
        if !reports.is_empty() {
            for r in reports {
                eprintln!("{:?}", miette::Report::new(r));
            }
            return;
        }
    }
    eprintln!("error: {e}");
}

/// `--at` and `--after` values: RFC 3339 with an offset, or `now` when absent.
pub fn instant(arg: Option<&DateTime<chrono::FixedOffset>>) -> DateTime<Utc> {
    use weekbell::clock::{Clock, SystemClock};
    arg.map_or_else(|| SystemClock.now(), |a| a.with_timezone(&Utc))
}

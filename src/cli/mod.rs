//! The command line: argument parsing, output formatting and exit codes. The work itself is
//! done by the library (`weekbell::plan`); this module only presents it.

/// `println!` to standard output, returning the error instead of panicking: `println!` panics
/// when the reader has gone (`weekbell check | head -1`), which `main` turns into a quiet exit.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::CliError::Stdout)
    }};
}

/// `print!` to standard output, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::CliError::Stdout)
    }};
}

mod assess;
mod check;
mod cmd;
mod export;
mod history;
mod init;
mod next;
mod outbox;
mod output;
mod preview;
mod run;
mod send;
mod tasks;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use weekbell::daemon::DaemonError;
use weekbell::init::InitError;
use weekbell::plan::PlanError;
use weekbell::store::StoreError;

/// Exit code for bad configuration or input (README, "Commands": 0, 1 or 2).
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
    /// Run the daemon: fire slots, deliver the outbox, reload files when they change.
    #[command(
        after_help = "Examples:\n  weekbell run\n  WEEKBELL_LOG=debug weekbell --config /etc/weekbell/weekbell.toml run\n\nStops on SIGTERM or Ctrl-C: no new slots are fired, sends in flight get 10 seconds, the rest stays in the outbox for the next start."
    )]
    Run,
    /// Fire a schedule now, once, and deliver its messages (recorded as a manual slot).
    #[command(
        after_help = "Examples:\n  weekbell send friday-digest\n  weekbell send monday-reminders --channel county"
    )]
    Send(send::Args),
    /// Inspect the outbox, retry a dead letter, or drop a message.
    #[command(
        after_help = "Examples:\n  weekbell outbox\n  weekbell outbox list --status dead --json\n  weekbell outbox retry 'friday-digest@2026-12-04T17:00/county/0/1'\n  weekbell outbox drop 'friday-digest@2026-12-04T17:00/county/0/1'"
    )]
    Outbox(outbox::Args),
    /// List the tasks as weekbell sees them.
    #[command(
        after_help = "Examples:\n  weekbell tasks\n  weekbell tasks --overdue --unit 县生态环境分局\n  weekbell tasks --status blocked --json"
    )]
    Tasks(tasks::Args),
    /// Write the task list with the chat's updates merged in, in the source's own columns.
    #[command(
        after_help = "Examples:\n  weekbell export -o merged.xlsx\n  weekbell export -o merged.xlsx --add-columns\n  weekbell export --format csv -o merged.csv --history history.csv\n\nAn xlsx list exported as xlsx is a copy of the office's workbook with only the changed cells rewritten (fonts, widths, merges, print setup and other sheets as they were); its history goes to a CSV file beside it (merged-历史.csv, or --history). Other lists are rebuilt: the xlsx holds the list (changed cells shaded) and a history sheet. CSV is UTF-8 with a byte-order mark so that Excel shows Chinese correctly. The task list itself is never overwritten."
    )]
    Export(export::Args),
    /// Run a chat command locally as a configured person, and print the answer.
    #[command(
        after_help = "Examples:\n  weekbell cmd --as sun.qiang \"完成 12 已清理\"\n  weekbell cmd --as zhang.mingyuan \"list overdue\"\n  weekbell cmd --as li.na --channel county \"周报 本周完成3处整改\" --json\n\nChanges are recorded like a chat command's (source `cli`) and show in `tasks`, `history` and the next digest."
    )]
    Cmd(cmd::Args),
    /// Show every recorded change to tasks (or to one task), oldest first.
    #[command(
        after_help = "Examples:\n  weekbell history\n  weekbell history 12\n  weekbell history --json"
    )]
    History(history::Args),
    /// Write a commented starting config from a task list: its columns, people and schedules.
    #[command(
        after_help = "Examples:\n  weekbell init my-list.xlsx\n  weekbell init 整改清单.xlsx -o county.toml --platform dingtalk\n  weekbell init jira-export.csv --platform slack --timezone Europe/Berlin\n\nThe config is loaded again before it is written, and an existing file is never overwritten."
    )]
    Init(init::Args),
    /// Assess each unit (or leader) over a period: figures, score and ranking (考核).
    #[command(
        after_help = "Examples:\n  weekbell assess\n  weekbell assess --from 2026-12-01 --to 2026-12-31 --by leader\n  weekbell assess --json\n  weekbell assess --from 2026-10-01 --to 2026-12-31 -o 四季度考核.xlsx\n\nThe list as it stood at the end of --to (the file with the events recorded by then), and the events of the period; the definitions are in the README, \"Assessment (考核)\"."
    )]
    Assess(assess::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check => check::run(&cli),
        Command::Next(args) => next::run(&cli, args),
        Command::Preview(args) => preview::run(&cli, args),
        Command::Tasks(args) => tasks::run(&cli, args),
        Command::Export(args) => export::run(&cli, args),
        Command::Cmd(args) => cmd::run(&cli, args),
        Command::History(args) => history::run(&cli, args),
        Command::Assess(args) => assess::run(&cli, args),
        Command::Init(args) => init::run(&cli, args),
        Command::Run => run::run(&cli),
        Command::Send(args) => send::run(&cli, args),
        Command::Outbox(args) => outbox::run(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped reading (`| head`): what it wanted was printed.
        Err(CliError::Stdout(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Plan(Box<PlanError>),
    #[error(transparent)]
    Daemon(Box<DaemonError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Init(Box<InitError>),
    /// A failure at run time that was already explained on stdout/stderr.
    #[error("{0}")]
    Failed(String),
    /// Bad input on the command line.
    #[error("{0}")]
    Usage(String),
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        CliError::Plan(Box::new(e))
    }
}

impl From<InitError> for CliError {
    fn from(e: InitError) -> Self {
        CliError::Init(Box::new(e))
    }
}

impl From<DaemonError> for CliError {
    fn from(e: DaemonError) -> Self {
        CliError::Daemon(Box::new(e))
    }
}

fn exit_code(e: &CliError) -> u8 {
    match e {
        CliError::Plan(p) => plan_exit_code(p),
        CliError::Daemon(d) => match d.as_ref() {
            DaemonError::Plan(p) => plan_exit_code(p),
            _ => EXIT_RUNTIME,
        },
        CliError::Usage(_) => EXIT_BAD_INPUT,
        CliError::Init(i) => match i.as_ref() {
            InitError::List(p) => plan_exit_code(p),
            InitError::Exists { .. } | InitError::ListUnreadable { .. } => EXIT_BAD_INPUT,
            InitError::Unloadable(_) | InitError::Write { .. } => EXIT_RUNTIME,
        },
        CliError::Store(_) | CliError::Failed(_) | CliError::Stdout(_) => EXIT_RUNTIME,
    }
}

fn plan_exit_code(e: &PlanError) -> u8 {
    match e {
        PlanError::Config(_)
        | PlanError::Tasks(_)
        | PlanError::TasksMissing { .. }
        | PlanError::Calendar(_)
        | PlanError::Render(_)
        | PlanError::Template(_)
        | PlanError::UnknownSchedule(_)
        | PlanError::UnknownChannel(_) => EXIT_BAD_INPUT,
        PlanError::NoSlot(_) => EXIT_RUNTIME,
    }
}

/// Prints an error for a person: config problems as underlined source snippets.
fn report(e: &CliError) {
    let config_error = match e {
        CliError::Plan(p) => match p.as_ref() {
            PlanError::Config(c) => Some(c),
            _ => None,
        },
        CliError::Daemon(d) => match d.as_ref() {
            DaemonError::Plan(PlanError::Config(c)) => Some(c),
            _ => None,
        },
        _ => None,
    };
    if let Some(c) = config_error {
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

/// Logs go to stderr; `WEEKBELL_LOG` (or `RUST_LOG`) sets the filter, `info` by default, and
/// `WEEKBELL_LOG_FORMAT=json` prints one JSON object per line for log collectors.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("WEEKBELL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let json = std::env::var("WEEKBELL_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A tokio runtime for the commands that talk to the store or the network.
/// The task list as it stands: the file with the events in the store applied, or the file
/// alone when no database exists yet (nothing has been recorded, and reading must not create
/// one).
pub fn current_tasks(plan: &weekbell::plan::Plan) -> Result<weekbell::state::Current, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        match weekbell::store::Store::open_existing(plan.config.store_url.expose()).await? {
            Some(store) => {
                let current = weekbell::state::Current::load(plan.basis(), &store).await;
                store.close().await;
                Ok(current?)
            }
            None => Ok(weekbell::state::Current::file_only(&plan.tasks.tasks)),
        }
    })
}

/// Opens the store for a command that writes to it (`send`, `cmd`), and gives the list's
/// relative deadlines the days the store remembers for their rows, remembering the rows it sees
/// for the first time (`state::anchor_deadlines`), as the daemon does.
pub async fn open_store_remembering(
    plan: &mut weekbell::plan::Plan,
    now_ms: i64,
) -> Result<weekbell::store::Store, CliError> {
    let store = weekbell::store::Store::open(plan.config.store_url.expose()).await?;
    weekbell::state::anchor_deadlines(&mut plan.tasks, &store, &plan.config, true, now_ms).await?;
    Ok(store)
}

/// Reads the list's relative deadlines against the days the store remembers for their rows
/// (`state::anchor_deadlines`), for the commands that only read: nothing is remembered, and
/// without a database (nothing seen yet) the file's reading stands and none is created.
pub fn anchor_read_only(plan: &mut weekbell::plan::Plan) -> Result<(), CliError> {
    if plan.tasks.tasks.iter().all(|t| t.due_anchored.is_none()) {
        return Ok(());
    }
    let rt = runtime()?;
    rt.block_on(async {
        if let Some(store) =
            weekbell::store::Store::open_existing(plan.config.store_url.expose()).await?
        {
            let anchored =
                weekbell::state::anchor_deadlines(&mut plan.tasks, &store, &plan.config, false, 0)
                    .await;
            store.close().await;
            anchored?;
        }
        Ok(())
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

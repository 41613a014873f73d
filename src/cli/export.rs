//! `weekbell export`: the task list with the chat's updates merged in, for the office to fold
//! into its master sheet. The rules are in `weekbell::export`'s docs.

use super::{Cli, CliError, runtime};
use std::path::PathBuf;
use weekbell::clock::{Clock, SystemClock};
use weekbell::config::{Config, ListConfig};
use weekbell::export::{self, ExportError, Format};
use weekbell::plan::Plan;
use weekbell::store::{Store, TaskEvent};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// xlsx (a copy of an xlsx list with the changed cells rewritten; for other lists the
    /// list plus a history sheet) or csv (the list, UTF-8 with a byte-order mark); by default
    /// taken from the extension of --output (.xlsx, .xlsm or .csv).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// The file to write. It is replaced whole; the task list itself is refused.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: PathBuf,
    /// Also write every recorded event to this CSV file (a rebuilt xlsx export has them on
    /// its history sheet already; an in-place copy of an xlsx list writes them beside the
    /// output, as NAME-历史.csv or NAME-history.csv, unless this names the file).
    #[arg(long, value_name = "FILE.csv")]
    history: Option<PathBuf>,
    /// When the list has no column for a changed field (status, progress, notes), append one
    /// to the copy of an xlsx list. Without it such values are listed in the output, not
    /// written. (Rebuilt exports of other formats always append.)
    #[arg(long)]
    add_columns: bool,
    /// Which list to write, by its [[lists]] name, when the config has several; each list is
    /// written back in its own file's columns.
    #[arg(long, value_name = "NAME")]
    list: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Xlsx,
    Csv,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let format = match args.format {
        Some(FormatArg::Xlsx) => Format::Xlsx,
        Some(FormatArg::Csv) => Format::Csv,
        None => Format::from_path(&args.output).ok_or_else(|| {
            CliError::Usage(format!(
                "cannot tell the format of {} from its name; add --format xlsx or --format csv",
                args.output.display()
            ))
        })?,
    };
    let now = SystemClock.now();
    let plan = Plan::load(&cli.config, now.date_naive())?;
    let today = now.with_timezone(&plan.config.timezone).date_naive();
    let list = chosen_list(&plan.config, args.list.as_deref())?;
    let source = &list.tasks.source;
    // Refused before anything is read, so a typo costs nothing.
    export::check_target(&args.output, source).map_err(cli_error)?;
    if let Some(h) = &args.history {
        export::check_target(h, source).map_err(cli_error)?;
        if export::same_file(h, &args.output) {
            return Err(CliError::Usage(format!(
                "--history and --output both name {}; give the history its own file",
                h.display()
            )));
        }
    }

    let (events, store_note) = recorded_events(plan.config.store_url.expose())?;
    let events = events_of(&plan.config, list, events);
    let options = export::Options {
        format,
        add_columns: args.add_columns,
    };
    let export = export::prepare(&plan.config, list, &plan.people, today, &events, options)
        .map_err(cli_error)?;
    let summary = export.summary();
    // An in-place copy stays the office's workbook, so the history goes to a file of its own.
    let history_file = match &args.history {
        Some(h) => Some(h.clone()),
        None if summary.in_place => {
            let h = history_beside(&args.output, &summary.history_sheet);
            export::check_target(&h, source).map_err(cli_error)?;
            Some(h)
        }
        None => None,
    };
    export.write(&args.output).map_err(cli_error)?;
    if let Some(h) = &history_file {
        export.write_history_csv(h).map_err(cli_error)?;
    }

    let history = match (format, &history_file) {
        (_, Some(h)) => format!("; history in {}", h.display()),
        (Format::Xlsx, None) => format!("; history on sheet {}", summary.history_sheet),
        (Format::Csv, None) => String::new(),
    };
    outln!(
        "wrote {} ({format}): {summary}{store_note}{history}",
        args.output.display()
    )?;
    Ok(())
}

/// `merged.xlsx` → `merged-历史.csv` (the history sheet's name) in the same directory.
fn history_beside(output: &std::path::Path, sheet: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "export".into(), |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}-{sheet}.csv"))
}

fn cli_error(e: ExportError) -> CliError {
    if e.is_bad_input() {
        CliError::Usage(e.to_string())
    } else {
        CliError::Failed(e.to_string())
    }
}

/// Every recorded event, and a note for the summary when there is no database yet (a
/// read-only command does not create one).
fn recorded_events(url: &str) -> Result<(Vec<TaskEvent>, &'static str), CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let Some(store) = Store::open_existing(url).await? else {
            return Ok((Vec::new(), " (no database yet, so nothing recorded)"));
        };
        let events = store.events(None, None).await;
        store.close().await;
        Ok((events?, ""))
    })
}

/// The list `--list` names, or the only one; with several and no `--list`, which to choose.
fn chosen_list<'c>(config: &'c Config, name: Option<&str>) -> Result<&'c ListConfig, CliError> {
    let names = || {
        config
            .lists
            .iter()
            .map(|l| {
                l.name
                    .as_deref()
                    .unwrap_or("(the [tasks] list: leave out --list)")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => config.list(Some(n)).ok_or_else(|| {
            CliError::Usage(format!("no list named `{n}`; the lists are: {}", names()))
        }),
        None => match config.lists.as_slice() {
            [only] => Ok(only),
            _ => config.list(None).ok_or_else(|| {
                CliError::Usage(format!(
                    "this config has several lists; choose one with --list NAME: {}",
                    names()
                ))
            }),
        },
    }
}

/// The events of `list`'s tasks: its ids (and, for the `[tasks]` list, unit reports, whose
/// subject is a unit), so that another list's changes do not fill this list's history.
fn events_of(config: &Config, list: &ListConfig, events: Vec<TaskEvent>) -> Vec<TaskEvent> {
    let named: Vec<String> = config
        .lists
        .iter()
        .filter_map(|l| l.name.as_ref().map(|n| format!("{n}-")))
        .collect();
    events
        .into_iter()
        .filter(|e| match &list.name {
            Some(n) => e
                .task_id
                .strip_prefix(n.as_str())
                .is_some_and(|rest| rest.starts_with('-')),
            None => !named.iter().any(|p| e.task_id.starts_with(p.as_str())),
        })
        .collect()
}

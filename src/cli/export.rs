//! `weekbell export`: the task list with the chat's updates merged in, for the office to fold
//! into its master sheet. The rules are in `weekbell::export`'s docs.

use super::{Cli, CliError, runtime};
use std::path::PathBuf;
use weekbell::clock::{Clock, SystemClock};
use weekbell::export::{self, ExportError, Format};
use weekbell::plan::Plan;
use weekbell::store::{Store, TaskEvent};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// xlsx (the list plus a history sheet) or csv (the list, UTF-8 with a byte-order mark);
    /// by default taken from the extension of --output.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// The file to write. It is replaced whole; the task list itself is refused.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: PathBuf,
    /// Also write every recorded event to this CSV file (the xlsx export has them on its
    /// history sheet already).
    #[arg(long, value_name = "FILE.csv")]
    history: Option<PathBuf>,
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
    let source = &plan.config.tasks.source;
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
    let export = export::prepare(&plan.config, &plan.people, today, &events).map_err(cli_error)?;
    export.write(format, &args.output).map_err(cli_error)?;
    if let Some(h) = &args.history {
        export.write_history_csv(h).map_err(cli_error)?;
    }

    let summary = export.summary();
    let history = match (format, &args.history) {
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

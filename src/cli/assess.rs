//! `weekbell assess`: the assessment (考核) of a period per unit or per leader, with scores and
//! the ranking; every figure is defined in `weekbell::tasks::assess`'s docs.

use super::output::table;
use super::{Cli, CliError};
use chrono::NaiveDate;
use serde::Serialize;
use std::path::PathBuf;
use weekbell::clock::{Clock, SystemClock};
use weekbell::config::{AssessmentWeights, Locale};
use weekbell::export::{self, Format, TableCell};
use weekbell::plan::Plan;
use weekbell::tasks::assess::{Assessment, GroupBy, Period, Row};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first day of the period (YYYY-MM-DD); the first of --to's month by default.
    #[arg(long, value_name = "DATE")]
    from: Option<NaiveDate>,
    /// The last day of the period (YYYY-MM-DD); today in the config's zone by default.
    #[arg(long, value_name = "DATE")]
    to: Option<NaiveDate>,
    /// Rank units (责任单位) or leaders (包保领导).
    #[arg(long, value_enum, default_value = "unit")]
    by: ByArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Write the table as xlsx or csv to --output; by default taken from its extension.
    #[arg(long, value_enum, requires = "output")]
    format: Option<FormatArg>,
    /// The file to write the table to (replaced whole).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ByArg {
    Unit,
    Leader,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Xlsx,
    Csv,
}

/// The JSON: the assessment and the weights its scores were computed with.
#[derive(Serialize)]
struct AssessJson<'a> {
    #[serde(flatten)]
    assessment: &'a Assessment,
    weights: WeightsJson,
}

#[derive(Serialize)]
struct WeightsJson {
    done_rate: f64,
    on_time_rate: f64,
    report_rate: f64,
    overdue_penalty: f64,
    rejected_penalty: f64,
}

impl From<&AssessmentWeights> for WeightsJson {
    fn from(w: &AssessmentWeights) -> Self {
        WeightsJson {
            done_rate: w.done_rate,
            on_time_rate: w.on_time_rate,
            report_rate: w.report_rate,
            overdue_penalty: w.overdue_penalty,
            rejected_penalty: w.rejected_penalty,
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let now = SystemClock.now();
    let mut plan = Plan::load(&cli.config, now.date_naive())?;
    super::anchor_read_only(&mut plan)?;
    let today = now.with_timezone(&plan.config.timezone).date_naive();
    let to = args.to.unwrap_or(today);
    let period = Period {
        from: args.from.unwrap_or(Period::month_to(to).from),
        to,
    };
    if period.from > period.to {
        return Err(CliError::Usage(format!(
            "--from {} is after --to {}",
            period.from, period.to
        )));
    }
    let by = match args.by {
        ByArg::Unit => GroupBy::Unit,
        ByArg::Leader => GroupBy::Leader,
    };
    let current = super::current_tasks(&plan)?;
    let assessment = plan.assess(&plan.tasks.tasks, &current.events, period, by);
    let locale = plan.config.locale;

    if let Some(path) = &args.output {
        let format = match args.format {
            Some(FormatArg::Xlsx) => Format::Xlsx,
            Some(FormatArg::Csv) => Format::Csv,
            None => Format::from_path(path).ok_or_else(|| {
                CliError::Usage(format!(
                    "cannot tell the format of {} from its name; add --format xlsx or --format csv",
                    path.display()
                ))
            })?,
        };
        let sheet = locale.pick("考核排名", "assessment");
        export::write_table(path, format, sheet, &sheet_rows(&assessment, locale))
            .map_err(|e| CliError::Failed(e.to_string()))?;
        if !args.json {
            outln!(
                "wrote {} ({} {}(s), {} to {})",
                path.display(),
                assessment.rows.len(),
                by.as_str(),
                period.from,
                period.to
            )?;
        }
    }
    if args.json {
        let json = AssessJson {
            assessment: &assessment,
            weights: (&plan.config.assessment).into(),
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| "{}".into())
        )?;
        return Ok(());
    }
    if args.output.is_some() {
        return Ok(());
    }
    let mut rows = vec![
        [
            "RANK",
            "NAME",
            "SCORE",
            "TASKS",
            "DONE",
            "ON TIME",
            "LATE",
            "UNDATED",
            "OVERDUE",
            "AVG DAYS",
            "REPORTS",
            "REJECTED",
            "EXT ASKED",
            "GRANTED",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &assessment.rows {
        rows.push(vec![
            r.rank.to_string(),
            r.name.clone(),
            format!("{:.1}", r.score),
            r.tasks.to_string(),
            format!("{} ({})", r.done, percent(r.done_rate)),
            format!("{} ({})", r.done_on_time, percent(r.on_time_rate)),
            r.done_late.to_string(),
            r.done_undated.to_string(),
            r.overdue.to_string(),
            r.avg_days_overdue
                .map_or_else(|| "—".to_string(), |d| format!("{d:.1}")),
            format!(
                "{}/{} ({})",
                r.reports_made,
                r.reports_due,
                percent(r.report_rate)
            ),
            r.rejected.to_string(),
            r.extensions_asked.to_string(),
            r.extensions_granted.to_string(),
        ]);
    }
    out!("{}", table(&rows))?;
    let left_out = match (assessment.unassigned, by) {
        (0, _) => String::new(),
        (n, GroupBy::Unit) => format!("; {n} task(s) without a unit left out"),
        (n, GroupBy::Leader) => format!("; {n} task(s) without a leader left out"),
    };
    outln!(
        "{} {}(s), {} to {} ({} week(s) of reports, {}){left_out}",
        assessment.rows.len(),
        by.as_str(),
        period.from,
        period.to,
        assessment.weeks,
        plan.config.timezone
    )?;
    Ok(())
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The table written to xlsx or CSV: one row per unit (or leader), rates as percentages.
fn sheet_rows(a: &Assessment, locale: Locale) -> Vec<Vec<TableCell>> {
    let name = match a.by {
        GroupBy::Unit => locale.pick("责任单位", "unit"),
        GroupBy::Leader => locale.pick("包保领导", "leader"),
    };
    let headers = locale.pick(
        [
            "排名",
            name,
            "得分",
            "事项数",
            "已办结",
            "按期办结",
            "逾期办结",
            "办结日期不详",
            "当前逾期",
            "平均逾期天数",
            "应报周报",
            "按时报送",
            "退回次数",
            "申请延期",
            "批准延期",
            "办结率%",
            "按期办结率%",
            "周报报送率%",
        ],
        [
            "rank",
            name,
            "score",
            "tasks",
            "done",
            "done on time",
            "done late",
            "done, day unknown",
            "overdue",
            "average days overdue",
            "reports owed",
            "reports made",
            "sign-offs returned",
            "extensions asked",
            "extensions granted",
            "done %",
            "on time %",
            "reports %",
        ],
    );
    let mut rows = vec![
        headers
            .iter()
            .map(|h| TableCell::Text(h.to_string()))
            .collect(),
    ];
    let count = |n: usize| TableCell::Number(n as f64);
    let maybe = |x: Option<f64>| x.map_or(TableCell::Empty, TableCell::Number);
    let pct = |x: Option<f64>| maybe(x.map(|r| (r * 1000.0).round() / 10.0));
    rows.extend(a.rows.iter().map(|r: &Row| {
        vec![
            count(r.rank),
            TableCell::Text(r.name.clone()),
            TableCell::Number(r.score),
            count(r.tasks),
            count(r.done),
            count(r.done_on_time),
            count(r.done_late),
            count(r.done_undated),
            count(r.overdue),
            maybe(r.avg_days_overdue.map(|d| (d * 10.0).round() / 10.0)),
            count(r.reports_due),
            count(r.reports_made),
            count(r.rejected),
            count(r.extensions_asked),
            count(r.extensions_granted),
            pct(r.done_rate),
            pct(r.on_time_rate),
            pct(r.report_rate),
        ]
    }));
    rows
}

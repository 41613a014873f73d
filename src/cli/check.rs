//! `weekbell check`: validate everything and summarise what weekbell will do.

use super::Cli;
use super::CliError;
use super::output::table;
use chrono::Datelike;
use std::collections::BTreeMap;
use weekbell::clock::{Clock, SystemClock};
use weekbell::config::{Locale, Review};
use weekbell::plan::PlanError;
use weekbell::plan::{LoadedList, Plan};
use weekbell::render::view::resolve;
use weekbell::tasks::{ColumnReport, FoundBy, ListDate, Status, Task};

pub fn run(cli: &Cli) -> Result<(), CliError> {
    let now = SystemClock.now();
    let mut plan = Plan::load(&cli.config, now.date_naive())?;
    super::anchor_read_only(&mut plan)?;
    for dir in plan
        .config
        .channels
        .values()
        .filter_map(|c| c.template_dir.as_deref())
        .chain(
            plan.config
                .schedules
                .iter()
                .filter_map(|s| s.template_dir.as_deref()),
        )
    {
        weekbell::render::check_templates(dir).map_err(|e| CliError::from(PlanError::from(e)))?;
    }
    let cfg = &plan.config;
    let today = now.with_timezone(&cfg.timezone).date_naive();

    outln!("config     {}", cfg.path.display())?;
    for list in &plan.lists {
        print_list(&plan, list, today)?;
    }
    let from_list = plan.people.all().len().saturating_sub(cfg.people.len());
    outln!(
        "people     {} ({} admin){}",
        plan.people.all().len(),
        cfg.people.iter().filter(|p| p.admin).count(),
        if from_list > 0 {
            cfg.locale.pick(
                format!("，其中 {from_list} 人来自清单的联系电话"),
                format!("; {from_list} from the list's phone column"),
            )
        } else {
            String::new()
        }
    )?;
    let years: Vec<String> = plan.calendar.years().map(|y| y.to_string()).collect();
    outln!(
        "calendar   {} file(s); holiday data for {}",
        cfg.holiday_files.len(),
        if years.is_empty() {
            "no year".to_string()
        } else {
            years.join(", ")
        }
    )?;
    outln!("channels")?;
    let mut rows = Vec::new();
    for c in cfg.channels.values() {
        let mut scope = Vec::new();
        if !c.filter.units.is_empty() {
            scope.push(format!("units {}", c.filter.units.join("、")));
        }
        if !c.filter.categories.is_empty() {
            scope.push(format!("categories {}", c.filter.categories.join("、")));
        }
        rows.push(vec![
            format!("  {}", c.name),
            c.platform.to_string(),
            if scope.is_empty() {
                "all tasks".to_string()
            } else {
                scope.join("; ")
            },
        ]);
    }
    out!("{}", table(&rows))?;
    outln!("schedules")?;
    let mut rows = Vec::new();
    for (sc, s) in cfg.schedules.iter().zip(&plan.schedules) {
        let next = s
            .next_after(now, &plan.calendar)
            .map(|slot| slot.at_local().format("%a %Y-%m-%d %H:%M %:z").to_string())
            .unwrap_or_else(|| "never".to_string());
        rows.push(vec![
            format!("  {}", sc.name),
            format!("\"{}\"", sc.cron),
            sc.timezone.to_string(),
            sc.kind.as_str().to_string(),
            format!("→ {}", sc.channels.join(", ")),
            format!(
                "on_holiday={}{}",
                sc.on_holiday,
                if sc.workdays_only {
                    " workdays_only"
                } else {
                    ""
                }
            ),
            format!("next {next}"),
        ]);
    }
    out!("{}", table(&rows))?;
    outln!(
        "levels     {}, least severe first",
        if cfg.warning_levels_default {
            "built-in warning levels (no [[warnings]] in the config)"
        } else {
            "[[warnings]]"
        }
    )?;
    let rows: Vec<Vec<String>> = cfg
        .warning_levels
        .iter()
        .map(|l| {
            vec![
                format!("  {}", l.name),
                l.label.clone(),
                l.rules
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
                format!(
                    "→ {}",
                    l.notify
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("repeat={}", l.repeat.as_str()),
            ]
        })
        .collect();
    out!("{}", table(&rows))?;
    let warnings = plan.warnings(now);
    if !warnings.is_empty() {
        outln!("warnings")?;
        for w in &warnings {
            outln!("  - {w}")?;
        }
    }
    outln!(
        "ok: {} checked, {} warning(s)",
        cfg.path.display(),
        warnings.len()
    )?;
    Ok(())
}

/// The column map: each source header and the field it became (and how, when not by its
/// name), then the columns kept without a field.
fn print_columns(report: &ColumnReport, locale: Locale) -> Result<(), CliError> {
    let mut label = "columns   ";
    for m in &report.mapped {
        let how = match m.found_by {
            FoundBy::Name => "",
            FoundBy::Rule => locale.pick("（按列名规则）", " (by rule)"),
            FoundBy::Content => locale.pick("（按内容判断）", " (by content)"),
        };
        outln!("{label} {} → {}{how}", m.header, m.field)?;
        label = "          ";
    }
    if !report.kept.is_empty() {
        outln!(
            "{label} {}{}",
            locale.pick("保留（不对应字段）：", "kept without a field: "),
            report.kept.join(locale.pick("、", ", "))
        )?;
    }
    Ok(())
}

/// One list's lines: its file, its tasks by status, the date its relative deadlines are read
/// against, its units and its column map.
/// The list's sign-off rule, and the tasks whose leader nobody can reach (their sign-off falls
/// to the admins).
fn print_review(plan: &Plan, list: Option<&str>, tasks: &[Task]) -> Result<(), CliError> {
    let Some(rule) = plan.config.list(list).map(|l| &l.review) else {
        return Ok(());
    };
    if rule.default == Review::None && rule.categories.is_empty() {
        return Ok(());
    }
    let categories: Vec<String> = rule
        .categories
        .iter()
        .map(|(c, r)| format!("{c}: {}", r.as_str()))
        .collect();
    outln!(
        "           sign-off before close: {}{}",
        rule.default.as_str(),
        if categories.is_empty() {
            String::new()
        } else {
            format!(" ({})", categories.join(", "))
        }
    )?;
    let leaderless = tasks
        .iter()
        .filter(|t| rule.for_category(&t.category) == Review::Leader)
        .filter(|t| t.leaders().all(|l| resolve(l, &plan.people).is_none()))
        .count();
    if leaderless > 0 {
        outln!(
            "           {leaderless} task(s) signed off by their leader have no leader in the people list: the admins sign those off"
        )?;
    }
    Ok(())
}

fn print_list(plan: &Plan, list: &LoadedList, today: chrono::NaiveDate) -> Result<(), CliError> {
    let cfg = &plan.config;
    let tasks = plan.tasks.tasks.get(list.tasks.clone()).unwrap_or_default();
    let mut by_status: BTreeMap<Status, usize> = BTreeMap::new();
    for t in tasks {
        *by_status.entry(t.status).or_default() += 1;
    }
    let overdue = tasks.iter().filter(|t| t.is_overdue(today)).count();
    let name = match &list.name {
        Some(n) => format!("[{n}] "),
        None => String::new(),
    };
    outln!(
        "tasks      {name}{}: {} tasks, {overdue} overdue as of {today}",
        list.source.display(),
        tasks.len()
    )?;
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| format!("{s} {}", by_status.get(s).copied().unwrap_or(0)))
        .collect();
    outln!("           {}", counts.join(" · "))?;
    match list.list_date {
        Some(ListDate::Title(d)) => outln!(
            "           deadlines without a year are read as of {d}, the date in the list's title rows"
        )?,
        Some(ListDate::Saved(d)) => outln!(
            "           deadlines without a year are read as of {d}, the day the file was last saved, \
             or for a row weekbell has seen before, as of the day it first saw it (kept in the \
             store); a title row such as 更新日期：{}年{}月{}日 states the list's date in the file itself",
            d.year(),
            d.month(),
            d.day()
        )?,
        None => {}
    }
    let units: std::collections::BTreeSet<&str> = tasks
        .iter()
        .map(|t| t.unit.as_str())
        .filter(|u| !u.is_empty())
        .collect();
    outln!("           {} units", units.len())?;
    print_review(plan, list.name.as_deref(), tasks)?;
    if let Some(report) = &list.columns {
        print_columns(report, cfg.locale)?;
    }
    Ok(())
}

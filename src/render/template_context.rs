//! The contexts: the views turned into template variables (the names the module docs list).

use crate::config::Locale;
use crate::people::Directory;
use crate::render::view::{DigestView, ReminderView, ReportCallUnit, TaskLine, UnitRow, resolve};
use crate::tasks::assess::{Assessment, Row};
use crate::tasks::{Assignee, Status};
use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Common<'a> {
    pub title: &'a str,
    pub show_title: bool,
    pub platform: &'a str,
    pub today: String,
    pub section_cap: usize,
}

#[derive(Serialize)]
struct PersonCtx {
    name: String,
    id: Option<String>,
}

fn person_ctx(a: &Assignee, people: &Directory) -> PersonCtx {
    match resolve(a, people) {
        Some(p) => PersonCtx {
            name: p.name.clone(),
            id: Some(p.id.clone()),
        },
        None => PersonCtx {
            name: a.name.trim().to_string(),
            id: None,
        },
    }
}

#[derive(Serialize)]
struct TaskCtx<'a> {
    id: &'a str,
    title: &'a str,
    unit: &'a str,
    category: &'a str,
    notes: &'a str,
    status: &'static str,
    status_label: &'static str,
    progress: Option<u8>,
    due: Option<String>,
    /// The deadline cell as written when it could not be read.
    due_text: Option<&'a str>,
    days_overdue: i64,
    days_left: Option<i64>,
    escalated: bool,
    /// Reminders: not `escalated`, but at a warning level that tells the leader.
    leader_warned: bool,
    /// Reminders: at a warning level that tells the admins.
    admins_warned: bool,
    /// The warning level's name, or `none`.
    warning: &'a str,
    /// What messages show for the level (`红色预警`); `None` at no level.
    warning_label: Option<&'a str>,
    leader: Option<PersonCtx>,
    /// Every leader (包片 and 包线, and the area's from `[areas]`), `leader` first.
    leaders: Vec<PersonCtx>,
    owners: Vec<PersonCtx>,
    /// The deadline before any extension, where one was granted; none otherwise.
    due_original: Option<String>,
    /// An extension asked for and not yet answered: `to`, `reason`, `late`.
    extension: Option<ExtensionCtx<'a>>,
}

#[derive(Serialize)]
struct ExtensionCtx<'a> {
    to: String,
    reason: &'a str,
    /// Asked after the deadline had passed.
    late: bool,
}

pub(crate) fn status_label(locale: Locale, s: Status) -> &'static str {
    match (locale, s) {
        (Locale::ZhCn, Status::Todo) => "未开始",
        (Locale::ZhCn, Status::InProgress) => "整改中",
        (Locale::ZhCn, Status::Blocked) => "受阻",
        (Locale::ZhCn, Status::Done) => "已完成",
        (Locale::ZhCn, Status::Ongoing) => "长期坚持",
        (Locale::ZhCn, Status::Cancelled) => "已取消",
        (Locale::ZhCn, Status::Review) => "待审核",
        (Locale::En, Status::Todo) => "to do",
        (Locale::En, Status::InProgress) => "in progress",
        (Locale::En, Status::Blocked) => "blocked",
        (Locale::En, Status::Done) => "done",
        (Locale::En, Status::Ongoing) => "ongoing",
        (Locale::En, Status::Cancelled) => "cancelled",
        (Locale::En, Status::Review) => "awaiting sign-off",
    }
}

/// What a reminder says about a task besides the task: why its leader or the admins are told.
#[derive(Clone, Copy, Default)]
struct Told {
    escalated: bool,
    leader_warned: bool,
    admins_warned: bool,
}

fn task_ctx<'a>(l: &TaskLine<'a>, told: Told, locale: Locale, people: &Directory) -> TaskCtx<'a> {
    let t = l.task;
    TaskCtx {
        id: &t.id,
        title: &t.title,
        unit: &t.unit,
        category: &t.category,
        notes: &t.notes,
        status: t.status.as_str(),
        status_label: status_label(locale, t.status),
        progress: t.progress,
        due: t.due.map(|d| d.to_string()),
        due_text: t.unreadable_due.as_deref(),
        days_overdue: l.days_overdue,
        days_left: l.days_left,
        escalated: told.escalated,
        leader_warned: told.leader_warned,
        admins_warned: told.admins_warned,
        warning: l.warning.map_or("none", |w| w.name.as_str()),
        warning_label: l.warning.map(|w| w.label.as_str()),
        leader: t.leader.as_ref().map(|a| person_ctx(a, people)),
        leaders: t.leaders().map(|a| person_ctx(a, people)).collect(),
        owners: t.owners.iter().map(|a| person_ctx(a, people)).collect(),
        due_original: t.extension.original_due.map(|d| d.to_string()),
        extension: t.extension.pending.as_ref().map(|r| ExtensionCtx {
            to: r.to.to_string(),
            reason: &r.reason,
            late: r.late,
        }),
    }
}

#[derive(Serialize)]
struct Section<T> {
    items: Vec<T>,
    total: usize,
    more: usize,
}

fn section<I, T>(items: I, total: usize, cap: usize) -> Section<T>
where
    I: Iterator<Item = T>,
{
    let items: Vec<T> = items.take(cap).collect();
    let more = total.saturating_sub(items.len());
    Section { items, total, more }
}

#[derive(Serialize)]
struct Period {
    start: Option<String>,
    end: String,
}

#[derive(Serialize)]
struct TotalsCtx {
    total: usize,
    todo: usize,
    in_progress: usize,
    blocked: usize,
    done: usize,
    ongoing: usize,
    cancelled: usize,
    review: usize,
    counted: usize,
    open: usize,
    overdue: usize,
    due_soon: usize,
}

#[derive(Serialize)]
struct UnitCtx<'a> {
    unit: &'a str,
    total: usize,
    done: usize,
    open: usize,
    active: usize,
    overdue: usize,
    reported: bool,
    /// The levels with open tasks of this unit at them, least severe first.
    warnings: Vec<LevelCtx<'a>>,
}

#[derive(Serialize)]
struct LevelCtx<'a> {
    name: &'a str,
    label: &'a str,
    count: usize,
}

#[derive(Serialize)]
struct DigestCtx<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    period: Period,
    totals: TotalsCtx,
    rate: Option<u8>,
    units: Section<UnitCtx<'a>>,
    overdue: Section<TaskCtx<'a>>,
    due_soon: Section<TaskCtx<'a>>,
    blocked: Section<TaskCtx<'a>>,
    due_unconfirmed: Section<TaskCtx<'a>>,
    done_since: Section<TaskCtx<'a>>,
    silent_units: Section<&'a str>,
    stale_list_note: Option<&'a str>,
    /// Every warning level with its count of tasks, least severe first.
    warnings: Vec<LevelCtx<'a>>,
    awaiting_review: Section<ReviewCtx<'a>>,
    /// Tasks with an extension request waiting for the leader's answer.
    pending_extensions: Section<TaskCtx<'a>>,
    /// People on leave today: `name`, `to` (the last day), `deputy` (a name, or none).
    away: Vec<AwayCtx>,
}

#[derive(Serialize)]
struct AwayCtx {
    name: String,
    to: String,
    deputy: Option<String>,
}

#[derive(Serialize)]
struct ReviewCtx<'a> {
    #[serde(flatten)]
    task: TaskCtx<'a>,
    /// Whole days since it was reported done; none when no event says.
    days_waiting: Option<i64>,
}

fn task_section<'a>(
    lines: &[TaskLine<'a>],
    cap: usize,
    locale: Locale,
    people: &Directory,
) -> Section<TaskCtx<'a>> {
    section(
        lines
            .iter()
            .map(|l| task_ctx(l, Told::default(), locale, people)),
        lines.len(),
        cap,
    )
}

pub(crate) fn digest_context<'a>(
    common: Common<'a>,
    v: &DigestView<'a>,
    locale: Locale,
    people: &Directory,
) -> Value {
    let cap = common.section_cap;
    let tasks = |lines: &[TaskLine<'a>]| task_section(lines, cap, locale, people);
    let t = v.totals;
    let ctx = DigestCtx {
        period: Period {
            start: v.period_start.map(|d| d.to_string()),
            end: v.period_end.to_string(),
        },
        totals: TotalsCtx {
            total: t.total,
            todo: t.todo,
            in_progress: t.in_progress,
            blocked: t.blocked,
            done: t.done,
            ongoing: t.ongoing,
            cancelled: t.cancelled,
            review: t.review,
            counted: t.counted(),
            open: t.todo + t.in_progress + t.blocked,
            overdue: v.overdue.len(),
            due_soon: v.due_soon.len(),
        },
        rate: v.completion_rate,
        units: section(
            v.units.iter().map(|u: &UnitRow<'_>| UnitCtx {
                unit: u.unit,
                total: u.total,
                done: u.done,
                open: u.open,
                active: u.active,
                overdue: u.overdue,
                reported: u.reported,
                warnings: v
                    .warnings
                    .iter()
                    .zip(&u.warnings)
                    .filter(|(_, n)| **n > 0)
                    .map(|(w, n)| LevelCtx {
                        name: w.name,
                        label: w.label,
                        count: *n,
                    })
                    .collect(),
            }),
            v.units.len(),
            cap,
        ),
        overdue: tasks(&v.overdue),
        due_soon: tasks(&v.due_soon),
        blocked: tasks(&v.blocked),
        due_unconfirmed: tasks(&v.due_unconfirmed),
        done_since: tasks(&v.done_since),
        silent_units: section(v.silent_units.iter().copied(), v.silent_units.len(), cap),
        stale_list_note: v.stale_list_note,
        warnings: v
            .warnings
            .iter()
            .map(|w| LevelCtx {
                name: w.name,
                label: w.label,
                count: w.count,
            })
            .collect(),
        awaiting_review: section(
            v.awaiting_review.iter().map(|r| ReviewCtx {
                task: task_ctx(&r.line, Told::default(), locale, people),
                days_waiting: r.days_waiting,
            }),
            v.awaiting_review.len(),
            cap,
        ),
        pending_extensions: tasks(&v.pending_extensions),
        away: v
            .away
            .iter()
            .map(|a| AwayCtx {
                name: people
                    .get(&a.person)
                    .map_or_else(|| a.person.clone(), |p| p.name.clone()),
                to: a.to.to_string(),
                deputy: a.deputy.as_deref().map(|d| {
                    people
                        .get(d)
                        .map_or_else(|| d.to_string(), |p| p.name.clone())
                }),
            })
            .collect(),
        common,
    };
    Value::from(Serde(&ctx))
}

#[derive(Serialize)]
struct ReminderCtx<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    recipient: PersonCtx,
    tasks: Section<TaskCtx<'a>>,
    overdue_count: usize,
    escalate_after_days: i64,
    escalate_to: Vec<PersonCtx>,
    /// The configured admins, when a task's warning level tells them; else empty.
    admins: Vec<PersonCtx>,
    /// The names of people on leave whose tasks the recipient stands in for (代理).
    on_behalf_of: &'a [String],
}

pub(crate) fn reminder_context<'a>(
    common: Common<'a>,
    v: &'a ReminderView<'_>,
    escalate_after_days: i64,
    locale: Locale,
    people: &Directory,
) -> Value {
    let cap = common.section_cap;
    let ctx = ReminderCtx {
        recipient: PersonCtx {
            name: v.name.clone(),
            id: v.person_id.clone(),
        },
        tasks: section(
            v.tasks.iter().map(|t| {
                let told = Told {
                    escalated: t.escalated,
                    leader_warned: t.leader_warned,
                    admins_warned: t.admins_warned,
                };
                task_ctx(&t.line, told, locale, people)
            }),
            v.tasks.len(),
            cap,
        ),
        overdue_count: v.tasks.iter().filter(|t| t.line.days_overdue > 0).count(),
        escalate_after_days,
        escalate_to: v
            .escalate_to
            .iter()
            .map(|a| person_ctx(a, people))
            .collect(),
        admins: if v.tell_admins {
            people
                .all()
                .iter()
                .filter(|p| p.admin)
                .map(|p| PersonCtx {
                    name: p.name.clone(),
                    id: Some(p.id.clone()),
                })
                .collect()
        } else {
            Vec::new()
        },
        on_behalf_of: &v.on_behalf_of,
        common,
    };
    Value::from(Serde(&ctx))
}

#[derive(Serialize)]
struct ReportUnitCtx<'a> {
    unit: &'a str,
    owners: Vec<PersonCtx>,
    active: usize,
}

#[derive(Serialize)]
struct ReportCallCtx<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    units: Section<ReportUnitCtx<'a>>,
}

pub(crate) fn report_call_context(
    common: Common<'_>,
    units: &[ReportCallUnit<'_>],
    people: &Directory,
) -> Value {
    let cap = common.section_cap;
    let ctx = ReportCallCtx {
        units: section(
            units.iter().map(|u| ReportUnitCtx {
                unit: u.unit,
                owners: u.owners.iter().map(|a| person_ctx(a, people)).collect(),
                active: u.active,
            }),
            units.len(),
            cap,
        ),
        common,
    };
    Value::from(Serde(&ctx))
}

/// Adds the per-render data to a context.
pub(crate) fn with_data(ctx: Value, data: &Value) -> Value {
    minijinja::context! { __weekbell => data.clone(), ..ctx }
}

#[derive(Serialize)]
struct AssessRowCtx<'a> {
    name: &'a str,
    rank: usize,
    score: f64,
    tasks: usize,
    done: usize,
    done_on_time: usize,
    done_late: usize,
    done_undated: usize,
    overdue: usize,
    avg_days_overdue: Option<f64>,
    reports_due: usize,
    reports_made: usize,
    rejected: usize,
    extensions_asked: usize,
    extensions_granted: usize,
    done_rate: Option<f64>,
    on_time_rate: Option<f64>,
    report_rate: Option<f64>,
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn assess_row_ctx(r: &Row) -> AssessRowCtx<'_> {
    AssessRowCtx {
        name: &r.name,
        rank: r.rank,
        score: r.score,
        tasks: r.tasks,
        done: r.done,
        done_on_time: r.done_on_time,
        done_late: r.done_late,
        done_undated: r.done_undated,
        overdue: r.overdue,
        avg_days_overdue: r.avg_days_overdue.map(one_decimal),
        reports_due: r.reports_due,
        reports_made: r.reports_made,
        rejected: r.rejected,
        extensions_asked: r.extensions_asked,
        extensions_granted: r.extensions_granted,
        done_rate: r.done_rate.map(|x| one_decimal(x * 100.0)),
        on_time_rate: r.on_time_rate.map(|x| one_decimal(x * 100.0)),
        report_rate: r.report_rate.map(|x| one_decimal(x * 100.0)),
    }
}

#[derive(Serialize)]
struct AssessPeriodCtx {
    from: String,
    to: String,
}

#[derive(Serialize)]
struct AssessmentCtx<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    period: AssessPeriodCtx,
    by: &'static str,
    weeks: usize,
    rows: Section<AssessRowCtx<'a>>,
    best: Option<AssessRowCtx<'a>>,
    last: Option<AssessRowCtx<'a>>,
}

pub(crate) fn assessment_context(common: Common<'_>, a: &Assessment) -> Value {
    let cap = common.section_cap;
    let ctx = AssessmentCtx {
        period: AssessPeriodCtx {
            from: a.period.from.to_string(),
            to: a.period.to.to_string(),
        },
        by: a.by.as_str(),
        weeks: a.weeks,
        rows: section(a.rows.iter().map(assess_row_ctx), a.rows.len(), cap),
        best: a.rows.first().map(assess_row_ctx),
        last: (a.rows.len() > 1)
            .then(|| a.rows.last())
            .flatten()
            .map(assess_row_ctx),
        common,
    };
    Value::from(Serde(&ctx))
}

//! Message templates: the built-in ones (zh-CN and en) and the ones a channel or schedule points
//! at with `templates = "DIR"` in its config.
//!
//! # Writing a template
//!
//! A template directory may hold `digest.j2`, `reminder.j2` and `report_call.j2`; each file
//! present replaces the built-in template of that kind, the others stay built-in. Templates use
//! [minijinja](https://docs.rs/minijinja) (Jinja2) syntax with these settings:
//!
//! - every `{{ value }}` is escaped for the chat's markup, so a task title can never break the
//!   layout; the helpers below return markup that is written as is (`|safe` does the same for
//!   markup you write yourself);
//! - an unknown variable or attribute is an error (`is defined` tests still work), so a typo is
//!   caught by `weekbell check`, which renders every template against sample data in every
//!   dialect;
//! - `trim_blocks` and `lstrip_blocks` are on: a line holding only a `{% … %}` tag leaves no blank
//!   line. A tag at the *end* of a text line swallows that line's newline; write `{% endif +%}`
//!   to keep it;
//! - the output is tidied: trailing spaces are removed, runs of blank lines become one, leading
//!   and trailing blank lines are dropped;
//! - a top-level `{% set title = "…" %}` replaces the default title (the notification preview on
//!   DingTalk, the card header on Feishu, `title` for the generic webhook);
//! - a render may write at most 4 MiB, create at most 100,000 `range()` items and run a bounded
//!   number of instructions (minijinja fuel), and recursion is
//!   limited, so a broken template fails instead of hanging the daemon.
//!
//! # Variables
//!
//! Everywhere:
//!
//! | name | meaning |
//! | --- | --- |
//! | `title` | default title, e.g. `整改工作周调度` / `Weekly status` |
//! | `show_title` | false when the platform shows the title itself (Feishu card header) |
//! | `locale` | `zh-CN` or `en` |
//! | `platform` | `dingtalk`, `wecom`, `feishu`, `slack`, `console`, `webhook`, … |
//! | `dialect` | `plain`, `dingtalk_markdown`, `wecom_markdown`, `feishu_markdown`, `slack_mrkdwn`, `dingtalk_text`, `telegram_html` |
//! | `bullet` | the list-item marker for the dialect (`- ` or `• `) |
//! | `today` | `YYYY-MM-DD` |
//! | `section_cap` | the most items a list section shows (default 50) |
//!
//! A *task* has `id`, `title`, `unit`, `category`, `notes`, `status` (`todo`, `in_progress`,
//! `blocked`, `done`, `ongoing`, `cancelled`), `status_label` (in the locale), `progress` (0–100
//! or none), `due` (`YYYY-MM-DD` or none), `due_text` (the deadline cell as written when it
//! could not be read, else none), `days_overdue` (0 unless overdue), `days_left` (days
//! to the deadline for open tasks, else none), `escalated` (reminders: overdue past
//! `escalate_after_days`), `leader` (a *person* or none) and `owners` (a list of *persons*).
//! A *person* has `name` and `id` (the configured person's id, none when the name matched
//! nobody). A *section* has `items` (at most `section_cap`), `total` and `more` (`total` minus
//! the items shown).
//!
//! `digest.j2`: `period` (`start`, none for the first digest, and `end`), `totals` (`total`,
//! `todo`, `in_progress`, `blocked`, `done`, `ongoing`, `cancelled`, `counted` = total −
//! cancelled, `open`, `overdue`, `due_soon`), `rate` (completion %, none when nothing counts),
//! `units` (section of `unit`, `total`, `done`, `open`, `active` = open and ongoing tasks,
//! `overdue`, `reported`; most overdue first, then in list order), `overdue`,
//! `due_soon`, `blocked`, `due_unconfirmed` (open tasks whose deadline cell could not be read),
//! `done_since` (sections of tasks), `silent_units` (section of unit names), `stale_list_note`
//! (text or none).
//!
//! `reminder.j2`: `recipient` (a person), `tasks` (section of tasks), `overdue_count`,
//! `escalate_after_days`, `escalate_to` (list of persons: leaders of escalated tasks).
//!
//! `report_call.j2`: `units` (section of `unit`, `owners` (persons), `active` = open and ongoing
//! tasks).
//!
//! # Helpers
//!
//! | helper | result |
//! | --- | --- |
//! | `bold(x)`, `x\|bold` | bold text |
//! | `heading(x)`, `heading(x, level)` | a heading line, level 1–6, default 3 (bold where the chat has no headings) |
//! | `mention(p)`, `p\|mention` | @mention of a person, a person id or a name; notifies when the person has a handle on this platform |
//! | `mentions(list)` | the mentions of a list of persons, space-separated |
//! | `bar(pct)` | `▓▓▓▓▓▓░░░░ 60%` (10 cells) |
//! | `date(d)`, `d\|date`, `d\|date("%Y-%m-%d")` | a `YYYY-MM-DD` date in the locale (`11月27日`, `Nov 27`; the year is added when it is not today's) or a strftime format |
//! | `list\|names` | names of persons joined with `、` (zh-CN) or `, ` (en) |
//! | `x\|e` | `x` escaped for the dialect (for use inside `\|safe` markup) |

use super::Mention;
use super::markup::{Dialect, MentionRef};
use super::view::{DigestView, ReminderView, ReportCallUnit, TaskLine, UnitRow, resolve};
use crate::config::Locale;
use crate::people::{Directory, Person};
use crate::tasks::{Assignee, Status};
use crate::types::Platform;
use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, NaiveDate};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Object, ObjectRepr, Serde};
use minijinja::{Environment, Error, ErrorKind, Output, State, Template, UndefinedBehavior, Value};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The most output one render may produce.
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// The most `range()` items one render may create, all calls together.
pub const MAX_RANGE_ITEMS: usize = 100_000;
const RECURSION_LIMIT: usize = 64;
/// The context key of the per-render data that helpers need (platform, people).
const DATA_KEY: &str = "__weekbell";

/// A problem with a template, found when loading, checking or rendering it.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: cannot read template: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}{}: {problem}", file, line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The template's file (or `builtin:<locale>/<kind>.j2`).
        file: String,
        line: Option<usize>,
        problem: String,
    },
}

/// The three messages weekbell renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateKind {
    Digest,
    Reminder,
    ReportCall,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 3] = [
        TemplateKind::Digest,
        TemplateKind::Reminder,
        TemplateKind::ReportCall,
    ];

    /// The file name in a template directory.
    pub fn file_name(self) -> &'static str {
        match self {
            TemplateKind::Digest => "digest.j2",
            TemplateKind::Reminder => "reminder.j2",
            TemplateKind::ReportCall => "report_call.j2",
        }
    }

    pub(crate) fn builtin_name(self, locale: Locale) -> String {
        format!("builtin:{}/{}", locale.as_str(), self.file_name())
    }

    pub(crate) fn builtin_source(self, locale: Locale) -> &'static str {
        match (locale, self) {
            (Locale::ZhCn, TemplateKind::Digest) => include_str!("templates/zh-CN/digest.j2"),
            (Locale::ZhCn, TemplateKind::Reminder) => include_str!("templates/zh-CN/reminder.j2"),
            (Locale::ZhCn, TemplateKind::ReportCall) => {
                include_str!("templates/zh-CN/report_call.j2")
            }
            (Locale::En, TemplateKind::Digest) => include_str!("templates/en/digest.j2"),
            (Locale::En, TemplateKind::Reminder) => include_str!("templates/en/reminder.j2"),
            (Locale::En, TemplateKind::ReportCall) => include_str!("templates/en/report_call.j2"),
        }
    }

    /// The title used when the template does not set one.
    pub(crate) fn default_title(self, locale: Locale) -> &'static str {
        match (locale, self) {
            (Locale::ZhCn, TemplateKind::Digest) => "整改工作周调度",
            (Locale::ZhCn, TemplateKind::Reminder) => "整改事项提醒",
            (Locale::ZhCn, TemplateKind::ReportCall) => "周报报送提醒",
            (Locale::En, TemplateKind::Digest) => "Weekly status",
            (Locale::En, TemplateKind::Reminder) => "Your open tasks",
            (Locale::En, TemplateKind::ReportCall) => "Weekly update due",
        }
    }

    /// The variables a template of this kind may use besides the environment's globals.
    fn context_keys(self) -> &'static [&'static str] {
        const COMMON: [&str; 5] = ["title", "show_title", "platform", "today", "section_cap"];
        match self {
            TemplateKind::Digest => &[
                "title",
                "show_title",
                "platform",
                "today",
                "section_cap",
                "period",
                "totals",
                "rate",
                "units",
                "overdue",
                "due_soon",
                "blocked",
                "due_unconfirmed",
                "done_since",
                "silent_units",
                "stale_list_note",
            ],
            TemplateKind::Reminder => &[
                COMMON[0],
                COMMON[1],
                COMMON[2],
                COMMON[3],
                COMMON[4],
                "recipient",
                "tasks",
                "overdue_count",
                "escalate_after_days",
                "escalate_to",
            ],
            TemplateKind::ReportCall => &[
                COMMON[0], COMMON[1], COMMON[2], COMMON[3], COMMON[4], "units",
            ],
        }
    }
}

pub(crate) fn locale_index(locale: Locale) -> usize {
    match locale {
        Locale::ZhCn => 0,
        Locale::En => 1,
    }
}

/// Instructions one render may execute before minijinja stops it.
const TEMPLATE_FUEL: u64 = 50_000_000;

pub(crate) const LOCALES: [Locale; 2] = [Locale::ZhCn, Locale::En];

/// Builds the environment for one dialect and locale, with the built-in templates loaded.
pub(crate) fn build_env(
    dialect: Dialect,
    locale: Locale,
) -> Result<Environment<'static>, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(RECURSION_LIMIT);
    // Fuel bounds the work of a user template that loops without writing anything; output size
    // and range() are bounded separately below. The built-in digest of 100,000 tasks uses far
    // less than this.
    env.set_fuel(Some(TEMPLATE_FUEL));
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| jinja_error("syntax config", &e))?;
    env.set_syntax(syntax);
    env.set_formatter(move |out, state, value| format_value(dialect, out, state, value));

    env.add_global("dialect", dialect.as_str());
    env.add_global("locale", locale.as_str());
    env.add_global(
        "bullet",
        Value::from_safe_string(dialect.bullet().to_string()),
    );

    let bold =
        move |v: Value| -> Value { Value::from_safe_string(dialect.bold(&markup_of(dialect, &v))) };
    env.add_function("bold", bold);
    env.add_filter("bold", bold);
    let heading = move |v: Value, level: Option<usize>| -> Value {
        Value::from_safe_string(dialect.heading(&markup_of(dialect, &v), level.unwrap_or(3)))
    };
    env.add_function("heading", heading);
    env.add_filter("heading", heading);
    let mention = move |state: &mut State, who: Value| -> Result<Value, Error> {
        mention_value(dialect, state, &who).map(Value::from_safe_string)
    };
    env.add_function("mention", mention);
    env.add_filter("mention", mention);
    env.add_function(
        "mentions",
        move |state: &mut State, who: Value| -> Result<Value, Error> {
            let mut out = Vec::new();
            for p in who.try_iter()? {
                out.push(mention_value(dialect, state, &p)?);
            }
            Ok(Value::from_safe_string(out.join(" ")))
        },
    );
    env.add_function("bar", |pct: Value| -> Result<Value, Error> {
        bar(&pct).map(Value::from_safe_string)
    });
    let date = move |state: &State, d: Value, fmt: Option<String>| -> Result<Value, Error> {
        format_date(locale, state, &d, fmt.as_deref()).map(Value::from)
    };
    env.add_filter("date", date);
    env.add_function("date", date);
    env.add_filter("names", move |list: Value| -> Result<Value, Error> {
        let sep = match locale {
            Locale::ZhCn => "、",
            Locale::En => ", ",
        };
        let mut names = Vec::new();
        for p in list.try_iter()? {
            names.push(person_name(&p)?);
        }
        Ok(Value::from(names.join(sep)))
    });
    let escape = move |v: Value| -> Value { Value::from_safe_string(markup_of(dialect, &v)) };
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_function("range", budgeted_range);

    for kind in TemplateKind::ALL {
        let name = kind.builtin_name(locale);
        env.add_template_owned(name.clone(), kind.builtin_source(locale))
            .map_err(|e| jinja_error(&name, &e))?;
    }
    Ok(env)
}

/// The markup for a value: safe strings as they are, none as nothing, the rest escaped.
fn markup_of(dialect: Dialect, v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        String::new()
    } else if let (true, Some(s)) = (v.is_safe(), v.as_str()) {
        s.to_string()
    } else if let Some(s) = v.as_str() {
        dialect.escape(s)
    } else {
        dialect.escape(&v.to_string())
    }
}

#[derive(Default)]
struct Budget {
    output: usize,
    range_items: usize,
}

fn format_value(
    dialect: Dialect,
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "cannot print an undefined value",
        ));
    }
    let text: Cow<str> = match (value.is_safe(), value.as_str()) {
        (true, Some(s)) => Cow::Borrowed(s),
        _ if value.is_none() => Cow::Borrowed(""),
        (false, Some(s)) => Cow::Owned(dialect.escape(s)),
        _ => Cow::Owned(dialect.escape(&value.to_string())),
    };
    let budget = state.get_or_insert_extension_with(Budget::default);
    budget.output += text.len();
    if budget.output > MAX_OUTPUT_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("the message exceeds {MAX_OUTPUT_BYTES} bytes"),
        ));
    }
    out.write_str(&text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write output"))
}

fn budgeted_range(
    state: &mut State,
    lower: i64,
    upper: Option<i64>,
    step: Option<i64>,
) -> Result<Value, Error> {
    let conv = |n: i64| {
        isize::try_from(n)
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "range bound out of bounds"))
    };
    let value = minijinja::functions::range(
        conv(lower)?,
        upper.map(conv).transpose()?,
        step.map(conv).transpose()?,
    )?;
    let budget = state.get_or_insert_extension_with(Budget::default);
    budget.range_items += value.len().unwrap_or(0);
    if budget.range_items > MAX_RANGE_ITEMS {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("range() created more than {MAX_RANGE_ITEMS} items in one message"),
        ));
    }
    Ok(value)
}

fn bar(pct: &Value) -> Result<String, Error> {
    const CELLS: usize = 10;
    if pct.is_none() {
        return Ok(format!("{} —", "░".repeat(CELLS)));
    }
    let p = f64::try_from(pct.clone())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "bar() needs a percentage"))?;
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
    // Truncation is intended: a cell is filled only once its 10% is complete.
    let filled = ((p / 10.0).floor() as usize).min(CELLS);
    Ok(format!(
        "{}{} {}%",
        "▓".repeat(filled),
        "░".repeat(CELLS - filled),
        p.floor() as u32
    ))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn format_date(
    locale: Locale,
    state: &State,
    d: &Value,
    fmt: Option<&str>,
) -> Result<String, Error> {
    if d.is_none() {
        return Ok(String::new());
    }
    let date = d.as_str().and_then(parse_date).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("date expects YYYY-MM-DD, got {d}"),
        )
    })?;
    let mut out = String::new();
    if let Some(f) = fmt {
        let items: Vec<Item> = StrftimeItems::new(f).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("bad date format {f:?}"),
            ));
        }
        write!(out, "{}", date.format_with_items(items.into_iter())).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("date format {f:?} needs a time"),
            )
        })?;
        return Ok(out);
    }
    let this_year = state
        .lookup("today")
        .and_then(|t| t.as_str().and_then(parse_date))
        .map(|t| t.year());
    let same_year = this_year == Some(date.year());
    let (y, m, day) = (date.year(), date.month(), date.day());
    match (locale, same_year) {
        (Locale::ZhCn, true) => write!(out, "{m}月{day}日"),
        (Locale::ZhCn, false) => write!(out, "{y}年{m}月{day}日"),
        (Locale::En, true) => write!(out, "{} {day}", month_abbr(m)),
        (Locale::En, false) => write!(out, "{} {day}, {y}", month_abbr(m)),
    }
    .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot format date"))?;
    Ok(out)
}

fn month_abbr(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("")
}

fn person_name(p: &Value) -> Result<String, Error> {
    if let Some(s) = p.as_str() {
        return Ok(s.trim().to_string());
    }
    p.get_attr("name")
        .ok()
        .and_then(|n| n.as_str().map(|s| s.trim().to_string()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("expected a person or a name, got {p}"),
            )
        })
}

/// Per-render data the helpers need: which platform the mentions are for, and who exists.
#[derive(Debug)]
pub(crate) struct RenderData {
    pub platform: Platform,
    pub people: Directory,
}

impl Object for RenderData {
    fn repr(self: &std::sync::Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

impl RenderData {
    pub(crate) fn value(platform: Platform, people: &Directory) -> Value {
        Value::from_object(RenderData {
            platform,
            people: people.clone(),
        })
    }
}

/// A mention written while rendering: its text, and the notification target when there is one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
    pub tokens: Vec<(String, Option<Mention>)>,
}

fn mention_value(dialect: Dialect, state: &mut State, who: &Value) -> Result<String, Error> {
    if who.is_none() || who.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "mention() needs a person, an id or a name",
        ));
    }
    let data = state.lookup(DATA_KEY).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "mention() is not available here",
        )
    })?;
    let data = data.downcast_object_ref::<RenderData>().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "mention() is not available here",
        )
    })?;
    let (id, name) = match who.as_str() {
        Some(s) => (None, s.trim().to_string()),
        None => {
            let id = who
                .get_attr("id")
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            (id, person_name(who)?)
        }
    };
    let person: Option<&Person> = id
        .as_deref()
        .and_then(|i| data.people.resolve(i))
        .or_else(|| data.people.resolve(&name));
    let (token, target) = match person {
        Some(p) => match data.platform.mention_for(p, dialect) {
            Some(m) => {
                let id = m
                    .handle
                    .as_deref()
                    .or(m.mobile.as_deref())
                    .unwrap_or_default();
                let token = dialect.mention(MentionRef::Handle { id, name: &p.name });
                (token, Some(m))
            }
            None => (dialect.mention(MentionRef::Name(&p.name)), None),
        },
        None => (dialect.mention(MentionRef::Name(&name)), None),
    };
    let collected = state.get_or_insert_extension_with(Collected::default);
    if !collected.tokens.iter().any(|(t, _)| *t == token) {
        collected.tokens.push((token.clone(), target));
    }
    Ok(token)
}

/// One rendered template, before splitting.
#[derive(Debug, Clone)]
pub(crate) struct RenderedText {
    pub title: String,
    pub text: String,
    pub collected: Collected,
}

/// Renders `tmpl` with `ctx` (which must include [`DATA_KEY`]), tidies the output and collects
/// the title and mentions.
pub(crate) fn render(
    tmpl: &Template<'_, '_>,
    ctx: Value,
    default_title: &str,
) -> Result<RenderedText, Error> {
    let captured = tmpl.render_captured(ctx)?;
    let state = captured.state();
    let title = state
        .lookup("title")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_else(|| default_title.to_string());
    let collected = state
        .get_extension::<Collected>()
        .cloned()
        .unwrap_or_default();
    let text = tidy(captured.output());
    Ok(RenderedText {
        title,
        text,
        collected,
    })
}

/// Trailing spaces off, runs of blank lines folded to one, no blank lines at either end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_blank = false;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if pending_blank {
                out.push('\n');
            }
        }
        pending_blank = false;
        out.push_str(line);
    }
    out
}

/// Turns a minijinja error into one that names the file, the line and the problem.
pub(crate) fn jinja_error(file: &str, e: &Error) -> TemplateError {
    let mut problem = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(problem, ": {s}");
        source = s.source();
    }
    TemplateError::Invalid {
        file: e.name().unwrap_or(file).to_string(),
        line: e.line(),
        problem,
    }
}

// ---------------------------------------------------------------------------------------------
// Contexts: the views turned into template variables.

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
    leader: Option<PersonCtx>,
    owners: Vec<PersonCtx>,
}

pub(crate) fn status_label(locale: Locale, s: Status) -> &'static str {
    match (locale, s) {
        (Locale::ZhCn, Status::Todo) => "未开始",
        (Locale::ZhCn, Status::InProgress) => "整改中",
        (Locale::ZhCn, Status::Blocked) => "受阻",
        (Locale::ZhCn, Status::Done) => "已完成",
        (Locale::ZhCn, Status::Ongoing) => "长期坚持",
        (Locale::ZhCn, Status::Cancelled) => "已取消",
        (Locale::En, Status::Todo) => "to do",
        (Locale::En, Status::InProgress) => "in progress",
        (Locale::En, Status::Blocked) => "blocked",
        (Locale::En, Status::Done) => "done",
        (Locale::En, Status::Ongoing) => "ongoing",
        (Locale::En, Status::Cancelled) => "cancelled",
    }
}

fn task_ctx<'a>(
    l: &TaskLine<'a>,
    escalated: bool,
    locale: Locale,
    people: &Directory,
) -> TaskCtx<'a> {
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
        escalated,
        leader: t.leader.as_ref().map(|a| person_ctx(a, people)),
        owners: t.owners.iter().map(|a| person_ctx(a, people)).collect(),
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
}

fn task_section<'a>(
    lines: &[TaskLine<'a>],
    cap: usize,
    locale: Locale,
    people: &Directory,
) -> Section<TaskCtx<'a>> {
    section(
        lines.iter().map(|l| task_ctx(l, false, locale, people)),
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
}

pub(crate) fn reminder_context(
    common: Common<'_>,
    v: &ReminderView<'_>,
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
            v.tasks
                .iter()
                .map(|t| task_ctx(&t.line, t.escalated, locale, people)),
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

// ---------------------------------------------------------------------------------------------
// `weekbell check`

/// Checks the templates in `dir`: each of `digest.j2`, `reminder.j2`, `report_call.j2` that is
/// present must compile, use only known variables, and render against sample data (once with
/// every section filled, once with every section empty) in every dialect and locale.
///
/// The error names the file, the line when known, and the problem; a problem that shows only in
/// some dialect says which.
pub fn check_templates(dir: &Path) -> Result<(), TemplateError> {
    let meta = std::fs::metadata(dir).map_err(|source| TemplateError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(TemplateError::Invalid {
            file: dir.display().to_string(),
            line: None,
            problem: "template_dir is not a directory".into(),
        });
    }
    for kind in TemplateKind::ALL {
        let Some((name, source)) = read_user_template(dir, kind)? else {
            continue;
        };
        check_one(kind, &name, &source)?;
    }
    Ok(())
}

/// Reads `dir/<kind>.j2` if it exists; `(template name, source)`.
pub(crate) fn read_user_template(
    dir: &Path,
    kind: TemplateKind,
) -> Result<Option<(String, String)>, TemplateError> {
    let path = dir.join(kind.file_name());
    match std::fs::read_to_string(&path) {
        Ok(source) => Ok(Some((path.display().to_string(), source))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TemplateError::Read { path, source }),
    }
}

fn check_one(kind: TemplateKind, name: &str, source: &str) -> Result<(), TemplateError> {
    let samples = sample::Samples::new();
    // Plain first, so that a problem found there is reported without a dialect note.
    for dialect in Dialect::ALL {
        for locale in LOCALES {
            let env = build_env(dialect, locale)?;
            let tmpl = env
                .template_from_named_str(name, source)
                .map_err(|e| jinja_error(name, &e))?;
            if dialect == Dialect::Plain && locale == Locale::ZhCn {
                check_variables(&env, &tmpl, kind, name, source)?;
            }
            samples
                .render_all(&tmpl, kind, dialect, locale)
                .map_err(|e| {
                    let mut err = jinja_error(name, &e);
                    if dialect != Dialect::Plain
                        && let TemplateError::Invalid { problem, .. } = &mut err
                    {
                        let _ = write!(problem, " (when rendering for {})", dialect.as_str());
                    }
                    err
                })?;
        }
    }
    Ok(())
}

/// Finds variables the template uses that no context provides, including in branches the
/// sample data does not reach.
fn check_variables(
    env: &Environment<'_>,
    tmpl: &Template<'_, '_>,
    kind: TemplateKind,
    name: &str,
    source: &str,
) -> Result<(), TemplateError> {
    const SPECIAL: [&str; 6] = ["loop", "self", "super", "caller", "varargs", "kwargs"];
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| {
            !kind.context_keys().contains(&v.as_str())
                && !SPECIAL.contains(&v.as_str())
                && !env.globals().any(|(g, _)| g == v)
        })
        .collect();
    unknown.sort();
    let Some(var) = unknown.first() else {
        return Ok(());
    };
    Err(TemplateError::Invalid {
        file: name.to_string(),
        line: line_of_word(source, var),
        problem: format!(
            "unknown variable `{var}` (available in {}: {})",
            kind.file_name(),
            kind.context_keys().join(", ")
        ),
    })
}

/// The first line where `word` appears as a whole identifier.
fn line_of_word(source: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source
        .lines()
        .position(|line| {
            line.match_indices(word).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + word.len()..].chars().next();
                !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
            })
        })
        .map(|i| i + 1)
}

/// Sample data for `weekbell check`.
mod sample {
    use super::*;
    use crate::render::view::{self, DigestInput, WeekActivity};
    use crate::tasks::{RowRef, Task};
    use std::collections::BTreeMap;

    pub(super) struct Samples {
        tasks: Vec<Task>,
        people: Directory,
        activity: WeekActivity,
        today: NaiveDate,
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn who(name: &str, person: Option<&str>) -> Assignee {
        Assignee {
            name: name.into(),
            person: person.map(str::to_string),
        }
    }

    fn task(
        id: &str,
        title: &str,
        unit: &str,
        owner: Assignee,
        due: Option<NaiveDate>,
        status: Status,
        notes: &str,
    ) -> Task {
        Task {
            id: id.into(),
            title: title.into(),
            unit: unit.into(),
            leader: Some(who("张明远", Some("zhang.mingyuan"))),
            owners: vec![owner, who("未登记人员", None)],
            due,
            unreadable_due: None,
            status,
            progress: Some(40),
            notes: notes.into(),
            category: "示例".into(),
            channel: None,
            source: RowRef {
                sheet: "sample".into(),
                row: 1,
            },
        }
    }

    impl Samples {
        pub(super) fn new() -> Self {
            let today = date(2026, 11, 27);
            let mut handles = BTreeMap::new();
            for p in Platform::ALL {
                handles.insert(p, format!("{}-0001", p.as_str()));
            }
            let person = |id: &str, name: &str| Person {
                id: id.into(),
                name: name.into(),
                unit: None,
                mobile: Some("13800000001".into()),
                handles: handles.clone(),
                admin: false,
            };
            let people = Directory::new(vec![
                person("sun.qiang", "孙强"),
                person("zhang.mingyuan", "张明远"),
            ]);
            let sun = || who("孙强", Some("sun.qiang"));
            let tasks = vec![
                task(
                    "1",
                    "示例事项 *一*",
                    "县城管局",
                    sun(),
                    Some(date(2026, 11, 10)),
                    Status::InProgress,
                    "说明",
                ),
                task(
                    "2",
                    "示例事项二",
                    "首山镇",
                    sun(),
                    Some(date(2026, 11, 30)),
                    Status::Todo,
                    "",
                ),
                task(
                    "3",
                    "示例事项三",
                    "首山镇",
                    sun(),
                    Some(date(2027, 1, 15)),
                    Status::Blocked,
                    "需协调",
                ),
                task("4", "示例事项四", "", sun(), None, Status::Ongoing, ""),
                task(
                    "5",
                    "示例事项五",
                    "县城管局",
                    sun(),
                    Some(date(2026, 11, 1)),
                    Status::Done,
                    "",
                ),
                task(
                    "6",
                    "示例事项六",
                    "县水利局",
                    sun(),
                    None,
                    Status::Cancelled,
                    "",
                ),
            ];
            let activity = WeekActivity {
                completed_since: vec!["5".into()],
                reported_units: ["县水利局".to_string()].into(),
            };
            Samples {
                tasks,
                people,
                activity,
                today,
            }
        }

        pub(super) fn render_all(
            &self,
            tmpl: &Template<'_, '_>,
            kind: TemplateKind,
            dialect: Dialect,
            locale: Locale,
        ) -> Result<(), Error> {
            // Dialect-specific behaviour lives in the environment; any platform of the dialect
            // will do for the mentions.
            let platform = Platform::ALL
                .into_iter()
                .find(|p| p.dialect() == dialect || p.text_dialect() == Some(dialect))
                .unwrap_or(Platform::Console);
            let data = RenderData::value(platform, &self.people);
            let common = || Common {
                title: kind.default_title(locale),
                show_title: true,
                platform: platform.as_str(),
                today: self.today.to_string(),
                section_cap: 2,
            };
            let empty: Vec<Task> = Vec::new();
            for tasks in [&self.tasks, &empty] {
                let ctx = match kind {
                    TemplateKind::Digest => {
                        let input = DigestInput {
                            tasks,
                            today: self.today,
                            period_start: (!tasks.is_empty()).then(|| date(2026, 11, 20)),
                            period_end: self.today,
                            activity: &self.activity,
                            stale_list_note: (!tasks.is_empty()).then_some("示例"),
                        };
                        digest_context(common(), &view::digest_view(&input), locale, &self.people)
                    }
                    TemplateKind::Reminder => {
                        let views = view::reminder_views(&self.tasks, self.today, 3, &self.people);
                        for v in &views {
                            let ctx = reminder_context(common(), v, 3, locale, &self.people);
                            render(tmpl, with_data(ctx, &data), "")?;
                        }
                        continue;
                    }
                    TemplateKind::ReportCall => {
                        let units = view::units_without_report(tasks, &self.activity);
                        report_call_context(common(), &units, &self.people)
                    }
                };
                render(tmpl, with_data(ctx, &data), "")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, body: &str) {
        std::fs::write(dir.join(file), body).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }

    fn check(file: &str, body: &str) -> Result<(), TemplateError> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        write(dir.path(), file, body);
        check_templates(dir.path())
    }

    #[test]
    fn builtin_templates_pass_the_check() {
        for kind in TemplateKind::ALL {
            for locale in LOCALES {
                let name = kind.builtin_name(locale);
                let r = check_one(kind, &name, kind.builtin_source(locale));
                assert!(r.is_ok(), "{name}: {r:?}");
            }
        }
    }

    #[test]
    fn a_good_user_template_passes() {
        let r = check(
            "digest.j2",
            "{{ heading(title) }}\n{% for t in overdue.items %}{{ bullet }}{{ t.title }} {{ t.leader|mention if t.leader else \"\" }}\n{% endfor %}{{ bar(rate) }}",
        );
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = check("digest.j2", "line one\n{% if %}\n")
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("digest.j2:2: syntax error"), "{msg}");
    }

    #[test]
    fn unknown_variable_is_found_even_in_an_unreached_branch() {
        let err = check(
            "reminder.j2",
            "hi\n{% if false %}\n{{ nobody_knows }}\n{% endif %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("reminder.j2:3: unknown variable `nobody_knows`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_attribute_and_filter_fail_at_render() {
        let err = check("digest.j2", "a\n{{ totals.nope }}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("digest.j2:2: undefined value"), "{err}");
        let err = check("report_call.j2", "{{ title|shout }}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("report_call.j2:1: unknown filter"), "{err}");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let err = check(
            "digest.j2",
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("range() created more than"), "{err}");
        let err = check(
            "digest.j2",
            "{% for a in range(50000) %}{{ 'x' * 1000 }}{% endfor %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("exceeds"), "{err}");
        let err = check(
            "digest.j2",
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("recursion"), "{err}");
    }

    #[test]
    fn missing_dir_is_an_error_and_empty_dir_is_fine() {
        assert!(check_templates(Path::new("/nonexistent/weekbell/templates")).is_err());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        assert!(check_templates(dir.path()).is_ok());
    }

    #[test]
    fn values_are_escaped_unless_safe() {
        let env = build_env(Dialect::SlackMrkdwn, Locale::En).unwrap_or_else(|e| panic!("{e}"));
        let out = env
            .render_str(
                "{{ x }}|{{ x|safe }}|{{ bold(x) }}|{{ n }}|{{ none }}|{{ bar(63) }}|{{ bar(none) }}",
                minijinja::context! { x => "a<b>&c", n => 3 },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "a&lt;b&gt;&amp;c|a<b>&c|*a&lt;b&gt;&amp;c*|3||▓▓▓▓▓▓░░░░ 63%|░░░░░░░░░░ —"
        );
    }

    #[test]
    fn dates_follow_the_locale() {
        let zh = build_env(Dialect::Plain, Locale::ZhCn).unwrap_or_else(|e| panic!("{e}"));
        let en = build_env(Dialect::Plain, Locale::En).unwrap_or_else(|e| panic!("{e}"));
        let src = "{{ a|date }} {{ b|date }} {{ a|date('%Y/%m/%d') }}";
        let ctx =
            minijinja::context! { today => "2026-11-27", a => "2026-12-05", b => "2027-01-15" };
        assert_eq!(
            zh.render_str(src, &ctx).ok().as_deref(),
            Some("12月5日 2027年1月15日 2026/12/05")
        );
        assert_eq!(
            en.render_str(src, &ctx).ok().as_deref(),
            Some("Dec 5 Jan 15, 2027 2026/12/05")
        );
        assert!(en.render_str("{{ a|date('%H') }}", &ctx).is_err());
        assert!(en.render_str("{{ 'soon'|date }}", &ctx).is_err());
    }

    #[test]
    fn tidy_folds_blank_lines() {
        assert_eq!(tidy("\n\na  \n\n\n\nb\n\n"), "a\n\nb");
    }
}

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

// The folder `templates/` beside this file holds the built-in templates
// (`templates/{zh-CN,en}/*.j2`, compiled in by `include_str!` below), so this module's parts
// sit beside it as `template_*.rs` instead of in it among the `.j2` files.
#[path = "template_check.rs"]
mod check;
#[path = "template_context.rs"]
mod context;
#[path = "template_env.rs"]
mod env;
#[path = "template_samples.rs"]
mod samples;

pub use check::check_templates;
pub(crate) use check::read_user_template;
pub(crate) use context::{
    Common, digest_context, reminder_context, report_call_context, status_label, with_data,
};
pub(crate) use env::{RenderData, RenderedText, build_env, jinja_error, render};

use crate::config::Locale;
use std::path::PathBuf;

/// The most output one render may produce.
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// The most `range()` items one render may create, all calls together.
pub const MAX_RANGE_ITEMS: usize = 100_000;

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

pub(crate) const LOCALES: [Locale; 2] = [Locale::ZhCn, Locale::En];

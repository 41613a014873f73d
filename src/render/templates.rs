//! Message templates: the built-in ones (zh-CN and en) and the ones a channel or schedule points
//! at with `templates = "DIR"` in its config. The reference below is `docs/templates.md`, kept
//! once and included here.
#![doc = include_str!("../../docs/templates.md")]

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
    Common, assessment_context, digest_context, reminder_context, report_call_context,
    status_label, with_data,
};
pub(crate) use env::{RenderData, RenderedText, build_env, jinja_error, mention_token, render};

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

/// The four messages weekbell renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateKind {
    Digest,
    Reminder,
    ReportCall,
    /// The ranking report (考核通报).
    Assessment,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 4] = [
        TemplateKind::Digest,
        TemplateKind::Reminder,
        TemplateKind::ReportCall,
        TemplateKind::Assessment,
    ];

    /// The file name in a template directory.
    pub fn file_name(self) -> &'static str {
        match self {
            TemplateKind::Digest => "digest.j2",
            TemplateKind::Reminder => "reminder.j2",
            TemplateKind::ReportCall => "report_call.j2",
            TemplateKind::Assessment => "assessment.j2",
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
            (Locale::ZhCn, TemplateKind::Assessment) => {
                include_str!("templates/zh-CN/assessment.j2")
            }
            (Locale::En, TemplateKind::Assessment) => include_str!("templates/en/assessment.j2"),
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
            (Locale::ZhCn, TemplateKind::Assessment) => "整改工作考核通报",
            (Locale::En, TemplateKind::Assessment) => "Assessment and ranking",
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
                "warnings",
                "awaiting_review",
                "pending_extensions",
                "away",
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
                "admins",
                "on_behalf_of",
            ],
            TemplateKind::ReportCall => &[
                COMMON[0], COMMON[1], COMMON[2], COMMON[3], COMMON[4], "units",
            ],
            TemplateKind::Assessment => &[
                COMMON[0], COMMON[1], COMMON[2], COMMON[3], COMMON[4], "period", "by", "weeks",
                "rows", "best", "last",
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

#[cfg(test)]
mod reference_tests {
    use crate::types::Dialect;

    #[test]
    fn the_template_reference_names_every_dialect() {
        let reference = include_str!("../../docs/templates.md");
        for dialect in Dialect::ALL {
            assert!(
                reference.contains(&format!("`{}`", dialect.as_str())),
                "docs/templates.md does not list the dialect {}",
                dialect.as_str()
            );
        }
    }
}

//! Rendering: reminders and digests, templates, per-platform markup and splitting.
//!
//! The caller hands over tasks already filtered for a channel and schedule, the platform, the
//! locale and an optional template directory; it gets back messages in the platform's markup,
//! already split into numbered parts that fit the platform's size limit, each part carrying the
//! mentions that occur in it. Turning a part into a request body is
//! [`Platform::request_body`]; signing and sending belong to delivery.
//!
//! Data flows `view` (what to say: counts, sections, who) → `templates` (how to say it, escaped
//! through the dialect in `markup`) → `split` (how to cut it).
//!
//! # Long lists
//!
//! A digest of a very large list does not list every task: each list section (per-unit rows,
//! overdue, due soon, blocked, done, silent units) shows at most [`RenderOptions::section_cap`]
//! items (50 by default), most important first, followed by a line with how many more there are.
//! Counts and the completion rate always cover every task, so nothing is hidden from the totals,
//! and the full lists stay one command away (`weekbell tasks`, or `list overdue` in the chat).
//! Without a cap, a list of 100,000 tasks would make a digest of hundreds of parts that nobody
//! reads and that takes DingTalk's 20-messages-a-minute budget for an hour.

pub mod markup;
pub mod split;
pub mod templates;
pub mod view;

pub use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
pub use templates::{TemplateError, TemplateKind, check_templates};
pub use view::{DigestInput, WeekActivity};

use crate::config::{Config, Locale};
use crate::people::{Absences, Directory};
use crate::tasks::assess::Assessment;
use crate::tasks::warning::Judge;
use crate::tasks::{Assignee, Task};
use crate::types::MentionRef;
use crate::types::Platform;
use chrono::NaiveDate;
use minijinja::{Environment, Template, Value};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use templates::{Common, RenderData, RenderedText};

/// A message for one channel, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedMessage {
    /// For reminders: the person's id, or the name written in the list when it matched nobody.
    pub recipient: Option<String>,
    /// In sending order.
    pub parts: Vec<OutboundPart>,
}

/// A rendered message before splitting, e.g. for `weekbell preview`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody {
    pub title: String,
    pub text: String,
    /// Everyone notified by the message.
    pub mentions: Vec<Mention>,
    /// How each of `mentions` is written in the text, to find the parts it lands in.
    mention_tokens: Vec<String>,
    /// Every mention token in the text, notifying or not, so splitting never cuts one.
    tokens: Vec<String>,
}

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "a {platform} message part is still over the platform's {limit}-byte limit after splitting"
    )]
    TooLarge { platform: Platform, limit: usize },
}

/// Where a message goes and how it is written.
#[derive(Debug, Clone, Copy)]
pub struct RenderTarget<'a> {
    pub platform: Platform,
    /// The platform's markup, or another message type of the same platform the channel chose
    /// (`msgtype = "text"`); see [`crate::config::ChannelConfig::dialect`].
    pub dialect: Dialect,
    pub locale: Locale,
    /// The channel's or schedule's `template_dir`.
    pub template_dir: Option<&'a Path>,
    /// The channel's `max_message_size`, in the platform's unit (bytes unless it counts chars).
    pub max_message_size: Option<usize>,
}

impl<'a> RenderTarget<'a> {
    pub fn new(platform: Platform, locale: Locale) -> Self {
        RenderTarget {
            platform,
            dialect: platform.dialect(),
            locale,
            template_dir: None,
            max_message_size: None,
        }
    }

    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn template_dir(mut self, dir: Option<&'a Path>) -> Self {
        self.template_dir = dir;
        self
    }

    pub fn max_message_size(mut self, n: Option<usize>) -> Self {
        self.max_message_size = n;
        self
    }

    /// The text budget per part: the override in the platform's unit, else the platform's.
    pub fn size_limit(&self) -> Option<SizeLimit> {
        match (
            self.max_message_size,
            self.platform.size_limit_in(self.dialect),
        ) {
            (Some(n), Some(l)) => Some(l.with_value(n)),
            (Some(n), None) => Some(SizeLimit::Bytes(n)),
            (None, l) => l,
        }
    }
}

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// The most items a list section shows before "…and N more" (see the module docs).
    pub section_cap: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { section_cap: 50 }
    }
}

/// Renders messages. Built once per configuration: it holds one template environment per dialect
/// and locale, with the built-in templates and the configured template directories compiled.
pub struct Renderer {
    /// Indexed by `dialect * 2 + locale`.
    envs: Vec<Environment<'static>>,
    /// Which user templates were loaded, by directory and kind, with their template names.
    user: BTreeMap<(PathBuf, TemplateKind), String>,
    loaded_dirs: BTreeSet<PathBuf>,
    options: RenderOptions,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("loaded_dirs", &self.loaded_dirs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn dialect_index(d: Dialect) -> usize {
    match d {
        Dialect::Plain => 0,
        Dialect::DingTalkMarkdown => 1,
        Dialect::WeComMarkdown => 2,
        Dialect::FeishuMarkdown => 3,
        Dialect::SlackMrkdwn => 4,
        Dialect::DingTalkText => 5,
        Dialect::DiscordMarkdown => 6,
        Dialect::MattermostMarkdown => 7,
        Dialect::TelegramHtml => 8,
        Dialect::TeamsMarkdown => 9,
        Dialect::GoogleChatText => 10,
    }
}

/// Titles are previews and card headers: long ones are cut so they cannot crowd out the body.
const MAX_TITLE_CHARS: usize = 100;

impl Renderer {
    /// A renderer with the built-in templates only.
    pub fn new(options: RenderOptions) -> Result<Renderer, TemplateError> {
        let mut envs = Vec::with_capacity(Dialect::ALL.len() * templates::LOCALES.len());
        for dialect in Dialect::ALL {
            for locale in templates::LOCALES {
                debug_assert_eq!(
                    envs.len(),
                    dialect_index(dialect) * 2 + templates::locale_index(locale)
                );
                envs.push(templates::build_env(dialect, locale)?);
            }
        }
        Ok(Renderer {
            envs,
            user: BTreeMap::new(),
            loaded_dirs: BTreeSet::new(),
            options,
        })
    }

    /// A renderer with every `template_dir` of the configuration's channels and schedules loaded.
    pub fn from_config(config: &Config) -> Result<Renderer, TemplateError> {
        let mut r = Renderer::new(RenderOptions::default())?;
        let dirs = config
            .channels
            .values()
            .filter_map(|c| c.template_dir.as_deref())
            .chain(
                config
                    .schedules
                    .iter()
                    .filter_map(|s| s.template_dir.as_deref()),
            );
        for dir in dirs {
            r.load_template_dir(dir)?;
        }
        Ok(r)
    }

    /// Compiles the templates present in `dir`. A directory that was not loaded is still
    /// honoured at render time, by reading its files then.
    pub fn load_template_dir(&mut self, dir: &Path) -> Result<(), TemplateError> {
        if self.loaded_dirs.contains(dir) {
            return Ok(());
        }
        for kind in TemplateKind::ALL {
            let Some((name, source)) = templates::read_user_template(dir, kind)? else {
                continue;
            };
            for env in &mut self.envs {
                env.add_template_owned(name.clone(), source.clone())
                    .map_err(|e| templates::jinja_error(&name, &e))?;
            }
            self.user.insert((dir.to_path_buf(), kind), name);
        }
        self.loaded_dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn env(&self, dialect: Dialect, locale: Locale) -> &Environment<'static> {
        // The vector is built for every dialect and locale in `new`.
        &self.envs[dialect_index(dialect) * 2 + templates::locale_index(locale)]
    }

    /// Runs `f` with the template for `kind`: the target's template directory's file if it has
    /// one, else the built-in template.
    fn with_template<R>(
        &self,
        target: &RenderTarget<'_>,
        kind: TemplateKind,
        f: impl FnOnce(&Template<'_, '_>) -> Result<R, RenderError>,
    ) -> Result<R, RenderError> {
        let env = self.env(target.dialect, target.locale);
        let compile_err = |name: &str, e: &minijinja::Error| templates::jinja_error(name, e);
        if let Some(dir) = target.template_dir {
            if self.loaded_dirs.contains(dir) {
                if let Some(name) = self.user.get(&(dir.to_path_buf(), kind)) {
                    let t = env.get_template(name).map_err(|e| compile_err(name, &e))?;
                    return f(&t);
                }
            } else if let Some((name, source)) = templates::read_user_template(dir, kind)? {
                let t = env
                    .template_from_named_str(&name, &source)
                    .map_err(|e| compile_err(&name, &e))?;
                return f(&t);
            }
        }
        let name = kind.builtin_name(target.locale);
        let t = env
            .get_template(&name)
            .map_err(|e| compile_err(&name, &e))?;
        f(&t)
    }

    fn common<'t>(
        &self,
        target: &RenderTarget<'_>,
        kind: TemplateKind,
        today: NaiveDate,
    ) -> Common<'t> {
        Common {
            title: kind.default_title(target.locale),
            show_title: !target.platform.shows_title(),
            platform: target.platform.as_str(),
            today: today.to_string(),
            section_cap: self.options.section_cap,
        }
    }

    /// The status digest, split into parts.
    pub fn digest(
        &self,
        target: &RenderTarget<'_>,
        input: &DigestInput<'_>,
        people: &Directory,
    ) -> Result<RenderedMessage, RenderError> {
        let body = self.digest_body(target, input, people)?;
        Ok(RenderedMessage {
            recipient: None,
            parts: self.split_body(target, &body)?,
        })
    }

    /// The status digest as one unsplit text.
    pub fn digest_body(
        &self,
        target: &RenderTarget<'_>,
        input: &DigestInput<'_>,
        people: &Directory,
    ) -> Result<MessageBody, RenderError> {
        let kind = TemplateKind::Digest;
        let view = view::digest_view(input);
        let data = RenderData::value(target.platform, people);
        self.with_template(target, kind, |tmpl| {
            let common = self.common(target, kind, input.today);
            let ctx = templates::digest_context(common, &view, target.locale, people);
            self.render_body(target, tmpl, ctx, &data, kind)
        })
    }

    /// One reminder per person with open tasks (see [`view::reminder_views`]), each @mentioning
    /// the person and, for tasks overdue by more than `escalate_after_days`, the task's leader;
    /// each task shows the warning level `warnings` judges it at.
    pub fn reminders(
        &self,
        target: &RenderTarget<'_>,
        tasks: &[Task],
        today: NaiveDate,
        escalate_after_days: i64,
        warnings: Option<&Judge<'_>>,
        people: &Directory,
    ) -> Result<Vec<RenderedMessage>, RenderError> {
        self.reminders_during_leave(
            target,
            tasks,
            today,
            escalate_after_days,
            warnings,
            people,
            None,
            None,
        )
    }

    /// [`reminders`](Self::reminders), with the tasks of people on leave (`absences`) sent to
    /// whoever stands in for them, leaders on leave replaced by their deputies, and each
    /// warning level's `repeat` judged against the schedule's previous slot (its day).
    #[allow(clippy::too_many_arguments)]
    pub fn reminders_during_leave(
        &self,
        target: &RenderTarget<'_>,
        tasks: &[Task],
        today: NaiveDate,
        escalate_after_days: i64,
        warnings: Option<&Judge<'_>>,
        people: &Directory,
        absences: Option<&Absences>,
        previous_slot: Option<NaiveDate>,
    ) -> Result<Vec<RenderedMessage>, RenderError> {
        let kind = TemplateKind::Reminder;
        let views = view::reminder_views(
            tasks,
            today,
            escalate_after_days,
            warnings,
            people,
            absences,
            previous_slot,
        );
        let data = RenderData::value(target.platform, people);
        self.with_template(target, kind, |tmpl| {
            let mut out = Vec::with_capacity(views.len());
            for v in &views {
                let common = self.common(target, kind, today);
                let ctx = templates::reminder_context(
                    common,
                    v,
                    escalate_after_days,
                    target.locale,
                    people,
                );
                let body = self.render_body(target, tmpl, ctx, &data, kind)?;
                out.push(RenderedMessage {
                    recipient: Some(v.person_id.clone().unwrap_or_else(|| v.name.clone())),
                    parts: self.split_body(target, &body)?,
                });
            }
            Ok(out)
        })
    }

    /// The call for weekly reports, addressed to the owners of every unit that has work running
    /// and has not reported this week; `None` when there is no such unit, since a call with
    /// nobody to call would only be noise in the group.
    pub fn report_call(
        &self,
        target: &RenderTarget<'_>,
        tasks: &[Task],
        today: NaiveDate,
        activity: &WeekActivity,
        people: &Directory,
    ) -> Result<Option<RenderedMessage>, RenderError> {
        let kind = TemplateKind::ReportCall;
        let units = view::units_without_report(tasks, activity);
        if units.is_empty() {
            return Ok(None);
        }
        let data = RenderData::value(target.platform, people);
        self.with_template(target, kind, |tmpl| {
            let common = self.common(target, kind, today);
            let ctx = templates::report_call_context(common, &units, people);
            let body = self.render_body(target, tmpl, ctx, &data, kind)?;
            Ok(Some(RenderedMessage {
                recipient: None,
                parts: self.split_body(target, &body)?,
            }))
        })
    }

    /// The ranking report (考核通报) of `assessment`, as of `today`.
    pub fn assessment(
        &self,
        target: &RenderTarget<'_>,
        assessment: &Assessment,
        today: NaiveDate,
        people: &Directory,
    ) -> Result<RenderedMessage, RenderError> {
        let kind = TemplateKind::Assessment;
        let data = RenderData::value(target.platform, people);
        self.with_template(target, kind, |tmpl| {
            let common = self.common(target, kind, today);
            let ctx = templates::assessment_context(common, assessment);
            let body = self.render_body(target, tmpl, ctx, &data, kind)?;
            Ok(RenderedMessage {
                recipient: None,
                parts: self.split_body(target, &body)?,
            })
        })
    }

    /// A short message to `to` (each @mentioned, first), such as the note to a task's
    /// reviewers that it awaits their sign-off. `text` is plain; it is escaped line by line.
    pub fn notice(
        &self,
        target: &RenderTarget<'_>,
        people: &Directory,
        to: &[Assignee],
        text: &str,
    ) -> Result<RenderedMessage, RenderError> {
        let dialect = target.dialect;
        let mut mentions = Vec::new();
        let mut mention_tokens = Vec::new();
        let mut tokens = Vec::new();
        for a in to {
            let (token, m) = match view::resolve(a, people) {
                Some(p) => templates::mention_token(target.platform, dialect, p),
                None => (dialect.mention(MentionRef::Name(&a.name)), None),
            };
            if tokens.contains(&token) {
                continue;
            }
            if let Some(m) = m {
                mentions.push(m);
                mention_tokens.push(token.clone());
            }
            tokens.push(token);
        }
        let lines: Vec<String> = text.lines().map(|l| dialect.escape(l)).collect();
        let body = match tokens.is_empty() {
            true => lines.join("\n"),
            false => format!("{} {}", tokens.join(" "), lines.join("\n")),
        };
        let body = MessageBody {
            title: "weekbell".to_string(),
            text: dialect.finish(&body).into_owned(),
            mentions,
            mention_tokens,
            tokens,
        };
        Ok(RenderedMessage {
            recipient: None,
            parts: self.split_body(target, &body)?,
        })
    }

    /// A warning slip (督办单) for a channel a warning level names: the level's label, then
    /// each task at it with its deadline, owners and leaders, in the target's language.
    pub fn warning_slip(
        &self,
        target: &RenderTarget<'_>,
        label: &str,
        tasks: &[&Task],
        today: NaiveDate,
        people: &Directory,
    ) -> Result<RenderedMessage, RenderError> {
        let zh = target.locale == Locale::ZhCn;
        let names = |list: &mut dyn Iterator<Item = &Assignee>| {
            list.map(|a| view::resolve(a, people).map_or(a.name.trim(), |p| p.name.as_str()))
                .collect::<Vec<_>>()
                .join(if zh { "、" } else { ", " })
        };
        let mut text = if zh {
            format!("〔{label}〕以下 {} 项事项请督促落实：", tasks.len())
        } else {
            format!(
                "[{label}] {} task{} to follow up:",
                tasks.len(),
                if tasks.len() == 1 { "" } else { "s" }
            )
        };
        for t in tasks {
            let overdue = t.days_overdue(today);
            let when = match (t.due, zh) {
                (None, true) => "长期坚持".to_string(),
                (None, false) => "no deadline".to_string(),
                (Some(_), true) if overdue > 0 => format!("已逾期 {overdue} 天"),
                (Some(_), false) if overdue > 0 => format!("{overdue} days overdue"),
                (Some(d), true) => format!("{d} 到期"),
                (Some(d), false) => format!("due {d}"),
            };
            let owners = names(&mut t.owners.iter());
            let leaders = names(&mut t.leaders());
            let unit = t.unit.trim();
            text.push('\n');
            if zh {
                text.push_str(&format!("• 【{}】{}", t.id, t.title.trim()));
                if !unit.is_empty() {
                    text.push_str(&format!("（{unit}）"));
                }
                text.push_str(&format!("：{when}"));
                if !owners.is_empty() {
                    text.push_str(&format!("，责任人：{owners}"));
                }
                if !leaders.is_empty() {
                    text.push_str(&format!("，包保领导：{leaders}"));
                }
            } else {
                text.push_str(&format!("• {} {}", t.id, t.title.trim()));
                if !unit.is_empty() {
                    text.push_str(&format!(" ({unit})"));
                }
                text.push_str(&format!(" — {when}"));
                if !owners.is_empty() {
                    text.push_str(&format!(", owners {owners}"));
                }
                if !leaders.is_empty() {
                    text.push_str(&format!(", lead {leaders}"));
                }
            }
        }
        self.notice(target, people, &[], &text)
    }

    fn render_body(
        &self,
        target: &RenderTarget<'_>,
        tmpl: &Template<'_, '_>,
        ctx: Value,
        data: &Value,
        kind: TemplateKind,
    ) -> Result<MessageBody, RenderError> {
        let dialect = target.dialect;
        let RenderedText {
            title,
            text,
            collected,
        } = templates::render(
            tmpl,
            templates::with_data(ctx, data),
            kind.default_title(target.locale),
        )
        .map_err(|e| templates::jinja_error(tmpl.name(), &e))?;
        let mut title: String = Dialect::Plain.escape(title.trim());
        if title.chars().count() > MAX_TITLE_CHARS {
            title = title.chars().take(MAX_TITLE_CHARS - 1).collect();
            title.push('…');
        }
        let text = dialect.finish(&text).into_owned();
        let mut mentions = Vec::new();
        let mut mention_tokens = Vec::new();
        let mut tokens = Vec::new();
        for (token, m) in collected.tokens {
            // A mention written into a `{% set %}` that was never output notifies nobody.
            if let Some(m) = m
                && contains_token(&text, &token)
            {
                mentions.push(m);
                mention_tokens.push(token.clone());
            }
            tokens.push(token);
        }
        Ok(MessageBody {
            title,
            text,
            mentions,
            mention_tokens,
            tokens,
        })
    }

    /// Splits a body into parts that fit the target's limit, and checks the platform's limit on
    /// the whole request body (JSON escaping, title and mention lists included), splitting
    /// finer when a part's request would still be too big.
    pub fn split_body(
        &self,
        target: &RenderTarget<'_>,
        body: &MessageBody,
    ) -> Result<Vec<OutboundPart>, RenderError> {
        let platform = target.platform;
        let dialect = target.dialect;
        let mut limit = target.size_limit();
        let prefix = |i: usize, n: usize| dialect.part_prefix(i, n);
        let mut protect = body.tokens.clone();
        protect.extend(dialect.unbreakable().iter().map(|t| t.to_string()));
        for _ in 0..8 {
            let mut texts = split::split_with(&body.text, limit, &protect, &prefix);
            dialect.balance_parts(&mut texts);
            let n = texts.len();
            let parts: Vec<OutboundPart> = texts
                .into_iter()
                .enumerate()
                .map(|(i, text)| {
                    let mentions = body
                        .mentions
                        .iter()
                        .zip(&body.mention_tokens)
                        .filter(|(_, tok)| contains_token(&text, tok))
                        .map(|(m, _)| m.clone())
                        .collect();
                    OutboundPart {
                        title: if n > 1 {
                            format!("{} ({}/{n})", body.title, i + 1)
                        } else {
                            body.title.clone()
                        },
                        text,
                        mentions,
                        part: i + 1,
                        parts: n,
                    }
                })
                .collect();
            let (Some(max), Some(over)) = (
                platform.body_limit(),
                platform.body_overshoot(&parts, dialect),
            ) else {
                return Ok(parts);
            };
            if over == 0 {
                return Ok(parts);
            }
            // Shrink the text budget by the overshoot, with slack for the prefix and escaping.
            let over = over.saturating_add(256);
            let current = limit.unwrap_or(SizeLimit::Bytes(max));
            if current.value() <= split::MIN_LIMIT {
                break;
            }
            limit = Some(
                current.with_value(current.value().saturating_sub(over).max(split::MIN_LIMIT)),
            );
        }
        Err(RenderError::TooLarge {
            platform,
            limit: platform.body_limit().unwrap_or(0),
        })
    }
}

/// Whether `token` occurs in `text` as a whole token: `@staff-1` does not occur in `@staff-12`.
fn contains_token(text: &str, token: &str) -> bool {
    let continues = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    text.match_indices(token).any(|(i, _)| {
        !text[i + token.len()..]
            .chars()
            .next()
            .is_some_and(continues)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_boundaries() {
        assert!(contains_token("请 @staff-1 处理", "@staff-1"));
        assert!(!contains_token("请 @staff-12 处理", "@staff-1"));
        assert!(contains_token("<@U1>, <@U2>", "<@U2>"));
        assert!(!contains_token("@孙强强", "@孙强"));
    }

    #[test]
    fn target_size_limit_override_keeps_the_unit() {
        let t = RenderTarget::new(Platform::Slack, Locale::En).max_message_size(Some(100));
        assert_eq!(t.size_limit(), Some(SizeLimit::Chars(100)));
        let t = RenderTarget::new(Platform::Console, Locale::En).max_message_size(Some(100));
        assert_eq!(t.size_limit(), Some(SizeLimit::Bytes(100)));
        assert_eq!(
            RenderTarget::new(Platform::Console, Locale::En).size_limit(),
            None
        );
    }
}

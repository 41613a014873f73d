//! Running a command against the merged task list: who may, what changes, what to answer.

use super::parse::{Command, Lang, ListFilter, Parsed, UsageProblem, Verb, is_separator};
use super::text::{self, Headline, ListTitle};
use crate::config::ChannelConfig;
use crate::people::{Directory, Person};
use crate::render::view::DUE_SOON_DAYS;
use crate::store::NewEvent;
use crate::tasks::merge::field;
use crate::tasks::{Assignee, Status, Task};
use chrono::NaiveDate;
use std::collections::BTreeSet;

/// A `list` answer shows at most this many tasks: a chat message is read on a phone.
pub const LIST_CAP: usize = 30;

/// What a command runs against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The person who sent the command; `None` when no configured handle matched.
    pub sender: Option<&'a Person>,
    /// The platform's id for the sender, quoted to an unrecognised sender so that an admin
    /// can copy it into `[[people]]`.
    pub sender_handle: Option<&'a str>,
    /// The current tasks: the last good list with the recorded events applied.
    pub tasks: &'a [Task],
    /// The channel the command came through. It sees and changes only the tasks the channel
    /// covers ([`Task::covered_by`](crate::tasks::Task::covered_by), as its digest does), admins included, and takes
    /// reports only for units it covers. `None` (`weekbell cmd` without `--channel`) sees all.
    pub channel: Option<&'a ChannelConfig>,
    pub today: NaiveDate,
    /// The language to answer in ([`respond`] sets it from the command).
    pub lang: Lang,
    /// For display names and the units people belong to.
    pub people: Option<&'a Directory>,
}

impl<'a> Context<'a> {
    /// The tasks this command may see and change: those of its channel.
    fn visible(self) -> impl Iterator<Item = &'a Task> + Clone {
        let channel = self.channel;
        self.tasks
            .iter()
            .filter(move |t| channel.is_none_or(|c| t.covered_by(c)))
    }

    /// Whether a report for `unit` may come through this channel: one whose `units` name it
    /// (or that names none), or that covers a task of the unit.
    fn covers_unit(self, unit: &str) -> bool {
        let Some(channel) = self.channel else {
            return true;
        };
        let units = &channel.filter.units;
        units.is_empty()
            || units.iter().any(|u| u.trim() == unit)
            || self.visible().any(|t| t.unit.trim() == unit)
    }
}

/// One change to record. Each becomes one event (see [`crate::tasks::merge`] for the fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Status {
        task_id: String,
        old: Status,
        new: Status,
    },
    Progress {
        task_id: String,
        old: Option<u8>,
        new: u8,
    },
    Note {
        task_id: String,
        text: String,
    },
    Report {
        unit: String,
        text: String,
    },
}

impl Change {
    /// The event's `task_id`: the task's id, or the unit for a report.
    pub fn subject(&self) -> &str {
        match self {
            Change::Status { task_id, .. }
            | Change::Progress { task_id, .. }
            | Change::Note { task_id, .. } => task_id,
            Change::Report { unit, .. } => unit,
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            Change::Status { .. } => field::STATUS,
            Change::Progress { .. } => field::PROGRESS,
            Change::Note { .. } => field::NOTE,
            Change::Report { .. } => field::REPORT,
        }
    }

    pub fn old_value(&self) -> Option<String> {
        match self {
            Change::Status { old, .. } => Some(old.as_str().to_string()),
            Change::Progress { old, .. } => old.map(|p| p.to_string()),
            Change::Note { .. } | Change::Report { .. } => None,
        }
    }

    pub fn new_value(&self) -> Option<String> {
        Some(match self {
            Change::Status { new, .. } => new.as_str().to_string(),
            Change::Progress { new, .. } => new.to_string(),
            Change::Note { text, .. } | Change::Report { text, .. } => text.clone(),
        })
    }

    /// The state the reply shows; notes are not part of it.
    fn apply(&self, task: &mut Task) {
        match self {
            Change::Status { new, .. } => task.status = *new,
            Change::Progress { new, .. } => task.progress = Some(*new),
            Change::Note { .. } | Change::Report { .. } => {}
        }
    }
}

/// Where a command's changes came from, for turning them into events.
#[derive(Debug, Clone, Copy)]
pub struct EventMeta<'a> {
    /// Unique per command; event ids are `{id}/{n}`.
    pub id: &'a str,
    /// The platform's message or event id; the events' keys are `{key}/{n}`, so a retried
    /// delivery of the same message records nothing twice while one message may still record
    /// several changes (`done 12 note` is a status and a note).
    pub dedupe_key: Option<&'a str>,
    pub at_ms: i64,
    /// The sender's person id.
    pub actor: &'a str,
    /// `chat`, `cli` or `api`.
    pub source: &'a str,
    pub channel: Option<&'a str>,
}

/// The events to record for `changes`, in order.
pub fn to_events(changes: &[Change], meta: &EventMeta<'_>) -> Vec<NewEvent> {
    changes
        .iter()
        .enumerate()
        .map(|(n, c)| NewEvent {
            id: format!("{}/{n}", meta.id),
            dedupe_key: meta.dedupe_key.map(|k| format!("{k}/{n}")),
            task_id: c.subject().to_string(),
            at_ms: meta.at_ms,
            actor: meta.actor.to_string(),
            source: meta.source.to_string(),
            channel: meta.channel.map(str::to_string),
            field: c.field().to_string(),
            old_value: c.old_value(),
            new_value: c.new_value(),
        })
        .collect()
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Plain text in the command's language, for the whole channel: what changed.
    Text(String),
    /// Plain text for the asker alone where the platform can say so (Slack's and Mattermost's
    /// ephemeral responses, Discord's ephemeral messages): help, lookups, usage mistakes and
    /// refusals. They concern one person; posted to the group, a county office's channel of
    /// sixty fills with other people's typos.
    Private(String),
    /// The digest: the caller renders it as a `digest` schedule would, for this channel.
    Digest,
}

/// The changes to record (empty for reads, refusals and no-ops) and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub changes: Vec<Change>,
    pub reply: Reply,
}

impl Response {
    /// An answer that changes nothing and concerns only the asker (see [`Reply::Private`]).
    fn private(s: String) -> Self {
        Response {
            changes: Vec::new(),
            reply: Reply::Private(s),
        }
    }
}

/// Answers any parsed message: runs a command, explains a usage problem, or gives the help,
/// in the language the message was written in (`ctx.lang` when it cannot tell).
pub fn respond(parsed: &Parsed, ctx: &Context<'_>) -> Response {
    let ctx = Context {
        lang: parsed.lang(ctx.lang),
        ..*ctx
    };
    if ctx.sender.is_none() {
        return Response::private(text::not_recognised(ctx.lang, ctx.sender_handle));
    }
    match parsed {
        Parsed::Command { command, .. } => execute(command, &ctx),
        Parsed::Usage { verb, problem, .. } => {
            Response::private(text::usage_reply(ctx.lang, *verb, problem))
        }
        Parsed::Unknown { near, .. } => Response::private(text::not_understood(ctx.lang, *near)),
    }
}

/// Runs one command for `ctx.sender`, answering in `ctx.lang`.
///
/// Only recognised senders get anything but a pointer to the admin; any of them may read;
/// changing a task takes one of its owners, its leader or an admin.
pub fn execute(cmd: &Command, ctx: &Context<'_>) -> Response {
    let lang = ctx.lang;
    let Some(sender) = ctx.sender else {
        return Response::private(text::not_recognised(lang, ctx.sender_handle));
    };
    match cmd {
        Command::Help => Response::private(text::help_text(lang)),
        Command::Status => Response {
            changes: Vec::new(),
            reply: Reply::Digest,
        },
        Command::List(filter) => Response::private(list(filter, sender, ctx)),
        Command::Done { id, note } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            if t.status != Status::Done {
                changes.push(status_change(t, Status::Done));
                // A done task at 60% reads as a contradiction in the digest and the export.
                if let Some(p) = t.progress
                    && p < 100
                {
                    changes.push(Change::Progress {
                        task_id: t.id.clone(),
                        old: Some(p),
                        new: 100,
                    });
                }
            }
            push_note(&mut changes, t, note.as_deref());
            let h = match (t.status == Status::Done, note.is_some()) {
                (false, _) => Headline::Done,
                (true, false) => Headline::AlreadyDone,
                (true, true) => Headline::AlreadyDoneNoted,
            };
            (changes, h)
        }),
        Command::Progress { id, percent, note } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            if t.progress != Some(*percent) {
                changes.push(Change::Progress {
                    task_id: t.id.clone(),
                    old: t.progress,
                    new: *percent,
                });
            }
            // Reported progress means the work has started; other states (blocked, done)
            // are left for the commands that name them.
            if t.status == Status::Todo && *percent > 0 {
                changes.push(status_change(t, Status::InProgress));
            }
            let moved = !changes.is_empty();
            push_note(&mut changes, t, note.as_deref());
            let h = if !moved && note.is_some() {
                Headline::Noted
            } else if !moved {
                Headline::SameProgress
            } else if *percent == 100 && t.status != Status::Done {
                Headline::ProgressComplete
            } else {
                Headline::Progress
            };
            (changes, h)
        }),
        Command::Block { id, reason } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            if t.status != Status::Blocked {
                changes.push(status_change(t, Status::Blocked));
            }
            // The digest shows a blocked task's notes as its reason.
            push_note(&mut changes, t, Some(reason));
            (changes, Headline::Blocked)
        }),
        Command::Reopen { id, note } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            let already = t.status == Status::InProgress;
            if !already {
                changes.push(status_change(t, Status::InProgress));
            }
            push_note(&mut changes, t, note.as_deref());
            let h = match (already, note.is_some()) {
                (false, _) => Headline::Reopened,
                (true, false) => Headline::AlreadyInProgress,
                (true, true) => Headline::AlreadyInProgressNoted,
            };
            (changes, h)
        }),
        Command::Note { id, text } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            push_note(&mut changes, t, Some(text));
            (changes, Headline::Noted)
        }),
        Command::Report { text } => report(ctx, sender, text),
    }
}

fn status_change(t: &Task, new: Status) -> Change {
    Change::Status {
        task_id: t.id.clone(),
        old: t.status,
        new,
    }
}

fn push_note(changes: &mut Vec<Change>, t: &Task, note: Option<&str>) {
    if let Some(text) = note {
        changes.push(Change::Note {
            task_id: t.id.clone(),
            text: text.to_string(),
        });
    }
}

/// Finds the task, checks the sender may change it, and answers with its new state.
fn change_task(
    ctx: &Context<'_>,
    sender: &Person,
    id: &str,
    plan: impl FnOnce(&Task) -> (Vec<Change>, Headline),
) -> Response {
    let lang = ctx.lang;
    let Some(task) = find_in(ctx.visible(), id) else {
        return Response::private(text::no_such_task(lang, id));
    };
    if !may_change(sender, task) {
        return Response::private(text::refusal(lang, task, ctx.people));
    }
    let (changes, headline) = plan(task);
    let mut after = task.clone();
    for c in &changes {
        c.apply(&mut after);
    }
    let reply = format!(
        "{}\n{}",
        text::headline(lang, headline, &task.id),
        text::task_state(lang, &after, ctx.today, ctx.people)
    );
    Response {
        changes,
        reply: Reply::Text(reply),
    }
}

/// The task with this id: as written, then ignoring case (`a-3`), then ignoring leading zeros
/// (`012`), since people type ids from memory. A task of a named list (`央督-7`) is also found
/// by its id within the list (`7`) when no other list has that id.
pub fn find_task<'t>(tasks: &'t [Task], id: &str) -> Option<&'t Task> {
    find_in(tasks.iter(), id)
}

fn find_in<'t>(tasks: impl Iterator<Item = &'t Task> + Clone, id: &str) -> Option<&'t Task> {
    let id = id.trim();
    let by = |rule: fn(&str, &str) -> bool| {
        let tasks = tasks.clone();
        move || tasks.clone().find(|t| rule(t.id.trim(), id))
    };
    by(same_id)()
        .or_else(by(same_id_ignoring_case))
        .or_else(by(same_number))
        .or_else(|| {
            // Within a list: exactly one list has it, by the same rules in the same order.
            [same_id, same_id_ignoring_case, same_number]
                .iter()
                .find_map(|rule| {
                    let mut found = tasks
                        .clone()
                        .filter(|t| id_in_list(t).is_some_and(|local| rule(local.trim(), id)));
                    match (found.next(), found.next()) {
                        (Some(t), None) => Some(Some(t)),
                        // Two lists have a 7: `7` alone names neither.
                        (Some(_), Some(_)) => Some(None),
                        (None, _) => None,
                    }
                })
                .flatten()
        })
}

/// A named list's task id without the list's name in front (`央督-7` → `7`).
fn id_in_list(t: &Task) -> Option<&str> {
    let list = t.list.as_deref()?;
    t.id.strip_prefix(list)?.strip_prefix('-')
}

fn same_id(have: &str, want: &str) -> bool {
    have == want
}

fn same_id_ignoring_case(have: &str, want: &str) -> bool {
    have.eq_ignore_ascii_case(want)
}

fn same_number(have: &str, want: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(have) && digits(want) && have.trim_start_matches('0') == want.trim_start_matches('0')
}

/// Whether `a` names `p`: by the person id the import resolved, or, for a name the import
/// could not resolve, by the name itself.
pub fn is_person(a: &Assignee, p: &Person) -> bool {
    match &a.person {
        Some(id) => *id == p.id,
        None => {
            let n = a.name.trim();
            n == p.name.trim() || n == p.id
        }
    }
}

/// A task's owners, its leader and admins may change it; anyone else recognised may only
/// read (README, "Commands from the chat").
pub fn may_change(p: &Person, task: &Task) -> bool {
    p.admin || is_involved(p, task)
}

fn is_involved(p: &Person, task: &Task) -> bool {
    task.owners.iter().any(|a| is_person(a, p))
        || task.leader.as_ref().is_some_and(|a| is_person(a, p))
}

fn list(filter: &ListFilter, sender: &Person, ctx: &Context<'_>) -> String {
    let (lang, today) = (ctx.lang, ctx.today);
    let active = |t: &&Task| t.status.is_open() || t.status == Status::Ongoing;
    let (title, items): (ListTitle<'_>, Vec<&Task>) = match filter {
        ListFilter::Open => (ListTitle::Open, ctx.visible().filter(active).collect()),
        ListFilter::Mine => (
            ListTitle::Mine,
            ctx.visible()
                .filter(active)
                .filter(|t| is_involved(sender, t))
                .collect(),
        ),
        ListFilter::Overdue => {
            let mut v: Vec<&Task> = ctx.visible().filter(|t| t.is_overdue(today)).collect();
            v.sort_by_key(|t| std::cmp::Reverse(t.days_overdue(today)));
            (ListTitle::Overdue, v)
        }
        ListFilter::DueSoon => {
            let end = today
                .checked_add_signed(chrono::Duration::days(DUE_SOON_DAYS))
                .unwrap_or(NaiveDate::MAX);
            let mut v: Vec<&Task> = ctx
                .visible()
                .filter(|t| t.status.is_open() && t.due.is_some_and(|d| d >= today && d <= end))
                .collect();
            v.sort_by_key(|t| t.due);
            (ListTitle::DueSoon, v)
        }
        ListFilter::Blocked => (
            ListTitle::Blocked,
            ctx.visible()
                .filter(|t| t.status == Status::Blocked)
                .collect(),
        ),
        ListFilter::Unit(unit) => {
            let unit = unit.trim();
            let exact: Vec<&Task> = ctx.visible().filter(|t| t.unit.trim() == unit).collect();
            let v = if exact.is_empty() {
                // `城管` for `县城管局`: people shorten unit names.
                let want = unit.to_lowercase();
                ctx.visible()
                    .filter(|t| !t.unit.trim().is_empty() && t.unit.to_lowercase().contains(&want))
                    .collect()
            } else {
                exact
            };
            if v.is_empty() {
                let units = known_units(ctx);
                let sample: Vec<&str> = units
                    .into_iter()
                    .filter(|u| ctx.covers_unit(u))
                    .take(10)
                    .collect();
                return text::no_such_unit(lang, unit, &sample);
            }
            (ListTitle::Unit(unit), v)
        }
    };
    if items.is_empty() {
        return text::list_empty(lang, title);
    }
    let mut out = text::list_heading(lang, title, items.len());
    for t in items.iter().take(LIST_CAP) {
        out.push('\n');
        out.push_str(&text::task_line(lang, t, today, ctx.people));
    }
    if items.len() > LIST_CAP {
        out.push('\n');
        out.push_str(&text::list_more(lang, items.len() - LIST_CAP));
    }
    out
}

/// Units of the whole list and of the people directory, in list order first.
fn known_units<'a>(ctx: &Context<'a>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    let from_people = ctx
        .people
        .into_iter()
        .flat_map(|d| d.all())
        .filter_map(|p| p.unit.as_deref());
    ctx.tasks
        .iter()
        .map(|t| t.unit.as_str())
        .chain(from_people)
        .map(str::trim)
        .filter(|u| !u.is_empty() && seen.insert(*u))
        .collect()
}

fn report(ctx: &Context<'_>, sender: &Person, body: &str) -> Response {
    let lang = ctx.lang;
    let usage = |p: UsageProblem| Response::private(text::usage_reply(lang, Verb::Report, &p));
    let units = known_units(ctx);
    // The first word is the unit only when it names one: `周报 本周完成三处` is all text.
    let end = body.find(|c: char| is_separator(c)).unwrap_or(body.len());
    let first = &body[..end];
    let (unit, text) = if units.contains(&first) {
        (
            first,
            body[end..].trim_start_matches(is_separator).trim_end(),
        )
    } else {
        match sender.unit.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => (u, body.trim()),
            _ => return usage(UsageProblem::MissingUnit),
        }
    };
    if text.is_empty() {
        return usage(UsageProblem::MissingText);
    }
    // Recognised among every unit, refused here: otherwise `周报 其他单位 …` through a channel
    // of one unit would be taken as a report of the sender's own unit that begins "其他单位".
    if !ctx.covers_unit(unit) {
        return Response::private(text::unit_outside_channel(lang, unit));
    }
    let in_unit = |t: &&Task| t.unit.trim() == unit;
    let allowed = sender.admin
        || sender.unit.as_deref().map(str::trim) == Some(unit)
        || ctx
            .visible()
            .filter(in_unit)
            .any(|t| is_involved(sender, t));
    if !allowed {
        let members: Vec<&str> = ctx
            .people
            .into_iter()
            .flat_map(|d| d.all())
            .filter(|p| p.unit.as_deref().map(str::trim) == Some(unit))
            .map(|p| p.name.as_str())
            .take(5)
            .collect();
        return Response::private(text::report_refusal(lang, unit, &members));
    }
    let tasks: Vec<&Task> = ctx.visible().filter(in_unit).collect();
    let done = tasks.iter().filter(|t| t.status == Status::Done).count();
    let overdue = tasks.iter().filter(|t| t.is_overdue(ctx.today)).count();
    Response {
        changes: vec![Change::Report {
            unit: unit.to_string(),
            text: text.to_string(),
        }],
        reply: Reply::Text(text::report_received(
            lang,
            unit,
            tasks.len(),
            done,
            overdue,
        )),
    }
}

//! Running a command against the merged task list: who may, what changes, what to answer.

use super::parse::{Command, Lang, ListFilter, Parsed, UsageProblem, Verb, is_separator};
use super::text::{self, AwayProblem, ExtensionProblem, Headline, ListTitle};
use crate::config::{ChannelConfig, ListConfig, Review};
use crate::people::{Absence, Absences, Directory, Person};
use crate::render::view::{DUE_SOON_DAYS, resolve};
use crate::store::NewEvent;
use crate::tasks::merge::field;
use crate::tasks::{Assignee, Status, Task};
use chrono::{Datelike, NaiveDate};
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
    /// The lists' settings, for who signs a task off ([`Review`]); empty: nobody does.
    pub lists: &'a [ListConfig],
    /// Who is on leave: their deputies act on their tasks meanwhile.
    pub absences: Option<&'a Absences>,
}

impl<'a> Context<'a> {
    /// Whether `p` acts today for `a`, who is away with `p` as the deputy.
    fn deputises(self, p: &Person, a: &Assignee) -> bool {
        let Some(absences) = self.absences else {
            return false;
        };
        let id = match (&a.person, self.people) {
            (Some(id), _) => id.as_str(),
            (None, Some(people)) => match people.resolve(&a.name) {
                Some(q) => q.id.as_str(),
                None => return false,
            },
            (None, None) => return false,
        };
        absences.acts_for(&p.id, id, self.today)
    }

    /// Whether `p` may change `task`: one of its owners or leaders, an admin, or the deputy
    /// of an owner or leader on leave.
    fn may_change(self, p: &Person, task: &Task) -> bool {
        may_change(p, task)
            || task
                .owners
                .iter()
                .chain(task.leaders())
                .any(|a| self.deputises(p, a))
    }

    /// Whether `p` may sign off `task` (or answer its extension): a reviewer, or the deputy of
    /// a leader on leave where leaders review.
    fn may_sign_off(self, p: &Person, task: &Task, review: Review) -> bool {
        may_sign_off(p, task, review)
            || (review == Review::Leader && task.leaders().any(|a| self.deputises(p, a)))
    }

    /// Who signs `task` off before it closes: its list's `review`, by category.
    fn review_of(self, task: &Task) -> Review {
        self.lists
            .iter()
            .find(|l| l.name.as_deref() == task.list.as_deref())
            .map_or(Review::None, |l| l.review.for_category(&task.category))
    }

    /// The people who sign `task` off: its leaders for [`Review::Leader`] (the admins when the
    /// people list knows none of them, so that a task is never left without one), every admin
    /// for [`Review::Admins`].
    fn reviewers(self, task: &Task, review: Review) -> Vec<Assignee> {
        let admins = || -> Vec<Assignee> {
            self.people
                .into_iter()
                .flat_map(|d| d.all())
                .filter(|p| p.admin)
                .map(|p| Assignee {
                    name: p.name.clone(),
                    person: Some(p.id.clone()),
                })
                .collect()
        };
        match review {
            Review::None => Vec::new(),
            Review::Leader => {
                let leaders: Vec<Assignee> = self
                    .people
                    .into_iter()
                    .flat_map(|people| task.leaders().filter_map(|a| resolve(a, people)))
                    .map(|p| Assignee {
                        name: p.name.clone(),
                        person: Some(p.id.clone()),
                    })
                    .collect();
                if leaders.is_empty() {
                    admins()
                } else {
                    leaders
                }
            }
            Review::Admins => admins(),
        }
    }

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
    /// An extension asked for (the reason is part of the event's value).
    ExtensionAsked {
        task_id: String,
        to: NaiveDate,
        reason: String,
    },
    /// An extension granted: the deadline moves.
    Due {
        task_id: String,
        old: Option<NaiveDate>,
        new: NaiveDate,
    },
    ExtensionDenied {
        task_id: String,
        reason: String,
    },
    /// Leave recorded for `person` ([`Absence::to_value`]), or ended (`leave` empty).
    Away {
        person: String,
        leave: String,
    },
}

impl Change {
    /// The event's `task_id`: the task's id, or the unit for a report.
    pub fn subject(&self) -> &str {
        match self {
            Change::Status { task_id, .. }
            | Change::Progress { task_id, .. }
            | Change::Note { task_id, .. }
            | Change::ExtensionAsked { task_id, .. }
            | Change::Due { task_id, .. }
            | Change::ExtensionDenied { task_id, .. } => task_id,
            Change::Report { unit, .. } => unit,
            Change::Away { person, .. } => person,
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            Change::Status { .. } => field::STATUS,
            Change::Progress { .. } => field::PROGRESS,
            Change::Note { .. } => field::NOTE,
            Change::Report { .. } => field::REPORT,
            Change::ExtensionAsked { .. } => field::EXTENSION,
            Change::Due { .. } => field::DUE,
            Change::ExtensionDenied { .. } => field::EXTENSION_DENIED,
            Change::Away { .. } => field::AWAY,
        }
    }

    pub fn old_value(&self) -> Option<String> {
        match self {
            Change::Status { old, .. } => Some(old.as_str().to_string()),
            Change::Progress { old, .. } => old.map(|p| p.to_string()),
            Change::Due { old, .. } => old.map(|d| d.to_string()),
            Change::Note { .. }
            | Change::Report { .. }
            | Change::ExtensionAsked { .. }
            | Change::ExtensionDenied { .. }
            | Change::Away { .. } => None,
        }
    }

    pub fn new_value(&self) -> Option<String> {
        Some(match self {
            Change::Status { new, .. } => new.as_str().to_string(),
            Change::Progress { new, .. } => new.to_string(),
            Change::Note { text, .. } | Change::Report { text, .. } => text.clone(),
            Change::ExtensionAsked { to, reason, .. } => format!("{to} {reason}"),
            Change::Due { new, .. } => new.to_string(),
            Change::ExtensionDenied { reason, .. } => reason.clone(),
            Change::Away { leave, .. } => leave.clone(),
        })
    }

    /// The state the reply shows; notes are not part of it.
    fn apply(&self, task: &mut Task) {
        match self {
            Change::Status { new, .. } => task.status = *new,
            Change::Progress { new, .. } => task.progress = Some(*new),
            Change::Due { new, .. } => task.due = Some(*new),
            Change::Note { .. }
            | Change::Report { .. }
            | Change::ExtensionAsked { .. }
            | Change::ExtensionDenied { .. }
            | Change::Away { .. } => {}
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

/// A message for people other than the sender, sent once the changes are recorded: the
/// reviewers of a task reported done, the owners of a task signed off or returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The task it is about: it goes to the channel the command came through, or, from
    /// `weekbell cmd` without one, to every channel that covers this task.
    pub task_id: String,
    /// Whom it @mentions (a person id where the people list knows them, else a name).
    pub to: Vec<Assignee>,
    /// Plain text in the command's language.
    pub text: String,
}

/// The changes to record (empty for reads, refusals and no-ops), the answer, and whom else
/// to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub changes: Vec<Change>,
    pub reply: Reply,
    pub notices: Vec<Notice>,
}

impl Response {
    /// An answer that changes nothing and concerns only the asker (see [`Reply::Private`]).
    fn private(s: String) -> Self {
        Response {
            changes: Vec::new(),
            reply: Reply::Private(s),
            notices: Vec::new(),
        }
    }
}

/// What a command does to one task, once it is found and the sender may change it.
enum Planned {
    Change(Vec<Change>, Headline, Vec<Notice>),
    /// Refused for a reason of this command's own (a sign-off by someone who is no reviewer).
    Refuse(String),
}

impl From<(Vec<Change>, Headline)> for Planned {
    fn from((changes, headline): (Vec<Change>, Headline)) -> Self {
        Planned::Change(changes, headline, Vec::new())
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
            notices: Vec::new(),
        },
        Command::List(filter) => Response::private(list(filter, sender, ctx)),
        Command::Done { id, note } => change_task(ctx, sender, id, |t| {
            let review = ctx.review_of(t);
            if review != Review::None && t.status != Status::Done {
                if !ctx.may_sign_off(sender, t, review) {
                    return submit_for_review(ctx, sender, t, review, note.as_deref());
                }
                // A reviewer's own `done` on a task awaiting sign-off is the sign-off.
                if t.status == Status::Review {
                    return sign_off(ctx, sender, t, SignOff::Approve(note.as_deref()));
                }
            }
            let mut changes = Vec::new();
            if t.status != Status::Done {
                changes.push(status_change(t, Status::Done));
                push_progress_complete(&mut changes, t);
            }
            push_note(&mut changes, t, note.as_deref());
            let h = match (t.status == Status::Done, note.is_some()) {
                (false, _) => Headline::Done,
                (true, false) => Headline::AlreadyDone,
                (true, true) => Headline::AlreadyDoneNoted,
            };
            (changes, h).into()
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
            (changes, h).into()
        }),
        Command::Block { id, reason } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            if t.status != Status::Blocked {
                changes.push(status_change(t, Status::Blocked));
            }
            // The digest shows a blocked task's notes as its reason.
            push_note(&mut changes, t, Some(reason));
            (changes, Headline::Blocked).into()
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
            (changes, h).into()
        }),
        Command::Note { id, text } => change_task(ctx, sender, id, |t| {
            let mut changes = Vec::new();
            push_note(&mut changes, t, Some(text));
            (changes, Headline::Noted).into()
        }),
        Command::Report { text } => report(ctx, sender, text),
        Command::Approve { id, note } => change_task(ctx, sender, id, |t| {
            sign_off(ctx, sender, t, SignOff::Approve(note.as_deref()))
        }),
        Command::Reject { id, reason } => change_task(ctx, sender, id, |t| {
            sign_off(ctx, sender, t, SignOff::Reject(reason))
        }),
        Command::Extend { id, to, reason } => change_task(ctx, sender, id, |t| {
            ask_extension(ctx, sender, t, to, reason)
        }),
        Command::ApproveExtension { id, note } => change_task(ctx, sender, id, |t| {
            answer_extension(ctx, sender, t, ExtensionAnswer::Grant(note.as_deref()))
        }),
        Command::DenyExtension { id, reason } => change_task(ctx, sender, id, |t| {
            answer_extension(ctx, sender, t, ExtensionAnswer::Deny(reason))
        }),
        Command::Away { text } => away(ctx, sender, text),
        Command::Back { who } => back(ctx, sender, who.as_deref()),
    }
}

/// Whether `p` may approve or return `task` under `review`.
fn may_sign_off(p: &Person, task: &Task, review: Review) -> bool {
    match review {
        Review::None => may_change(p, task),
        Review::Leader => p.admin || task.leaders().any(|a| is_person(a, p)),
        Review::Admins => p.admin,
    }
}

/// An owner's `done` where the task needs sign-off: it waits for its reviewers, who are told.
fn submit_for_review(
    ctx: &Context<'_>,
    sender: &Person,
    t: &Task,
    review: Review,
    note: Option<&str>,
) -> Planned {
    let mut changes = Vec::new();
    if t.status == Status::Review {
        push_note(&mut changes, t, note);
        let h = if note.is_some() {
            Headline::Noted
        } else {
            Headline::AlreadyInReview
        };
        return (changes, h).into();
    }
    changes.push(status_change(t, Status::Review));
    push_progress_complete(&mut changes, t);
    push_note(&mut changes, t, note);
    let notice = Notice {
        task_id: t.id.clone(),
        to: ctx.reviewers(t, review),
        text: text::review_requested(ctx.lang, t, &sender.name),
    };
    Planned::Change(changes, Headline::SubmittedForReview, vec![notice])
}

/// What a reviewer's `approve` or `reject` asks for.
#[derive(Clone, Copy)]
enum SignOff<'a> {
    Approve(Option<&'a str>),
    Reject(&'a str),
}

/// `approve` closes a task (awaiting sign-off or not: a reviewer may close any task of theirs);
/// `reject` returns one awaiting sign-off to in progress. Both tell the owners. Where the
/// task's list has no sign-off, `approve` is `done` (`销号` meant done before sign-off
/// existed) and `reject` has nothing to return.
fn sign_off(ctx: &Context<'_>, sender: &Person, t: &Task, what: SignOff<'_>) -> Planned {
    let review = ctx.review_of(t);
    if !ctx.may_sign_off(sender, t, review) {
        let reviewers = ctx.reviewers(t, review);
        let names: Vec<&str> = reviewers.iter().map(|a| a.name.as_str()).collect();
        return Planned::Refuse(text::sign_off_refusal(ctx.lang, &t.id, &names));
    }
    let owners = || t.owners.clone();
    match what {
        SignOff::Approve(note) => {
            let mut changes = Vec::new();
            if t.status == Status::Done {
                push_note(&mut changes, t, note);
                let h = if note.is_some() {
                    Headline::AlreadyDoneNoted
                } else {
                    Headline::AlreadyDone
                };
                return (changes, h).into();
            }
            changes.push(status_change(t, Status::Done));
            push_progress_complete(&mut changes, t);
            push_note(&mut changes, t, note);
            if review == Review::None {
                return (changes, Headline::Done).into();
            }
            let notice = Notice {
                task_id: t.id.clone(),
                to: owners(),
                text: text::review_outcome(ctx.lang, t, &sender.name, None),
            };
            Planned::Change(changes, Headline::Approved, vec![notice])
        }
        SignOff::Reject(reason) => {
            if t.status != Status::Review {
                return Planned::Refuse(text::not_awaiting_review(ctx.lang, t));
            }
            let mut changes = vec![status_change(t, Status::InProgress)];
            push_note(&mut changes, t, Some(reason));
            let notice = Notice {
                task_id: t.id.clone(),
                to: owners(),
                text: text::review_outcome(ctx.lang, t, &sender.name, Some(reason)),
            };
            Planned::Change(changes, Headline::Rejected, vec![notice])
        }
    }
}

/// An owner asks to move the deadline to `to` (as typed); the leader, or the admins when the
/// people list does not know one, are told. A request after the deadline is allowed and marked
/// late; a second request replaces the first.
fn ask_extension(ctx: &Context<'_>, sender: &Person, t: &Task, to: &str, reason: &str) -> Planned {
    let lang = ctx.lang;
    let Some(due) = t.due else {
        return Planned::Refuse(text::extension_problem(
            lang,
            &t.id,
            ExtensionProblem::NoDeadline,
        ));
    };
    let Some(to) = extension_date(to, ctx.today) else {
        return Planned::Refuse(text::extension_problem(
            lang,
            &t.id,
            ExtensionProblem::Unreadable(to),
        ));
    };
    if to <= due || to <= ctx.today {
        return Planned::Refuse(text::extension_problem(
            lang,
            &t.id,
            ExtensionProblem::NotLater(due.max(ctx.today)),
        ));
    }
    let late = ctx.today > due;
    let notice = Notice {
        task_id: t.id.clone(),
        to: ctx.reviewers(t, Review::Leader),
        text: text::extension_requested(lang, t, &sender.name, to, reason, late),
    };
    let change = Change::ExtensionAsked {
        task_id: t.id.clone(),
        to,
        reason: reason.to_string(),
    };
    let h = if late {
        Headline::ExtensionAskedLate
    } else {
        Headline::ExtensionAsked
    };
    Planned::Change(vec![change], h, vec![notice])
}

/// A leader's answer to an extension request: granted (with an optional note) or denied.
#[derive(Clone, Copy)]
enum ExtensionAnswer<'a> {
    Grant(Option<&'a str>),
    Deny(&'a str),
}

/// The leader (or an admin) answers the pending request; the owners and the asker are told
/// either way.
fn answer_extension(
    ctx: &Context<'_>,
    sender: &Person,
    t: &Task,
    answer: ExtensionAnswer<'_>,
) -> Planned {
    let lang = ctx.lang;
    if !ctx.may_sign_off(sender, t, Review::Leader) {
        let reviewers = ctx.reviewers(t, Review::Leader);
        let names: Vec<&str> = reviewers.iter().map(|a| a.name.as_str()).collect();
        return Planned::Refuse(text::sign_off_refusal(lang, &t.id, &names));
    }
    let Some(pending) = &t.extension.pending else {
        return Planned::Refuse(text::extension_problem(
            lang,
            &t.id,
            ExtensionProblem::NothingPending,
        ));
    };
    let mut to: Vec<Assignee> = t.owners.clone();
    if let Some(people) = ctx.people
        && let Some(asker) = people.get(&pending.by)
        && !to.iter().any(|a| is_person(a, asker))
    {
        to.push(Assignee {
            name: asker.name.clone(),
            person: Some(asker.id.clone()),
        });
    }
    let (changes, headline, denied) = match answer {
        ExtensionAnswer::Grant(note) => {
            let mut changes = vec![Change::Due {
                task_id: t.id.clone(),
                old: t.due,
                new: pending.to,
            }];
            push_note(&mut changes, t, note);
            (changes, Headline::ExtensionGranted, None)
        }
        ExtensionAnswer::Deny(reason) => (
            vec![Change::ExtensionDenied {
                task_id: t.id.clone(),
                reason: reason.to_string(),
            }],
            Headline::ExtensionDenied,
            Some(reason),
        ),
    };
    let notice = Notice {
        task_id: t.id.clone(),
        to,
        text: text::extension_answered(lang, t, &sender.name, pending.to, denied),
    };
    Planned::Change(changes, headline, vec![notice])
}

/// The date an extension asks for, as people type it: `2027-01-31`, `2027/1/31`,
/// `2027年1月31日`, or without a year (`1月31日`, `1-31`), then the next such day after today.
fn extension_date(typed: &str, today: NaiveDate) -> Option<NaiveDate> {
    let date = crate::tasks::parse_due(typed, today).ok()??;
    if date > today || has_year(typed) {
        return Some(date);
    }
    date.with_year(date.year() + 1)
}

/// Whether a typed date names its year (four digits in a row).
fn has_year(typed: &str) -> bool {
    typed
        .as_bytes()
        .windows(4)
        .any(|w| w.iter().all(u8::is_ascii_digit))
}

/// `away [PERSON] FROM..TO [deputy PERSON]`: leave for the sender, or, from an admin, for the
/// person named first.
fn away(ctx: &Context<'_>, sender: &Person, text: &str) -> Response {
    let lang = ctx.lang;
    let refuse = |p: AwayProblem<'_>| Response::private(text::away_problem(lang, p));
    let (named, rest) = leading_person(ctx, text);
    let person = named.unwrap_or(sender);
    if person.id != sender.id && !sender.admin {
        return refuse(AwayProblem::NotYours);
    }
    let (days, deputy_text) = split_deputy(rest);
    let deputy = match deputy_text {
        Some(d) => match ctx.people.and_then(|p| p.resolve(d)) {
            Some(p) => Some(p),
            None => return refuse(AwayProblem::UnknownPerson(d)),
        },
        None => None,
    };
    let Some((from, to)) = leave_days(days, ctx.today) else {
        return refuse(AwayProblem::Days(days));
    };
    if to < ctx.today {
        return refuse(AwayProblem::Over);
    }
    let leave = Absence {
        person: person.id.clone(),
        from,
        to,
        deputy: deputy.map(|d| d.id.clone()),
    };
    Response {
        changes: vec![Change::Away {
            person: person.id.clone(),
            leave: leave.to_value(),
        }],
        reply: Reply::Text(text::away_recorded(
            lang,
            &person.name,
            Some((from, to, deputy.map(|d| d.name.as_str()))),
        )),
        notices: Vec::new(),
    }
}

/// `back [PERSON]`: leave ends now.
fn back(ctx: &Context<'_>, sender: &Person, who: Option<&str>) -> Response {
    let lang = ctx.lang;
    let refuse = |p: AwayProblem<'_>| Response::private(text::away_problem(lang, p));
    let person = match who {
        Some(w) => match ctx.people.and_then(|p| p.resolve(w)) {
            Some(p) => p,
            None => return refuse(AwayProblem::UnknownPerson(w)),
        },
        None => sender,
    };
    if person.id != sender.id && !sender.admin {
        return refuse(AwayProblem::NotYours);
    }
    if ctx
        .absences
        .and_then(|a| a.on(&person.id, ctx.today))
        .is_none()
    {
        return refuse(AwayProblem::NotAway(&person.name));
    }
    Response {
        changes: vec![Change::Away {
            person: person.id.clone(),
            leave: String::new(),
        }],
        reply: Reply::Text(text::away_recorded(lang, &person.name, None)),
        notices: Vec::new(),
    }
}

/// The person a leave command names first (an admin's on someone's behalf), and the rest.
fn leading_person<'t>(ctx: &Context<'t>, text: &'t str) -> (Option<&'t Person>, &'t str) {
    let text = text.trim();
    let end = text.find(is_separator).unwrap_or(text.len());
    let first = &text[..end];
    let is_date = crate::tasks::parse_due(first, ctx.today).is_ok_and(|d| d.is_some())
        || first.contains("..");
    match ctx.people.and_then(|p| p.resolve(first)) {
        Some(p) if !is_date => (Some(p), text[end..].trim()),
        _ => (None, text),
    }
}

/// The days and the deputy of `2026-12-10 至 2026-12-18 代理 王强` or
/// `2026-12-10..2026-12-18 deputy wang.qiang`.
fn split_deputy(text: &str) -> (&str, Option<&str>) {
    let lower = text.to_ascii_lowercase();
    let at = text
        .find("代理")
        .map(|i| (i, "代理".len()))
        .or_else(|| lower.find("deputy").map(|i| (i, "deputy".len())));
    match at {
        Some((i, len)) => {
            let deputy = text[i + len..].trim_matches(|c: char| is_separator(c) || c == '：');
            (text[..i].trim(), (!deputy.is_empty()).then_some(deputy))
        }
        None => (text.trim(), None),
    }
}

/// `FROM..TO`, `FROM 至 TO`, `FROM 到 TO`, `FROM~TO`, or one day, each as people write dates;
/// a year-less end before its start is in the next year.
fn leave_days(text: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let day = |s: &str| crate::tasks::parse_due(s.trim(), today).ok().flatten();
    let (from, to) = ["..", "至", "到", "~", "～", "—"]
        .iter()
        .find_map(|sep| text.split_once(sep))
        .map_or((text, text), |(a, b)| (a, b));
    let (from_day, mut to_day) = (day(from)?, day(to)?);
    if to_day < from_day && !has_year(to) {
        to_day = to_day.with_year(to_day.year() + 1)?;
    }
    (from_day <= to_day).then_some((from_day, to_day))
}

/// A done task at 60% reads as a contradiction in the digest and the export.
fn push_progress_complete(changes: &mut Vec<Change>, t: &Task) {
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
    plan: impl FnOnce(&Task) -> Planned,
) -> Response {
    let lang = ctx.lang;
    let Some(task) = find_in(ctx.visible(), id) else {
        return Response::private(text::no_such_task(lang, id));
    };
    if !ctx.may_change(sender, task) {
        return Response::private(text::refusal(lang, task, ctx.people));
    }
    let (changes, headline, notices) = match plan(task) {
        Planned::Change(changes, headline, notices) => (changes, headline, notices),
        Planned::Refuse(why) => return Response::private(why),
    };
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
        notices,
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
    task.owners.iter().any(|a| is_person(a, p)) || task.leaders().any(|a| is_person(a, p))
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
        notices: Vec::new(),
    }
}

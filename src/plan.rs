//! The planning half of weekbell, with no network: load everything a schedule needs, list its
//! slots, and render the messages each channel would receive for a slot.

use crate::calendar::{Calendar, CalendarError};
use crate::config::{
    self, ChannelConfig, Config, ConfigError, DEFAULT_MAX_UNPACKED_SIZE, ScheduleConfig,
    ScheduleKind,
};
use crate::config::{Locale, Recipient};
use crate::people::{Absences, Directory, Person};
use crate::render::{
    DigestInput, RenderError, RenderTarget, RenderedMessage, Renderer, TemplateError,
};
use crate::schedule::{CronExpr, Schedule, Slot, calendar_gap_warning};
use crate::state::{Basis, Current};
use crate::store::TaskEvent;
use crate::tasks::assess::{self, Assessment, GroupBy, Period};
use crate::tasks::warning::Judge;
use crate::tasks::{self, MergeOptions, SheetPerson, Task, TaskError, TaskList};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Anything that stops weekbell from planning: all of these are bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tasks(#[from] TaskError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The list `[tasks] source` names is not there: told apart from other read errors
    /// because the path was resolved against the config's directory, which the office may not
    /// expect, so the message shows both the line and the path it became.
    #[error(
        "task list {} does not exist; it is named by `source` at {written_at} (a relative path \
         is read from the config file's directory)",
        .path.display()
    )]
    TasksMissing { path: PathBuf, written_at: String },
    #[error("no schedule named `{0}`; `weekbell check` lists the schedules")]
    UnknownSchedule(String),
    #[error("no channel named `{0}`; `weekbell check` lists the channels")]
    UnknownChannel(String),
    #[error("schedule `{0}` has no upcoming slot")]
    NoSlot(String),
}

/// Everything loaded and validated: config, people, calendar, schedules, task list, templates.
pub struct Plan {
    pub config: Config,
    pub people: Directory,
    pub calendar: Calendar,
    pub schedules: Vec<Schedule>,
    /// Every list's tasks, in config order (`[tasks]`, then `[[lists]]`); the tasks of a named
    /// list carry its name in their ids.
    pub tasks: TaskList,
    /// What each list's load found, in the same order: for `check`.
    pub lists: Vec<LoadedList>,
    pub renderer: Renderer,
    /// What joining the list's people to the configured ones found (a mobile filled from the
    /// list, two people with one mobile), in the config's `locale`, for `check`.
    pub people_notes: Vec<String>,
    /// Set when a later re-read of the files failed and this plan is the last good one: the
    /// next digest says so in its footer.
    stale: AtomicBool,
    /// This plan's number among those the process loaded ([`Basis::generation`]).
    generation: u64,
}

/// Loads every list of `config` into one: a named list's ids gain its name (`央督-7`).
fn load_lists(
    config: &Config,
    people: &Directory,
    today: NaiveDate,
) -> Result<(TaskList, Vec<LoadedList>), PlanError> {
    let mut all = TaskList::default();
    let mut loaded = Vec::with_capacity(config.lists.len());
    for l in &config.lists {
        let mut list = tasks::load(&l.tasks, people, today).map_err(|e| match e {
            TaskError::Unreadable { path, source }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                PlanError::TasksMissing {
                    path,
                    written_at: l.source_at.clone(),
                }
            }
            other => PlanError::Tasks(other),
        })?;
        if let Some(name) = &l.name {
            list.belong_to(name);
        }
        let start = all.tasks.len();
        all.tasks.append(&mut list.tasks);
        all.warnings.append(&mut list.warnings);
        all.people.append(&mut list.people);
        all.list_date = all.list_date.or(list.list_date);
        loaded.push(LoadedList {
            name: l.name.clone(),
            source: l.tasks.source.clone(),
            tasks: start..all.tasks.len(),
            list_date: list.list_date,
            columns: list.columns.take(),
        });
    }
    Ok((all, loaded))
}

/// One list as loaded: which of `Plan::tasks` are its, and what `check` says of it.
#[derive(Debug)]
pub struct LoadedList {
    /// Its `[[lists]]` name; `None` for `[tasks]`.
    pub name: Option<String>,
    pub source: std::path::PathBuf,
    /// Its tasks' positions in `Plan::tasks.tasks`.
    pub tasks: std::ops::Range<usize>,
    pub list_date: Option<crate::tasks::ListDate>,
    pub columns: Option<crate::tasks::ColumnReport>,
}

/// Numbers the plans a process loads, so that the live view can tell a reloaded list from the
/// one it was built on without holding the plan.
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// A config file that holds secrets should be readable by its owner only.
fn readable_secrets_warning(config: &Config) -> Option<String> {
    if !config.holds_literal_secrets {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config.path).ok()?.permissions().mode();
        let (path, mode) = (config.path.display(), mode & 0o777);
        (mode & 0o044 != 0).then(|| {
            config.locale.pick(
                format!(
                    "{path} 含有密钥，且其他用户可以读取（权限 {mode:o}）：请运行 `chmod 600 \
                     {path}`，或把密钥移到环境变量中（`webhook = \"${{MY_WEBHOOK}}\"`）"
                ),
                format!(
                    "{path} holds secrets and other users can read it (mode {mode:o}): run \
                     `chmod 600 {path}`, or move the secrets into environment variables \
                     (`webhook = \"${{MY_WEBHOOK}}\"`)"
                ),
            )
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// A list that loads with no tasks: its header row was found (else loading fails) but nothing
/// is under it. That is valid (every task may have been removed), but far more often the wrong
/// file or sheet, or an export cut short, so it is said rather than sent as empty digests.
fn empty_list_warning(config: &Config, list: &LoadedList) -> Option<String> {
    if !list.tasks.is_empty() {
        return None;
    }
    let path = list.source.display();
    Some(config.locale.pick(
        format!(
            "任务清单 {path} 只有表头，没有任务：提醒和汇总都将为空；请确认 [tasks] source（和 \
             sheet）指向正确的文件和工作表"
        ),
        format!(
            "task list {path} has a header but no tasks: reminders and digests will be empty; \
             check that [tasks] source (and sheet) name the right file and sheet"
        ),
    ))
}

/// Teams channels still posting to an Office 365 connector, which Microsoft has retired: they
/// work until Microsoft switches the connector off, then every message fails.
fn retired_connector_warnings(config: &Config) -> impl Iterator<Item = String> + '_ {
    config
        .channels
        .values()
        .filter(|c| c.platform == crate::types::Platform::Teams)
        .filter(|c| {
            c.webhook
                .as_ref()
                .is_some_and(|w| crate::platforms::teams_uses_retired_connector(w.expose()))
        })
        .map(|c| {
            format!(
                "channel `{}` posts to a Teams Office 365 connector, which Microsoft has \
                 retired: create a Workflows webhook for the channel (⋯ → Workflows → \"Post to a \
                 channel when a webhook request is received\") and put its URL in `webhook`",
                c.name
            )
        })
}

/// The configured people and those the list gives a phone for, as one directory. A configured
/// person (matched by id or name) wins: the list adds only a mobile the config left out, since
/// it is the same person. Anyone else the list names with a phone becomes a person whose id
/// is their name, which is what their tasks already point at.
/// `[[people]]` joined by the address book's people: a configured person (matched by id or
/// name) wins, and only gains what the entry left out (mobile, email, unit, the handle on the
/// roster's platform); anyone else in the book becomes a person of their own, with their name
/// as id. A name the book gives twice is kept once (the first row), and said.
fn with_roster(
    configured: &[Person],
    roster: &[tasks::RosterEntry],
    platform: Option<crate::types::Platform>,
    locale: Locale,
) -> (Vec<Person>, Vec<String>) {
    let mut people = configured.to_vec();
    let mut notes = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in roster.iter().filter(|e| !e.name.is_empty()) {
        if let Some(first) = seen.get(e.name.as_str()) {
            notes.push(locale.pick(
                format!(
                    "通讯录第 {} 行与第 {first} 行同名（{}）：按姓名只认第 {first} 行；请在 [[people]] 中为另一位写明 id",
                    e.row, e.name
                ),
                format!(
                    "the address book names {} on rows {first} and {}: names resolve to row {first}; give the other one an id under [[people]]",
                    e.name, e.row
                ),
            ));
            continue;
        }
        seen.insert(&e.name, e.row);
        let handle = platform.zip(e.user_id.clone().filter(|u| !u.is_empty()));
        match people
            .iter_mut()
            .find(|p| p.id.trim() == e.name || p.name.trim() == e.name)
        {
            Some(p) => {
                p.mobile = p.mobile.take().or_else(|| e.mobile.clone());
                p.email = p.email.take().or_else(|| e.email.clone());
                p.unit = p.unit.take().or_else(|| e.unit.clone());
                if let Some((platform, id)) = handle {
                    p.handles.entry(platform).or_insert(id);
                }
            }
            None => people.push(Person {
                id: e.name.clone(),
                name: e.name.clone(),
                unit: e.unit.clone(),
                mobile: e.mobile.clone(),
                email: e.email.clone(),
                handles: handle.into_iter().collect(),
                admin: false,
            }),
        }
    }
    (people, notes)
}

fn with_sheet_people(
    configured: &[Person],
    sheet: &[SheetPerson],
    locale: Locale,
) -> (Directory, Vec<String>) {
    let base = Directory::new(configured.to_vec());
    let mut people = configured.to_vec();
    let mut notes = Vec::new();
    for p in sheet {
        match base.resolve(&p.name) {
            Some(c) => match &c.mobile {
                None => {
                    if let Some(target) = people.iter_mut().find(|x| x.id == c.id) {
                        target.mobile = Some(p.mobile.clone());
                    }
                }
                Some(m) if *m != p.mobile => notes.push(locale.pick(
                    format!(
                        "[[people]] 中 {} 的手机为 {m}，清单第 {} 行为 {}：以配置为准",
                        c.id, p.row, p.mobile
                    ),
                    format!(
                        "[[people]] gives {} the mobile {m}, the list (row {}) {}: the config's is used",
                        c.id, p.row, p.mobile
                    ),
                )),
                Some(_) => {}
            },
            None => people.push(Person {
                id: p.name.clone(),
                name: p.name.clone(),
                unit: None,
                mobile: Some(p.mobile.clone()),
                email: None,
                handles: Default::default(),
                admin: false,
            }),
        }
    }
    notes.extend(shared_mobiles(people.iter(), locale));
    (Directory::new(people), notes)
}

/// One warning per mobile that two different people share: a DingTalk or WeCom @mention by
/// mobile would reach one of them only.
fn shared_mobiles<'p>(people: impl Iterator<Item = &'p Person>, locale: Locale) -> Vec<String> {
    let mut by_mobile: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for p in people {
        if let Some(m) = p.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            by_mobile.entry(m).or_default().push(&p.id);
        }
    }
    by_mobile
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(m, ids)| {
            locale.pick(
                format!(
                    "{} 的手机号相同（{m}）：按手机@提醒只会提醒到其中一人",
                    ids.join("、")
                ),
                format!(
                    "{} share the mobile {m}: an @mention by mobile reaches only one of them",
                    ids.join(", ")
                ),
            )
        })
        .collect()
}

/// The messages one channel gets for one slot.
pub struct ChannelMessages<'a> {
    pub channel: &'a ChannelConfig,
    pub messages: Vec<RenderedMessage>,
}

impl Plan {
    /// Loads the config at `path` and everything it points to. `today` resolves dates written
    /// without a year (`12月底前`).
    pub fn load(path: &Path, today: NaiveDate) -> Result<Plan, PlanError> {
        let config = config::load(path)?;
        Plan::from_config(config, today)
    }

    pub fn from_config(config: Config, today: NaiveDate) -> Result<Plan, PlanError> {
        let (configured, roster_notes) = match &config.roster {
            Some(r) => {
                let entries = tasks::load_roster(
                    &r.source,
                    r.sheet.as_deref(),
                    config
                        .lists
                        .first()
                        .map_or(DEFAULT_MAX_UNPACKED_SIZE, |l| l.tasks.max_unpacked_size),
                    config.locale,
                )
                .map_err(PlanError::Tasks)?;
                with_roster(&config.people, &entries, r.platform, config.locale)
            }
            None => (config.people.clone(), Vec::new()),
        };
        let people = Directory::new(configured.clone());
        let calendar = Calendar::load(&config.holiday_files)?;
        let schedules = config
            .schedules
            .iter()
            .map(|s| {
                // The config loader already parsed every expression; this cannot fail for a
                // validated config, but an error is still reported rather than trusted away.
                let cron = CronExpr::parse(&s.cron).map_err(|e| {
                    PlanError::Config(ConfigError::Read {
                        path: config.path.clone(),
                        source: std::io::Error::other(e.to_string()),
                    })
                })?;
                Ok(Schedule {
                    name: s.name.clone(),
                    cron,
                    tz: s.timezone,
                    on_holiday: s.on_holiday,
                    workdays_only: s.workdays_only,
                })
            })
            .collect::<Result<Vec<_>, PlanError>>()?;
        let (mut tasks, lists) = load_lists(&config, &people, today)?;
        let area_notes =
            tasks::add_area_leaders(&mut tasks.tasks, &config.areas, &people, config.locale);
        let renderer = Renderer::from_config(&config)?;
        let (people, mut people_notes) = if tasks.people.is_empty() {
            (people, shared_mobiles(configured.iter(), config.locale))
        } else {
            with_sheet_people(&configured, &tasks.people, config.locale)
        };
        people_notes.splice(0..0, roster_notes);
        people_notes.extend(area_notes);
        Ok(Plan {
            config,
            people,
            people_notes,
            calendar,
            schedules,
            tasks,
            lists,
            renderer,
            stale: AtomicBool::new(false),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// What the current list is built from: the file's tasks, notes dated in the config's
    /// zone and signed with the people's names.
    pub fn basis(&self) -> Basis<'_> {
        Basis {
            file: &self.tasks.tasks,
            merge: MergeOptions {
                zone: self.config.timezone,
                people: Some(&self.people),
            },
            generation: self.generation,
            absences: &self.config.absences,
        }
    }

    /// Marks this plan as the last good one after a failed re-read.
    pub fn mark_stale(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    fn stale_note(&self, locale: crate::config::Locale) -> Option<&'static str> {
        if !self.stale.load(Ordering::Relaxed) {
            return None;
        }
        Some(match locale {
            crate::config::Locale::ZhCn => {
                "注意：任务清单或配置最近一次修改后读取失败，本消息仍按上次成功读取的版本生成，请运行 weekbell check 查看原因。"
            }
            crate::config::Locale::En => {
                "Note: the latest change to the task list or config could not be read; this message uses the last good version. Run `weekbell check` to see why."
            }
        })
    }

    pub fn schedule_config(&self, name: &str) -> Result<(&ScheduleConfig, &Schedule), PlanError> {
        self.config
            .schedules
            .iter()
            .zip(&self.schedules)
            .find(|(c, _)| c.name == name)
            .ok_or_else(|| PlanError::UnknownSchedule(name.to_string()))
    }

    /// The next `count` slots after `after`, across the named schedule or all of them, in time order.
    pub fn upcoming(
        &self,
        schedule: Option<&str>,
        after: DateTime<Utc>,
        count: usize,
    ) -> Result<Vec<Slot>, PlanError> {
        let chosen: Vec<&Schedule> = match schedule {
            Some(name) => vec![self.schedule_config(name)?.1],
            None => self.schedules.iter().collect(),
        };
        let mut slots: Vec<Slot> = chosen
            .iter()
            .flat_map(|s| s.slots_after(after, &self.calendar).take(count))
            .collect();
        slots.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.schedule.cmp(&b.schedule)));
        slots.truncate(count);
        Ok(slots)
    }

    /// Warnings a person should see before trusting the plan (calendar gaps, unknown owners).
    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut out: Vec<String> = self
            .tasks
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        // Only schedules that depend on the calendar are judged by it (the rule is in
        // `calendar_gap_warning`'s docs).
        for list in &self.lists {
            if let Some(c) = &list.columns {
                out.extend(c.warnings.iter().cloned());
            }
        }
        out.extend(self.people_notes.iter().cloned());
        out.extend(calendar_gap_warning(&self.calendar, &self.schedules, now));
        out.extend(
            self.lists
                .iter()
                .filter_map(|l| empty_list_warning(&self.config, l)),
        );
        out.extend(self.config.warnings.iter().cloned());
        out.extend(readable_secrets_warning(&self.config));
        out.extend(retired_connector_warnings(&self.config));
        out
    }

    /// The tasks (of `tasks`, the current list) a schedule sends to a channel: both filters
    /// apply, and a task routed to a channel by its own `channel` column goes only there.
    pub fn tasks_for(
        &self,
        schedule: &ScheduleConfig,
        channel: &ChannelConfig,
        tasks: &[Task],
    ) -> Vec<Task> {
        tasks
            .iter()
            .filter(|t| t.covered_by(channel))
            .filter(|t| t.passes(&schedule.filter))
            .cloned()
            .collect()
    }

    /// The assessment (考核) of `file` (the list's rows as read, or some of them) with
    /// `events` over `period`, in the config's zone and with its `[assessment]` weights.
    pub fn assess(
        &self,
        file: &[Task],
        events: &[TaskEvent],
        period: Period,
        by: GroupBy,
    ) -> Assessment {
        let options = MergeOptions {
            zone: self.config.timezone,
            people: Some(&self.people),
        };
        assess::assess(file, events, &options, period, by, &self.config.assessment)
    }

    /// Judges tasks against the config's warning levels, with `events` (those recorded so far)
    /// giving each task's last update and the list's date its start.
    pub fn warning_judge(&self, events: &[TaskEvent]) -> Judge<'_> {
        Judge::new(
            &self.config.warning_levels,
            events,
            self.config.timezone,
            self.tasks.list_date.map(tasks::ListDate::date),
        )
    }

    /// The digest as of `now`, for the `status` command: the tasks `channel` covers (all tasks
    /// without a channel), rendered for its platform and language (plain text in the config's
    /// language without one), with the last seven days as its period.
    pub fn digest_now(
        &self,
        channel: Option<&ChannelConfig>,
        tasks: &[Task],
        activity: &tasks::WeekActivity,
        events: &[TaskEvent],
        absences: &Absences,
        now: DateTime<Utc>,
    ) -> Result<RenderedMessage, PlanError> {
        let today = now.with_timezone(&self.config.timezone).date_naive();
        let week_ago = now - chrono::Duration::days(7);
        let judge = self.warning_judge(events);
        let tasks: Vec<Task> = match channel {
            Some(c) => tasks.iter().filter(|t| t.covered_by(c)).cloned().collect(),
            None => tasks.to_vec(),
        };
        let target = match channel {
            Some(c) => self.channel_target(c),
            None => RenderTarget::new(crate::types::Platform::Console, self.config.locale),
        };
        let input = DigestInput {
            tasks: &tasks,
            today,
            period_start: Some(week_ago.with_timezone(&self.config.timezone).date_naive()),
            period_end: today,
            activity,
            stale_list_note: self.stale_note(target.locale),
            warnings: Some(&judge),
            absences: Some(absences),
        };
        Ok(self.renderer.digest(&target, &input, &self.people)?)
    }

    /// How `channel` is written to: its platform, markup, language (the config's unless it
    /// sets one), templates and size.
    fn channel_target<'c>(&self, channel: &'c ChannelConfig) -> RenderTarget<'c> {
        RenderTarget {
            platform: channel.platform,
            dialect: channel.dialect(),
            locale: channel.locale.unwrap_or(self.config.locale),
            template_dir: channel.template_dir.as_deref(),
            max_message_size: channel.max_message_size,
        }
    }

    /// A notice from a command ([`crate::commands::Notice`]) as `channel` receives it: its
    /// people @mentioned, in the channel's markup and language.
    pub fn notice(
        &self,
        channel: &ChannelConfig,
        to: &[tasks::Assignee],
        text: &str,
    ) -> Result<RenderedMessage, PlanError> {
        let target = self.channel_target(channel);
        Ok(self.renderer.notice(&target, &self.people, to, text)?)
    }

    /// Renders what each of the schedule's channels (or only `only_channel`) receives for
    /// `slot`, from `current` (the list with the recorded events applied). "Done since the
    /// last digest" and "reported this week" count from the schedule's previous slot, or from
    /// a week before this one when it has none.
    pub fn messages(
        &self,
        slot: &Slot,
        only_channel: Option<&str>,
        current: &Current,
    ) -> Result<Vec<ChannelMessages<'_>>, PlanError> {
        let (sc, schedule) = self.schedule_config(&slot.schedule)?;
        if let Some(c) = only_channel
            && !sc.channels.iter().any(|n| n == c)
        {
            return Err(PlanError::UnknownChannel(format!(
                "{c}` in schedule `{}",
                sc.name
            )));
        }
        let today = slot.local.date();
        let previous = schedule.previous_before(slot.at, &self.calendar);
        let period_start = previous.as_ref().map(|p| p.local.date());
        let since_ms = previous.map_or_else(
            || (slot.at - chrono::Duration::days(7)).timestamp_millis(),
            |p| p.at.timestamp_millis(),
        );
        let activity = &current.activity(since_ms, slot.at.timestamp_millis());
        let judge = self.warning_judge(&current.events);
        let mut out = Vec::new();
        for name in &sc.channels {
            if only_channel.is_some_and(|c| c != name) {
                continue;
            }
            let channel = self
                .config
                .channels
                .get(name)
                .ok_or_else(|| PlanError::UnknownChannel(name.clone()))?;
            let target = RenderTarget {
                platform: channel.platform,
                dialect: channel.dialect(),
                locale: sc.locale.or(channel.locale).unwrap_or(self.config.locale),
                // A schedule's own templates are more specific than its channel's.
                template_dir: sc
                    .template_dir
                    .as_deref()
                    .or(channel.template_dir.as_deref()),
                max_message_size: channel.max_message_size,
            };
            let tasks = self.tasks_for(sc, channel, &current.tasks);
            let messages = match sc.kind {
                ScheduleKind::Digest => {
                    let input = DigestInput {
                        tasks: &tasks,
                        today,
                        period_start,
                        period_end: today,
                        activity,
                        stale_list_note: self.stale_note(target.locale),
                        warnings: Some(&judge),
                        absences: Some(&current.absences),
                    };
                    vec![self.renderer.digest(&target, &input, &self.people)?]
                }
                ScheduleKind::Reminders => self.renderer.reminders_during_leave(
                    &target,
                    &tasks,
                    today,
                    sc.escalate_after_days,
                    Some(&judge),
                    &self.people,
                    Some(&current.absences),
                    period_start,
                )?,
                ScheduleKind::ReportCall => self
                    .renderer
                    .report_call(&target, &tasks, today, activity, &self.people)?
                    .into_iter()
                    .collect(),
                // Judged from the rows as read and every event, as `weekbell assess` is, so
                // the report and the command agree to the figure.
                ScheduleKind::Assessment => {
                    let file = self.tasks_for(sc, channel, &self.tasks.tasks);
                    let period = Period::previous(sc.period, today);
                    let assessment = self.assess(&file, &current.events, period, GroupBy::Unit);
                    vec![
                        self.renderer
                            .assessment(&target, &assessment, today, &self.people)?,
                    ]
                }
            };
            out.push(ChannelMessages { channel, messages });
        }
        if sc.kind == ScheduleKind::Reminders {
            let tasks: Vec<&Task> = current
                .tasks
                .iter()
                .filter(|t| t.passes(&sc.filter))
                .collect();
            self.warning_slips(&tasks, today, period_start, &judge, only_channel, &mut out)?;
        }
        Ok(out)
    }

    /// What a reminder slot sends to the channels that warning levels name (`notify =
    /// ["channel:NAME"]`): one slip per level listing the schedule's tasks at it, as its
    /// `repeat` allows, added after whatever else that channel gets in this slot.
    fn warning_slips<'p>(
        &'p self,
        tasks: &[&Task],
        today: NaiveDate,
        previous_slot: Option<NaiveDate>,
        judge: &Judge<'_>,
        only_channel: Option<&str>,
        out: &mut Vec<ChannelMessages<'p>>,
    ) -> Result<(), PlanError> {
        for level in &self.config.warning_levels {
            let at_level: Vec<&Task> = tasks
                .iter()
                .copied()
                .filter(|t| {
                    judge
                        .level(t, today)
                        .is_some_and(|l| std::ptr::eq(l, level))
                        && judge.tells_again(t, level, today, previous_slot)
                })
                .collect();
            if at_level.is_empty() {
                continue;
            }
            for recipient in &level.notify {
                let Recipient::Channel(name) = recipient else {
                    continue;
                };
                if only_channel.is_some_and(|c| c != name) {
                    continue;
                }
                let Some(channel) = self.config.channels.get(name) else {
                    return Err(PlanError::UnknownChannel(name.clone()));
                };
                let target = self.channel_target(channel);
                let slip = self.renderer.warning_slip(
                    &target,
                    &level.label,
                    &at_level,
                    today,
                    &self.people,
                )?;
                match out.iter_mut().find(|m| m.channel.name == *name) {
                    Some(m) => m.messages.push(slip),
                    None => out.push(ChannelMessages {
                        channel,
                        messages: vec![slip],
                    }),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str, mobile: Option<&str>) -> Person {
        Person {
            id: id.to_string(),
            name: name.to_string(),
            unit: None,
            mobile: mobile.map(str::to_string),
            email: None,
            handles: Default::default(),
            admin: false,
        }
    }

    fn found(name: &str, mobile: &str, row: usize) -> SheetPerson {
        SheetPerson {
            name: name.to_string(),
            mobile: mobile.to_string(),
            row,
        }
    }

    #[test]
    fn the_list_adds_people_and_fills_a_missing_mobile_but_never_overrides_the_config() {
        let configured = [
            person("sun.qiang", "孙强", Some("13700000009")),
            person("zhou.min", "周敏", None),
        ];
        let sheet = [
            found("孙强", "13800000001", 4),
            found("周敏", "13800000002", 5),
            found("吴涛", "13800000004", 7),
        ];
        let (people, notes) = with_sheet_people(&configured, &sheet, Locale::En);
        let mobile = |key: &str| people.resolve(key).and_then(|p| p.mobile.clone());
        assert_eq!(mobile("sun.qiang").as_deref(), Some("13700000009"));
        assert_eq!(mobile("周敏").as_deref(), Some("13800000002"));
        assert_eq!(people.resolve("吴涛").map(|p| p.id.as_str()), Some("吴涛"));
        assert_eq!(mobile("吴涛").as_deref(), Some("13800000004"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("sun.qiang"), "{notes:?}");
    }

    #[test]
    fn two_people_with_one_mobile_are_one_warning() {
        let people = [
            person("a", "甲", Some("13800000002")),
            person("b", "乙", Some("13800000002")),
            person("c", "丙", Some("13800000003")),
        ];
        let notes = shared_mobiles(people.iter(), Locale::ZhCn);
        assert_eq!(
            notes,
            ["a、b 的手机号相同（13800000002）：按手机@提醒只会提醒到其中一人"]
        );
    }
}

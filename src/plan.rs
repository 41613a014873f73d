//! The planning half of weekbell, with no network: load everything a schedule needs, list its
//! slots, and render the messages each channel would receive for a slot.

use crate::calendar::{Calendar, CalendarError};
use crate::config::{self, ChannelConfig, Config, ConfigError, ScheduleConfig, ScheduleKind};
use crate::people::Directory;
use crate::render::{
    DigestInput, RenderError, RenderTarget, RenderedMessage, Renderer, TemplateError,
};
use crate::schedule::{CronExpr, Schedule, Slot, calendar_gap_warning};
use crate::state::{Basis, Current};
use crate::store::TaskEvent;
use crate::tasks::warning::Judge;
use crate::tasks::{self, MergeOptions, Task, TaskError, TaskList};
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
    pub tasks: TaskList,
    pub renderer: Renderer,
    /// Set when a later re-read of the files failed and this plan is the last good one: the
    /// next digest says so in its footer.
    stale: AtomicBool,
    /// This plan's number among those the process loaded ([`Basis::generation`]).
    generation: u64,
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
fn empty_list_warning(config: &Config, tasks: &TaskList) -> Option<String> {
    if !tasks.tasks.is_empty() {
        return None;
    }
    let path = config.tasks.source.display();
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
        let people = Directory::new(config.people.clone());
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
        let tasks = tasks::load(&config.tasks, &people, today).map_err(|e| match e {
            TaskError::Unreadable { path, source }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                PlanError::TasksMissing {
                    path,
                    written_at: config.tasks_source_at.clone(),
                }
            }
            other => PlanError::Tasks(other),
        })?;
        let renderer = Renderer::from_config(&config)?;
        Ok(Plan {
            config,
            people,
            calendar,
            schedules,
            tasks,
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
        out.extend(calendar_gap_warning(&self.calendar, &self.schedules, now));
        out.extend(empty_list_warning(&self.config, &self.tasks));
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
            Some(c) => RenderTarget {
                platform: c.platform,
                dialect: c.dialect(),
                locale: c.locale.unwrap_or(self.config.locale),
                template_dir: c.template_dir.as_deref(),
                max_message_size: c.max_message_size,
            },
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
        };
        Ok(self.renderer.digest(&target, &input, &self.people)?)
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
                    };
                    vec![self.renderer.digest(&target, &input, &self.people)?]
                }
                ScheduleKind::Reminders => self.renderer.reminders(
                    &target,
                    &tasks,
                    today,
                    sc.escalate_after_days,
                    Some(&judge),
                    &self.people,
                )?,
                ScheduleKind::ReportCall => self
                    .renderer
                    .report_call(&target, &tasks, today, activity, &self.people)?
                    .into_iter()
                    .collect(),
            };
            out.push(ChannelMessages { channel, messages });
        }
        Ok(out)
    }
}

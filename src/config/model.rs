//! The validated configuration: every cross-reference checked, every `${VAR}` resolved.

use super::platform::PlatformSettings;
use crate::people::{Absence, Person};
use crate::schedule::HolidayPolicy;
use crate::secret::Secret;
use crate::types::Dialect;
use crate::types::Platform;
use crate::types::Status;
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    ZhCn,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// The locale a config `locale` value names, if any.
    pub fn from_config_name(name: &str) -> Option<Locale> {
        match name {
            "zh-CN" | "zh" | "zh_CN" => Some(Locale::ZhCn),
            "en" | "en-US" | "en-GB" => Some(Locale::En),
            _ => None,
        }
    }

    /// The one of two texts written in this language.
    pub fn pick<T>(self, zh: T, en: T) -> T {
        match self {
            Locale::ZhCn => zh,
            Locale::En => en,
        }
    }
}

/// A field of a task that a column of the sheet can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Id,
    Title,
    Unit,
    Leader,
    Owners,
    Due,
    Status,
    Progress,
    Notes,
    Category,
    Channel,
    /// Units that assist the responsible one (配合单位); split into names like owners.
    CoUnits,
    /// The owners' phone numbers (联系电话): an owner with a phone becomes a person.
    Phones,
    /// Where the task is (所在乡镇, 属地).
    Area,
    /// What is being done about it (整改措施), as written.
    Measures,
    /// Progress in words (整改进展情况): kept and shown, never read as a status.
    ProgressText,
}

impl Field {
    pub const ALL: [Field; 16] = [
        Field::Id,
        Field::Title,
        Field::Unit,
        Field::Leader,
        Field::Owners,
        Field::Due,
        Field::Status,
        Field::Progress,
        Field::Notes,
        Field::Category,
        Field::Channel,
        Field::CoUnits,
        Field::Phones,
        Field::Area,
        Field::Measures,
        Field::ProgressText,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Title => "title",
            Field::Unit => "unit",
            Field::Leader => "leader",
            Field::Owners => "owners",
            Field::Due => "due",
            Field::Status => "status",
            Field::Progress => "progress",
            Field::Notes => "notes",
            Field::Category => "category",
            Field::Channel => "channel",
            Field::CoUnits => "co_units",
            Field::Phones => "phones",
            Field::Area => "area",
            Field::Measures => "measures",
            Field::ProgressText => "progress_text",
        }
    }

    pub fn from_name(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Where the task list is and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct TasksConfig {
    /// Absolute, or relative to the config file's directory already resolved.
    pub source: PathBuf,
    /// Sheet name for workbooks; the first sheet when `None`.
    pub sheet: Option<String>,
    /// Explicit header text per field; wins over the built-in header names.
    pub columns: BTreeMap<Field, String>,
    /// Extra cell texts per status, on top of the built-in words.
    pub status_values: BTreeMap<Status, Vec<String>>,
    /// Forces a text encoding for CSV/TSV (`utf-8`, `gbk`, `gb18030`); detected when `None`.
    pub encoding: Option<String>,
    /// The most a zipped workbook (xlsx, xlsb, ods) may unpack to, in bytes, all its entries
    /// together: checked before the workbook is parsed (`[tasks] max_unpacked_size`).
    pub max_unpacked_size: u64,
    /// How to read an all-numeric date whose day and month could be swapped (`03/04/2026`);
    /// such cells are unreadable without it (`[tasks] date_order`).
    pub date_order: Option<DateOrder>,
    /// The config's top-level `locale`, for the hints in the list's row messages.
    pub locale: Locale,
}

#[cfg(test)]
impl TasksConfig {
    /// A Chinese list at `source` with every option at its default, for tests.
    pub(crate) fn sample(source: &str) -> TasksConfig {
        TasksConfig {
            source: PathBuf::from(source),
            sheet: None,
            columns: BTreeMap::new(),
            status_values: BTreeMap::new(),
            encoding: None,
            max_unpacked_size: DEFAULT_MAX_UNPACKED_SIZE,
            date_order: None,
            locale: Locale::ZhCn,
        }
    }
}

/// The order of an all-numeric date without its year first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// Month, day, year: `12/31/2026`, as US tools export.
    Mdy,
    /// Day, month, year: `31/12/2026`, as European ones do.
    Dmy,
}

/// The 100,000-row xlsx list of the import bench (4.4 MB, BENCHMARKS.md) unpacks to about
/// 40 MiB and a county's real list to well under 1 MiB (the shipped one: 27 KB); 256 MiB leaves
/// room for lists with photos in them, while a zip bomb is refused before anything is inflated
/// (a 619 KB xlsx declaring 600 MiB of sheet XML took `weekbell tasks` to 1.7 GB in a debug
/// build; refused, it peaks at 19 MB).
pub const DEFAULT_MAX_UNPACKED_SIZE: u64 = 256 * 1024 * 1024;

/// Which tasks a channel or schedule covers. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub units: Vec<String>,
    pub categories: Vec<String>,
    /// `[[lists]]` names; `[tasks]`, which has no name, is written `"tasks"`.
    pub lists: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    pub name: String,
    pub platform: Platform,
    /// Outbound URL (Telegram has none: `bot_token` is a credential, `api_base` an option).
    pub webhook: Option<Secret>,
    /// Outbound signing secret (DingTalk 加签, Feishu 签名校验, generic webhook HMAC).
    pub secret: Option<Secret>,
    /// What this platform's channels take besides (app credentials, inbound secrets,
    /// options), typed.
    pub settings: PlatformSettings,
    pub template_dir: Option<PathBuf>,
    pub filter: TaskFilter,
    /// Overrides the platform's message size limit (in the platform's unit).
    pub max_message_size: Option<usize>,
    /// Sending pace for this channel; `None` uses the platform's default.
    pub rate_limit: Option<RateLimitSetting>,
    pub locale: Option<Locale>,
}

impl ChannelConfig {
    /// The platform API's base URL when the channel overrides it (`api_base`, set to reach a
    /// local stand-in or a private deployment), without a trailing `/`; blank counts as unset.
    pub fn api_base(&self) -> Option<&str> {
        self.settings
            .api_base()
            .map(|b| b.trim().trim_end_matches('/'))
            .filter(|b| !b.is_empty())
    }

    /// The markup this channel's messages are written in: the platform's, or its plain-text
    /// message type when the channel says `msgtype = "text"` (DingTalk, WeCom).
    pub fn dialect(&self) -> Dialect {
        match (self.settings.text_msgtype(), self.platform.text_dialect()) {
            (true, Some(text)) => text,
            _ => self.platform.dialect(),
        }
    }
}

/// A channel's own sending pace, overriding the platform's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitSetting {
    /// No limit (a local sink, a proxy that paces itself).
    Off,
    /// At most `count` messages per `per`.
    Limit {
        count: u32,
        per: std::time::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Reminders,
    Digest,
    ReportCall,
    /// The ranking report (考核通报) of the period before the slot.
    Assessment,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Reminders => "reminders",
            ScheduleKind::Digest => "digest",
            ScheduleKind::ReportCall => "report_call",
            ScheduleKind::Assessment => "assessment",
        }
    }
}

/// Which period an `assessment` schedule's report covers: the last whole calendar month or
/// quarter before the slot's day (a slot on 1 January reports on December, or on October to
/// December).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssessPeriod {
    #[default]
    Month,
    Quarter,
}

impl AssessPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            AssessPeriod::Month => "month",
            AssessPeriod::Quarter => "quarter",
        }
    }
}

/// `[assessment]`: what each part of a unit's (or leader's) score is worth (考核权重). The three
/// rates give up to their weight in points each (the defaults add up to 100); the penalties
/// take points away per task overdue at the period's end and per sign-off rejected in it. A
/// score never goes below zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssessmentWeights {
    /// Points for the share of tasks done (办结率).
    pub done_rate: f64,
    /// Points for the share of done tasks done by their deadline (按期办结率).
    pub on_time_rate: f64,
    /// Points for the share of weekly reports made in their week (周报按时报送率).
    pub report_rate: f64,
    /// Points off per task overdue at the end of the period.
    pub overdue_penalty: f64,
    /// Points off per sign-off rejected (退回) in the period.
    pub rejected_penalty: f64,
}

impl Default for AssessmentWeights {
    fn default() -> Self {
        AssessmentWeights {
            done_rate: 40.0,
            on_time_rate: 30.0,
            report_rate: 30.0,
            overdue_penalty: 2.0,
            rejected_penalty: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    pub name: String,
    pub cron: String,
    pub timezone: Tz,
    pub kind: ScheduleKind,
    pub channels: Vec<String>,
    pub on_holiday: HolidayPolicy,
    pub workdays_only: bool,
    /// A slot missed while the daemon was down is still sent if at most this late.
    pub catch_up: Duration,
    /// Owners' leaders are @mentioned once a task is overdue by more than this many days.
    pub escalate_after_days: i64,
    pub template_dir: Option<PathBuf>,
    pub filter: TaskFilter,
    pub locale: Option<Locale>,
    /// For `assessment` schedules: the period each report covers.
    pub period: AssessPeriod,
}

/// `[roster]`: an address book whose people join `[[people]]`.
#[derive(Debug, Clone)]
pub struct RosterConfig {
    /// Absolute, or relative to the config file's directory already resolved.
    pub source: PathBuf,
    pub sheet: Option<String>,
    /// The platform its user id column (UserID, 账号, Slack ID) belongs to; without one that
    /// column is not used.
    pub platform: Option<Platform>,
}

/// How `lists` filters name the `[tasks]` list, which has no `name`.
pub const UNNAMED_LIST: &str = "tasks";

/// One task list: `[tasks]`, or a `[[lists]]` entry with its short name.
/// Who must sign a task off (审核销号) before `done` closes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Review {
    /// `done` closes the task at once: weekbell's behaviour before sign-off existed.
    #[default]
    None,
    /// The task's leader (包保领导), or an admin when it has none or the leader is away.
    Leader,
    /// Any admin (the supervision office, 督查室).
    Admins,
}

impl Review {
    pub const ALL: [Review; 3] = [Review::None, Review::Leader, Review::Admins];

    pub fn as_str(self) -> &'static str {
        match self {
            Review::None => "none",
            Review::Leader => "leader",
            Review::Admins => "admins",
        }
    }
}

/// A list's `review` and `review_categories`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewRule {
    pub default: Review,
    /// By category as written in the list (问题类别), over `default`.
    pub categories: BTreeMap<String, Review>,
}

impl ReviewRule {
    pub fn for_category(&self, category: &str) -> Review {
        self.categories
            .get(category.trim())
            .copied()
            .unwrap_or(self.default)
    }
}

#[derive(Debug, Clone)]
pub struct ListConfig {
    /// `None` for `[tasks]`. A named list's task ids are shown and typed with the name in front
    /// (`央督-7`, [`TaskList::belong_to`](crate::tasks::TaskList::belong_to)), so that two lists
    /// may both have a task 7.
    pub name: Option<String>,
    pub tasks: TasksConfig,
    /// Where its `source` is written (`weekbell.toml:4:10`), so that a list that is not there
    /// can be traced to the line that names it.
    pub source_at: String,
    /// Who signs its tasks off before they close.
    pub review: ReviewRule,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from, for messages.
    pub path: PathBuf,
    pub timezone: Tz,
    pub locale: Locale,
    pub store_url: Secret,
    /// The task lists: `[tasks]` first (unnamed), then each `[[lists]]` entry. Never empty.
    pub lists: Vec<ListConfig>,
    pub people: Vec<Person>,
    pub roster: Option<RosterConfig>,
    pub channels: BTreeMap<String, ChannelConfig>,
    pub schedules: Vec<ScheduleConfig>,
    pub holiday_files: Vec<PathBuf>,
    pub server_listen: Option<String>,
    /// Per-sender limit on inbound commands (`[server] sender_rate_limit`, default 20/min).
    pub sender_rate_limit: Option<RateLimitSetting>,
    /// The file itself holds a token or secret (not a `${VAR}`), so who can read it matters.
    pub holds_literal_secrets: bool,
    /// Set-ups that work but should be changed (weak inbound verification), each with the
    /// file, line and what to do, in the config's language.
    pub warnings: Vec<String>,
    /// The graded warning levels (`[[warnings]]`), least severe first; the built-in
    /// [`default_warning_levels`] when the config has none.
    pub warning_levels: Vec<WarningLevel>,
    /// Whether `warning_levels` are the built-in ones.
    pub warning_levels_default: bool,
    /// `[areas]`: an area (the task's 所在乡镇, else its unit) → the leader answerable for it
    /// (包片领导), a person's id or name, who becomes one of the task's leaders.
    pub areas: BTreeMap<String, String>,
    /// Leave the config gives (`[[people]] away` and `deputy`), deputies as person ids.
    pub absences: Vec<Absence>,
    /// `[assessment]`, or the defaults.
    pub assessment: AssessmentWeights,
}

/// What makes a task reach a warning level (预警规则). Every rule matches open tasks only
/// (to do, in progress, blocked): a task done, cancelled or ongoing (长期坚持) is never warned
/// about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningRule {
    /// The deadline is today or at most this many days away (`due_within 3d`).
    DueWithin(i64),
    /// Progress is below the elapsed share of the task's time minus `margin` percentage
    /// points (序时进度, `behind_schedule 10%`). The time runs from the task's start (see
    /// `tasks::warning`) to its deadline; a task with no progress, deadline or start is not
    /// judged by this rule.
    BehindSchedule { margin: u8 },
    /// Nothing recorded for the task (a status, progress or note, from the chat or the file)
    /// for at least this many days (`no_update_for 7d`).
    NoUpdateFor(i64),
    /// The deadline has passed (`overdue`).
    Overdue,
    /// The deadline passed more than this many days ago (`overdue_by 7d`), as `escalate_after`
    /// has always counted.
    OverdueBy(i64),
    /// Blocked (受阻) for at least this many days (`blocked_for 7d`).
    BlockedFor(i64),
}

impl WarningRule {
    /// The rule's names as written in the config.
    pub const NAMES: [&'static str; 6] = [
        "due_within",
        "behind_schedule",
        "no_update_for",
        "overdue",
        "overdue_by",
        "blocked_for",
    ];
}

impl std::fmt::Display for WarningRule {
    /// The rule as the config writes it, for `check`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WarningRule::DueWithin(d) => write!(f, "due_within {d}d"),
            WarningRule::BehindSchedule { margin } => write!(f, "behind_schedule {margin}%"),
            WarningRule::NoUpdateFor(d) => write!(f, "no_update_for {d}d"),
            WarningRule::Overdue => f.write_str("overdue"),
            WarningRule::OverdueBy(d) => write!(f, "overdue_by {d}d"),
            WarningRule::BlockedFor(d) => write!(f, "blocked_for {d}d"),
        }
    }
}

/// Whom a warning level tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Owners,
    Leader,
    Admins,
    /// A configured channel, by name (`channel:NAME`).
    Channel(String),
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Owners => f.write_str("owners"),
            Recipient::Leader => f.write_str("leader"),
            Recipient::Admins => f.write_str("admins"),
            Recipient::Channel(c) => write!(f, "channel:{c}"),
        }
    }
}

/// How often a task at a level is told again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// In every reminder slot (the default, as reminders have always done).
    EachSlot,
    /// At most once a day.
    Daily,
    /// Once, when the task reaches the level.
    Once,
}

impl Repeat {
    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::EachSlot => "each_slot",
            Repeat::Daily => "daily",
            Repeat::Once => "once",
        }
    }
}

/// One `[[warnings]]` entry (预警等级). Entries are ordered by severity, least severe first;
/// a task's warning is the last entry any of whose rules matches. Several consecutive entries
/// may share a name (two `red` entries: overdue, and overdue by 7 days with the leader told):
/// they are one level to readers (`tasks --warning red`, the digest's counts) with the
/// severity of the first, and the last matching entry decides whom to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningLevel {
    /// `blue`, `yellow`, `red`: what `tasks --json` and `--warning` use.
    pub name: String,
    /// What messages show (`蓝色预警`); the name when the config gives none.
    pub label: String,
    /// Any of these matches.
    pub rules: Vec<WarningRule>,
    pub notify: Vec<Recipient>,
    pub repeat: Repeat,
    /// The position of the first entry with this name: equal for entries sharing a name,
    /// higher for a more severe level.
    pub severity: usize,
}

impl WarningLevel {
    /// Whether `word` names this level, by name or label (`red`, `红`).
    pub fn is_named(&self, word: &str) -> bool {
        self.name == word || self.label == word
    }
}

/// The levels an office gets with no `[[warnings]]` in its config: blue 3 days before the
/// deadline, yellow when 10 points behind schedule or silent for 7 days, red when overdue,
/// and red with the leader and the admins told when overdue by more than `overdue_by_days`
/// (7, or the config's old top-level `escalate_after`).
pub fn default_warning_levels(locale: Locale, overdue_by_days: i64) -> Vec<WarningLevel> {
    let level = |name: &str, label: &str, rules, notify, severity| WarningLevel {
        name: name.to_string(),
        label: label.to_string(),
        rules,
        notify,
        repeat: Repeat::EachSlot,
        severity,
    };
    let (blue, yellow, red) = locale.pick(
        ("蓝色预警", "黄色预警", "红色预警"),
        ("blue", "yellow", "red"),
    );
    vec![
        level(
            "blue",
            blue,
            vec![WarningRule::DueWithin(3)],
            vec![Recipient::Owners],
            0,
        ),
        level(
            "yellow",
            yellow,
            vec![
                WarningRule::BehindSchedule { margin: 10 },
                WarningRule::NoUpdateFor(7),
            ],
            vec![Recipient::Owners],
            1,
        ),
        level(
            "red",
            red,
            vec![WarningRule::Overdue],
            vec![Recipient::Owners],
            2,
        ),
        level(
            "red",
            red,
            vec![WarningRule::OverdueBy(overdue_by_days)],
            vec![Recipient::Owners, Recipient::Leader, Recipient::Admins],
            2,
        ),
    ]
}

impl Config {
    /// The list named `name` (`None`: `[tasks]`).
    pub fn list(&self, name: Option<&str>) -> Option<&ListConfig> {
        self.lists.iter().find(|l| l.name.as_deref() == name)
    }

    /// Who signs off a task of list `list` (`None`: `[tasks]`) and `category`.
    pub fn review_for(&self, list: Option<&str>, category: &str) -> Review {
        self.list(list)
            .map_or(Review::None, |l| l.review.for_category(category))
    }

    /// `[tasks] date_order` of the list named `name`.
    pub fn date_order(&self, name: Option<&str>) -> Option<DateOrder> {
        self.list(name).and_then(|l| l.tasks.date_order)
    }
}

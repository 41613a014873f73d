//! `weekbell init`: a commented starting config written from an office's own list.
//!
//! A newcomer has a sheet and no config. Rather than ask them to learn the config's keys
//! first, weekbell reads the list as `check` would, and writes what it found: the list's path
//! and sheet, its language and time zone, the people it names, a `console` channel (so that
//! `preview` works with no chat account), the usual three schedules and, with `--platform`, that
//! platform's channel section with its secrets as `${ENV}` references. The config it writes is
//! loaded again before it is written, so a config that `init` writes passes `check` (given the
//! environment variables its channel names).

use crate::config::{self, ConfigError, Locale, ProcessEnv};
use crate::plan::{Plan, PlanError};
use crate::types::Platform;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

/// What `weekbell init` was asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The task list to read.
    pub list: PathBuf,
    /// Where the config goes; never overwritten.
    pub output: PathBuf,
    /// The workbook's sheet; the first when `None`.
    pub sheet: Option<String>,
    /// A chat platform whose channel section to add beside the console.
    pub platform: Option<Platform>,
    /// The language of messages; guessed from the list when `None`.
    pub locale: Option<Locale>,
    /// The schedules' zone; Asia/Shanghai for a Chinese list, else the machine's, when `None`.
    pub timezone: Option<chrono_tz::Tz>,
    /// An address book to read people from (`[roster]`); its user ids are taken as
    /// `platform`'s.
    pub roster: Option<PathBuf>,
}

/// The config `init` wrote, and what it found, for the command line to report.
#[derive(Debug)]
pub struct StartingConfig {
    pub path: PathBuf,
    pub text: String,
    pub tasks: usize,
    /// Distinct people named on the list, and how many of them have a mobile.
    pub people: usize,
    pub people_with_mobile: usize,
    pub locale: Locale,
    pub timezone: chrono_tz::Tz,
    /// Environment variables the channel section reads: set them before `check`.
    pub env_vars: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{} already exists; init never overwrites a config. Choose another file with -o, or remove it first",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    ListUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The list did not load (no header row, duplicate ids, …): the same error `check` gives.
    #[error(transparent)]
    List(Box<PlanError>),
    /// The config written from the list did not load again: a defect of `init`, reported
    /// rather than written.
    #[error("the config init made does not load ({0}); nothing was written. Please report this")]
    Unloadable(Box<PlanError>),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A platform's shipped example, `config/examples/<module>.toml`; the console has none (its
/// channel is the one `init` always writes).
macro_rules! example_file {
    (console) => {
        ""
    };
    ($module:ident) => {
        include_str!(concat!("../config/examples/", stringify!($module), ".toml"))
    };
}

/// `example_section`, from the one list of platforms (`types::for_each_platform`).
macro_rules! example_sections {
    ($($variant:ident $module:ident [$($verifier:ident)?],)*) => {
        /// The channel sections of the shipped examples, one per platform: `--platform` copies
        /// the section (its keys as `${ENV}` references and the comments that say where each
        /// comes from), so there is one description of each platform's keys, which the example
        /// tests already load.
        fn example_section(platform: Platform) -> &'static str {
            match platform {
                $(Platform::$variant => example_file!($module),)*
            }
        }
    };
}
crate::types::for_each_platform!(example_sections);

/// The `[channels.…]` table of an example, renamed to `name`, without the example's unit
/// filter (a list of that example's units, which the new list does not have).
fn channel_section(platform: Platform, name: &str) -> String {
    let example = example_section(platform);
    let mut out = String::new();
    let mut example_name = None;
    for line in example.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            example_name = trimmed
                .strip_prefix("[channels.")
                .and_then(|rest| rest.strip_suffix(']'));
            if example_name.is_some() {
                let _ = writeln!(out, "[channels.{name}]");
            }
            continue;
        }
        if let Some(old) = example_name
            && !trimmed.starts_with("units")
        {
            // The comments name the channel's hook path (/hooks/county).
            let line = line.replace(&format!("/hooks/{old}"), &format!("/hooks/{name}"));
            let _ = writeln!(out, "{line}");
        }
    }
    out.trim_end().to_string()
}

/// The `${NAME}` references in `text` that have no default (`${NAME:-}` has one).
fn required_env(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find('}') else { break };
            let reference = &rest[..end];
            if !reference.contains(":-") && !names.iter().any(|n| n == reference) {
                names.push(reference.to_string());
            }
            rest = &rest[end + 1..];
        }
    }
    names
}

/// A TOML string literal: quotes and escapes as TOML wants them.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `target` relative to `base` when both are on the same root, so that the config keeps
/// working when the folder is moved; absolute otherwise.
fn relative_to(target: &Path, base: &Path) -> PathBuf {
    let target: Vec<Component<'_>> = target.components().collect();
    let base: Vec<Component<'_>> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return target.iter().collect();
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &target[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn absolute(path: &Path) -> Result<PathBuf, InitError> {
    std::path::absolute(path).map_err(|source| InitError::ListUnreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// The machine's IANA zone: `TZ` when it names one (as the C library reads it, with or
/// without its leading colon), else the system's setting, else UTC.
fn machine_zone() -> chrono_tz::Tz {
    std::env::var("TZ")
        .ok()
        .and_then(|tz| tz.trim_start_matches(':').parse().ok())
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse().ok())
        })
        .unwrap_or(chrono_tz::UTC)
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// One person named on the list.
struct Named {
    name: String,
    unit: Option<String>,
    mobile: Option<String>,
    leads: bool,
}

struct Draft<'a> {
    opts: &'a InitOptions,
    source: PathBuf,
    /// The address book, relative to the config as `source` is.
    roster: Option<PathBuf>,
    locale: Locale,
    timezone: chrono_tz::Tz,
    people: Vec<Named>,
}

impl Draft<'_> {
    fn zh(&self) -> bool {
        self.locale == Locale::ZhCn
    }

    /// The config text. `with_people` false gives the probe that reads the list;
    /// `with_platform` false leaves out the chat platform's channel, whose `${ENV}` values may
    /// not be set on the machine that runs `init`.
    fn text(&self, with_people: bool, with_platform: bool) -> String {
        let zh = self.zh();
        let mut t = String::new();
        let source = self.source.to_string_lossy().replace('\\', "/");
        let _ = writeln!(
            t,
            "# weekbell — made by `weekbell init` from {}.\n\
             # Try it: weekbell --config {} check, then … preview. Edit freely: every key is\n\
             # described in weekbell's README.\n",
            source,
            self.opts.output.display()
        );
        let _ = writeln!(
            t,
            "timezone = {}\nlocale = {}\n",
            quoted(self.timezone.name()),
            quoted(self.locale.as_str())
        );
        let _ = writeln!(
            t,
            "[store]\n# Where chat updates and the send log are kept (relative to this file).\n\
             url = \"sqlite://data/weekbell.db\"\n"
        );
        let _ = writeln!(t, "[tasks]\nsource = {}", quoted(&source));
        if let Some(sheet) = &self.opts.sheet {
            let _ = writeln!(t, "sheet = {}", quoted(sheet));
        }
        if let Some(roster) = &self.roster {
            let _ = writeln!(
                t,
                "\n# The address book the people below come from (their mobiles, units and ids).\n\
                 [roster]\nsource = {}",
                quoted(&roster.to_string_lossy().replace('\\', "/"))
            );
            match self.opts.platform.filter(|p| *p != Platform::Console) {
                Some(p) => {
                    let _ = writeln!(t, "platform = {}", quoted(p.as_str()));
                }
                None => {
                    let _ = writeln!(
                        t,
                        "# platform = \"dingtalk\"   # whose ids its UserID column holds"
                    );
                }
            }
        }
        let _ = writeln!(
            t,
            "# Columns are found by their headers; `weekbell check` prints which header became\n\
             # which field. Pin one when a header is unusual, for example:\n\
             # [tasks.columns]\n\
             # due = {}\n",
            quoted(if zh {
                "计划完成日期"
            } else {
                "Target date"
            })
        );
        let _ = writeln!(
            t,
            "# Holidays: a holiday Monday's reminders move to the next workday only with a\n\
             # calendar. China's official calendar comes with weekbell's source as one JSON\n\
             # file a year (config/holidays/); copy them beside this file and uncomment:\n\
             # [calendar]\n\
             # holidays = [\"holidays/2026.json\"]\n"
        );
        let _ = writeln!(
            t,
            "# The console prints what would be sent: `preview` works with no chat account.\n\
             [channels.console]\nplatform = \"console\"\n"
        );
        let platform_channel = self
            .opts
            .platform
            .filter(|p| *p != Platform::Console && with_platform);
        if let Some(p) = platform_channel {
            let _ = writeln!(
                t,
                "{}\n\n\
                 # Commands the platform pushes to weekbell (POST /hooks/{}) need a server:\n\
                 # [server]\n\
                 # listen = \"127.0.0.1:8080\"\n",
                channel_section(p, p.as_str()),
                p.as_str()
            );
        }
        let channels = match platform_channel {
            Some(p) => format!("[\"console\", {}]", quoted(p.as_str())),
            None => "[\"console\"]".to_string(),
        };
        if with_people {
            self.write_people(&mut t);
        }
        let (reminders, digest, report) = if zh {
            (
                "# 周调度: owners are reminded every Monday morning; a holiday Monday moves on.",
                "# 周报告: the digest goes to the group every Friday afternoon.",
                "# 催报: units with no weekly report (周报) since last Thursday are reminded.",
            )
        } else {
            (
                "# Owners are reminded every Monday morning.",
                "# The status digest goes to the group every Friday afternoon.",
                "# Units with no weekly report since last Thursday are reminded.",
            )
        };
        let _ = writeln!(
            t,
            "{reminders}\n[[schedules]]\nname = \"monday-reminders\"\ncron = \"0 9 * * MON\"\n\
             kind = \"reminders\"\nchannels = {channels}\non_holiday = \"next_workday\"\n\
             catch_up = \"6h\"\n\n\
             {digest}\n[[schedules]]\nname = \"friday-digest\"\ncron = \"0 17 * * FRI\"\n\
             kind = \"digest\"\nchannels = {channels}\non_holiday = \"skip\"\ncatch_up = \"6h\"\n\n\
             {report}\n[[schedules]]\nname = \"thursday-report-call\"\ncron = \"0 16 * * THU\"\n\
             kind = \"report_call\"\nchannels = {channels}\non_holiday = \"skip\""
        );
        t
    }

    fn write_people(&self, t: &mut String) {
        if self.people.is_empty() {
            return;
        }
        let _ = writeln!(
            t,
            "# The people the list names. Add each one's chat id (dingtalk = \"…\", slack = \"U…\",\n\
             # …) so that they are @mentioned and recognised when they send commands, and\n\
             # admin = true for those who may change any task."
        );
        for p in &self.people {
            let _ = writeln!(
                t,
                "[[people]]\nid = {}\nname = {}",
                quoted(&p.name),
                quoted(&p.name)
            );
            if let Some(unit) = &p.unit {
                let _ = writeln!(t, "unit = {}", quoted(unit));
            }
            match &p.mobile {
                Some(m) => {
                    let _ = writeln!(t, "mobile = {}", quoted(m));
                }
                None => {
                    let _ = writeln!(t, "# mobile = \"\"");
                }
            }
            if p.leads {
                let _ = writeln!(t, "# leads tasks on the list (包保领导 / leader)");
            }
            let _ = writeln!(t);
        }
    }
}

/// Reads the list and makes the starting config, without writing it.
pub fn starting_config(opts: &InitOptions, today: NaiveDate) -> Result<StartingConfig, InitError> {
    if opts.output.exists() {
        return Err(InitError::Exists {
            path: opts.output.clone(),
        });
    }
    let list = absolute(&opts.list)?;
    if let Err(source) = std::fs::metadata(&list) {
        return Err(InitError::ListUnreadable { path: list, source });
    }
    let output = absolute(&opts.output)?;
    let dir = output.parent().unwrap_or(Path::new("/"));
    let roster = match &opts.roster {
        Some(r) => {
            let r = absolute(r)?;
            if let Err(source) = std::fs::metadata(&r) {
                return Err(InitError::ListUnreadable { path: r, source });
            }
            Some(relative_to(&r, dir))
        }
        None => None,
    };
    let mut draft = Draft {
        opts,
        roster,
        source: relative_to(&list, dir),
        locale: opts.locale.unwrap_or(Locale::ZhCn),
        timezone: opts.timezone.unwrap_or(chrono_tz::Asia::Shanghai),
        people: Vec::new(),
    };
    // The probe: the list read with no people, in Chinese until the list says otherwise.
    let probe = load(&output, &draft.text(false, false), today).map_err(InitError::List)?;
    let chinese = probe.tasks.tasks.iter().any(|t| has_chinese(&t.title));
    if opts.locale.is_none() && !chinese {
        draft.locale = Locale::En;
    }
    if opts.timezone.is_none() && draft.locale != Locale::ZhCn {
        draft.timezone = machine_zone();
    }
    draft.people = named_people(&probe);
    let text = draft.text(true, true);
    let env_vars = required_env(&text);
    // The platform's channel is checked too when its variables are set; when they are not,
    // the rest is, and the command line says what to set (the section itself is a shipped
    // example's, which the example tests load).
    let unset = env_vars.iter().any(|v| std::env::var_os(v).is_none());
    let checked = if unset {
        draft.text(true, false)
    } else {
        text.clone()
    };
    let plan = load(&output, &checked, today).map_err(InitError::Unloadable)?;
    Ok(StartingConfig {
        path: opts.output.clone(),
        tasks: plan.tasks.tasks.len(),
        people: draft.people.len(),
        people_with_mobile: draft.people.iter().filter(|p| p.mobile.is_some()).count(),
        locale: draft.locale,
        timezone: draft.timezone,
        env_vars,
        text,
    })
}

/// Writes the config made by [`starting_config`]: a new file, whole or not at all.
pub fn write(config: &StartingConfig) -> Result<(), InitError> {
    let error = |source| InitError::Write {
        path: config.path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config.path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => InitError::Exists {
                path: config.path.clone(),
            },
            _ => error(source),
        })?;
    if let Err(e) = file
        .write_all(config.text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(&config.path);
        return Err(error(e));
    }
    Ok(())
}

/// Loads config text as if it were the file at `path`, without writing it.
fn load(path: &Path, text: &str, today: NaiveDate) -> Result<Plan, Box<PlanError>> {
    let config = config::parse(path, text, &ProcessEnv)
        .map_err(|e: ConfigError| Box::new(PlanError::from(e)))?;
    Plan::from_config(config, today).map_err(Box::new)
}

/// Everyone the list names as leader or owner, in the order they first appear, with the
/// unit of their first task (owners) and the mobile the directory knows for them.
fn named_people(plan: &Plan) -> Vec<Named> {
    let mut order: Vec<Named> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for task in &plan.tasks.tasks {
        let named = task
            .leaders()
            .map(|a| (a, true))
            .chain(task.owners.iter().map(|a| (a, false)));
        for (assignee, leads) in named {
            let name = assignee.name.trim();
            if name.is_empty() {
                continue;
            }
            let known = plan.people.resolve(name);
            let i = *index.entry(name.to_string()).or_insert_with(|| {
                order.push(Named {
                    name: name.to_string(),
                    unit: None,
                    mobile: known.and_then(|p| p.mobile.clone()),
                    leads: false,
                });
                order.len() - 1
            });
            let entry = &mut order[i];
            entry.leads |= leads;
            if !leads && entry.unit.is_none() && !task.unit.trim().is_empty() {
                entry.unit = Some(task.unit.trim().to_string());
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative_to(Path::new("/a/b/list.xlsx"), Path::new("/a/c")),
            PathBuf::from("../b/list.xlsx")
        );
        assert_eq!(
            relative_to(Path::new("/a/list.xlsx"), Path::new("/a")),
            PathBuf::from("list.xlsx")
        );
    }

    #[test]
    fn a_channel_section_is_the_examples_without_its_units() {
        let s = channel_section(Platform::Wecom, "wecom");
        assert!(
            s.starts_with("[channels.wecom]\nplatform = \"wecom\""),
            "{s}"
        );
        assert!(!s.contains("units"), "{s}");
        assert!(s.contains("${TOWNSHIP_WECOM_WEBHOOK}"), "{s}");
        assert!(s.contains("/hooks/wecom"), "{s}");
        assert!(!s.contains("/hooks/townships"), "{s}");
        for p in Platform::ALL {
            if p != Platform::Console {
                let s = channel_section(p, p.as_str());
                assert!(
                    s.contains(&format!("platform = \"{}\"", p.as_str())),
                    "{p:?}: {s}"
                );
            }
        }
    }

    #[test]
    fn required_env_skips_defaults_and_comments() {
        let text = "a = \"${A}\"\n# b = \"${B}\"\nc = \"${C:-}\"\nd = \"${A} ${D}\"\n";
        assert_eq!(required_env(text), ["A", "D"]);
    }
}

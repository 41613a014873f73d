//! Reading the config file: parse with spans, interpolate `${ENV}`, validate cross-references.

use super::error::{ConfigError, Problem, line_col, literal_secrets, mask_secrets};
use super::keys::unknown_keys;
use super::model::*;
use super::raw::{DurationValue, RawConfig, RawSchedule, S, SizeValue};
use crate::people::Person;
use crate::schedule::{CronExpr, HolidayPolicy};
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::Status;
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// Commands one person (one sender id on one channel) may send: enough for anyone typing, not
/// for a script gone wrong or a flood from a stolen signing secret.
pub const DEFAULT_SENDER_RATE_LIMIT: RateLimitSetting = RateLimitSetting::Limit {
    count: 20,
    per: std::time::Duration::from_secs(60),
};

/// Where `${NAME}` values come from; the process environment in production, a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Loads and validates the config file at `path`, reading `${VAR}`s from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, &ProcessEnv)
}

/// Validates config text. `path` names the file in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        path: path.to_path_buf(),
        text: Arc::new(mask_secrets(text)),
        problems,
    };
    let unknown = unknown_keys(text);
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let mut problems = unknown;
            problems.push(Problem::new(span, e.message().trim()));
            problems.sort_by_key(|p| p.span.start);
            return Err(invalid(problems));
        }
    };
    // Where each list's `source` is written, in the order `Validator::lists` keeps them.
    let source_spans: Vec<std::ops::Range<usize>> = raw
        .tasks
        .iter()
        .chain(&raw.lists)
        .map(|t| t.get_ref().source.span())
        .collect();
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut v = Validator {
        env,
        base,
        problems: unknown,
        warnings: Vec::new(),
        locale: Locale::ZhCn,
        list_names: Vec::new(),
    };
    let mut config = v.config(path, raw);
    config.holds_literal_secrets = holds_literal_secrets(text);
    let at = |span: &std::ops::Range<usize>| {
        let (line, col) = line_col(text, span.start);
        format!("{}:{line}:{col}", path.display())
    };
    for (list, span) in config.lists.iter_mut().zip(&source_spans) {
        list.source_at = at(span);
    }
    config.warnings = v
        .warnings
        .iter()
        .map(|(span, warning)| format!("{}: {warning}", at(span)))
        .collect();
    if v.problems.is_empty() {
        Ok(config)
    } else {
        v.problems.sort_by_key(|p| p.span.start);
        Err(invalid(v.problems))
    }
}

/// Whether the file itself holds a credential: a secret-bearing value written literally (not
/// `${VAR}`), in any TOML form. A store `url` counts only with a password in it
/// (`user:password@host`, or `?password=` as sqlx also reads).
fn holds_literal_secrets(text: &str) -> bool {
    literal_secrets(text)
        .iter()
        .any(|s| s.key != "url" || url_has_password(&s.value))
}

/// A password written into a URL, not one read from a variable (`${PGPASSWORD}`).
fn url_has_password(url: &str) -> bool {
    let written = |password: &str| !password.is_empty() && !password.starts_with("${");
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    let in_userinfo = authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .is_some_and(|(_, password)| written(password));
    let in_query = url.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|pair| {
            pair.split_once('=').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("password") && written(value)
            })
        })
    });
    in_userinfo || in_query
}

/// One run over the raw file: every problem is collected, none stops the run. Its channel half
/// is in `channels.rs`.
pub(super) struct Validator<'a> {
    env: &'a dyn Env,
    base: PathBuf,
    pub(super) problems: Vec<Problem>,
    /// Set-ups that load but should be changed, at the value to change.
    pub(super) warnings: Vec<(std::ops::Range<usize>, String)>,
    /// The config's `locale`, for the problems written in both languages.
    pub(super) locale: Locale,
    /// The lists' names (`tasks` for `[tasks]`), once read, for the `lists` filters.
    pub(super) list_names: Vec<String>,
}

impl Validator<'_> {
    pub(super) fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Resolves `${NAME}`, `${NAME:-default}` and `$$` in a string value.
    pub(super) fn text(&mut self, s: &S) -> String {
        let raw = s.get_ref();
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(stripped) = after.strip_prefix('$') {
                out.push('$');
                rest = stripped;
            } else if let Some(body) = after.strip_prefix('{') {
                let Some(end) = body.find('}') else {
                    self.problem(
                        Problem::new(s.span(), "`${` is not closed with `}`")
                            .help("write `${NAME}` to read an environment variable, or `$$` for a literal `$`"),
                    );
                    return out;
                };
                let expr = &body[..end];
                let (name, default) = match expr.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (expr, None),
                };
                let valid_name = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid_name {
                    self.problem(Problem::new(
                        s.span(),
                        format!("`${{{expr}}}` is not a valid environment variable reference"),
                    ));
                } else {
                    match (self.env.var(name), default) {
                        (Some(value), _) => out.push_str(&value),
                        (None, Some(d)) => out.push_str(d),
                        (None, None) => self.problem(
                            Problem::new(s.span(), format!("environment variable `{name}` is not set"))
                                .help(format!("export {name} before starting weekbell, or use `${{{name}:-default}}`")),
                        ),
                    }
                }
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }

    fn opt_text(&mut self, s: Option<&S>) -> Option<String> {
        s.map(|s| self.text(s)).filter(|t| !t.is_empty())
    }

    pub(super) fn path(&mut self, s: &S) -> PathBuf {
        let t = self.text(s);
        let p = PathBuf::from(t);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }

    fn timezone(&mut self, s: &S) -> Option<Tz> {
        let t = self.text(s);
        match t.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
                let help = match crate::suggest::closest(&t, names) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "use a name such as Asia/Shanghai, Europe/Berlin or America/New_York"
                        .to_string(),
                };
                self.problem(
                    Problem::new(s.span(), format!("`{t}` is not an IANA time zone name"))
                        .help(help),
                );
                None
            }
        }
    }

    pub(super) fn locale(&mut self, s: &S) -> Option<Locale> {
        let name = self.text(s);
        let locale = Locale::from_config_name(&name);
        if locale.is_none() {
            self.problem(
                Problem::new(s.span(), format!("unknown locale `{name}`"))
                    .help("weekbell has built-in messages for `zh-CN` and `en`"),
            );
        }
        locale
    }

    fn duration(&mut self, d: &Spanned<DurationValue>, bare_unit: &str) -> Option<Duration> {
        let parsed = match d.get_ref() {
            DurationValue::Number(n) => match bare_unit {
                "d" => Duration::try_days(*n),
                _ => Duration::try_seconds(*n),
            },
            DurationValue::Text(t) => parse_duration(t),
        };
        match parsed {
            Some(dur) if dur >= Duration::zero() && dur <= Duration::days(MAX_DURATION_DAYS) => {
                Some(dur)
            }
            _ => {
                let (message, help) = self.locale.pick(
                    (
                        "不是有效的时长",
                        "请写数字加单位，如 \"30m\"、\"6h\"、\"3d\" 或 \"1h30m\"，最长十年",
                    ),
                    (
                        "not a duration",
                        "write a number with a unit, such as \"30m\", \"6h\", \"3d\" or \
                         \"1h30m\", of at most ten years",
                    ),
                );
                self.problem(Problem::new(d.span(), message).help(help));
                None
            }
        }
    }

    fn size(&mut self, m: &Spanned<SizeValue>) -> Option<u64> {
        let parsed = match m.get_ref() {
            SizeValue::Number(n) => u64::try_from(*n).ok(),
            SizeValue::Text(t) => parse_size(t),
        };
        match parsed {
            Some(bytes) if bytes > 0 => Some(bytes),
            _ => {
                let (message, help) = self.locale.pick(
                    (
                        "不是有效的大小",
                        "请写正数加单位，如 \"256MiB\"、\"1GiB\"，或字节数",
                    ),
                    (
                        "not a size",
                        "write a positive number with a unit, such as \"256MiB\" or \"1GiB\", \
                         or a number of bytes",
                    ),
                );
                self.problem(Problem::new(m.span(), message).help(help));
                None
            }
        }
    }

    fn config(&mut self, path: &Path, raw: RawConfig) -> Config {
        let locale = raw
            .locale
            .as_ref()
            .and_then(|s| self.locale(s))
            .unwrap_or(Locale::ZhCn);
        self.locale = locale;
        let timezone = raw
            .timezone
            .as_ref()
            .and_then(|s| self.timezone(s))
            .unwrap_or(chrono_tz::Asia::Shanghai);
        let written_escalate_after = raw
            .escalate_after
            .as_ref()
            .and_then(|d| Some((d.span(), self.duration(d, "d")?.num_days())));
        let escalate_after = written_escalate_after
            .as_ref()
            .map_or(Duration::days(3), |(_, days)| Duration::days(*days));

        let store_url = match raw.store.as_ref().and_then(|s| s.url.as_ref()) {
            Some(s) => {
                let url = self.text(s);
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    self.problem(
                        Problem::new(
                            s.span(),
                            "the store URL must start with `sqlite:` or `postgres://`",
                        )
                        .help("for example sqlite://data/weekbell.db or postgres://user@host/db"),
                    );
                }
                url
            }
            None => "sqlite://data/weekbell.db".to_string(),
        };

        let lists = self.lists(&raw);
        self.list_names = lists
            .iter()
            .map(|l| l.name.clone().unwrap_or_else(|| UNNAMED_LIST.to_string()))
            .collect();
        let people = self.people(&raw.people);
        let absences = self.absences(&raw.people, &people);
        let roster = raw.roster.as_ref().map(|r| RosterConfig {
            source: self.path(&r.source),
            sheet: self.opt_text(r.sheet.as_ref()),
            platform: r.platform.as_ref().and_then(|p| {
                let name = self.text(p);
                let platform = name.parse::<Platform>().ok();
                if platform.is_none() {
                    let names: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
                    self.problem(
                        Problem::new(p.span(), format!("unknown platform `{name}`"))
                            .help(format!("the platforms are: {}", names.join(", "))),
                    );
                }
                platform
            }),
        });
        let channels = self.channels(&raw.channels);
        let mut schedules = Vec::new();
        let mut schedule_names: HashMap<String, ()> = HashMap::new();
        for s in &raw.schedules {
            if let Some(sc) = self.schedule(s.get_ref(), timezone, escalate_after, &channels) {
                if schedule_names.insert(sc.name.clone(), ()).is_some() {
                    self.problem(
                        Problem::new(
                            s.get_ref().name.span(),
                            format!("schedule `{}` is defined twice", sc.name),
                        )
                        .help("schedule names key the slot ledger, so they must be unique"),
                    );
                }
                schedules.push(sc);
            }
        }
        let (warning_levels, warning_levels_default) =
            self.warning_levels(&raw.warnings, written_escalate_after, &channels);
        let assessment = self.assessment(raw.assessment.as_ref());
        let holiday_files = raw
            .calendar
            .as_ref()
            .map(|c| c.holidays.iter().map(|h| self.path(h)).collect())
            .unwrap_or_default();
        let server_listen = raw
            .server
            .as_ref()
            .and_then(|s| s.listen.as_ref())
            .map(|l| {
                let t = self.text(l);
                if t.parse::<std::net::SocketAddr>().is_err() {
                    self.problem(
                        Problem::new(l.span(), format!("`{t}` is not an address to listen on"))
                            .help("write IP:PORT, for example 127.0.0.1:8080"),
                    );
                }
                t
            });

        let sender_rate_limit = raw
            .server
            .as_ref()
            .and_then(|s| s.sender_rate_limit.as_ref())
            .map_or(Some(DEFAULT_SENDER_RATE_LIMIT), |r| {
                let text = self.text(r);
                let parsed = parse_rate_limit(&text);
                if parsed.is_none() {
                    self.problem(
                        Problem::new(r.span(), format!("`{text}` is not a rate limit"))
                            .help("write COUNT/PERIOD such as \"20/min\", or \"off\""),
                    );
                }
                parsed
            });

        let areas = raw
            .areas
            .iter()
            .map(|(area, leader)| {
                (
                    self.text(area).trim().to_string(),
                    self.text(leader).trim().to_string(),
                )
            })
            .collect();
        Config {
            path: path.to_path_buf(),
            timezone,
            locale,
            store_url: Secret::new(store_url),
            lists,
            people,
            roster,
            channels,
            schedules,
            holiday_files,
            server_listen,
            sender_rate_limit,
            holds_literal_secrets: false,
            warnings: Vec::new(),
            warning_levels,
            warning_levels_default,
            areas,
            absences,
            assessment,
        }
    }

    /// `[[people]] away` and `deputy`: a range of days and someone of the people list.
    fn absences(
        &mut self,
        raw: &[Spanned<super::raw::RawPerson>],
        people: &[Person],
    ) -> Vec<crate::people::Absence> {
        let mut out = Vec::new();
        for p in raw.iter().map(Spanned::get_ref) {
            let id = self.text(&p.id);
            let deputy = p.deputy.as_ref().and_then(|d| {
                let name = self.text(d);
                let found = people
                    .iter()
                    .find(|q| q.id == name.trim())
                    .or_else(|| people.iter().find(|q| q.name.trim() == name.trim()));
                if found.is_none() {
                    let (message, help) = self.locale.pick(
                        (
                            format!("代理人“{name}”不在人员名单中"),
                            "deputy 写 [[people]] 中某人的 id 或姓名",
                        ),
                        (
                            format!("the deputy `{name}` is not in the people list"),
                            "write the id or name of someone under [[people]]",
                        ),
                    );
                    self.problem(Problem::new(d.span(), message).help(help));
                }
                found.map(|q| q.id.clone())
            });
            let Some(away) = &p.away else {
                if let Some(d) = &p.deputy {
                    let (message, help) = self.locale.pick(
                        (
                            "有 deputy 而没有 away",
                            "写 away = \"2026-12-10..2026-12-18\" 给出请假日期",
                        ),
                        (
                            "`deputy` without `away`",
                            "add away = \"2026-12-10..2026-12-18\", the days of leave",
                        ),
                    );
                    self.problem(Problem::new(d.span(), message).help(help));
                }
                continue;
            };
            let text = self.text(away);
            match crate::people::parse_day_range(&text) {
                Some((from, to)) => out.push(crate::people::Absence {
                    person: id,
                    from,
                    to,
                    deputy,
                }),
                None => {
                    let (message, help) = self.locale.pick(
                        (
                            format!("“{text}”不是请假日期范围"),
                            "写成 away = \"2026-12-10..2026-12-18\"（首尾两天都含在内）",
                        ),
                        (
                            format!("`{text}` is not a range of days"),
                            "write away = \"2026-12-10..2026-12-18\" (both days included)",
                        ),
                    );
                    self.problem(Problem::new(away.span(), message).help(help));
                }
            }
        }
        out
    }

    /// The names under a schedule's or channel's `lists`, each of which must name a list.
    pub(super) fn list_filter(&mut self, names: &[S]) -> Vec<String> {
        let mut out = Vec::new();
        for n in names {
            let name = self.text(n);
            if !self.list_names.contains(&name) {
                let known = self.list_names.join(", ");
                self.problem(
                    Problem::new(n.span(), format!("no list is named `{name}`")).help(format!(
                        "the lists are: {known} (`tasks` is the [tasks] list)"
                    )),
                );
            }
            out.push(name);
        }
        out
    }

    /// `[tasks]` (unnamed) and each `[[lists]]` entry (named, names unique), in that order.
    fn lists(&mut self, raw: &RawConfig) -> Vec<ListConfig> {
        let mut lists = Vec::new();
        if let Some(t) = &raw.tasks {
            if let Some(name) = &t.get_ref().name {
                self.problem(
                    Problem::new(name.span(), "`name` is for [[lists]] entries")
                        .help("[tasks] is the list without a name; move it to a [[lists]] entry to name it"),
                );
            }
            lists.push(ListConfig {
                name: None,
                tasks: self.tasks(t.get_ref()),
                source_at: String::new(),
                review: self.review_rule(t.get_ref()),
            });
        }
        for l in &raw.lists {
            let t = l.get_ref();
            let name = match &t.name {
                Some(n) => {
                    let name = self.text(n).trim().to_string();
                    let taken = lists
                        .iter()
                        .any(|l: &ListConfig| l.name.as_deref() == Some(&name));
                    if name.is_empty()
                        || name.chars().any(char::is_whitespace)
                        || name == UNNAMED_LIST
                    {
                        self.problem(Problem::new(n.span(), "a list's name must be a short word without spaces, and not `tasks` (which names the [tasks] list in filters)").help("for example name = \"央督\" or name = \"二批\"; its tasks are then 央督-1, 央督-2, …"));
                    } else if taken {
                        self.problem(
                            Problem::new(
                                n.span(),
                                format!("another list is already named `{name}`"),
                            )
                            .help("each [[lists]] entry needs its own name"),
                        );
                    }
                    name
                }
                None => {
                    self.problem(
                        Problem::new(l.span(), "this [[lists]] entry has no name").help(
                            "add name = \"央督\" (a short word put before its task ids: 央督-7)",
                        ),
                    );
                    String::new()
                }
            };
            lists.push(ListConfig {
                name: Some(name),
                tasks: self.tasks(t),
                source_at: String::new(),
                review: self.review_rule(t),
            });
        }
        if lists.is_empty() {
            self.problem(
                Problem::new(
                    0..0,
                    "no task list: the config has neither [tasks] nor [[lists]]",
                )
                .help("add [tasks] with source = \"your-list.xlsx\" (relative to this file)"),
            );
        }
        lists
    }

    /// A list's `review` and `review_categories`.
    fn review_rule(&mut self, t: &super::raw::RawTasks) -> ReviewRule {
        let default = t.review.as_ref().and_then(|r| self.review(r));
        let mut categories = BTreeMap::new();
        for (category, review) in &t.review_categories {
            let name = self.text(category).trim().to_string();
            if let Some(r) = self.review(review) {
                categories.insert(name, r);
            }
        }
        ReviewRule {
            default: default.unwrap_or_default(),
            categories,
        }
    }

    fn review(&mut self, s: &S) -> Option<Review> {
        let name = self.text(s);
        let review = Review::ALL
            .into_iter()
            .find(|r| r.as_str() == name.trim().to_ascii_lowercase());
        if review.is_none() {
            let (message, help) = self.locale.pick(
                (
                    format!("`{name}` 不是有效的审核设置"),
                    "可写 review = \"none\"（完成即办结）、\"leader\"（由包保领导审核销号）或 \"admins\"（由管理员审核销号）",
                ),
                (
                    format!("`{name}` is not a review setting"),
                    "write review = \"none\" (done closes a task), \"leader\" (its leader signs it off) or \"admins\" (an admin does)",
                ),
            );
            self.problem(Problem::new(s.span(), message).help(help));
        }
        review
    }

    fn tasks(&mut self, t: &super::raw::RawTasks) -> TasksConfig {
        let source = self.path(&t.source);
        let sheet = self.opt_text(t.sheet.as_ref());
        let encoding = t.encoding.as_ref().and_then(|e| {
            let name = self.text(e).to_ascii_lowercase();
            if ["utf-8", "utf8", "gbk", "gb18030", "gb2312"].contains(&name.as_str()) {
                Some(name)
            } else {
                self.problem(
                    Problem::new(e.span(), format!("unknown encoding `{name}`"))
                        .help("use utf-8, gbk or gb18030, or leave it out to detect it"),
                );
                None
            }
        });
        let mut columns = BTreeMap::new();
        for (key, header) in &t.columns {
            match Field::from_name(key.get_ref()) {
                Some(field) => {
                    let h = self.text(header);
                    columns.insert(field, h);
                }
                None => self.problem(
                    Problem::new(
                        key.span(),
                        format!("`{}` is not a task field", key.get_ref()),
                    )
                    .help(format!(
                        "fields are: {}",
                        Field::ALL.map(Field::as_str).join(", ")
                    )),
                ),
            }
        }
        let mut status_values = BTreeMap::new();
        for (key, words) in &t.status_values {
            match Status::from_name(key.get_ref()) {
                Some(status) => {
                    let words: Vec<String> = words.iter().map(|w| self.text(w)).collect();
                    status_values.insert(status, words);
                }
                None => self.problem(
                    Problem::new(key.span(), format!("`{}` is not a status", key.get_ref())).help(
                        format!(
                            "statuses are: {}",
                            Status::ALL.map(Status::as_str).join(", ")
                        ),
                    ),
                ),
            }
        }
        let max_unpacked_size = t
            .max_unpacked_size
            .as_ref()
            .and_then(|m| self.size(m))
            .unwrap_or(DEFAULT_MAX_UNPACKED_SIZE);
        let date_order =
            t.date_order
                .as_ref()
                .and_then(|o| match self.text(o).to_ascii_lowercase().as_str() {
                    "mdy" => Some(DateOrder::Mdy),
                    "dmy" => Some(DateOrder::Dmy),
                    other => {
                        self.problem(
                            Problem::new(o.span(), format!("unknown date order `{other}`"))
                                .help("use \"mdy\" for 12/31/2026 or \"dmy\" for 31/12/2026"),
                        );
                        None
                    }
                });
        TasksConfig {
            source,
            sheet,
            columns,
            status_values,
            encoding,
            max_unpacked_size,
            date_order,
            locale: self.locale,
        }
    }

    fn people(&mut self, raw: &[Spanned<super::raw::RawPerson>]) -> Vec<Person> {
        let mut ids: HashMap<String, ()> = HashMap::new();
        let mut handles: HashMap<(Platform, String), String> = HashMap::new();
        let mut people = Vec::new();
        for p in raw {
            let p = p.get_ref();
            let id = self.text(&p.id);
            if id.trim().is_empty() {
                self.problem(Problem::new(p.id.span(), "a person's id must not be empty"));
                continue;
            }
            if ids.insert(id.clone(), ()).is_some() {
                self.problem(
                    Problem::new(p.id.span(), format!("person id `{id}` is used twice"))
                        .help("each [[people]] entry needs its own id"),
                );
            }
            let name = self.opt_text(p.name.as_ref()).unwrap_or_else(|| id.clone());
            let mut person_handles = BTreeMap::new();
            for (key, value) in p.handles() {
                let Some(value) = value else { continue };
                let Ok(platform) = key.parse::<Platform>() else {
                    continue;
                };
                let handle = self.text(value);
                if handle.is_empty() {
                    continue;
                }
                if let Some(other) = handles.insert((platform, handle.clone()), id.clone()) {
                    self.problem(
                        Problem::new(
                            value.span(),
                            format!("{key} handle `{handle}` is also given to `{other}`"),
                        )
                        .help("a handle identifies one person, so senders can be recognised"),
                    );
                }
                person_handles.insert(platform, handle);
            }
            people.push(Person {
                id,
                name,
                unit: self.opt_text(p.unit.as_ref()),
                mobile: self.opt_text(p.mobile.as_ref()),
                email: self.opt_text(p.email.as_ref()),
                handles: person_handles,
                admin: p.admin,
            });
        }
        people
    }

    fn schedule(
        &mut self,
        s: &RawSchedule,
        default_tz: Tz,
        default_escalate: Duration,
        channels: &BTreeMap<String, ChannelConfig>,
    ) -> Option<ScheduleConfig> {
        let name = self.text(&s.name);
        if name.is_empty() || name.contains('@') || name.chars().any(char::is_whitespace) {
            self.problem(
                Problem::new(
                    s.name.span(),
                    format!("schedule name `{name}` must be non-empty with no spaces or `@`"),
                )
                .help(
                    "slots are keyed as NAME@TIME, for example monday-reminders@2026-12-07T09:00",
                ),
            );
        }
        let cron = self.text(&s.cron);
        if let Err(e) = CronExpr::parse(&cron) {
            self.problem(Problem::new(s.cron.span(), e.to_string()).help(
                "5 fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"; or @daily, @weekly, @monthly",
            ));
        }
        let kind = match self.text(&s.kind).as_str() {
            "reminders" | "reminder" => Some(ScheduleKind::Reminders),
            "digest" => Some(ScheduleKind::Digest),
            "report_call" => Some(ScheduleKind::ReportCall),
            "assessment" => Some(ScheduleKind::Assessment),
            other => {
                self.problem(
                    Problem::new(s.kind.span(), format!("unknown schedule kind `{other}`"))
                        .help("kinds are: reminders, digest, report_call, assessment"),
                );
                None
            }
        };
        let period = self.assess_period(s.period.as_ref(), kind);
        let mut channel_names = Vec::new();
        if s.channels.get_ref().is_empty() {
            self.problem(
                Problem::new(s.channels.span(), "a schedule needs at least one channel")
                    .help("name channels defined under [channels.NAME]"),
            );
        }
        for c in s.channels.get_ref() {
            let cname = self.text(c);
            if !channels.contains_key(&cname) {
                let known: Vec<&str> = channels.keys().map(String::as_str).collect();
                self.problem(
                    Problem::new(c.span(), format!("no channel named `{cname}`")).help(
                        if known.is_empty() {
                            "define it under [channels.NAME]".to_string()
                        } else {
                            format!("defined channels: {}", known.join(", "))
                        },
                    ),
                );
            }
            channel_names.push(cname);
        }
        let timezone = match &s.timezone {
            Some(t) => self.timezone(t)?,
            None => default_tz,
        };
        let on_holiday = match &s.on_holiday {
            Some(h) => {
                let t = self.text(h);
                match t.parse::<HolidayPolicy>() {
                    Ok(p) => p,
                    Err(()) => {
                        self.problem(
                            Problem::new(h.span(), format!("unknown on_holiday value `{t}`"))
                                .help("use run, skip or next_workday"),
                        );
                        HolidayPolicy::Run
                    }
                }
            }
            None => HolidayPolicy::Run,
        };
        let catch_up = s
            .catch_up
            .as_ref()
            .and_then(|d| self.duration(d, "s"))
            .unwrap_or(Duration::hours(6));
        let escalate_after_days = s
            .escalate_after
            .as_ref()
            .and_then(|d| self.duration(d, "d"))
            .unwrap_or(default_escalate)
            .num_days();
        Some(ScheduleConfig {
            name,
            cron,
            timezone,
            kind: kind?,
            channels: channel_names,
            on_holiday,
            workdays_only: s.workdays_only,
            catch_up,
            escalate_after_days,
            template_dir: s.templates.as_ref().map(|t| self.path(t)),
            filter: TaskFilter {
                units: s.units.iter().map(|u| self.text(u)).collect(),
                categories: s.categories.iter().map(|c| self.text(c)).collect(),
                lists: self.list_filter(&s.lists),
            },
            locale: s.locale.as_ref().and_then(|l| self.locale(l)),
            period,
        })
    }
}

/// Parses `20/min`, `5/s`, `1/2s`, `100/1h` or `off`.
pub fn parse_rate_limit(text: &str) -> Option<RateLimitSetting> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Some(RateLimitSetting::Off);
    }
    let (count, period) = text.split_once('/')?;
    let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
    let period = period.trim();
    let per = match period {
        "s" | "sec" | "second" => Duration::seconds(1),
        "min" | "m" | "minute" => Duration::minutes(1),
        "h" | "hour" => Duration::hours(1),
        other => parse_duration(other)?,
    };
    let per = per.to_std().ok().filter(|d| !d.is_zero())?;
    Some(RateLimitSetting::Limit { count, per })
}

/// The longest duration any key takes: ten years is more than any schedule, escalation or rate
/// period means, and far inside what date arithmetic can add to today (chrono's `Duration`
/// ends at about 292 million years, its dates at the year 262,143), so no duration a config
/// can hold overflows later.
const MAX_DURATION_DAYS: i64 = 3_653;

/// Parses `90s`, `30m`, `6h`, `3d`, `1w` and sums like `1h30m`, up to ten years; `None` for
/// anything else, however large its numbers.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => return None,
        }?;
        total = total.checked_add(&unit)?;
    }
    if !number.is_empty() {
        return None;
    }
    (total <= Duration::days(MAX_DURATION_DAYS)).then_some(total)
}

/// Parses `256MiB`, `300MB`, `1GiB`, `512KiB` or a bare number of bytes; `None` for anything
/// else, and for sizes beyond `u64`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let unit: u64 = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(unit)
}

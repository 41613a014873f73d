//! The minijinja environment of one dialect and locale: settings, limits, helpers (`bold`,
//! `mention`, `date`, …) and rendering with the output tidied.

use super::{MAX_OUTPUT_BYTES, MAX_RANGE_ITEMS, TemplateError, TemplateKind};
use crate::config::Locale;
use crate::people::{Directory, Person};
use crate::render::Mention;
use crate::render::markup::{Dialect, MentionRef};
use crate::types::Platform;
use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, NaiveDate};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, Error, ErrorKind, Output, State, Template, UndefinedBehavior, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

const RECURSION_LIMIT: usize = 64;
/// The context key of the per-render data that helpers need (platform, people).
const DATA_KEY: &str = "__weekbell";

/// Instructions one render may execute before minijinja stops it.
const TEMPLATE_FUEL: u64 = 50_000_000;

/// Builds the environment for one dialect and locale, with the built-in templates loaded.
pub(crate) fn build_env(
    dialect: Dialect,
    locale: Locale,
) -> Result<Environment<'static>, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(RECURSION_LIMIT);
    // Fuel bounds the work of a user template that loops without writing anything; output size
    // and range() are bounded separately below. The built-in digest of 100,000 tasks uses far
    // less than this.
    env.set_fuel(Some(TEMPLATE_FUEL));
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| jinja_error("syntax config", &e))?;
    env.set_syntax(syntax);
    env.set_formatter(move |out, state, value| format_value(dialect, out, state, value));

    env.add_global("dialect", dialect.as_str());
    env.add_global("locale", locale.as_str());
    env.add_global(
        "bullet",
        Value::from_safe_string(dialect.bullet().to_string()),
    );

    let bold =
        move |v: Value| -> Value { Value::from_safe_string(dialect.bold(&markup_of(dialect, &v))) };
    env.add_function("bold", bold);
    env.add_filter("bold", bold);
    let heading = move |v: Value, level: Option<usize>| -> Value {
        Value::from_safe_string(dialect.heading(&markup_of(dialect, &v), level.unwrap_or(3)))
    };
    env.add_function("heading", heading);
    env.add_filter("heading", heading);
    let mention = move |state: &mut State, who: Value| -> Result<Value, Error> {
        mention_value(dialect, state, &who).map(Value::from_safe_string)
    };
    env.add_function("mention", mention);
    env.add_filter("mention", mention);
    env.add_function(
        "mentions",
        move |state: &mut State, who: Value| -> Result<Value, Error> {
            let mut out = Vec::new();
            for p in who.try_iter()? {
                out.push(mention_value(dialect, state, &p)?);
            }
            Ok(Value::from_safe_string(out.join(" ")))
        },
    );
    env.add_function("bar", |pct: Value| -> Result<Value, Error> {
        bar(&pct).map(Value::from_safe_string)
    });
    let date = move |state: &State, d: Value, fmt: Option<String>| -> Result<Value, Error> {
        format_date(locale, state, &d, fmt.as_deref()).map(Value::from)
    };
    env.add_filter("date", date);
    env.add_function("date", date);
    env.add_filter("names", move |list: Value| -> Result<Value, Error> {
        let sep = match locale {
            Locale::ZhCn => "、",
            Locale::En => ", ",
        };
        let mut names = Vec::new();
        for p in list.try_iter()? {
            names.push(person_name(&p)?);
        }
        Ok(Value::from(names.join(sep)))
    });
    let escape = move |v: Value| -> Value { Value::from_safe_string(markup_of(dialect, &v)) };
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_function("range", budgeted_range);

    for kind in TemplateKind::ALL {
        let name = kind.builtin_name(locale);
        env.add_template_owned(name.clone(), kind.builtin_source(locale))
            .map_err(|e| jinja_error(&name, &e))?;
    }
    Ok(env)
}

/// The markup for a value: safe strings as they are, none as nothing, the rest escaped.
fn markup_of(dialect: Dialect, v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        String::new()
    } else if let (true, Some(s)) = (v.is_safe(), v.as_str()) {
        s.to_string()
    } else if let Some(s) = v.as_str() {
        dialect.escape(s)
    } else {
        dialect.escape(&v.to_string())
    }
}

#[derive(Default)]
struct Budget {
    output: usize,
    range_items: usize,
}

fn format_value(
    dialect: Dialect,
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "cannot print an undefined value",
        ));
    }
    let text: Cow<str> = match (value.is_safe(), value.as_str()) {
        (true, Some(s)) => Cow::Borrowed(s),
        _ if value.is_none() => Cow::Borrowed(""),
        (false, Some(s)) => Cow::Owned(dialect.escape(s)),
        _ => Cow::Owned(dialect.escape(&value.to_string())),
    };
    let budget = state.get_or_insert_extension_with(Budget::default);
    budget.output += text.len();
    if budget.output > MAX_OUTPUT_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("the message exceeds {MAX_OUTPUT_BYTES} bytes"),
        ));
    }
    out.write_str(&text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write output"))
}

fn budgeted_range(
    state: &mut State,
    lower: i64,
    upper: Option<i64>,
    step: Option<i64>,
) -> Result<Value, Error> {
    let conv = |n: i64| {
        isize::try_from(n)
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, "range bound out of bounds"))
    };
    let value = minijinja::functions::range(
        conv(lower)?,
        upper.map(conv).transpose()?,
        step.map(conv).transpose()?,
    )?;
    let budget = state.get_or_insert_extension_with(Budget::default);
    budget.range_items += value.len().unwrap_or(0);
    if budget.range_items > MAX_RANGE_ITEMS {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("range() created more than {MAX_RANGE_ITEMS} items in one message"),
        ));
    }
    Ok(value)
}

fn bar(pct: &Value) -> Result<String, Error> {
    const CELLS: usize = 10;
    if pct.is_none() {
        return Ok(format!("{} —", "░".repeat(CELLS)));
    }
    let p = f64::try_from(pct.clone())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "bar() needs a percentage"))?;
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
    // Truncation is intended: a cell is filled only once its 10% is complete.
    let filled = ((p / 10.0).floor() as usize).min(CELLS);
    Ok(format!(
        "{}{} {}%",
        "▓".repeat(filled),
        "░".repeat(CELLS - filled),
        p.floor() as u32
    ))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn format_date(
    locale: Locale,
    state: &State,
    d: &Value,
    fmt: Option<&str>,
) -> Result<String, Error> {
    if d.is_none() {
        return Ok(String::new());
    }
    let date = d.as_str().and_then(parse_date).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("date expects YYYY-MM-DD, got {d}"),
        )
    })?;
    let mut out = String::new();
    if let Some(f) = fmt {
        let items: Vec<Item> = StrftimeItems::new(f).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("bad date format {f:?}"),
            ));
        }
        write!(out, "{}", date.format_with_items(items.into_iter())).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("date format {f:?} needs a time"),
            )
        })?;
        return Ok(out);
    }
    let this_year = state
        .lookup("today")
        .and_then(|t| t.as_str().and_then(parse_date))
        .map(|t| t.year());
    let same_year = this_year == Some(date.year());
    let (y, m, day) = (date.year(), date.month(), date.day());
    match (locale, same_year) {
        (Locale::ZhCn, true) => write!(out, "{m}月{day}日"),
        (Locale::ZhCn, false) => write!(out, "{y}年{m}月{day}日"),
        (Locale::En, true) => write!(out, "{} {day}", month_abbr(m)),
        (Locale::En, false) => write!(out, "{} {day}, {y}", month_abbr(m)),
    }
    .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot format date"))?;
    Ok(out)
}

fn month_abbr(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("")
}

fn person_name(p: &Value) -> Result<String, Error> {
    if let Some(s) = p.as_str() {
        return Ok(s.trim().to_string());
    }
    p.get_attr("name")
        .ok()
        .and_then(|n| n.as_str().map(|s| s.trim().to_string()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("expected a person or a name, got {p}"),
            )
        })
}

/// Per-render data the helpers need: which platform the mentions are for, and who exists.
#[derive(Debug)]
pub(crate) struct RenderData {
    pub platform: Platform,
    pub people: Directory,
}

impl Object for RenderData {
    fn repr(self: &std::sync::Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

impl RenderData {
    pub(crate) fn value(platform: Platform, people: &Directory) -> Value {
        Value::from_object(RenderData {
            platform,
            people: people.clone(),
        })
    }
}

/// A mention written while rendering: its text, and the notification target when there is one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
    pub tokens: Vec<(String, Option<Mention>)>,
}

/// How `person` is @mentioned on `platform` in `dialect`, and whom that notifies: by their
/// handle (or mobile) where the platform can, else as `@Name`, notifying nobody.
pub(crate) fn mention_token(
    platform: Platform,
    dialect: Dialect,
    person: &Person,
) -> (String, Option<Mention>) {
    match platform.mention_for(person, dialect) {
        Some(m) => {
            let id = m
                .handle
                .as_deref()
                .or(m.mobile.as_deref())
                .unwrap_or_default();
            let token = dialect.mention(MentionRef::Handle {
                id,
                name: &person.name,
            });
            (token, Some(m))
        }
        None => (dialect.mention(MentionRef::Name(&person.name)), None),
    }
}

fn mention_value(dialect: Dialect, state: &mut State, who: &Value) -> Result<String, Error> {
    if who.is_none() || who.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "mention() needs a person, an id or a name",
        ));
    }
    let data = state.lookup(DATA_KEY).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "mention() is not available here",
        )
    })?;
    let data = data.downcast_object_ref::<RenderData>().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "mention() is not available here",
        )
    })?;
    let (id, name) = match who.as_str() {
        Some(s) => (None, s.trim().to_string()),
        None => {
            let id = who
                .get_attr("id")
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            (id, person_name(who)?)
        }
    };
    let person: Option<&Person> = id
        .as_deref()
        .and_then(|i| data.people.resolve(i))
        .or_else(|| data.people.resolve(&name));
    let (token, target) = match person {
        Some(p) => mention_token(data.platform, dialect, p),
        None => (dialect.mention(MentionRef::Name(&name)), None),
    };
    let collected = state.get_or_insert_extension_with(Collected::default);
    if !collected.tokens.iter().any(|(t, _)| *t == token) {
        collected.tokens.push((token.clone(), target));
    }
    Ok(token)
}

/// One rendered template, before splitting.
#[derive(Debug, Clone)]
pub(crate) struct RenderedText {
    pub title: String,
    pub text: String,
    pub collected: Collected,
}

/// Renders `tmpl` with `ctx` (which must include [`DATA_KEY`]), tidies the output and collects
/// the title and mentions.
pub(crate) fn render(
    tmpl: &Template<'_, '_>,
    ctx: Value,
    default_title: &str,
) -> Result<RenderedText, Error> {
    let captured = tmpl.render_captured(ctx)?;
    let state = captured.state();
    let title = state
        .lookup("title")
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_else(|| default_title.to_string());
    let collected = state
        .get_extension::<Collected>()
        .cloned()
        .unwrap_or_default();
    let text = tidy(captured.output());
    Ok(RenderedText {
        title,
        text,
        collected,
    })
}

/// Trailing spaces off, runs of blank lines folded to one, no blank lines at either end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_blank = false;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if pending_blank {
                out.push('\n');
            }
        }
        pending_blank = false;
        out.push_str(line);
    }
    out
}

/// Turns a minijinja error into one that names the file, the line and the problem.
pub(crate) fn jinja_error(file: &str, e: &Error) -> TemplateError {
    let mut problem = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(problem, ": {s}");
        source = s.source();
    }
    TemplateError::Invalid {
        file: e.name().unwrap_or(file).to_string(),
        line: e.line(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_unless_safe() {
        let env = build_env(Dialect::SlackMrkdwn, Locale::En).unwrap_or_else(|e| panic!("{e}"));
        let out = env
            .render_str(
                "{{ x }}|{{ x|safe }}|{{ bold(x) }}|{{ n }}|{{ none }}|{{ bar(63) }}|{{ bar(none) }}",
                minijinja::context! { x => "a<b>&c", n => 3 },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "a&lt;b&gt;&amp;c|a<b>&c|*a&lt;b&gt;&amp;c*|3||▓▓▓▓▓▓░░░░ 63%|░░░░░░░░░░ —"
        );
    }

    #[test]
    fn dates_follow_the_locale() {
        let zh = build_env(Dialect::Plain, Locale::ZhCn).unwrap_or_else(|e| panic!("{e}"));
        let en = build_env(Dialect::Plain, Locale::En).unwrap_or_else(|e| panic!("{e}"));
        let src = "{{ a|date }} {{ b|date }} {{ a|date('%Y/%m/%d') }}";
        let ctx =
            minijinja::context! { today => "2026-11-27", a => "2026-12-05", b => "2027-01-15" };
        assert_eq!(
            zh.render_str(src, &ctx).ok().as_deref(),
            Some("12月5日 2027年1月15日 2026/12/05")
        );
        assert_eq!(
            en.render_str(src, &ctx).ok().as_deref(),
            Some("Dec 5 Jan 15, 2027 2026/12/05")
        );
        assert!(en.render_str("{{ a|date('%H') }}", &ctx).is_err());
        assert!(en.render_str("{{ 'soon'|date }}", &ctx).is_err());
    }

    #[test]
    fn tidy_folds_blank_lines() {
        assert_eq!(tidy("\n\na  \n\n\n\nb\n\n"), "a\n\nb");
    }
}

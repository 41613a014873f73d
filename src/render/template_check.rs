//! `weekbell check`: a template directory compiled, its variables checked and every template
//! rendered against the sample data in every dialect and locale.

use super::samples::Samples;
use super::{LOCALES, TemplateError, TemplateKind, build_env, jinja_error};
use crate::config::Locale;
use crate::render::markup::Dialect;
use minijinja::{Environment, Template};
use std::fmt::Write as _;
use std::path::Path;

/// Checks the templates in `dir`: each of `digest.j2`, `reminder.j2`, `report_call.j2` that is
/// present must compile, use only known variables, and render against sample data (once with
/// every section filled, once with every section empty) in every dialect and locale.
///
/// The error names the file, the line when known, and the problem; a problem that shows only in
/// some dialect says which.
pub fn check_templates(dir: &Path) -> Result<(), TemplateError> {
    let meta = std::fs::metadata(dir).map_err(|source| TemplateError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(TemplateError::Invalid {
            file: dir.display().to_string(),
            line: None,
            problem: "template_dir is not a directory".into(),
        });
    }
    for kind in TemplateKind::ALL {
        let Some((name, source)) = read_user_template(dir, kind)? else {
            continue;
        };
        check_one(kind, &name, &source)?;
    }
    Ok(())
}

/// Reads `dir/<kind>.j2` if it exists; `(template name, source)`.
pub(crate) fn read_user_template(
    dir: &Path,
    kind: TemplateKind,
) -> Result<Option<(String, String)>, TemplateError> {
    let path = dir.join(kind.file_name());
    match std::fs::read_to_string(&path) {
        Ok(source) => Ok(Some((path.display().to_string(), source))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TemplateError::Read { path, source }),
    }
}

fn check_one(kind: TemplateKind, name: &str, source: &str) -> Result<(), TemplateError> {
    let samples = Samples::new();
    // Plain first, so that a problem found there is reported without a dialect note.
    for dialect in Dialect::ALL {
        for locale in LOCALES {
            let env = build_env(dialect, locale)?;
            let tmpl = env
                .template_from_named_str(name, source)
                .map_err(|e| jinja_error(name, &e))?;
            if dialect == Dialect::Plain && locale == Locale::ZhCn {
                check_variables(&env, &tmpl, kind, name, source)?;
            }
            samples
                .render_all(&tmpl, kind, dialect, locale)
                .map_err(|e| {
                    let mut err = jinja_error(name, &e);
                    if dialect != Dialect::Plain
                        && let TemplateError::Invalid { problem, .. } = &mut err
                    {
                        let _ = write!(problem, " (when rendering for {})", dialect.as_str());
                    }
                    err
                })?;
        }
    }
    Ok(())
}

/// Finds variables the template uses that no context provides, including in branches the
/// sample data does not reach.
fn check_variables(
    env: &Environment<'_>,
    tmpl: &Template<'_, '_>,
    kind: TemplateKind,
    name: &str,
    source: &str,
) -> Result<(), TemplateError> {
    const SPECIAL: [&str; 6] = ["loop", "self", "super", "caller", "varargs", "kwargs"];
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| {
            !kind.context_keys().contains(&v.as_str())
                && !SPECIAL.contains(&v.as_str())
                && !env.globals().any(|(g, _)| g == v)
        })
        .collect();
    unknown.sort();
    let Some(var) = unknown.first() else {
        return Ok(());
    };
    Err(TemplateError::Invalid {
        file: name.to_string(),
        line: line_of_word(source, var),
        problem: format!(
            "unknown variable `{var}` (available in {}: {})",
            kind.file_name(),
            kind.context_keys().join(", ")
        ),
    })
}

/// The first line where `word` appears as a whole identifier.
fn line_of_word(source: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source
        .lines()
        .position(|line| {
            line.match_indices(word).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + word.len()..].chars().next();
                !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
            })
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, body: &str) {
        std::fs::write(dir.join(file), body).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }

    fn check(file: &str, body: &str) -> Result<(), TemplateError> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        write(dir.path(), file, body);
        check_templates(dir.path())
    }

    #[test]
    fn builtin_templates_pass_the_check() {
        for kind in TemplateKind::ALL {
            for locale in LOCALES {
                let name = kind.builtin_name(locale);
                let r = check_one(kind, &name, kind.builtin_source(locale));
                assert!(r.is_ok(), "{name}: {r:?}");
            }
        }
    }

    #[test]
    fn a_good_user_template_passes() {
        let r = check(
            "digest.j2",
            "{{ heading(title) }}\n{% for t in overdue.items %}{{ bullet }}{{ t.title }} {{ t.leader|mention if t.leader else \"\" }}\n{% endfor %}{{ bar(rate) }}",
        );
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = check("digest.j2", "line one\n{% if %}\n")
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("digest.j2:2: syntax error"), "{msg}");
    }

    #[test]
    fn unknown_variable_is_found_even_in_an_unreached_branch() {
        let err = check(
            "reminder.j2",
            "hi\n{% if false %}\n{{ nobody_knows }}\n{% endif %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("reminder.j2:3: unknown variable `nobody_knows`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_attribute_and_filter_fail_at_render() {
        let err = check("digest.j2", "a\n{{ totals.nope }}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("digest.j2:2: undefined value"), "{err}");
        let err = check("report_call.j2", "{{ title|shout }}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("report_call.j2:1: unknown filter"), "{err}");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let err = check(
            "digest.j2",
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("range() created more than"), "{err}");
        let err = check(
            "digest.j2",
            "{% for a in range(50000) %}{{ 'x' * 1000 }}{% endfor %}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("exceeds"), "{err}");
        let err = check(
            "digest.j2",
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("recursion"), "{err}");
    }

    #[test]
    fn missing_dir_is_an_error_and_empty_dir_is_fine() {
        assert!(check_templates(Path::new("/nonexistent/weekbell/templates")).is_err());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        assert!(check_templates(dir.path()).is_ok());
    }
}

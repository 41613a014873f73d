//! TOML (`[[tasks]]` tables) and JSON (an array of objects, or `{"tasks": [...]}`) task lists.
//!
//! Keys are matched exactly like sheet headers, so the English field names work and so do the
//! built-in aliases (`owner`, `team`) and `[tasks.columns]`. Each entry becomes one row whose
//! number is the entry's 1-based position, as [`super::RowRef`] documents. A key that names no
//! field is kept as the task's `extra` under its own name (and listed by `check`), so an export
//! writes it back.

use super::cell::Cell;
use super::columns::{HeaderProblem, map_keys};
use super::error::TaskError;
use super::model::TaskList;
use super::rows::{Context, SheetImport};
use std::borrow::Cow;
use std::collections::HashMap;

/// One entry's values by key, in the entry's own order.
type Entry<'v> = Vec<(&'v str, Result<Cell<'v>, String>)>;

pub(crate) fn read_json(
    ctx: &Context<'_>,
    sheet: String,
    text: &str,
) -> Result<TaskList, TaskError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| TaskError::Parse {
        path: ctx.path.to_path_buf(),
        format: "JSON",
        line: Some(e.line()),
        column: Some(e.column()),
        message: e.to_string(),
    })?;
    let list = match &value {
        serde_json::Value::Array(a) => Some(a),
        serde_json::Value::Object(o) => o.get("tasks").and_then(|t| t.as_array()),
        _ => None,
    };
    let Some(list) = list else {
        return Err(TaskError::Parse {
            path: ctx.path.to_path_buf(),
            format: "JSON",
            line: None,
            column: None,
            message: "expected an array of task objects, or an object with a \"tasks\" array"
                .to_string(),
        });
    };
    let entries: Vec<Option<Entry<'_>>> = list
        .iter()
        .map(|v| {
            v.as_object()
                .map(|o| o.iter().map(|(k, v)| (k.as_str(), json_cell(v))).collect())
        })
        .collect();
    import(ctx, sheet, entries)
}

pub(crate) fn read_toml(
    ctx: &Context<'_>,
    sheet: String,
    text: &str,
) -> Result<TaskList, TaskError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| line_col(text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        TaskError::Parse {
            path: ctx.path.to_path_buf(),
            format: "TOML",
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let Some(list) = table.get("tasks").and_then(|t| t.as_array()) else {
        return Err(TaskError::Parse {
            path: ctx.path.to_path_buf(),
            format: "TOML",
            line: None,
            column: None,
            message: "expected [[tasks]] tables, one per task".to_string(),
        });
    };
    let entries: Vec<Option<Entry<'_>>> = list
        .iter()
        .map(|v| {
            v.as_table()
                .map(|t| t.iter().map(|(k, v)| (k.as_str(), toml_cell(v))).collect())
        })
        .collect();
    import(ctx, sheet, entries)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn import(
    ctx: &Context<'_>,
    sheet: String,
    entries: Vec<Option<Entry<'_>>>,
) -> Result<TaskList, TaskError> {
    // The union of keys plays the header row.
    let mut keys: Vec<String> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (k, _) in entries.iter().flatten().flatten() {
        if !index.contains_key(k) {
            index.insert(k, keys.len());
            keys.push(k.to_string());
        }
    }
    let map = map_keys(&ctx.headers, &keys).map_err(|p| match p {
        HeaderProblem::Missing {
            field,
            header,
            found,
            configured,
            ..
        } => TaskError::MissingColumn {
            path: ctx.path.to_path_buf(),
            sheet: sheet.clone(),
            field,
            header,
            row: None,
            found,
            configured,
        },
        HeaderProblem::NotFound {
            expected_title,
            expected_others,
        } => TaskError::NoHeaderRow {
            path: ctx.path.to_path_buf(),
            sheet: sheet.clone(),
            scanned: entries.len(),
            expected_title,
            expected_others,
        },
    })?;
    let mut import = SheetImport::with_columns(ctx, sheet, map);
    import.reserve(entries.len());
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(keys.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let row = i + 1;
        let Some(entry) = entry else {
            import.reject(
                row,
                None,
                "each task must be a table/object of keys".to_string(),
            );
            continue;
        };
        cells.clear();
        cells.resize(keys.len(), Cell::Empty);
        for (k, value) in entry {
            // A key that names no field is kept under its own name (`extra`).
            let Some(&col) = index.get(k) else { continue };
            match value {
                Ok(cell) => cells[col] = cell,
                Err(message) => import.reject(row, Some(k.to_string()), message),
            }
        }
        import.push_row(row, &cells)?;
    }
    import.finish()
}

fn join_names<'v>(items: impl Iterator<Item = Option<Cow<'v, str>>>) -> Result<Cell<'v>, String> {
    let mut out = String::new();
    for item in items {
        let Some(s) = item else {
            return Err("a list may only hold names (strings)".to_string());
        };
        if !out.is_empty() {
            // A line break separates names in owners cells, and no name contains one.
            out.push('\n');
        }
        out.push_str(&s);
    }
    Ok(Cell::Text(Cow::Owned(out)))
}

fn json_cell(v: &serde_json::Value) -> Result<Cell<'_>, String> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_f64() {
            Some(value) => Cell::Number {
                value,
                percent: false,
            },
            None => Cell::Text(Cow::Owned(n.to_string())),
        },
        Value::String(s) => Cell::Text(Cow::Borrowed(s)),
        Value::Array(items) => {
            return join_names(items.iter().map(|i| match i {
                Value::String(s) => Some(Cow::Borrowed(s.as_str())),
                Value::Number(n) => Some(Cow::Owned(n.to_string())),
                _ => None,
            }));
        }
        Value::Object(_) => return Err("a nested object is not a task value".to_string()),
    })
}

fn toml_cell(v: &toml::Value) -> Result<Cell<'_>, String> {
    use toml::Value;
    Ok(match v {
        Value::String(s) => Cell::Text(Cow::Borrowed(s)),
        Value::Integer(i) => Cell::Number {
            value: *i as f64,
            percent: false,
        },
        Value::Float(f) => Cell::Number {
            value: *f,
            percent: false,
        },
        Value::Boolean(b) => Cell::Bool(*b),
        Value::Datetime(dt) => match dt.date {
            Some(d) => match chrono::NaiveDate::from_ymd_opt(
                i32::from(d.year),
                u32::from(d.month),
                u32::from(d.day),
            ) {
                Some(date) => Cell::Date(date),
                None => return Err(format!("{dt} is not a real calendar date")),
            },
            None => return Err(format!("{dt} is a time of day, not a date")),
        },
        Value::Array(items) => {
            return join_names(items.iter().map(|i| match i {
                Value::String(s) => Some(Cow::Borrowed(s.as_str())),
                Value::Integer(n) => Some(Cow::Owned(n.to_string())),
                _ => None,
            }));
        }
        Value::Table(_) => return Err("a nested table is not a task value".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_offset() {
        let text = "a = 1\nbb = \n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}

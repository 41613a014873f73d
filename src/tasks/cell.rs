//! One cell of a task list, whatever format it came from.
//!
//! Every reader (workbook, CSV, TOML, JSON) turns its rows into slices of [`Cell`] so that header
//! detection and row conversion are written once. Text borrows from the reader where it can: the
//! shared-string table of an xlsx file and the decoded CSV buffer live as long as the import.

use chrono::NaiveDate;
use std::borrow::Cow;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Cell<'a> {
    #[default]
    Empty,
    Text(Cow<'a, str>),
    /// `percent` is true when the workbook formats the cell as a percentage, which matters for
    /// progress: a percent-formatted `0.6` is shown as 60%.
    Number {
        value: f64,
        percent: bool,
    },
    Date(NaiveDate),
    Bool(bool),
}

impl Cell<'_> {
    /// Blank text counts as empty: offices leave spaces in cells they meant to clear.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// Buffered rows outlive the reader's borrow (header detection looks ahead).
    pub(crate) fn into_owned(self) -> Cell<'static> {
        match self {
            Cell::Empty => Cell::Empty,
            Cell::Text(t) => Cell::Text(Cow::Owned(t.into_owned())),
            Cell::Number { value, percent } => Cell::Number { value, percent },
            Cell::Date(d) => Cell::Date(d),
            Cell::Bool(b) => Cell::Bool(b),
        }
    }

    /// The cell as a person would read it, trimmed. Whole numbers print without a decimal point
    /// because ids such as 序号 are stored as floats by every spreadsheet program.
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(t) => Cow::Borrowed(t.trim()),
            Cell::Number { value, .. } => Cow::Owned(format_number(*value)),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

pub(crate) fn format_number(value: f64) -> String {
    let mut s = String::new();
    // Beyond 2^53 floats stop being exact integers, so such values keep the float notation.
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        let _ = write!(s, "{}", value as i64);
    } else if value.abs() >= 1e15 {
        let _ = write!(s, "{value:e}");
    } else {
        let _ = write!(s, "{value}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_print_as_integers() {
        assert_eq!(
            Cell::Number {
                value: 7.0,
                percent: false
            }
            .text(),
            "7"
        );
        assert_eq!(
            Cell::Number {
                value: -3.0,
                percent: false
            }
            .text(),
            "-3"
        );
        assert_eq!(
            Cell::Number {
                value: 2.5,
                percent: false
            }
            .text(),
            "2.5"
        );
        assert_eq!(
            Cell::Number {
                value: 1e300,
                percent: false
            }
            .text(),
            "1e300"
        );
        assert_eq!(
            Cell::Number {
                value: f64::NAN,
                percent: false
            }
            .text(),
            "NaN"
        );
    }

    #[test]
    fn blank_text_is_empty() {
        assert!(Cell::Text(" \u{3000}\n".into()).is_blank());
        assert!(!Cell::Text("x".into()).is_blank());
        assert!(
            !Cell::Number {
                value: 0.0,
                percent: false
            }
            .is_blank()
        );
    }
}

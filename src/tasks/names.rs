//! Owners and leader cells: several names in one cell, each matched against the people directory.

use super::model::Assignee;
use crate::people::Directory;

/// Separators offices use between names. A line break (Alt+Enter in Excel) separates names too.
/// Plain spaces do not, because English names contain them.
fn is_separator(c: char) -> bool {
    matches!(c, '、' | '，' | ',' | ';' | '；' | '/' | '／' | '\n' | '\r')
}

/// Splits a names cell, trimming each name and dropping empty pieces (`孙强、、周敏`).
pub fn split_names(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(is_separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Resolves one written name to a configured person, by id or display name.
pub(crate) fn assignee(name: &str, people: &Directory) -> Assignee {
    Assignee {
        name: name.to_string(),
        person: people.resolve(name).map(|p| p.id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        split_names(s).collect()
    }

    #[test]
    fn splits_on_every_separator() {
        assert_eq!(split("周敏、孙强"), ["周敏", "孙强"]);
        assert_eq!(
            split("周敏，孙强,吴涛;郑洁；冯磊/何静"),
            ["周敏", "孙强", "吴涛", "郑洁", "冯磊", "何静"]
        );
        assert_eq!(split(" 周敏 、 孙强 "), ["周敏", "孙强"]);
        assert_eq!(split("周敏\n孙强"), ["周敏", "孙强"]);
        assert_eq!(split("carol;dave"), ["carol", "dave"]);
        assert_eq!(
            split("Alice Smith, Bob Jones"),
            ["Alice Smith", "Bob Jones"]
        );
        assert_eq!(split("、、周敏、 、"), ["周敏"]);
        assert!(split("").is_empty());
        assert!(split(" ,;、").is_empty());
    }

    #[test]
    fn full_width_spaces_are_trimmed() {
        assert_eq!(split("\u{3000}孙强\u{3000}、周敏"), ["孙强", "周敏"]);
    }
}

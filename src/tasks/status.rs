//! Status words: the English names, the words Chinese offices write, and the config's own.

use super::model::Status;
use std::collections::{BTreeMap, HashMap};

/// Built-in words per status. English synonyms cover what issue trackers export; the Chinese
/// ones are what 整改进展 / 完成情况 columns hold in practice.
const BUILT_IN: &[(Status, &[&str])] = &[
    (
        Status::Todo,
        &[
            "todo",
            "to do",
            "backlog",
            // Jira's default workflow, between backlog and in progress.
            "selected for development",
            "open",
            "new",
            "not started",
            "未开始",
            "待办",
            "未启动",
            "待启动",
        ],
    ),
    (
        Status::InProgress,
        &[
            "in_progress",
            "in progress",
            // A tracker's code review is still the team's work in progress; the office's
            // sign-off (待审核, below) is what `review` means here.
            "in review",
            "wip",
            "doing",
            "started",
            "整改中",
            "推进中",
            "进行中",
            "正在整改",
            "正在推进",
            "已启动",
        ],
    ),
    (
        Status::Blocked,
        &[
            "blocked", "on hold", "stuck", "受阻", "阻塞", "暂停", "停滞",
        ],
    ),
    (
        Status::Done,
        &[
            "done",
            "closed",
            "complete",
            "completed",
            "finished",
            "resolved",
            "已完成",
            "完成",
            "已销号",
            "已整改",
            "办结",
            "已办结",
            "整改完成",
            "已完成整改",
        ],
    ),
    (
        Status::Ongoing,
        &[
            "ongoing",
            "recurring",
            "长期坚持",
            "持续推进",
            "常态化",
            "长期推进",
        ],
    ),
    (
        Status::Cancelled,
        &[
            "cancelled",
            "canceled",
            "won't do",
            "won\u{2019}t do",
            "wont do",
            "won't fix",
            "dropped",
            "已取消",
            "取消",
            "撤销",
            "已撤销",
        ],
    ),
    (
        Status::Review,
        &[
            "review",
            "pending review",
            "awaiting review",
            "awaiting sign-off",
            "待审核",
            "待销号",
            "审核中",
            "待验收",
        ],
    ),
];

/// Maps cell text to a status. Built from the built-in words and `[tasks.status_values]`,
/// which win when they name the same word.
#[derive(Debug, Clone)]
pub struct StatusMap {
    words: HashMap<String, Status>,
}

/// Case, spaces, dashes and underscores vary between people writing the same word
/// (`In Progress`, `in-progress`, `in_progress`), as do full-width spaces in Chinese cells.
fn key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A cell of a yes/no status column (是否完成): 是 is done and 否 is not yet; anything else is read
/// as an ordinary status word.
pub(crate) fn yes_no(text: &str) -> Option<Status> {
    match key(text).as_str() {
        "是" | "y" | "yes" | "true" | "√" | "✓" | "✔" => Some(Status::Done),
        "否" | "n" | "no" | "false" | "0" | "×" | "✗" => Some(Status::Todo),
        _ => None,
    }
}

impl StatusMap {
    pub fn new(extra: &BTreeMap<Status, Vec<String>>) -> Self {
        let mut words = HashMap::new();
        for (status, list) in BUILT_IN {
            for w in *list {
                words.insert(key(w), *status);
            }
        }
        for (status, list) in extra {
            for w in list {
                words.insert(key(w), *status);
            }
        }
        StatusMap { words }
    }

    /// `Ok(Todo)` for an empty cell: a new row nobody has touched yet has no status written.
    pub fn parse(&self, text: &str) -> Result<Status, UnknownStatusWord> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Status::Todo);
        }
        // Most cells hold a word already in the table; skip building a key for them.
        if let Some(s) = self.words.get(text) {
            return Ok(*s);
        }
        self.words
            .get(&key(text))
            .copied()
            .ok_or_else(|| UnknownStatusWord(text.to_string()))
    }
}

/// A status cell whose word no table maps (the built-in words, `[tasks.status_values]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {0:?}; use todo/未开始, in_progress/整改中, blocked/受阻, done/已完成, \
     ongoing/长期坚持 or cancelled/已取消, or map the word under [tasks.status_values]"
)]
pub struct UnknownStatusWord(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_names_and_synonyms() {
        let m = StatusMap::new(&BTreeMap::new());
        for (w, s) in [
            ("todo", Status::Todo),
            ("open", Status::Todo),
            ("in progress", Status::InProgress),
            ("In-Progress", Status::InProgress),
            ("in_progress", Status::InProgress),
            ("WIP", Status::InProgress),
            ("blocked", Status::Blocked),
            ("done", Status::Done),
            ("Closed", Status::Done),
            ("completed", Status::Done),
            ("ongoing", Status::Ongoing),
            ("canceled", Status::Cancelled),
            ("cancelled", Status::Cancelled),
            ("To Do", Status::Todo),
            ("Backlog", Status::Todo),
            ("Selected for Development", Status::Todo),
            ("In Review", Status::InProgress),
            ("Won't Do", Status::Cancelled),
            ("Won\u{2019}t Do", Status::Cancelled),
            ("Canceled", Status::Cancelled),
            ("", Status::Todo),
            ("   ", Status::Todo),
        ] {
            assert_eq!(m.parse(w), Ok(s), "{w:?}");
        }
    }

    #[test]
    fn chinese_words() {
        let m = StatusMap::new(&BTreeMap::new());
        for (w, s) in [
            ("未开始", Status::Todo),
            ("待办", Status::Todo),
            ("整改中", Status::InProgress),
            ("推进中", Status::InProgress),
            ("正在整改", Status::InProgress),
            ("受阻", Status::Blocked),
            ("暂停", Status::Blocked),
            ("已完成", Status::Done),
            ("已销号", Status::Done),
            ("办结", Status::Done),
            ("\u{3000}已完成 ", Status::Done),
            ("长期坚持", Status::Ongoing),
            ("常态化", Status::Ongoing),
            ("撤销", Status::Cancelled),
            ("已办结", Status::Done),
        ] {
            assert_eq!(m.parse(w), Ok(s), "{w:?}");
        }
    }

    #[test]
    fn yes_and_no() {
        for (w, s) in [
            ("是", Some(Status::Done)),
            (" 否 ", Some(Status::Todo)),
            ("Yes", Some(Status::Done)),
            ("N", Some(Status::Todo)),
            ("√", Some(Status::Done)),
            ("已完成", None),
            ("", None),
        ] {
            assert_eq!(yes_no(w), s, "{w:?}");
        }
    }

    #[test]
    fn config_words_win() {
        let mut extra = BTreeMap::new();
        extra.insert(
            Status::Done,
            vec!["基本完成".to_string(), "暂停".to_string()],
        );
        let m = StatusMap::new(&extra);
        assert_eq!(m.parse("基本完成"), Ok(Status::Done));
        assert_eq!(m.parse("暂停"), Ok(Status::Done));
    }

    #[test]
    fn unknown_word_explains_how_to_map_it() {
        let m = StatusMap::new(&BTreeMap::new());
        let err = m
            .parse("差不多了")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("差不多了"), "{err}");
        assert!(err.contains("[tasks.status_values]"), "{err}");
    }
}

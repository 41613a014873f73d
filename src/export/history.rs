//! The history sheet: every recorded event, oldest first, in words an office reads.

use super::layout::{Vocabulary, has_chinese};
use crate::people::Directory;
use crate::store::TaskEvent;
use crate::tasks::Status;
use crate::tasks::merge::field;
use chrono::{DateTime, NaiveDateTime};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    /// Local time in the config's zone; `None` for a timestamp out of chrono's range.
    pub at: Option<NaiveDateTime>,
    /// The task id, or the unit for a weekly report.
    pub task: String,
    pub field: String,
    pub old: String,
    pub new: String,
    pub who: String,
    pub source: String,
    pub channel: String,
}

/// The header row; the time column names its zone, since Excel dates have none.
pub(super) fn headers(chinese: bool, zone: Tz) -> [String; 8] {
    let names = if chinese {
        [
            "时间",
            "任务编号/单位",
            "字段",
            "原值",
            "新值",
            "操作人",
            "来源",
            "群",
        ]
    } else {
        [
            "Time",
            "Task / unit",
            "Field",
            "Old value",
            "New value",
            "Who",
            "Source",
            "Channel",
        ]
    };
    let mut out = names.map(String::from);
    out[0] = if chinese {
        format!("{}（{}）", out[0], zone.name())
    } else {
        format!("{} ({})", out[0], zone.name())
    };
    out
}

/// `历史` for a Chinese list, `history` otherwise; a sheet cannot share the list's name.
pub(super) fn sheet_name(chinese: bool, list_sheet: &str) -> String {
    let name = if chinese { "历史" } else { "history" };
    if name.eq_ignore_ascii_case(list_sheet.trim()) {
        if chinese {
            "历史记录"
        } else {
            "event history"
        }
        .to_string()
    } else {
        name.to_string()
    }
}

pub(super) fn rows(
    events: &[TaskEvent],
    people: &Directory,
    zone: Tz,
    vocabulary: &Vocabulary,
    chinese: bool,
) -> Vec<Row> {
    let mut ordered: Vec<&TaskEvent> = events.iter().collect();
    ordered.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    ordered
        .into_iter()
        .map(|e| {
            let value = |v: &Option<String>| show_value(&e.field, v.as_deref(), vocabulary);
            Row {
                at: DateTime::from_timestamp_millis(e.at_ms)
                    .map(|utc| utc.with_timezone(&zone).naive_local()),
                task: e.task_id.clone(),
                field: show_field(&e.field, chinese),
                old: value(&e.old_value),
                new: value(&e.new_value),
                who: people
                    .get(&e.actor)
                    .map_or_else(|| e.actor.clone(), |p| p.name.clone()),
                source: show_source(&e.source, chinese),
                channel: e.channel.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// Statuses in the list's own words and progress as a percentage, so that the history reads
/// like the sheet; anything unrecognised is shown as recorded.
fn show_value(field_name: &str, value: Option<&str>, vocabulary: &Vocabulary) -> String {
    let Some(v) = value else {
        return String::new();
    };
    match field_name {
        field::STATUS => {
            Status::from_name(v).map_or_else(|| v.to_string(), |s| vocabulary.word(s).to_string())
        }
        field::PROGRESS => {
            let digits = v.trim().trim_end_matches('%').trim();
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                format!("{digits}%")
            } else {
                v.to_string()
            }
        }
        _ => v.to_string(),
    }
}

fn show_field(name: &str, chinese: bool) -> String {
    if !chinese {
        return name.to_string();
    }
    match name {
        field::STATUS => "状态",
        field::PROGRESS => "进度",
        field::NOTE => "备注",
        field::NOTES => "备注（整段替换）",
        field::REPORT => "周报",
        field::EXTENSION => "延期申请",
        field::DUE => "整改时限（同意延期）",
        field::EXTENSION_DENIED => "驳回延期",
        field::AWAY => "请假",
        other => other,
    }
    .to_string()
}

fn show_source(name: &str, chinese: bool) -> String {
    if !chinese || has_chinese(name) {
        return name.to_string();
    }
    match name {
        "file" => "清单文件",
        "chat" => "群聊",
        "cli" => "命令行",
        "api" => "接口",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TasksConfig;
    use crate::people::Person;
    use std::collections::BTreeMap;

    fn event(id: &str, at_ms: i64, field: &str, old: Option<&str>, new: Option<&str>) -> TaskEvent {
        TaskEvent {
            id: id.into(),
            dedupe_key: None,
            task_id: "3".into(),
            at_ms,
            actor: "sun.qiang".into(),
            source: "chat".into(),
            channel: Some("county".into()),
            field: field.into(),
            old_value: old.map(String::from),
            new_value: new.map(String::from),
        }
    }

    #[test]
    fn rows_are_in_time_order_in_the_lists_words() {
        let people = Directory::new(vec![Person {
            id: "sun.qiang".into(),
            name: "孙强".into(),
            unit: None,
            mobile: None,
            email: None,
            handles: BTreeMap::new(),
            admin: false,
        }]);
        let cfg = TasksConfig::sample("t.csv");
        let vocabulary = Vocabulary::new(&[], &cfg, true);
        // 2026-11-30T00:00:00Z is 08:00 in Shanghai.
        let day = 1_795_996_800_000;
        let events = vec![
            event("b", day + 60_000, "progress", None, Some("60")),
            event("a", day, "status", Some("in_progress"), Some("done")),
        ];
        let rows = rows(
            &events,
            &people,
            chrono_tz::Asia::Shanghai,
            &vocabulary,
            true,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
            Some("2026-11-30 08:00".to_string())
        );
        assert_eq!(
            (
                rows[0].field.as_str(),
                rows[0].old.as_str(),
                rows[0].new.as_str()
            ),
            ("状态", "整改中", "已完成")
        );
        assert_eq!(
            (rows[1].field.as_str(), rows[1].new.as_str()),
            ("进度", "60%")
        );
        assert_eq!(rows[0].who, "孙强");
        assert_eq!(rows[0].source, "群聊");
        assert_eq!(rows[0].channel, "county");
    }

    #[test]
    fn the_history_sheet_never_takes_the_lists_name() {
        assert_eq!(sheet_name(true, "问题清单"), "历史");
        assert_eq!(sheet_name(false, "tasks"), "history");
        assert_eq!(sheet_name(false, "History"), "event history");
    }
}

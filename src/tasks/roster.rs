//! An address book read as people: DingTalk's, WeCom's or Feishu's admin-console export, or
//! any sheet with 姓名 / 手机 / 部门 / UserID / 邮箱 (Name / Phone / Department / Slack ID /
//! Email) headers.
//!
//! It is read by the task list's own importer with an address book's headers
//! ([`HeaderSpec::roster`]): the same formats, encodings, title rows, merged cells and size
//! limits, and the same row-numbered errors, with no second reader to keep in step.

use super::columns::HeaderSpec;
use super::error::TaskError;
use super::import::load_with;
use crate::config::{Field, Locale, TasksConfig};
use crate::people::Directory;
use std::path::Path;

/// One person of the address book, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub name: String,
    /// The department (部门), when the book has one.
    pub unit: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// The user id column (UserID, 账号, Slack ID): the person's id on the roster's platform.
    pub user_id: Option<String>,
    /// The spreadsheet row, for messages.
    pub row: usize,
}

/// Headers of an e-mail column, compared as normalised.
const EMAIL: &[&str] = &[
    "邮箱",
    "企业邮箱",
    "电子邮箱",
    "email",
    "e-mail",
    "emailaddress",
];

/// Reads the address book at `path` (its sheet `sheet`, or the first).
pub fn load_roster(
    path: &Path,
    sheet: Option<&str>,
    max_unpacked_size: u64,
    locale: Locale,
) -> Result<Vec<RosterEntry>, TaskError> {
    let bytes = std::fs::read(path).map_err(|source| TaskError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let cfg = TasksConfig {
        source: path.to_path_buf(),
        sheet: sheet.map(str::to_string),
        columns: Default::default(),
        status_values: Default::default(),
        encoding: None,
        max_unpacked_size,
        date_order: None,
        locale,
    };
    // No deadlines are read, so the date the list is as of does not matter.
    let list = load_with(
        path,
        &bytes,
        &cfg,
        &Directory::default(),
        chrono::NaiveDate::MIN,
        HeaderSpec::roster(),
    )?;
    let has_id_column = list
        .columns
        .as_ref()
        .is_some_and(|c| c.mapped.iter().any(|m| m.field == Field::Id.as_str()));
    Ok(list
        .tasks
        .into_iter()
        .map(|t| {
            let email = t
                .details
                .extra
                .iter()
                .find(|(h, _)| EMAIL.contains(&super::columns::normalise_header(h).as_str()))
                .map(|(_, v)| v.trim().to_string());
            let mobile = t.details.phones.trim();
            RosterEntry {
                name: t.title.trim().to_string(),
                unit: Some(t.unit.trim().to_string()).filter(|u| !u.is_empty()),
                mobile: (!mobile.is_empty()).then(|| mobile.to_string()),
                email: email.filter(|e| !e.is_empty()),
                user_id: has_id_column.then(|| t.id.trim().to_string()),
                row: t.source.row,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(name: &str, text: &str) -> Vec<RosterEntry> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        load_roster(&path, None, 1 << 20, Locale::En).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_slack_teams_export_gives_names_emails_phones_and_member_ids() {
        let people = roster(
            "team.csv",
            "Name,Email,Phone,Slack ID,Title\nAlice Chen,alice@example.com,+1 555 0100,U01ALICE,Engineer\nBob Li,bob@example.com,,U02BOB,\n",
        );
        assert_eq!(
            people[0],
            RosterEntry {
                name: "Alice Chen".into(),
                unit: None,
                mobile: Some("+1 555 0100".into()),
                email: Some("alice@example.com".into()),
                user_id: Some("U01ALICE".into()),
                row: 2,
            }
        );
        assert_eq!(people[1].mobile, None);
        assert_eq!(people[1].user_id.as_deref(), Some("U02BOB"));
    }

    #[test]
    fn a_book_without_a_user_id_column_gives_no_user_ids() {
        let people = roster("通讯录.csv", "姓名,手机,部门\n孙强,13800000001,首山镇\n");
        assert_eq!(people[0].user_id, None);
        assert_eq!(people[0].unit.as_deref(), Some("首山镇"));
        assert_eq!(people[0].mobile.as_deref(), Some("13800000001"));
    }
}

//! The chat command language (its table is in the README, "Commands from the chat"): reading
//! a message and running it. Pure: no IO,
//! no clock, no store. The inbound handler verifies and decodes the platform's request, calls
//! [`parse`] and [`respond`], records [`Response::changes`] as events ([`to_events`]) and sends
//! the reply.
//!
//! # The language
//!
//! | English | 中文 | effect |
//! | --- | --- | --- |
//! | `help` | `帮助` | the command list |
//! | `list [mine\|overdue\|due\|blocked\|UNIT]` | `清单 [我的\|逾期\|到期\|受阻\|单位]`, `我的`, `逾期`, `到期清单`, `受阻清单` | tasks, filtered |
//! | `status` | `进度`, `汇总` | the digest, now |
//! | `done ID [note]` | `完成 ID [备注]` (also `已完成`, `办结`) | mark done; an owner's awaits sign-off where the list's `review` asks for it |
//! | `progress ID PCT% [note]` | `进展 ID PCT% [说明]` | progress and note |
//! | `block ID reason` | `受阻 ID 原因` | mark blocked |
//! | `reopen ID [note]` | `重开 ID` | back to in progress |
//! | `note ID text` | `备注 ID 内容` | add a note |
//! | `report [UNIT] text` | `周报 [单位] 内容` | the unit's weekly update |
//! | `approve ID [note]` | `销号 ID`, `审核通过 ID` | a reviewer signs a task off (where `review` is on; else `done`) |
//! | `reject ID reason` | `退回 ID 原因` | a reviewer returns a task awaiting sign-off |
//!
//! What a message may carry around the command, all accepted:
//! - whitespace, a leading `/` or `／`, and any number of leading mentions: `@名字`, `@_user_1`
//!   (Feishu), `<@U123>` (Slack, Discord), `<at …>…</at>` (Lark, Teams), and Telegram's
//!   `/done@weekbell_bot`;
//! - full-width forms from Chinese input methods in the command word, id and percentage
//!   (`完成 １２`, `进展 ４ ６０％`), and the ways they join a command to its id: `完成12`,
//!   `完成#12`, `完成12号`, `完成 第12项`, `完成：12`, `完成，12`;
//! - English command words in any case; a percentage as `60%`, `60` or `60％`.
//!
//! Notes, reasons and reports are kept exactly as written. A Chinese command word followed
//! directly by more Chinese (`完成情况`) is prose, not a command. `进度` alone is the digest;
//! with arguments it is taken as `进展`, since people use the two words alike.
//!
//! # Choices
//!
//! - `list` without a filter shows tasks not yet closed (open and ongoing); `list UNIT` shows
//!   all of the unit's tasks (an exact name, else every unit whose name contains the text);
//!   `mine` shows open and ongoing tasks the sender owns or leads. At most [`LIST_CAP`] lines.
//! - `done` on a task with progress below 100% also sets it to 100%; `progress` above 0% on a
//!   task still to do moves it to in progress; 100% does not close a task (the reply says how).
//! - `block` records the reason as a note, since the digest shows a blocked task's notes.
//! - A change that changes nothing (`done` on a done task) records nothing and says so, with
//!   the task's state, as every answer to a change does.
//! - `report` may be sent by the unit's members, the owners and leaders of its tasks, and
//!   admins. Its first word is the unit only when it names a unit of the list or the people.
//! - Through a channel ([`Context::channel`]) a command sees and changes only the tasks that
//!   channel covers, admins included: a task outside is answered as unknown, so the answer
//!   tells nothing of it, and a report for a unit outside is refused.

mod execute;
mod normalize;
mod parse;
#[cfg(test)]
mod tests;
mod text;

pub use execute::{
    Change, Context, EventMeta, LIST_CAP, Notice, Reply, Response, execute, find_task, is_person,
    may_change, respond, to_events,
};
pub use parse::{Command, Lang, ListFilter, Parsed, UsageProblem, Verb, parse};
pub use text::{already_handled, help_text, too_many, usage};

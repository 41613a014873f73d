//! Every sentence the bot answers with, in both languages. Plain text: the caller sends it as
//! a platform's plain message, so nothing here is markup.

use super::parse::{Lang, UsageProblem, Verb};
use crate::people::Directory;
use crate::render::templates::status_label;
use crate::tasks::{Assignee, Status, Task};
use chrono::{Datelike, NaiveDate};

/// The command list, for `help`, for text that is no command, and as the answer to `/start`.
pub fn help_text(lang: Lang) -> String {
    match lang {
        Lang::Zh => "\
weekbell 可用命令（可先 @我，或以 / 开头）：
帮助 — 显示本说明
清单 [单位] — 未办结事项，或某单位的全部事项
我的 / 逾期 / 到期清单 / 受阻清单 — 按条件列出事项
进度 或 汇总 — 立即发送整改工作汇总
完成 编号 [备注] — 标记完成，例如：完成 12
进展 编号 百分比 [说明] — 更新进展，例如：进展 4 60% 已清理三处
受阻 编号 原因 — 标记受阻，例如：受阻 7 等待资金下达
重开 编号 — 重新打开，改为整改中
备注 编号 内容 — 添加备注
周报 [单位] 内容 — 报送单位本周进展（不写单位即为本人所在单位）
销号 编号 / 退回 编号 原因 — 审核人员审核销号或退回（需审核的清单，责任人“完成”后待审核）
申请延期 编号 日期 原因 — 申请延长整改时限，例如：申请延期 12 2027-01-31 资金未到位
同意延期 编号 / 驳回延期 编号 原因 — 包保领导或管理员答复延期申请
请假 日期 至 日期 [代理 姓名] / 销假 — 请假期间提醒改发代理人（无代理人则发包保领导）
事项的责任人、包保领导和管理员可以修改该事项；名单内人员均可查询。"
            .to_string(),
        Lang::En => "\
weekbell commands (mention me first, or start with /):
help — this list
list [UNIT] — open tasks, or every task of a unit
list mine | overdue | due | blocked — tasks, filtered
status — the status digest, now
done ID [note] — mark done, e.g. done 12
progress ID PCT% [note] — update progress, e.g. progress 4 60% cleared three sites
block ID reason — mark blocked, e.g. block 7 waiting for funding
reopen ID — back to in progress
note ID text — add a note
report [UNIT] text — the unit's weekly update (your own unit when none is given)
approve ID / reject ID reason — sign a task off or return it (where the list asks for sign-off, an owner's done waits for it)
extend ID DATE reason — ask for a later deadline, e.g. extend 12 2027-01-31 waiting for funding
approve extension ID / deny extension ID reason — the leader or an admin answers the request
away FROM..TO [deputy PERSON] / back — while you are away, your reminders go to the deputy (or the leader)
A task's owners, its leader and admins may change it; everyone in the people list may read."
            .to_string(),
    }
}

/// How one command is written, with an example.
pub fn usage(lang: Lang, verb: Verb) -> &'static str {
    match (lang, verb) {
        (Lang::Zh, Verb::Help) => "帮助",
        (Lang::Zh, Verb::List) => "清单 [我的|逾期|到期|受阻|单位]，例如：清单 逾期",
        (Lang::Zh, Verb::Status) => "进度 或 汇总",
        (Lang::Zh, Verb::Done) => "完成 编号 [备注]，例如：完成 12",
        (Lang::Zh, Verb::Progress) => "进展 编号 百分比 [说明]，例如：进展 4 60% 已清理三处",
        (Lang::Zh, Verb::Block) => "受阻 编号 原因，例如：受阻 7 等待资金下达",
        (Lang::Zh, Verb::Reopen) => "重开 编号，例如：重开 12",
        (Lang::Zh, Verb::Note) => "备注 编号 内容，例如：备注 12 已联系施工单位",
        (Lang::Zh, Verb::Report) => "周报 [单位] 内容，例如：周报 县城管局 本周完成三处整改",
        (Lang::Zh, Verb::Approve) => "销号 编号 [意见]，例如：销号 12",
        (Lang::Zh, Verb::Reject) => "退回 编号 原因，例如：退回 12 现场仍有积存垃圾",
        (Lang::Zh, Verb::Extend) => {
            "申请延期 编号 日期 原因，例如：申请延期 12 2027-01-31 资金未到位"
        }
        (Lang::Zh, Verb::ApproveExtension) => "同意延期 编号，例如：同意延期 12",
        (Lang::Zh, Verb::DenyExtension) => "驳回延期 编号 原因，例如：驳回延期 12 按原时限完成",
        (Lang::Zh, Verb::Away) => {
            "请假 [姓名] 日期 至 日期 [代理 姓名]，例如：请假 2026-12-10 至 2026-12-18 代理 王强"
        }
        (Lang::Zh, Verb::Back) => "销假 [姓名]",
        (Lang::En, Verb::Help) => "help",
        (Lang::En, Verb::List) => "list [mine|overdue|due|blocked|UNIT], e.g. list overdue",
        (Lang::En, Verb::Status) => "status",
        (Lang::En, Verb::Done) => "done ID [note], e.g. done 12",
        (Lang::En, Verb::Progress) => {
            "progress ID PCT% [note], e.g. progress 4 60% cleared three sites"
        }
        (Lang::En, Verb::Block) => "block ID reason, e.g. block 7 waiting for funding",
        (Lang::En, Verb::Reopen) => "reopen ID, e.g. reopen 12",
        (Lang::En, Verb::Note) => "note ID text, e.g. note 12 called the contractor",
        (Lang::En, Verb::Report) => "report [UNIT] text, e.g. report Roads cleared three sites",
        (Lang::En, Verb::Approve) => "approve ID [comment], e.g. approve 12",
        (Lang::En, Verb::Reject) => "reject ID reason, e.g. reject 12 rubbish still on site",
        (Lang::En, Verb::Extend) => {
            "extend ID DATE reason, e.g. extend 12 2027-01-31 waiting for funding"
        }
        (Lang::En, Verb::ApproveExtension) => "approve extension ID, e.g. approve extension 12",
        (Lang::En, Verb::DenyExtension) => {
            "deny extension ID reason, e.g. deny extension 12 keep the deadline"
        }
        (Lang::En, Verb::Away) => {
            "away [PERSON] FROM..TO [deputy PERSON], e.g. away 2026-12-10..2026-12-18 deputy wang.qiang"
        }
        (Lang::En, Verb::Back) => "back [PERSON]",
    }
}

/// What is wrong, then how the command is written.
pub fn usage_reply(lang: Lang, verb: Verb, problem: &UsageProblem) -> String {
    let what = match (lang, problem) {
        (Lang::Zh, UsageProblem::MissingId) => "缺少事项编号。".to_string(),
        (Lang::Zh, UsageProblem::MissingPercent) => "缺少进展百分比。".to_string(),
        (Lang::Zh, UsageProblem::BadPercent(t)) => format!("「{t}」不是 0 到 100 之间的百分比。"),
        (Lang::Zh, UsageProblem::MissingText) => match verb {
            Verb::Block => "请写明受阻原因。",
            Verb::Reject => "请写明退回原因。",
            Verb::Extend => "请写明延期原因。",
            Verb::DenyExtension => "请写明驳回原因。",
            Verb::Report => "缺少周报内容。",
            _ => "缺少备注内容。",
        }
        .to_string(),
        (Lang::Zh, UsageProblem::MissingDate) => match verb {
            Verb::Away => "缺少请假日期。",
            _ => "缺少申请延至的日期。",
        }
        .to_string(),
        (Lang::En, UsageProblem::MissingDate) => match verb {
            Verb::Away => "The days of leave are missing.",
            _ => "The date to extend to is missing.",
        }
        .to_string(),
        (Lang::Zh, UsageProblem::MissingUnit) => {
            "人员名单中没有您所在的单位，请写明报送单位。".to_string()
        }
        (Lang::En, UsageProblem::MissingId) => "The task id is missing.".to_string(),
        (Lang::En, UsageProblem::MissingPercent) => "The percentage is missing.".to_string(),
        (Lang::En, UsageProblem::BadPercent(t)) => {
            format!("\"{t}\" is not a percentage from 0 to 100.")
        }
        (Lang::En, UsageProblem::MissingText) => match verb {
            Verb::Block | Verb::Reject | Verb::Extend | Verb::DenyExtension => {
                "Please give the reason."
            }
            Verb::Report => "The report text is missing.",
            _ => "The note text is missing.",
        }
        .to_string(),
        (Lang::En, UsageProblem::MissingUnit) => {
            "The people list gives you no unit; please name the unit you report for.".to_string()
        }
    };
    match lang {
        Lang::Zh => format!("{what}\n用法：{}", usage(lang, verb)),
        Lang::En => format!("{what}\nUsage: {}", usage(lang, verb)),
    }
}

/// The answer to a sender over `[server] sender_rate_limit`.
pub fn too_many(lang: Lang) -> String {
    match lang {
        Lang::Zh => "操作过于频繁，请稍候一分钟再发送。".to_string(),
        Lang::En => {
            "Too many commands in a short time; please wait a minute and try again.".to_string()
        }
    }
}

/// The answer to a message whose id came before with other text: not a platform's retry,
/// so the earlier answer does not fit, and nothing of this one was recorded.
pub fn already_handled(lang: Lang) -> String {
    match lang {
        Lang::Zh => "这条消息已经处理过，本次没有做任何更改。".to_string(),
        Lang::En => "This message was already handled; nothing was changed this time.".to_string(),
    }
}

pub fn not_understood(lang: Lang, near: Option<&str>) -> String {
    let guess = match (lang, near) {
        (Lang::Zh, Some(word)) => format!("您是不是想用“{word}”？"),
        (Lang::En, Some(word)) => format!(" Did you mean `{word}`?"),
        (_, None) => String::new(),
    };
    match lang {
        Lang::Zh => format!("没有识别出命令。{guess}\n{}", help_text(lang)),
        Lang::En => format!("I did not understand that.{guess}\n{}", help_text(lang)),
    }
}

/// The sender's platform id is quoted so that the admin can copy it into the config.
pub fn not_recognised(lang: Lang, handle: Option<&str>) -> String {
    match (lang, handle) {
        (Lang::Zh, Some(h)) => format!(
            "抱歉，weekbell 的人员名单中没有您，暂时无法处理您的命令。请联系管理员在配置的 [[people]] 中添加您的账号（{h}）。"
        ),
        (Lang::Zh, None) => "抱歉，weekbell 的人员名单中没有您，暂时无法处理您的命令。请联系管理员在配置的 [[people]] 中添加您的账号。".to_string(),
        (Lang::En, Some(h)) => format!(
            "Sorry, you are not in weekbell's people list, so I cannot act on your command. Please ask an admin to add your handle ({h}) to [[people]] in the config."
        ),
        (Lang::En, None) => "Sorry, you are not in weekbell's people list, so I cannot act on your command. Please ask an admin to add your handle to [[people]] in the config.".to_string(),
    }
}

pub fn no_such_task(lang: Lang, id: &str) -> String {
    match lang {
        Lang::Zh => format!("没有找到编号为「{id}」的事项。发送「清单」可查看事项及其编号。"),
        Lang::En => {
            format!(
                "There is no task with id \"{id}\". Send \"list\" to see the tasks and their ids."
            )
        }
    }
}

/// A refusal that says who may change the task, so the sender knows whom to ask.
pub fn refusal(lang: Lang, task: &Task, people: Option<&Directory>) -> String {
    let owners = names(lang, &task.owners, people);
    let leaders: Vec<Assignee> = task.leaders().cloned().collect();
    let leader = (!leaders.is_empty()).then(|| names(lang, &leaders, people));
    match lang {
        Lang::Zh => {
            let mut who = Vec::new();
            if !task.owners.is_empty() {
                who.push(format!("责任人 {owners}"));
            }
            if let Some(l) = leader {
                who.push(format!("包保领导 {l}"));
            }
            who.push("管理员".to_string());
            format!(
                "抱歉，您无权修改【{}】。可以修改该事项的是：{}。",
                task.id,
                who.join("、")
            )
        }
        Lang::En => {
            let mut who = Vec::new();
            if !task.owners.is_empty() {
                who.push(format!("its owners ({owners})"));
            }
            if let Some(l) = leader {
                who.push(format!("its leader ({l})"));
            }
            who.push("admins".to_string());
            let who = match who.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => who.join(""),
            };
            format!(
                "Sorry, you may not change {}. It can be changed by {who}.",
                task.id
            )
        }
    }
}

/// A sign-off by someone who is not a reviewer of the task: who is.
pub fn sign_off_refusal(lang: Lang, task_id: &str, reviewers: &[&str]) -> String {
    match lang {
        Lang::Zh => format!(
            "抱歉，【{task_id}】须由{}审核销号或退回。",
            if reviewers.is_empty() {
                "管理员".to_string()
            } else {
                reviewers.join("、")
            }
        ),
        Lang::En => format!(
            "Sorry, {task_id} is signed off or returned by {}.",
            if reviewers.is_empty() {
                "an admin".to_string()
            } else {
                reviewers.join(", ")
            }
        ),
    }
}

/// `reject` on a task that is not awaiting sign-off.
pub fn not_awaiting_review(lang: Lang, task: &Task) -> String {
    let status = status_word(lang, task.status);
    match lang {
        Lang::Zh => format!(
            "【{}】不在待审核状态（当前：{status}），无需退回。要重新整改请发「重开 {}」。",
            task.id, task.id
        ),
        Lang::En => format!(
            "{} is not awaiting sign-off (it is {status}); nothing to return. To reopen it, send \"reopen {}\".",
            task.id, task.id
        ),
    }
}

/// To the reviewers: an owner reported a task done and it waits for them.
pub fn review_requested(lang: Lang, task: &Task, by: &str) -> String {
    match lang {
        Lang::Zh => format!(
            "{by} 报告【{}】{} 已完成，请审核：发「销号 {}」办结，或「退回 {} 原因」。",
            task.id,
            task.title.trim(),
            task.id,
            task.id
        ),
        Lang::En => format!(
            "{by} reports {} \"{}\" done and it awaits your sign-off: send \"approve {}\" to close it, or \"reject {} REASON\".",
            task.id,
            task.title.trim(),
            task.id,
            task.id
        ),
    }
}

/// To the owners: a reviewer signed their task off, or returned it with a reason.
pub fn review_outcome(lang: Lang, task: &Task, by: &str, returned: Option<&str>) -> String {
    match (lang, returned) {
        (Lang::Zh, None) => format!("【{}】{} 已由 {by} 审核销号。", task.id, task.title.trim()),
        (Lang::Zh, Some(reason)) => format!(
            "【{}】{} 被 {by} 退回，请继续整改。原因：{reason}",
            task.id,
            task.title.trim()
        ),
        (Lang::En, None) => format!(
            "{} \"{}\" was signed off by {by}.",
            task.id,
            task.title.trim()
        ),
        (Lang::En, Some(reason)) => format!(
            "{} \"{}\" was returned by {by}; it is back in progress. Reason: {reason}",
            task.id,
            task.title.trim()
        ),
    }
}

/// Why an extension request is refused before anyone is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionProblem<'a> {
    /// The date could not be read.
    Unreadable(&'a str),
    /// The task has no deadline to extend (长期坚持, or none given).
    NoDeadline,
    /// The date asked for is not after the current deadline and today.
    NotLater(NaiveDate),
    /// `approve extension`/`deny extension` with no request waiting.
    NothingPending,
}

pub fn extension_problem(lang: Lang, task_id: &str, p: ExtensionProblem<'_>) -> String {
    match (lang, p) {
        (Lang::Zh, ExtensionProblem::Unreadable(t)) => format!(
            "无法识别日期「{t}」。请写成 2027-01-31 或 2027年1月31日。\n用法：{}",
            usage(lang, Verb::Extend)
        ),
        (Lang::Zh, ExtensionProblem::NoDeadline) => {
            format!("【{task_id}】没有整改时限，无需申请延期。")
        }
        (Lang::Zh, ExtensionProblem::NotLater(d)) => {
            format!("申请延至的日期须晚于现有整改时限和今天（{d}）。")
        }
        (Lang::Zh, ExtensionProblem::NothingPending) => {
            format!("【{task_id}】没有待答复的延期申请。")
        }
        (Lang::En, ExtensionProblem::Unreadable(t)) => format!(
            "Cannot read \"{t}\" as a date; write 2027-01-31.\nUsage: {}",
            usage(lang, Verb::Extend)
        ),
        (Lang::En, ExtensionProblem::NoDeadline) => {
            format!("{task_id} has no deadline to extend.")
        }
        (Lang::En, ExtensionProblem::NotLater(d)) => {
            format!("The new date must be after the current deadline and today ({d}).")
        }
        (Lang::En, ExtensionProblem::NothingPending) => {
            format!("{task_id} has no extension request waiting for an answer.")
        }
    }
}

/// To the leader (or admins): an owner asks for a later deadline.
pub fn extension_requested(
    lang: Lang,
    task: &Task,
    by: &str,
    to: NaiveDate,
    reason: &str,
    late: bool,
) -> String {
    let due = task.due.map(|d| d.to_string()).unwrap_or_default();
    match lang {
        Lang::Zh => format!(
            "{by} 申请将【{}】{} 的整改时限由 {due} 延至 {to}{}。原因：{reason}\n请答复：「同意延期 {}」或「驳回延期 {} 原因」。",
            task.id,
            task.title.trim(),
            if late { "（逾期后申请）" } else { "" },
            task.id,
            task.id
        ),
        Lang::En => format!(
            "{by} asks to extend {} \"{}\" from {due} to {to}{}. Reason: {reason}\nAnswer with \"approve extension {}\" or \"deny extension {} REASON\".",
            task.id,
            task.title.trim(),
            if late {
                " (asked after the deadline)"
            } else {
                ""
            },
            task.id,
            task.id
        ),
    }
}

/// To the owners: their extension request was granted or denied.
pub fn extension_answered(
    lang: Lang,
    task: &Task,
    by: &str,
    to: NaiveDate,
    denied: Option<&str>,
) -> String {
    match (lang, denied) {
        (Lang::Zh, None) => format!(
            "{by} 已同意【{}】{} 延期，整改时限改为 {to}。",
            task.id,
            task.title.trim()
        ),
        (Lang::Zh, Some(reason)) => format!(
            "{by} 驳回了【{}】{} 延至 {to} 的申请，仍按原时限整改。原因：{reason}",
            task.id,
            task.title.trim()
        ),
        (Lang::En, None) => format!(
            "{by} granted the extension of {} \"{}\": the deadline is now {to}.",
            task.id,
            task.title.trim()
        ),
        (Lang::En, Some(reason)) => format!(
            "{by} denied extending {} \"{}\" to {to}; the deadline stays. Reason: {reason}",
            task.id,
            task.title.trim()
        ),
    }
}

/// Why a leave could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwayProblem<'a> {
    /// The days could not be read (`FROM..TO`, `FROM 至 TO`).
    Days(&'a str),
    /// The leave is over before today.
    Over,
    /// The deputy (or the person) named is nobody the people list knows.
    UnknownPerson(&'a str),
    /// `back` for someone not on leave.
    NotAway(&'a str),
    /// Someone not an admin records leave for another person.
    NotYours,
}

pub fn away_problem(lang: Lang, p: AwayProblem<'_>) -> String {
    match (lang, p) {
        (Lang::Zh, AwayProblem::Days(t)) => format!(
            "无法识别请假日期「{t}」。\n用法：{}",
            usage(lang, Verb::Away)
        ),
        (Lang::Zh, AwayProblem::Over) => "请假日期已过，无需登记。".to_string(),
        (Lang::Zh, AwayProblem::UnknownPerson(d)) => format!("人员名单中没有「{d}」。"),
        (Lang::Zh, AwayProblem::NotAway(who)) => format!("{who} 目前未在请假中，无需销假。"),
        (Lang::Zh, AwayProblem::NotYours) => "只有管理员可以为他人登记请假或销假。".to_string(),
        (Lang::En, AwayProblem::Days(t)) => format!(
            "Cannot read \"{t}\" as days of leave.\nUsage: {}",
            usage(lang, Verb::Away)
        ),
        (Lang::En, AwayProblem::Over) => "Those days are over; nothing to record.".to_string(),
        (Lang::En, AwayProblem::UnknownPerson(d)) => {
            format!("\"{d}\" is not in the people list.")
        }
        (Lang::En, AwayProblem::NotAway(who)) => format!("{who} is not away; nothing to end."),
        (Lang::En, AwayProblem::NotYours) => {
            "Only admins record leave, or its end, for someone else.".to_string()
        }
    }
}

/// The answer to a leave recorded (`None`: back).
pub fn away_recorded(
    lang: Lang,
    who: &str,
    leave: Option<(NaiveDate, NaiveDate, Option<&str>)>,
) -> String {
    match (lang, leave) {
        (Lang::Zh, Some((from, to, deputy))) => format!(
            "已登记 {who} 请假：{from} 至 {to}。期间提醒和预警改发{}，{who} 不再收到提醒。",
            deputy.map_or_else(|| "各事项的包保领导".to_string(), |d| format!("代理人 {d}"))
        ),
        (Lang::Zh, None) => format!("已为 {who} 销假，提醒照常发送本人。"),
        (Lang::En, Some((from, to, deputy))) => format!(
            "Recorded: {who} is away {from} to {to}. Their reminders and warnings go to {} meanwhile; {who} is not reminded.",
            deputy.map_or_else(
                || "each task's leader".to_string(),
                |d| format!("the deputy, {d}")
            )
        ),
        (Lang::En, None) => format!("{who} is back: reminders go to them again."),
    }
}

pub fn report_refusal(lang: Lang, unit: &str, members: &[&str]) -> String {
    match (lang, members.is_empty()) {
        (Lang::Zh, true) => {
            format!("抱歉，您无权代{unit}报送周报。可以报送的是该单位人员和管理员。")
        }
        (Lang::Zh, false) => format!(
            "抱歉，您无权代{unit}报送周报。可以报送的是该单位人员（{}）和管理员。",
            members.join("、")
        ),
        (Lang::En, true) => {
            format!("Sorry, you may not report for {unit}. Its members and admins can.")
        }
        (Lang::En, false) => format!(
            "Sorry, you may not report for {unit}. Its members ({}) and admins can.",
            members.join(", ")
        ),
    }
}

/// The first line of an answer to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    Done,
    AlreadyDone,
    AlreadyDoneNoted,
    Progress,
    /// Progress reached 100% but the status is not done: say how to close it.
    ProgressComplete,
    SameProgress,
    Blocked,
    Reopened,
    AlreadyInProgress,
    AlreadyInProgressNoted,
    Noted,
    /// An owner's `done` where the list asks for sign-off: the task now awaits it.
    SubmittedForReview,
    AlreadyInReview,
    Approved,
    Rejected,
    ExtensionAsked,
    /// Asked after the deadline had passed.
    ExtensionAskedLate,
    ExtensionGranted,
    ExtensionDenied,
}

pub fn headline(lang: Lang, h: Headline, task_id: &str) -> String {
    match lang {
        Lang::Zh => match h {
            Headline::Done => "已标记完成。".to_string(),
            Headline::AlreadyDone => "该事项已是“已完成”状态，未作改动。".to_string(),
            Headline::AlreadyDoneNoted => "该事项已是“已完成”状态；备注已记录。".to_string(),
            Headline::Progress => "进展已更新。".to_string(),
            Headline::ProgressComplete => {
                format!("进展已更新。如已整改完成，请发送「完成 {task_id}」。")
            }
            Headline::SameProgress => "进展与已有记录相同，未作改动。".to_string(),
            Headline::Blocked => "已标记受阻，原因已记入备注。".to_string(),
            Headline::Reopened => "已重新打开，状态改为整改中。".to_string(),
            Headline::AlreadyInProgress => "该事项正在整改中，无需重开，未作改动。".to_string(),
            Headline::AlreadyInProgressNoted => "该事项正在整改中；备注已记录。".to_string(),
            Headline::Noted => "备注已记录。".to_string(),
            Headline::SubmittedForReview => {
                "已报完成，待审核销号；审核人已收到通知。".to_string()
            }
            Headline::AlreadyInReview => "该事项已在待审核，未作改动。".to_string(),
            Headline::Approved => "已审核销号。".to_string(),
            Headline::Rejected => "已退回，状态改为整改中，原因已记入备注。".to_string(),
            Headline::ExtensionAsked => "延期申请已提交，待包保领导答复。".to_string(),
            Headline::ExtensionAskedLate => {
                "延期申请已提交（已过原整改时限，记为逾期后申请），待包保领导答复。".to_string()
            }
            Headline::ExtensionGranted => "已同意延期，整改时限已更新。".to_string(),
            Headline::ExtensionDenied => "已驳回延期申请，仍按原时限整改。".to_string(),
        },
        Lang::En => match h {
            Headline::Done => "Marked done.".to_string(),
            Headline::AlreadyDone => "Already done; nothing changed.".to_string(),
            Headline::AlreadyDoneNoted => "Already done; note added.".to_string(),
            Headline::Progress => "Progress updated.".to_string(),
            Headline::ProgressComplete => {
                format!("Progress updated. If the work is finished, send \"done {task_id}\".")
            }
            Headline::SameProgress => "Progress unchanged; nothing changed.".to_string(),
            Headline::Blocked => "Marked blocked; the reason is in the notes.".to_string(),
            Headline::Reopened => "Reopened: back to in progress.".to_string(),
            Headline::AlreadyInProgress => "Already in progress; nothing changed.".to_string(),
            Headline::AlreadyInProgressNoted => "Already in progress; note added.".to_string(),
            Headline::Noted => "Note added.".to_string(),
            Headline::SubmittedForReview => {
                "Reported done; awaiting sign-off, and the reviewers have been told.".to_string()
            }
            Headline::AlreadyInReview => "Already awaiting sign-off; nothing changed.".to_string(),
            Headline::Approved => "Signed off: closed.".to_string(),
            Headline::Rejected => {
                "Returned: back to in progress, the reason is in the notes.".to_string()
            }
            Headline::ExtensionAsked => {
                "Extension requested; waiting for the leader's answer.".to_string()
            }
            Headline::ExtensionAskedLate => {
                "Extension requested after the deadline had passed (marked late); waiting for the leader's answer.".to_string()
            }
            Headline::ExtensionGranted => "Extension granted: the deadline has moved.".to_string(),
            Headline::ExtensionDenied => {
                "Extension denied: the deadline stays as it was.".to_string()
            }
        },
    }
}

pub fn status_word(lang: Lang, s: Status) -> &'static str {
    status_label(lang.into(), s)
}

/// A date as the templates write it: the year only when it is not this year's.
pub fn date(lang: Lang, d: NaiveDate, today: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let same_year = d.year() == today.year();
    match lang {
        Lang::Zh if same_year => format!("{}月{}日", d.month(), d.day()),
        Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => {
            let m = MONTHS.get(d.month0() as usize).copied().unwrap_or("");
            if same_year {
                format!("{m} {}", d.day())
            } else {
                format!("{m} {}, {}", d.day(), d.year())
            }
        }
    }
}

/// The configured display name when the sheet's name resolved to a person, else the sheet's.
pub fn display_name<'a>(a: &'a Assignee, people: Option<&'a Directory>) -> &'a str {
    a.person
        .as_deref()
        .and_then(|id| people?.get(id))
        .map_or(a.name.as_str(), |p| p.name.as_str())
}

fn names(lang: Lang, list: &[Assignee], people: Option<&Directory>) -> String {
    let sep = match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    };
    list.iter()
        .map(|a| display_name(a, people))
        .collect::<Vec<_>>()
        .join(sep)
}

fn due_phrase(lang: Lang, task: &Task, today: NaiveDate) -> String {
    let Some(due) = task.due else {
        return match lang {
            Lang::Zh => "长期".to_string(),
            Lang::En => "no deadline".to_string(),
        };
    };
    let d = date(lang, due, today);
    let late = task.days_overdue(today);
    match lang {
        Lang::Zh if late > 0 => format!("{d}（已逾期 {late} 天）"),
        Lang::Zh => d,
        Lang::En if late == 1 => format!("{d} (1 day overdue)"),
        Lang::En if late > 0 => format!("{d} ({late} days overdue)"),
        Lang::En => d,
    }
}

fn title_line(lang: Lang, task: &Task) -> String {
    let unit = task.unit.trim();
    match (lang, unit.is_empty()) {
        (Lang::Zh, true) => format!("【{}】{}", task.id, task.title),
        (Lang::Zh, false) => format!("【{}】{}（{unit}）", task.id, task.title),
        (Lang::En, true) => format!("{} {}", task.id, task.title),
        (Lang::En, false) => format!("{} {} ({unit})", task.id, task.title),
    }
}

/// The task as it stands after a change: id, title, status, progress, due date and owners.
pub fn task_state(lang: Lang, task: &Task, today: NaiveDate, people: Option<&Directory>) -> String {
    let status = status_word(lang, task.status);
    let due = due_phrase(lang, task, today);
    let owners = names(lang, &task.owners, people);
    match lang {
        Lang::Zh => {
            let progress = task
                .progress
                .map_or("未填报".to_string(), |p| format!("{p}%"));
            let owners = if owners.is_empty() {
                "未指定".to_string()
            } else {
                owners
            };
            format!(
                "{}\n状态：{status}；进度：{progress}；时限：{due}；责任人：{owners}",
                title_line(lang, task)
            )
        }
        Lang::En => {
            let progress = task
                .progress
                .map_or("not reported".to_string(), |p| format!("{p}%"));
            let owners = if owners.is_empty() {
                "none".to_string()
            } else {
                owners
            };
            format!(
                "{}\nStatus: {status}; progress: {progress}; due: {due}; owners: {owners}",
                title_line(lang, task)
            )
        }
    }
}

/// One task in a `list` answer.
pub fn task_line(lang: Lang, task: &Task, today: NaiveDate, people: Option<&Directory>) -> String {
    let mut parts = vec![status_word(lang, task.status).to_string()];
    if let Some(p) = task.progress {
        parts.push(format!("{p}%"));
    }
    let late = task.days_overdue(today);
    parts.push(match (lang, task.due) {
        (Lang::Zh, None) => "长期".to_string(),
        (Lang::En, None) => "no deadline".to_string(),
        (Lang::Zh, Some(_)) if late > 0 => format!("已逾期 {late} 天"),
        (Lang::En, Some(_)) if late == 1 => "1 day overdue".to_string(),
        (Lang::En, Some(_)) if late > 0 => format!("{late} days overdue"),
        (Lang::Zh, Some(d)) => format!("{}到期", date(lang, d, today)),
        (Lang::En, Some(d)) => format!("due {}", date(lang, d, today)),
    });
    if !task.owners.is_empty() {
        parts.push(names(lang, &task.owners, people));
    }
    match lang {
        Lang::Zh => format!("{}：{}", title_line(lang, task), parts.join("，")),
        Lang::En => format!("• {} — {}", title_line(lang, task), parts.join(", ")),
    }
}

/// What a `list` answer is about, for its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListTitle<'a> {
    Open,
    Mine,
    Overdue,
    DueSoon,
    Blocked,
    Unit(&'a str),
}

pub fn list_heading(lang: Lang, title: ListTitle<'_>, n: usize) -> String {
    match lang {
        Lang::Zh => match title {
            ListTitle::Open => format!("未办结事项（{n} 项）："),
            ListTitle::Mine => format!("我负责的未办结事项（{n} 项）："),
            ListTitle::Overdue => format!("逾期事项（{n} 项）："),
            ListTitle::DueSoon => format!("7日内到期（{n} 项）："),
            ListTitle::Blocked => format!("受阻事项（{n} 项）："),
            ListTitle::Unit(u) => format!("{u}的事项（{n} 项）："),
        },
        Lang::En => {
            let tasks = if n == 1 { "task" } else { "tasks" };
            match title {
                ListTitle::Open => format!("Open tasks ({n}):"),
                ListTitle::Mine => format!("Your open tasks ({n}):"),
                ListTitle::Overdue => format!("Overdue ({n}):"),
                ListTitle::DueSoon => format!("Due in the next 7 days ({n}):"),
                ListTitle::Blocked => format!("Blocked ({n}):"),
                ListTitle::Unit(u) => format!("{u}: {n} {tasks}"),
            }
        }
    }
}

pub fn list_empty(lang: Lang, title: ListTitle<'_>) -> String {
    match lang {
        Lang::Zh => match title {
            ListTitle::Open => "没有未办结的事项。".to_string(),
            ListTitle::Mine => "您没有负责的未办结事项。".to_string(),
            ListTitle::Overdue => "没有逾期事项。".to_string(),
            ListTitle::DueSoon => "7日内没有到期的事项。".to_string(),
            ListTitle::Blocked => "没有受阻事项。".to_string(),
            ListTitle::Unit(u) => format!("{u}没有事项。"),
        },
        Lang::En => match title {
            ListTitle::Open => "No open tasks.".to_string(),
            ListTitle::Mine => "You have no open tasks.".to_string(),
            ListTitle::Overdue => "Nothing is overdue.".to_string(),
            ListTitle::DueSoon => "Nothing is due in the next 7 days.".to_string(),
            ListTitle::Blocked => "Nothing is blocked.".to_string(),
            ListTitle::Unit(u) => format!("{u} has no tasks."),
        },
    }
}

pub fn list_more(lang: Lang, more: usize) -> String {
    match lang {
        Lang::Zh => format!("……另有 {more} 项未列出"),
        Lang::En => format!("…and {more} more"),
    }
}

/// `known` is a sample of the units there are, so a typo can be fixed from the answer.
pub fn no_such_unit(lang: Lang, unit: &str, known: &[&str]) -> String {
    match (lang, known.is_empty()) {
        (Lang::Zh, true) => format!("没有找到单位「{unit}」。"),
        (Lang::Zh, false) => format!("没有找到单位「{unit}」。现有单位：{}", known.join("、")),
        (Lang::En, true) => format!("There is no unit \"{unit}\"."),
        (Lang::En, false) => format!("There is no unit \"{unit}\". Units: {}", known.join(", ")),
    }
}

/// A report for a unit the channel it came through does not cover.
pub fn unit_outside_channel(lang: Lang, unit: &str) -> String {
    match lang {
        Lang::Zh => format!("本群不负责「{unit}」的事项，请在该单位所在的群里报送周报。"),
        Lang::En => format!(
            "This channel does not cover \"{unit}\"; please send its report in the channel that does."
        ),
    }
}

/// The answer to a weekly report: the unit's standing, as the answer to a task change gives
/// the task's.
pub fn report_received(
    lang: Lang,
    unit: &str,
    total: usize,
    done: usize,
    overdue: usize,
) -> String {
    match lang {
        Lang::Zh => format!(
            "已收到{unit}本周报送。\n{unit}：共 {total} 项，已完成 {done} 项，逾期 {overdue} 项"
        ),
        Lang::En => format!(
            "Weekly update from {unit} received.\n{unit}: {total} task{}, {done} done, {overdue} overdue",
            if total == 1 { "" } else { "s" }
        ),
    }
}

//! The office's own way of working, against the real binary: sign-off before close (审核销号).

mod support;

use std::path::{Path, PathBuf};
use support::daemon::{weekbell, weekbell_ok};

const LIST: &str = "序号,问题类别,问题描述,责任单位,包保领导,责任人,整改时限,整改进展\n\
                    1,长期整改,油烟净化设施未全覆盖,县城管局,张明远,孙强,2026-12-31,整改中\n\
                    2,立行立改,背街小巷路面破损,县住建局,张明远,李娜,2026-12-20,整改中\n\
                    3,长期整改,散煤燃烧治理,县生态环境局,张明远,李娜,2026-12-31,整改中\n";

/// A county list whose tasks the leader signs off, except 立行立改 ones, which close at once.
fn office() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("list.csv"), LIST).unwrap_or_else(|e| panic!("{e}"));
    let config = r#"timezone = "Asia/Shanghai"
locale = "zh-CN"
[tasks]
source = "list.csv"
review = "leader"
review_categories = { "立行立改" = "none" }
[channels.county]
platform = "console"
[[schedules]]
name = "friday-digest"
cron = "0 17 * * FRI"
kind = "digest"
channels = ["county"]
[[people]]
id = "zhang"
name = "张明远"
[[people]]
id = "sun"
name = "孙强"
unit = "县城管局"
[[people]]
id = "li"
name = "李娜"
[[people]]
id = "admin"
name = "督查室"
admin = true
"#;
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

fn cmd(dir: &Path, config: &Path, person: &str, at: &str, text: &str) -> String {
    weekbell_ok(dir, config, &["cmd", "--as", person, "--at", at, text], &[])
}

fn task<'a>(tasks: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    tasks
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("no task {id} in {tasks}"))
}

fn tasks_json(dir: &Path, config: &Path) -> serde_json::Value {
    let out = weekbell_ok(dir, config, &["tasks", "--json"], &[]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The texts of the messages waiting in the outbox, oldest first.
fn outbox_texts(dir: &Path, config: &Path) -> Vec<String> {
    let out = weekbell_ok(dir, config, &["outbox", "--json"], &[]);
    let messages: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut texts: Vec<String> = messages
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {out}"))
        .iter()
        .filter_map(|m| m["payload"].as_str())
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect();
    texts.reverse();
    texts
}

#[test]
fn an_owners_done_waits_for_the_leaders_sign_off_and_a_return_sends_it_back_with_the_reason() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());

    // The owner reports done: the task awaits sign-off, and the leader is told how to act.
    let answer = cmd(
        d,
        c,
        "sun",
        "2026-12-10T10:00:00+08:00",
        "完成 1 已全部安装",
    );
    assert!(answer.contains("待审核销号"), "{answer}");
    assert_eq!(task(&tasks_json(d, c), "1")["status"], "review");
    let notices = outbox_texts(d, c);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("@张明远 ") && notices[0].contains("销号 1"),
        "{notices:?}"
    );

    // A 立行立改 task needs no sign-off: done closes it.
    let answer = cmd(d, c, "li", "2026-12-10T11:00:00+08:00", "完成 2");
    assert!(answer.contains("已标记完成"), "{answer}");
    assert_eq!(task(&tasks_json(d, c), "2")["status"], "done");

    // Only the leader (or an admin) signs off; the owner cannot close it himself.
    let refused = cmd(d, c, "sun", "2026-12-10T12:00:00+08:00", "销号 1");
    assert!(refused.contains("须由张明远审核销号"), "{refused}");
    assert_eq!(task(&tasks_json(d, c), "1")["status"], "review");

    // The digest lists it as awaiting sign-off, with the days it has waited.
    let digest = weekbell_ok(
        d,
        c,
        &[
            "preview",
            "friday-digest",
            "--at",
            "2026-12-11T17:00:00+08:00",
        ],
        &[],
    );
    assert!(
        digest.contains("待审核销号（1 项）")
            && digest.contains("【1】油烟净化设施未全覆盖（县城管局）：已报完成 1 天"),
        "{digest}"
    );
    assert!(digest.contains("待审核 1 项"), "{digest}");

    // The leader returns it: back in progress, the reason noted and told to the owner.
    let answer = cmd(
        d,
        c,
        "zhang",
        "2026-12-11T09:00:00+08:00",
        "退回 1 还有两家未安装",
    );
    assert!(answer.contains("已退回"), "{answer}");
    let t1 = task(&tasks_json(d, c), "1").clone();
    assert_eq!(t1["status"], "in_progress");
    assert!(
        t1["notes"]
            .as_str()
            .unwrap_or_default()
            .contains("还有两家未安装"),
        "{t1}"
    );
    let notices = outbox_texts(d, c);
    assert!(
        notices
            .last()
            .is_some_and(|n| n.starts_with("@孙强 ") && n.contains("还有两家未安装")),
        "{notices:?}"
    );
    // Nothing to return twice.
    let again = cmd(d, c, "zhang", "2026-12-11T09:05:00+08:00", "退回 1 再看看");
    assert!(again.contains("不在待审核状态"), "{again}");

    // Done again, then signed off: closed, and the owner hears it.
    cmd(d, c, "sun", "2026-12-14T10:00:00+08:00", "完成 1");
    let answer = cmd(d, c, "zhang", "2026-12-15T09:00:00+08:00", "销号 1");
    assert!(answer.contains("已审核销号"), "{answer}");
    assert_eq!(task(&tasks_json(d, c), "1")["status"], "done");

    // The history tells the whole story, each step by whom.
    let history = weekbell_ok(d, c, &["history", "1", "--json"], &[]);
    let events: serde_json::Value =
        serde_json::from_str(&history).unwrap_or_else(|e| panic!("{e}: {history}"));
    let mut statuses: Vec<(String, String)> = events
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .filter(|e| e["field"] == "status")
        .map(|e| {
            (
                e["at"].as_str().unwrap_or_default().to_string(),
                format!(
                    "{}:{}",
                    e["actor"].as_str().unwrap_or_default(),
                    e["new"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect();
    statuses.sort();
    let steps: Vec<&str> = statuses.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        steps,
        [
            "sun:review",
            "zhang:in_progress",
            "sun:review",
            "zhang:done"
        ],
        "{history}"
    );
}

#[test]
fn check_names_the_sign_off_rule_and_refuses_an_unknown_one() {
    let (dir, config) = office();
    let out = weekbell_ok(dir.path(), &config, &["check"], &[]);
    assert!(
        out.contains("sign-off before close: leader (立行立改: none)"),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &config,
        text.replace("review = \"leader\"", "review = \"boss\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(dir.path(), &config, &["check"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`boss` 不是有效的审核设置") && err.contains("weekbell.toml"),
        "{err}"
    );
}

#[test]
fn an_extension_asked_and_granted_moves_the_deadline_and_keeps_the_first_one() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());

    let answer = cmd(
        d,
        c,
        "li",
        "2026-12-10T10:00:00+08:00",
        "申请延期 3 2027-01-31 资金未到位",
    );
    assert!(answer.contains("延期申请已提交"), "{answer}");
    let t3 = task(&tasks_json(d, c), "3").clone();
    assert_eq!(t3["due"], "2026-12-31");
    assert_eq!(t3["due_original"], "2026-12-31");
    assert_eq!(t3["extension"]["to"], "2027-01-31");
    assert_eq!(t3["extension"]["reason"], "资金未到位");
    assert_eq!(t3["extension"]["by"], "li");
    assert_eq!(t3["extension"]["late"], false);
    assert!(
        outbox_texts(d, c)
            .last()
            .is_some_and(|n| n.starts_with("@张明远 ") && n.contains("同意延期 3")),
        "the leader is asked"
    );
    let digest = weekbell_ok(
        d,
        c,
        &[
            "preview",
            "friday-digest",
            "--at",
            "2026-12-11T17:00:00+08:00",
        ],
        &[],
    );
    assert!(
        digest.contains("延期申请待答复（1 项）")
            && digest
                .contains("申请由 12月31日 延至 2027年1月31日，原因：资金未到位，待 张明远 答复"),
        "{digest}"
    );

    // Only the leader (or an admin) answers.
    let refused = cmd(d, c, "li", "2026-12-11T09:00:00+08:00", "同意延期 3");
    assert!(refused.contains("须由张明远"), "{refused}");
    let answer = cmd(d, c, "zhang", "2026-12-11T09:30:00+08:00", "同意延期 3");
    assert!(answer.contains("已同意延期"), "{answer}");
    let t3 = task(&tasks_json(d, c), "3").clone();
    assert_eq!(t3["due"], "2027-01-31");
    assert_eq!(t3["due_original"], "2026-12-31");
    assert_eq!(t3["extension"], serde_json::Value::Null);
    assert!(
        outbox_texts(d, c)
            .last()
            .is_some_and(|n| n.starts_with("@李娜 ") && n.contains("2027-01-31")),
        "the owner hears it"
    );
    let history = weekbell_ok(d, c, &["history", "3", "--json"], &[]);
    assert!(
        history.contains("\"field\": \"due\"")
            && history.contains("\"old\": \"2026-12-31\"")
            && history.contains("\"new\": \"2027-01-31\""),
        "{history}"
    );
}

#[test]
fn a_task_has_its_area_leader_and_line_leader_and_either_may_act_on_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = "序号,问题描述,责任单位,包保领导,责任人,整改时限\n\
                1,油烟净化设施未全覆盖,县城管局,张明远、陈建国,孙强,2026-12-31\n\
                2,农村道路破损,首山镇,,李娜,2026-12-31\n";
    std::fs::write(dir.path().join("list.csv"), list).unwrap_or_else(|e| panic!("{e}"));
    let config = r#"timezone = "Asia/Shanghai"
locale = "zh-CN"
[tasks]
source = "list.csv"
review = "leader"
[areas]
"首山镇" = "wang"
[channels.county]
platform = "console"
[[people]]
id = "zhang"
name = "张明远"
[[people]]
id = "chen"
name = "陈建国"
[[people]]
id = "wang"
name = "王丽华"
[[people]]
id = "sun"
name = "孙强"
[[people]]
id = "li"
name = "李娜"
"#;
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    let (d, c) = (dir.path(), path.as_path());

    let tasks = tasks_json(d, c);
    assert_eq!(
        task(&tasks, "1")["leaders"],
        serde_json::json!(["张明远", "陈建国"])
    );
    // The list names no leader for the township's task: [areas] gives it one.
    assert_eq!(task(&tasks, "2")["leader"], "王丽华");

    // The line leader signs off as the area leader would; the owner's done told both.
    cmd(d, c, "sun", "2026-12-10T10:00:00+08:00", "完成 1");
    let notice = outbox_texts(d, c).pop().unwrap_or_default();
    assert!(
        notice.starts_with("@张明远 @陈建国 "),
        "both leaders are asked: {notice}"
    );
    let answer = cmd(d, c, "chen", "2026-12-10T11:00:00+08:00", "销号 1");
    assert!(answer.contains("已审核销号"), "{answer}");
    // The area leader may act on the township's task.
    let answer = cmd(d, c, "wang", "2026-12-10T12:00:00+08:00", "备注 2 已督促");
    assert!(answer.contains("备注已记录"), "{answer}");
}

#[test]
fn while_an_owner_is_away_the_deputy_is_reminded_and_may_act_and_the_digest_says_who_is_away() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());
    let text = std::fs::read_to_string(c).unwrap_or_else(|e| panic!("{e}"));
    // A morning reminder, and 王强 as someone who can stand in.
    let text = text.replace(
        "[[people]]\nid = \"admin\"",
        "[[schedules]]\nname = \"morning\"\ncron = \"0 9 * * MON-FRI\"\nkind = \"reminders\"\n\
         channels = [\"county\"]\n[[people]]\nid = \"wang\"\nname = \"王强\"\n[[people]]\nid = \"admin\"",
    );
    std::fs::write(c, text).unwrap_or_else(|e| panic!("{e}"));

    let answer = cmd(
        d,
        c,
        "li",
        "2026-12-09T18:00:00+08:00",
        "请假 2026-12-10 至 2026-12-18 代理 王强",
    );
    assert!(answer.contains("已登记 李娜 请假"), "{answer}");
    let reminders = weekbell_ok(
        d,
        c,
        &["preview", "morning", "--at", "2026-12-14T09:00:00+08:00"],
        &[],
    );
    // 李娜's two tasks go to 王强; 李娜 herself is not reminded.
    assert!(
        reminders.contains("@王强 您好！您负责的 2 项整改事项")
            && reminders.contains("（李娜 请假期间，其事项由您代为跟进）"),
        "{reminders}"
    );
    assert!(!reminders.contains("@李娜"), "{reminders}");
    // The deputy may act on her tasks while she is away.
    let answer = cmd(
        d,
        c,
        "wang",
        "2026-12-14T10:00:00+08:00",
        "进展 3 50% 已完成一半",
    );
    assert!(answer.contains("进展已更新"), "{answer}");
    let digest = weekbell_ok(
        d,
        c,
        &[
            "preview",
            "friday-digest",
            "--at",
            "2026-12-18T17:00:00+08:00",
        ],
        &[],
    );
    assert!(
        digest.contains("请假：李娜（至12月18日，代理：王强）"),
        "{digest}"
    );

    // Back early: reminders are hers again, and the deputy's part ends.
    cmd(d, c, "li", "2026-12-15T08:00:00+08:00", "销假");
    let reminders = weekbell_ok(
        d,
        c,
        &["preview", "morning", "--at", "2026-12-15T09:00:00+08:00"],
        &[],
    );
    assert!(reminders.contains("@李娜 您好！"), "{reminders}");
    let refused = cmd(d, c, "wang", "2026-12-15T10:00:00+08:00", "进展 3 60%");
    assert!(refused.contains("无权修改"), "{refused}");
    // Only an admin records leave for someone else.
    let refused = cmd(
        d,
        c,
        "sun",
        "2026-12-15T10:00:00+08:00",
        "请假 李娜 2026-12-20 至 2026-12-22",
    );
    assert!(refused.contains("只有管理员"), "{refused}");
    let answer = cmd(
        d,
        c,
        "admin",
        "2026-12-15T10:00:00+08:00",
        "请假 李娜 2026-12-20 至 2026-12-22",
    );
    assert!(answer.contains("已登记 李娜 请假"), "{answer}");
}

#[test]
fn a_red_warning_reaches_the_supervision_channel_once_a_day_and_the_leader_once_at_the_level() {
    let (dir, config) = office();
    let (d, c) = (dir.path(), config.as_path());
    let text = std::fs::read_to_string(c).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replace(
        "[[people]]\nid = \"zhang\"",
        r#"[channels.supervision]
platform = "console"
[[schedules]]
name = "reminders"
cron = "0 9,15 * * *"
kind = "reminders"
channels = ["county"]
[[warnings]]
name = "red"
label = "红色预警"
rule = "overdue"
notify = ["owners", "channel:supervision"]
repeat = "daily"
[[warnings]]
name = "red"
rule = "overdue_by 3d"
notify = ["owners", "leader"]
repeat = "once"
[[people]]
id = "zhang""#,
    );
    std::fs::write(c, text).unwrap_or_else(|e| panic!("{e}"));
    let slot = |at: &str| weekbell_ok(d, c, &["preview", "reminders", "--at", at], &[]);

    // 1 January: tasks 1 and 3 are a day overdue (red, which the channel hears of); task 2,
    // 12 days overdue, is at the top red, which told the leader once already on 31 December.
    let first = slot("2027-01-01T09:00:00+08:00");
    assert!(
        first.contains("〔红色预警〕以下 2 项事项请督促落实")
            && first.contains(
                "【1】油烟净化设施未全覆盖（县城管局）：已逾期 1 天，责任人：孙强，包保领导：张明远"
            )
            && !first.contains("• 【2】背街小巷"),
        "{first}"
    );
    assert!(!first.contains("请包保领导"), "{first}");
    // The afternoon slot of the same day: the channel heard of them this morning.
    let afternoon = slot("2027-01-01T15:00:00+08:00");
    assert!(!afternoon.contains("〔红色预警〕以下"), "{afternoon}");
    assert!(
        afternoon.contains("@孙强"),
        "owners are still reminded: {afternoon}"
    );
    // The next morning, again.
    assert!(slot("2027-01-02T09:00:00+08:00").contains("〔红色预警〕以下 2 项"));

    // Overdue by more than 3 days on the 4th: the leader is told of 1 and 3 once, at the
    // first slot there.
    let at_top = slot("2027-01-04T09:00:00+08:00");
    assert!(
        at_top.contains("【1】") && at_top.contains("请包保领导 @张明远 督促落实"),
        "{at_top}"
    );
    let later = slot("2027-01-04T15:00:00+08:00");
    assert!(!later.contains("请包保领导"), "{later}");
}

/// Two months of an office's list with the built-in warning levels, sign-off and an extension,
/// replayed with `--at` (the manual clock) and read back slot by slot.
#[test]
fn two_months_of_weekly_dispatch_warn_sign_off_and_extend_as_the_office_works() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = "某县问题整改清单,,,,,,,\n更新日期：2026年12月1日,,,,,,,\n\
                序号,问题描述,责任单位,包保领导,责任人,整改时限,进度,整改进展\n\
                1,油烟净化设施未全覆盖,县城管局,张明远,孙强,2026-12-15,60%,整改中\n\
                2,农村道路破损,首山镇,陈建国,李娜,2026-12-20,50%,整改中\n\
                3,老旧小区加装电梯,县住建局,张明远,王伟,2027-01-31,10%,整改中\n";
    std::fs::write(dir.path().join("list.csv"), list).unwrap_or_else(|e| panic!("{e}"));
    let config = r#"timezone = "Asia/Shanghai"
locale = "zh-CN"
[tasks]
source = "list.csv"
review = "leader"
[channels.county]
platform = "console"
[[schedules]]
name = "monday"
cron = "0 9 * * MON"
kind = "reminders"
channels = ["county"]
[[schedules]]
name = "friday"
cron = "0 17 * * FRI"
kind = "digest"
channels = ["county"]
[[schedules]]
name = "monthly"
cron = "0 9 1 * *"
kind = "assessment"
channels = ["county"]
[[people]]
id = "zhang"
name = "张明远"
[[people]]
id = "chen"
name = "陈建国"
[[people]]
id = "sun"
name = "孙强"
[[people]]
id = "li"
name = "李娜"
[[people]]
id = "wang"
name = "王伟"
[[people]]
id = "admin"
name = "督查室"
admin = true
"#;
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    let (d, c) = (dir.path(), path.as_path());
    let monday = |day: &str| {
        weekbell_ok(
            d,
            c,
            &[
                "preview",
                "monday",
                "--at",
                &format!("{day}T09:00:00+08:00"),
            ],
            &[],
        )
    };
    // The reminder to one person, from their @mention up to the next one.
    let reminder_of = |all: &str, name: &str| -> String {
        all.split("【整改事项提醒】")
            .find(|r| r.contains(&format!("@{name} 您好")))
            .unwrap_or_default()
            .to_string()
    };

    // Week 1: nothing to warn about yet.
    let w1 = monday("2026-12-07");
    assert!(!w1.contains("预警"), "{w1}");

    // Week 2: task 1 is due tomorrow (blue); task 3 has had no update for 13 days (yellow);
    // tasks 1 and 2 would be silent for a week and behind schedule, but their owners reported
    // progress on the 10th.
    cmd(
        d,
        c,
        "sun",
        "2026-12-10T09:00:00+08:00",
        "进展 1 90% 已安装九成",
    );
    cmd(
        d,
        c,
        "li",
        "2026-12-10T10:00:00+08:00",
        "进展 2 70% 已修复一半",
    );
    let w2 = monday("2026-12-14");
    assert!(
        reminder_of(&w2, "孙强").contains("〔蓝色预警〕【1】"),
        "{w2}"
    );
    assert!(
        reminder_of(&w2, "王伟").contains("〔黄色预警〕【3】"),
        "{w2}"
    );
    assert!(!reminder_of(&w2, "李娜").contains("预警"), "{w2}");

    // An extension for task 2, asked before its deadline and granted.
    cmd(
        d,
        c,
        "li",
        "2026-12-16T10:00:00+08:00",
        "申请延期 2 2027-01-15 材料未到",
    );
    cmd(d, c, "chen", "2026-12-17T10:00:00+08:00", "同意延期 2");
    let t2 = task(&tasks_json(d, c), "2").clone();
    assert_eq!(
        (t2["due"].as_str(), t2["due_original"].as_str()),
        (Some("2027-01-15"), Some("2026-12-20"))
    );

    // Week 4: task 1 is six days overdue: red, and its leader is told (overdue by more than
    // escalate_after, 3 days); task 2, extended, is not red.
    let w4 = monday("2026-12-21");
    let sun = reminder_of(&w4, "孙强");
    assert!(
        sun.contains("〔红色预警〕【1】") && sun.contains("请包保领导 @张明远"),
        "{w4}"
    );
    assert!(!sun.contains("请管理员"), "{w4}");
    assert!(!reminder_of(&w4, "李娜").contains("红色预警"), "{w4}");

    // The owner's done waits for the leader, who returns it.
    cmd(
        d,
        c,
        "sun",
        "2026-12-22T10:00:00+08:00",
        "完成 1 已全部安装",
    );
    assert_eq!(task(&tasks_json(d, c), "1")["status"], "review");
    cmd(
        d,
        c,
        "zhang",
        "2026-12-23T10:00:00+08:00",
        "退回 1 还有两家未安装",
    );

    // Week 5: 13 days overdue, past the top red: the leader and the admins are told.
    let w5 = monday("2026-12-28");
    let sun = reminder_of(&w5, "孙强");
    assert!(
        sun.contains("〔红色预警〕【1】")
            && sun.contains("请包保领导 @张明远")
            && sun.contains("请管理员 @督查室"),
        "{w5}"
    );

    // Done again, signed off: closed, and off the reminders.
    cmd(d, c, "sun", "2026-12-29T10:00:00+08:00", "完成 1");
    cmd(d, c, "zhang", "2026-12-30T10:00:00+08:00", "销号 1");
    assert_eq!(task(&tasks_json(d, c), "1")["status"], "done");
    let w6 = monday("2027-01-04");
    assert!(reminder_of(&w6, "孙强").is_empty(), "{w6}");
    let digest = weekbell_ok(
        d,
        c,
        &["preview", "friday", "--at", "2027-01-08T17:00:00+08:00"],
        &[],
    );
    assert!(
        digest.contains("共 3 项：已完成 1 项") && !digest.contains("待审核销号"),
        "{digest}"
    );

    // Task 2 is done within its extended deadline and signed off by its own leader.
    cmd(d, c, "li", "2027-01-12T10:00:00+08:00", "完成 2 路面已修复");
    cmd(d, c, "chen", "2027-01-13T10:00:00+08:00", "销号 2");
    assert_eq!(task(&tasks_json(d, c), "2")["status"], "done");

    // Week 8, two months in: only 王伟 is still reminded, task 3 silent since the list's date.
    let w8 = monday("2027-01-25");
    assert!(
        reminder_of(&w8, "孙强").is_empty() && reminder_of(&w8, "李娜").is_empty(),
        "{w8}"
    );
    assert!(
        reminder_of(&w8, "王伟").contains("〔黄色预警〕【3】"),
        "{w8}"
    );
    // The Monday after its deadline (31 January), red.
    assert!(reminder_of(&monday("2027-02-01"), "王伟").contains("〔红色预警〕【3】"));

    // The monthly 通报 on 1 February ranks the units on January. Task 1 was closed late
    // (30 December, due 15 December); task 2 on time, since its extension was granted before
    // its first deadline; task 3 is still open, with no weekly report all month.
    let january = weekbell_ok(
        d,
        c,
        &[
            "assess",
            "--from",
            "2027-01-01",
            "--to",
            "2027-01-31",
            "--json",
        ],
        &[],
    );
    let january: serde_json::Value =
        serde_json::from_str(&january).unwrap_or_else(|e| panic!("{e}: {january}"));
    let row = |unit: &str| -> serde_json::Value {
        january["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == unit))
            .cloned()
            .unwrap_or_else(|| panic!("no {unit} in {january}"))
    };
    assert_eq!(
        (
            row("县城管局")["done_late"].as_u64(),
            row("县城管局")["done_on_time"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        (
            row("首山镇")["done_on_time"].as_u64(),
            row("首山镇")["done_late"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(row("县住建局")["done"].as_u64(), Some(0));
    let report = weekbell_ok(
        d,
        c,
        &["preview", "monthly", "--at", "2027-02-01T09:00:00+08:00"],
        &[],
    );
    // 首山镇 leads: done, and on time thanks to the extension; 县城管局 closed late and owed a
    // report for the week it was still open; 县住建局 has done nothing.
    assert!(
        report.contains("【整改工作考核通报】1月1日至1月31日")
            && report.contains("第一名：首山镇")
            && report.contains("第 2 名 县城管局：40.0 分，办结率 100.0%，按期率 0.0%")
            && report.contains("末位：县住建局"),
        "{report}"
    );
}

use super::*;
use crate::people::{Directory, Person};
use crate::store::TaskEvent;
use crate::tasks::{Assignee, RowRef, Status, Task, apply_events};
use chrono::NaiveDate;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn today() -> NaiveDate {
    day(2026, 11, 30)
}

fn person(id: &str, name: &str, unit: Option<&str>, admin: bool) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        unit: unit.map(str::to_string),
        mobile: None,
        email: None,
        handles: BTreeMap::new(),
        admin,
    }
}

fn people() -> Directory {
    Directory::new(vec![
        person("sun.qiang", "孙强", Some("县城管局"), false),
        person("li.ming", "李明", Some("县城管局"), false),
        person("wang.wei", "王伟", None, false),
        person("zhao.liu", "赵六", Some("城关镇"), false),
        person("admin", "管理员甲", None, true),
        person("alice", "Alice", Some("Web team"), false),
        person("nobody", "无单位", None, false),
    ])
}

fn who(id: &str) -> Assignee {
    Assignee {
        name: people().get(id).map(|p| p.name.clone()).unwrap(),
        person: Some(id.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn task(
    id: &str,
    title: &str,
    unit: &str,
    owners: Vec<Assignee>,
    leader: Option<Assignee>,
    due: Option<NaiveDate>,
    status: Status,
    progress: Option<u8>,
) -> Task {
    Task {
        id: id.into(),
        title: title.into(),
        unit: unit.into(),
        leader,
        owners,
        due,
        unreadable_due: None,
        due_anchored: None,
        extension: Default::default(),
        co_leaders: Vec::new(),
        list: None,
        status,
        progress,
        notes: String::new(),
        category: String::new(),
        channel: None,
        details: Default::default(),
        source: RowRef {
            sheet: "问题清单".into(),
            row: 3,
        },
    }
}

fn tasks() -> Vec<Task> {
    vec![
        task(
            "12",
            "清理河道垃圾",
            "县城管局",
            vec![who("sun.qiang")],
            Some(who("wang.wei")),
            Some(day(2026, 12, 31)),
            Status::InProgress,
            Some(60),
        ),
        task(
            "4",
            "修复路灯",
            "县城管局",
            vec![
                who("li.ming"),
                Assignee {
                    name: "外包单位".into(),
                    person: None,
                },
            ],
            None,
            Some(day(2026, 11, 20)),
            Status::Todo,
            None,
        ),
        task(
            "A-3",
            "Fix the login page",
            "Web team",
            vec![who("alice")],
            None,
            Some(day(2026, 12, 3)),
            Status::Blocked,
            Some(20),
        ),
        task(
            "2.1",
            "市容常态化管理",
            "城关镇",
            vec![who("zhao.liu")],
            None,
            None,
            Status::Ongoing,
            None,
        ),
        task(
            "7",
            "拆除违建",
            "城关镇",
            vec![who("zhao.liu")],
            None,
            Some(day(2026, 11, 1)),
            Status::Done,
            Some(100),
        ),
    ]
}

fn cmd(lang: Lang, command: Command) -> Parsed {
    Parsed::Command { lang, command }
}

fn done(id: &str, note: Option<&str>) -> Command {
    Command::Done {
        id: id.into(),
        note: note.map(str::to_string),
    }
}

fn progress(id: &str, percent: u8, note: Option<&str>) -> Command {
    Command::Progress {
        id: id.into(),
        percent,
        note: note.map(str::to_string),
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn every_command_parses_in_english() {
    use Lang::En;
    for (input, want) in [
        ("help", cmd(En, Command::Help)),
        ("list", cmd(En, Command::List(ListFilter::Open))),
        ("list mine", cmd(En, Command::List(ListFilter::Mine))),
        ("list overdue", cmd(En, Command::List(ListFilter::Overdue))),
        ("list due", cmd(En, Command::List(ListFilter::DueSoon))),
        ("list blocked", cmd(En, Command::List(ListFilter::Blocked))),
        ("list all", cmd(En, Command::List(ListFilter::Open))),
        (
            "list Web team",
            cmd(En, Command::List(ListFilter::Unit("Web team".into()))),
        ),
        ("mine", cmd(En, Command::List(ListFilter::Mine))),
        ("overdue", cmd(En, Command::List(ListFilter::Overdue))),
        ("status", cmd(En, Command::Status)),
        ("done 12", cmd(En, done("12", None))),
        (
            "done 12 cleared the last site",
            cmd(En, done("12", Some("cleared the last site"))),
        ),
        ("progress 4 60%", cmd(En, progress("4", 60, None))),
        (
            "progress 4 60% three lamps fixed",
            cmd(En, progress("4", 60, Some("three lamps fixed"))),
        ),
        (
            "block A-3 waiting for the vendor",
            cmd(
                En,
                Command::Block {
                    id: "A-3".into(),
                    reason: "waiting for the vendor".into(),
                },
            ),
        ),
        (
            "reopen 7",
            cmd(
                En,
                Command::Reopen {
                    id: "7".into(),
                    note: None,
                },
            ),
        ),
        (
            "note 2.1 called the contractor",
            cmd(
                En,
                Command::Note {
                    id: "2.1".into(),
                    text: "called the contractor".into(),
                },
            ),
        ),
        (
            "report Web team shipped the fix",
            cmd(
                En,
                Command::Report {
                    text: "Web team shipped the fix".into(),
                },
            ),
        ),
    ] {
        assert_eq!(parse(input), want, "{input:?}");
    }
}

#[test]
fn every_command_parses_in_chinese() {
    use Lang::Zh;
    for (input, want) in [
        ("帮助", cmd(Zh, Command::Help)),
        ("清单", cmd(Zh, Command::List(ListFilter::Open))),
        ("清单 逾期", cmd(Zh, Command::List(ListFilter::Overdue))),
        ("清单 我的", cmd(Zh, Command::List(ListFilter::Mine))),
        ("清单 受阻", cmd(Zh, Command::List(ListFilter::Blocked))),
        ("清单 到期", cmd(Zh, Command::List(ListFilter::DueSoon))),
        (
            "清单 县城管局",
            cmd(Zh, Command::List(ListFilter::Unit("县城管局".into()))),
        ),
        ("我的", cmd(Zh, Command::List(ListFilter::Mine))),
        ("逾期", cmd(Zh, Command::List(ListFilter::Overdue))),
        ("逾期清单", cmd(Zh, Command::List(ListFilter::Overdue))),
        ("受阻清单", cmd(Zh, Command::List(ListFilter::Blocked))),
        ("到期清单", cmd(Zh, Command::List(ListFilter::DueSoon))),
        ("进度", cmd(Zh, Command::Status)),
        ("汇总", cmd(Zh, Command::Status)),
        ("完成 12", cmd(Zh, done("12", None))),
        (
            "完成 12 已全部清理",
            cmd(Zh, done("12", Some("已全部清理"))),
        ),
        ("已完成 12", cmd(Zh, done("12", None))),
        (
            "进展 4 60% 已清理三处",
            cmd(Zh, progress("4", 60, Some("已清理三处"))),
        ),
        ("进度 4 60%", cmd(Zh, progress("4", 60, None))),
        (
            "受阻 7 等待资金下达",
            cmd(
                Zh,
                Command::Block {
                    id: "7".into(),
                    reason: "等待资金下达".into(),
                },
            ),
        ),
        (
            "重开 12",
            cmd(
                Zh,
                Command::Reopen {
                    id: "12".into(),
                    note: None,
                },
            ),
        ),
        (
            "备注 12 已联系施工单位",
            cmd(
                Zh,
                Command::Note {
                    id: "12".into(),
                    text: "已联系施工单位".into(),
                },
            ),
        ),
        (
            "周报 县城管局 本周完成三处整改",
            cmd(
                Zh,
                Command::Report {
                    text: "县城管局 本周完成三处整改".into(),
                },
            ),
        ),
    ] {
        assert_eq!(parse(input), want, "{input:?}");
    }
}

#[test]
fn what_platforms_and_input_methods_add_is_normalised_away() {
    let d12 = cmd(Lang::Zh, done("12", None));
    for input in [
        "完成 12",
        "  完成 12  ",
        "/完成 12",
        "／完成 12",
        "@weekbell 完成 12",
        "@周报助手 @孙强 完成 12",
        "@_user_1 完成 12",
        "<at user_id=\"ou_123\">周报助手</at> 完成 12",
        "<@U123ABC> 完成 12",
        "/完成@weekbell_bot 12",
        "完成 １２",
        "完成　１２",
        "完成#12",
        "完成＃12",
        "完成 #12",
        "完成12号",
        "完成12",
        "完成 第12项",
        "完成第12项",
        "完成：12",
        "完成:12",
        "完成，12",
        "完成、12",
        "完成 12号",
        "完成 12.",
    ] {
        assert_eq!(parse(input), d12, "{input:?}");
    }
    let e12 = cmd(Lang::En, done("12", None));
    for input in [
        "done 12",
        "DONE 12",
        "Done 12",
        "/done 12",
        "/done@weekbell_bot 12",
        "<@U123ABC> done 12",
        "ｄｏｎｅ　１２",
        "done #12",
        "@weekbell /Done 12",
    ] {
        assert_eq!(parse(input), e12, "{input:?}");
    }
    for input in [
        "进展 4 60%",
        "进展 4 60",
        "进展 4 60％",
        "进展 ４ ６０％",
        "进展4 60%",
        "进展：4 60 %",
    ] {
        assert_eq!(
            parse(input),
            cmd(Lang::Zh, progress("4", 60, None)),
            "{input:?}"
        );
    }
    assert_eq!(
        parse("PROGRESS A-3 100"),
        cmd(Lang::En, progress("A-3", 100, None))
    );
}

#[test]
fn ids_take_the_sheets_forms_and_split_off_what_follows() {
    assert_eq!(parse("done A-3"), cmd(Lang::En, done("A-3", None)));
    assert_eq!(parse("done a-3"), cmd(Lang::En, done("a-3", None)));
    assert_eq!(parse("完成 2.1"), cmd(Lang::Zh, done("2.1", None)));
    assert_eq!(parse("完成 Ａ－３"), cmd(Lang::Zh, done("A-3", None)));
    assert_eq!(
        parse("完成12号已清理"),
        cmd(Lang::Zh, done("12", Some("已清理")))
    );
    assert_eq!(
        parse("进展 4 60%已清理三处"),
        cmd(Lang::Zh, progress("4", 60, Some("已清理三处")))
    );
    // Ids in other scripts are taken whole, as the sheet writes them.
    assert_eq!(parse("完成 城-1号"), cmd(Lang::Zh, done("城-1", None)));
}

#[test]
fn prose_keeps_its_own_characters() {
    assert_eq!(
        parse("完成 １２ 已清理ＡＢＣ三处，共６０吨。"),
        cmd(Lang::Zh, done("12", Some("已清理ＡＢＣ三处，共６０吨。")))
    );
    assert_eq!(
        parse("note 12   Keep  the   SPACING "),
        cmd(
            Lang::En,
            Command::Note {
                id: "12".into(),
                text: "Keep  the   SPACING".into()
            }
        )
    );
}

#[test]
fn known_words_with_bad_arguments_get_their_usage() {
    let usage = |lang, verb, problem| Parsed::Usage {
        lang,
        verb,
        problem,
    };
    use Lang::{En, Zh};
    for (input, want) in [
        ("done", usage(En, Verb::Done, UsageProblem::MissingId)),
        ("完成", usage(Zh, Verb::Done, UsageProblem::MissingId)),
        ("完成 #", usage(Zh, Verb::Done, UsageProblem::MissingId)),
        ("完成 第项", usage(Zh, Verb::Done, UsageProblem::MissingId)),
        (
            "progress 4",
            usage(En, Verb::Progress, UsageProblem::MissingPercent),
        ),
        (
            "进展 4 很多",
            usage(Zh, Verb::Progress, UsageProblem::BadPercent("很多".into())),
        ),
        (
            "进展 4 120%",
            usage(Zh, Verb::Progress, UsageProblem::BadPercent("120%".into())),
        ),
        (
            "progress 4 60.5%",
            usage(En, Verb::Progress, UsageProblem::BadPercent("60.5%".into())),
        ),
        (
            "progress 4 99999999999999999999",
            usage(
                En,
                Verb::Progress,
                UsageProblem::BadPercent("99999999999999999999".into()),
            ),
        ),
        ("block 7", usage(En, Verb::Block, UsageProblem::MissingText)),
        ("受阻 7", usage(Zh, Verb::Block, UsageProblem::MissingText)),
        ("note 7", usage(En, Verb::Note, UsageProblem::MissingText)),
        ("备注 7", usage(Zh, Verb::Note, UsageProblem::MissingText)),
        ("reopen", usage(En, Verb::Reopen, UsageProblem::MissingId)),
        ("周报", usage(Zh, Verb::Report, UsageProblem::MissingText)),
        (
            "report   ",
            usage(En, Verb::Report, UsageProblem::MissingText),
        ),
    ] {
        assert_eq!(parse(input), want, "{input:?}");
    }
}

#[test]
fn anything_else_is_unknown_with_a_guessed_language() {
    for (input, lang) in [
        ("hello there", Some(Lang::En)),
        ("doneness 12", Some(Lang::En)),
        ("你好", Some(Lang::Zh)),
        ("完成情况如何", Some(Lang::Zh)),
        ("备注说明", Some(Lang::Zh)),
        ("/start", Some(Lang::En)),
        ("@weekbell", None),
        ("", None),
        ("12 %", None),
    ] {
        assert_eq!(
            parse(input),
            Parsed::Unknown { lang, near: None },
            "{input:?}"
        );
    }
    assert_eq!(parse("").lang(Lang::Zh), Lang::Zh);
    assert_eq!(parse("hi").lang(Lang::Zh), Lang::En);
}

const VERBS: &[&str] = &[
    "help",
    "list",
    "mine",
    "overdue",
    "status",
    "done",
    "progress",
    "block",
    "reopen",
    "note",
    "report",
    "帮助",
    "清单",
    "我的",
    "逾期",
    "受阻清单",
    "进度",
    "汇总",
    "完成",
    "进展",
    "受阻",
    "重开",
    "备注",
    "周报",
    "/done@bot",
    "@bot 完成",
];

const PREAMBLES: &[&str] = &[
    "",
    " ",
    "/",
    "／",
    "@weekbell ",
    "@周报助手 ",
    "@_user_1 ",
    "<@U123ABC> ",
    "<at user_id=\"ou_1\">bot</at> ",
    "@a @b /",
    "\u{3000}",
];

proptest! {
    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_after_a_command_word(
        verb in prop::sample::select(VERBS),
        suffix in any::<String>(),
        glue in prop::sample::select(&["", " ", "#", "第", "：", "@", "\u{3000}", "１", "％"][..]),
    ) {
        let _ = parse(&format!("{verb}{glue}{suffix}"));
    }

    #[test]
    fn preambles_and_full_width_ids_do_not_change_the_command(
        pre in prop::sample::select(PREAMBLES),
        verb in prop::sample::select(&["完成", "done", "DONE", "备注", "note"][..]),
        id in "[0-9]{1,4}|[A-Z]-[0-9]{1,2}|[0-9]\\.[0-9]",
        note in prop::sample::select(&["已清理", "two words", "ＡＢＣ　混合", "60%"][..]),
        wide in any::<bool>(),
    ) {
        let plain = parse(&format!("{verb} {id} {note}"));
        let shown_id: String = if wide {
            id.chars().map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c)).collect()
        } else {
            id.clone()
        };
        let is_command = matches!(plain, Parsed::Command { .. });
        prop_assert!(is_command);
        prop_assert_eq!(parse(&format!("{pre}{verb} {shown_id} {note}  ")), plain);
    }

    #[test]
    fn any_percent_from_0_to_100_round_trips(p in 0u8..=100, sign in prop::sample::select(&["", "%", "％", " %"][..])) {
        prop_assert_eq!(parse(&format!("进展 4 {p}{sign}")), cmd(Lang::Zh, progress("4", p, None)));
    }
}

// ---------------------------------------------------------------- running

fn ctx<'a>(
    sender: Option<&'a Person>,
    tasks: &'a [Task],
    dir: &'a Directory,
    lang: Lang,
) -> Context<'a> {
    Context {
        sender,
        sender_handle: Some("U999"),
        tasks,
        channel: None,
        today: today(),
        lang,
        people: Some(dir),
        lists: &[],
        absences: None,
    }
}

fn run(sender: &str, text: &str) -> Response {
    let dir = people();
    let list = tasks();
    let c = ctx(dir.get(sender), &list, &dir, Lang::Zh);
    respond(&parse(text), &c)
}

fn reply(o: &Response) -> &str {
    match &o.reply {
        Reply::Text(t) | Reply::Private(t) => t,
        Reply::Digest => panic!("digest, not text"),
    }
}

#[test]
fn changes_are_answered_to_the_channel_and_everything_else_to_the_asker_alone() {
    // What changed is the group's business; help, lookups, mistakes and refusals are one
    // person's, and platforms that can (Slack, Mattermost, Discord) show them to that person.
    assert!(matches!(run("sun.qiang", "完成 12").reply, Reply::Text(_)));
    assert!(matches!(
        run("sun.qiang", "进展 12 50%").reply,
        Reply::Text(_)
    ));
    for text in [
        "帮助",
        "help",
        "清单",
        "list mine",
        "完成",
        "dne 12",
        "完成 999",
    ] {
        let o = run("sun.qiang", text);
        assert!(matches!(o.reply, Reply::Private(_)), "{text}: {o:?}");
    }
    let refused = run("zhao.liu", "完成 12");
    assert!(refused.changes.is_empty());
    assert!(matches!(refused.reply, Reply::Private(_)), "{refused:?}");
    let dir = people();
    let list = tasks();
    let stranger = respond(&parse("完成 12"), &ctx(None, &list, &dir, Lang::Zh));
    assert!(matches!(stranger.reply, Reply::Private(_)), "{stranger:?}");
}

#[test]
fn done_by_an_owner_records_the_status_and_states_the_task_in_chinese() {
    let o = run("sun.qiang", "完成 12 已全部清理");
    assert_eq!(
        o.changes,
        vec![
            Change::Status {
                task_id: "12".into(),
                old: Status::InProgress,
                new: Status::Done
            },
            Change::Progress {
                task_id: "12".into(),
                old: Some(60),
                new: 100
            },
            Change::Note {
                task_id: "12".into(),
                text: "已全部清理".into()
            },
        ]
    );
    assert_eq!(
        reply(&o),
        "已标记完成。\n【12】清理河道垃圾（县城管局）\n状态：已完成；进度：100%；时限：12月31日；责任人：孙强"
    );
}

#[test]
fn done_in_english_answers_in_english() {
    let o = run("alice", "done A-3");
    assert_eq!(o.changes.len(), 2);
    assert_eq!(
        reply(&o),
        "Marked done.\nA-3 Fix the login page (Web team)\nStatus: done; progress: 100%; due: Dec 3; owners: Alice"
    );
}

#[test]
fn done_on_a_done_task_records_nothing_but_still_states_it() {
    let o = run("zhao.liu", "完成 7");
    assert!(o.changes.is_empty());
    assert!(reply(&o).starts_with("该事项已是“已完成”状态，未作改动。\n【7】拆除违建"));
    let o = run("zhao.liu", "done 7 checked again");
    assert_eq!(
        o.changes,
        vec![Change::Note {
            task_id: "7".into(),
            text: "checked again".into()
        }]
    );
    assert!(reply(&o).starts_with("Already done; note added.\n7 拆除违建"));
}

#[test]
fn progress_moves_a_task_to_in_progress_and_hints_at_done_at_100() {
    let o = run("li.ming", "进展 4 60% 已修复三盏");
    assert_eq!(
        o.changes,
        vec![
            Change::Progress {
                task_id: "4".into(),
                old: None,
                new: 60
            },
            Change::Status {
                task_id: "4".into(),
                old: Status::Todo,
                new: Status::InProgress
            },
            Change::Note {
                task_id: "4".into(),
                text: "已修复三盏".into()
            },
        ]
    );
    assert_eq!(
        reply(&o),
        "进展已更新。\n【4】修复路灯（县城管局）\n状态：整改中；进度：60%；时限：11月20日（已逾期 10 天）；责任人：李明、外包单位"
    );
    let o = run("sun.qiang", "progress 12 100");
    assert!(reply(&o).starts_with("Progress updated. If the work is finished, send \"done 12\"."));
    assert!(reply(&o).contains("Status: in progress; progress: 100%"));

    let o = run("sun.qiang", "进展 12 60%");
    assert!(o.changes.is_empty());
    assert!(reply(&o).starts_with("进展与已有记录相同，未作改动。\n【12】"));
    let o = run("sun.qiang", "进展 12 60% 补充说明");
    assert_eq!(o.changes.len(), 1);
    assert!(reply(&o).starts_with("备注已记录。"));
}

#[test]
fn block_records_the_reason_as_a_note() {
    let o = run("sun.qiang", "受阻 12 等待资金下达");
    assert_eq!(
        o.changes,
        vec![
            Change::Status {
                task_id: "12".into(),
                old: Status::InProgress,
                new: Status::Blocked
            },
            Change::Note {
                task_id: "12".into(),
                text: "等待资金下达".into()
            },
        ]
    );
    assert!(reply(&o).contains("状态：受阻；进度：60%"));
    let o = run("alice", "block A-3 still waiting");
    assert_eq!(o.changes.len(), 1, "already blocked: only the new reason");
    assert!(reply(&o).contains("Status: blocked"));
}

#[test]
fn reopen_goes_back_to_in_progress() {
    let o = run("zhao.liu", "重开 7");
    assert_eq!(
        o.changes,
        vec![Change::Status {
            task_id: "7".into(),
            old: Status::Done,
            new: Status::InProgress
        }]
    );
    assert!(
        reply(&o)
            .starts_with("已重新打开，状态改为整改中。\n【7】拆除违建（城关镇）\n状态：整改中")
    );
    let o = run("sun.qiang", "reopen 12");
    assert!(o.changes.is_empty());
    assert!(reply(&o).starts_with("Already in progress; nothing changed."));
}

#[test]
fn note_adds_a_note_and_states_the_task() {
    let o = run("zhao.liu", "备注 2.1 本周巡查两次");
    assert_eq!(
        o.changes,
        vec![Change::Note {
            task_id: "2.1".into(),
            text: "本周巡查两次".into()
        }]
    );
    assert_eq!(
        reply(&o),
        "备注已记录。\n【2.1】市容常态化管理（城关镇）\n状态：长期坚持；进度：未填报；时限：长期；责任人：赵六"
    );
    let o = run("zhao.liu", "note 2.1 patrolled twice");
    assert!(
        reply(&o)
            .ends_with("Status: ongoing; progress: not reported; due: no deadline; owners: 赵六")
    );
}

#[test]
fn leaders_and_admins_may_change_others_are_told_who_can() {
    assert_eq!(run("wang.wei", "完成 12").changes.len(), 2);
    assert_eq!(run("admin", "完成 12").changes.len(), 2);
    // An owner the import could not resolve is matched by name.
    let dir = Directory::new(vec![person("waibao", "外包单位", None, false)]);
    let list = tasks();
    let c = ctx(dir.get("waibao"), &list, &dir, Lang::Zh);
    assert_eq!(respond(&parse("进展 4 10%"), &c).changes.len(), 2);

    let o = run("zhao.liu", "完成 12");
    assert!(o.changes.is_empty());
    assert_eq!(
        reply(&o),
        "抱歉，您无权修改【12】。可以修改该事项的是：责任人 孙强、包保领导 王伟、管理员。"
    );
    let o = run("zhao.liu", "done 4");
    assert_eq!(
        reply(&o),
        "Sorry, you may not change 4. It can be changed by its owners (李明, 外包单位) and admins."
    );
    let o = run("alice", "done 12");
    assert!(reply(&o).contains("its owners (孙强), its leader (王伟) and admins"));
}

#[test]
fn unrecognised_senders_may_do_nothing_and_are_told_to_ask_an_admin() {
    let dir = people();
    let list = tasks();
    let c = ctx(None, &list, &dir, Lang::Zh);
    for text in ["完成 12", "清单", "帮助", "乱七八糟", "进展 4"] {
        let o = respond(&parse(text), &c);
        assert!(o.changes.is_empty());
        assert!(reply(&o).contains("人员名单中没有您"), "{text}");
        assert!(reply(&o).contains("U999"), "{text}");
    }
    let o = respond(&parse("list"), &c);
    assert!(reply(&o).contains("Please ask an admin to add your handle (U999)"));
    let o = execute(
        &Command::Help,
        &Context {
            sender_handle: None,
            ..c
        },
    );
    assert!(!reply(&o).contains("（"));
}

#[test]
fn unknown_ids_are_answered_and_ids_match_loosely() {
    let o = run("admin", "完成 99");
    assert!(o.changes.is_empty());
    assert_eq!(
        reply(&o),
        "没有找到编号为「99」的事项。发送「清单」可查看事项及其编号。"
    );
    assert!(reply(&run("admin", "done 99")).contains("There is no task with id \"99\""));
    let list = tasks();
    assert_eq!(find_task(&list, "a-3").map(|t| t.id.as_str()), Some("A-3"));
    assert_eq!(find_task(&list, "012").map(|t| t.id.as_str()), Some("12"));
    assert_eq!(find_task(&list, "2.1").map(|t| t.id.as_str()), Some("2.1"));
    assert!(find_task(&list, "2.10").is_none());
}

#[test]
fn help_status_usage_and_unknown_text() {
    let o = run("zhao.liu", "帮助");
    assert_eq!(reply(&o), help_text(Lang::Zh));
    assert!(reply(&o).contains("完成 编号 [备注]"));
    let o = run("zhao.liu", "help");
    assert_eq!(reply(&o), help_text(Lang::En));
    assert!(reply(&o).contains("done ID [note]"));
    assert_eq!(run("zhao.liu", "汇总").reply, Reply::Digest);
    assert_eq!(run("zhao.liu", "status").reply, Reply::Digest);
    assert_eq!(
        reply(&run("zhao.liu", "进展 4 很多")),
        "「很多」不是 0 到 100 之间的百分比。\n用法：进展 编号 百分比 [说明]，例如：进展 4 60% 已清理三处"
    );
    assert!(
        reply(&run("zhao.liu", "block 4"))
            .starts_with("Please give the reason.\nUsage: block ID reason")
    );
    assert!(
        reply(&run("zhao.liu", "what now"))
            .starts_with("I did not understand that.\nweekbell commands")
    );
    assert!(reply(&run("zhao.liu", "今天天气")).starts_with("没有识别出命令。\nweekbell 可用命令"));
    // No letters: the channel's language.
    assert!(reply(&run("zhao.liu", "@weekbell")).contains("可用命令"));
}

#[test]
fn a_mistyped_command_word_is_named_with_the_one_it_was_meant_to_be() {
    for (input, near) in [
        ("完城 12", "完成"),
        ("@weekbell 完城：12", "完成"),
        ("dne 12", "done"),
        ("/Lsit mine", "list"),
        ("progres 4 60%", "progress"),
    ] {
        assert!(
            matches!(parse(input), Parsed::Unknown { near: Some(n), .. } if n == near),
            "{input:?}: {:?}",
            parse(input)
        );
    }
    assert!(
        reply(&run("zhao.liu", "dne 12"))
            .starts_with("I did not understand that. Did you mean `done`?\nweekbell commands")
    );
    assert!(
        reply(&run("zhao.liu", "完城 12"))
            .starts_with("没有识别出命令。您是不是想用“完成”？\nweekbell 可用命令")
    );
}

#[test]
fn a_long_first_word_is_not_taken_for_a_typo() {
    let long = "d".repeat(60_000);
    assert_eq!(
        parse(&long),
        Parsed::Unknown {
            lang: Some(Lang::En),
            near: None
        }
    );
}

fn list_reply(sender: &str, text: &str) -> String {
    reply(&run(sender, text)).to_string()
}

#[test]
fn lists_filter_and_state_each_task() {
    assert_eq!(
        list_reply("zhao.liu", "清单"),
        "未办结事项（4 项）：\n\
         【12】清理河道垃圾（县城管局）：整改中，60%，12月31日到期，孙强\n\
         【4】修复路灯（县城管局）：未开始，已逾期 10 天，李明、外包单位\n\
         【A-3】Fix the login page（Web team）：受阻，20%，12月3日到期，Alice\n\
         【2.1】市容常态化管理（城关镇）：长期坚持，长期，赵六"
    );
    assert_eq!(
        list_reply("sun.qiang", "list mine"),
        "Your open tasks (1):\n• 12 清理河道垃圾 (县城管局) — in progress, 60%, due Dec 31, 孙强"
    );
    // A leader's tasks are theirs too.
    assert!(list_reply("wang.wei", "我的").starts_with("我负责的未办结事项（1 项）：\n【12】"));
    assert_eq!(
        list_reply("zhao.liu", "逾期"),
        "逾期事项（1 项）：\n【4】修复路灯（县城管局）：未开始，已逾期 10 天，李明、外包单位"
    );
    assert!(list_reply("zhao.liu", "list due").starts_with("Due in the next 7 days (1):\n• A-3 "));
    assert!(list_reply("zhao.liu", "受阻清单").starts_with("受阻事项（1 项）：\n【A-3】"));
    assert!(list_reply("zhao.liu", "清单 城关镇").starts_with("城关镇的事项（2 项）：\n【2.1】"));
    assert!(list_reply("zhao.liu", "清单 城管").starts_with("城管的事项（2 项）：\n【12】"));
    assert!(list_reply("zhao.liu", "list web TEAM").starts_with("web TEAM: 1 task\n• A-3"));
    assert_eq!(
        list_reply("zhao.liu", "清单 交通局"),
        "没有找到单位「交通局」。现有单位：县城管局、Web team、城关镇"
    );
    assert_eq!(list_reply("nobody", "我的"), "您没有负责的未办结事项。");
    assert_eq!(list_reply("nobody", "list mine"), "You have no open tasks.");
}

#[test]
fn long_lists_are_capped() {
    let dir = people();
    let many: Vec<Task> = (1..=45)
        .map(|i| {
            task(
                &i.to_string(),
                "事项",
                "县城管局",
                vec![],
                None,
                None,
                Status::Todo,
                None,
            )
        })
        .collect();
    let c = ctx(dir.get("admin"), &many, &dir, Lang::Zh);
    let o = respond(&parse("清单"), &c);
    let lines: Vec<&str> = reply(&o).lines().collect();
    assert_eq!(lines.len(), 1 + LIST_CAP + 1);
    assert_eq!(lines[0], "未办结事项（45 项）：");
    assert_eq!(lines[LIST_CAP + 1], "……另有 15 项未列出");
    let o = respond(&parse("list"), &c);
    assert!(reply(&o).ends_with("\n…and 15 more"));
}

#[test]
fn reports_go_to_the_named_unit_or_the_senders_own() {
    let o = run("sun.qiang", "周报 本周完成三处整改");
    assert_eq!(
        o.changes,
        vec![Change::Report {
            unit: "县城管局".into(),
            text: "本周完成三处整改".into()
        }]
    );
    assert_eq!(
        reply(&o),
        "已收到县城管局本周报送。\n县城管局：共 2 项，已完成 0 项，逾期 1 项"
    );
    let o = run("admin", "周报 城关镇：本周巡查两次");
    assert_eq!(
        o.changes,
        vec![Change::Report {
            unit: "城关镇".into(),
            text: "本周巡查两次".into()
        }]
    );
    let o = run("alice", "report Web team shipped the fix");
    assert_eq!(
        o.changes,
        vec![Change::Report {
            unit: "Web team".into(),
            text: "Web team shipped the fix".into()
        }],
        "a unit with a space is not split off; the sender's own unit is used"
    );
    // A leader of one of the unit's tasks may report for it.
    assert_eq!(run("wang.wei", "周报 县城管局 进展顺利").changes.len(), 1);
    let o = run("wang.wei", "周报 进展顺利");
    assert!(o.changes.is_empty());
    assert!(reply(&o).starts_with("人员名单中没有您所在的单位，请写明报送单位。\n用法：周报"));
    let o = run("zhao.liu", "周报 县城管局 代报");
    assert!(o.changes.is_empty());
    assert_eq!(
        reply(&o),
        "抱歉，您无权代县城管局报送周报。可以报送的是该单位人员（孙强、李明）和管理员。"
    );
    let o = run("sun.qiang", "周报 县城管局");
    assert!(reply(&o).starts_with("缺少周报内容。"));
    let o = run("zhao.liu", "report done twice");
    assert!(
        reply(&o)
            .starts_with("Weekly update from 城关镇 received.\n城关镇: 2 tasks, 1 done, 0 overdue")
    );
}

#[test]
fn changes_become_events_that_merge_back_to_the_replied_state() {
    let o = run("sun.qiang", "完成 12 已全部清理");
    let meta = EventMeta {
        id: "cmd-1",
        dedupe_key: Some("dingtalk:msg-9"),
        at_ms: 1_796_000_000_000,
        actor: "sun.qiang",
        source: "chat",
        channel: Some("county"),
    };
    let events = to_events(&o.changes, &meta);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].id, "cmd-1/0");
    assert_eq!(events[2].dedupe_key.as_deref(), Some("dingtalk:msg-9/2"));
    assert_eq!(
        (
            events[0].field.as_str(),
            events[0].old_value.as_deref(),
            events[0].new_value.as_deref()
        ),
        ("status", Some("in_progress"), Some("done"))
    );
    assert_eq!(
        (events[1].field.as_str(), events[1].new_value.as_deref()),
        ("progress", Some("100"))
    );
    assert_eq!(
        (events[2].field.as_str(), events[2].new_value.as_deref()),
        ("note", Some("已全部清理"))
    );

    let stored: Vec<TaskEvent> = events
        .into_iter()
        .map(|e| TaskEvent {
            id: e.id,
            dedupe_key: e.dedupe_key,
            task_id: e.task_id,
            at_ms: e.at_ms,
            actor: e.actor,
            source: e.source,
            channel: e.channel,
            field: e.field,
            old_value: e.old_value,
            new_value: e.new_value,
        })
        .collect();
    let mut merged = tasks();
    let stats = apply_events(&mut merged, &stored);
    assert_eq!(stats.applied, 3);
    let t = find_task(&merged, "12").unwrap();
    assert_eq!((t.status, t.progress), (Status::Done, Some(100)));
    assert!(t.notes.ends_with("sun.qiang] 已全部清理"));

    let report = to_events(
        &[Change::Report {
            unit: "城关镇".into(),
            text: "x".into(),
        }],
        &meta,
    );
    assert_eq!(
        (report[0].task_id.as_str(), report[0].field.as_str()),
        ("城关镇", "report")
    );
}

// ---------------------------------------------------------------- a channel's scope

fn channel_of(units: &[&str]) -> crate::config::ChannelConfig {
    crate::config::ChannelConfig {
        name: "城管群".into(),
        platform: crate::types::Platform::Dingtalk,
        webhook: None,
        secret: None,
        settings: crate::config::PlatformSettings::empty(crate::types::Platform::Dingtalk),
        template_dir: None,
        filter: crate::config::TaskFilter {
            units: units.iter().map(|u| u.to_string()).collect(),
            categories: Vec::new(),
            lists: Vec::new(),
        },
        max_message_size: None,
        rate_limit: None,
        locale: None,
    }
}

#[test]
fn through_a_channel_with_units_even_an_admin_sees_and_changes_only_those_units() {
    let dir = people();
    let list = tasks();
    let scope = channel_of(&["县城管局"]);
    let scoped = Context {
        channel: Some(&scope),
        ..ctx(dir.get("admin"), &list, &dir, Lang::Zh)
    };
    let run = |text: &str| respond(&parse(text), &scoped);

    let all = run("清单 全部");
    assert!(reply(&all).contains("清理河道垃圾"), "{all:?}");
    assert!(!reply(&all).contains("Fix the login page"), "{all:?}");
    assert!(!reply(&run("list blocked")).contains("A-3"));
    let other_unit = run("清单 Web team");
    assert!(
        reply(&other_unit).contains("没有找到单位"),
        "{other_unit:?}"
    );
    // The units offered instead are the channel's own.
    assert!(
        reply(&other_unit).contains("现有单位：县城管局"),
        "{other_unit:?}"
    );
    assert!(!reply(&other_unit).contains("城关镇"), "{other_unit:?}");

    let done = run("完成 A-3");
    assert!(done.changes.is_empty());
    assert!(reply(&done).contains("没有找到编号为「A-3」"), "{done:?}");
    assert!(!run("完成 12").changes.is_empty());

    let report = run("周报 城关镇 本周完成三处");
    assert!(report.changes.is_empty());
    assert!(
        reply(&report).contains("本群不负责「城关镇」"),
        "{report:?}"
    );
    assert!(!run("周报 县城管局 本周完成三处").changes.is_empty());
    let member = Context {
        sender: dir.get("zhao.liu"),
        ..scoped
    };
    assert!(
        respond(&parse("周报 本周完成三处"), &member)
            .changes
            .is_empty()
    );

    // Without a channel (`weekbell cmd`), the same admin reaches every task.
    let everywhere = ctx(dir.get("admin"), &list, &dir, Lang::Zh);
    assert!(!respond(&parse("完成 A-3"), &everywhere).changes.is_empty());
    assert!(reply(&respond(&parse("list blocked"), &everywhere)).contains("A-3"));
}

// ---------------------------------------------------------------- sign-off (审核销号)

/// `[tasks]` with `review` set: who signs its tasks off.
fn reviewed_by(review: crate::config::Review) -> Vec<crate::config::ListConfig> {
    use crate::config::{ListConfig, ReviewRule, TasksConfig};
    vec![ListConfig {
        name: None,
        tasks: TasksConfig::sample("unused.csv"),
        source_at: String::new(),
        review: ReviewRule {
            default: review,
            categories: BTreeMap::new(),
        },
    }]
}

fn run_reviewed(
    review: crate::config::Review,
    list: &[Task],
    sender: &str,
    text: &str,
) -> Response {
    let dir = people();
    let lists = reviewed_by(review);
    let c = Context {
        lists: &lists,
        ..ctx(dir.get(sender), list, &dir, Lang::En)
    };
    respond(&parse(text), &c)
}

/// The sample tasks with 12 (owner 孙强, leader 王伟) awaiting sign-off.
fn with_12_in_review() -> Vec<Task> {
    let mut list = tasks();
    for t in list.iter_mut().filter(|t| t.id == "12") {
        t.status = Status::Review;
        t.progress = Some(100);
    }
    list
}

fn notified(o: &Response) -> Vec<Option<String>> {
    o.notices
        .iter()
        .flat_map(|n| n.to.iter().map(|a| a.person.clone()))
        .collect()
}

#[test]
fn an_owners_done_awaits_the_leaders_sign_off_and_the_leader_is_told() {
    use crate::config::Review;
    let o = run_reviewed(Review::Leader, &tasks(), "sun.qiang", "done 12 all cleared");
    assert_eq!(
        o.changes[..2],
        [
            Change::Status {
                task_id: "12".into(),
                old: Status::InProgress,
                new: Status::Review,
            },
            Change::Progress {
                task_id: "12".into(),
                old: Some(60),
                new: 100,
            },
        ]
    );
    assert!(
        reply(&o).starts_with("Reported done; awaiting sign-off"),
        "{o:?}"
    );
    assert_eq!(notified(&o), [Some("wang.wei".to_string())]);
    assert!(o.notices[0].text.contains("approve 12"), "{o:?}");
    // Done again while it waits changes nothing.
    let again = run_reviewed(Review::Leader, &with_12_in_review(), "sun.qiang", "done 12");
    assert!(
        again.changes.is_empty() && again.notices.is_empty(),
        "{again:?}"
    );
}

#[test]
fn only_a_reviewer_approves_or_returns_and_the_owners_hear_the_outcome() {
    use crate::config::Review;
    let list = with_12_in_review();
    let refused = run_reviewed(Review::Leader, &list, "sun.qiang", "approve 12");
    assert!(refused.changes.is_empty(), "{refused:?}");
    assert_eq!(
        reply(&refused),
        "Sorry, 12 is signed off or returned by 王伟."
    );

    let approved = run_reviewed(Review::Leader, &list, "wang.wei", "approve 12");
    assert_eq!(
        approved.changes,
        [Change::Status {
            task_id: "12".into(),
            old: Status::Review,
            new: Status::Done,
        }]
    );
    assert_eq!(notified(&approved), [Some("sun.qiang".to_string())]);
    // An admin may sign off what a leader would.
    let by_admin = run_reviewed(Review::Leader, &list, "admin", "approve 12");
    assert_eq!(by_admin.changes.len(), 1, "{by_admin:?}");
    // The leader's own `done` on a task awaiting sign-off is the sign-off.
    let leader_done = run_reviewed(Review::Leader, &list, "wang.wei", "done 12");
    assert_eq!(leader_done.changes, approved.changes);

    let returned = run_reviewed(Review::Leader, &list, "wang.wei", "reject 12 still dirty");
    assert_eq!(
        returned.changes,
        [
            Change::Status {
                task_id: "12".into(),
                old: Status::Review,
                new: Status::InProgress,
            },
            Change::Note {
                task_id: "12".into(),
                text: "still dirty".into(),
            },
        ]
    );
    assert!(
        returned.notices[0].text.contains("Reason: still dirty"),
        "{returned:?}"
    );
    // A reason is required, and only a task awaiting sign-off can be returned.
    let no_reason = run_reviewed(Review::Leader, &list, "wang.wei", "reject 12");
    assert!(
        reply(&no_reason).contains("Please give the reason."),
        "{no_reason:?}"
    );
    let not_waiting = run_reviewed(Review::Leader, &tasks(), "wang.wei", "reject 12 why");
    assert!(
        not_waiting.changes.is_empty() && reply(&not_waiting).contains("not awaiting sign-off"),
        "{not_waiting:?}"
    );
}

#[test]
fn a_task_without_a_known_leader_is_signed_off_by_the_admins_and_admins_review_means_admins_only() {
    use crate::config::Review;
    // Task 4 has no leader: its owner's done goes to the admins.
    let o = run_reviewed(Review::Leader, &tasks(), "li.ming", "done 4");
    assert_eq!(notified(&o), [Some("admin".to_string())]);
    // Under `admins`, the leader is an owner's peer: his done waits too, and he cannot approve.
    let list = with_12_in_review();
    let refused = run_reviewed(Review::Admins, &list, "wang.wei", "approve 12");
    assert!(reply(&refused).contains("by 管理员甲"), "{refused:?}");
    let approved = run_reviewed(Review::Admins, &list, "admin", "approve 12");
    assert_eq!(approved.changes.len(), 1, "{approved:?}");
}

#[test]
fn without_sign_off_xiaohao_still_closes_a_task_as_done_did() {
    use crate::config::Review;
    let o = run_reviewed(Review::None, &tasks(), "sun.qiang", "销号 12");
    assert_eq!(
        o.changes[0],
        Change::Status {
            task_id: "12".into(),
            old: Status::InProgress,
            new: Status::Done,
        }
    );
    assert!(o.notices.is_empty(), "{o:?}");
    assert_eq!(
        parse("退回 12 现场仍有垃圾"),
        cmd(
            Lang::Zh,
            Command::Reject {
                id: "12".into(),
                reason: "现场仍有垃圾".into()
            }
        )
    );
}

// ---------------------------------------------------------------- extensions (延期申请)

#[test]
fn an_owner_asks_for_an_extension_and_the_leader_is_told() {
    use crate::config::Review;
    let o = run_reviewed(
        Review::None,
        &tasks(),
        "sun.qiang",
        "extend 12 2027-01-31 waiting for funding",
    );
    assert_eq!(
        o.changes,
        [Change::ExtensionAsked {
            task_id: "12".into(),
            to: day(2027, 1, 31),
            reason: "waiting for funding".into(),
        }]
    );
    assert_eq!(
        o.changes[0].new_value().as_deref(),
        Some("2027-01-31 waiting for funding")
    );
    assert_eq!(notified(&o), [Some("wang.wei".to_string())]);
    assert!(o.notices[0].text.contains("approve extension 12"), "{o:?}");
    // In Chinese, with a date as people write it; a year-less date is the next one to come.
    let zh = run("sun.qiang", "申请延期 12 1月31日 资金未到位");
    assert!(
        matches!(&zh.changes[..], [Change::ExtensionAsked { to, .. }] if *to == day(2027, 1, 31)),
        "{zh:?}"
    );
    // Task 4 was due on 20 November: asking now is allowed, and marked late.
    let late = run("li.ming", "申请延期 4 2026-12-20 材料未到");
    assert!(reply(&late).contains("逾期后申请"), "{late:?}");
}

#[test]
fn an_extension_must_name_a_later_readable_date_and_a_reason() {
    for (text, want) in [
        ("extend 12", "The date to extend to is missing."),
        ("extend 12 2027-01-31", "Please give the reason."),
        (
            "extend 12 someday because",
            "Cannot read \"someday\" as a date",
        ),
        (
            "extend 12 2026-12-01 because",
            "must be after the current deadline",
        ),
    ] {
        let o = run_reviewed(crate::config::Review::None, &tasks(), "sun.qiang", text);
        assert!(o.changes.is_empty(), "{text}: {o:?}");
        assert!(reply(&o).contains(want), "{text}: {}", reply(&o));
    }
}

#[test]
fn only_the_leader_or_an_admin_answers_an_extension_and_the_asker_hears_it() {
    use crate::config::Review;
    let mut list = tasks();
    for t in list.iter_mut().filter(|t| t.id == "12") {
        t.extension.pending = Some(crate::tasks::ExtensionRequest {
            to: day(2027, 1, 31),
            reason: "waiting for funding".into(),
            by: "sun.qiang".into(),
            at_ms: 0,
            late: false,
        });
    }
    let refused = run_reviewed(Review::None, &list, "sun.qiang", "approve extension 12");
    assert!(refused.changes.is_empty(), "{refused:?}");
    let granted = run_reviewed(Review::None, &list, "wang.wei", "approve extension 12");
    assert_eq!(
        granted.changes,
        [Change::Due {
            task_id: "12".into(),
            old: Some(day(2026, 12, 31)),
            new: day(2027, 1, 31),
        }]
    );
    assert_eq!(notified(&granted), [Some("sun.qiang".to_string())]);
    let denied = run_reviewed(Review::None, &list, "admin", "驳回延期 12 按原时限完成");
    assert_eq!(
        denied.changes,
        [Change::ExtensionDenied {
            task_id: "12".into(),
            reason: "按原时限完成".into(),
        }]
    );
    assert!(
        denied.notices[0].text.contains("按原时限完成"),
        "{denied:?}"
    );
    // Nothing to answer on a task without a request.
    let none = run_reviewed(Review::None, &tasks(), "wang.wei", "approve extension 12");
    assert!(reply(&none).contains("no extension request"), "{none:?}");
    assert_eq!(
        parse("deny extension 12 keep it"),
        cmd(
            Lang::En,
            Command::DenyExtension {
                id: "12".into(),
                reason: "keep it".into()
            }
        )
    );
}

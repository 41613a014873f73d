//! Rendering the example lists for every implemented platform, snapshotted.
//!
//! The tasks are built by hand from `fixtures/rectification-list.csv` and
//! `fixtures/team-tasks.csv` (as the importer would produce them), so these tests do not depend
//! on the importer.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use weekbell::config::{Locale, WarningLevel, default_warning_levels};
use weekbell::people::{Directory, Person};
use weekbell::platforms::Platform;
use weekbell::render::{
    DigestInput, RenderOptions, RenderTarget, RenderedMessage, Renderer, WeekActivity,
};
use weekbell::tasks::warning::Judge;
use weekbell::tasks::{Assignee, RowRef, Status, Task};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

fn today() -> NaiveDate {
    date("2026-11-27")
}

fn person(id: &str, name: &str, mobile: Option<&str>, handles: &[(Platform, &str)]) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        unit: None,
        mobile: mobile.map(str::to_string),
        email: None,
        handles: handles
            .iter()
            .map(|(p, h)| (*p, h.to_string()))
            .collect::<BTreeMap<_, _>>(),
        admin: false,
    }
}

/// Resolves a written name the way the importer does: by id or display name.
fn assignee(people: &Directory, name: &str) -> Assignee {
    Assignee {
        name: name.into(),
        person: people.resolve(name).map(|p| p.id.clone()),
    }
}

use Platform::{Dingtalk as DT, Feishu as FS, Slack as SL, Wecom as WC};

/// Leaders and owners of the rectification list. Some have no handle on some platforms
/// (mentioned by name there, not notified), 冯磊 has none at all, 刘晓芳 only a mobile on
/// DingTalk, and 郑洁 is not configured.
fn county_people() -> Directory {
    Directory::new(vec![
        person(
            "zhang.mingyuan",
            "张明远",
            Some("13800000010"),
            &[
                (DT, "staff-0010"),
                (WC, "ZhangMingYuan"),
                (FS, "ou_zhangmingyuan"),
            ],
        ),
        person(
            "liu.xiaofang",
            "刘晓芳",
            Some("13800000011"),
            &[(WC, "LiuXiaoFang")],
        ),
        person(
            "chen.jianguo",
            "陈建国",
            Some("13800000012"),
            &[
                (DT, "staff-0012"),
                (WC, "ChenJianGuo"),
                (FS, "ou_chenjianguo"),
            ],
        ),
        person("wang.lihua", "王丽华", None, &[(DT, "staff-0013")]),
        person("zhao.zhigang", "赵志刚", None, &[(FS, "ou_zhaozhigang")]),
        person(
            "sun.qiang",
            "孙强",
            Some("13800000001"),
            &[(DT, "staff-0001"), (WC, "SunQiang"), (FS, "ou_sunqiang")],
        ),
        person(
            "zhou.min",
            "周敏",
            Some("13800000002"),
            &[(DT, "staff-0002"), (WC, "ZhouMin"), (FS, "ou_zhoumin")],
        ),
        person("wu.tao", "吴涛", Some("13800000003"), &[(WC, "WuTao")]),
        person("feng.lei", "冯磊", None, &[]),
        person(
            "he.jing",
            "何静",
            None,
            &[(DT, "staff-0006"), (FS, "ou_hejing")],
        ),
        person(
            "xu.bin",
            "许斌",
            Some("13800000007"),
            &[(DT, "staff-0007"), (WC, "XuBin")],
        ),
        person("han.xue", "韩雪", None, &[(DT, "staff-0008")]),
        person(
            "deng.chao",
            "邓超",
            None,
            &[(DT, "staff-0009"), (WC, "DengChao")],
        ),
        person("cao.yang", "曹阳", None, &[(FS, "ou_caoyang")]),
        person("peng.liang", "彭亮", None, &[(DT, "staff-0015")]),
        person(
            "zeng.lin",
            "曾琳",
            None,
            &[(WC, "ZengLin"), (FS, "ou_zenglin")],
        ),
    ])
}

#[allow(clippy::too_many_arguments)]
fn task(
    people: &Directory,
    row: usize,
    category: &str,
    title: &str,
    unit: &str,
    leader: &str,
    owners: &[&str],
    due: Option<&str>,
    status: Status,
    notes: &str,
) -> Task {
    Task {
        id: row.to_string(),
        title: title.into(),
        unit: unit.into(),
        leader: (!leader.is_empty()).then(|| assignee(people, leader)),
        owners: owners.iter().map(|o| assignee(people, o)).collect(),
        due: due.map(date),
        unreadable_due: None,
        due_anchored: None,
        extension: Default::default(),
        co_leaders: Vec::new(),
        list: None,
        status,
        progress: None,
        notes: notes.into(),
        category: category.into(),
        channel: None,
        details: Default::default(),
        source: RowRef {
            sheet: "rectification-list.csv".into(),
            row: row + 1,
        },
    }
}

/// The 18 rows of `fixtures/rectification-list.csv`, with 整改中 → in_progress, 已完成 → done,
/// 未开始 → todo, 受阻 → blocked, `2026年12月底前` → 2026-12-31 and `长期坚持` → no deadline.
#[rustfmt::skip]
fn county_tasks(p: &Directory) -> Vec<Task> {
    use Status::*;
    vec![
        task(p, 1, "大气污染", "县城建成区餐饮油烟净化设施未全覆盖", "县城管局", "张明远", &["孙强"], Some("2026-12-31"), InProgress, "已完成 62 家，剩余 18 家"),
        task(p, 2, "大气污染", "首山镇散煤燃烧治理不到位", "首山镇", "张明远", &["周敏"], Some("2026-12-31"), InProgress, ""),
        task(p, 3, "水污染", "太子河支流入河排污口排查整治", "县生态环境分局", "刘晓芳", &["吴涛"], Some("2026-11-30"), Done, "12 处排污口已封堵"),
        task(p, 4, "水污染", "刘二堡镇黑臭水体治理", "刘二堡镇", "刘晓芳", &["郑洁"], Some("2026-12-15"), InProgress, ""),
        task(p, 5, "水污染", "小北河镇污水处理站运行不稳定", "小北河镇", "刘晓芳", &["冯磊"], Some("2026-12-20"), Todo, "待设备到货"),
        task(p, 6, "土壤污染", "废弃工业场地土壤修复方案编制", "县自然资源局", "陈建国", &["何静"], Some("2027-03-31"), InProgress, ""),
        task(p, 7, "固体废物", "唐马寨镇建筑垃圾非法倾倒点清理", "唐马寨镇", "陈建国", &["许斌"], Some("2026-11-20"), InProgress, "已清理 3 处，剩 2 处"),
        task(p, 8, "固体废物", "医疗废物暂存点规范化管理", "县卫健局", "陈建国", &["韩雪"], Some("2026-12-10"), Done, ""),
        task(p, 9, "农村人居环境", "穆家镇农村生活垃圾收运体系建设", "穆家镇", "王丽华", &["邓超"], Some("2027-01-31"), InProgress, ""),
        task(p, 10, "农村人居环境", "柳壕镇农村厕所改造后续管护", "柳壕镇", "王丽华", &["曹阳"], None, InProgress, "每月巡查"),
        task(p, 11, "耕地保护", "黄泥洼镇耕地“非农化”问题整改", "黄泥洼镇", "赵志刚", &["彭亮"], Some("2026-12-31"), Todo, ""),
        task(p, 12, "耕地保护", "耕地“非粮化”问题排查", "县农业农村局", "赵志刚", &["曾琳"], Some("2026-12-31"), InProgress, ""),
        task(p, 13, "督察整改", "中央生态环保督察反馈问题第 7 项", "县生态环境分局", "张明远", &["吴涛"], Some("2026-11-25"), InProgress, "已提交销号材料"),
        task(p, 14, "督察整改", "省环保督察交办信访件办理", "县生态环境分局", "张明远", &["孙强"], Some("2026-12-05"), Blocked, "涉及企业停产，需协调"),
        task(p, 15, "清洁能源", "公共建筑清洁取暖改造", "县住建局", "王丽华", &["邓超"], Some("2027-02-28"), Todo, ""),
        task(p, 16, "畜禽养殖", "规模养殖场粪污资源化利用", "县农业农村局", "赵志刚", &["曾琳"], Some("2026-12-20"), InProgress, ""),
        task(p, 17, "水污染", "河长制巡河问题整改（四条河流）", "县水利局", "刘晓芳", &["冯磊"], Some("2026-12-31"), InProgress, ""),
        task(p, 18, "大气污染", "重点企业VOCs治理设施升级", "县生态环境分局", "张明远", &["周敏", "孙强"], Some("2027-01-15"), Todo, "两人共同负责"),
    ]
}

fn county_activity() -> WeekActivity {
    WeekActivity {
        completed_since: vec!["3".into()],
        reported_units: ["县生态环境分局", "县城管局", "穆家镇"]
            .into_iter()
            .map(String::from)
            .collect(),
    }
}

fn team_people() -> Directory {
    Directory::new(vec![
        person("alice", "Alice", None, &[(SL, "U01ALICE")]),
        person("bob", "Bob", None, &[(SL, "U02BOB")]),
        person("carol", "Carol", None, &[(SL, "U03CAROL")]),
        person("dave", "Dave", None, &[]),
        person("erin", "Erin", None, &[(SL, "U05ERIN")]),
    ])
}

/// The 7 rows of `fixtures/team-tasks.csv` (`team` → unit, `owner` split at `;`).
#[rustfmt::skip]
fn team_tasks(p: &Directory) -> Vec<Task> {
    use Status::*;
    let t = |row: usize, id: &str, title: &str, owners: &[&str], team: &str, due: Option<&str>, status: Status, notes: &str| Task {
        id: id.into(),
        source: RowRef {
            sheet: "team-tasks.csv".into(),
            row: row + 1,
        },
        ..task(p, row, "", title, team, "", owners, due, status, notes)
    };
    vec![
        t(1, "API-101", "Ship rate limiter for the public API", &["alice"], "platform", Some("2026-12-04"), InProgress, ""),
        t(2, "API-102", "Rotate TLS certificates on edge nodes", &["bob"], "platform", Some("2026-11-27"), Todo, "expires Dec 10"),
        t(3, "WEB-210", "Fix checkout page layout on mobile", &["carol"], "web", Some("2026-12-02"), Done, ""),
        t(4, "WEB-211", "Accessibility audit follow-ups", &["carol", "dave"], "web", Some("2026-12-18"), InProgress, "shared"),
        t(5, "OPS-330", "Upgrade PostgreSQL 15 to 17", &["erin"], "ops", Some("2027-01-15"), Blocked, "waiting for vendor window"),
        t(6, "OPS-331", "Weekly backup restore drill", &["erin"], "ops", None, Ongoing, "every Friday"),
        t(7, "DOC-400", "Write onboarding guide", &["frank"], "docs", Some("2026-12-11"), Todo, ""),
    ]
}

fn renderer() -> Renderer {
    Renderer::new(RenderOptions::default()).unwrap_or_else(|e| panic!("renderer: {e}"))
}

fn digest(
    platform: Platform,
    locale: Locale,
    tasks: &[Task],
    people: &Directory,
    activity: &WeekActivity,
) -> RenderedMessage {
    let levels = default_warning_levels(locale, 7);
    let judge = sample_judge(&levels);
    let input = DigestInput {
        tasks,
        today: today(),
        period_start: Some(date("2026-11-20")),
        period_end: today(),
        activity,
        // Shown on the console only, so that the footer is covered by one snapshot.
        stale_list_note: (platform == Platform::Console)
            .then_some("任务清单最近一次读取失败（问题清单第 9 行整改时限无法识别），本期沿用 11月26日 读取的清单。"),
        warnings: Some(&judge),
        absences: None,
    };
    renderer()
        .digest(&RenderTarget::new(platform, locale), &input, people)
        .unwrap_or_else(|e| panic!("digest for {platform}: {e}"))
}

/// The built-in warning levels, with the list dated 24 November, three days before the
/// samples' day and nothing recorded since: overdue tasks are red, those whose progress lags
/// their time yellow, and silence is not yet a week long.
fn sample_judge(levels: &[WarningLevel]) -> Judge<'_> {
    Judge::new(levels, &[], chrono_tz::UTC, Some(date("2026-11-24")))
}

fn reminders(
    platform: Platform,
    locale: Locale,
    tasks: &[Task],
    people: &Directory,
) -> Vec<RenderedMessage> {
    let levels = default_warning_levels(locale, 7);
    renderer()
        .reminders(
            &RenderTarget::new(platform, locale),
            tasks,
            today(),
            3,
            Some(&sample_judge(&levels)),
            people,
        )
        .unwrap_or_else(|e| panic!("reminders for {platform}: {e}"))
}

/// A readable dump of messages: each part's title, mentions and text.
fn dump(messages: &[RenderedMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        if let Some(r) = &m.recipient {
            out.push_str(&format!("=== to {r}\n"));
        }
        for p in &m.parts {
            let who: Vec<String> = p
                .mentions
                .iter()
                .map(|m| {
                    format!(
                        "{}={}",
                        m.name,
                        m.handle.as_deref().or(m.mobile.as_deref()).unwrap_or("")
                    )
                })
                .collect();
            out.push_str(&format!(
                "--- part {}/{} | title: {} | notifies: [{}]\n{}\n",
                p.part,
                p.parts,
                p.title,
                who.join(", "),
                p.text
            ));
        }
    }
    out
}

fn bodies(platform: Platform, messages: &[RenderedMessage]) -> Vec<serde_json::Value> {
    messages
        .iter()
        .flat_map(|m| m.parts.iter().map(|p| platform.request_body(p)))
        .collect()
}

#[test]
fn county_digest_zh() {
    let people = county_people();
    let tasks = county_tasks(&people);
    let activity = county_activity();
    for (platform, name) in [
        (Platform::Console, "plain"),
        (Platform::Dingtalk, "dingtalk"),
        (Platform::Wecom, "wecom"),
        (Platform::Feishu, "feishu"),
    ] {
        let msg = digest(platform, Locale::ZhCn, &tasks, &people, &activity);
        insta::assert_snapshot!(
            format!("county_digest_{name}"),
            dump(std::slice::from_ref(&msg))
        );
        insta::assert_json_snapshot!(
            format!("county_digest_{name}_body"),
            bodies(platform, &[msg])
        );
    }
}

#[test]
fn county_reminders_zh() {
    let people = county_people();
    let tasks = county_tasks(&people);
    for (platform, name) in [
        (Platform::Console, "plain"),
        (Platform::Dingtalk, "dingtalk"),
        (Platform::Wecom, "wecom"),
        (Platform::Feishu, "feishu"),
    ] {
        let msgs = reminders(platform, Locale::ZhCn, &tasks, &people);
        insta::assert_snapshot!(format!("county_reminders_{name}"), dump(&msgs));
    }
    let msgs = reminders(Platform::Dingtalk, Locale::ZhCn, &tasks, &people);
    insta::assert_json_snapshot!(
        "county_reminders_dingtalk_body",
        bodies(Platform::Dingtalk, &msgs)
    );
}

#[test]
fn county_report_call_zh() {
    let people = county_people();
    let tasks = county_tasks(&people);
    let msg = renderer()
        .report_call(
            &RenderTarget::new(Platform::Dingtalk, Locale::ZhCn),
            &tasks,
            today(),
            &county_activity(),
            &people,
        )
        .unwrap_or_else(|e| panic!("report call: {e}"));
    let msg = msg.unwrap_or_else(|| panic!("some units have not reported"));
    insta::assert_snapshot!(
        "county_report_call_dingtalk",
        dump(std::slice::from_ref(&msg))
    );
    insta::assert_json_snapshot!(
        "county_report_call_dingtalk_body",
        bodies(Platform::Dingtalk, &[msg])
    );
}

#[test]
fn report_call_is_skipped_when_every_unit_reported() {
    let people = county_people();
    let tasks = county_tasks(&people);
    let activity = WeekActivity {
        reported_units: tasks.iter().map(|t| t.unit.clone()).collect(),
        ..Default::default()
    };
    let msg = renderer()
        .report_call(
            &RenderTarget::new(Platform::Wecom, Locale::ZhCn),
            &tasks,
            today(),
            &activity,
            &people,
        )
        .unwrap_or_else(|e| panic!("report call: {e}"));
    assert!(msg.is_none());
}

#[test]
fn team_digest_and_reminders_en_slack() {
    let people = team_people();
    let tasks = team_tasks(&people);
    let activity = WeekActivity {
        completed_since: vec!["WEB-210".into()],
        reported_units: ["web".to_string()].into(),
    };
    let msg = digest(Platform::Slack, Locale::En, &tasks, &people, &activity);
    insta::assert_snapshot!("team_digest_slack", dump(std::slice::from_ref(&msg)));
    insta::assert_json_snapshot!("team_digest_slack_body", bodies(Platform::Slack, &[msg]));
    let msgs = reminders(Platform::Slack, Locale::En, &tasks, &people);
    insta::assert_snapshot!("team_reminders_slack", dump(&msgs));
    insta::assert_json_snapshot!("team_reminders_slack_body", bodies(Platform::Slack, &msgs));
}

#[test]
fn team_digest_and_reminders_en_telegram() {
    // Alice by user id (a link that notifies), Bob by username, Carol's handle is not a
    // Telegram one (named, not notified), the others without one.
    let people = Directory::new(vec![
        person("alice", "Alice", None, &[(Platform::Telegram, "111000111")]),
        person("bob", "Bob <ops>", None, &[(Platform::Telegram, "@bob_tg")]),
        person("carol", "Carol", None, &[(Platform::Telegram, "carol.c")]),
        person("dave", "Dave", None, &[]),
        person("erin", "Erin", None, &[]),
    ]);
    let tasks = team_tasks(&people);
    let activity = WeekActivity {
        completed_since: vec!["WEB-210".into()],
        reported_units: ["web".to_string()].into(),
    };
    let msg = digest(Platform::Telegram, Locale::En, &tasks, &people, &activity);
    insta::assert_snapshot!("team_digest_telegram", dump(std::slice::from_ref(&msg)));
    insta::assert_json_snapshot!(
        "team_digest_telegram_body",
        bodies(Platform::Telegram, &[msg])
    );
    let msgs = reminders(Platform::Telegram, Locale::En, &tasks, &people);
    let text = dump(&msgs);
    assert!(
        text.contains("<a href=\"tg://user?id=111000111\">Alice</a>"),
        "{text}"
    );
    assert!(text.contains("@bob_tg"), "{text}");
    insta::assert_snapshot!("team_reminders_telegram", text);
}

#[test]
fn team_reminders_generic_webhook() {
    let people = team_people();
    let tasks = team_tasks(&people);
    let msgs = reminders(Platform::Webhook, Locale::En, &tasks, &people);
    insta::assert_json_snapshot!(
        "team_reminders_webhook_body",
        bodies(Platform::Webhook, &msgs)
    );
}

#[test]
fn mentions_follow_each_platforms_rules() {
    let people = county_people();
    let tasks = county_tasks(&people);
    // 唐马寨镇's task 7 is 7 days overdue: its owner 许斌 and leader 陈建国 are mentioned.
    let xu = |platform| {
        reminders(platform, Locale::ZhCn, &tasks, &people)
            .into_iter()
            .find(|m| m.recipient.as_deref() == Some("xu.bin"))
            .unwrap_or_else(|| panic!("no reminder for xu.bin"))
    };
    let dt = xu(Platform::Dingtalk);
    let part = &dt.parts[0];
    assert!(
        part.text.contains("@staff-0007") && part.text.contains("@staff-0012"),
        "{}",
        part.text
    );
    let body = Platform::Dingtalk.request_body(part);
    assert_eq!(
        body["at"]["atUserIds"],
        serde_json::json!(["staff-0007", "staff-0012"])
    );
    let fs = xu(Platform::Feishu);
    // 许斌 has no Feishu handle: named, not notified.
    assert!(fs.parts[0].text.contains("@许斌 "), "{}", fs.parts[0].text);
    assert!(fs.parts[0].text.contains("<at id=ou_chenjianguo></at>"));
    assert_eq!(fs.parts[0].mentions.len(), 1);
    // 刘晓芳 has only a mobile on DingTalk; 吴涛 too.
    let wu = reminders(Platform::Dingtalk, Locale::ZhCn, &tasks, &people)
        .into_iter()
        .find(|m| m.recipient.as_deref() == Some("wu.tao"))
        .unwrap_or_else(|| panic!("no reminder for wu.tao"));
    let body = Platform::Dingtalk.request_body(&wu.parts[0]);
    assert_eq!(body["at"]["atMobiles"], serde_json::json!(["13800000003"]));
    assert!(wu.parts[0].text.contains("@13800000003"));
    // 郑洁 is not configured: still reminded, by name.
    let zheng = reminders(Platform::Wecom, Locale::ZhCn, &tasks, &people)
        .into_iter()
        .find(|m| m.recipient.as_deref() == Some("郑洁"))
        .unwrap_or_else(|| panic!("no reminder for 郑洁"));
    assert!(
        zheng.parts[0]
            .text
            .starts_with("### 【整改事项提醒】\n\n@郑洁 您好"),
        "{}",
        zheng.parts[0].text
    );
    assert!(zheng.parts[0].mentions.is_empty());
}

#[test]
fn text_message_types_are_plain_and_still_notify() {
    // 吴涛 without his WeCom id: WeCom text can still notify him by mobile.
    let people = Directory::new(
        county_people()
            .all()
            .iter()
            .cloned()
            .map(|mut p| {
                if p.id == "wu.tao" {
                    p.handles.remove(&Platform::Wecom);
                }
                p
            })
            .collect(),
    );
    let tasks = county_tasks(&people);
    let text_reminders = |platform: Platform| {
        let dialect = platform
            .text_dialect()
            .unwrap_or_else(|| panic!("{platform} has a text type"));
        renderer()
            .reminders(
                &RenderTarget::new(platform, Locale::ZhCn).dialect(dialect),
                &tasks,
                today(),
                3,
                None,
                &people,
            )
            .unwrap_or_else(|e| panic!("reminders for {platform}: {e}"))
            .into_iter()
            .map(|m| (m, dialect))
            .collect::<Vec<_>>()
    };
    // DingTalk text: no markdown, and the mention is still `@id` in the text and in `at`.
    let dt = text_reminders(Platform::Dingtalk);
    let (xu, dialect) = dt
        .iter()
        .find(|(m, _)| m.recipient.as_deref() == Some("xu.bin"))
        .unwrap_or_else(|| panic!("no reminder for xu.bin"));
    let part = &xu.parts[0];
    assert!(
        !part.text.contains("**") && !part.text.contains("###"),
        "{}",
        part.text
    );
    assert!(part.text.contains("@staff-0007"), "{}", part.text);
    let body = Platform::Dingtalk.request_body_in(part, *dialect);
    assert_eq!(body["msgtype"], "text");
    assert_eq!(body["text"]["content"], part.text.as_str());
    assert_eq!(
        body["at"]["atUserIds"],
        serde_json::json!(["staff-0007", "staff-0012"])
    );
    // WeCom text: people are named in the text and notified through the two lists; someone
    // with only a mobile is notified by mobile, which WeCom markdown cannot do.
    let wc = text_reminders(Platform::Wecom);
    let (wu, dialect) = wc
        .iter()
        .find(|(m, _)| m.recipient.as_deref() == Some("wu.tao"))
        .unwrap_or_else(|| panic!("no reminder for wu.tao"));
    let part = &wu.parts[0];
    assert!(part.text.contains("@吴涛"), "{}", part.text);
    let body = Platform::Wecom.request_body_in(part, *dialect);
    assert_eq!(body["msgtype"], "text");
    assert_eq!(
        body["text"]["mentioned_mobile_list"],
        serde_json::json!(["13800000003"]),
        "{body}"
    );
    // Each part stays within WeCom's 2,048-byte limit for text.
    for (m, _) in &wc {
        for p in &m.parts {
            assert!(p.text.len() <= 2048, "{} bytes", p.text.len());
        }
    }
}

#[test]
fn user_text_cannot_break_the_layout() {
    let people = county_people();
    let mut tasks = county_tasks(&people);
    tasks[6].title = "# 清理 **重点** [链接](http://x) <at id=all></at>\n> 引用".into();
    let msg = digest(
        Platform::Feishu,
        Locale::ZhCn,
        &tasks,
        &people,
        &county_activity(),
    );
    let text = &msg.parts[0].text;
    assert!(
        text.contains(
            "【7】＃ 清理 ＊＊重点＊＊ ［链接］(http://x) ＜at id=all>＜/at> > 引用（唐马寨镇）"
        ),
        "{text}"
    );
    let msg = digest(
        Platform::Slack,
        Locale::ZhCn,
        &tasks,
        &people,
        &county_activity(),
    );
    assert!(
        msg.parts[0]
            .text
            .contains("&lt;at id=all&gt;&lt;/at&gt; &gt; 引用")
    );
}

#[test]
fn user_template_dir_overrides_one_kind() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(
        dir.path().join("digest.j2"),
        "{% set title = '周报' %}{{ heading(title) }}\n完成率 {{ bar(rate) }}，逾期：{% for t in overdue.items %}{{ t.id }}{{ mention(t.leader) }} {% endfor %}",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    weekbell::render::check_templates(dir.path()).unwrap_or_else(|e| panic!("check: {e}"));
    let people = county_people();
    let tasks = county_tasks(&people);
    let activity = county_activity();
    let input = DigestInput {
        tasks: &tasks,
        today: today(),
        period_start: None,
        period_end: today(),
        activity: &activity,
        stale_list_note: Some("任务清单读取失败"),
        warnings: None,
        absences: None,
    };
    let mut preloaded = renderer();
    preloaded
        .load_template_dir(dir.path())
        .unwrap_or_else(|e| panic!("load: {e}"));
    for r in [renderer(), preloaded] {
        let target =
            RenderTarget::new(Platform::Dingtalk, Locale::ZhCn).template_dir(Some(dir.path()));
        let msg = r
            .digest(&target, &input, &people)
            .unwrap_or_else(|e| panic!("digest: {e}"));
        assert_eq!(msg.parts[0].title, "周报");
        assert_eq!(
            msg.parts[0].text,
            "### 周报  \n完成率 ▓░░░░░░░░░ 11%，逾期：7@staff-0012 13@staff-0010  "
        );
        let body = Platform::Dingtalk.request_body(&msg.parts[0]);
        assert_eq!(
            body["at"]["atUserIds"],
            serde_json::json!(["staff-0012", "staff-0010"])
        );
        // The reminder template is not in the directory: the built-in one is used.
        let rem = r
            .reminders(&target, &tasks, today(), 3, None, &people)
            .unwrap_or_else(|e| panic!("reminders: {e}"));
        assert!(rem[0].parts[0].text.starts_with("### 【整改事项提醒】"));
    }
}

/// A big list, as the benchmark builds it: many units, owners, statuses and due dates.
fn big_list(n: usize) -> (Vec<Task>, Directory) {
    let people: Vec<Person> = (0..2000)
        .map(|i| {
            person(
                &format!("p{i}"),
                &format!("责任人{i}"),
                Some(&format!("139{i:08}")),
                &[(WC, &format!("wc{i}")), (DT, &format!("dt{i}"))],
            )
        })
        .collect();
    let people = Directory::new(people);
    let statuses = [
        Status::Todo,
        Status::InProgress,
        Status::InProgress,
        Status::Blocked,
        Status::Done,
        Status::Ongoing,
        Status::Cancelled,
    ];
    let tasks = (0..n)
        .map(|i| {
            let owner = format!("p{}", i % 2000);
            let due =
                (i % 11 != 0).then(|| today() + chrono::Duration::days((i % 120) as i64 - 60));
            Task {
                id: (i + 1).to_string(),
                title: format!("第{i}项整改任务：农村人居环境整治提升"),
                unit: format!("单位{}", i % 300),
                leader: Some(Assignee {
                    name: format!("领导{}", i % 40),
                    person: None,
                }),
                owners: vec![Assignee {
                    name: owner.clone(),
                    person: Some(owner),
                }],
                due,
                unreadable_due: None,
                due_anchored: None,
                extension: Default::default(),
                co_leaders: Vec::new(),
                list: None,
                status: statuses[i % statuses.len()],
                progress: None,
                notes: if i % 7 == 3 {
                    "需协调资金".into()
                } else {
                    String::new()
                },
                category: String::new(),
                channel: None,
                details: Default::default(),
                source: RowRef {
                    sheet: "big".into(),
                    row: i + 2,
                },
            }
        })
        .collect();
    (tasks, people)
}

#[test]
fn huge_digest_splits_into_wecom_parts_without_loss() {
    let (tasks, people) = big_list(100_000);
    let activity = WeekActivity {
        completed_since: (0..100_000)
            .step_by(5)
            .map(|i: usize| (i + 1).to_string())
            .collect(),
        reported_units: (0..300).step_by(3).map(|i| format!("单位{i}")).collect(),
    };
    let input = DigestInput {
        tasks: &tasks,
        today: today(),
        period_start: Some(date("2026-11-20")),
        period_end: today(),
        activity: &activity,
        stale_list_note: None,
        warnings: None,
        absences: None,
    };
    let r = renderer();
    let target = RenderTarget::new(Platform::Wecom, Locale::ZhCn);
    let body = r
        .digest_body(&target, &input, &people)
        .unwrap_or_else(|e| panic!("body: {e}"));
    let parts = r
        .split_body(&target, &body)
        .unwrap_or_else(|e| panic!("split: {e}"));
    assert!(parts.len() > 1, "expected several parts");
    for (i, p) in parts.iter().enumerate() {
        assert!(
            p.text.len() <= 4096,
            "part {} has {} bytes",
            i + 1,
            p.text.len()
        );
        assert_eq!((p.part, p.parts), (i + 1, parts.len()));
        assert!(
            p.text
                .starts_with(&format!("({}/{})\n", i + 1, parts.len()))
        );
    }
    let rejoined = parts
        .iter()
        .map(|p| p.text.split_once('\n').map_or("", |x| x.1))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(rejoined, body.text);
    // The totals count every task even though the sections are capped.
    assert!(body.text.contains("共 100000 项"));
    assert!(body.text.contains("……另有"));
}

#[test]
fn dingtalk_parts_fit_the_request_body_limit() {
    let (tasks, people) = big_list(20_000);
    let activity = WeekActivity::default();
    let input = DigestInput {
        tasks: &tasks,
        today: today(),
        period_start: None,
        period_end: today(),
        activity: &activity,
        stale_list_note: None,
        warnings: None,
        absences: None,
    };
    let r = Renderer::new(RenderOptions { section_cap: 2_000 }).unwrap_or_else(|e| panic!("{e}"));
    let msg = r
        .digest(
            &RenderTarget::new(Platform::Dingtalk, Locale::ZhCn),
            &input,
            &people,
        )
        .unwrap_or_else(|e| panic!("digest: {e}"));
    assert!(msg.parts.len() > 3);
    for p in &msg.parts {
        let body = serde_json::to_vec(&Platform::Dingtalk.request_body(p)).unwrap_or_default();
        assert!(body.len() <= 20_000, "{} bytes", body.len());
        assert!(p.title.ends_with(&format!("({}/{})", p.part, p.parts)));
    }
}

/// The team on Discord and Mattermost: Alice, Bob and Carol have handles there, Dave none, and
/// Erin's Discord handle is a username copied by mistake (named, not pinged).
fn chat_people() -> Directory {
    use Platform::{Discord as DC, Mattermost as MM};
    Directory::new(vec![
        person(
            "alice",
            "Alice",
            None,
            &[(DC, "80351110224678912"), (MM, "alice")],
        ),
        person(
            "bob",
            "Bob",
            None,
            &[(DC, "80351110224678913"), (MM, "bob")],
        ),
        person(
            "carol",
            "Carol",
            None,
            &[(DC, "80351110224678914"), (MM, "carol")],
        ),
        person("dave", "Dave", None, &[]),
        person("erin", "Erin", None, &[(DC, "erin#0042"), (MM, "erin")]),
    ])
}

#[test]
fn team_digest_and_reminders_en_discord_and_mattermost() {
    let people = chat_people();
    let mut tasks = team_tasks(&people);
    // Text from the sheet that must neither format nor ping.
    tasks[6].title =
        "Write **onboarding** guide @everyone <@&1> _see_ https://wiki.example.com/a_b".into();
    let activity = WeekActivity {
        completed_since: vec!["WEB-210".into()],
        reported_units: ["web".to_string()].into(),
    };
    for (platform, name) in [
        (Platform::Discord, "discord"),
        (Platform::Mattermost, "mattermost"),
    ] {
        let msg = digest(platform, Locale::En, &tasks, &people, &activity);
        insta::assert_snapshot!(
            format!("team_digest_{name}"),
            dump(std::slice::from_ref(&msg))
        );
        insta::assert_json_snapshot!(format!("team_digest_{name}_body"), bodies(platform, &[msg]));
        let msgs = reminders(platform, Locale::En, &tasks, &people);
        insta::assert_json_snapshot!(
            format!("team_reminders_{name}_body"),
            bodies(platform, &msgs)
        );
    }
}

#[test]
fn county_digest_zh_on_discord_splits_within_2000_characters() {
    let (tasks, people) = big_list(400);
    let activity = WeekActivity::default();
    let msg = digest(Platform::Discord, Locale::ZhCn, &tasks, &people, &activity);
    assert!(msg.parts.len() > 1);
    for p in &msg.parts {
        assert!(
            p.text.chars().count() <= 2000,
            "{} chars",
            p.text.chars().count()
        );
        let body = Platform::Discord.request_body(p);
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    }
}

/// The team list's people on Teams (a UPN, an Entra object id) and Google Chat (with and
/// without the `users/` prefix); Dave has neither.
fn team_people_teams_and_chat() -> Directory {
    use Platform::{Googlechat as GC, Teams as TM};
    Directory::new(vec![
        person(
            "alice",
            "Alice",
            None,
            &[(TM, "alice@contoso.com"), (GC, "users/115236089054")],
        ),
        person(
            "bob",
            "Bob",
            None,
            &[
                (TM, "8c2f3a1e-4b6d-4f0a-9e7c-1d2b3c4d5e6f"),
                (GC, "104857600211"),
            ],
        ),
        person(
            "carol",
            "Carol",
            None,
            &[(TM, "carol@contoso.com"), (GC, "users/100200300400")],
        ),
        person("dave", "Dave", None, &[]),
        person(
            "erin",
            "Erin",
            None,
            &[(TM, "erin@contoso.com"), (GC, "users/111222333444")],
        ),
    ])
}

#[test]
fn team_digest_and_reminders_en_teams() {
    let people = team_people_teams_and_chat();
    let tasks = team_tasks(&people);
    let activity = WeekActivity {
        completed_since: vec!["WEB-210".into()],
        reported_units: ["web".to_string()].into(),
    };
    let msg = digest(Platform::Teams, Locale::En, &tasks, &people, &activity);
    // The card shows the title as its heading; the text does not repeat it.
    assert!(
        !msg.parts[0].text.contains(&msg.parts[0].title),
        "{}",
        msg.parts[0].text
    );
    insta::assert_snapshot!("team_digest_teams", dump(std::slice::from_ref(&msg)));
    insta::assert_json_snapshot!("team_digest_teams_body", bodies(Platform::Teams, &[msg]));
    let msgs = reminders(Platform::Teams, Locale::En, &tasks, &people);
    insta::assert_json_snapshot!("team_reminders_teams_body", bodies(Platform::Teams, &msgs));
    // Every mention in a card's text has its entity, matched on the exact text.
    for body in bodies(Platform::Teams, &msgs) {
        let card = &body["attachments"][0]["content"];
        let texts: String = card["body"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect();
        let entities = card["msteams"]["entities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(texts.matches("<at>").count(), entities.len(), "{texts}");
        for e in entities {
            assert!(texts.contains(e["text"].as_str().unwrap_or("?")), "{e}");
        }
    }
}

#[test]
fn county_digest_zh_teams() {
    let people = county_people();
    let tasks = county_tasks(&people);
    let msg = digest(
        Platform::Teams,
        Locale::ZhCn,
        &tasks,
        &people,
        &county_activity(),
    );
    insta::assert_json_snapshot!("county_digest_teams_body", bodies(Platform::Teams, &[msg]));
}

#[test]
fn team_digest_and_reminders_en_google_chat() {
    let people = team_people_teams_and_chat();
    let tasks = team_tasks(&people);
    let activity = WeekActivity {
        completed_since: vec!["WEB-210".into()],
        reported_units: ["web".to_string()].into(),
    };
    let msg = digest(Platform::Googlechat, Locale::En, &tasks, &people, &activity);
    insta::assert_snapshot!("team_digest_google_chat", dump(std::slice::from_ref(&msg)));
    insta::assert_json_snapshot!(
        "team_digest_google_chat_body",
        bodies(Platform::Googlechat, &[msg])
    );
    let msgs = reminders(Platform::Googlechat, Locale::En, &tasks, &people);
    insta::assert_snapshot!("team_reminders_google_chat", dump(&msgs));
    let alice = msgs
        .iter()
        .find(|m| m.recipient.as_deref() == Some("alice"))
        .unwrap_or_else(|| panic!("no reminder for alice"));
    assert!(
        alice.parts[0].text.contains("<users/115236089054>"),
        "{}",
        alice.parts[0].text
    );
    let dave = msgs
        .iter()
        .find(|m| m.recipient.as_deref() == Some("dave"))
        .unwrap_or_else(|| panic!("no reminder for dave"));
    assert!(
        dave.parts[0].text.contains("@Dave"),
        "{}",
        dave.parts[0].text
    );
    assert!(dave.parts[0].mentions.is_empty());
}

#[test]
fn big_lists_split_under_teams_and_google_chat_limits() {
    let (tasks, people) = big_list(3_000);
    let activity = WeekActivity::default();
    for (platform, max_body) in [(Platform::Teams, 27_000), (Platform::Googlechat, 32_000)] {
        let msg = digest(platform, Locale::ZhCn, &tasks, &people, &activity);
        assert!(msg.parts.len() > 1, "{platform}: {} parts", msg.parts.len());
        for p in &msg.parts {
            let body = serde_json::to_vec(&platform.request_body(p)).unwrap_or_default();
            assert!(body.len() <= max_body, "{platform}: {} bytes", body.len());
            if platform == Platform::Googlechat {
                assert!(
                    p.text.chars().count() <= 4_096,
                    "{}",
                    p.text.chars().count()
                );
            }
        }
    }
}

/// A level that names the leader and the admins mentions them in the owner's reminder, with
/// the task's label, even when `escalate_after` has not yet been reached.
#[test]
fn a_warning_level_naming_the_leader_and_admins_mentions_them_in_reminders() {
    let mut people = county_people().all().to_vec();
    people.push(Person {
        admin: true,
        ..person("lin.office", "林主任", None, &[(DT, "staff-0099")])
    });
    let people = Directory::new(people);
    let tasks = county_tasks(&people);
    // Red with the leader and admins after 5 days overdue; escalation by days only after 30.
    let levels = default_warning_levels(Locale::ZhCn, 5);
    let judge = sample_judge(&levels);
    let msgs = renderer()
        .reminders(
            &RenderTarget::new(DT, Locale::ZhCn),
            &tasks,
            today(),
            30,
            Some(&judge),
            &people,
        )
        .unwrap_or_else(|e| panic!("reminders: {e}"));
    let text = dump(&msgs);
    let xu = text
        .split("=== to ")
        .find(|m| m.starts_with("xu.bin"))
        .unwrap_or_else(|| panic!("no reminder to 许斌 in:\n{text}"));
    assert!(
        xu.contains("【7】红色预警，请包保领导 @") && xu.contains("督促落实"),
        "{xu}"
    );
    assert!(xu.contains("，请管理员 @") && xu.contains("关注"), "{xu}");
    assert!(
        xu.contains("林主任=staff-0099"),
        "the admin is not notified:\n{xu}"
    );
    // Task 13 is two days overdue: red, but at the level that tells the owners only.
    let wu = text
        .split("=== to ")
        .find(|m| m.starts_with("wu.tao"))
        .unwrap_or_else(|| panic!("no reminder to 吴涛 in:\n{text}"));
    assert!(!wu.contains("包保领导") && !wu.contains("管理员"), "{wu}");
}

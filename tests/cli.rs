//! Black-box tests of the `weekbell` binary on the shipped config and on broken copies of it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn weekbell(args: &[&str]) -> Output {
    weekbell_env(args, &[])
}

fn weekbell_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    weekbell_in(&repo(), args, env)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes a config into a temp dir whose relative paths point back at the shipped data.
fn temp_config(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config_dir = repo().join("config");
    let text = body.replace("@CONFIG@", &config_dir.display().to_string());
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write config: {e}"));
    (dir, path)
}

const MINIMAL: &str = r#"timezone = "Asia/Shanghai"
[tasks]
source = "@CONFIG@/tasks/rectification-list.xlsx"
[calendar]
holidays = ["@CONFIG@/holidays/2025.json", "@CONFIG@/holidays/2026.json"]
[channels.county]
platform = "console"
[[schedules]]
name = "monday-reminders"
cron = "0 9 * * MON"
kind = "reminders"
channels = ["county"]
on_holiday = "next_workday"
"#;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The first command of the README's quick start works on the shipped config.
#[test]
fn check_passes_on_the_shipped_config() {
    let o = weekbell(&["check"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("18 tasks"), "{out}");
    assert!(
        out.contains("todo 4 · in_progress 11 · blocked 1 · done 2 · ongoing 0 · cancelled 0"),
        "{out}"
    );
    assert!(out.contains("monday-reminders"), "{out}");
    assert!(out.contains("friday-digest"), "{out}");
}

fn assert_config_error(body: &str, env: &[(&str, &str)], line: usize, needle: &str) {
    let (_dir, path) = temp_config(body);
    let p = path.display().to_string();
    let o = weekbell_env(&["--config", &p, "check"], env);
    assert_exit(&o, 2);
    let err = stderr(&o);
    let location = format!("{}:{line}:", path.display());
    assert!(err.contains(&location), "expected {location} in:\n{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

#[test]
fn a_bad_cron_expression_exits_2_with_line_and_column() {
    let body = MINIMAL.replace("0 9 * * MON", "0 9 * * FUNDAY");
    assert_config_error(&body, &[], 10, "FUNDAY");
    let (_dir, path) = temp_config(&body);
    let o = weekbell(&["--config", &path.display().to_string(), "check"]);
    // The column of the cron string's opening quote on line 10: `cron = "…` → column 8.
    assert!(
        stderr(&o).contains(&format!("{}:10:8", path.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unknown_key_exits_2_with_line_and_column() {
    let body = MINIMAL.replace(
        "kind = \"reminders\"",
        "kind = \"reminders\"\ncolour = \"red\"",
    );
    assert_config_error(&body, &[], 12, "colour");
}

#[test]
fn a_missing_environment_variable_exits_2_naming_it() {
    let body = MINIMAL.replace(
        "platform = \"console\"",
        "platform = \"console\"\n[channels.group]\nplatform = \"slack\"\nwebhook = \"${WEEKBELL_TEST_UNSET_VAR}\"",
    );
    assert_config_error(&body, &[], 10, "WEEKBELL_TEST_UNSET_VAR");
}

#[test]
fn a_schedule_naming_a_missing_channel_exits_2() {
    let body = MINIMAL.replace(
        "channels = [\"county\"]",
        "channels = [\"county\", \"nowhere\"]",
    );
    assert_config_error(&body, &[], 12, "no channel named `nowhere`");
}

#[test]
fn several_problems_are_reported_together() {
    let body = MINIMAL
        .replace("Asia/Shanghai", "Asia/Atlantis")
        .replace("channels = [\"county\"]", "channels = [\"nowhere\"]");
    let (_dir, path) = temp_config(&body);
    let o = weekbell(&["--config", &path.display().to_string(), "check"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("Asia/Atlantis") && err.contains("nowhere"),
        "{err}"
    );
}

#[test]
fn a_literal_webhook_token_never_appears_in_an_error() {
    let body = MINIMAL.replace(
        "platform = \"console\"",
        "platform = \"console\"\n[channels.group]\nplatform = \"dingtalk\"\nwebhook = \"https://oapi.dingtalk.com/robot/send?access_token=SUPERSECRET123\"\napp_token = \"xapp-LEAKY\"",
    );
    let (_dir, path) = temp_config(&body);
    let o = weekbell(&["--config", &path.display().to_string(), "check"]);
    assert_exit(&o, 2);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("app_token"), "{all}");
    assert!(!all.contains("SUPERSECRET123"), "{all}");
    assert!(!all.contains("LEAKY"), "{all}");
}

fn next_json(cron: &str, tz: &str, extra: &str, after: &str, count: &str) -> Vec<(String, String)> {
    let body = MINIMAL
        .replace("0 9 * * MON", cron)
        .replace(
            "timezone = \"Asia/Shanghai\"",
            &format!("timezone = \"{tz}\""),
        )
        .replace("on_holiday = \"next_workday\"", extra);
    let (_dir, path) = temp_config(&body);
    let o = weekbell(&[
        "--config",
        &path.display().to_string(),
        "next",
        "--json",
        "--after",
        after,
        "--count",
        count,
    ]);
    assert_exit(&o, 0);
    let v = json(&o);
    let Some(arr) = v.as_array() else {
        panic!("not an array: {v}")
    };
    arr.iter()
        .map(|s| {
            assert_eq!(s["schedule"], "monday-reminders");
            (
                s["at"].as_str().unwrap_or_default().to_string(),
                s["local"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn national_day_monday_moves_to_the_next_workday() {
    let slots = next_json(
        "0 9 * * MON",
        "Asia/Shanghai",
        "on_holiday = \"next_workday\"",
        "2026-09-28T12:00:00+08:00",
        "2",
    );
    assert_eq!(slots[0].0, "2026-10-08T09:00:00+08:00");
    assert_eq!(slots[0].1, "2026-10-08T09:00:00");
    assert_eq!(slots[1].0, "2026-10-12T09:00:00+08:00");
    let skipped = next_json(
        "0 9 * * MON",
        "Asia/Shanghai",
        "on_holiday = \"skip\"",
        "2026-09-28T12:00:00+08:00",
        "1",
    );
    assert_eq!(skipped[0].0, "2026-10-12T09:00:00+08:00");
    let run = next_json(
        "0 9 * * MON",
        "Asia/Shanghai",
        "on_holiday = \"run\"",
        "2026-09-28T12:00:00+08:00",
        "1",
    );
    assert_eq!(run[0].0, "2026-10-05T09:00:00+08:00");
}

#[test]
fn daylight_saving_gap_fires_after_it_and_overlap_fires_once() {
    let ny_gap = next_json(
        "30 2 * * *",
        "America/New_York",
        "",
        "2026-03-07T12:00:00-05:00",
        "2",
    );
    assert_eq!(ny_gap[0].0, "2026-03-08T03:00:00-04:00");
    assert_eq!(ny_gap[1].0, "2026-03-09T02:30:00-04:00");
    let ny_overlap = next_json(
        "30 1 * * *",
        "America/New_York",
        "",
        "2026-10-31T12:00:00-04:00",
        "2",
    );
    assert_eq!(ny_overlap[0].0, "2026-11-01T01:30:00-04:00");
    assert_eq!(ny_overlap[1].0, "2026-11-02T01:30:00-05:00");
    let berlin_gap = next_json(
        "30 2 * * *",
        "Europe/Berlin",
        "",
        "2026-03-28T12:00:00+01:00",
        "1",
    );
    assert_eq!(berlin_gap[0].0, "2026-03-29T03:00:00+02:00");
    let berlin_overlap = next_json(
        "30 2 * * *",
        "Europe/Berlin",
        "",
        "2026-10-24T12:00:00+02:00",
        "2",
    );
    assert_eq!(berlin_overlap[0].0, "2026-10-25T02:30:00+02:00");
    assert_eq!(berlin_overlap[1].0, "2026-10-26T02:30:00+01:00");
}

#[test]
fn day_of_month_or_day_of_week_as_in_unix_cron() {
    // Vixie cron: with both fields restricted, a day matching either fires.
    let slots = next_json("0 0 13 * FRI", "UTC", "", "2026-11-01T00:00:00Z", "6");
    let days: Vec<&str> = slots.iter().map(|(at, _)| &at[..10]).collect();
    assert_eq!(
        days,
        [
            "2026-11-06",
            "2026-11-13",
            "2026-11-20",
            "2026-11-27",
            "2026-12-04",
            "2026-12-11"
        ]
    );
    let slots = next_json("0 0 13 * FRI", "UTC", "", "2026-12-11T12:00:00Z", "2");
    assert_eq!(slots[0].0, "2026-12-13T00:00:00+00:00");
    // 0 and 7 are both Sunday.
    let zero = next_json("0 8 * * 0", "UTC", "", "2026-11-29T12:00:00Z", "1");
    let seven = next_json("0 8 * * 7", "UTC", "", "2026-11-29T12:00:00Z", "1");
    assert_eq!(zero, seven);
    assert_eq!(zero[0].0, "2026-12-06T08:00:00+00:00");
}

#[test]
fn tasks_json_matches_the_sheet() {
    let o = weekbell(&["tasks", "--json", "--at", "2026-11-29T12:00:00+08:00"]);
    assert_exit(&o, 0);
    let v = json(&o);
    let Some(tasks) = v.as_array() else {
        panic!("not an array")
    };
    assert_eq!(tasks.len(), 18);
    let count = |status: &str| tasks.iter().filter(|t| t["status"] == status).count();
    assert_eq!(
        (
            count("todo"),
            count("in_progress"),
            count("blocked"),
            count("done")
        ),
        (4, 11, 1, 2)
    );
    let overdue: Vec<&str> = tasks
        .iter()
        .filter(|t| t["overdue"] == true)
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(overdue, ["7", "13"]);
    let first = &tasks[0];
    assert_eq!(first["id"], "1");
    assert_eq!(first["unit"], "县城管局");
    assert_eq!(first["leader"], "张明远");
    assert_eq!(first["owners"], serde_json::json!(["孙强"]));
    assert_eq!(first["due"], "2026-12-31");
    let t18 = &tasks[17];
    assert_eq!(t18["owners"], serde_json::json!(["周敏", "孙强"]));
    assert_eq!(tasks[9]["due"], serde_json::Value::Null);
    assert_eq!(tasks[1]["due"], "2026-12-31");
}

#[test]
fn tasks_filters_combine() {
    let o = weekbell(&[
        "tasks",
        "--json",
        "--unit",
        "县生态环境分局",
        "--at",
        "2026-11-29T12:00:00+08:00",
    ]);
    assert_exit(&o, 0);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(4));
    let o = weekbell(&["tasks", "--json", "--status", "blocked"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(1));
    let o = weekbell(&["tasks", "--status", "finished"]);
    assert_exit(&o, 2);
}

#[test]
fn preview_of_the_friday_digest_counts_what_the_sheet_says() {
    let o = weekbell(&[
        "preview",
        "friday-digest",
        "--at",
        "2026-12-01T10:00:00+08:00",
    ]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("friday-digest → county (console)"), "{out}");
    assert!(out.contains("2026-12-04 17:00 +08:00"), "{out}");
    assert!(out.contains("18"), "{out}");
    assert!(
        out.contains("唐马寨镇建筑垃圾非法倾倒点清理"),
        "overdue task #7 is listed:\n{out}"
    );
    assert!(
        out.contains("省环保督察交办信访件办理"),
        "blocked task #14 is listed:\n{out}"
    );
}

#[test]
fn preview_json_prints_request_bodies() {
    let o = weekbell(&[
        "preview",
        "monday-reminders",
        "--at",
        "2026-11-30T00:00:00+08:00",
        "--json",
    ]);
    assert_exit(&o, 0);
    let v = json(&o);
    let Some(parts) = v.as_array() else {
        panic!("not an array")
    };
    // One reminder per owner with open tasks: every owner in the sheet except 吴涛 and 韩雪's done tasks.
    assert!(!parts.is_empty());
    for p in parts {
        assert_eq!(p["channel"], "county");
        assert_eq!(p["slot"], "monday-reminders@2026-11-30T09:00");
        assert!(p["body"]["text"].is_string(), "{p}");
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "check", "next", "preview", "tasks", "run", "send", "outbox", "cmd", "history", "export",
        "init",
    ] {
        let o = weekbell(&[cmd, "--help"]);
        assert_exit(&o, 0);
        assert!(
            stdout(&o).contains("Example"),
            "{cmd} --help lacks an example"
        );
    }
}

#[test]
fn every_example_config_checks() {
    let env = [
        (
            "COUNTY_DINGTALK_WEBHOOK",
            "https://oapi.dingtalk.com/robot/send?access_token=tok-7f3a",
        ),
        ("COUNTY_DINGTALK_SECRET", "SECtok-7f3a"),
        (
            "TOWNSHIP_WECOM_WEBHOOK",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=tok-7f3a",
        ),
        (
            "BUREAU_FEISHU_WEBHOOK",
            "https://open.feishu.cn/open-apis/bot/v2/hook/tok-7f3a",
        ),
        (
            "TEAM_SLACK_WEBHOOK",
            "https://hooks.slack.com/services/T0/B0/tok-7f3a",
        ),
        ("OA_WEBHOOK", "https://oa.example.gov.cn/api/weekbell"),
        (
            "TEAM_DISCORD_WEBHOOK",
            "https://discord.com/api/webhooks/1180366720153128000/tok-7f3a",
        ),
        (
            "TEAM_MATTERMOST_WEBHOOK",
            "https://chat.example.org/hooks/tok-7f3a",
        ),
        (
            "TEAM_TELEGRAM_BOT_TOKEN",
            "123456789:AAtok-7f3aXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        (
            "TEAM_TEAMS_WEBHOOK",
            "https://prod-12.westeurope.logic.azure.com/workflows/5b1f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=tok-7f3a",
        ),
        (
            "TEAM_TEAMS_SECURITY_TOKEN",
            "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=",
        ),
        (
            "TEAM_CHAT_WEBHOOK",
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=AIza-tok-7f3a&token=tok-7f3a",
        ),
        ("TEAM_CHAT_AUDIENCE", "123456789012"),
    ];
    let examples = repo().join("config/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        seen += 1;
        let o = weekbell_env(&["--config", &path.display().to_string(), "check"], &env);
        assert_exit(&o, 0);
        let out = stdout(&o);
        assert!(
            !out.contains("tok-7f3a"),
            "a secret leaked into check output of {}:\n{out}",
            path.display()
        );
    }
    assert!(seen >= 11);
}

/// A broken user template is caught by `check`, before any slot tries to send it.
#[test]
fn a_template_error_is_reported_by_check() {
    let (dir, path) = temp_config(&MINIMAL.replace(
        "platform = \"console\"",
        "platform = \"console\"\ntemplates = \"tpl\"",
    ));
    let tpl = dir.path().join("tpl");
    std::fs::create_dir(&tpl).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tpl.join("digest.j2"),
        "{{ title }}\n{% for u in units.items %}\n{{ u.nmae }}\n{% endfor %}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(&["--config", &path.display().to_string(), "check"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("digest.j2"), "{err}");
    assert!(err.contains("nmae") || err.contains("undefined"), "{err}");

    std::fs::write(
        tpl.join("digest.j2"),
        "{{ title }}\n{% for u in units.items %}\n{{ u.unit }}: {{ u.overdue }}\n{% endfor %}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(&["--config", &path.display().to_string(), "check"]);
    assert_exit(&o, 0);
}

/// Copies the shipped config directory into a temp dir, so commands that record (`cmd`) keep
/// their database there.
fn shipped_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let target = dir.path().join("config");
    copy_dir(&repo().join("config"), &target);
    (dir, target.join("weekbell.toml"))
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn in_dir(dir: &std::path::Path, config: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weekbell"));
    cmd.current_dir(dir)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("WEEKBELL_CONFIG");
    cmd.output().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn chat_updates_reach_tasks_history_and_the_report_call() {
    let (dir, config) = shipped_copy();
    let run = |args: &[&str]| {
        let o = in_dir(dir.path(), &config, args);
        assert_exit(&o, 0);
        stdout(&o)
    };
    let before = run(&["preview", "thursday-report-call"]);
    assert!(before.contains("• 县城管局"), "{before}");

    // 孙强 owns task 14 and belongs to 县城管局.
    let answer = run(&["cmd", "--as", "sun.qiang", "完成 14 已办结"]);
    assert!(
        answer.contains("【14】") && answer.contains("已完成"),
        "{answer}"
    );
    let answer = run(&["cmd", "--as", "sun.qiang", "周报 本周完成油烟整改两处"]);
    assert!(answer.contains("县城管局"), "{answer}");
    // Someone else may not close his task; nothing is recorded.
    let answer = run(&["cmd", "--as", "zeng.lin", "完成 1"]);
    assert!(
        answer.contains("孙强"),
        "the refusal names who can: {answer}"
    );

    let tasks: serde_json::Value =
        serde_json::from_str(&run(&["tasks", "--json"])).unwrap_or_else(|e| panic!("{e}"));
    let t14 = tasks
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == "14"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(t14["status"], "done");
    assert!(t14["notes"].as_str().unwrap_or_default().contains("已办结"));

    let history: serde_json::Value =
        serde_json::from_str(&run(&["history", "--json"])).unwrap_or_else(|e| panic!("{e}"));
    let fields: Vec<&str> = history
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, vec!["status", "note", "report"], "{history}");
    assert_eq!(history[0]["actor_name"], "孙强");
    assert_eq!(history[0]["source"], "cli");
    let only_14 = run(&["history", "14"]);
    assert!(only_14.contains("2 change(s) to 14"), "{only_14}");

    // The unit that reported is off the Thursday reminder; the others are still on it.
    let after = run(&["preview", "thursday-report-call"]);
    assert!(!after.contains("• 县城管局"), "{after}");
    assert!(after.contains("• 首山镇"), "{after}");
    // An unknown person is bad input.
    let o = in_dir(dir.path(), &config, &["cmd", "--as", "nobody", "help"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("no person with id `nobody`"));
}

#[cfg(unix)]
#[test]
fn a_config_holding_secrets_should_not_be_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let body = MINIMAL.replace(
        "[channels.county]\nplatform = \"console\"",
        "[channels.county]\nplatform = \"dingtalk\"\nwebhook = \"https://oapi.dingtalk.com/robot/send?access_token=tok-9e1d\"",
    );
    let (_dir, path) = temp_config(&body);
    let p = path.display().to_string();
    let set = |mode| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    set(0o644);
    let o = weekbell(&["--config", &p, "check"]);
    assert_exit(&o, 0);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("chmod 600"), "{all}");
    assert!(!all.contains("tok-9e1d"), "{all}");
    set(0o600);
    let o = weekbell(&["--config", &p, "check"]);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("chmod 600"), "{all}");
    // Secrets kept in the environment leave nothing to protect in the file.
    let (_dir2, path2) = temp_config(&MINIMAL.replace(
        "[channels.county]\nplatform = \"console\"",
        "[channels.county]\nplatform = \"dingtalk\"\nwebhook = \"${HOOK}\"",
    ));
    std::fs::set_permissions(&path2, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell_env(
        &["--config", &path2.display().to_string(), "check"],
        &[(
            "HOOK",
            "https://oapi.dingtalk.com/robot/send?access_token=tok-9e1d",
        )],
    );
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("chmod 600"), "{all}");
}

/// A config of its own beside a list written by the test, for the deadline forms offices use.
fn list_config(list_name: &str, list: &str, locale: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join(list_name), list).unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        r#"timezone = "Asia/Shanghai"
locale = "{locale}"
[tasks]
source = "{list_name}"
[channels.county]
platform = "console"
[[schedules]]
name = "friday-digest"
cron = "0 17 * * FRI"
kind = "digest"
channels = ["county"]
"#
    );
    let path = dir.path().join("weekbell.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

#[test]
fn an_unreadable_deadline_is_named_by_check_and_listed_in_the_digest_as_to_be_confirmed() {
    let list = "问题描述,责任单位,整改时限\n油烟净化设施未全覆盖,县城管局,待定\n散煤燃烧治理,首山镇,2026-12-31\n";
    for (locale, section, hint) in [
        (
            "zh-CN",
            "待核实时限（1 项）",
            "请写成 2026-12-31、2026年12月31日",
        ),
        (
            "en",
            "Deadline to be confirmed (1)",
            "write a date such as 2026-12-31 or 31 Dec 2026",
        ),
    ] {
        let (dir, config) = list_config("list.csv", list, locale);
        let check = in_dir(dir.path(), &config, &["check"]);
        assert_exit(&check, 0);
        let out = stdout(&check);
        assert!(out.contains("2 tasks"), "{out}");
        assert!(
            out.contains("row 2, column 整改时限") && out.contains("待定"),
            "{out}"
        );
        // Hints follow the config's locale.
        assert!(out.contains(hint), "{out}");

        let preview = in_dir(
            dir.path(),
            &config,
            &[
                "preview",
                "friday-digest",
                "--at",
                "2026-12-01T10:00:00+08:00",
            ],
        );
        assert_exit(&preview, 0);
        let digest = stdout(&preview);
        assert!(digest.contains(section), "{digest}");
        assert!(digest.contains("油烟净化设施未全覆盖"), "{digest}");
        assert!(digest.contains("待定"), "{digest}");
    }
}

#[test]
fn a_deadline_read_in_december_and_again_in_february_is_the_same_date() {
    let titled = "某县问题整改清单,,\n更新日期：2026年12月4日,,\n问题描述,责任人,整改时限\n油烟净化设施未全覆盖,孙强,12月15日前\n";
    let untitled = "问题描述,责任人,整改时限\n油烟净化设施未全覆盖,孙强,12月15日前\n";
    for list in [titled, untitled] {
        let (dir, config) = list_config("list.csv", list, "zh-CN");
        // Saved in November: a list without a date in its title is as of the day it was saved.
        let saved = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("list.csv"))
            .and_then(|f| f.set_modified(saved))
            .unwrap_or_else(|e| panic!("{e}"));
        let read_on = |at: &str| {
            let o = in_dir(dir.path(), &config, &["tasks", "--json", "--at", at]);
            assert_exit(&o, 0);
            let v = json(&o);
            (v[0]["due"].clone(), v[0]["overdue"].clone())
        };
        let december = read_on("2026-12-10T09:00:00+08:00");
        let february = read_on("2027-02-10T09:00:00+08:00");
        assert_eq!(
            december,
            (serde_json::json!("2026-12-15"), serde_json::json!(false))
        );
        assert_eq!(
            february,
            (serde_json::json!("2026-12-15"), serde_json::json!(true))
        );

        let check = in_dir(dir.path(), &config, &["check"]);
        assert_exit(&check, 0);
        let said = if list == titled {
            "deadlines without a year are read as of 2026-12-04, the date in the list's title rows"
        } else {
            "deadlines without a year are read as of 2026-11-18, the day the file was last saved"
        };
        assert!(stdout(&check).contains(said), "{}", stdout(&check));
    }
}

#[test]
fn jira_dates_load_and_an_ambiguous_numeric_date_follows_date_order() {
    let list = "title,owner,due\nFix login,alice,02/Dec/26 12:00 AM\nShip report,bob,03/04/2027\n";
    let (dir, config) = list_config("jira.csv", list, "en");
    let due = |config: &std::path::Path| {
        let o = in_dir(
            dir.path(),
            config,
            &["tasks", "--json", "--at", "2026-12-01T09:00:00Z"],
        );
        assert_exit(&o, 0);
        let v = json(&o);
        (v[0]["due"].clone(), v[1]["due"].clone())
    };
    // Without date_order the second cell could be 4 March or 3 April: loaded, deadline unknown.
    assert_eq!(
        due(&config),
        (serde_json::json!("2026-12-02"), serde_json::Value::Null)
    );
    let check = in_dir(dir.path(), &config, &["check"]);
    assert_exit(&check, 0);
    let said = stdout(&check);
    assert!(
        said.contains("row 3, column due") && said.contains("date_order"),
        "{said}"
    );

    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &config,
        text.replace("[tasks]\n", "[tasks]\ndate_order = \"dmy\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        due(&config),
        (
            serde_json::json!("2026-12-02"),
            serde_json::json!("2027-04-03")
        )
    );
}

/// Runs `weekbell` in `dir` with no `WEEKBELL_CONFIG`.
fn weekbell_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weekbell"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("WEEKBELL_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run weekbell: {e}"))
}

#[test]
fn init_on_an_office_list_writes_a_config_that_checks_and_previews_reminders() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = repo().join("config/tasks/rectification-list.xlsx");
    let list = list.to_string_lossy();
    let o = weekbell_in(dir.path(), &["init", &list], &[]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("wrote weekbell.toml: 18 tasks, 17 people"),
        "{}",
        stdout(&o)
    );
    let text = std::fs::read_to_string(dir.path().join("weekbell.toml"))
        .unwrap_or_else(|e| panic!("the config was not written: {e}"));
    assert!(text.contains("timezone = \"Asia/Shanghai\""), "{text}");
    assert!(text.contains("locale = \"zh-CN\""), "{text}");
    assert!(
        text.contains("name = \"孙强\"\nunit = \"县城管局\""),
        "{text}"
    );
    for schedule in ["monday-reminders", "friday-digest", "thursday-report-call"] {
        assert!(text.contains(&format!("name = \"{schedule}\"")), "{text}");
    }

    let o = weekbell_in(dir.path(), &["--config", "weekbell.toml", "check"], &[]);
    assert_exit(&o, 0);
    let o = weekbell_in(
        dir.path(),
        &[
            "--config",
            "weekbell.toml",
            "preview",
            "monday-reminders",
            "--at",
            "2026-12-14T09:00:00+08:00",
        ],
        &[],
    );
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("@孙强"), "{}", stdout(&o));

    // Never over an existing file.
    let before = text;
    let o = weekbell_in(dir.path(), &["init", &list], &[]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let after = std::fs::read_to_string(dir.path().join("weekbell.toml")).unwrap_or_default();
    assert_eq!(before, after);
}

#[test]
fn init_on_an_english_export_writes_an_english_config_in_the_machines_zone() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = repo().join("config/tasks/team-tasks.csv");
    let o = weekbell_in(
        dir.path(),
        &["init", &list.to_string_lossy(), "-o", "team.toml"],
        &[("TZ", "Europe/Berlin")],
    );
    assert_exit(&o, 0);
    let text = std::fs::read_to_string(dir.path().join("team.toml"))
        .unwrap_or_else(|e| panic!("the config was not written: {e}"));
    assert!(text.contains("locale = \"en\""), "{text}");
    assert!(text.contains("timezone = \"Europe/Berlin\""), "{text}");
    let o = weekbell_in(dir.path(), &["--config", "team.toml", "check"], &[]);
    assert_exit(&o, 0);
}

#[test]
fn init_with_a_platform_adds_its_channel_with_secrets_from_the_environment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = repo().join("config/tasks/team-tasks.csv");
    let list = list.to_string_lossy();
    let o = weekbell_in(dir.path(), &["init", &list, "--platform", "slack"], &[]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("set before running it: TEAM_SLACK_WEBHOOK=…"),
        "{}",
        stdout(&o)
    );
    let text = std::fs::read_to_string(dir.path().join("weekbell.toml")).unwrap_or_default();
    assert!(
        text.contains(
            "[channels.slack]\nplatform = \"slack\"\nwebhook = \"${TEAM_SLACK_WEBHOOK}\""
        ),
        "{text}"
    );
    assert!(
        text.contains("channels = [\"console\", \"slack\"]"),
        "{text}"
    );
    let env = [(
        "TEAM_SLACK_WEBHOOK",
        "https://hooks.slack.com/services/T0/B0/x",
    )];
    let o = weekbell_in(dir.path(), &["--config", "weekbell.toml", "check"], &env);
    assert_exit(&o, 0);
    assert!(
        !stdout(&o).contains("B0/x"),
        "the webhook's token is a secret"
    );

    let o = weekbell_in(
        dir.path(),
        &["init", &list, "-o", "x.toml", "--platform", "icq"],
        &[],
    );
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("dingtalk"),
        "the platforms are listed: {}",
        stderr(&o)
    );
}

/// Sets a file's modification time to noon UTC of `day`, as saving it that day would.
fn saved_on(path: &std::path::Path, day: &str) {
    let at = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("{day}: {e}"))
        .and_hms_opt(12, 0, 0)
        .unwrap_or_else(|| panic!("noon"))
        .and_utc();
    let when = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(at.timestamp()).unwrap_or(0));
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .unwrap_or_else(|e| panic!("set the time of {}: {e}", path.display()));
}

fn due_of(o: &Output, id: &str) -> serde_json::Value {
    let v = json(o);
    v.as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["id"] == id))
        .map(|t| t["due"].clone())
        .unwrap_or_else(|| panic!("no task {id} in {v}"))
}

#[test]
fn a_deadline_without_a_year_keeps_its_date_when_the_list_is_saved_again_next_year() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = dir.path().join("清单.csv");
    std::fs::write(
        &list,
        "序号,问题描述,责任单位,整改时限\n1,油烟治理,县城管局,12月15日前\n2,垃圾清运,首山镇,立行立改\n3,河道清淤,县水利局,2027年6月\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("weekbell.toml"),
        "timezone = \"Asia/Shanghai\"\n[store]\nurl = \"sqlite://data/weekbell.db\"\n[tasks]\nsource = \"清单.csv\"\n\
         [channels.county]\nplatform = \"console\"\n\
         [[schedules]]\nname = \"friday-digest\"\ncron = \"0 17 * * FRI\"\nkind = \"digest\"\nchannels = [\"county\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tasks_at = |at: &str| {
        weekbell_in(
            dir.path(),
            &["--config", "weekbell.toml", "tasks", "--json", "--at", at],
            &[],
        )
    };

    // Saved and first read in December: this December, and the day it was saved.
    saved_on(&list, "2026-12-01");
    let o = weekbell_in(
        dir.path(),
        &["--config", "weekbell.toml", "send", "friday-digest"],
        &[],
    );
    assert_exit(&o, 0);
    let december = tasks_at("2026-12-04T12:00:00+08:00");
    assert_eq!(due_of(&december, "1"), "2026-12-15");
    assert_eq!(due_of(&december, "2"), "2026-12-01");

    // Saved again in February: the same words, the same dates, and task 1 still overdue.
    saved_on(&list, "2027-02-03");
    let february = tasks_at("2027-02-05T12:00:00+08:00");
    assert_eq!(due_of(&february, "1"), "2026-12-15");
    assert_eq!(due_of(&february, "2"), "2026-12-01");
    assert_eq!(
        due_of(&february, "3"),
        "2027-06-30",
        "a year it names is its own"
    );
    let overdue = weekbell_in(
        dir.path(),
        &[
            "--config",
            "weekbell.toml",
            "tasks",
            "--overdue",
            "--json",
            "--at",
            "2027-02-05T12:00:00+08:00",
        ],
        &[],
    );
    assert_exit(&overdue, 0);
    assert!(
        json(&overdue)
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == "1"))
    );

    // A row added in February is read against February, and remembered from then on.
    let mut text = std::fs::read_to_string(&list).unwrap_or_default();
    text.push_str("4,道路破损,县交通局,3月底前\n");
    std::fs::write(&list, text).unwrap_or_else(|e| panic!("{e}"));
    saved_on(&list, "2027-02-03");
    let o = weekbell_in(
        dir.path(),
        &["--config", "weekbell.toml", "send", "friday-digest"],
        &[],
    );
    assert_exit(&o, 0);
    saved_on(&list, "2028-01-10");
    let later = tasks_at("2028-01-12T12:00:00+08:00");
    assert_eq!(due_of(&later, "4"), "2027-03-31");
    assert_eq!(due_of(&later, "1"), "2026-12-15");
}

/// A config in a temp dir reading `list` (a file in that dir), in `locale`, with `people`
/// appended as written: [`MINIMAL`] otherwise.
fn config_in(dir: &std::path::Path, list: &str, locale: &str, people: &str) -> PathBuf {
    let text = format!(
        "locale = \"{locale}\"\n{}{people}",
        MINIMAL
            .replace("@CONFIG@/tasks/rectification-list.xlsx", list)
            .replace("@CONFIG@", &repo().join("config").display().to_string())
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write config: {e}"));
    path
}

/// `tasks --json --at AT` and `check` on `config`, both of which must succeed: the tasks and
/// what `check` printed.
fn tasks_and_check(config: &std::path::Path, at: &str) -> (serde_json::Value, String) {
    let cfg = config.display().to_string();
    let o = weekbell(&["--config", &cfg, "tasks", "--json", "--at", at]);
    assert_exit(&o, 0);
    let tasks = json(&o);
    let o = weekbell(&["--config", &cfg, "check"]);
    assert_exit(&o, 0);
    (tasks, stdout(&o))
}

/// Another county's list as she sent it: two title rows, 问题类型 merged down over the rows of
/// one type, a leader under 县级包保领导, phones beside the owners, Excel dates beside
/// 立行立改 / 长期坚持 / 12月15日前, free-text progress and a 是否完成 column, and a column
/// weekbell has no field for.
fn county_xlsx(path: &std::path::Path) {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let plain = Format::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let fail = |e: rust_xlsxwriter::XlsxError| -> ! { panic!("xlsx: {e}") };
    ws.merge_range(0, 0, 0, 13, "某县生态环境突出问题整改清单", &plain)
        .unwrap_or_else(|e| fail(e));
    ws.write_string(1, 0, "更新日期：2026年12月4日")
        .unwrap_or_else(|e| fail(e));
    let headers = [
        "序号",
        "问题类型",
        "问题描述",
        "所在乡镇",
        "牵头单位",
        "配合单位",
        "县级包保领导",
        "责任人",
        "联系电话",
        "整改措施",
        "整改时限",
        "整改进展情况",
        "是否完成",
        "问题来源",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap_or_else(|e| fail(e));
    }
    ws.merge_range(3, 1, 5, 1, "大气污染", &plain)
        .unwrap_or_else(|e| fail(e));
    ws.merge_range(6, 1, 7, 1, "水污染", &plain)
        .unwrap_or_else(|e| fail(e));
    ws.write_string(8, 1, "固废").unwrap_or_else(|e| fail(e));
    ws.write_string(9, 1, "固废").unwrap_or_else(|e| fail(e));
    // title, area, unit, co-units, leader, owners, phone, measures, due, progress, done, source
    let rows: [[&str; 12]; 7] = [
        [
            "城区餐饮油烟扰民",
            "城关镇",
            "县城管局",
            "县市场监管局、城关镇",
            "张明远",
            "孙强",
            "13800000001",
            "安装油烟净化设备",
            "",
            "已完成62家，剩余18家",
            "否",
            "中央督察",
        ],
        [
            "散煤燃烧治理不到位",
            "首山镇",
            "首山镇政府",
            "县发改局",
            "张明远",
            "周敏",
            "13800000002",
            "清洁取暖改造",
            "立行立改",
            "已排查全部村屯",
            "是",
            "省督察",
        ],
        [
            "建筑工地扬尘",
            "城关镇",
            "县住建局",
            "",
            "刘晓芳",
            "王伟、李娜",
            "13900000003",
            "覆盖裸土",
            "2026年12月底前",
            "正在推进",
            "否",
            "",
        ],
        [
            "黑臭水体治理",
            "刘二堡镇",
            "刘二堡镇政府",
            "县水利局",
            "刘晓芳",
            "吴涛",
            "13800000004",
            "清淤截污",
            "12月15日前",
            "已完成清淤",
            "否",
            "",
        ],
        [
            "入河排污口巡查",
            "小北河镇",
            "县生态环境分局",
            "",
            "陈建国",
            "孙强",
            "13800000001",
            "封堵排污口",
            "长期坚持",
            "持续巡查",
            "否",
            "",
        ],
        [
            "垃圾堆放点清理",
            "首山镇",
            "首山镇政府",
            "",
            "陈建国",
            "赵敏",
            "",
            "清运",
            "2027年6月",
            "已清运一半",
            "否",
            "",
        ],
        [
            "秸秆露天焚烧",
            "首山镇",
            "首山镇政府",
            "",
            "陈建国",
            "郑洁",
            "13800000002",
            "网格巡查",
            "2026年11月30日",
            "",
            "否",
            "",
        ],
    ];
    for (i, r) in rows.iter().enumerate() {
        let n = 3 + i as u32;
        ws.write_number(n, 0, (i + 1) as f64)
            .unwrap_or_else(|e| fail(e));
        for (j, v) in r.iter().enumerate() {
            let c = if j == 0 { 2 } else { 2 + j as u16 };
            if !v.is_empty() {
                ws.write_string(n, c, *v).unwrap_or_else(|e| fail(e));
            }
        }
    }
    // The first deadline is an Excel date (2026-12-31), as most of hers are.
    ws.write_number_with_format(3, 10, 46387.0, &date)
        .unwrap_or_else(|e| fail(e));
    wb.save(path).unwrap_or_else(|e| fail(e));
}

#[test]
fn another_countys_list_loads_with_its_leaders_statuses_deadlines_and_people() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    county_xlsx(&dir.path().join("清单.xlsx"));
    let config = config_in(dir.path(), "清单.xlsx", "zh-CN", "");
    let (v, out) = tasks_and_check(&config, "2026-12-07T09:00:00+08:00");
    let Some(tasks) = v.as_array() else {
        panic!("not an array: {v}")
    };
    assert_eq!(tasks.len(), 7);
    let t1 = &tasks[0];
    assert_eq!(t1["leader"], "张明远");
    assert_eq!(t1["unit"], "县城管局");
    assert_eq!(t1["category"], "大气污染");
    assert_eq!(t1["area"], "城关镇");
    assert_eq!(
        t1["co_units"],
        serde_json::json!(["县市场监管局", "城关镇"])
    );
    assert_eq!(t1["measures"], "安装油烟净化设备");
    assert_eq!(t1["progress_text"], "已完成62家，剩余18家");
    assert_eq!(t1["due"], "2026-12-31");
    assert_eq!(t1["status"], "todo");
    assert_eq!(t1["extra"], serde_json::json!({"问题来源": "中央督察"}));
    assert_eq!(t1["mobiles"], serde_json::json!({"孙强": "13800000001"}));
    // Merged down: the rows under the merged 问题类型 cell share it.
    let categories: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t["category"].as_str())
        .collect();
    assert_eq!(
        categories,
        [
            "大气污染",
            "大气污染",
            "大气污染",
            "水污染",
            "水污染",
            "固废",
            "固废"
        ]
    );
    // 是否完成 = 是 is done, so not overdue; 立行立改 is due on the list's date.
    assert_eq!(tasks[1]["status"], "done");
    assert_eq!(tasks[1]["due"], "2026-12-04");
    assert_eq!(tasks[1]["due_text"], "立行立改");
    assert_eq!(tasks[1]["overdue"], false);
    assert_eq!(tasks[2]["due"], "2026-12-31");
    assert_eq!(tasks[3]["due"], "2026-12-15");
    assert_eq!(tasks[4]["due"], serde_json::Value::Null);
    assert_eq!(tasks[4]["due_text"], "长期坚持");
    assert_eq!(tasks[5]["due"], "2027-06-30");
    assert_eq!(tasks[6]["overdue"], true);
    // Several owners and one phone: the phone goes to neither.
    assert_eq!(tasks[2]["owners"], serde_json::json!(["王伟", "李娜"]));
    assert_eq!(tasks[2]["mobiles"], serde_json::json!({}));
    assert_eq!(
        tasks[3]["mobiles"],
        serde_json::json!({"吴涛": "13800000004"})
    );

    for line in [
        "县级包保领导 → leader（按列名规则）",
        "问题类型 → category",
        "整改进展情况 → progress_text",
        "是否完成 → status",
        "联系电话 → phones",
        "保留（不对应字段）：问题来源",
        "其中 4 人来自清单的联系电话",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Each unknown name once, however many rows name it; the unpaired phone and the shared
    // mobile are said once each.
    assert_eq!(out.matches("“张明远”").count(), 1, "{out}");
    assert_eq!(out.matches("“陈建国”").count(), 1, "{out}");
    assert!(out.contains("“陈建国”（共 3 行，首次在第 8 行）"), "{out}");
    assert!(out.contains("第 6 行：责任人有多位"), "{out}");
    assert!(
        out.contains("周敏、郑洁 的手机号相同（13800000002）"),
        "{out}"
    );
    assert!(
        !out.contains("“孙强”"),
        "孙强 has a phone, so is known: {out}"
    );
    assert!(
        !out.contains("未找到"),
        "leader, deadline and status were all found: {out}"
    );
}

#[test]
fn configured_people_win_over_the_list_and_lend_it_no_mobile_they_lack() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    county_xlsx(&dir.path().join("清单.xlsx"));
    let people = r#"
[[people]]
id = "sun.qiang"
name = "孙强"
mobile = "13700000009"

[[people]]
id = "zhou.min"
name = "周敏"
"#;
    let config = config_in(dir.path(), "清单.xlsx", "en", people);
    let (v, out) = tasks_and_check(&config, "2026-12-07T09:00:00+08:00");
    assert_eq!(v[0]["mobiles"], serde_json::json!({"孙强": "13700000009"}));
    // 周敏 has no mobile in the config: the list's fills it in.
    assert_eq!(v[1]["mobiles"], serde_json::json!({"周敏": "13800000002"}));
    assert!(
        out.contains("[[people]] gives sun.qiang the mobile 13700000009, the list (row 4) 13800000001: the config's is used"),
        "{out}"
    );
}

/// The five trackers' CSV exports, each as the tool writes it, with an English config.
#[test]
fn tracker_exports_load_without_any_column_mapping() {
    let fixtures = repo().join("tests/fixtures");
    let run = |file: &str| -> (serde_json::Value, String) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        std::fs::copy(fixtures.join(file), dir.path().join(file))
            .unwrap_or_else(|e| panic!("copy {file}: {e}"));
        let config = config_in(dir.path(), file, "en", "");
        tasks_and_check(&config, "2026-11-25T09:00:00+08:00")
    };
    let field = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t[key].to_string().trim_matches('"').to_string())
                    .collect()
            })
            .unwrap_or_default()
    };

    let (jira, check) = run("jira-export.csv");
    assert_eq!(
        field(&jira, "id"),
        ["OPS-11", "OPS-12", "OPS-13", "OPS-14", "OPS-15"]
    );
    assert_eq!(
        field(&jira, "status"),
        ["todo", "in_progress", "in_progress", "cancelled", "done"]
    );
    assert_eq!(
        field(&jira, "due"),
        ["2026-12-02", "2026-12-15", "null", "null", "2026-11-30"]
    );
    assert_eq!(
        field(&jira, "category"),
        ["Task", "Story", "Bug", "Task", "Task"]
    );
    assert_eq!(jira[0]["extra"]["Labels"], "security");
    assert_eq!(jira[0]["extra"]["Labels (2)"], "edge");
    assert_eq!(jira[0]["extra"]["Priority"], "High");
    assert!(check.contains("Due date → due"), "{check}");
    assert!(check.contains("Resolved → completed"), "{check}");
    assert!(check.contains("no leader column found"), "{check}");
    assert!(
        check.contains("kept without a field: Issue id, Priority, Reporter"),
        "{check}"
    );

    let (linear, check) = run("linear-export.csv");
    assert_eq!(
        field(&linear, "status"),
        ["todo", "in_progress", "todo", "done"]
    );
    assert_eq!(
        field(&linear, "unit"),
        ["Engineering", "Engineering", "Design", "Engineering"]
    );
    assert_eq!(
        field(&linear, "due"),
        ["2026-12-04", "2026-11-27", "null", "2026-11-30"]
    );
    assert_eq!(linear[1]["extra"]["Labels"], "backend, api");
    assert!(check.contains("Due Date → due"), "{check}");

    let (asana, check) = run("asana-export.csv");
    assert_eq!(
        field(&asana, "title"),
        [
            "Draft the Q1 budget",
            "Book the venue",
            "Collect speaker bios"
        ]
    );
    assert_eq!(field(&asana, "status"), ["in_progress", "done", "todo"]);
    assert_eq!(asana[0]["extra"]["Assignee Email"], "alice@example.com");
    assert!(
        check.contains("Section/Column → status (by content)"),
        "{check}"
    );

    let (trello, check) = run("trello-export.csv");
    assert_eq!(field(&trello, "status"), ["in_progress", "todo", "done"]);
    assert_eq!(
        field(&trello, "due"),
        ["2026-12-04", "2026-11-27", "2026-11-20"]
    );
    assert_eq!(trello[0]["owners"], serde_json::json!(["Alice"]));
    assert!(check.contains("List Name → status (by content)"), "{check}");

    let (github, check) = run("github-project.csv");
    assert_eq!(field(&github, "status"), ["in_progress", "todo", "done"]);
    assert_eq!(github[1]["owners"], serde_json::json!(["bob", "carol"]));
    assert_eq!(field(&github, "due"), ["2026-12-04", "2026-11-27", "null"]);
    assert_eq!(github[0]["extra"]["Milestone"], "v2.0");
    assert!(check.contains("Target date → due"), "{check}");
}

/// A TOML list with the new fields and keys weekbell has no field for, exported to CSV: the
/// CSV loads back as the same tasks, `extra` included.
#[test]
fn an_exported_toml_list_reloads_with_every_field_and_extra_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let list = r#"
[[tasks]]
id = "1"
title = "城区餐饮油烟扰民"
unit = "县城管局"
co_units = ["县市场监管局", "城关镇"]
area = "城关镇"
measures = "安装油烟净化设备"
progress_text = "已完成62家"
due = 2026-12-31
status = "整改中"
origin = "中央督察"

[[tasks]]
id = "2"
title = "入河排污口巡查"
unit = "县生态环境分局"
due = "长期坚持"
batch = "第二批"
"#;
    std::fs::write(dir.path().join("list.toml"), list).unwrap_or_else(|e| panic!("write: {e}"));
    let run = |config: &std::path::Path, args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_weekbell"))
            .current_dir(dir.path())
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("WEEKBELL_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("could not run weekbell: {e}"))
    };
    let first = config_in(dir.path(), "list.toml", "zh-CN", "");
    let at = ["tasks", "--json", "--at", "2026-12-07T09:00:00+08:00"];
    let before = run(&first, &at);
    assert_exit(&before, 0);
    let before = json(&before);
    assert_eq!(
        before[0]["extra"],
        serde_json::json!({"origin": "中央督察"})
    );
    assert_eq!(before[1]["extra"], serde_json::json!({"batch": "第二批"}));
    let o = run(&first, &["export", "--format", "csv", "-o", "out.csv"]);
    assert_exit(&o, 0);
    let second_dir = dir.path().join("again");
    std::fs::create_dir_all(&second_dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::copy(dir.path().join("out.csv"), second_dir.join("out.csv"))
        .unwrap_or_else(|e| panic!("copy: {e}"));
    let second = config_in(&second_dir, "out.csv", "zh-CN", "");
    let after = run(&second, &at);
    assert_exit(&after, 0);
    assert_eq!(json(&after), before);
}

#[test]
fn init_on_other_offices_and_trackers_lists_makes_configs_that_check_and_mention_people_by_phone() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    county_xlsx(&dir.path().join("清单.xlsx"));
    let env = [
        (
            "COUNTY_DINGTALK_WEBHOOK",
            "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
        ),
        ("COUNTY_DINGTALK_SECRET", "SEC0123456789abcdef"),
    ];
    let o = weekbell_in(
        dir.path(),
        &["init", "清单.xlsx", "--platform", "dingtalk"],
        &env,
    );
    assert_exit(&o, 0);
    let text = std::fs::read_to_string(dir.path().join("weekbell.toml")).unwrap_or_default();
    assert!(text.contains("name = \"孙强\""), "{text}");
    assert!(
        text.contains("mobile = \"13800000001\""),
        "the sheet's phone: {text}"
    );
    let o = weekbell_in(dir.path(), &["--config", "weekbell.toml", "check"], &env);
    assert_exit(&o, 0);
    let o = dingtalk_reminders(dir.path(), "2026-12-14T09:00:00+08:00", &env);
    let out = stdout(&o);
    assert!(
        out.contains("\"atMobiles\"") && out.contains("13800000001"),
        "the reminder @mentions 孙强 by the phone in the sheet: {out}"
    );
    assert!(
        !out.contains("0123456789abcdef"),
        "the webhook token is a secret"
    );

    for export in [
        "jira-export.csv",
        "linear-export.csv",
        "asana-export.csv",
        "github-project.csv",
        "trello-export.csv",
    ] {
        let list = repo().join("tests/fixtures").join(export);
        let config = format!("{export}.toml");
        let o = weekbell_in(
            dir.path(),
            &["init", &list.to_string_lossy(), "-o", &config],
            &[],
        );
        assert_exit(&o, 0);
        let o = weekbell_in(dir.path(), &["--config", &config, "check"], &[]);
        assert_exit(&o, 0);
        let text = std::fs::read_to_string(dir.path().join(&config)).unwrap_or_default();
        assert!(text.contains("locale = \"en\""), "{export}: {text}");
    }
}

/// Two lists of one office in one folder: the central inspection's feedback (央督) and the
/// county's second batch (二批), both with a task 1.
fn two_lists() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write(
        "央督.csv",
        "序号,问题描述,责任单位,责任人,整改时限,整改进展\n1,河道垃圾清理,首山镇,孙强,2026-12-31,整改中\n2,油烟扰民,县城管局,孙强,2026-11-30,未开始\n",
    );
    write(
        "二批.csv",
        "序号,问题描述,责任单位,责任人,整改时限,整改进展\n1,散煤燃烧,刘二堡镇,孙强,2026-12-20,未开始\n3,黑臭水体,小北河镇,孙强,2027-03-31,整改中\n",
    );
    write(
        "weekbell.toml",
        "timezone = \"Asia/Shanghai\"\nlocale = \"zh-CN\"\n[store]\nurl = \"sqlite://data/w.db\"\n\
         [[lists]]\nname = \"央督\"\nsource = \"央督.csv\"\n\
         [[lists]]\nname = \"二批\"\nsource = \"二批.csv\"\n\
         [channels.county]\nplatform = \"console\"\n\
         [[schedules]]\nname = \"friday-digest\"\ncron = \"0 17 * * FRI\"\nkind = \"digest\"\nchannels = [\"county\"]\n\
         [[schedules]]\nname = \"second-batch\"\ncron = \"0 16 * * FRI\"\nkind = \"digest\"\nchannels = [\"county\"]\nlists = [\"二批\"]\n\
         [[people]]\nid = \"sun.qiang\"\nname = \"孙强\"\n",
    );
    dir
}

#[test]
fn two_lists_in_one_config_keep_their_ids_apart_and_both_reach_the_digest() {
    let dir = two_lists();
    let run = |args: &[&str]| {
        let mut all = vec!["--config", "weekbell.toml"];
        all.extend_from_slice(args);
        weekbell_in(dir.path(), &all, &[])
    };
    let o = run(&["tasks", "--json", "--at", "2026-12-04T09:00:00+08:00"]);
    assert_exit(&o, 0);
    let v = json(&o);
    let ids: Vec<(&str, &str)> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((t["id"].as_str()?, t["list"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ids,
        [
            ("央督-1", "央督"),
            ("央督-2", "央督"),
            ("二批-1", "二批"),
            ("二批-3", "二批")
        ]
    );
    let o = run(&["tasks", "--json", "--list", "二批"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(2));

    let o = run(&["check"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("[央督]") && out.contains("[二批]"), "{out}");

    // Both lists reach the digest; a schedule with `lists` takes only its own.
    let o = run(&[
        "preview",
        "friday-digest",
        "--at",
        "2026-12-04T08:00:00+08:00",
    ]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("共 4 项"), "{out}");
    assert!(out.contains("【央督-2】油烟扰民"), "{out}");
    assert!(
        out.contains("县城管局") && out.contains("刘二堡镇"),
        "{out}"
    );
    let o = run(&[
        "preview",
        "second-batch",
        "--at",
        "2026-12-04T08:00:00+08:00",
    ]);
    let out = stdout(&o);
    assert!(out.contains("共 2 项"), "{out}");
    assert!(
        out.contains("刘二堡镇") && !out.contains("县城管局"),
        "{out}"
    );

    // Commands take the full id, or the id within its list when only one list has it.
    let o = run(&["cmd", "--as", "sun.qiang", "完成 3"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("二批-3"), "{}", stdout(&o));
    let o = run(&["cmd", "--as", "sun.qiang", "完成 1"]);
    assert!(
        !stdout(&o).contains("已标记"),
        "1 is in both lists: {}",
        stdout(&o)
    );
    let o = run(&["cmd", "--as", "sun.qiang", "完成 央督-1"]);
    assert!(stdout(&o).contains("央督-1"), "{}", stdout(&o));
    let o = run(&["tasks", "--json"]);
    let status = |id: &str| {
        json(&o)
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|t| t["id"] == id)
                    .map(|t| t["status"].clone())
            })
            .unwrap_or_default()
    };
    assert_eq!(status("央督-1"), "done");
    assert_eq!(status("二批-1"), "todo");
    assert_eq!(status("二批-3"), "done");

    // Each list is written back to its own file's columns, with its own ids.
    let o = run(&["export", "-o", "out.csv"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--list"), "{}", stderr(&o));
    let o = run(&["export", "--list", "二批", "-o", "二批-merged.csv"]);
    assert_exit(&o, 0);
    let merged = std::fs::read_to_string(dir.path().join("二批-merged.csv")).unwrap_or_default();
    let row3 = merged
        .lines()
        .find(|l| l.starts_with("3,"))
        .unwrap_or_default();
    assert!(row3.contains("已完成"), "{merged}");
    assert!(
        !merged.contains("河道垃圾清理"),
        "only 二批's rows: {merged}"
    );
}

#[test]
fn lists_are_named_once_each_and_filters_name_real_lists() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("a.csv"), "序号,问题描述\n1,河道垃圾清理\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("weekbell.toml"),
        "[[lists]]\nsource = \"a.csv\"\n[[lists]]\nname = \"央督\"\nsource = \"a.csv\"\n\
         [[lists]]\nname = \"央督\"\nsource = \"a.csv\"\n[channels.c]\nplatform = \"console\"\nlists = [\"省督\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell_in(dir.path(), &["--config", "weekbell.toml", "check"], &[]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("has no name"), "{err}");
    assert!(err.contains("already named `央督`"), "{err}");
    assert!(err.contains("no list is named `省督`"), "{err}");
}

#[test]
fn an_address_book_gives_the_lists_people_their_chat_ids_mobiles_and_emails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write(
        "清单.csv",
        "序号,问题描述,责任单位,包保领导,责任人,整改时限\n1,河道垃圾清理,首山镇,张明远,孙强,2026-12-01\n2,油烟扰民,县城管局,张明远,周敏,2026-12-31\n",
    );
    // As DingTalk's admin console exports it: a title row, then the header.
    write(
        "通讯录.csv",
        "通讯录导出\n姓名,UserID,部门,手机,邮箱,职位\n孙强,manager4711,首山镇,13800000001,sunqiang@example.gov.cn,镇长\n周敏,0930471152,县城管局,13800000002,,科员\n张明远,zhang01,县政府,13800000101,,副县长\n",
    );
    write(
        "weekbell.toml",
        "timezone = \"Asia/Shanghai\"\n[tasks]\nsource = \"清单.csv\"\n\
         [roster]\nsource = \"通讯录.csv\"\nplatform = \"dingtalk\"\n\
         [channels.county]\nplatform = \"dingtalk\"\nwebhook = \"https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef\"\n\
         [[schedules]]\nname = \"monday-reminders\"\ncron = \"0 9 * * MON\"\nkind = \"reminders\"\nchannels = [\"county\"]\n\
         [[people]]\nid = \"zhou.min\"\nname = \"周敏\"\ndingtalk = \"configured-id\"\n",
    );
    let o = weekbell_in(dir.path(), &["--config", "weekbell.toml", "check"], &[]);
    assert_exit(&o, 0);
    // 周敏 configured, 孙强 and 张明远 from the book: nobody on the list is unknown.
    assert!(stdout(&o).contains("people     3"), "{}", stdout(&o));
    assert!(
        !stdout(&o).contains("孙强"),
        "孙强 is known: {}",
        stdout(&o)
    );
    let o = weekbell_in(
        dir.path(),
        &[
            "--config",
            "weekbell.toml",
            "preview",
            "monday-reminders",
            "--json",
            "--at",
            "2026-12-07T09:00:00+08:00",
        ],
        &[],
    );
    assert_exit(&o, 0);
    let out = stdout(&o);
    // The book's user id reaches the mention; a configured handle wins over the book's.
    assert!(out.contains("manager4711"), "{out}");
    assert!(
        out.contains("configured-id") && !out.contains("0930471152"),
        "{out}"
    );
    // The leader, overdue on task 1, is @mentioned by the book's id as well.
    assert!(out.contains("zhang01"), "{out}");
}

#[test]
fn tasks_json_gives_each_task_its_warning_level_and_warning_filters_by_name_or_label() {
    // The list is dated 5 December; on the 10th its tasks have had five days.
    let list = "某县问题整改清单,,,,\n更新日期：2026年12月5日,,,,\n\
                问题描述,责任人,整改时限,进度,整改进展\n\
                油烟净化设施未全覆盖,孙强,2026-12-12,80%,整改中\n\
                散煤燃烧治理,李娜,2026-12-31,0%,整改中\n\
                背街小巷路面破损,王伟,2026-12-08,50%,整改中\n\
                农贸市场排水不畅,赵敏,2026-11-30,20%,整改中\n\
                老旧小区加装电梯,孙强,2027-03-01,10%,整改中\n\
                广告牌清理,李娜,2026-11-01,100%,已完成\n";
    let (dir, config) = list_config("list.csv", list, "zh-CN");
    let at = "2026-12-10T09:00:00+08:00";
    let levels = |extra: &[&str]| {
        let mut args = vec!["tasks", "--json", "--at", at];
        args.extend_from_slice(extra);
        let o = in_dir(dir.path(), &config, &args);
        assert_exit(&o, 0);
        json(&o)
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {}", stdout(&o)))
            .iter()
            .map(|t| format!("{} {}", t["id"], t["warning"]))
            .collect::<Vec<_>>()
    };
    // Due in two days: blue. 0% with 19% of its time gone, beyond the 10-point margin:
    // yellow. Overdue: red. Ahead of schedule, or done: none.
    assert_eq!(
        levels(&[]),
        vec![
            "\"4\" \"blue\"",
            "\"5\" \"yellow\"",
            "\"6\" \"red\"",
            "\"7\" \"red\"",
            "\"8\" \"none\"",
            "\"9\" \"none\"",
        ]
    );
    assert_eq!(
        levels(&["--warning", "red"]),
        vec!["\"6\" \"red\"", "\"7\" \"red\""]
    );
    assert_eq!(levels(&["--warning", "黄色预警"]), vec!["\"5\" \"yellow\""]);
    assert_eq!(levels(&["--warning", "none"]).len(), 2);

    let unknown = in_dir(
        dir.path(),
        &config,
        &["tasks", "--json", "--at", at, "--warning", "purple"],
    );
    assert_exit(&unknown, 2);
    assert!(
        stderr(&unknown).contains("levels are: none, blue, yellow, red"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn init_with_an_address_book_writes_its_roster_and_mentions_people_by_its_ids() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(
        dir.path().join("清单.csv"),
        "序号,问题描述,责任单位,责任人,整改时限\n1,河道垃圾清理,首山镇,孙强,2026-12-01\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("通讯录.csv"),
        "姓名,UserID,部门,手机\n孙强,manager4711,首山镇,13800000001\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let env = [(
        "COUNTY_DINGTALK_WEBHOOK",
        "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef",
    )];
    let o = weekbell_in(
        dir.path(),
        &[
            "init",
            "清单.csv",
            "--roster",
            "通讯录.csv",
            "--platform",
            "dingtalk",
        ],
        &env,
    );
    assert_exit(&o, 0);
    let text = std::fs::read_to_string(dir.path().join("weekbell.toml")).unwrap_or_default();
    assert!(
        text.contains("[roster]\nsource = \"通讯录.csv\"\nplatform = \"dingtalk\""),
        "{text}"
    );
    assert!(text.contains("mobile = \"13800000001\""), "{text}");
    let with_secret = [env[0], ("COUNTY_DINGTALK_SECRET", "SEC0123")];
    let o = dingtalk_reminders(dir.path(), "2026-12-07T09:00:00+08:00", &with_secret);
    assert!(stdout(&o).contains("manager4711"), "{}", stdout(&o));
}

/// `preview monday-reminders --channel dingtalk --json --at AT` on `dir`'s `weekbell.toml`,
/// which must succeed.
fn dingtalk_reminders(dir: &std::path::Path, at: &str, env: &[(&str, &str)]) -> Output {
    let args = [
        "--config",
        "weekbell.toml",
        "preview",
        "monday-reminders",
        "--channel",
        "dingtalk",
        "--json",
        "--at",
        at,
    ];
    let o = weekbell_in(dir, &args, env);
    assert_exit(&o, 0);
    o
}

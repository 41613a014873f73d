//! `weekbell check` and config loading against hostile or careless input: secrets written in
//! every TOML form, values too large for any date, a zip bomb as the task list, one secret on
//! two channels, weak inbound set-ups, and a reader that stops reading.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::daemon::{Daemon, wait_until, weekbell};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A config over the shipped English CSV with a console channel; `extra` is appended.
fn config(dir: &Path, head: &str, extra: &str) -> PathBuf {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        "{head}\ntimezone = \"UTC\"\n[store]\nurl = \"sqlite://weekbell.db\"\n[tasks]\nsource = \
         \"{}\"\n[tasks.columns]\nowners = \"owner\"\nunit = \"team\"\n[channels.term]\nplatform \
         = \"console\"\n[[schedules]]\nname = \"digest\"\ncron = \"0 17 * * FRI\"\nkind = \
         \"digest\"\nchannels = [\"term\"]\n{extra}",
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn check(dir: &Path, config: &Path) -> Output {
    weekbell(dir, config, &["check"], &[])
}

#[test]
fn check_into_a_reader_that_has_gone_exits_quietly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(dir.path(), "", "");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weekbell"))
        .current_dir(dir.path())
        .args(["--config", &cfg.display().to_string(), "check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // As `weekbell check | head -0`: the reading end is closed before anything is written,
    // so the first write fails with a broken pipe.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn secrets_in_inline_tables_dotted_keys_and_multi_line_strings_never_show_in_check() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Each config has one mistake (`tint`) next to a secret: its snippet shows that line.
    for (head, extra, secret) in [
        (
            "",
            "[channels.a]\nplatform = \"dingtalk\"\nwebhook = \"\"\"\nhttps://oapi.dingtalk.com/\
             robot/send?access_token=MULTILINE77\"\"\"\ntint = 1\n",
            "MULTILINE77",
        ),
        (
            "",
            "[channels.b]\nplatform = \"feishu\"\nwebhook = \"https://open.feishu.cn/h/x\"\n\
             inbound = { app_secret = \"INLINE88\", tint = 2 }\n",
            "INLINE88",
        ),
        (
            "channels.c.platform = \"slack\"\nchannels.c.webhook = \"https://hooks.slack.com/\
             services/T/B/DOTTED99\"\nchannels.c.tint = 3",
            "",
            "DOTTED99",
        ),
    ] {
        let cfg = config(dir.path(), head, extra);
        let o = check(dir.path(), &cfg);
        let all = all_output(&o);
        assert_eq!(o.status.code(), Some(2), "{all}");
        assert!(all.contains("inbound") || all.contains("tint"), "{all}");
        assert!(!all.contains(secret), "{secret} shows in:\n{all}");
    }
}

#[cfg(unix)]
#[test]
fn a_secret_in_an_inline_table_or_a_store_password_parameter_asks_for_chmod_600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let warned = |from: &str, to: &str| {
        let cfg = config(dir.path(), "", "");
        let text = std::fs::read_to_string(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains(from), "{text}");
        std::fs::write(&cfg, text.replace(from, to)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let o = check(dir.path(), &cfg);
        assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
        all_output(&o).contains("chmod 600")
    };
    assert!(warned(
        "[channels.term]\nplatform = \"console\"",
        "[channels]\nterm = { platform = \"dingtalk\", webhook = \
         \"https://oapi.dingtalk.com/robot/send?access_token=t0k\" }",
    ));
    assert!(warned(
        "url = \"sqlite://weekbell.db\"",
        "url = \"sqlite://weekbell.db?password=hunter2\"",
    ));
    assert!(!warned(
        "url = \"sqlite://weekbell.db\"",
        "url = \"sqlite://weekbell.db\""
    ));
}

#[test]
fn a_duration_too_large_for_any_date_is_a_problem_not_a_crash() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(dir.path(), "escalate_after = \"99999999999999d\"", "");
    let o = check(dir.path(), &cfg);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains(&format!("{}:1:", cfg.display())), "{all}");
    assert!(all.contains("不是有效的时长"), "{all}");
    let cfg = config(
        dir.path(),
        "locale = \"en\"",
        "catch_up = 9223372036854775807\n",
    );
    let all = all_output(&check(dir.path(), &cfg));
    assert!(all.contains("not a duration"), "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_daemon_keeps_the_last_good_config_when_a_duration_overflows() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(dir.path(), "locale = \"en\"", "");
    let daemon = Daemon::start(dir.path(), &cfg, &[]);
    wait_until("the daemon to start", Duration::from_secs(30), || {
        daemon.log().contains("weekbell started")
    })
    .await;
    config(
        dir.path(),
        "locale = \"en\"\nescalate_after = \"99999999999999d\"",
        "",
    );
    wait_until("the reload to be refused", Duration::from_secs(30), || {
        daemon.log().contains("keeping the last good version")
    })
    .await;
    let (code, log) = daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("not a duration"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

/// An xlsx whose sheet inflates to `unpacked` bytes from a few hundred KB: the shipped
/// workbook with a comment of that many spaces in its first sheet.
fn zip_bomb(path: &Path, unpacked: usize) {
    let shipped = std::fs::read(repo().join("tests/fixtures/rectification-list.xlsx"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut source =
        zip::ZipArchive::new(std::io::Cursor::new(shipped)).unwrap_or_else(|e| panic!("{e}"));
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut body).unwrap_or_else(|e| panic!("{e}"));
        out.start_file(name.as_str(), options)
            .unwrap_or_else(|e| panic!("{e}"));
        if name == "xl/worksheets/sheet1.xml" {
            let root = body
                .windows(10)
                .position(|w| w == b"<worksheet")
                .unwrap_or_else(|| panic!("no <worksheet> in the sheet"));
            let chunk = vec![b' '; 1 << 20];
            let write = |out: &mut zip::ZipWriter<std::fs::File>, bytes: &[u8]| {
                out.write_all(bytes).unwrap_or_else(|e| panic!("{e}"))
            };
            write(&mut out, &body[..root]);
            write(&mut out, b"<!--");
            for _ in 0..unpacked / chunk.len() {
                write(&mut out, &chunk);
            }
            write(&mut out, b"-->");
            write(&mut out, &body[root..]);
        } else {
            out.write_all(&body).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    out.finish().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bomb = dir.path().join("list.xlsx");
    // Past the default limit of 256 MiB: this is the file that used to take `tasks` to
    // the size of its XML in memory.
    zip_bomb(&bomb, 300 << 20);
    let packed = std::fs::metadata(&bomb).map_or(0, |m| m.len());
    assert!(packed < 2 << 20, "the bomb is {packed} bytes");
    let text = format!(
        "locale = \"en\"\ntimezone = \"UTC\"\n[store]\nurl = \"sqlite://weekbell.db\"\n[tasks]\n\
         source = \"{}\"\n[channels.term]\nplatform = \"console\"\n",
        bomb.display()
    );
    let cfg = dir.path().join("weekbell.toml");
    std::fs::write(&cfg, &text).unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(dir.path(), &cfg, &["tasks"], &[]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains("max_unpacked_size (256.0 MiB)"), "{all}");
    assert!(all.contains("xl/worksheets/sheet1.xml"), "{all}");
    // A larger limit lets the same file through: the check is the only thing refusing it.
    let raised = text.replace(
        "[channels.term]",
        "max_unpacked_size = \"512MiB\"\n[channels.term]",
    );
    std::fs::write(&cfg, raised).unwrap_or_else(|e| panic!("{e}"));
    let o = weekbell(dir.path(), &cfg, &["tasks"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
}

#[test]
fn two_channels_with_one_signing_secret_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let extra = "[channels.county]\nplatform = \"slack\"\nwebhook = \"https://hooks.slack.com/services/T/B/c\"\n\
                 signing_secret = \"${SLACK_SECRET}\"\n\
                 [channels.town]\nplatform = \"slack\"\nwebhook = \"https://hooks.slack.com/services/T/B/t\"\n\
                 signing_secret = \"${SLACK_SECRET}\"\n";
    let cfg = config(dir.path(), "locale = \"en\"", extra);
    let o = weekbell(
        dir.path(),
        &cfg,
        &["check"],
        &[("SLACK_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")],
    );
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains(&format!("{}:24:", cfg.display())), "{all}");
    assert!(
        all.contains("channel `town` has the same signing_secret as channel `county`"),
        "{all}"
    );
    assert!(all.contains("its own app"), "{all}");
    assert!(!all.contains("8f742231"), "{all}");
}

#[test]
fn check_warns_about_weak_inbound_set_ups_with_their_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let extra = "[channels.fs]\nplatform = \"feishu\"\nwebhook = \"https://open.feishu.cn/open-apis/bot/v2/hook/${FS_HOOK}\"\n\
                 verification_token = \"${FS_TOKEN}\"\n\
                 [channels.gc]\nplatform = \"googlechat\"\nwebhook = \"https://chat.googleapis.com/v1/spaces/A/messages?key=${GC_KEY}\"\n\
                 audience = \"https://wb.example.gov/hooks/gc\"\n\
                 [channels.mm]\nplatform = \"mattermost\"\nwebhook = \"https://mm.example.gov/hooks/${MM_HOOK}\"\n\
                 token = \"${MM_TOKEN:-}\"\n";
    let cfg = config(dir.path(), "locale = \"en\"", extra);
    let env = [
        ("FS_HOOK", "h"),
        ("FS_TOKEN", "t"),
        ("GC_KEY", "k"),
        ("MM_HOOK", "m"),
    ];
    let o = weekbell(dir.path(), &cfg, &["check"], &env);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    let path = cfg.display();
    for (line, says) in [
        (20, "has only a verification_token"),
        (24, "without `service_account`"),
        (28, "has a blank `token`"),
    ] {
        assert!(
            all.contains(&format!("{path}:{line}:")),
            "line {line} in:\n{all}"
        );
        assert!(all.contains(says), "{says:?} in:\n{all}");
    }
}

#[test]
fn check_reports_every_unknown_key_and_a_misspelt_time_zone_in_one_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(
        dir.path(),
        "locale = \"en\"",
        "[[schedules]]\nname = \"nag\"\ncron = \"0 9 * * MON\"\nkind = \"digest\"\nworkdays_ony = \
         true\nchannels = [\"term\"]\ntimezone = \"asia/shanghai\"\n[channels.term2]\nplatform = \"console\"\n\
         tempaltes = \"t\"\n",
    );
    let o = check(dir.path(), &cfg);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let cfg_name = cfg.display().to_string();
    for (at, expected) in [
        ("21:1", "unknown key `workdays_ony`"),
        ("23:12", "`asia/shanghai` is not an IANA time"),
        ("26:1", "unknown key `tempaltes`"),
    ] {
        assert!(
            out.contains(&format!("{cfg_name}:{at}: {expected}")),
            "{expected} at {at}:\n{out}"
        );
    }
    for help in [
        "did you mean `workdays_only`?",
        "did you mean `templates`?",
        "did you mean `Asia/Shanghai`?",
    ] {
        assert!(out.contains(help), "{help}:\n{out}");
    }
}

#[test]
fn a_missing_task_list_names_the_config_line_and_the_path_it_resolved_to() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("weekbell.toml");
    let text = "timezone = \"UTC\"\n[tasks]\nsource = \"lists/tasks.csv\"\n[channels.term]\n\
                platform = \"console\"\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let o = check(dir.path(), &path);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let resolved = dir.path().join("lists/tasks.csv");
    assert!(
        out.contains(&format!("task list {} does not exist", resolved.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("`source` at {}:3:10", path.display())),
        "{out}"
    );
}

#[test]
fn a_list_with_only_its_header_row_loads_with_a_warning() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = dir.path().join("tasks.csv");
    std::fs::write(&list, "id,title,owner,team,due,status,notes\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("weekbell.toml");
    let text = "locale = \"en\"\ntimezone = \"UTC\"\n[tasks]\nsource = \"tasks.csv\"\n\
                [tasks.columns]\nowners = \"owner\"\nunit = \"team\"\n[channels.term]\n\
                platform = \"console\"\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let o = check(dir.path(), &path);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "task list {} has a header but no tasks",
            list.display()
        )),
        "{out}"
    );
    // The list has no leader column either, which check says too (issue 14).
    assert!(out.contains("no leader column found"), "{out}");
    assert!(out.contains("2 warning(s)"), "{out}");
}

#[test]
fn check_reports_every_bad_warning_rule_with_its_line_and_lists_the_levels() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = "[[warnings]]\nname = \"blue\"\nrule = \"due_withn 3d\"\n\
               [[warnings]]\nname = \"yellow\"\nrule = [\"no_update_for soon\"]\nrepeat = \"hourly\"\n\
               [[warnings]]\nname = \"red\"\nrule = \"overdue\"\nnotify = [\"owners\", \"channel:nowhere\", \"boss\"]\n";
    let cfg = config(dir.path(), "locale = \"en\"", bad);
    let o = check(dir.path(), &cfg);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    let at = |line: usize| format!("weekbell.toml:{line}:");
    // The config's own 16 lines come first, then the appended entries from line 17.
    for (line, needle) in [
        (19, "unknown warning rule `due_withn`"),
        (22, "takes a duration in whole days"),
        (23, "unknown repeat `hourly`"),
        (27, "no channel named `nowhere`"),
        (27, "unknown recipient `boss`"),
    ] {
        assert!(out.contains(&at(line)), "expected line {line} in:\n{out}");
        assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
    }
    assert!(out.contains("did you mean `due_within`"), "{out}");

    let good = "[[warnings]]\nname = \"blue\"\nlabel = \"蓝色预警\"\nrule = \"due_within 3d\"\n\
                [[warnings]]\nname = \"red\"\nrule = \"overdue\"\n\
                [[warnings]]\nname = \"red\"\nrule = [\"overdue_by 7d\", \"blocked_for 14d\"]\n\
                notify = [\"owners\", \"leader\", \"admins\", \"channel:term\"]\nrepeat = \"daily\"\n";
    let cfg = config(dir.path(), "", good);
    let o = check(dir.path(), &cfg);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("levels     [[warnings]]"), "{out}");
    assert!(out.contains("蓝色预警"), "{out}");
    assert!(
        out.contains("overdue_by 7d or blocked_for 14d")
            && out.contains("→ owners, leader, admins, channel:term")
            && out.contains("repeat=daily"),
        "{out}"
    );
}

#[test]
fn entries_sharing_a_name_must_stand_together() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let apart = "[[warnings]]\nname = \"red\"\nrule = \"overdue\"\n\
                 [[warnings]]\nname = \"blue\"\nrule = \"due_within 3d\"\n\
                 [[warnings]]\nname = \"red\"\nrule = \"overdue_by 7d\"\n";
    let cfg = config(dir.path(), "locale = \"en\"", apart);
    let o = check(dir.path(), &cfg);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("weekbell.toml:24:"), "{out}");
    assert!(out.contains("apart from the earlier `red`"), "{out}");
}

#[test]
fn an_old_escalate_after_still_works_as_the_top_level_with_a_hint_to_move() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(dir.path(), "locale = \"en\"\nescalate_after = \"5d\"", "");
    let o = check(dir.path(), &cfg);
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("built-in warning levels"), "{out}");
    assert!(out.contains("overdue_by 5d"), "{out}");
    assert!(
        out.contains("weekbell.toml:2:") && out.contains("consider [[warnings]]"),
        "{out}"
    );
}

//! End-to-end tests of `weekbell run` and `weekbell send`: the real binary, a real SQLite file,
//! and local servers that answer like the chat platforms.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::chat_servers::*;
use support::daemon::{Daemon, wait_until, weekbell};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn outbox_json(dir: &Path, config: &Path, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let o = weekbell(
        dir,
        config,
        &["outbox", "list", "--limit", "100000", "--json"],
        env,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    v.as_array().cloned().unwrap_or_default()
}

/// Writes a config whose task list is the shipped English CSV.
fn config(dir: &Path, channels: &str, schedules: &str) -> PathBuf {
    let tasks = repo().join("config/tasks/team-tasks.csv");
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "sqlite://weekbell.db"
[tasks]
source = "{}"
[tasks.columns]
owners = "owner"
unit = "team"
{channels}
[[people]]
id = "alice"
name = "Alice"
dingtalk = "ding-alice"
slack = "U01ALICE"
{schedules}
"#,
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// A schedule firing every two seconds posts each slot once to the console, and SIGTERM stops
/// the daemon cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn console_digest_every_two_seconds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(
        dir.path(),
        "[channels.term]\nplatform = \"console\"",
        "[[schedules]]\nname = \"tick\"\ncron = \"*/2 * * * * *\"\nkind = \"digest\"\nchannels = [\"term\"]",
    );
    let d = Daemon::start(dir.path(), &cfg, &[]);
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    let slots = log.matches("weekbell → term (console)").count();
    assert!(
        (3..=4).contains(&slots),
        "expected 3 or 4 digests in 7 s:\n{log}"
    );
    let outbox = outbox_json(dir.path(), &cfg, &[]);
    assert_eq!(outbox.len(), slots);
    assert!(outbox.iter().all(|m| m["status"] == "sent"));
}

fn dingtalk_channel(srv: &FakeServer) -> String {
    format!(
        "[channels.ding]\nplatform = \"dingtalk\"\nwebhook = \"${{DING_HOOK}}\"\nsecret = \"${{DING_SECRET}}\"\nrate_limit = \"off\"\n# {}\n",
        srv.base_url()
    )
}

const TICK_DIGEST: &str = "[[schedules]]\nname = \"tick\"\ncron = \"*/2 * * * * *\"\nkind = \"digest\"\nchannels = [\"ding\"]\ncatch_up = \"1m\"";

/// Posts reach a DingTalk-like server that checks the 加签 signature; a reply of HTTP 200 with
/// an error code is retried and not counted as sent; the token and secret appear nowhere in the
/// logs or in `outbox` output.
#[tokio::test(flavor = "multi_thread")]
async fn dingtalk_errcode_is_retried_and_secrets_stay_hidden() {
    let secret = "SECa1b2c3d4e5f6very-secret";
    let srv = FakeDingTalk::start(FakeOptions {
        secret: Some(secret.into()),
        token: Some("tok0123456789abcdef".into()),
        ..Default::default()
    })
    .await;
    // The first answer is DingTalk's "system busy" in a 200 reply.
    srv.script([Reply::Code(-1)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = config(dir.path(), &dingtalk_channel(&srv), TICK_DIGEST);
    let env = [
        ("DING_HOOK", srv.url()),
        ("DING_SECRET", secret.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let d = Daemon::start(dir.path(), &cfg, &env);
    let got = srv.wait_for(2, Duration::from_secs(30)).await;
    assert!(got.len() >= 2, "{}", d.log());
    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    let outbox = outbox_json(dir.path(), &cfg, &env);
    let first = outbox
        .iter()
        .min_by_key(|m| m["created_ms"].as_i64())
        .cloned()
        .unwrap_or_default();
    // The first message was answered with errcode -1 once, then accepted.
    assert_eq!(first["status"], "sent", "{first}");
    assert!(first["attempts"].as_i64().unwrap_or(0) >= 1, "{first}");
    assert!(log.contains("will retry"), "{log}");
    let listing = weekbell(dir.path(), &cfg, &["outbox"], &env);
    let everything = format!(
        "{log}{}{}",
        String::from_utf8_lossy(&listing.stdout),
        String::from_utf8_lossy(&listing.stderr)
    );
    for needle in ["tok0123456789abcdef", "very-secret"] {
        assert!(
            !everything.contains(needle),
            "{needle} leaked:\n{everything}"
        );
    }
    // Every slot was sent once: the fake saw no slot twice except for the one retried.
    let sent = outbox.iter().filter(|m| m["status"] == "sent").count();
    assert_eq!(srv.received().len(), sent);
}

/// A throttle code makes the channel wait before its next try.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttle_code_waits() {
    let srv = FakeWeCom::start(FakeOptions {
        token: Some("wecomkey42".into()),
        ..Default::default()
    })
    .await;
    srv.script([Reply::Code(45009)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let channel = "[channels.ding]\nplatform = \"wecom\"\nwebhook = \"${WECOM_HOOK}\"\nrate_limit = \"off\"\n";
    let cfg = config(dir.path(), channel, TICK_DIGEST);
    let url = srv.url();
    let env = [("WECOM_HOOK", url.as_str())];
    let d = Daemon::start(dir.path(), &cfg, &env);
    wait_until("the throttled request", Duration::from_secs(15), || {
        srv.request_count() >= 1
    })
    .await;
    // WeCom 45009 means "wait": with new slots arriving every 2 s, nothing more may be sent.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        srv.request_count(),
        1,
        "a throttled channel must wait:\n{}",
        d.log()
    );
    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    let outbox = outbox_json(dir.path(), &cfg, &env);
    assert!(outbox.len() >= 3, "{outbox:?}");
    assert!(
        outbox.iter().all(|m| m["status"] == "pending"),
        "{outbox:?}"
    );
    assert!(outbox.iter().any(|m| m["attempts"] == 1), "{outbox:?}");
}

/// A permanent refusal (Feishu 19021: bad signature) becomes a dead letter with the platform's
/// reason, shown by `outbox`; `send` fires a schedule once and reports it.
#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_code_dead_letters() {
    let srv = FakeFeishu::start(FakeOptions {
        secret: Some("right-secret".into()),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let channel = "[channels.ding]\nplatform = \"feishu\"\nwebhook = \"${FS_HOOK}\"\nsecret = \"wrong-secret\"\n";
    let schedules = "[[schedules]]\nname = \"weekly\"\ncron = \"0 9 * * MON\"\nkind = \"digest\"\nchannels = [\"ding\"]";
    let cfg = config(dir.path(), channel, schedules);
    let url = srv.url();
    let env = [("FS_HOOK", url.as_str())];
    let o = weekbell(dir.path(), &cfg, &["send", "weekly"], &env);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("dead"), "{out}");
    assert_eq!(srv.request_count(), 1, "a permanent refusal is not retried");
    let outbox = outbox_json(dir.path(), &cfg, &env);
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["status"], "dead");
    let reason = outbox[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("19021") || reason.to_lowercase().contains("sign"),
        "{reason}"
    );
    assert!(!out.contains("wrong-secret") && !reason.contains("wrong-secret"));
    assert!(!out.contains(srv.token()));
}

/// SIGKILL in the middle of a fan-out, then a restart: the slot is not fired again, every
/// message arrives, and only a send in flight at the kill can arrive twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_fan_out_neither_repeats_nor_loses() {
    let srv = FakeWebhook::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let channel =
        "[channels.ding]\nplatform = \"webhook\"\nwebhook = \"${HOOK}\"\nrate_limit = \"2/s\"\n";
    // One slot, a few seconds from now: six reminders (one per owner) to one channel.
    let at = chrono::Utc::now() + chrono::Duration::seconds(4);
    let cron = at.format("%S %M %H * * *").to_string();
    let schedules = format!(
        "[[schedules]]\nname = \"once\"\ncron = \"{cron}\"\nkind = \"reminders\"\nchannels = [\"ding\"]\ntimezone = \"UTC\""
    );
    let cfg = config(dir.path(), channel, &schedules);
    let url = srv.url();
    let env = [("HOOK", url.as_str())];
    let d = Daemon::start(dir.path(), &cfg, &env);
    wait_until("three reminders", Duration::from_secs(20), || {
        srv.request_count() >= 3
    })
    .await;
    let before = d.kill9();
    assert!(before.contains("slot claimed"), "{before}");
    let received_at_kill = srv.request_count();
    assert!(received_at_kill < 6, "the fan-out finished before the kill");

    let d = Daemon::start(dir.path(), &cfg, &env);
    wait_until("every reminder", Duration::from_secs(60), || {
        let texts: std::collections::HashSet<String> = srv
            .received()
            .iter()
            .map(|b| b["text"].as_str().unwrap_or_default().to_string())
            .collect();
        texts.len() >= 6
    })
    .await;
    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("slot claimed"),
        "the slot was fired again after the restart:\n{log}"
    );
    let outbox = outbox_json(dir.path(), &cfg, &env);
    assert_eq!(outbox.len(), 6, "{outbox:?}");
    assert!(outbox.iter().all(|m| m["status"] == "sent"), "{outbox:?}");
    let total = srv.request_count();
    assert!(
        (6..=7).contains(&total),
        "{total} requests for 6 messages: at most the one in flight may repeat"
    );
}

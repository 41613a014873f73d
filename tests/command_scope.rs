//! What a command may reach, end to end against the real `weekbell run`: a channel's scope
//! (`units`) bounds the commands sent through it as it bounds its digest, `weekbell cmd`
//! without `--channel` reaches every task, and a message id that comes back with other text
//! is answered "already handled" instead of as if its change were made.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::daemon::{Daemon, team_tasks, wait_until, weekbell_ok, write_team_config};

/// Each channel has its own token: `check` refuses one secret on two channels.
const TOKEN: &str = "api-scope-5d1c8e";
const TOKEN_ALL: &str = "api-scope-all-93b0a7";

fn token_of(channel: &str) -> &'static str {
    if channel == "web" { TOKEN } else { TOKEN_ALL }
}

/// The English team list (units platform, web, ops, docs); Alice is an admin. Two JSON API
/// channels: `web` covers the web unit only, `everything` has no scope.
fn config(dir: &Path, port: u16) -> PathBuf {
    write_team_config(
        dir,
        port,
        "",
        &team_tasks(),
        r#"[channels.web]
platform = "webhook"
webhook = "http://127.0.0.1:9/unused"
token = "${API_TOKEN}"
units = ["web"]
[channels.everything]
platform = "webhook"
webhook = "http://127.0.0.1:9/unused"
token = "${API_TOKEN_ALL}"
[[people]]
id = "alice"
name = "Alice"
admin = true
"#,
    )
}

struct Running {
    daemon: Daemon,
    base: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Running {
    async fn start() -> Running {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let config = config(dir.path(), port);
        let daemon = Daemon::start(
            dir.path(),
            &config,
            &[("API_TOKEN", TOKEN), ("API_TOKEN_ALL", TOKEN_ALL)],
        );
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        // The listener is bound once the store is open and the plan loaded.
        wait_until("the server to come up", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        Running {
            daemon,
            base,
            client,
            dir,
            config,
        }
    }

    /// Sends `text` as Alice through `channel` with request id `id`; the JSON answer.
    async fn send(&self, channel: &str, id: &str, text: &str) -> Value {
        let resp = self
            .client
            .post(format!("{}/hooks/{channel}", self.base))
            .bearer_auth(token_of(channel))
            .json(&json!({"id": id, "as": "alice", "text": text}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), 200, "{}", self.daemon.log());
        resp.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    fn cli(&self, args: &[&str]) -> String {
        weekbell_ok(
            self.dir.path(),
            &self.config,
            args,
            &[("API_TOKEN", TOKEN), ("API_TOKEN_ALL", TOKEN_ALL)],
        )
    }

    fn status_of(&self, id: &str) -> Value {
        let v: Value =
            serde_json::from_str(&self.cli(&["tasks", "--json"])).unwrap_or_else(|e| panic!("{e}"));
        v.as_array()
            .and_then(|a| a.iter().find(|t| t["id"] == id))
            .map(|t| t["status"].clone())
            .unwrap_or_else(|| panic!("no task {id}"))
    }
}

fn reply(answer: &Value) -> &str {
    answer["reply"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_with_units_reaches_only_its_units_tasks_even_for_an_admin() {
    let r = Running::start().await;

    let list = r.send("web", "w1", "list").await;
    assert!(reply(&list).contains("WEB-211"), "{list}");
    for other in ["API-101", "API-102", "OPS-330", "DOC-400"] {
        assert!(!reply(&list).contains(other), "{other} in {list}");
    }
    let blocked = r.send("web", "w2", "list blocked").await;
    assert!(!reply(&blocked).contains("OPS-330"), "{blocked}");
    let unit = r.send("web", "w3", "list platform").await;
    assert!(!reply(&unit).contains("API-101"), "{unit}");
    assert!(reply(&unit).contains("no unit"), "{unit}");

    let before = r.status_of("API-101");
    let done = r.send("web", "w4", "done API-101").await;
    assert_eq!(done["recorded"], 0, "{done}");
    assert!(reply(&done).contains("no task"), "{done}");
    assert_eq!(r.status_of("API-101"), before);
    let report = r.send("web", "w5", "report platform shipped").await;
    assert_eq!(report["recorded"], 0, "{report}");
    assert!(reply(&report).contains("does not cover"), "{report}");

    let own = r.send("web", "w6", "done WEB-211").await;
    assert_eq!(own["recorded"], 1, "{own}");
    let own_report = r.send("web", "w7", "report web audit closed").await;
    assert_eq!(own_report["recorded"], 1, "{own_report}");

    // The same scope through `weekbell cmd --channel`; without it, every task.
    let scoped = r.cli(&["cmd", "--as", "alice", "--channel", "web", "list"]);
    assert!(!scoped.contains("API-101"), "{scoped}");
    let all = r.cli(&["cmd", "--as", "alice", "list"]);
    assert!(all.contains("API-101") && all.contains("OPS-331"), "{all}");
    let changed: Value =
        serde_json::from_str(&r.cli(&["cmd", "--as", "alice", "--json", "done API-101"]))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changed["recorded"], 1, "{changed}");
    assert_ne!(r.status_of("API-101"), before);
    r.daemon.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_message_id_with_other_text_is_answered_already_handled() {
    let r = Running::start().await;
    let first = r.send("everything", "req-1", "done API-101").await;
    assert_eq!(first["recorded"], 1, "{first}");

    // The platform's retry: the same text keeps its usual answer.
    let retry = r.send("everything", "req-1", "done API-101").await;
    assert_eq!(retry["recorded"], 0, "{retry}");
    assert!(reply(&retry).contains("API-101"), "{retry}");
    assert!(!reply(&retry).contains("already handled"), "{retry}");

    let before = r.status_of("API-102");
    let reused = r.send("everything", "req-1", "done API-102").await;
    assert_eq!(reused["recorded"], 0, "{reused}");
    assert!(reply(&reused).contains("already handled"), "{reused}");
    assert!(!reply(&reused).contains("API-102"), "{reused}");
    assert_eq!(r.status_of("API-102"), before);

    let history: Value =
        serde_json::from_str(&r.cli(&["history", "--json"])).unwrap_or_else(|e| panic!("{e}"));
    let tasks: Vec<&str> = history
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["task"].as_str()).collect())
        .unwrap_or_default();
    assert!(!tasks.contains(&"API-102"), "{history}");
    r.daemon.terminate().await;
}

//! Feishu's long connection: the client against a local gateway that speaks the protocol, and
//! the real `weekbell run` answering a command typed in a Feishu group with no public URL.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::chat_servers::{FEISHU_APP_ID, FakeFeishu, FakeOptions};
use support::daemon::Daemon;
use support::feishu_ws_server::{FakeLongConnection, SERVICE_ID, event_frame, message_event};
use support::logs::Logs;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use weekbell::inbound::feishu_ws::{ClientConfig, LongConnectionConfig, METHOD_DATA, run};
use weekbell::inbound::{InboundMessage, ReplyRoute};
use weekbell::secret::Secret;

const APP_SECRET: &str = "fsAppSecret0123456789abcdefXYZ";
const WAIT: Duration = Duration::from_secs(5);

fn config(gw: &FakeLongConnection, secret: &str) -> LongConnectionConfig {
    LongConnectionConfig {
        domain: gw.base().to_string(),
        ..LongConnectionConfig::new(FEISHU_APP_ID, Secret::new(secret))
    }
}

fn start(
    config: LongConnectionConfig,
) -> (
    JoinHandle<()>,
    mpsc::UnboundedReceiver<InboundMessage>,
    watch::Sender<bool>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let handler = move |m: InboundMessage| {
        let _ = tx.send(m);
        std::future::ready(())
    };
    let task = tokio::spawn(run(config, support::client(WAIT), handler, shutdown));
    (task, rx, stop)
}

async fn stop_promptly(task: JoinHandle<()>, stop: &watch::Sender<bool>) {
    let _ = stop.send(true);
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the client panicked: {e}"),
        Err(_) => panic!("the client did not stop within 2 s of shutdown"),
    }
}

fn ack_code(frame: &weekbell::inbound::feishu_ws::Frame) -> Value {
    let payload: Value =
        serde_json::from_slice(frame.payload.as_deref().unwrap_or(b"")).unwrap_or_default();
    payload["code"].clone()
}

#[tokio::test]
async fn fragments_acks_dedupe_pings_reconfiguration_and_shutdown() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeLongConnection::start(FEISHU_APP_ID, APP_SECRET, None).await;
    gw.set_client_config(json!({"ReconnectCount": -1, "ReconnectInterval": 0, "ReconnectNonce": 0, "PingInterval": 30}));
    gw.set_pong_config(json!({"PingInterval": 1}));
    let (task, mut rx, stop) = start(config(&gw, APP_SECRET));
    let mut conn = gw.next_connection(WAIT).await;
    let calls = gw.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body,
        json!({"AppID": FEISHU_APP_ID, "AppSecret": APP_SECRET})
    );
    assert_eq!(calls[0].locale.as_deref(), Some("zh"));
    // The first ping comes at once, with the URL's service id.
    let pings = gw.wait_for_pings(1, WAIT).await;
    assert_eq!(pings[0].1, SERVICE_ID);

    // An event in two fragments, the second sent first: one ack, on the frame that completed it.
    let event = message_event("ev-1", "om_1", "ou_alice", "完成 12");
    conn.send_event(100, "msg-1", &event, 2);
    let ack = conn.recv(WAIT).await;
    assert_eq!(
        (ack.seq_id, ack.log_id, ack.service, ack.method),
        (100, 8_800_000_100, SERVICE_ID, METHOD_DATA)
    );
    assert_eq!(ack.header("message_id"), Some("msg-1"));
    assert_eq!(ack.header("trace_id"), Some("trace-100"));
    assert!(
        ack.header("biz_rt")
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "{ack:?}"
    );
    assert_eq!(ack.log_id_new, format!("02{:016x}", 100));
    assert_eq!(ack_code(&ack), 200);
    assert!(
        conn.try_recv(Duration::from_millis(200)).await.is_none(),
        "the first fragment was acked too"
    );
    let m = match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(m)) => m,
        _ => panic!("the event was not handed over"),
    };
    assert_eq!(m.message_id, "om_1");
    assert_eq!(m.text, "@_user_1 完成 12");
    assert!(matches!(m.reply, ReplyRoute::Feishu { ref chat_id, .. } if chat_id == "oc_e95e"));

    // Feishu's redelivery (same event_id) is acked and not handed over again; a card frame is
    // neither; a text frame is ignored.
    conn.send(event_frame(200, "msg-2", 1, 0, event.as_bytes()));
    let ack = conn.recv(WAIT).await;
    assert_eq!((ack.seq_id, ack_code(&ack)), (200, json!(200)));
    let mut card = event_frame(201, "msg-3", 1, 0, b"{}");
    card.headers[0].1 = "card".into();
    conn.send(card);
    conn.send(event_frame(202, "msg-4", 1, 0, b"not json"));
    let ack = conn.recv(WAIT).await;
    assert_eq!(ack.seq_id, 202, "the card frame was acked");
    assert!(rx.try_recv().is_err());

    // The pongs carry a 1 s PingInterval (the endpoint said 30 s): the pings that follow
    // come about a second apart.
    let pings = gw.wait_for_pings(3, Duration::from_secs(6)).await;
    let gap = pings[2].0.duration_since(pings[1].0);
    assert!(
        gap >= Duration::from_millis(800) && gap <= Duration::from_millis(1_600),
        "{gap:?}"
    );
    assert!(pings.iter().all(|p| p.1 == SERVICE_ID));

    // A dropped socket: a new endpoint call, a new connection.
    drop(conn);
    let _conn2 = gw.next_connection(WAIT).await;
    assert_eq!(gw.calls().len(), 2);
    assert!(gw.violations().is_empty(), "{:?}", gw.violations());

    stop_promptly(task, &stop).await;
    let log = logs.text();
    assert!(log.contains("Feishu long connection connected"), "{log}");
    assert!(log.contains("new settings from the server"), "{log}");
    assert!(!log.contains(APP_SECRET), "{log}");
    for secret in gw.url_secrets() {
        assert!(!log.contains(&secret), "a URL secret in the log: {log}");
    }
}

#[tokio::test]
async fn too_many_connections_at_the_handshake_stops_the_client() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeLongConnection::start(FEISHU_APP_ID, APP_SECRET, None).await;
    gw.reject_handshakes(true);
    let (task, _rx, stop) = start(config(&gw, APP_SECRET));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gw.calls().len(), 1, "retried after a fatal refusal");
    assert_eq!(gw.refused_sockets(), ["too many connections"]);
    assert!(!task.is_finished());
    stop_promptly(task, &stop).await;
    let log = logs.text();
    assert!(log.contains("ERROR") && log.contains("1000040350"), "{log}");
}

#[tokio::test]
async fn endpoint_codes_are_retried_or_stop_the_client() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeLongConnection::start(FEISHU_APP_ID, APP_SECRET, None).await;
    // Busy, then internal error: retried, here at once.
    gw.script_code([1, 1_000_040_343]);
    let quick = ClientConfig {
        reconnect_nonce: Duration::ZERO,
        reconnect_interval: Duration::from_millis(10),
        ..ClientConfig::default()
    };
    let (task, _rx, stop) = start(LongConnectionConfig {
        settings: quick,
        ..config(&gw, APP_SECRET)
    });
    let _conn = gw.next_connection(WAIT).await;
    assert_eq!(gw.calls().len(), 3);
    stop_promptly(task, &stop).await;

    // A wrong secret is a client error: reported once, not retried.
    let (task, _rx, stop) = start(config(&gw, "wrong-secret-7788"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.calls().len(), 4);
    stop_promptly(task, &stop).await;
    let log = logs.text();
    assert!(log.contains("code 10014"), "{log}");
    assert!(log.contains("使用长连接接收事件"), "{log}");
    assert!(!log.contains("wrong-secret-7788"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// The real daemon.

#[tokio::test(flavor = "multi_thread")]
async fn a_command_typed_in_feishu_reaches_weekbell_without_a_public_url() {
    let open_api = FakeFeishu::start(FakeOptions {
        token: Some(APP_SECRET.into()),
        ..FakeOptions::default()
    })
    .await;
    let gw = FakeLongConnection::start(FEISHU_APP_ID, APP_SECRET, Some(open_api.base_url())).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tasks =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
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
[channels.bureau]
platform = "feishu"
webhook = "{}"
app_id = "{FEISHU_APP_ID}"
app_secret = "${{FEISHU_APP_SECRET}}"
long_connection = true
api_base = "{}"
rate_limit = "off"
[[people]]
id = "alice"
name = "Alice"
feishu = "ou_alice"
"#,
        tasks.display(),
        open_api.url(),
        gw.base()
    );
    let config = dir.path().join("weekbell.toml");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let env = [("FEISHU_APP_SECRET", APP_SECRET)];
    let d = Daemon::start(dir.path(), &config, &env);
    let mut conn = gw.next_connection(Duration::from_secs(20)).await;

    let event = message_event("ev-e2e-1", "om_e2e_1", "ou_alice", "done API-101 shipped");
    conn.send_event(1, "msg-e2e-1", &event, 2);
    let ack = conn.recv(Duration::from_secs(10)).await;
    assert_eq!(ack_code(&ack), 200);
    let got = open_api.wait_for(1, Duration::from_secs(15)).await;
    let reply = got.first().cloned().unwrap_or_default();
    // The fake logs the exchange after it has recorded the message it accepted.
    let answered_as_reply = || {
        open_api
            .exchanges()
            .iter()
            .any(|e| e.seen.path_and_query == "/open-apis/im/v1/messages/om_e2e_1/reply")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !answered_as_reply() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        answered_as_reply(),
        "{:?}\n{}",
        open_api.exchanges(),
        d.log()
    );
    assert!(reply.to_string().contains("API-101"), "{reply}");

    let out = support::daemon::weekbell(dir.path(), &config, &["tasks", "--json"], &env);
    let tasks: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let status = tasks
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == "API-101"))
        .map(|t| t["status"].clone());
    assert_eq!(status, Some(json!("done")));

    let (code, log) = d.terminate().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("Feishu long connection connected"), "{log}");
    assert!(!log.contains(APP_SECRET), "{log}");
}

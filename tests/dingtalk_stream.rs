//! The DingTalk Stream-mode client against a local gateway that speaks the protocol.

mod support;

use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::dingtalk_stream_server::{
    Conn, FakeStreamGateway, disconnect_frame, ping_frame, robot_frame, robot_message,
};
use support::logs::Logs;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use weekbell::inbound::dingtalk_stream::{Backoff, StreamConfig, run};
use weekbell::inbound::{InboundMessage, ReplyRoute, Sender};
use weekbell::secret::Secret;

const APP_KEY: &str = "dingz0kqmbxkvlbd6xyz";
const APP_SECRET: &str = "Gx7-sEcReT_0123456789abcdefABCDEF0123456789abcdefABCDEF01234567";
const WAIT: Duration = Duration::from_secs(3);

fn config(gw: &FakeStreamGateway, secret: &str) -> StreamConfig {
    StreamConfig {
        gateway: gw.gateway().to_string(),
        backoff: Backoff {
            min: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        ..StreamConfig::new(APP_KEY, Secret::new(secret))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// Starts the client with a handler that forwards each message.
fn start(
    config: StreamConfig,
) -> (
    JoinHandle<()>,
    mpsc::UnboundedReceiver<InboundMessage>,
    watch::Sender<bool>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    // Forwarded when called rather than when polled, so that a handler call shows up as soon
    // as the frame has been dealt with.
    let handler = move |m: InboundMessage| {
        let _ = tx.send(m);
        std::future::ready(())
    };
    let task = tokio::spawn(run(config, client(), handler, shutdown));
    (task, rx, stop)
}

async fn stop_promptly(task: JoinHandle<()>, stop: &watch::Sender<bool>) {
    let _ = stop.send(true);
    match tokio::time::timeout(Duration::from_secs(1), task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the client panicked: {e}"),
        Err(_) => panic!("the client did not stop within 1 s of shutdown"),
    }
}

async fn expect_pong(conn: &mut Conn, id: &str, opaque: &str) {
    conn.send(&ping_frame(id, opaque)).await;
    let pong = conn.recv(WAIT).await;
    assert_eq!(pong["code"], 200, "{pong}");
    assert_eq!(pong["headers"]["messageId"], id, "{pong}");
    let data: Value = serde_json::from_str(pong["data"].as_str().unwrap_or("")).unwrap_or_default();
    assert_eq!(data["opaque"], opaque, "{pong}");
}

async fn expect_ack(conn: &mut Conn, id: &str) -> Value {
    let ack = conn.recv(WAIT).await;
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["headers"]["messageId"], id, "{ack}");
    assert_eq!(ack["headers"]["contentType"], "application/json", "{ack}");
    assert_eq!(ack["message"], "OK", "{ack}");
    assert!(ack["data"].is_string(), "data must be a JSON string: {ack}");
    ack
}

fn drain(rx: &mut mpsc::UnboundedReceiver<InboundMessage>) -> Vec<InboundMessage> {
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(m);
    }
    out
}

#[tokio::test]
async fn pings_acks_dedupe_disconnect_reconnect_and_shutdown() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    let (task, mut rx, stop) = start(config(&gw, APP_SECRET));

    let mut conn = gw.next_connection(WAIT).await;
    let calls = gw.open_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 200);
    assert_eq!(calls[0].accept.as_deref(), Some("application/json"));
    assert_eq!(calls[0].body["clientId"], APP_KEY);

    expect_pong(&mut conn, "ping-1", "opaque-1").await;

    // A message, the same delivery again, and the same msgId under a new messageId: one
    // handler call, three acks.
    let first = robot_message("msgLICYe1==", " 完成 12");
    conn.send(&robot_frame("cb-1", &first)).await;
    expect_ack(&mut conn, "cb-1").await;
    conn.send(&robot_frame("cb-1", &first)).await;
    expect_ack(&mut conn, "cb-1").await;
    conn.send(&robot_frame("cb-2", &first)).await;
    expect_ack(&mut conn, "cb-2").await;
    conn.send(&robot_frame(
        "cb-3",
        &robot_message("msgLICYe2==", "进度 3 50%"),
    ))
    .await;
    expect_ack(&mut conn, "cb-3").await;
    // Frames are handled in order, so after this pong every handler call above has happened.
    expect_pong(&mut conn, "ping-2", "opaque-2").await;
    let got = drain(&mut rx);
    let ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["msgLICYe1==", "msgLICYe2=="]);
    let m = &got[0];
    assert_eq!(m.text, " 完成 12");
    assert_eq!(m.sender_name.as_deref(), Some("张三"));
    assert_eq!(
        m.sender,
        Sender::DingTalk {
            staff_id: Some("manager7675".into()),
            sender_id: "$:LWCP_v1:$ABCdef==".into()
        }
    );
    let ReplyRoute::DingTalk {
        session_webhook,
        session_webhook_expires_at_ms,
        conversation_id,
        ..
    } = &m.reply
    else {
        panic!("wrong reply route: {:?}", m.reply)
    };
    assert_eq!(
        session_webhook.as_ref().map(Secret::expose),
        Some("https://oapi.dingtalk.com/robot/sendBySession?session=76da")
    );
    assert_eq!(*session_webhook_expires_at_ms, Some(1_764_923_400_000));
    assert_eq!(conversation_id.as_deref(), Some("cidAsXSBLnA=="));

    // Junk is logged and survived; a robot frame with unreadable data is still acked.
    conn.send_text("not json at all").await;
    let no_id =
        r#"{"type":"CALLBACK","headers":{"topic":"/v1.0/im/bot/messages/get"},"data":"{}"}"#;
    conn.send_text(no_id).await;
    conn.send(&robot_frame("cb-bad", "{\"msgId\": ")).await;
    expect_ack(&mut conn, "cb-bad").await;
    let picture =
        r#"{"msgId":"msgPic==","msgtype":"picture","senderId":"s","content":{"downloadCode":"x"}}"#;
    conn.send(&robot_frame("cb-pic", picture)).await;
    expect_ack(&mut conn, "cb-pic").await;
    expect_pong(&mut conn, "ping-3", "opaque-3").await;
    assert!(drain(&mut rx).is_empty());

    // `disconnect`: acked, the socket closed, a new connection with a new ticket.
    conn.send(&disconnect_frame("dc-1", "connection is expired"))
        .await;
    expect_ack(&mut conn, "dc-1").await;
    conn.expect_closed(WAIT).await;
    let mut conn2 = gw.next_connection(WAIT).await;
    assert_ne!(conn2.ticket, conn.ticket);
    assert_eq!(gw.open_calls().len(), 2);
    conn2
        .send(&robot_frame(
            "cb-4",
            &robot_message("msgLICYe3==", "完成 7"),
        ))
        .await;
    expect_ack(&mut conn2, "cb-4").await;
    expect_pong(&mut conn2, "ping-4", "opaque-4").await;
    let ids: Vec<String> = drain(&mut rx).into_iter().map(|m| m.message_id).collect();
    assert_eq!(ids, ["msgLICYe3=="]);
    // A redelivery on the new connection of a message handled on the old one.
    conn2.send(&robot_frame("cb-1", &first)).await;
    expect_ack(&mut conn2, "cb-1").await;
    expect_pong(&mut conn2, "ping-5", "opaque-5").await;
    assert!(drain(&mut rx).is_empty());

    // The socket dropped without a close: another connection, another ticket.
    let old_ticket = conn2.ticket.clone();
    drop(conn2);
    let mut conn3 = gw.next_connection(WAIT).await;
    assert_ne!(conn3.ticket, old_ticket);
    assert_eq!(gw.open_calls().len(), 3);
    assert!(
        gw.refused_sockets().is_empty(),
        "{:?}",
        gw.refused_sockets()
    );

    stop_promptly(task, &stop).await;
    conn3.expect_closed(WAIT).await;

    let log = logs.text();
    assert!(log.contains("DingTalk Stream connected"), "{log}");
    assert!(log.contains("connection is expired"), "{log}");
    assert!(log.contains("unreadable frame"), "{log}");
    assert!(!log.contains(APP_SECRET), "{log}");
    for ticket in gw.tickets() {
        assert!(!log.contains(&ticket), "ticket in the log: {log}");
    }
}

#[tokio::test]
async fn wrong_secret_is_reported_with_the_app_key_and_retried() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    let wrong = "wrong-secret-9f8e7d6c5b4a";
    let (task, _rx, stop) = start(config(&gw, wrong));

    let calls = gw.wait_for_open_calls(3, WAIT).await;
    assert!(calls.iter().all(|c| c.status == 401), "{calls:?}");
    stop_promptly(task, &stop).await;

    let log = logs.text();
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains(&format!("AppKey {APP_KEY}")), "{log}");
    assert!(log.contains("HTTP 401: authFailed: 鉴权失败"), "{log}");
    assert!(log.contains("AppSecret (Client Secret)"), "{log}");
    assert!(!log.contains(wrong) && !log.contains(APP_SECRET), "{log}");
}

#[tokio::test]
async fn slow_handlers_hold_up_nothing_and_are_finished_on_shutdown() {
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    let (release, released) = watch::channel(false);
    let done = Arc::new(AtomicUsize::new(0));
    let handler_done = done.clone();
    let handler = move |_m: InboundMessage| {
        let mut released = released.clone();
        let done = handler_done.clone();
        async move {
            let _ = released.wait_for(|r| *r).await;
            done.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run(config(&gw, APP_SECRET), client(), handler, shutdown));

    let mut conn = gw.next_connection(WAIT).await;
    for (id, msg) in [("cb-1", "msgSlow1=="), ("cb-2", "msgSlow2==")] {
        conn.send(&robot_frame(id, &robot_message(msg, "完成 1")))
            .await;
        expect_ack(&mut conn, id).await;
    }
    expect_pong(&mut conn, "ping-1", "opaque-1").await;
    assert_eq!(done.load(Ordering::SeqCst), 0);

    // Shutdown closes the socket at once but lets the two handlers finish.
    let _ = stop.send(true);
    conn.expect_closed(WAIT).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!task.is_finished());
    let _ = release.send(true);
    match tokio::time::timeout(Duration::from_secs(1), task).await {
        Ok(Ok(())) => {}
        other => panic!("the client did not finish: {other:?}"),
    }
    assert_eq!(done.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_burst_past_the_handler_cap_is_acked_at_once_and_every_command_runs() {
    // 100 handlers may run at once; a robot message is not known to be pushed again if left
    // unacked, so the ones past the cap must be acked, kept and run later.
    const BURST: usize = 250;
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    let (release, released) = watch::channel(false);
    let called = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let handler_called = called.clone();
    let handler = move |m: InboundMessage| {
        handler_called.fetch_add(1, Ordering::SeqCst);
        let (mut released, done) = (released.clone(), done_tx.clone());
        async move {
            let _ = released.wait_for(|r| *r).await;
            let _ = done.send(m.message_id);
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run(config(&gw, APP_SECRET), client(), handler, shutdown));

    let mut conn = gw.next_connection(WAIT).await;
    for i in 0..BURST {
        let id = format!("burst-{i}");
        conn.send(&robot_frame(
            &id,
            &robot_message(&format!("msgBurst{i}=="), "完成 1"),
        ))
        .await;
        expect_ack(&mut conn, &id).await;
    }
    assert_eq!(called.load(Ordering::SeqCst), 100, "the cap still holds");

    let _ = release.send(true);
    let mut ran = std::collections::BTreeSet::new();
    while ran.len() < BURST {
        match tokio::time::timeout(WAIT, done_rx.recv()).await {
            Ok(Some(id)) => {
                ran.insert(id);
            }
            _ => panic!("only {} of {BURST} commands ran", ran.len()),
        }
    }
    assert_eq!(called.load(Ordering::SeqCst), BURST);
    stop_promptly(task, &stop).await;
}

#[tokio::test]
async fn a_silent_connection_is_given_up_after_the_keepalive() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    let config = StreamConfig {
        keepalive: Duration::from_millis(150),
        ..config(&gw, APP_SECRET)
    };
    let (task, _rx, stop) = start(config);

    // Never read, so the client's WebSocket ping goes unanswered.
    let silent = gw.next_connection(WAIT).await;
    let next = gw.next_connection(WAIT).await;
    assert_ne!(next.ticket, silent.ticket);
    stop_promptly(task, &stop).await;
    let log = logs.text();
    assert!(log.contains("half-open"), "{log}");
}

#[tokio::test]
async fn a_tls_failure_is_retried_without_panicking() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let gw = FakeStreamGateway::start(APP_KEY, APP_SECRET).await;
    // Accepts TCP and hangs up: the TLS handshake fails after the client built its rustls
    // configuration, which is what this checks.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no address: {e}"))
        .port();
    let hangup = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    gw.set_endpoint(&format!("wss://127.0.0.1:{port}/connect"));
    let (task, _rx, stop) = start(config(&gw, APP_SECRET));
    let calls = gw.wait_for_open_calls(2, WAIT).await;
    assert!(calls.iter().all(|c| c.status == 200));
    stop_promptly(task, &stop).await;
    hangup.abort();
    let log = logs.text();
    assert!(log.contains("cannot open the WebSocket"), "{log}");
    for ticket in gw.tickets() {
        assert!(!log.contains(&ticket), "ticket in the log: {log}");
    }
}

#[tokio::test]
async fn the_client_future_is_send_when_the_handler_is() {
    fn is_send<T: Send>(_: &T) {}
    let (_stop, shutdown) = watch::channel(false);
    let fut = run(
        StreamConfig::new(APP_KEY, Secret::new(APP_SECRET)),
        client(),
        |_m: InboundMessage| async {},
        shutdown,
    );
    is_send(&fut);
}

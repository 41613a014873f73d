//! The HTTP server of `weekbell run` under hostile clients, against the real binary: slow and
//! idle connections, declared oversize bodies, a padding-oracle attempt on Feishu's unsigned
//! path, and WeCom's passive reply (escaping, timestamp, size).

mod support;

use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::chat_servers::{FakeOptions, FakeServer, FakeWeCom};
use support::daemon::{Daemon, write_team_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weekbell::inbound::{WeComInbound, feishu};
use weekbell::secret::Secret;

const API_TOKEN: &str = "api-5d2e8f1c7b3a";
const FEISHU_ENCRYPT_KEY: &str = "kF9s2LmQ7xYzA1bC3dE5fG7hJ9kL1mN";
const WECOM_TOKEN: &str = "QDfCNvKdKgD5Jp";
const WECOM_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

/// Tasks owned by Alice, with `titles`.
fn tasks_csv(dir: &Path, titles: &[String]) -> PathBuf {
    let mut csv = String::from("id,title,owner,team,due,status,notes\n");
    for (i, title) in titles.iter().enumerate() {
        csv.push_str(&format!(
            "API-{},\"{}\",alice,platform,2026-12-04,in progress,\n",
            101 + i,
            title.replace('"', "\"\"")
        ));
    }
    let path = dir.join("tasks.csv");
    std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The daemon with its server on a free loopback port.
struct Server {
    daemon: Daemon,
    addr: String,
    /// The config, task list and database; removed when the test ends.
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(channels: &str, titles: &[String], open_files: Option<u32>) -> Server {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let tasks = tasks_csv(dir.path(), titles);
        let people = r#"[[people]]
id = "alice"
name = "Alice"
wecom = "alice.w"
feishu = "ou_alice"
"#;
        let config = write_team_config(
            dir.path(),
            port,
            "",
            &tasks,
            &format!("{channels}\n{people}"),
        );
        let env = [
            ("API_TOKEN", API_TOKEN),
            ("FEISHU_ENCRYPT_KEY", FEISHU_ENCRYPT_KEY),
            ("WECOM_TOKEN", WECOM_TOKEN),
            ("WECOM_AES_KEY", WECOM_AES_KEY),
        ];
        let daemon = match open_files {
            Some(limit) => Daemon::start_with_open_files(dir.path(), &config, &env, limit),
            None => Daemon::start(dir.path(), &config, &env),
        };
        let server = Server {
            daemon,
            addr: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.healthz(Duration::from_secs(1)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the server never came up:\n{}",
                server.daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn client(timeout: Duration) -> reqwest::Client {
        support::client(timeout)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn healthz(&self, timeout: Duration) -> Result<u16, reqwest::Error> {
        Server::client(timeout)
            .get(self.url("/healthz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    }

    /// The simplest signed command: the JSON API with its bearer token.
    async fn api_command(&self, id: &str, timeout: Duration) -> Result<Value, reqwest::Error> {
        Server::client(timeout)
            .post(self.url("/hooks/api"))
            .bearer_auth(API_TOKEN)
            .json(&json!({"id": id, "as": "alice", "text": "note API-101 still on track"}))
            .send()
            .await?
            .json()
            .await
    }
}

const API_CHANNEL: &str = "[channels.api]\nplatform = \"webhook\"\nwebhook = \"http://127.0.0.1:9/hook\"\ntoken = \"${API_TOKEN}\"\n";

fn titles() -> Vec<String> {
    vec!["Ship rate limiter for the public API".to_string()]
}

/// Whether the server closes `stream` within `limit` of `started`.
async fn closed_within(stream: &mut TcpStream, started: Instant, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // An error answer (408, 400) before the close is fine; keep reading to the close.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_trickling_its_headers_is_closed_within_15_s() {
    let server = Server::start(API_CHANNEL, &titles(), None).await;
    let mut stream = TcpStream::connect(&server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        let _ = writer
            .write_all(b"POST /hooks/api HTTP/1.1\r\nHost: weekbell\r\n")
            .await;
        // One header line every 2 s, forever: each arrives well inside any per-read timeout.
        for i in 0.. {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if writer
                .write_all(format!("X-Trickle-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(15), async {
        tokio::select! {
            () = closed => true,
            () = trickle => true,
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the trickling connection was still open after {:?}",
        started.elapsed()
    );
    let _ = server.daemon.terminate().await;
}

/// Opens `n` connections that send nothing.
async fn idle_connections(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(n);
    for _ in 0..n {
        let s = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot open idle connection {}: {e}", idle.len()));
        idle.push(s);
    }
    idle
}

async fn answers_within_a_second_beside_400_idle_connections(open_files: Option<u32>) {
    let server = Server::start(API_CHANNEL, &titles(), open_files).await;
    let idle = idle_connections(&server.addr, 400).await;
    // Give the server time to accept them all.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let health = server.healthz(Duration::from_secs(1)).await;
    assert_eq!(
        health.ok(),
        Some(200),
        "/healthz after {:?}:\n{}",
        started.elapsed(),
        server.daemon.log()
    );
    let started = Instant::now();
    let answer = server
        .api_command("idle-400", Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("no answer after {:?}: {e}", started.elapsed()));
    assert_eq!(answer["command"], "note", "{answer}");
    assert_eq!(answer["recorded"], 1, "{answer}");
    drop(idle);
    let (code, log) = server.daemon.terminate().await;
    assert_eq!(code, Some(0), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_400_idle_connections_open_healthz_and_a_signed_command_are_answered_within_a_second()
{
    answers_within_a_second_beside_400_idle_connections(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn under_a_256_descriptor_limit_400_idle_connections_do_not_keep_healthz_or_a_command_out() {
    answers_within_a_second_beside_400_idle_connections(Some(256)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_body_over_the_limit_is_refused_with_413_at_once() {
    let server = Server::start(API_CHANNEL, &titles(), None).await;
    let mut stream = TcpStream::connect(&server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    // A 10 MB body declared, none of it sent.
    stream
        .write_all(
            b"POST /hooks/api HTTP/1.1\r\nHost: weekbell\r\nAuthorization: Bearer x\r\n\
              Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut head = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut head))
        .await
        .unwrap_or_else(|_| panic!("no answer after {:?}", started.elapsed()))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The server is not left reading the rest: the connection closes.
    assert!(closed_within(&mut stream, started, Duration::from_secs(5)).await);
    let _ = server.daemon.terminate().await;
}

/// `base64(iv ‖ AES-256-CBC(plaintext))` with the IV's last byte flipped by `flip`: the byte
/// a padding-oracle attack walks through 256 values.
fn tampered(plaintext: &[u8], flip: u8) -> String {
    let sealed = feishu::encrypt(FEISHU_ENCRYPT_KEY, plaintext, *b"0123456789abcdef")
        .unwrap_or_else(|e| panic!("{e}"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(sealed).unwrap_or_else(|e| panic!("{e}"));
    raw[15] ^= flip;
    b64.encode(raw)
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_varied_unsigned_feishu_bodies_get_one_and_the_same_status() {
    let channels = "[channels.lark]\nplatform = \"feishu\"\nwebhook = \"http://127.0.0.1:9/hook\"\napp_id = \"cli_a1\"\napp_secret = \"s\"\nencrypt_key = \"${FEISHU_ENCRYPT_KEY}\"\n";
    let server = Server::start(channels, &titles(), None).await;
    let mut bodies = Vec::new();
    // "ab" pads to one block ending in 0x0e: flipping the IV's last byte by 0x0f makes that
    // 0x01, good padding over text that is not JSON; flipping by 0 keeps the padding. The
    // other 46 flips are bad padding. Before, the two kinds got 400 and 401.
    for flip in 0..48u8 {
        bodies.push(json!({ "encrypt": tampered(b"ab", flip) }).to_string());
    }
    let challenge = json!({"challenge": "c", "token": "", "type": "url_verification"});
    for plain in [
        b"not json".to_vec(),
        b"{}".to_vec(),
        json!({"type": "event_callback"}).to_string().into_bytes(),
        json!({"schema": "2.0", "header": {"event_type": "im.message.receive_v1"}})
            .to_string()
            .into_bytes(),
    ] {
        let sealed = feishu::encrypt(FEISHU_ENCRYPT_KEY, &plain, *b"fedcba9876543210")
            .unwrap_or_else(|e| panic!("{e}"));
        bodies.push(json!({ "encrypt": sealed }).to_string());
    }
    for raw in [
        String::new(),
        "{".into(),
        "[]".into(),
        r#"{"encrypt":7}"#.into(),
        r#"{"encrypt":""}"#.into(),
        r#"{"encrypt":"%%%"}"#.into(),
        r#"{"encrypt":"AAAA"}"#.into(),
        challenge.to_string(),
        json!({"schema": "2.0"}).to_string(),
        format!(r#"{{"encrypt":"{}"}}"#, "A".repeat(4000)),
        "x".repeat(3000),
        r#"{"encrypt":null}"#.into(),
    ] {
        bodies.push(raw);
    }
    assert_eq!(bodies.len(), 64);
    let client = Server::client(Duration::from_secs(5));
    let mut statuses = std::collections::BTreeMap::<u16, Vec<usize>>::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let status = client
            .post(server.url("/hooks/lark"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .status()
            .as_u16();
        statuses.entry(status).or_default().push(i);
    }
    assert_eq!(statuses.len(), 1, "statuses by body index: {statuses:?}");
    assert!(statuses.contains_key(&401), "{statuses:?}");
    // The handshake still works unsigned.
    let sealed = feishu::encrypt(
        FEISHU_ENCRYPT_KEY,
        challenge.to_string().as_bytes(),
        *b"fedcba9876543210",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let answer: Value = client
        .post(server.url("/hooks/lark"))
        .header("content-type", "application/json")
        .body(json!({ "encrypt": sealed }).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, json!({"challenge": "c"}));
    let _ = server.daemon.terminate().await;
}

/// A WeCom AI-bot channel posting to `hook`.
fn wecom_channel(hook: &FakeServer) -> String {
    format!(
        "[channels.wx]\nplatform = \"wecom\"\nwebhook = \"{}\"\ntoken = \"${{WECOM_TOKEN}}\"\nencoding_aes_key = \"${{WECOM_AES_KEY}}\"\nrate_limit = \"off\"\n",
        hook.url()
    )
}

fn wecom_bot() -> WeComInbound {
    WeComInbound {
        token: Secret::new(WECOM_TOKEN),
        encoding_aes_key: Secret::new(WECOM_AES_KEY),
        receive_id: None,
    }
}

/// Sends `text` from Alice to the WeCom channel; the decrypted passive reply and its outer
/// JSON.
async fn wecom_command(server: &Server, id: &str, text: &str) -> (Value, Value) {
    let bot = wecom_bot();
    let message = json!({
        "msgid": id,
        "aibotid": "AIBOTID",
        "chatid": "CHATID",
        "chattype": "group",
        "from": {"userid": "alice.w"},
        "msgtype": "text",
        "text": {"content": text}
    })
    .to_string();
    let ts = chrono::Utc::now().timestamp();
    let sealed = bot
        .encrypt(message.as_bytes(), *b"abcdefghijklmnop", ts, "nonce123")
        .unwrap_or_else(|e| panic!("{e}"));
    let url = server.url(&format!(
        "/hooks/wx?msg_signature={}&timestamp={ts}&nonce=nonce123",
        sealed.msg_signature
    ));
    let resp = Server::client(Duration::from_secs(10))
        .post(url)
        .header("content-type", "application/json")
        .body(json!({ "encrypt": sealed.encrypt }).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let reply: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    let encrypted = reply["encrypt"].as_str().unwrap_or_default();
    let plain = bot.decrypt(encrypted).unwrap_or_else(|e| panic!("{e}"));
    let plain: Value = serde_json::from_slice(&plain).unwrap_or_else(|e| panic!("{e}"));
    (plain, reply)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wecom_passive_reply_shows_a_link_or_at_all_in_a_title_as_text() {
    let hook = FakeWeCom::start(FakeOptions::default()).await;
    let title = "Ping <@all> about [the form](http://evil.example/x)".to_string();
    let server = Server::start(&wecom_channel(&hook), &[title], None).await;
    let (plain, reply) = wecom_command(&server, "msg-escape-1", "@weekbell list mine").await;
    // WeCom's own sample sends the timestamp as a string, and signs that string.
    let ts = reply["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {reply}"));
    let expected = weekbell::inbound::wecom::signature(
        WECOM_TOKEN,
        ts,
        reply["nonce"].as_str().unwrap_or_default(),
        reply["encrypt"].as_str().unwrap_or_default(),
    );
    assert_eq!(reply["msgsignature"], expected.as_str(), "{reply}");
    let content = plain["stream"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("API-101"), "{plain}");
    assert!(
        !content.contains("<@all>") && !content.contains("](http"),
        "{content}"
    );
    let _ = server.daemon.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_wecom_answer_fills_the_stream_to_its_limit_and_the_rest_follows_through_the_webhook()
 {
    let hook = FakeWeCom::start(FakeOptions::default()).await;
    // 30 listed tasks (the list's cap) of about 1.2 KB each: some 36 KB of answer.
    let titles: Vec<String> = (0..30)
        .map(|i| format!("Task {i} {}", "整改落实情况".repeat(64)))
        .collect();
    let server = Server::start(&wecom_channel(&hook), &titles, None).await;
    let (plain, _) = wecom_command(&server, "msg-long-1", "@weekbell list mine").await;
    let content = plain["stream"]["content"].as_str().unwrap_or_default();
    assert!(content.len() <= 20_480, "{} bytes", content.len());
    assert!(content.len() > 12_000, "{} bytes", content.len());
    assert!(content.contains("API-101"), "{content}");
    let first = hook.wait_for(1, Duration::from_secs(15)).await;
    let text = |m: &Value| {
        m["markdown"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // The first part that followed is numbered `(k/n)`: the stream held the parts before k.
    let numbering = first.first().map(text).unwrap_or_default();
    let (k, n) = numbering
        .strip_prefix('(')
        .and_then(|t| t.split_once(')'))
        .and_then(|(kn, _)| kn.split_once('/'))
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
        .unwrap_or_else(|| panic!("no part number: {numbering}"));
    assert!(content.starts_with("(1/"), "{content}");
    assert!(content.contains(&format!("({}/{n})", k - 1)), "{content}");
    let rest = hook.wait_for(n - k + 1, Duration::from_secs(15)).await;
    assert_eq!(rest.len(), n - k + 1);
    let followed: String = rest.iter().map(text).collect();
    assert!(followed.contains("API-130"), "{followed}");
    assert!(!content.contains("API-130"), "{content}");
    let _ = server.daemon.terminate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_in_flight_at_sigterm_is_answered_before_the_daemon_exits() {
    let server = Server::start(API_CHANNEL, &titles(), None).await;
    let body =
        json!({"id": "in-flight-1", "as": "alice", "text": "note API-101 half way"}).to_string();
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /hooks/api HTTP/1.1\r\nHost: weekbell\r\nAuthorization: Bearer {API_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stopping = tokio::spawn(server.daemon.terminate());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream
        .write_all(second.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"recorded\":1"), "{answer}");
    let (code, log) = stopping.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, Some(0), "{log}");
}

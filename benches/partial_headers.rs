//! Memory of `weekbell run` under clients that never finish their request heads:
//! `cargo bench --bench partial_headers`.
//!
//! The release binary is started with its HTTP server and a JSON API channel (SQLite in a temp
//! dir, `WEEKBELL_LOG=warn`). After 3 s idle its resident set is read from `/proc`; then 500
//! connections each try to send ~350 KB of header lines without ever ending the head (what
//! raised the daemon from 26 MB to 235 MB under `axum::serve`), and while they are held the
//! resident set and its peak (`VmHWM`) are read again, and `/healthz` is asked. Target: the
//! peak stays under 64 MB.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CONNECTIONS: usize = 500;
/// Header bytes each connection tries to send.
const HEAD_BYTES: usize = 350 * 1024;
const TARGET_MB: f64 = 64.0;

fn status_kib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Sends header lines until `HEAD_BYTES` are out or the server closes; returns the bytes the
/// server took. The connection is kept open (returned) either way.
async fn trickle_head(addr: String) -> (Option<TcpStream>, usize) {
    let Ok(mut stream) = TcpStream::connect(&addr).await else {
        return (None, 0);
    };
    let mut sent = 0;
    if stream
        .write_all(b"POST /hooks/api HTTP/1.1\r\nHost: weekbell\r\n")
        .await
        .is_err()
    {
        return (Some(stream), sent);
    }
    let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
    while sent < HEAD_BYTES {
        match tokio::time::timeout(Duration::from_secs(2), stream.write_all(line.as_bytes())).await
        {
            Ok(Ok(())) => sent += line.len(),
            // Closed by the server, or its buffers are full and it reads no more.
            _ => break,
        }
    }
    (Some(stream), sent)
}

async fn run() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_weekbell"));
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("no free port: {e}"),
    };
    let tasks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
    let config = dir.path().join("weekbell.toml");
    let text = format!(
        "timezone = \"UTC\"\nlocale = \"en\"\n[store]\nurl = \"sqlite://bench.db\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n[tasks]\nsource = \"{}\"\n[tasks.columns]\nowners = \"owner\"\nunit = \"team\"\n[channels.api]\nplatform = \"webhook\"\nwebhook = \"http://127.0.0.1:9/hook\"\ntoken = \"bench-token\"\n",
        tasks.display()
    );
    if let Err(e) = std::fs::write(&config, text) {
        panic!("write config: {e}");
    }
    let mut child = match std::process::Command::new(&bin)
        .current_dir(dir.path())
        .args(["--config", &config.display().to_string(), "run"])
        .env("WEEKBELL_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let pid = child.id();
    let addr = format!("127.0.0.1:{port}");
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let health = format!("http://{addr}/healthz");
    let up = Instant::now();
    while client.get(&health).send().await.is_err() {
        if up.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the daemon never came up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_mb = status_kib(pid, "VmRSS:") / 1024.0;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        tasks.spawn(trickle_head(addr.clone()));
    }
    let mut held = Vec::new();
    let mut taken = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((stream, sent)) = done {
            held.extend(stream);
            taken.push(sent);
        }
    }
    let sending = started.elapsed();
    let rss_mb = status_kib(pid, "VmRSS:") / 1024.0;
    let peak_mb = status_kib(pid, "VmHWM:") / 1024.0;
    let asked = Instant::now();
    let healthz = client
        .get(&health)
        .send()
        .await
        .map(|r| r.status().as_u16());
    let healthz_ms = asked.elapsed().as_secs_f64() * 1000.0;
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    taken.sort_unstable();
    let median_kib = taken.get(taken.len() / 2).copied().unwrap_or(0) as f64 / 1024.0;
    println!(
        "{CONNECTIONS} connections sending up to {} KB of unfinished headers each ({:.1} s): \
         a median {median_kib:.0} KiB left each client (kernel socket buffers included) before \
         the server closed the connection or stopped reading",
        HEAD_BYTES / 1024,
        sending.as_secs_f64()
    );
    println!(
        "daemon resident memory: idle {idle_mb:.1} MB; with the connections held {rss_mb:.1} MB, \
         peak (VmHWM) {peak_mb:.1} MB (target < {TARGET_MB} MB: {})",
        if peak_mb < TARGET_MB { "met" } else { "MISSED" }
    );
    println!("/healthz meanwhile: {healthz:?} in {healthz_ms:.0} ms");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("partial_headers bench: run it with `cargo bench --bench partial_headers`");
        return;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    rt.block_on(run());
}

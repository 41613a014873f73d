//! Delivery figures: `cargo bench --bench deliver`.
//!
//! 1. Fan-out: one digest to 1,000 generic-webhook channels on a local sink, rate limits off,
//!    through the real outbox (SQLite) and delivery workers; compared with a bare reqwest loop
//!    posting the same 1,000 bodies to the same sink one after another. Target: ≥ 0.7 of it.
//! 2. Slot lateness: a schedule firing every second for 60 s, delivered to the sink; lateness
//!    is the sink's arrival time minus the slot instant (so it includes the HTTP request, an
//!    upper bound of "send start minus slot"). Target: p99 ≤ 20 ms.
//! 3. Idle memory: the release `weekbell run` binary on the shipped config, resident set
//!    after 5 s idle. Target: ≤ 20 MB.
//! 4. `weekbell send`: the binary, run 20 times in a row against one generic-webhook channel
//!    on the local sink (a fresh process each time, as a person or a cron job runs it);
//!    median and slowest wall time, and the CPU time the runs used. Target: median ≤ 30 ms.
//!    `WEEKBELL_BIN=PATH` measures another build of the binary (an older one, for "before").

use axum::Router;
use axum::routing::post;
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use weekbell::clock::{Clock, SystemClock};
use weekbell::daemon::{Delivery, DeliveryConfig, Scope, Shared, enqueue_slot};
use weekbell::plan::Plan;
use weekbell::platforms::{SEND_TIMEOUT, http_client};
use weekbell::schedule::Slot;
use weekbell::store::{SlotClaim, SlotStatus, Store};

/// The same allocator as the `weekbell` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHANNELS: usize = 1000;

type Arrivals = Arc<Mutex<Vec<chrono::DateTime<Utc>>>>;

/// A sink that answers 200 like a webhook receiver and notes when each request arrived.
async fn sink() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::new(Mutex::new(Vec::new()));
    let a = arrivals.clone();
    let app = Router::new().route(
        "/hook/{n}",
        post(move || {
            let a = a.clone();
            async move {
                if let Ok(mut v) = a.lock() {
                    v.push(Utc::now());
                }
                "ok"
            }
        }),
    );
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), arrivals)
}

fn write_config(dir: &Path, sink: &str, channels: usize, schedule: &str) -> PathBuf {
    let tasks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv");
    let mut text = format!(
        "timezone = \"UTC\"\nlocale = \"en\"\n[store]\nurl = \"sqlite://{}\"\n[tasks]\nsource = \"{}\"\n[tasks.columns]\nowners = \"owner\"\nunit = \"team\"\n",
        dir.join("bench.db").display(),
        tasks.display()
    );
    let mut names = Vec::new();
    for i in 0..channels {
        text.push_str(&format!(
            "[channels.c{i}]\nplatform = \"webhook\"\nwebhook = \"{sink}/hook/{i}\"\nrate_limit = \"off\"\n"
        ));
        names.push(format!("\"c{i}\""));
    }
    text.push_str(&format!(
        "[[schedules]]\nname = \"digest\"\ncron = \"{schedule}\"\nkind = \"digest\"\nchannels = [{}]\n",
        names.join(", ")
    ));
    let path = dir.join("weekbell.toml");
    if let Err(e) = std::fs::write(&path, text) {
        panic!("write config: {e}");
    }
    path
}

async fn fan_out() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let (url, arrivals) = sink().await;
    let config = write_config(dir.path(), &url, CHANNELS, "0 9 * * MON");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let plan = match Plan::load(&config, now.date_naive()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let store = match Store::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let shared = Arc::new(Shared::new(store, clock.clone()));
    let slot = Slot {
        schedule: "digest".into(),
        local: now.naive_utc(),
        at: now,
        moved_from: None,
        tz: chrono_tz::UTC,
    };
    let claim = SlotClaim {
        schedule: "digest".into(),
        slot_local: "bench".into(),
        slot_at_ms: now.timestamp_millis(),
        status: SlotStatus::Manual,
        claimed_by: shared.instance.clone(),
        now_ms: now.timestamp_millis(),
    };
    let started = Instant::now();
    if let Err(e) = enqueue_slot(&shared, &plan, &slot, &claim, None).await {
        panic!("{e}");
    }
    let enqueued = started.elapsed();
    // The bodies the workers will post, for the bare loop below.
    let file = weekbell::state::Current::file_only(&plan.tasks.tasks);
    let bodies: Vec<(String, Vec<u8>)> = match plan.messages(&slot, None, &file) {
        Ok(rendered) => rendered
            .iter()
            .flat_map(|cm| {
                cm.messages
                    .iter()
                    .flat_map(move |m| m.parts.iter())
                    .filter_map(move |p| {
                        cm.channel
                            .platform
                            .prepare(cm.channel, p, now)
                            .ok()
                            .map(|r| (r.url.expose().to_string(), r.body))
                    })
            })
            .collect(),
        Err(e) => panic!("{e}"),
    };
    let plan = Arc::new(plan);
    let (_ptx, prx) = watch::channel(plan.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let client = match http_client(SEND_TIMEOUT) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let send_start = Instant::now();
    let delivery = tokio::spawn(
        Delivery::new(
            shared.clone(),
            prx,
            stop_rx,
            client,
            DeliveryConfig::default(),
            Scope::All,
        )
        .run(),
    );
    loop {
        match shared.store.outbox_counts().await {
            Ok(c) if c.sent as usize >= bodies.len() => break,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let daemon_time = send_start.elapsed();
    let _ = stop_tx.send(true);
    shared.wake_delivery();
    let _ = delivery.await;
    let received = arrivals.lock().map(|v| v.len()).unwrap_or(0);

    let bare_client = reqwest::Client::new();
    let bare_start = Instant::now();
    for (url, body) in &bodies {
        let r = bare_client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        if let Err(e) = r {
            panic!("bare post: {}", e.without_url());
        }
    }
    let bare_time = bare_start.elapsed();
    let n = bodies.len() as f64;
    let daemon_rate = n / daemon_time.as_secs_f64();
    let bare_rate = n / bare_time.as_secs_f64();
    println!(
        "fan-out: {} messages to {CHANNELS} channels; render+claim {:.1} ms; delivered in {:.1} ms = {:.0} msg/s (sink saw {received})",
        bodies.len(),
        enqueued.as_secs_f64() * 1e3,
        daemon_time.as_secs_f64() * 1e3,
        daemon_rate
    );
    println!(
        "bare reqwest loop: {:.1} ms = {:.0} msg/s; ratio {:.2} (target ≥ 0.70: {})",
        bare_time.as_secs_f64() * 1e3,
        bare_rate,
        daemon_rate / bare_rate,
        if daemon_rate / bare_rate >= 0.7 {
            "met"
        } else {
            "MISSED"
        }
    );
}

async fn lateness() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let (url, arrivals) = sink().await;
    let config = write_config(dir.path(), &url, 1, "* * * * * *");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        weekbell::daemon::run(&config, Arc::new(SystemClock), async {
            let _ = rx.await;
        })
        .await
    });
    tokio::time::sleep(Duration::from_secs(61)).await;
    let _ = tx.send(());
    let _ = run.await;
    let mut late: Vec<i64> = arrivals
        .lock()
        .map(|v| {
            v.iter()
                .map(|t| {
                    let ms = t.timestamp_millis();
                    ms - ms.div_euclid(1000) * 1000
                })
                .collect()
        })
        .unwrap_or_default();
    late.sort_unstable();
    if late.is_empty() {
        println!("lateness: no slot arrived");
        return;
    }
    let pct = |p: f64| late[((late.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "slot lateness over {} slots (arrival at the sink minus slot instant): p50 {} ms, p99 {} ms, max {} ms (target p99 ≤ 20 ms: {})",
        late.len(),
        pct(0.5),
        pct(0.99),
        late[late.len() - 1],
        if pct(0.99) <= 20 { "met" } else { "MISSED" }
    );
}

fn idle_memory() {
    // Cargo builds the binary with the bench profile (release settings) for benchmarks.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_weekbell"));
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/weekbell.toml");
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
    std::thread::sleep(Duration::from_secs(5));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let rss = kib("VmRSS:") / 1024.0;
    println!(
        "idle daemon resident memory: {rss:.1} MB (VmHWM {:.1} MB) (target ≤ 20 MB: {})",
        kib("VmHWM:") / 1024.0,
        if rss <= 20.0 { "met" } else { "MISSED" }
    );
}

/// User plus system time of the waited-for children of this process, in clock ticks
/// (`cutime` + `cstime` of `/proc/self/stat`).
fn children_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |n: usize| {
        rest.split_whitespace()
            .nth(n)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `state` is field 3 of the file and the first after ')'; cutime and cstime are 16 and 17.
    field(16 - 3) + field(17 - 3)
}

async fn send_latency() {
    const RUNS: usize = 20;
    let bin = std::env::var_os("WEEKBELL_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_weekbell")),
        PathBuf::from,
    );
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let (url, arrivals) = sink().await;
    let config = write_config(dir.path(), &url, 1, "0 9 * * MON");
    let run_once = || {
        let bin = bin.clone();
        let config = config.clone();
        let cwd = dir.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let out = std::process::Command::new(&bin)
                    .current_dir(cwd)
                    .args(["--config", &config.display().to_string(), "send", "digest"])
                    .env("WEEKBELL_LOG", "warn")
                    .output();
                match out {
                    Ok(o) if o.status.success() => started.elapsed(),
                    Ok(o) => panic!("send failed: {}", String::from_utf8_lossy(&o.stderr)),
                    Err(e) => panic!("cannot run {}: {e}", bin.display()),
                }
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // One run to create the database, untimed: every later run finds it.
    run_once().await;
    let ticks_before = children_cpu_ticks();
    let mut walls = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        walls.push(run_once().await);
    }
    // Linux counts these in USER_HZ ticks, 100 a second.
    let cpu_ms = (children_cpu_ticks() - ticks_before) as f64 * 10.0 / RUNS as f64;
    walls.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = ms(walls[RUNS / 2]);
    let received = arrivals.lock().map(|v| v.len()).unwrap_or(0);
    println!(
        "send: {RUNS} runs of `{} send digest` to a loopback webhook (sink saw {received}): median {median:.1} ms, slowest {:.1} ms, CPU {cpu_ms:.0} ms a run (target median ≤ 30 ms: {})",
        bin.display(),
        ms(walls[RUNS - 1]),
        if median <= 30.0 { "met" } else { "MISSED" }
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("deliver bench: run it with `cargo bench --bench deliver`");
        return;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    // `cargo bench --bench deliver -- fan-out` (or `idle`, `lateness`, `send`) runs one part.
    let parts = ["fan-out", "idle", "lateness", "send"];
    let chosen: Vec<String> = std::env::args()
        .filter(|a| parts.contains(&a.as_str()))
        .collect();
    let run = |part: &str| chosen.is_empty() || chosen.iter().any(|c| c == part);
    if run("fan-out") {
        rt.block_on(fan_out());
    }
    if run("idle") {
        idle_memory();
    }
    if run("lateness") {
        rt.block_on(lateness());
    }
    if run("send") {
        rt.block_on(send_latency());
    }
}

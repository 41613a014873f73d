//! Chat-command figures: `cargo bench --bench commands` (`-- quick` for a shorter run).
//!
//! The release `weekbell run` runs as a child process with a Slack channel that takes signed
//! slash commands and a SQLite store; this process is the load generator. Requests are
//! open-loop: a pacer thread releases request `i` at `start + i / rate` whatever happened to
//! the earlier ones, and each latency is measured from that intended send time to the last
//! byte of the answer, so it includes any queueing in the client, the kernel and the daemon.
//! The client keeps its connections alive (HTTP/1.1, one connection per request in flight).
//! Every request carries a fresh timestamp, a unique `trigger_id` and its own signature.
//!
//! The mix, as Alice (`U01ALICE`, owner of API-101): 50% `list mine`, 20% `list overdue`,
//! 15% `progress API-101 N%` and 15% `note API-101 …`. The two writes are always real changes
//! (the percentage differs from the previous write's, the note text is unique), so each one is
//! an event committed to SQLite. `status` (a whole digest) is left out. `-- reads` runs a
//! read-only mix instead (70% `list mine`, 30% `list overdue`), to tell the cost of a command
//! from the cost of the events recorded before it.
//!
//! 1. 500 commands/s for 10 s after a 2 s warm-up: p50/p99/max. Target: p99 ≤ 5 ms.
//! 2. The highest sustained rate: steps of 5 s at rising rates until one fails: p99 over
//!    [`STEP_P99_BOUND_MS`], any error, or fewer answers per second than offered (below
//!    [`STEP_ACHIEVED_MIN`] of it). The highest step that held is reported. Target ≥ 2,000/s.
//!
//! `-- memory` measures what the daemon keeps instead: [`MEMORY_COMMANDS`] commands of the mix
//! at [`MEMORY_RATE`]/s on a list of [`MEMORY_ROWS`] rows (the shipped example's rows and
//! generated ones owned by others, so `list mine` answers the same), in phases of
//! [`MEMORY_PHASE_SECS`] s, with the resident set after each; then the peak (`VmHWM`), the
//! resident set at the end and again after [`MEMORY_IDLE_SECS`] s idle. Target: peak under
//! [`TARGET_PEAK_MB`] MB. `WEEKBELL_BIN=PATH` runs another build of the daemon (an older one,
//! for "before").

use axum::Router;
use axum::routing::post;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;
use weekbell::inbound::slack;

/// The same allocator as the `weekbell` binary, so the client side costs what it would.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TARGET_P99_MS: f64 = 5.0;
const TARGET_RATE: u32 = 2000;
/// A step whose p99 is above this has not held its rate.
const STEP_P99_BOUND_MS: f64 = 50.0;
/// A step that answered less than this share of the offered rate has not held it.
const STEP_ACHIEVED_MIN: f64 = 0.95;
const STEP_RATES: [u32; 12] = [
    1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 16000,
];
/// The memory run: how many commands, how fast, on how long a list, and its target.
const MEMORY_COMMANDS: u64 = 200_000;
const MEMORY_RATE: u32 = 1000;
const MEMORY_ROWS: usize = 10_000;
const MEMORY_PHASE_SECS: f64 = 10.0;
const MEMORY_IDLE_SECS: u64 = 5;
const TARGET_PEAK_MB: f64 = 100.0;
/// Clock ticks per second in `/proc/PID/stat` (`CLK_TCK`, 100 on Linux x86_64).
const CLK_TCK: f64 = 100.0;

type BenchResult<T> = Result<T, String>;

/// The daemon; killed and reaped when dropped, so every way out of the bench (an error, a
/// panic, Ctrl-C) ends it.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, config: &Path) -> BenchResult<Daemon> {
        let log = dir.join("daemon.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("daemon log: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("daemon log: {e}"))?;
        let bin = std::env::var_os("WEEKBELL_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_weekbell")),
            PathBuf::from,
        );
        let child = Command::new(bin)
            .current_dir(dir)
            .args(["--config", &config.display().to_string(), "run"])
            .env("WEEKBELL_LOG", "warn")
            .env("SLACK_SIGNING_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start weekbell run: {e}"))?;
        Ok(Daemon { child, log })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The end of the daemon's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// User + system CPU seconds the daemon has used so far.
    fn cpu_secs(&self) -> f64 {
        cpu_secs_of(&format!("/proc/{}/stat", self.pid()))
    }

    fn rss_mb(&self) -> f64 {
        self.status_mb("VmRSS:")
    }

    /// The peak resident set so far.
    fn peak_mb(&self) -> f64 {
        self.status_mb("VmHWM:")
    }

    /// A `/proc/PID/status` figure given in kB, in MB.
    fn status_mb(&self, key: &str) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cpu_secs_of(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / CLK_TCK
}

fn free_port() -> BenchResult<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A webhook sink for the channel's outgoing messages (slash commands answer inline, so it
/// should see nothing; it is there so the channel points somewhere real).
async fn sink() -> BenchResult<String> {
    let app = Router::new().route("/hook", post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("sink: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("sink: {e}"))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/hook"))
}

fn shipped_list() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv")
}

/// The shipped example list with generated rows after it, `rows` in all. The generated tasks
/// belong to people other than Alice and a fifth of them are overdue, so the mix's commands
/// answer as they do on the example, over a list of the size asked for.
fn write_long_list(dir: &Path, rows: usize) -> BenchResult<PathBuf> {
    let shipped =
        std::fs::read_to_string(shipped_list()).map_err(|e| format!("example list: {e}"))?;
    let mut text = shipped.trim_end().to_string();
    let given = text.lines().count().saturating_sub(1);
    let owners = ["bob", "carol", "dave", "erin"];
    let teams = ["platform", "web", "data", "ops"];
    let statuses = ["todo", "in progress", "done", "blocked", "in progress"];
    for i in given..rows {
        let due = if i % 5 == 0 {
            "2026-01-15"
        } else {
            "2099-06-30"
        };
        let _ = write!(
            text,
            "\nGEN-{i:05},Generated task number {i} for the memory run,{},{},{due},{},row {i}",
            owners[i % owners.len()],
            teams[i % teams.len()],
            statuses[i % statuses.len()],
        );
    }
    text.push('\n');
    let path = dir.join("long-tasks.csv");
    std::fs::write(&path, text).map_err(|e| format!("write list: {e}"))?;
    Ok(path)
}

fn write_config(dir: &Path, port: u16, sink: &str, tasks: &Path) -> BenchResult<PathBuf> {
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "sqlite://{db}"
[server]
listen = "127.0.0.1:{port}"
# One sender sends every command here; the per-sender limit would refuse all but 20 a minute.
sender_rate_limit = "off"
[tasks]
source = "{tasks}"
[tasks.columns]
owners = "owner"
unit = "team"
[channels.team]
platform = "slack"
webhook = "{sink}"
signing_secret = "${{SLACK_SIGNING_SECRET}}"
[[people]]
id = "alice"
name = "Alice"
slack = "U01ALICE"
[[people]]
id = "bob"
name = "Bob"
slack = "U02BOB"
"#,
        db = dir.join("weekbell.db").display(),
        tasks = tasks.display(),
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).map_err(|e| format!("write config: {e}"))?;
    Ok(path)
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// What request `seq` says, by the mix in the module docs (`reads`: the reads alone), and a
/// text its answer must contain: a `200` with the wrong answer (a refusal, the sender rate
/// limit's "too many commands") counts as an error.
fn command_text(seq: u64, reads_only: bool) -> (String, &'static str) {
    if reads_only {
        return if seq % 10 < 7 {
            ("list mine".to_string(), "API-101")
        } else {
            ("list overdue".to_string(), "verdue")
        };
    }
    match seq % 20 {
        0..=9 => ("list mine".to_string(), "API-101"),
        10..=13 => ("list overdue".to_string(), "verdue"),
        // 1..=99, and never the same as the previous progress write.
        14..=16 => (
            format!(
                "progress API-101 {}%",
                (seq / 20 * 3 + seq % 20 - 14) % 99 + 1
            ),
            "API-101",
        ),
        _ => (format!("note API-101 load test note {seq}"), "API-101"),
    }
}

fn slack_form(text: &str, trigger: &str) -> String {
    format!(
        "token=deprecated&team_id=T0001&channel_id=C2147483705&user_id=U01ALICE&user_name=alice&command=%2Fweekbell&text={}&api_app_id=A123&response_url={}&trigger_id={}",
        form_encode(text),
        form_encode("https://hooks.slack.com/commands/T0001/1234/abcd"),
        form_encode(trigger)
    )
}

#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    url: String,
    /// Makes trigger ids unique across runs sharing nothing but the name.
    run: u64,
    reads_only: bool,
}

struct Sample {
    /// Intended send time to the end of the answer.
    latency: Duration,
    /// The answer's completion, from the phase start.
    done_at: Duration,
    ok: bool,
    /// The first failure's description, kept for the report.
    error: Option<String>,
}

/// Sends `text` as a freshly signed slash command; the answer's body, or what went wrong.
async fn send(
    target: &Target,
    text: &str,
    want: &str,
    trigger: &str,
) -> Result<axum::body::Bytes, String> {
    let body = slack_form(text, trigger);
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    let sig = slack::signature(SECRET, &ts, body.as_bytes());
    let resp = target
        .client
        .post(&target.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "no answer within the client's 10 s timeout".to_string()
            } else {
                let source = std::error::Error::source(&e).map(|s| format!(": {s}"));
                format!("{}{}", e.without_url(), source.unwrap_or_default())
            }
        })?;
    let status = resp.status();
    let b = resp
        .bytes()
        .await
        .map_err(|e| format!("reading the answer: {}", e.without_url()))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}"));
    }
    let answer = String::from_utf8_lossy(&b);
    if !answer.starts_with("{\"response_type\"") || !answer.contains(want) {
        let cut = answer
            .char_indices()
            .nth(160)
            .map_or(answer.len(), |(i, _)| i);
        return Err(format!(
            "`{text}` answered without `{want}`: {}",
            &answer[..cut]
        ));
    }
    Ok(b)
}

async fn one_request(target: Target, seq: u64, due: Instant, phase_start: Instant) -> Sample {
    let (text, want) = command_text(seq, target.reads_only);
    let error = send(
        &target,
        &text,
        want,
        &format!("bench.{:x}.{seq}", target.run),
    )
    .await
    .err();
    let end = Instant::now();
    Sample {
        latency: end.saturating_duration_since(due),
        done_at: end.saturating_duration_since(phase_start),
        ok: error.is_none(),
        error,
    }
}

struct PhaseFigures {
    rate: u32,
    sent: usize,
    errors: usize,
    first_error: Option<String>,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Good answers per second, over the scheduled duration or until the last answer came.
    achieved: f64,
    /// Daemon CPU per request, microseconds.
    daemon_cpu_us: f64,
    /// This process's CPU per request, microseconds.
    client_cpu_us: f64,
    /// How late the pacer released requests, p99, milliseconds.
    pacer_lag_p99_ms: f64,
}

impl PhaseFigures {
    fn held(&self) -> bool {
        self.errors == 0
            && self.p99_ms <= STEP_P99_BOUND_MS
            && self.achieved >= STEP_ACHIEVED_MIN * f64::from(self.rate)
    }

    fn line(&self) -> String {
        format!(
            "{:>6}/s offered, {:>6.0}/s answered: p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; {} requests, {} errors; daemon CPU {:.0} µs/command, client {:.0} µs; pacer lag p99 {:.2} ms",
            self.rate,
            self.achieved,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.sent,
            self.errors,
            self.daemon_cpu_us,
            self.client_cpu_us,
            self.pacer_lag_p99_ms,
        )
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Offers `rate` requests per second for `secs`, open loop, and measures the answers.
async fn phase(
    target: &Target,
    daemon: &Daemon,
    rate: u32,
    secs: f64,
    seq0: &mut u64,
) -> BenchResult<PhaseFigures> {
    let n = (f64::from(rate) * secs).round() as u64;
    let first = *seq0;
    *seq0 += n;
    let runtime = tokio::runtime::Handle::current();
    let cpu_daemon0 = daemon.cpu_secs();
    let cpu_self0 = cpu_secs_of("/proc/self/stat");
    let start = Instant::now() + Duration::from_millis(20);
    let t = target.clone();
    // The pacer is a plain thread: it sleeps to each request's due time with the kernel's
    // precision (tokio's timer wheel rounds to whole milliseconds), then hands the request to
    // the runtime. Requests due together (a late wake-up) are released together.
    let pacer = tokio::task::spawn_blocking(move || {
        let mut handles: Vec<JoinHandle<Sample>> = Vec::with_capacity(n as usize);
        let mut lags: Vec<f64> = Vec::with_capacity(n as usize);
        for i in 0..n {
            let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            lags.push(Instant::now().saturating_duration_since(due).as_secs_f64() * 1e3);
            handles.push(runtime.spawn(one_request(t.clone(), first + i, due, start)));
        }
        (handles, lags)
    });
    let (handles, mut lags) = pacer.await.map_err(|e| format!("pacer: {e}"))?;
    let mut samples = Vec::with_capacity(handles.len());
    for h in handles {
        samples.push(h.await.map_err(|e| format!("request task: {e}"))?);
    }
    let cpu_daemon = daemon.cpu_secs() - cpu_daemon0;
    let cpu_self = cpu_secs_of("/proc/self/stat") - cpu_self0;

    let errors = samples.iter().filter(|s| !s.ok).count();
    let first_error = samples.iter().find_map(|s| s.error.clone());
    let mut lat: Vec<f64> = samples
        .iter()
        .map(|s| s.latency.as_secs_f64() * 1e3)
        .collect();
    lat.sort_by(f64::total_cmp);
    lags.sort_by(f64::total_cmp);
    let last = samples
        .iter()
        .map(|s| s.done_at)
        .max()
        .unwrap_or_default()
        .as_secs_f64();
    let good = (samples.len() - errors) as f64;
    let per = |cpu: f64| cpu / samples.len().max(1) as f64 * 1e6;
    Ok(PhaseFigures {
        rate,
        sent: samples.len(),
        errors,
        first_error,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        achieved: good / last.max(secs),
        daemon_cpu_us: per(cpu_daemon),
        client_cpu_us: per(cpu_self),
        pacer_lag_p99_ms: percentile(&lags, 0.99),
    })
}

/// One request of each kind, answers checked, before anything is timed.
async fn preflight(target: &Target) -> BenchResult<()> {
    for (text, want) in [
        ("list mine", "API-101"),
        ("list overdue", "verdue"),
        ("progress API-101 50%", "50%"),
        ("note API-101 preflight", "API-101"),
    ] {
        let trigger = format!("preflight.{:x}.{text}", target.run).replace(' ', "-");
        send(target, text, want, &trigger)
            .await
            .map_err(|e| format!("preflight: {e}"))?;
    }
    Ok(())
}

/// `weekbell_commands_total` from `/metrics`, as `command/outcome = n` pairs.
async fn command_counts(target: &Target, base: &str) -> String {
    let text = match target.client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return "(metrics unavailable)".into(),
    };
    text.lines()
        .filter(|l| l.starts_with("weekbell_commands_total{"))
        .map(|l| {
            l.trim_start_matches("weekbell_commands_total{")
                .replace("command=", "")
                .replace(",outcome=", "/")
                .replace(['"', '}'], "")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// What one run measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The steady rate and the rate steps (`quick`: shorter phases; `reads`: reads only).
    Rates { quick: bool, reads_only: bool },
    /// What the daemon keeps over many commands on a long list.
    Memory,
}

async fn bench(mode: Mode) -> BenchResult<()> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let sink_url = sink().await?;
    let port = free_port()?;
    let list = match mode {
        Mode::Memory => write_long_list(dir.path(), MEMORY_ROWS)?,
        Mode::Rates { .. } => shipped_list(),
    };
    let config = write_config(dir.path(), port, &sink_url, &list)?;
    // Declared after `dir`, so it is dropped (killed) first.
    let mut daemon = Daemon::start(dir.path(), &config)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == reqwest::StatusCode::OK
        {
            break;
        }
        if daemon.exited() {
            return Err(format!("weekbell run exited:\n{}", daemon.log_tail()));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server never answered /healthz:\n{}",
                daemon.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reads_only = matches!(
        mode,
        Mode::Rates {
            reads_only: true,
            ..
        }
    );
    let target = Target {
        client,
        url: format!("{base}/hooks/team"),
        run: fastrand::u64(..),
        reads_only,
    };
    preflight(&target)
        .await
        .map_err(|e| format!("{e}\n{}", daemon.log_tail()))?;
    let outcome = match mode {
        Mode::Rates { quick, reads_only } => {
            rates(&target, &mut daemon, &base, quick, reads_only).await
        }
        Mode::Memory => memory(&target, &mut daemon, &base).await,
    };
    drop(daemon);
    drop(dir);
    outcome
}

/// The memory run (module docs).
async fn memory(target: &Target, daemon: &mut Daemon, base: &str) -> BenchResult<()> {
    println!(
        "commands, memory: `weekbell run` (pid {}) on a {MEMORY_ROWS}-row list, {MEMORY_COMMANDS} commands at {MEMORY_RATE}/s in {MEMORY_PHASE_SECS} s phases; resident {:.1} MB before the first",
        daemon.pid(),
        daemon.rss_mb()
    );
    println!(
        "mix: 50% `list mine`, 20% `list overdue`, 15% `progress API-101 N%`, 15% `note API-101 …` (writes are real changes, one SQLite commit each)"
    );
    let mut seq = 0u64;
    let mut worst_p99 = 0.0f64;
    let mut errors = 0;
    let mut p50s = Vec::new();
    while seq < MEMORY_COMMANDS {
        let left = (MEMORY_COMMANDS - seq) as f64 / f64::from(MEMORY_RATE);
        let f = phase(
            target,
            daemon,
            MEMORY_RATE,
            left.min(MEMORY_PHASE_SECS),
            &mut seq,
        )
        .await?;
        println!(
            "  after {seq:>6}: {}; resident {:.1} MB",
            f.line(),
            daemon.rss_mb()
        );
        if let Some(e) = &f.first_error {
            println!("    first error: {e}");
        }
        if daemon.exited() {
            return Err(format!("weekbell run exited:\n{}", daemon.log_tail()));
        }
        worst_p99 = worst_p99.max(f.p99_ms);
        errors += f.errors;
        p50s.push(f.p50_ms);
    }
    let end_rss = daemon.rss_mb();
    tokio::time::sleep(Duration::from_secs(MEMORY_IDLE_SECS)).await;
    let peak = daemon.peak_mb();
    p50s.sort_by(f64::total_cmp);
    println!(
        "daemon after {seq} commands: peak resident {peak:.1} MB (target < {TARGET_PEAK_MB} MB: {}), resident {end_rss:.1} MB at the end and {:.1} MB {MEMORY_IDLE_SECS} s later; median phase p50 {:.2} ms, worst phase p99 {worst_p99:.2} ms, {errors} errors; commands counted by the daemon: {}",
        verdict(errors == 0 && peak < TARGET_PEAK_MB),
        daemon.rss_mb(),
        percentile(&p50s, 0.5),
        command_counts(target, base).await
    );
    Ok(())
}

/// The steady rate and the rate steps (module docs).
async fn rates(
    target: &Target,
    daemon: &mut Daemon,
    base: &str,
    quick: bool,
    reads_only: bool,
) -> BenchResult<()> {
    let (warm_secs, steady_secs, step_secs) = if quick {
        (1.0, 3.0, 2.0)
    } else {
        (2.0, 10.0, 5.0)
    };
    println!(
        "commands: release `weekbell run` (pid {}), Slack slash commands signed per request, SQLite store; open loop, latency from the intended send time",
        daemon.pid()
    );
    if reads_only {
        println!("mix (`reads`): 70% `list mine`, 30% `list overdue`; nothing is written");
    } else {
        println!(
            "mix: 50% `list mine`, 20% `list overdue`, 15% `progress API-101 N%`, 15% `note API-101 …` (writes are real changes, one SQLite commit each)"
        );
    }
    let mut seq = 0u64;
    phase(target, daemon, 500, warm_secs, &mut seq).await?;
    let steady = phase(target, daemon, 500, steady_secs, &mut seq).await?;
    println!("steady 500/s for {steady_secs} s: {}", steady.line());
    if let Some(e) = &steady.first_error {
        println!("  first error: {e}");
    }
    println!(
        "p99 at 500 commands/s: {:.2} ms (target ≤ {TARGET_P99_MS} ms: {})",
        steady.p99_ms,
        verdict(steady.errors == 0 && steady.p99_ms <= TARGET_P99_MS)
    );

    println!(
        "rate steps of {step_secs} s (a step holds with no errors, p99 ≤ {STEP_P99_BOUND_MS} ms and ≥ {:.0}% of the offered rate answered):",
        STEP_ACHIEVED_MIN * 100.0
    );
    let mut best: Option<u32> = None;
    for rate in STEP_RATES {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if daemon.exited() {
            return Err(format!("weekbell run exited:\n{}", daemon.log_tail()));
        }
        let f = phase(target, daemon, rate, step_secs, &mut seq).await?;
        let held = f.held();
        println!("  {} {}", f.line(), if held { "held" } else { "FAILED" });
        if let Some(e) = &f.first_error {
            println!("    first error: {e}");
        }
        if !held {
            break;
        }
        best = Some(rate);
    }
    match best {
        Some(r) => println!(
            "highest sustained rate: {r} commands/s (target ≥ {TARGET_RATE}/s: {})",
            verdict(r >= TARGET_RATE)
        ),
        None => println!(
            "highest sustained rate: below {} commands/s (target ≥ {TARGET_RATE}/s: MISSED)",
            STEP_RATES[0]
        ),
    }
    println!(
        "daemon after {seq} commands: resident {:.1} MB, peak {:.1} MB; commands counted by the daemon: {}",
        daemon.rss_mb(),
        daemon.peak_mb(),
        command_counts(target, base).await
    );
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so that the daemon guard is dropped on those too.
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "commands bench: run it with `cargo bench --bench commands` (`-- quick` for a short run, `-- reads` for reads only, `-- memory` for the memory run)"
        );
        return;
    }
    let arg = |name: &str| std::env::args().any(|a| a == name);
    let mode = if arg("memory") {
        Mode::Memory
    } else {
        Mode::Rates {
            quick: arg("quick"),
            reads_only: arg("reads"),
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("commands bench: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    let outcome = rt.block_on(async {
        tokio::select! {
            r = bench(mode) => r,
            _ = interrupted() => Err("interrupted".to_string()),
        }
    });
    // The bench future, and with it the daemon guard, is gone by now; an interrupted pacer
    // thread is not waited for.
    rt.shutdown_timeout(Duration::from_secs(1));
    if let Err(e) = outcome {
        eprintln!("commands bench: {e}");
        std::process::exit(1);
    }
}

//! Running the real `weekbell` binary: the daemon as a child process, one-shot commands.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path, config: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(
            Command::new(env!("CARGO_BIN_EXE_weekbell")),
            dir,
            config,
            env,
        )
    }

    /// Started with at most `limit` open descriptors (`ulimit -n`), as under a tight systemd
    /// or container limit.
    pub fn start_with_open_files(
        dir: &Path,
        config: &Path,
        env: &[(&str, &str)],
        limit: u32,
    ) -> Daemon {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_weekbell"),
        ]);
        Daemon::spawn(cmd, dir, config, env)
    }

    fn spawn(mut cmd: Command, dir: &Path, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let log = dir.join(format!("daemon-{}.log", fastrand::u32(..)));
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        cmd.current_dir(dir)
            .args(["--config", &config.display().to_string(), "run"])
            .env("WEEKBELL_LOG", "info")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start weekbell run: {e}"));
        Daemon { child, log }
    }

    pub async fn terminate(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break s.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        (status, read(&self.log))
    }

    pub fn log(&self) -> String {
        read(&self.log)
    }

    /// Waits until the server at `base` (`http://127.0.0.1:<port>`) answers `/healthz`; panics
    /// with the daemon's log after 20 s.
    pub async fn wait_healthy(&self, client: &reqwest::Client, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server never came up:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill9(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        read(&self.log)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Writes `weekbell.toml` in `dir` for a daemon test: UTC, English, SQLite in `dir`, the server
/// on `port` (with `server_extra` lines under `[server]`), the task list at `tasks` with the team
/// list's columns (`owner`, `team`), then `rest` (channels and people). The tests differ only
/// in what comes after the head.
pub fn write_team_config(
    dir: &Path,
    port: u16,
    server_extra: &str,
    tasks: &Path,
    rest: &str,
) -> PathBuf {
    let text = format!(
        r#"timezone = "UTC"
locale = "en"
[store]
url = "sqlite://weekbell.db"
[server]
listen = "127.0.0.1:{port}"
{server_extra}
[tasks]
source = "{}"
[tasks.columns]
owners = "owner"
unit = "team"
{rest}"#,
        tasks.display()
    );
    let path = dir.join("weekbell.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The English team list shipped in `config/tasks/`.
pub fn team_tasks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/tasks/team-tasks.csv")
}

pub fn read(p: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(p) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

pub fn weekbell(dir: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weekbell"));
    cmd.current_dir(dir).arg("--config").arg(config).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a one-shot `weekbell` command that must succeed; its standard output.
pub fn weekbell_ok(dir: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = weekbell(dir, config, args, env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

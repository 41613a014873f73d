//! Counters for `GET /metrics`, in Prometheus' text format.
//!
//! A handful of counters and one histogram do not need a metrics framework: they live in one
//! process-wide registry behind a mutex taken for a few nanoseconds per event. Outbox depth is
//! not counted here; the server reads it from the store when scraped, so every replica
//! reports the shared truth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// Upper bounds of the slot-lateness histogram buckets, in seconds.
const LATENESS_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 60.0, 3600.0];

type Labels = Vec<(&'static str, String)>;

/// A value read at scrape time (outbox depth), rendered after the registry's metrics.
pub struct Gauge<'a> {
    pub name: &'a str,
    pub help: &'a str,
    pub labels: Labels,
    pub value: f64,
}

#[derive(Default)]
struct Registry {
    /// (metric, label pairs) → count.
    counters: BTreeMap<(&'static str, Labels), u64>,
    lateness_counts: [u64; LATENESS_BUCKETS.len()],
    lateness_sum: f64,
    lateness_total: u64,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

fn count(metric: &'static str, labels: Labels) {
    if let Ok(mut r) = REGISTRY.lock() {
        *r.counters.entry((metric, labels)).or_insert(0) += 1;
    }
}

/// A message part accepted by the platform, and how long after its slot it was sent.
pub fn sent(platform: &str, lateness_ms: i64) {
    count(
        "weekbell_messages_sent_total",
        vec![("platform", platform.to_string())],
    );
    let secs = lateness_ms.max(0) as f64 / 1000.0;
    if let Ok(mut r) = REGISTRY.lock() {
        for (i, bound) in LATENESS_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                r.lateness_counts[i] += 1;
            }
        }
        r.lateness_sum += secs;
        r.lateness_total += 1;
    }
}

/// A failed attempt that will be tried again.
pub fn failed(platform: &str) {
    count(
        "weekbell_messages_failed_total",
        vec![("platform", platform.to_string())],
    );
}

/// A message given up on: a dead letter.
pub fn dead(platform: &str) {
    count(
        "weekbell_messages_dead_total",
        vec![("platform", platform.to_string())],
    );
}

/// A chat command, by its word and what came of it.
pub fn command(name: &'static str, outcome: &'static str) {
    count(
        "weekbell_commands_total",
        vec![
            ("command", name.to_string()),
            ("outcome", outcome.to_string()),
        ],
    );
}

/// An inbound request refused before it was read (bad signature, stale, too large …).
pub fn refused(platform: &str, reason: &'static str) {
    count(
        "weekbell_inbound_refused_total",
        vec![
            ("platform", platform.to_string()),
            ("reason", reason.to_string()),
        ],
    );
}

/// A connection of a chat client that receives over an outbound WebSocket (DingTalk Stream,
/// Slack Socket Mode, Feishu long connection): `connected`, `lost`, `failed` (an attempt that
/// will be retried), `refused` (the credentials, retried) or `stopped` (given up on).
pub fn socket_connection(platform: &str, outcome: &'static str) {
    count(
        "weekbell_socket_connections_total",
        vec![
            ("platform", platform.to_string()),
            ("outcome", outcome.to_string()),
        ],
    );
}

const HELP: [(&str, &str, &str); 6] = [
    (
        "weekbell_messages_sent_total",
        "counter",
        "Message parts the chat platform accepted.",
    ),
    (
        "weekbell_messages_failed_total",
        "counter",
        "Failed send attempts that will be retried.",
    ),
    (
        "weekbell_messages_dead_total",
        "counter",
        "Messages given up on (dead letters).",
    ),
    (
        "weekbell_commands_total",
        "counter",
        "Chat commands by command word and outcome.",
    ),
    (
        "weekbell_inbound_refused_total",
        "counter",
        "Inbound requests refused before reading them.",
    ),
    (
        "weekbell_socket_connections_total",
        "counter",
        "Outbound WebSocket connections of the chat clients, by outcome.",
    ),
];

/// The registry in Prometheus' text exposition format, followed by `extra` gauges.
pub fn render(extra: &[Gauge<'_>]) -> String {
    let mut out = String::new();
    let Ok(r) = REGISTRY.lock() else {
        return out;
    };
    for (name, kind, help) in HELP {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for ((metric, labels), value) in &r.counters {
            if *metric == name {
                let _ = writeln!(out, "{name}{} {value}", label_text(labels));
            }
        }
    }
    let name = "weekbell_slot_lateness_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Send start minus slot instant, per message part sent.\n# TYPE {name} histogram"
    );
    for (i, bound) in LATENESS_BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{bound}\"}} {}",
            r.lateness_counts[i]
        );
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", r.lateness_total);
    let _ = writeln!(out, "{name}_sum {}", r.lateness_sum);
    let _ = writeln!(out, "{name}_count {}", r.lateness_total);
    let mut seen = Vec::new();
    for g in extra {
        if !seen.contains(&g.name) {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
            seen.push(g.name);
        }
        let _ = writeln!(out, "{}{} {}", g.name, label_text(&g.labels), g.value);
    }
    out
}

fn label_text<K: AsRef<str>>(labels: &[(K, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{}=\"{v}\"", k.as_ref())
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_histogram_render_in_text_format() {
        sent("slack", 3);
        sent("slack", 2_000);
        command("done", "changed");
        refused("slack", "bad_signature");
        let text = render(&[Gauge {
            name: "weekbell_outbox_depth",
            help: "Messages waiting.",
            labels: vec![("status", "pending".to_string())],
            value: 2.0,
        }]);
        assert!(text.contains("# TYPE weekbell_messages_sent_total counter"));
        assert!(text.contains("weekbell_messages_sent_total{platform=\"slack\"}"));
        assert!(text.contains("weekbell_commands_total{command=\"done\",outcome=\"changed\"}"));
        assert!(text.contains("weekbell_slot_lateness_seconds_bucket{le=\"0.005\"}"));
        assert!(text.contains("weekbell_outbox_depth{status=\"pending\"} 2"));
        assert_eq!(label_text(&[("a", "x\"y".to_string())]), "{a=\"x\\\"y\"}");
    }
}

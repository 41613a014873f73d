//! The client's settings: where to connect and with which app, and the server's `ClientConfig`
//! (ping interval, reconnect policy).

use crate::inbound::int_at;
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// Feishu's Open Platform; Lark's is `https://open.larksuite.com`.
pub const DEFAULT_DOMAIN: &str = "https://open.feishu.cn";

/// How to reach Feishu's long connection. `Debug` shows the secret as `***`.
#[derive(Debug, Clone)]
pub struct LongConnectionConfig {
    /// The app's App ID (`cli_…`), public: named in log lines.
    pub app_id: String,
    /// The App Secret; sent only in the endpoint call's body.
    pub app_secret: Secret,
    /// [`DEFAULT_DOMAIN`], `https://open.larksuite.com` for Lark; tests use loopback.
    pub domain: String,
    /// The settings in force until the server sends its own (the SDKs' defaults).
    pub settings: ClientConfig,
}

impl LongConnectionConfig {
    pub fn new(app_id: impl Into<String>, app_secret: Secret) -> Self {
        LongConnectionConfig {
            app_id: app_id.into(),
            app_secret,
            domain: DEFAULT_DOMAIN.to_string(),
            settings: ClientConfig::default(),
        }
    }
}

/// The server's `ClientConfig`, in force; the SDKs' defaults until the server says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    pub ping_interval: Duration,
    /// Reconnect tries after a loss; negative: for ever.
    pub reconnect_count: i64,
    pub reconnect_interval: Duration,
    /// The first reconnect waits a random part of this, so clients do not return in step.
    pub reconnect_nonce: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ping_interval: Duration::from_secs(120),
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
        }
    }
}

impl ClientConfig {
    /// Applies the fields `value` has. The Go SDK takes a missing field as 0, which would make
    /// it ping in a busy loop; here an absent field keeps its value and a ping interval must be
    /// at least a second.
    pub fn apply(&mut self, value: &Value) {
        let secs = |key: &str| {
            int_at(value, &[key])
                .and_then(|n| u64::try_from(n).ok())
                .map(Duration::from_secs)
        };
        if let Some(d) = secs("PingInterval").filter(|d| *d >= Duration::from_secs(1)) {
            self.ping_interval = d;
        }
        if let Some(n) = int_at(value, &["ReconnectCount"]) {
            self.reconnect_count = n;
        }
        if let Some(d) = secs("ReconnectInterval") {
            self.reconnect_interval = d;
        }
        if let Some(d) = secs("ReconnectNonce") {
            self.reconnect_nonce = d;
        }
    }

    /// The wait before attempt `failures + 1` after a loss; `None` when the count is used up.
    pub(super) fn delay(&self, failures: u32, unit: f64) -> Option<Duration> {
        if self.reconnect_count >= 0 && i64::from(failures) > self.reconnect_count {
            return None;
        }
        Some(if failures <= 1 {
            self.reconnect_nonce.mul_f64(unit.clamp(0.0, 1.0))
        } else {
            self.reconnect_interval
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_apply_what_is_there_and_reconnects_follow_them() {
        let mut c = ClientConfig::default();
        c.apply(&json!({"PingInterval": 0, "ReconnectNonce": 2}));
        assert_eq!(
            c.ping_interval,
            Duration::from_secs(120),
            "a zero interval is ignored"
        );
        assert_eq!(c.reconnect_nonce, Duration::from_secs(2));
        assert_eq!(c.delay(1, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(c.delay(2, 0.5), Some(Duration::from_secs(120)));
        assert_eq!(c.delay(u32::MAX, 0.5), Some(Duration::from_secs(120)));
        c.apply(&json!({"ReconnectCount": 2, "ReconnectInterval": 5, "PingInterval": "7"}));
        assert_eq!(c.ping_interval, Duration::from_secs(7));
        assert_eq!(c.delay(2, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(c.delay(3, 0.0), None);
    }
}

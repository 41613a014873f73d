//! Channels, parts and a fixed clock for the platform files' unit tests.

use crate::config::{ChannelConfig, PlatformSettings, TaskFilter};
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Mention, OutboundPart};
use chrono::{DateTime, TimeZone, Utc};

pub(crate) fn channel(platform: Platform, webhook: &str, secret: Option<&str>) -> ChannelConfig {
    ChannelConfig {
        name: "team".into(),
        platform,
        webhook: Some(Secret::new(webhook)),
        secret: secret.map(Secret::new),
        settings: PlatformSettings::empty(platform),
        template_dir: None,
        filter: TaskFilter::default(),
        max_message_size: None,
        rate_limit: None,
        locale: None,
    }
}

pub(crate) fn part() -> OutboundPart {
    OutboundPart {
        title: "本周督办 (1/2)".into(),
        text: "## 本周督办\n\n- 12 清理河道 @staff-0001".into(),
        mentions: vec![Mention {
            person_id: Some("sun.qiang".into()),
            name: "孙强".into(),
            handle: Some("staff-0001".into()),
            mobile: None,
        }],
        part: 1,
        parts: 2,
    }
}

/// 2025-12-05T07:00:00Z = 1764918000 s.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_764_918_000, 0)
        .single()
        .unwrap_or_default()
}

pub(crate) fn header<'a>(req: &'a super::PreparedRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

//! The chat platforms weekbell speaks, as names. What each one needs on the wire is its
//! driver's business (`platforms`).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Webhook,
    Dingtalk,
    Wecom,
    Feishu,
    Slack,
    Discord,
    Teams,
    Mattermost,
    Telegram,
    Googlechat,
}

impl Platform {
    pub const ALL: [Platform; 11] = [
        Platform::Console,
        Platform::Webhook,
        Platform::Dingtalk,
        Platform::Wecom,
        Platform::Feishu,
        Platform::Slack,
        Platform::Discord,
        Platform::Teams,
        Platform::Mattermost,
        Platform::Telegram,
        Platform::Googlechat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Webhook => "webhook",
            Platform::Dingtalk => "dingtalk",
            Platform::Wecom => "wecom",
            Platform::Feishu => "feishu",
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Teams => "teams",
            Platform::Mattermost => "mattermost",
            Platform::Telegram => "telegram",
            Platform::Googlechat => "googlechat",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(())
    }
}

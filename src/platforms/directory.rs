//! Looking people up in a chat platform's directory with the app credentials a channel
//! already holds: a mobile or an email to the platform's user id (DingTalk by mobile, Feishu
//! by mobile or email, Slack by email), and a DingTalk sender's user id to their mobile.
//!
//! Each platform's requests and answers are in its own `directory.rs` beside its driver; this
//! file is what they share: the questions, which channel can answer which, and the batch
//! sizes. Errors are [`Outcome`]s as in delivery: `Wait` when the platform asks to slow down,
//! `Retry` when it may work later, `Permanent` (with what to change) when it will not.

use super::redaction::channel_redactor;
use super::{Outcome, configured, dingtalk, feishu, slack};
use crate::config::{ChannelConfig, PlatformSettings};
use crate::people::Contact;
use crate::types::Platform;
use chrono::{DateTime, Utc};

/// Whether `channel` holds the credentials to look `contact` up: DingTalk's
/// `app_key`/`app_secret` (by mobile), Feishu's `app_id`/`app_secret` (by mobile or email),
/// Slack's `bot_token` (by email).
pub fn can_look_up(channel: &ChannelConfig, contact: &Contact<'_>) -> bool {
    match (&channel.settings, contact) {
        (PlatformSettings::Dingtalk(s), Contact::Mobile(_)) => {
            configured(s.app_key.as_ref()).is_some() && configured(s.app_secret.as_ref()).is_some()
        }
        (PlatformSettings::Feishu(s), _) => {
            configured(s.app_id.as_ref()).is_some() && configured(s.app_secret.as_ref()).is_some()
        }
        (PlatformSettings::Slack(s), Contact::Email(_)) => {
            configured(s.bot_token.as_ref()).is_some()
        }
        _ => false,
    }
}

/// How many contacts one request may ask about: Feishu's `batch_get_id` takes 50 mobiles and
/// 50 emails; the others one at a time.
pub fn batch_size(platform: Platform) -> usize {
    match platform {
        Platform::Feishu => feishu::directory::BATCH,
        _ => 1,
    }
}

/// The platform's user id for each of `contacts` (at most [`batch_size`] of them, all of
/// kinds [`can_look_up`] allows), `None` where the platform knows no such user.
pub async fn look_up(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    contacts: &[Contact<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Option<String>>, Outcome> {
    let result = match channel.platform {
        Platform::Dingtalk => {
            let mut ids = Vec::with_capacity(contacts.len());
            for c in contacts {
                ids.push(
                    dingtalk::directory::user_by_mobile(client, channel, c.value(), now).await?,
                );
            }
            Ok(ids)
        }
        Platform::Feishu => feishu::directory::batch_get_id(client, channel, contacts, now).await,
        Platform::Slack => {
            let mut ids = Vec::with_capacity(contacts.len());
            for c in contacts {
                ids.push(slack::directory::user_by_email(client, channel, c.value(), now).await?);
            }
            Ok(ids)
        }
        _ => Ok(vec![None; contacts.len()]),
    };
    result.map_err(|o| o.redacted(&channel_redactor(channel)))
}

/// Whether the platform can say who a sender is (DingTalk's `user/get` gives their mobile).
pub fn can_ask_about_sender(channel: &ChannelConfig) -> bool {
    channel.platform == Platform::Dingtalk && can_look_up(channel, &Contact::Mobile(""))
}

/// The mobile of the DingTalk user `user_id`; `None` when there is no such user or the app may
/// not read mobiles.
pub async fn sender_mobile(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Outcome> {
    if !can_ask_about_sender(channel) {
        return Ok(None);
    }
    dingtalk::directory::user_mobile(client, channel, user_id, now)
        .await
        .map_err(|o| o.redacted(&channel_redactor(channel)))
}

/// The pause between two look-ups of one pass on `platform`, to stay below its documented
/// limits: Slack's `users.lookupByEmail` is Tier 3 (about 50 a minute), DingTalk's address book
/// 40 calls a second per API, Feishu's `batch_get_id` 50 a second.
pub fn pace(platform: Platform) -> std::time::Duration {
    match platform {
        Platform::Slack => std::time::Duration::from_millis(1_300),
        _ => std::time::Duration::from_millis(100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DingTalkSettings, SlackSettings};
    use crate::platforms::test_support::*;
    use crate::secret::Secret;

    #[test]
    fn a_channel_looks_up_only_what_its_credentials_allow() {
        let mut ding = channel(
            Platform::Dingtalk,
            "https://oapi.dingtalk.com/robot/send",
            None,
        );
        let mobile = Contact::Mobile("13800000001");
        let email = Contact::Email("li@example.com");
        assert!(!can_look_up(&ding, &mobile), "no app credentials");
        ding.settings = PlatformSettings::Dingtalk(DingTalkSettings {
            app_key: Some(Secret::new("key")),
            app_secret: Some(Secret::new("secret")),
            ..Default::default()
        });
        assert!(can_look_up(&ding, &mobile) && !can_look_up(&ding, &email));
        assert!(can_ask_about_sender(&ding));
        let mut slack = channel(
            Platform::Slack,
            "https://hooks.slack.com/services/T/B/x",
            None,
        );
        slack.settings = PlatformSettings::Slack(SlackSettings {
            // An empty `${SLACK_BOT_TOKEN:-}` counts as unset.
            bot_token: Some(Secret::new("")),
            ..Default::default()
        });
        assert!(!can_look_up(&slack, &email));
        slack.settings = PlatformSettings::Slack(SlackSettings {
            bot_token: Some(Secret::new("xoxb-1")),
            ..Default::default()
        });
        assert!(can_look_up(&slack, &email) && !can_look_up(&slack, &mobile));
        assert!(!can_ask_about_sender(&slack));
        assert_eq!(batch_size(Platform::Feishu), 50);
        assert_eq!(batch_size(Platform::Slack), 1);
    }
}

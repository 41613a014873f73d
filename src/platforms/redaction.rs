//! Keeping a channel's secrets out of every reason: webhook URLs carry the token and the signing
//! secrets sign; neither may reach a log line, an error or the outbox's `reason` column.

use crate::config::ChannelConfig;
use crate::secret::Redactor;

/// A redactor for a channel's secrets: the webhook URL whole with its token-like path segments
/// and query values (see [`Redactor::hide_url`]), and every secret and credential.
pub(crate) fn channel_redactor(channel: &ChannelConfig) -> Redactor {
    let mut redactor = Redactor::new();
    if let Some(webhook) = &channel.webhook {
        redactor.hide_url(webhook.expose());
    }
    let credentials = channel.settings.credentials().into_iter().map(|(_, s)| s);
    for secret in channel.secret.iter().chain(credentials) {
        redactor.hide_credential(secret.expose());
    }
    redactor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeishuSettings, PlatformSettings, TelegramSettings};
    use crate::platforms::test_support::*;
    use crate::secret::Secret;
    use crate::types::Platform;

    #[test]
    fn redactor_replaces_tokens_and_secrets() {
        let mut ch = channel(
            Platform::Feishu,
            "https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-token-9f2d",
            Some("feishu-secret-value"),
        );
        ch.settings = PlatformSettings::Feishu(FeishuSettings {
            app_secret: Some(Secret::new("whsec-zzz")),
            ..Default::default()
        });
        let r = channel_redactor(&ch);
        let text = r.text(
            "POST https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-token-9f2d failed; \
             token 0b7e3c1a-token-9f2d, secret feishu-secret-value, whsec-zzz",
        );
        assert!(!text.contains("0b7e3c1a-token-9f2d"), "{text}");
        assert!(!text.contains("feishu-secret-value"), "{text}");
        assert!(!text.contains("whsec-zzz"), "{text}");
        assert!(text.contains("failed"), "{text}");
    }

    #[test]
    fn redactor_hides_a_telegram_bot_token_in_a_url_path() {
        let mut ch = channel(Platform::Telegram, "https://unused.example/", None);
        ch.webhook = None;
        ch.settings = PlatformSettings::Telegram(TelegramSettings {
            bot_token: Some(Secret::new(
                " 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw ",
            )),
            ..Default::default()
        });
        let r = channel_redactor(&ch);
        let text = r.text(
            "error sending request for url \
             (https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage)",
        );
        assert!(
            !text.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            "{text}"
        );
        assert!(text.contains("/bot***/sendMessage"), "{text}");
        let encoded = r.text("GET /bot123456789%3AAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe");
        assert_eq!(encoded, "GET /bot123456789%3A***/getMe");
    }

    #[test]
    fn redactor_covers_query_tokens() {
        let ch = channel(
            Platform::Wecom,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4",
            None,
        );
        let r = channel_redactor(&ch);
        assert_eq!(r.text("bad key 693a91f6-7aoc-4bc4"), "bad key ***");
    }
}

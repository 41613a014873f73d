//! Feishu/Lark: a custom bot, and the app behind commands (events or the long connection).

use super::{
    ChannelSettings, Keys, PlatformKeys, PlatformSettings, connection_needs, filled_secret,
};
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A Feishu/Lark custom bot, and the app behind commands (events or the long connection).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeishuSettings {
    pub app_id: Option<Secret>,
    pub app_secret: Option<Secret>,
    pub verification_token: Option<Secret>,
    pub encrypt_key: Option<Secret>,
    pub api_base: Option<String>,
    pub long_connection: bool,
}

pub(super) type Settings = FeishuSettings;

impl ChannelSettings for FeishuSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &[
            "webhook",
            "secret",
            "app_id",
            "app_secret",
            "verification_token",
            "encrypt_key",
            "api_base",
            "long_connection",
        ],
        required: &["webhook"],
        inbound_secrets: &["verification_token", "encrypt_key"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        FeishuSettings {
            app_id: keys.secret("app_id"),
            app_secret: keys.secret("app_secret"),
            verification_token: keys.secret("verification_token"),
            encrypt_key: keys.secret("encrypt_key"),
            api_base: keys.option("api_base"),
            long_connection: keys.flag("long_connection"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![
            ("app_id", self.app_id.as_ref()),
            ("app_secret", self.app_secret.as_ref()),
            ("verification_token", self.verification_token.as_ref()),
            ("encrypt_key", self.encrypt_key.as_ref()),
        ]
    }

    fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// The long connection's URL is asked for with the app's App ID and App Secret.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        _credentials: &BTreeMap<String, Secret>,
        _options: &mut BTreeMap<String, String>,
    ) {
        connection_needs(
            v,
            ch.long_connection.as_ref(),
            ch.app_id.is_some() && ch.app_secret.is_some(),
            "the long connection needs `app_id` and `app_secret`",
            "copy the app's App ID and App Secret from the Feishu developer console (凭证与基础信息)",
        );
    }

    /// Its event-subscription guide ("将事件发送至开发者服务器", open.feishu.cn) says that
    /// without an Encrypt Key events are pushed in plain text, and that the signature check
    /// (`X-Lark-Signature` over timestamp, nonce and body) needs that key; the verification
    /// token alone is the same in every body, so whoever sees one request can forge any
    /// command. The key is set under 事件与回调 → 加密策略.
    fn weak_inbound_warnings(&self, v: &mut Validator<'_>, ch: &RawChannel, name: &str) {
        if let (true, Some(_), None, Some(at)) = (
            !self.long_connection,
            filled_secret(&self.verification_token),
            filled_secret(&self.encrypt_key),
            ch.verification_token.as_ref(),
        ) {
            let warning = v.locale.pick(
                format!(
                    "飞书渠道 `{name}` 只有 verification_token：回调没有签名和时间戳，\
                     看到过一个请求的人就能伪造任意命令。请在开发者后台“事件与回调 → 加密策略”设置 \
                     Encrypt Key，并写入 encrypt_key"
                ),
                format!(
                    "Feishu channel `{name}` has only a verification_token: its callbacks \
                     carry no signature or timestamp, so whoever sees one request can \
                     forge any command. Set an Encrypt Key in the developer console \
                     (Events and callbacks → Encryption strategy) and put it in \
                     `encrypt_key`"
                ),
            );
            v.warnings.push((at.span(), warning));
        }
    }
}

impl PlatformSettings {
    /// The settings of a Feishu channel; `None` for another platform's.
    pub fn feishu(&self) -> Option<&FeishuSettings> {
        match self {
            PlatformSettings::Feishu(s) => Some(s),
            _ => None,
        }
    }
}

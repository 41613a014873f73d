//! Mattermost: an incoming webhook, and the slash command or outgoing webhook behind commands.

use super::{ChannelSettings, Keys, PlatformKeys, filled_secret};
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::secret::Secret;

/// A Mattermost incoming webhook, and the slash command or outgoing webhook behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MattermostSettings {
    pub token: Option<Secret>,
}

pub(super) type Settings = MattermostSettings;

impl ChannelSettings for MattermostSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "token"],
        required: &["webhook"],
        inbound_secrets: &["token"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        MattermostSettings {
            token: keys.secret("token"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![("token", self.token.as_ref())]
    }

    /// A blank token refuses every request (`inbound::mattermost`).
    fn weak_inbound_warnings(&self, v: &mut Validator<'_>, ch: &RawChannel, name: &str) {
        if let (Some(at), None) = (ch.token.as_ref(), filled_secret(&self.token)) {
            let warning = v.locale.pick(
                format!(
                    "Mattermost 渠道 `{name}` 的 token 为空：所有命令都会被拒绝。请写入 \
                     斜杠命令或传出 Webhook 的令牌，或删除 token 这一行"
                ),
                format!(
                    "Mattermost channel `{name}` has a blank `token`: every command will \
                     be refused. Put in the slash command's or outgoing webhook's token, \
                     or remove the line"
                ),
            );
            v.warnings.push((at.span(), warning));
        }
    }
}

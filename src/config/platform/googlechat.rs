//! Google Chat: an incoming webhook, and the Chat app behind commands.

use super::{ChannelSettings, Keys, PlatformKeys, PlatformSettings, filled};
use crate::config::error::Problem;
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::config::values::{Audience, is_addon_service_account};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A Google Chat incoming webhook, and the Chat app behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoogleChatSettings {
    /// A project number or an endpoint URL (its syntax checked at load, see `Audience`).
    pub audience: Option<String>,
    /// Google's keys saved as a file, for offices that cannot reach googleapis.com.
    pub certs: Option<String>,
    pub service_account: Option<String>,
}

pub(super) type Settings = GoogleChatSettings;

impl ChannelSettings for GoogleChatSettings {
    /// `audience` is not an inbound secret: it is public (a project number), and channels of
    /// one project share it (one of them told apart by its own `certs`).
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "audience", "certs", "service_account"],
        required: &["webhook"],
        inbound_secrets: &[],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        GoogleChatSettings {
            audience: keys.option("audience"),
            certs: keys.option("certs"),
            service_account: keys.option("service_account"),
        }
    }

    /// `audience` is a project number or the app's URL, `certs` a URL or a file (resolved
    /// against this file's directory), `service_account` an add-on service account; each may
    /// be empty (`"${VAR:-}"` with `VAR` unset), which leaves it unset.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        _credentials: &BTreeMap<String, Secret>,
        options: &mut BTreeMap<String, String>,
    ) {
        if let Some(a) = ch.audience.as_ref()
            && let Some(text) = options.get("audience")
            && !text.trim().is_empty()
            && Audience::parse(text).is_none()
        {
            v.problem(
                Problem::new(
                    a.span(),
                    "audience must be the project number or the HTTP endpoint URL",
                )
                .help(
                    "copy it from the Chat API configuration: the Authentication Audience is \
                     either \"Project Number\" (digits, from the Cloud console's dashboard) or \
                     \"HTTP endpoint URL\" (the app's URL, exactly as entered there)",
                ),
            );
        }
        if let Some(c) = ch.certs.as_ref()
            && let Some(text) = options.get("certs").cloned()
            && !text.trim().is_empty()
            && !(text.starts_with("https://") || text.starts_with("http://"))
        {
            options.insert("certs".into(), v.path(c).display().to_string());
        }
        if let Some(sa) = ch.service_account.as_ref()
            && let Some(text) = options.get("service_account")
            && !text.trim().is_empty()
            && !is_addon_service_account(text.trim())
        {
            v.problem(
                Problem::new(sa.span(), "not a Workspace add-on service account").help(
                    "copy the service account email from the Chat API configuration's \
                     Connection settings: service-PROJECT_NUMBER@gcp-sa-gsuiteaddons.iam.\
                     gserviceaccount.com",
                ),
            );
        }
    }

    /// With an endpoint URL audience, any add-on service account can get an ID token for any
    /// audience (see `inbound::googlechat`), so without `service_account` every project's
    /// add-on is accepted.
    fn weak_inbound_warnings(&self, v: &mut Validator<'_>, ch: &RawChannel, name: &str) {
        let endpoint = filled(&self.audience)
            .is_some_and(|a| matches!(Audience::parse(&a), Some(Audience::Endpoint(_))));
        if let (true, None, Some(at)) = (
            endpoint,
            filled(&self.service_account),
            ch.audience.as_ref(),
        ) {
            let warning = v.locale.pick(
                format!(
                    "Google Chat 渠道 `{name}` 以端点 URL 为 audience 却没有 \
                     service_account：任何 Workspace 插件的服务账号都能为这个 URL 取得 \
                     ID 令牌。请把 Chat API 配置“连接设置”中的服务账号邮箱写入 \
                     service_account"
                ),
                format!(
                    "Google Chat channel `{name}` takes an endpoint URL audience without \
                     `service_account`: the service account of any Workspace add-on can \
                     get an ID token for this URL. Copy the service account email from \
                     the Chat API configuration's Connection settings into \
                     `service_account`"
                ),
            );
            v.warnings.push((at.span(), warning));
        }
    }
}

impl PlatformSettings {
    /// The settings of a Googlechat channel; `None` for another platform's.
    pub fn googlechat(&self) -> Option<&GoogleChatSettings> {
        match self {
            PlatformSettings::Googlechat(s) => Some(s),
            _ => None,
        }
    }
}

//! Microsoft Teams: a Workflows (or connector) webhook, and the outgoing webhook behind
//! commands.

use super::{ChannelSettings, Keys, PlatformKeys};
use crate::config::error::Problem;
use crate::config::load::Validator;
use crate::config::raw::RawChannel;
use crate::config::values::teams_token_key;
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A Teams Workflows (or connector) webhook, and the outgoing webhook behind commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamsSettings {
    pub security_token: Option<Secret>,
}

pub(super) type Settings = TeamsSettings;

impl ChannelSettings for TeamsSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "security_token"],
        required: &["webhook"],
        inbound_secrets: &["security_token"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        TeamsSettings {
            security_token: keys.secret("security_token"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![("security_token", self.security_token.as_ref())]
    }

    /// Teams shows the outgoing webhook's security token as base64; anything else was copied
    /// wrong, and every request would then be refused.
    /// An empty value was either reported already (a variable that is not set) or left empty
    /// on purpose.
    fn check_values(
        v: &mut Validator<'_>,
        ch: &RawChannel,
        credentials: &BTreeMap<String, Secret>,
        _options: &mut BTreeMap<String, String>,
    ) {
        let (Some(raw), Some(token)) = (&ch.security_token, credentials.get("security_token"))
        else {
            return;
        };
        let token = token.expose();
        if !token.trim().is_empty() && teams_token_key(token).is_none() {
            v.problem(
                Problem::new(raw.span(), "the security token is not base64").help(
                    "paste the token exactly as Teams showed it when the outgoing webhook was \
                     created (it ends in `=`)",
                ),
            );
        }
    }
}

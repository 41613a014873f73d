//! Discord: a webhook, and the application whose interactions carry commands.

use super::{ChannelSettings, Keys, PlatformKeys};
use crate::config::error::Problem;
use crate::config::load::Validator;
use crate::config::raw::S;
use crate::config::values::discord_public_key;
use crate::secret::Secret;

/// A Discord webhook, and the application whose interactions carry commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscordSettings {
    /// Hex Ed25519 key (its syntax checked at load, see `discord_public_key`).
    pub public_key: Option<Secret>,
    pub api_base: Option<String>,
}

pub(super) type Settings = DiscordSettings;

impl ChannelSettings for DiscordSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &["webhook", "public_key", "api_base"],
        required: &["webhook"],
        inbound_secrets: &["public_key"],
    };

    fn from_keys(keys: &mut Keys) -> Self {
        DiscordSettings {
            public_key: keys.secret("public_key"),
            api_base: keys.option("api_base"),
        }
    }

    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        vec![("public_key", self.public_key.as_ref())]
    }

    fn api_base(&self) -> Option<&str> {
        self.api_base.as_deref()
    }

    /// Caught here rather than by Discord's URL check, which only says "could not be verified".
    fn check_credential(v: &mut Validator<'_>, key: &str, value: &S, text: &str) {
        if key == "public_key" && !text.trim().is_empty() && discord_public_key(text).is_none() {
            v.problem(
                Problem::new(value.span(), "the Discord public key is not a valid key").help(
                    "copy the 64 hex characters under General Information → Public Key in the \
                     Discord developer portal",
                ),
            );
        }
    }
}

//! What a channel of each platform takes, one file per platform: its typed settings struct
//! (built once when the config loads, after the validator has checked every key, so that the
//! code using a setting reads a field instead of looking a key up by its name), the keys it
//! takes and which of them verify inbound requests, and the checks of its own values.
//!
//! Each file implements [`ChannelSettings`] for its struct and names it `Settings`; this file
//! builds [`PlatformSettings`] and the functions `channels.rs` calls from the one list of
//! platforms (`types::for_each_platform`), so a platform's config is its own file and one
//! line in that list. Every `pub` item of a platform's file is re-exported as `config::…`
//! (`config::SlackSettings`).

mod console;
mod dingtalk;
mod discord;
mod feishu;
mod googlechat;
mod mattermost;
mod slack;
mod teams;
mod telegram;
mod webhook;
mod wecom;

use super::error::Problem;
use super::load::Validator;
use super::model::ChannelConfig;
use super::raw::{RawChannel, S};
use crate::secret::Secret;
use crate::types::Platform;
use std::collections::BTreeMap;
use toml::Spanned;

/// Which channel keys a platform takes (each platform's own names for its credentials, as in
/// the README's "Connect …" sections), which it cannot do without, and which verify its
/// requests to weekbell.
pub(super) struct PlatformKeys {
    pub supported: bool,
    pub allowed: &'static [&'static str],
    pub required: &'static [&'static str],
    /// The keys whose values verify a platform's requests to weekbell: no two channels may
    /// share one (`channels.rs`, one inbound secret per channel).
    pub inbound_secrets: &'static [&'static str],
}

/// The keys the validator accepted for one channel, by the platform's own key names, which a
/// platform's `from_keys` takes its settings out of.
pub(super) struct Keys {
    credentials: BTreeMap<String, Secret>,
    options: BTreeMap<String, String>,
}

impl Keys {
    pub fn secret(&mut self, key: &str) -> Option<Secret> {
        self.credentials.remove(key)
    }

    pub fn option(&mut self, key: &str) -> Option<String> {
        self.options.remove(key)
    }

    /// A `true`/`false` option; absent is `false`.
    pub fn flag(&mut self, key: &str) -> bool {
        self.options.remove(key).is_some_and(|v| v == "true")
    }

    /// `msgtype = "text"`: the platform's plain `text` message type.
    pub fn text_msgtype(&self) -> bool {
        self.options.get("msgtype").is_some_and(|m| m == "text")
    }
}

/// What each platform's file provides. Everything but the keys and the settings has a default
/// that does nothing, so a platform writes only what it has.
pub(super) trait ChannelSettings: Sized {
    const KEYS: PlatformKeys;

    /// The settings of a channel from the keys the validator accepted.
    fn from_keys(keys: &mut Keys) -> Self;

    /// Every credential with its key name, set or not.
    fn credentials(&self) -> Vec<(&'static str, Option<&Secret>)> {
        Vec::new()
    }

    /// The platform API's base URL as configured, for the platforms that take one.
    fn api_base(&self) -> Option<&str> {
        None
    }

    /// Whether the channel chose its platform's plain `text` message type.
    fn text_msgtype(&self) -> bool {
        false
    }

    /// Checks one credential's value, called only when the value was read without a problem
    /// (a `${VAR}` that is not set was reported already).
    fn check_credential(_v: &mut Validator<'_>, _key: &str, _value: &S, _text: &str) {}

    /// Checks the platform's own values once all keys are read, and may normalise options
    /// (a path resolved, an `@` dropped) before the settings are built from them.
    fn check_values(
        _v: &mut Validator<'_>,
        _ch: &RawChannel,
        _credentials: &BTreeMap<String, Secret>,
        _options: &mut BTreeMap<String, String>,
    ) {
    }

    /// Warns of a set-up that works but verifies less than the platform allows.
    fn weak_inbound_warnings(&self, _v: &mut Validator<'_>, _ch: &RawChannel, _name: &str) {}

    /// Rules across the platform's channels.
    fn check_across_channels(
        _v: &mut Validator<'_>,
        _raw: &BTreeMap<S, Spanned<RawChannel>>,
        _channels: &BTreeMap<String, ChannelConfig>,
    ) {
    }
}

/// `PlatformSettings` and the dispatch over the platforms' files, from the one list.
macro_rules! platform_settings {
    ($($variant:ident $module:ident [$($verifier:ident)?],)*) => {
        $(pub use $module::*;)*

        /// A channel's platform-specific settings. The webhook URL and the outbound signing
        /// secret, which most platforms share, stay on [`ChannelConfig`].
        #[derive(Debug, Clone, PartialEq)]
        pub enum PlatformSettings {
            $($variant($module::Settings),)*
        }

        impl PlatformSettings {
            /// The settings of a `platform` channel from the keys the validator accepted:
            /// credentials (secrets) and options (the rest), by the platform's own key names.
            pub fn from_keys(
                platform: Platform,
                credentials: BTreeMap<String, Secret>,
                options: BTreeMap<String, String>,
            ) -> PlatformSettings {
                let mut keys = Keys {
                    credentials,
                    options,
                };
                match platform {
                    $(Platform::$variant => PlatformSettings::$variant(
                        <$module::Settings as ChannelSettings>::from_keys(&mut keys),
                    ),)*
                }
            }

            /// The platform API's base URL as configured, for the platforms that take one.
            pub(super) fn api_base(&self) -> Option<&str> {
                match self {
                    $(PlatformSettings::$variant(s) => s.api_base(),)*
                }
            }

            /// Whether the channel chose its platform's plain `text` message type.
            pub(super) fn text_msgtype(&self) -> bool {
                match self {
                    $(PlatformSettings::$variant(s) => s.text_msgtype(),)*
                }
            }

            /// Every credential with its key name: what redaction hides and the
            /// one-secret-per-channel rule compares.
            pub fn credentials(&self) -> Vec<(&'static str, &Secret)> {
                let pairs = match self {
                    $(PlatformSettings::$variant(s) => s.credentials(),)*
                };
                pairs
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            }

            pub(super) fn weak_inbound_warnings(
                &self,
                v: &mut Validator<'_>,
                ch: &RawChannel,
                name: &str,
            ) {
                match self {
                    $(PlatformSettings::$variant(s) => s.weak_inbound_warnings(v, ch, name),)*
                }
            }
        }

        /// The keys a `platform` channel takes.
        pub(super) fn keys(platform: Platform) -> &'static PlatformKeys {
            match platform {
                $(Platform::$variant => &<$module::Settings as ChannelSettings>::KEYS,)*
            }
        }

        /// A `platform` channel's own check of one credential's value.
        pub(super) fn check_credential(
            platform: Platform,
            v: &mut Validator<'_>,
            key: &str,
            value: &S,
            text: &str,
        ) {
            match platform {
                $(Platform::$variant => {
                    <$module::Settings as ChannelSettings>::check_credential(v, key, value, text)
                })*
            }
        }

        /// A `platform` channel's own checks of its values.
        pub(super) fn check_values(
            platform: Platform,
            v: &mut Validator<'_>,
            ch: &RawChannel,
            credentials: &BTreeMap<String, Secret>,
            options: &mut BTreeMap<String, String>,
        ) {
            match platform {
                $(Platform::$variant => <$module::Settings as ChannelSettings>::check_values(
                    v,
                    ch,
                    credentials,
                    options,
                ),)*
            }
        }

        /// Every platform's rules across its channels.
        pub(super) fn check_across_channels(
            v: &mut Validator<'_>,
            raw: &BTreeMap<S, Spanned<RawChannel>>,
            channels: &BTreeMap<String, ChannelConfig>,
        ) {
            $(<$module::Settings as ChannelSettings>::check_across_channels(v, raw, channels);)*
        }
    };
}
crate::types::for_each_platform!(platform_settings);

impl PlatformSettings {
    /// A `platform` channel with none of its optional settings: what a channel built without a
    /// config file (a test, a tool) starts from.
    pub fn empty(platform: Platform) -> PlatformSettings {
        PlatformSettings::from_keys(platform, BTreeMap::new(), BTreeMap::new())
    }

    /// The credential named `key`, for the validator's rules that speak of keys by name.
    pub fn credential(&self, key: &str) -> Option<&Secret> {
        self.credentials()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// A way of taking commands without a public URL (`stream`, `socket_mode`, `long_connection`)
/// turned on without the credentials its connection is opened with.
fn connection_needs(
    v: &mut Validator<'_>,
    flag: Option<&Spanned<bool>>,
    has_credentials: bool,
    message: &str,
    help: &str,
) {
    if let Some(flag) = flag
        && *flag.get_ref()
        && !has_credentials
    {
        v.problem(Problem::new(flag.span(), message).help(help));
    }
}

/// A secret's value when it is set and not blank.
fn filled_secret(s: &Option<Secret>) -> Option<String> {
    s.as_ref()
        .map(|s| s.expose().trim().to_string())
        .filter(|v| !v.is_empty())
}

/// An option's value when it is set and not blank.
fn filled(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

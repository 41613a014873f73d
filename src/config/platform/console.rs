//! The console: messages printed on standard output, for trying a config out. It takes no
//! keys.

use super::{ChannelSettings, Keys, PlatformKeys};

/// The console has no settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleSettings;

pub(super) type Settings = ConsoleSettings;

impl ChannelSettings for ConsoleSettings {
    const KEYS: PlatformKeys = PlatformKeys {
        supported: true,
        allowed: &[],
        required: &[],
        inbound_secrets: &[],
    };

    fn from_keys(_: &mut Keys) -> Self {
        ConsoleSettings
    }
}

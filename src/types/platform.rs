//! The chat platforms weekbell speaks, as names, and the one list of them. What each one
//! needs on the wire is its driver's business (`platforms`).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The registry: every platform, written once. Adding a platform is one line here (and its own
/// files); nothing else in the crate lists the platforms.
///
/// Each line is `Variant module [verifier]`: the [`Platform`] variant; the name of the
/// platform's own module in every layer that has one per platform (its driver in
/// `platforms/<module>.rs`, its channel settings in `config/platform/<module>.rs`), which is
/// also its name in config files, store rows and people's handles; and, in brackets, the
/// module of `inbound/` whose `verify_channel` checks the requests it pushes, or nothing where
/// `inbound::verify` takes none (the console; Google Chat, whose keys the server fetches).
///
/// It is a callback macro because each layer builds something different from the one list and
/// a layer below cannot name the modules of a layer above: `types` builds the enum here,
/// `platforms::driver` the registry of drivers, `config::platform` the settings enum and its
/// dispatch, `inbound::verify` the choice of verifier, `init` the examples. Each calls
/// `for_each_platform!(its_macro)`, and `its_macro!` is handed the lines. A line missing from
/// a layer's modules is a compile error there, not a platform silently left out.
macro_rules! for_each_platform {
    ($callback:ident) => {
        $callback! {
            Console console [],
            Webhook webhook [api],
            Dingtalk dingtalk [dingtalk],
            Wecom wecom [wecom],
            Feishu feishu [feishu],
            Slack slack [slack],
            Discord discord [discord],
            Teams teams [teams],
            Mattermost mattermost [mattermost],
            Telegram telegram [telegram],
            Googlechat googlechat [],
        }
    };
}
pub(crate) use for_each_platform;

/// `enum Platform`, `Platform::ALL` and `as_str`, from the list.
macro_rules! platform_enum {
    ($($variant:ident $module:ident [$($verifier:ident)?],)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Platform {
            $($variant,)*
        }

        impl Platform {
            pub const ALL: [Platform; [$(stringify!($variant)),*].len()] =
                [$(Platform::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Platform::$variant => stringify!($module),)*
                }
            }
        }
    };
}
for_each_platform!(platform_enum);

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

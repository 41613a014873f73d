//! Channels: the keys every channel shares, the platform's own keys and checks (asked of its
//! file in `platform/`), and the rule across all channels (one inbound secret per channel).
//! `load.rs` calls [`Validator::channels`] and keeps the generic loading.

use super::error::Problem;
use super::load::{Validator, parse_rate_limit};
use super::model::*;
use super::platform::{self, PlatformSettings};
use super::raw::{RawChannel, S};
use crate::secret::Secret;
use crate::types::Platform;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn channels(
        &mut self,
        raw: &BTreeMap<S, Spanned<RawChannel>>,
    ) -> BTreeMap<String, ChannelConfig> {
        let mut out = BTreeMap::new();
        for (name, ch) in raw {
            let name_text = name.get_ref().clone();
            if name_text.is_empty()
                || !name_text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.problem(
                    Problem::new(
                        name.span(),
                        format!(
                            "channel name `{name_text}` may only use letters, digits, `-` and `_`"
                        ),
                    )
                    .help("the name appears in URLs such as /hooks/{channel}"),
                );
            }
            if let Some(c) = self.channel(&name_text, ch.get_ref()) {
                c.settings
                    .weak_inbound_warnings(self, ch.get_ref(), &c.name);
                out.insert(name_text, c);
            }
        }
        platform::check_across_channels(self, raw, &out);
        self.one_inbound_secret_per_channel(raw, &out);
        out
    }

    /// A request signed with one channel's inbound secret verifies at every channel holding
    /// the same secret, so a command sent to `/hooks/a` could be replayed at `/hooks/b` and run
    /// there with that channel's people, filters and answers. Each channel needs its own.
    fn one_inbound_secret_per_channel(
        &mut self,
        raw: &BTreeMap<S, Spanned<RawChannel>>,
        channels: &BTreeMap<String, ChannelConfig>,
    ) {
        let mut seen: HashMap<String, (String, &'static str)> = HashMap::new();
        for (name, ch) in raw {
            let name = name.get_ref();
            let Some(config) = channels.get(name) else {
                continue;
            };
            for &key in platform::keys(config.platform).inbound_secrets {
                let value = config
                    .settings
                    .credential(key)
                    .map(|s| s.expose().trim().to_string())
                    .filter(|v| !v.is_empty());
                let span = ch
                    .get_ref()
                    .credentials()
                    .into_iter()
                    .filter(|(k, _)| *k == key)
                    .find_map(|(_, v)| v.map(|v| v.span()));
                let (Some(value), Some(span)) = (value, span) else {
                    continue;
                };
                match seen.get(&value) {
                    Some((first, first_key)) if first != name => {
                        let (zh_there, en_there) = if *first_key == key {
                            (String::new(), String::new())
                        } else {
                            (
                                format!("（其 {first_key}）"),
                                format!(" ({first_key} there)"),
                            )
                        };
                        let (message, help) = self.locale.pick(
                            (
                                format!(
                                    "渠道 `{name}` 的 {key} 与渠道 `{first}`{zh_there}相同：\
                                     发给一个渠道的签名请求在另一个渠道的地址也会被接受，可被重放"
                                ),
                                "为每个渠道单独创建应用（机器人），各用各的密钥".to_string(),
                            ),
                            (
                                format!(
                                    "channel `{name}` has the same {key} as channel \
                                     `{first}`{en_there}: a request signed for one would be \
                                     accepted, and could be replayed, at the other's address"
                                ),
                                "give each channel its own app (bot) with its own secret"
                                    .to_string(),
                            ),
                        );
                        self.problem(Problem::new(span, message).help(help));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(value, (name.clone(), key));
                    }
                }
            }
        }
    }

    fn channel(&mut self, name: &str, ch: &RawChannel) -> Option<ChannelConfig> {
        let platform_text = self.text(&ch.platform);
        let Ok(platform) = platform_text.parse::<Platform>() else {
            self.problem(
                Problem::new(
                    ch.platform.span(),
                    format!("unknown platform `{platform_text}`"),
                )
                .help(format!(
                    "platforms are: {}",
                    Platform::ALL.map(Platform::as_str).join(", ")
                )),
            );
            return None;
        };
        let spec = platform::keys(platform);
        if !spec.supported {
            self.problem(
                Problem::new(
                    ch.platform.span(),
                    format!("platform `{platform}` is not supported by this version of weekbell"),
                )
                .help(format!(
                    "supported now: {}",
                    Platform::ALL
                        .into_iter()
                        .filter(|p| platform::keys(*p).supported)
                        .map(Platform::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
        let check_allowed = |v: &mut Self, key: &str, span: std::ops::Range<usize>| {
            if !spec.allowed.contains(&key) {
                v.problem(
                    Problem::new(span, format!("`{key}` is not used by platform {platform}")).help(
                        if spec.allowed.is_empty() {
                            format!("{platform} channels take no credentials")
                        } else {
                            format!("{platform} channels take: {}", spec.allowed.join(", "))
                        },
                    ),
                );
            }
        };
        let webhook = ch.webhook.as_ref().map(|w| {
            check_allowed(self, "webhook", w.span());
            let problems_before = self.problems.len();
            let url = self.text(w);
            // A variable that is not set was already reported; an empty URL would only repeat it.
            let interpolated = self.problems.len() == problems_before;
            if interpolated
                && (!(url.starts_with("http://") || url.starts_with("https://"))
                    || reqwest::Url::parse(&url).is_err())
            {
                self.problem(
                    Problem::new(w.span(), "the webhook is not an http:// or https:// URL")
                        .help("paste the whole webhook address from the platform's robot settings"),
                );
            }
            Secret::new(url)
        });
        let secret = ch.secret.as_ref().map(|s| {
            check_allowed(self, "secret", s.span());
            Secret::new(self.text(s))
        });
        let mut credentials = BTreeMap::new();
        for (key, value) in ch.credentials() {
            if let Some(value) = value {
                check_allowed(self, key, value.span());
                let problems_before = self.problems.len();
                let text = self.text(value);
                // A value whose `${VAR}` was already reported is not checked again.
                if self.problems.len() == problems_before {
                    platform::check_credential(platform, self, key, value, &text);
                }
                credentials.insert(key.to_string(), Secret::new(text));
            }
        }
        let mut options = BTreeMap::new();
        for (key, value) in ch.options() {
            if let Some(value) = value {
                check_allowed(self, key, value.span());
                options.insert(key.to_string(), self.text(value));
            }
        }
        if let Some(m) = &ch.msgtype
            && !matches!(self.text(m).as_str(), "markdown" | "text")
        {
            self.problem(
                Problem::new(m.span(), "msgtype must be \"markdown\" or \"text\"").help(
                    "markdown (the default) formats the message; text sends it as plain text",
                ),
            );
        }
        for (key, flag) in ch.flags() {
            if let Some(flag) = flag {
                check_allowed(self, key, flag.span());
                options.insert(key.to_string(), flag.get_ref().to_string());
            }
        }
        // After every key is read, so that a problem of the platform's own comes after the
        // key's generic ones at the same place.
        platform::check_values(platform, self, ch, &credentials, &mut options);
        for required in spec.required {
            let present = match *required {
                "webhook" => webhook.is_some(),
                key => credentials.contains_key(key) || options.contains_key(key),
            };
            if !present {
                self.problem(
                    Problem::new(
                        ch.platform.span(),
                        format!("channel `{name}` on {platform} needs `{required}`"),
                    )
                    .help(format!(
                        "add `{required} = \"${{SOME_ENV_VAR}}\"` to [channels.{name}]"
                    )),
                );
            }
        }
        let max_message_size = ch.max_message_size.as_ref().and_then(|m| {
            let n = *m.get_ref();
            if n < 200 {
                self.problem(Problem::new(
                    m.span(),
                    "max_message_size must be at least 200",
                ));
                None
            } else {
                usize::try_from(n).ok()
            }
        });
        let rate_limit = ch.rate_limit.as_ref().and_then(|r| {
            let text = self.text(r);
            let parsed = parse_rate_limit(&text);
            if parsed.is_none() {
                self.problem(
                    Problem::new(r.span(), format!("`{text}` is not a rate limit")).help(
                        "write COUNT/PERIOD such as \"20/min\", \"5/s\" or \"1/2s\", or \"off\"",
                    ),
                );
            }
            parsed
        });
        Some(ChannelConfig {
            name: name.to_string(),
            platform,
            webhook,
            secret,
            settings: PlatformSettings::from_keys(platform, credentials, options),
            template_dir: ch.templates.as_ref().map(|t| self.path(t)),
            filter: TaskFilter {
                units: ch.units.iter().map(|u| self.text(u)).collect(),
                categories: ch.categories.iter().map(|c| self.text(c)).collect(),
                lists: self.list_filter(&ch.lists),
            },
            max_message_size,
            rate_limit,
            locale: ch.locale.as_ref().and_then(|l| self.locale(l)),
        })
    }
}

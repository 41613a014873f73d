//! Channels: the keys each platform takes and the shapes their values must have, one function
//! per platform with checks of its own, and the rules across channels (one inbound secret per
//! channel, one poller per Telegram bot). `load.rs` calls [`Validator::channels`] and keeps the
//! generic loading.

use super::error::Problem;
use super::load::{Validator, parse_rate_limit};
use super::model::*;
use super::raw::{RawChannel, S};
use super::settings::PlatformSettings;
use super::values::*;
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
                self.weak_inbound_warnings(ch.get_ref(), &c);
                out.insert(name_text, c);
            }
        }
        self.one_poller_per_bot(raw, &out);
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
            for &key in inbound_secret_keys(config.platform) {
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

    /// Inbound set-ups that work but verify less than the platform allows.
    ///
    /// - Feishu: its event-subscription guide ("将事件发送至开发者服务器", open.feishu.cn) says
    ///   that without an Encrypt Key events are pushed in plain text, and that the signature
    ///   check (`X-Lark-Signature` over timestamp, nonce and body) needs that key; the
    ///   verification token alone is the same in every body, so whoever sees one request can
    ///   forge any command.
    ///   The key is set under 事件与回调 → 加密策略.
    /// - Google Chat with an endpoint URL audience: any add-on service account can get an ID
    ///   token for any audience (see `inbound::googlechat`), so without `service_account`
    ///   every project's add-on is accepted.
    /// - Mattermost: a blank token refuses every request (`inbound::mattermost`).
    fn weak_inbound_warnings(&mut self, ch: &RawChannel, config: &ChannelConfig) {
        let filled_secret = |s: &Option<Secret>| {
            s.as_ref()
                .map(|s| s.expose().trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let filled = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let name = &config.name;
        match &config.settings {
            PlatformSettings::Feishu(feishu) => {
                if let (true, Some(_), None, Some(at)) = (
                    !feishu.long_connection,
                    filled_secret(&feishu.verification_token),
                    filled_secret(&feishu.encrypt_key),
                    ch.verification_token.as_ref(),
                ) {
                    let warning = self.locale.pick(
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
                    self.warnings.push((at.span(), warning));
                }
            }
            PlatformSettings::Googlechat(google) => {
                let endpoint = filled(&google.audience)
                    .is_some_and(|a| matches!(Audience::parse(&a), Some(Audience::Endpoint(_))));
                if let (true, None, Some(at)) = (
                    endpoint,
                    filled(&google.service_account),
                    ch.audience.as_ref(),
                ) {
                    let warning = self.locale.pick(
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
                    self.warnings.push((at.span(), warning));
                }
            }
            PlatformSettings::Mattermost(mattermost) => {
                if let (Some(at), None) = (ch.token.as_ref(), filled_secret(&mattermost.token)) {
                    let warning = self.locale.pick(
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
                    self.warnings.push((at.span(), warning));
                }
            }
            _ => {}
        }
    }

    /// Telegram hands a bot's updates to one `getUpdates` caller at a time: two channels
    /// polling one bot would take each other's commands (and answer 409 to each other).
    fn one_poller_per_bot(
        &mut self,
        raw: &BTreeMap<S, Spanned<RawChannel>>,
        channels: &BTreeMap<String, ChannelConfig>,
    ) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (name, ch) in raw {
            let Some(config) = channels.get(name.get_ref()) else {
                continue;
            };
            let PlatformSettings::Telegram(telegram) = &config.settings else {
                continue;
            };
            let token = telegram
                .bot_token
                .as_ref()
                .map(|t| t.expose().trim().to_string());
            let (true, Some(token), Some(span)) = (
                telegram.polling,
                token,
                ch.get_ref().polling.as_ref().map(|p| p.span()),
            ) else {
                continue;
            };
            if let Some(first) = seen.get(&token) {
                let message = format!(
                    "channels `{first}` and `{}` both poll the same Telegram bot",
                    name.get_ref()
                );
                self.problem(Problem::new(span, message).help(
                    "a bot's updates go to one poller: give each channel its own bot, or take \
                     commands on one of them only",
                ));
            } else {
                seen.insert(token, name.get_ref().clone());
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
        let spec = platform_keys(platform);
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
                        .filter(|p| platform_keys(*p).supported)
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
                if platform == Platform::Discord && self.problems.len() == problems_before {
                    self.discord_credential(key, value, &text);
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
        if platform == Platform::Teams {
            self.teams_values(ch, &credentials);
        }
        if platform == Platform::Googlechat {
            self.google_chat_values(ch, &mut options);
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
        if let Some(p) = &ch.stream {
            check_allowed(self, "stream", p.span());
            // Checked whatever the platform (a `stream` elsewhere is also reported as unused
            // above), as it always was.
            self.dingtalk_stream(ch, p);
            options.insert("stream".to_string(), p.get_ref().to_string());
        }
        if let Some(p) = &ch.socket_mode {
            check_allowed(self, "socket_mode", p.span());
            if platform == Platform::Slack {
                self.slack_socket_mode(ch, p);
            }
            options.insert("socket_mode".to_string(), p.get_ref().to_string());
        }
        if let Some(p) = &ch.long_connection {
            check_allowed(self, "long_connection", p.span());
            if platform == Platform::Feishu {
                self.feishu_long_connection(ch, p);
            }
            options.insert("long_connection".to_string(), p.get_ref().to_string());
        }
        if let Some(p) = &ch.polling {
            check_allowed(self, "polling", p.span());
            options.insert("polling".to_string(), p.get_ref().to_string());
        }
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
        if platform == Platform::Telegram {
            self.telegram_values(ch, &credentials, &mut options);
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

    /// Caught here rather than by Discord's URL check, which only says "could not be verified".
    fn discord_credential(&mut self, key: &str, value: &S, text: &str) {
        if key == "public_key" && !text.trim().is_empty() && discord_public_key(text).is_none() {
            self.problem(
                Problem::new(value.span(), "the Discord public key is not a valid key").help(
                    "copy the 64 hex characters under General Information → Public Key in the \
                     Discord developer portal",
                ),
            );
        }
    }

    /// Stream mode opens its connection with the app's own credentials, not the robot's.
    fn dingtalk_stream(&mut self, ch: &RawChannel, stream: &Spanned<bool>) {
        if *stream.get_ref() && !(ch.app_key.is_some() && ch.app_secret.is_some()) {
            self.problem(
                Problem::new(stream.span(), "Stream mode needs `app_key` and `app_secret`")
                    .help("copy the app's AppKey and AppSecret from the DingTalk developer console (应用开发 → 凭证与基础信息)"),
            );
        }
    }

    /// Socket Mode connects with an app-level token, which the webhook does not carry.
    fn slack_socket_mode(&mut self, ch: &RawChannel, socket_mode: &Spanned<bool>) {
        if *socket_mode.get_ref() && ch.app_token.is_none() {
            self.problem(
                Problem::new(socket_mode.span(), "Socket Mode needs `app_token`").help(
                    "generate an app-level token with the connections:write scope (the \
                     app's Basic Information → App-Level Tokens) and set \
                     app_token = \"${SLACK_APP_TOKEN}\"",
                ),
            );
        }
    }

    /// The long connection's URL is asked for with the app's App ID and App Secret.
    fn feishu_long_connection(&mut self, ch: &RawChannel, long_connection: &Spanned<bool>) {
        if *long_connection.get_ref() && !(ch.app_id.is_some() && ch.app_secret.is_some()) {
            self.problem(
                Problem::new(
                    long_connection.span(),
                    "the long connection needs `app_id` and `app_secret`",
                )
                .help("copy the app's App ID and App Secret from the Feishu developer console (凭证与基础信息)"),
            );
        }
    }

    /// Telegram's values have shapes the Bot API insists on; a mistake is cheaper to show here
    /// than as a refused message or a `setWebhook` error later.
    fn telegram_values(
        &mut self,
        ch: &RawChannel,
        credentials: &BTreeMap<String, Secret>,
        options: &mut BTreeMap<String, String>,
    ) {
        let filled = |v: Option<&String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if let (Some(raw), Some(token)) = (
            &ch.bot_token,
            filled(
                credentials
                    .get("bot_token")
                    .map(|s| s.expose().to_string())
                    .as_ref(),
            ),
        ) && !looks_like_bot_token(&token)
        {
            self.problem(
                Problem::new(raw.span(), "this is not a Telegram bot token").help(
                    "BotFather gives tokens like 123456789:AAH…: the bot's id, a colon and 35 \
                     letters, digits, `_` or `-`",
                ),
            );
        }
        if let (Some(raw), Some(chat)) = (&ch.chat_id, filled(options.get("chat_id")))
            && !is_telegram_chat(&chat)
        {
            self.problem(
                Problem::new(raw.span(), format!("`{chat}` is not a Telegram chat id")).help(
                    "write the chat's numeric id (a group's is negative, e.g. \"-1001234567890\") \
                     or a public channel's \"@username\"",
                ),
            );
        }
        if let (Some(raw), Some(secret)) = (
            &ch.secret_token,
            credentials
                .get("secret_token")
                .map(|s| s.expose().to_string()),
        ) && (secret.is_empty()
            || secret.len() > 256
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            self.problem(
                Problem::new(raw.span(), "Telegram refuses this secret_token").help(
                    "use 1 to 256 letters, digits, `_` or `-`; for example the output of \
                     `openssl rand -hex 32`",
                ),
            );
        }
        if let (Some(raw), Some(name)) = (&ch.bot_username, filled(options.get("bot_username"))) {
            if is_telegram_username(&name) {
                options.insert(
                    "bot_username".into(),
                    name.trim_start_matches('@').to_string(),
                );
            } else {
                self.problem(
                    Problem::new(raw.span(), format!("`{name}` is not a Telegram username"))
                        .help("the bot's username as BotFather shows it, such as weekbell_bot"),
                );
            }
        }
    }

    /// Teams shows the outgoing webhook's security token as base64; anything else was copied
    /// wrong, and every request would then be refused.
    /// An empty value was either reported already (a variable that is not set) or left empty
    /// on purpose.
    fn teams_values(&mut self, ch: &RawChannel, credentials: &BTreeMap<String, Secret>) {
        let (Some(raw), Some(token)) = (&ch.security_token, credentials.get("security_token"))
        else {
            return;
        };
        let token = token.expose();
        if !token.trim().is_empty() && teams_token_key(token).is_none() {
            self.problem(
                Problem::new(raw.span(), "the security token is not base64").help(
                    "paste the token exactly as Teams showed it when the outgoing webhook was \
                     created (it ends in `=`)",
                ),
            );
        }
    }

    /// `audience` is a project number or the app's URL, `certs` a URL or a file (resolved
    /// against this file's directory), `service_account` an add-on service account; each may
    /// be empty (`"${VAR:-}"` with `VAR` unset), which leaves it unset.
    fn google_chat_values(&mut self, ch: &RawChannel, options: &mut BTreeMap<String, String>) {
        if let Some(a) = ch.audience.as_ref()
            && let Some(text) = options.get("audience")
            && !text.trim().is_empty()
            && Audience::parse(text).is_none()
        {
            self.problem(
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
            options.insert("certs".into(), self.path(c).display().to_string());
        }
        if let Some(sa) = ch.service_account.as_ref()
            && let Some(text) = options.get("service_account")
            && !text.trim().is_empty()
            && !is_addon_service_account(text.trim())
        {
            self.problem(
                Problem::new(sa.span(), "not a Workspace add-on service account").help(
                    "copy the service account email from the Chat API configuration's \
                     Connection settings: service-PROJECT_NUMBER@gcp-sa-gsuiteaddons.iam.\
                     gserviceaccount.com",
                ),
            );
        }
    }
}

/// The keys whose values verify a platform's requests to weekbell: no two channels may share
/// one. Google Chat's `audience` is not among them: it is public (a project number), and
/// channels of one project share it (one of them told apart by its own `certs`).
fn inbound_secret_keys(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Slack => &["signing_secret"],
        Platform::Dingtalk => &["app_secret"],
        Platform::Feishu => &["verification_token", "encrypt_key"],
        Platform::Wecom => &["token", "encoding_aes_key"],
        Platform::Webhook | Platform::Mattermost => &["token"],
        Platform::Discord => &["public_key"],
        Platform::Teams => &["security_token"],
        Platform::Telegram => &["secret_token"],
        Platform::Googlechat | Platform::Console => &[],
    }
}

/// Which channel keys a platform takes (each platform's own names for its credentials, as in
/// the README's "Connect …" sections), and which it cannot do without.
struct PlatformKeys {
    supported: bool,
    allowed: &'static [&'static str],
    required: &'static [&'static str],
}

fn platform_keys(p: Platform) -> PlatformKeys {
    let (supported, allowed, required): (bool, &'static [&'static str], &'static [&'static str]) =
        match p {
            Platform::Console => (true, &[], &[]),
            Platform::Webhook => (
                true,
                &["webhook", "template", "signing_secret", "token"],
                &["webhook"],
            ),
            Platform::Dingtalk => (
                true,
                &[
                    "webhook",
                    "secret",
                    "app_key",
                    "app_secret",
                    "msgtype",
                    "api_base",
                    "stream",
                ],
                &["webhook"],
            ),
            Platform::Wecom => (
                true,
                &["webhook", "token", "encoding_aes_key", "msgtype"],
                &["webhook"],
            ),
            Platform::Feishu => (
                true,
                &[
                    "webhook",
                    "secret",
                    "app_id",
                    "app_secret",
                    "verification_token",
                    "encrypt_key",
                    "api_base",
                    "long_connection",
                ],
                &["webhook"],
            ),
            Platform::Slack => (
                true,
                &[
                    "webhook",
                    "signing_secret",
                    "app_token",
                    "bot_token",
                    "socket_mode",
                    "api_base",
                ],
                &["webhook"],
            ),
            Platform::Discord => (true, &["webhook", "public_key", "api_base"], &["webhook"]),
            Platform::Teams => (true, &["webhook", "security_token"], &["webhook"]),
            Platform::Mattermost => (true, &["webhook", "token"], &["webhook"]),
            Platform::Telegram => (
                true,
                &[
                    "bot_token",
                    "chat_id",
                    "secret_token",
                    "polling",
                    "bot_username",
                    "api_base",
                ],
                &["bot_token", "chat_id"],
            ),
            Platform::Googlechat => (
                true,
                &["webhook", "audience", "certs", "service_account"],
                &["webhook"],
            ),
        };
    PlatformKeys {
        supported,
        allowed,
        required,
    }
}

/// `<bot id>:<secret part>`, as BotFather issues them (the secret part is 35 characters today;
/// any length of 20 or more is accepted, in case that changes).
fn looks_like_bot_token(token: &str) -> bool {
    let Some((id, secret)) = token.split_once(':') else {
        return false;
    };
    is_telegram_user_id(id)
        && secret.len() >= 20
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

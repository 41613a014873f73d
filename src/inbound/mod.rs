//! Inbound chat commands: verifying that a request really comes from the chat platform, and
//! reading the command out of it. Pure functions over the request as received, no IO — except
//! [`dingtalk_stream`], the client that receives DingTalk's messages over an outbound
//! WebSocket instead of HTTP, [`telegram_poll`], which fetches Telegram's by long polling, and
//! [`googlechat_keys`], the daemon's cache of the Google keys that [`googlechat`]'s verifier is
//! handed.
//!
//! Every verifier checks the platform's signature or token on the raw body bytes before it
//! reads anything out of the body. The exceptions are forced by the platforms: WeCom signs the
//! `encrypt` field, so its body is parsed just far enough to find it; Feishu puts its token
//! inside the (encrypted) body and may send its URL verification unsigned; DingTalk signs only
//! its timestamp header; Mattermost's outgoing webhooks (and slash commands from servers older
//! than 5.0) carry their token only in the form or JSON body. Each module says what its
//! platform's check does and does not cover.
//!
//! The HTTP layer turns a [`Refusal`] into a bare 401/400 with no detail; the `Display` text
//! is for the log and never contains a secret.

pub mod api;
mod clients;
mod crypto;
pub mod dingtalk;
pub mod discord;
pub mod feishu;
pub mod googlechat;
pub mod mattermost;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod wecom;

pub use crate::backoff::Backoff;
pub use api::ApiInbound;
pub use clients::{dingtalk_stream, feishu_ws, googlechat_keys, slack_socket, telegram_poll};
pub use dingtalk::DingTalkInbound;
pub use discord::DiscordInbound;
pub use feishu::FeishuInbound;
pub use googlechat::GoogleChatInbound;
pub use mattermost::MattermostInbound;
pub use slack::SlackInbound;
pub use teams::TeamsInbound;
pub use telegram::TelegramInbound;
pub use wecom::{WeComInbound, WeComReply};

use crate::config::{ChannelConfig, PlatformSettings};
use crate::secret::Secret;
use crate::types::Platform;
use reqwest::header::HeaderMap;
use std::fmt;

/// Bodies above this are refused before any work is done: no chat command comes near 64 KiB. The HTTP layer should
/// refuse them first; this keeps the verifiers safe to call on their own.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One HTTP request as the platform sent it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, … as received.
    pub method: &'a str,
    /// The raw query string, without the leading `?` (WeCom puts its signature there).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// The body bytes exactly as received: every signature is over these.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A header's value; `None` when absent or empty. Values that are not visible ASCII are
    /// malformed rather than absent, so a mangled header is not mistaken for a missing one.
    fn header(&self, name: &'static str) -> Result<Option<&'a str>, Refusal> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(s) if s.trim().is_empty() => Ok(None),
                Ok(s) => Ok(Some(s.trim())),
                Err(_) => Err(Refusal::Malformed(format!(
                    "header {name} is not visible ASCII"
                ))),
            },
        }
    }

    fn required_header(&self, name: &'static str) -> Result<&'a str, Refusal> {
        self.header(name)?.ok_or(Refusal::MissingHeader(name))
    }

    fn is(&self, method: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
    }

    /// The size and method checks every verifier starts with.
    fn expect_post(&self) -> Result<(), Refusal> {
        check_size(self.body)?;
        if self.is("POST") {
            Ok(())
        } else {
            Err(Refusal::MethodNotAllowed(short(self.method)))
        }
    }
}

/// What a verified request asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per request, moved once; a box would only add an allocation"
)]
pub enum Verdict {
    /// A URL-verification handshake: answer 200 with exactly this body.
    Challenge {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A message for the command parser.
    Message(InboundMessage),
    /// Genuine, but nothing to act on (a bot's own message, an edit, a picture …): answer 200 so
    /// the platform does not retry. The reason is for the log.
    Ignore(&'static str),
    /// The bot was added to a conversation and may greet it: answer with the command list.
    Added { reply: ReplyRoute },
}

/// A chat message addressed to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The platform's id for this message: the dedupe key, stable across the platform's
    /// retries.
    pub message_id: String,
    pub sender: Sender,
    pub sender_name: Option<String>,
    /// As typed, mention markup included (`<@U123>`, `@_user_1`, `@Bot`): the command parser
    /// strips it.
    pub text: String,
    pub reply: ReplyRoute,
    /// The platform said this is a redelivery (Slack `X-Slack-Retry-Num`). Other platforms
    /// redeliver without saying so; the dedupe on `message_id` covers both.
    pub retry: bool,
}

/// Who sent a message, as the platform identifies them. Recognising the person means
/// comparing these ids with the people's configured handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    Slack {
        user_id: String,
        team_id: Option<String>,
    },
    DingTalk {
        /// `senderStaffId`: the organisation's userId, what handles and `atUserIds` use. Absent
        /// for people outside the organisation.
        staff_id: Option<String>,
        /// `senderId`: an opaque per-robot id, always present.
        sender_id: String,
    },
    Feishu {
        open_id: Option<String>,
        user_id: Option<String>,
        union_id: Option<String>,
    },
    WeCom {
        user_id: String,
    },
    /// `member.user.id` in a server, `user.id` in a DM: the snowflake people's `discord`
    /// handles hold.
    Discord {
        user_id: String,
        guild_id: Option<String>,
    },
    /// The `mattermost` handle is the username (what `@mentions` use); the user id is offered
    /// too for handles copied from the System Console.
    Mattermost {
        user_id: String,
        user_name: Option<String>,
    },
    Telegram {
        /// The numeric user id, which never changes.
        user_id: String,
        /// The `@username` without `@`, if the person has one; it can be changed.
        username: Option<String>,
    },
    Teams {
        /// `from.aadObjectId`: the person's Microsoft Entra object id, what a `teams` handle
        /// is best written as (it also works in mentions).
        aad_object_id: Option<String>,
        /// `from.id`: the Teams user id (`29:…`).
        user_id: String,
    },
    GoogleChat {
        /// `users/123456789`.
        user_name: String,
    },
    /// The generic API names the person directly (`as`).
    Api {
        person_id: String,
    },
}

impl Sender {
    /// The platform whose handles the ids are; `None` for the API, which gives a person id.
    pub fn platform(&self) -> Option<Platform> {
        match self {
            Sender::Slack { .. } => Some(Platform::Slack),
            Sender::DingTalk { .. } => Some(Platform::Dingtalk),
            Sender::Feishu { .. } => Some(Platform::Feishu),
            Sender::WeCom { .. } => Some(Platform::Wecom),
            Sender::Discord { .. } => Some(Platform::Discord),
            Sender::Mattermost { .. } => Some(Platform::Mattermost),
            Sender::Telegram { .. } => Some(Platform::Telegram),
            Sender::Teams { .. } => Some(Platform::Teams),
            Sender::GoogleChat { .. } => Some(Platform::Googlechat),
            Sender::Api { .. } => None,
        }
    }

    /// Every id the platform gave, the one a handle is most likely written as first. A
    /// handle may have been copied from any of Feishu's three ids, so all are offered; a
    /// Google Chat handle may be written with or without its `users/` prefix.
    pub fn ids(&self) -> Vec<&str> {
        let ids: Vec<Option<&str>> = match self {
            Sender::Slack { user_id, .. } => vec![Some(user_id)],
            Sender::DingTalk {
                staff_id,
                sender_id,
            } => vec![staff_id.as_deref(), Some(sender_id)],
            Sender::Feishu {
                open_id,
                user_id,
                union_id,
            } => vec![user_id.as_deref(), open_id.as_deref(), union_id.as_deref()],
            Sender::WeCom { user_id } => vec![Some(user_id)],
            Sender::Discord { user_id, .. } => vec![Some(user_id)],
            Sender::Mattermost { user_id, user_name } => vec![user_name.as_deref(), Some(user_id)],
            Sender::Telegram { user_id, username } => vec![Some(user_id), username.as_deref()],
            Sender::Teams {
                aad_object_id,
                user_id,
            } => vec![aad_object_id.as_deref(), Some(user_id)],
            Sender::GoogleChat { user_name } => {
                vec![Some(user_name), user_name.strip_prefix("users/")]
            }
            Sender::Api { person_id } => vec![Some(person_id)],
        };
        ids.into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Where the answer to a message goes. URLs that let anyone holding them post into the chat
/// are held as [`Secret`]s so they never reach a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyRoute {
    /// Slack slash command: answer inline in the HTTP response within 3 s, or POST to
    /// `response_url` (up to 5 times within 30 minutes).
    SlackCommand {
        response_url: Secret,
        channel_id: String,
    },
    /// Slack Events API: no inline answer; `chat.postMessage` into the channel, threaded on
    /// the message.
    SlackChannel {
        channel_id: String,
        ts: String,
        thread_ts: Option<String>,
    },
    /// DingTalk: POST a robot message to `sessionWebhook` until it expires; after that the
    /// OpenAPI with `robotCode` and the conversation id.
    DingTalk {
        session_webhook: Option<Secret>,
        session_webhook_expires_at_ms: Option<i64>,
        conversation_id: Option<String>,
        conversation_type: Option<String>,
        robot_code: Option<String>,
    },
    /// Feishu: no inline answer; reply through the Open API to the message or the chat.
    Feishu {
        message_id: String,
        chat_id: String,
        chat_type: Option<String>,
    },
    /// WeCom AI bot: an encrypted passive reply in the HTTP response
    /// ([`WeComInbound::passive_reply`]), or a later POST to `response_url`.
    WeCom {
        response_url: Option<Secret>,
        chat_id: Option<String>,
        chat_type: Option<String>,
    },
    /// Discord slash command: answered inline within 3 s; the rest of a long answer follows
    /// through the interaction's webhook (`application_id` + `token`, valid 15 minutes).
    Discord {
        application_id: String,
        token: Secret,
    },
    /// Mattermost slash command: answered inline (`response_type`, `extra_responses`).
    MattermostCommand { channel_id: String },
    /// Mattermost outgoing webhook: answered inline with `{"text"}`, posted as a reply.
    MattermostPost { post_id: String },
    /// Telegram: no inline answer (the webhook is acknowledged at once); `sendMessage` into
    /// the chat, replying to the message, in its forum topic if it has one.
    Telegram {
        chat_id: i64,
        message_id: i64,
        message_thread_id: Option<i64>,
    },
    /// Teams outgoing webhook: the answer is the HTTP response, a `type: message` activity,
    /// within 5 s; there is no other way back.
    Teams,
    /// Google Chat app: the answer is the HTTP response, a Message (`addon`: wrapped for a
    /// Workspace add-on event).
    GoogleChat { addon: bool },
    /// The generic API: the answer is the HTTP response.
    Inline,
}

/// Why a request was refused. `Display` is for the log: it says what was wrong without
/// quoting secrets or the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The verifier has no credentials to check with.
    Misconfigured(&'static str),
    MethodNotAllowed(String),
    TooLarge(usize),
    MissingHeader(&'static str),
    MissingParam(&'static str),
    /// The signature is absent from where it should be computed, wrong, or not even in the
    /// expected encoding.
    BadSignature,
    /// A shared token (bearer token, Feishu Verification Token) does not match.
    BadToken,
    /// A signed bearer token (Google Chat's JWT) is not one this channel accepts: the reason
    /// says which check failed (algorithm, key, issuer, audience, times).
    TokenRejected(String),
    /// The signed timestamp is outside the window; `skew_secs` is request time minus now.
    StaleTimestamp {
        skew_secs: i64,
        window_secs: i64,
    },
    /// The signature was good but the ciphertext does not decrypt cleanly.
    BadCiphertext(&'static str),
    /// WeCom: the message was encrypted for another receiver (CorpID / bot).
    WrongReceiver,
    /// The signature was good but the content is not what the platform documents.
    Malformed(String),
    /// The signature was good but the message names another app (DingTalk's `robotCode`): the
    /// text says which field.
    ForAnotherApp(String),
    /// A signature that covers no body (DingTalk's) came back with a body other than the one it
    /// was first accepted with: a captured header pair reused.
    ReplayedSignature,
    /// An unsigned request that was not let through (Feishu); the inner refusal says why, for
    /// the log only. The peer gets one answer whatever the reason, so that it cannot tell bad
    /// padding from bad content.
    Unsigned(Box<Refusal>),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Misconfigured(what) => write!(f, "inbound credentials missing: {what}"),
            Refusal::MethodNotAllowed(m) => write!(f, "method {m} is not accepted here"),
            Refusal::TooLarge(n) => {
                write!(
                    f,
                    "body of {n} bytes is over the {MAX_BODY_BYTES}-byte limit"
                )
            }
            Refusal::MissingHeader(h) => write!(f, "header {h} is missing"),
            Refusal::MissingParam(p) => write!(f, "query parameter {p} is missing"),
            Refusal::BadSignature => f.write_str(
                "signature does not match (wrong secret, or the body was changed on the way)",
            ),
            Refusal::BadToken => f.write_str("token does not match the configured one"),
            Refusal::TokenRejected(why) => write!(f, "bearer token rejected: {why}"),
            Refusal::StaleTimestamp {
                skew_secs,
                window_secs,
            } => {
                let (n, side) = if *skew_secs < 0 {
                    (skew_secs.unsigned_abs(), "in the past")
                } else {
                    (skew_secs.unsigned_abs(), "in the future")
                };
                write!(
                    f,
                    "timestamp is {n} s {side}, outside the ±{window_secs} s window \
                     (a replay, or this host's clock is off)"
                )
            }
            Refusal::BadCiphertext(why) => write!(f, "encrypted payload rejected: {why}"),
            Refusal::WrongReceiver => {
                f.write_str("encrypted payload is addressed to another receiver id")
            }
            Refusal::Malformed(why) => write!(f, "malformed request: {why}"),
            Refusal::ForAnotherApp(why) => write!(f, "the message is for another app: {why}"),
            Refusal::ReplayedSignature => f.write_str(
                "this timestamp and signature were already accepted with another body (a \
                 captured header pair replayed)",
            ),
            Refusal::Unsigned(why) => write!(f, "unsigned request refused: {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the verifiers.

fn check_size(body: &[u8]) -> Result<(), Refusal> {
    if body.len() > MAX_BODY_BYTES {
        Err(Refusal::TooLarge(body.len()))
    } else {
        Ok(())
    }
}

/// A configured secret, or `None` when unset or blank (`"${VAR:-}"` with `VAR` unset).
fn configured(secret: Option<&Secret>) -> Option<&str> {
    secret.map(Secret::expose).filter(|s| !s.trim().is_empty())
}

/// Peer-supplied text put into a log message: bounded and printable.
fn short(s: &str) -> String {
    s.chars()
        .take(32)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Refuses a timestamp (in milliseconds) further than `window_secs` from `now_ms` either
/// way: a request from the future is as suspicious as an old one. Arithmetic is widened so
/// no header value can overflow it.
fn check_fresh_ms(ts_ms: i64, now_ms: i64, window_secs: i64) -> Result<(), Refusal> {
    let skew_ms = i128::from(ts_ms) - i128::from(now_ms);
    if skew_ms.abs() <= i128::from(window_secs) * 1000 {
        Ok(())
    } else {
        let skew_secs = (skew_ms / 1000).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        Err(Refusal::StaleTimestamp {
            skew_secs: i64::try_from(skew_secs).unwrap_or(i64::MAX),
            window_secs,
        })
    }
}

/// Parses a decimal timestamp from a header or parameter.
fn parse_timestamp(raw: &str, what: &'static str) -> Result<i64, Refusal> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::Malformed(format!("{what} is not a Unix time")));
    }
    raw.parse()
        .map_err(|_| Refusal::Malformed(format!("{what} is not a Unix time")))
}

/// `checked seconds → milliseconds`, saturating: a saturated value is simply stale.
fn secs_to_ms(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

/// Compares two secrets or MACs without revealing where they differ or (by hashing first)
/// how long the expected one is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.as_slice().ct_eq(hb.as_slice()).into()
}

/// Parses a JSON body. serde_json's syntax errors carry only a position, never the input,
/// so they are safe to log.
fn parse_json(bytes: &[u8], what: &str) -> Result<serde_json::Value, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| Refusal::Malformed(format!("{what}: {e}")))
}

/// A string field; `None` when absent, null, not a string, or blank.
fn str_at<'v>(value: &'v serde_json::Value, path: &[&str]) -> Option<&'v str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str().filter(|s| !s.trim().is_empty())
}

fn string_at(value: &serde_json::Value, path: &[&str]) -> Option<String> {
    str_at(value, path).map(str::to_string)
}

fn required_str(value: &serde_json::Value, path: &[&str]) -> Result<String, Refusal> {
    string_at(value, path)
        .ok_or_else(|| Refusal::Malformed(format!("field `{}` is missing", path.join("."))))
}

/// An integer that platforms send as a number and some proxies as a string.
fn int_at(value: &serde_json::Value, path: &[&str]) -> Option<i64> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` pairs (also query strings): `+` is a space, `%XX` a
/// byte, and the decoded bytes must be UTF-8. A broken `%` escape is refused rather than
/// passed through, since a signed body from Slack never contains one.
fn parse_form(input: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            Ok((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

fn form_decode(input: &[u8]) -> Result<String, Refusal> {
    let hex_at = |i: usize| input.get(i).is_some_and(u8::is_ascii_hexdigit);
    let broken = (0..input.len()).any(|i| input[i] == b'%' && !(hex_at(i + 1) && hex_at(i + 2)));
    if broken {
        return Err(Refusal::Malformed("broken %-escape in form data".into()));
    }
    // `+` first: a `%2B` decodes to a plus that must stay one.
    let spaced: Vec<u8> = input
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(decoded).map_err(|_| Refusal::Malformed("form data is not UTF-8".into()))
}

/// The first value of `key`; `None` when absent or blank.
fn form_get<'f>(pairs: &'f [(String, String)], key: &str) -> Option<&'f str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
pub(crate) mod test_support {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            let name = HeaderName::from_bytes(k.as_bytes()).expect("test header name");
            let value = HeaderValue::from_str(v).expect("test header value");
            map.insert(name, value);
        }
        map
    }
}

/// The refusal when a channel lacks the credential its verifier checks with.
fn missing_credentials() -> Refusal {
    Refusal::Misconfigured("this channel has no inbound credentials")
}

/// A configured inbound credential, or [`missing_credentials`].
fn need(secret: &Option<Secret>) -> Result<Secret, Refusal> {
    secret.clone().ok_or_else(missing_credentials)
}

/// The verifier of a platform's line in the list: its module's `verify_channel`, or a refusal
/// for a platform whose line names none.
macro_rules! verifier {
    ($settings:ident, $channel:ident, $request:ident, $now_ms:ident, $module:ident) => {
        $module::verify_channel($settings, $channel, $request, $now_ms)
    };
    ($settings:ident, $channel:ident, $request:ident, $now_ms:ident,) => {{
        let _ = ($settings, $channel, $request, $now_ms);
        Err(Refusal::Misconfigured(
            "this platform takes no commands in this version",
        ))
    }};
}

/// `verify`, from the one list of platforms (`types::for_each_platform`): a platform's line
/// names the module here whose `verify_channel` checks its requests.
macro_rules! verify_by_platform {
    ($($variant:ident $module:ident [$($verifier:ident)?],)*) => {
        /// Verifies a pushed request with the channel's verifier, built from its configured
        /// inbound credentials: the one place a platform is matched to its inbound side (Google
        /// Chat, whose verifier needs keys fetched over the network, is verified by the server
        /// with [`GoogleChatInbound`] directly).
        pub fn verify(
            channel: &ChannelConfig,
            request: &Request<'_>,
            now_ms: i64,
        ) -> Result<Verdict, Refusal> {
            match &channel.settings {
                $(PlatformSettings::$variant(settings) => {
                    verifier!(settings, channel, request, now_ms, $($verifier)?)
                })*
            }
        }
    };
}
crate::types::for_each_platform!(verify_by_platform);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let pairs = parse_form(b"a=1&text=%E5%AE%8C%E6%88%90+12&empty=&flag&&x=%2B").unwrap();
        assert_eq!(form_get(&pairs, "a"), Some("1"));
        assert_eq!(form_get(&pairs, "text"), Some("完成 12"));
        assert_eq!(form_get(&pairs, "empty"), None);
        assert_eq!(form_get(&pairs, "flag"), None);
        assert_eq!(form_get(&pairs, "x"), Some("+"));
        assert!(matches!(parse_form(b"a=%zz"), Err(Refusal::Malformed(_))));
        assert!(matches!(parse_form(b"a=%4"), Err(Refusal::Malformed(_))));
        assert!(matches!(parse_form(b"a=%FF"), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn freshness_window_both_ways_and_no_overflow() {
        assert!(check_fresh_ms(1_000_000, 1_000_000 + 300_000, 300).is_ok());
        assert!(check_fresh_ms(1_000_000 + 300_000, 1_000_000, 300).is_ok());
        assert_eq!(
            check_fresh_ms(1_000_000, 1_000_000 + 301_000, 300),
            Err(Refusal::StaleTimestamp {
                skew_secs: -301,
                window_secs: 300
            })
        );
        assert!(check_fresh_ms(1_000_000 + 301_000, 1_000_000, 300).is_err());
        assert!(check_fresh_ms(i64::MAX, i64::MIN, 300).is_err());
        assert!(check_fresh_ms(i64::MIN, i64::MAX, 300).is_err());
        assert_eq!(secs_to_ms(i64::MAX), i64::MAX);
    }

    #[test]
    fn timestamps_parse_strictly() {
        assert_eq!(parse_timestamp(" 1531420618 ", "ts"), Ok(1_531_420_618));
        assert!(parse_timestamp("-5", "ts").is_err());
        assert!(parse_timestamp("1e9", "ts").is_err());
        assert!(parse_timestamp("99999999999999999999", "ts").is_err());
        assert!(parse_timestamp("", "ts").is_err());
    }

    #[test]
    fn refusals_explain_without_secrets() {
        let stale = Refusal::StaleTimestamp {
            skew_secs: -400,
            window_secs: 300,
        };
        assert!(stale.to_string().contains("400 s in the past"));
        assert!(Refusal::BadSignature.to_string().contains("signature"));
        assert_eq!(
            Refusal::MethodNotAllowed(short("G\u{7}ET")).to_string(),
            "method G?ET is not accepted here"
        );
    }

    #[test]
    fn sender_ids_skip_blanks() {
        let s = Sender::Feishu {
            open_id: Some("ou_1".into()),
            user_id: Some(String::new()),
            union_id: Some("on_1".into()),
        };
        assert_eq!(s.ids(), vec!["ou_1", "on_1"]);
        assert_eq!(s.platform(), Some(Platform::Feishu));
    }
}

//! Outbound transport: turning a rendered part into an HTTP request, sending it, and reading the
//! platform's reply into an [`Outcome`] the delivery worker can act on.
//!
//! The split is deliberate:
//! - [`Platform::prepare`] is pure (no I/O, the clock passed in) and builds the exact request:
//!   URL with any signing query, headers, body bytes;
//! - [`Platform::classify`] is pure and maps status, `Retry-After` and body to an outcome, from a
//!   table in each platform's file that lists every reply the platform documents;
//! - [`deliver`] does the I/O in between and turns transport errors into outcomes.
//!
//! # Secrets
//!
//! Webhook URLs carry the token and the signing secrets sign; neither may reach a log line, an
//! error or the outbox's `reason` column. [`PreparedRequest`] keeps the URL in a [`Secret`];
//! reqwest errors are stripped of their URL (`without_url`) before they are formatted; and every
//! outcome [`deliver`] returns is passed through a redactor that replaces the channel's webhook
//! URL, its long path segments and query values, and its secrets with `***`, in case a server
//! echoes them back in an error page.

use super::{ReplyVia, discord, feishu, telegram};
use crate::config::ChannelConfig;
use crate::secret::{Redactor, Secret};
use crate::types::OutboundPart;
use crate::types::Platform;
use chrono::{DateTime, Utc};
use std::fmt;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// One HTTP request, ready to send: `POST url` with `headers` and `body`.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// The webhook URL plus any signing query; it holds the token, so it is a [`Secret`].
    pub url: Secret,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Shows the headers and the body, never the URL.
impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// What became of one attempt to send one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the message.
    Sent,
    /// Transient: 5xx, timeouts, connection refused/reset, unknown errors worth another try.
    Retry { reason: String },
    /// The platform asked us to slow down: 429 with Retry-After, DingTalk 130101, WeCom 45009,
    /// Feishu 11232 … Send nothing more to this channel before `after` has passed.
    Wait { after: Duration, reason: String },
    /// Will never succeed as is: bad token/URL, bad signature, keyword or IP allow-list refusal,
    /// too long, bad payload. `hint` tells a person what to change.
    Permanent { reason: String, hint: String },
}

impl Outcome {
    /// The reason in plain words; `None` for [`Outcome::Sent`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Sent => None,
            Outcome::Retry { reason }
            | Outcome::Wait { reason, .. }
            | Outcome::Permanent { reason, .. } => Some(reason),
        }
    }

    /// The outcome with `redactor`'s secrets taken out of its reason and hint.
    pub(crate) fn redacted(self, redactor: &Redactor) -> Outcome {
        let f = |text: &str| redactor.text(text);
        match self {
            Outcome::Sent => Outcome::Sent,
            Outcome::Retry { reason } => Outcome::Retry { reason: f(&reason) },
            Outcome::Wait { after, reason } => Outcome::Wait {
                after,
                reason: f(&reason),
            },
            Outcome::Permanent { reason, hint } => Outcome::Permanent {
                reason: f(&reason),
                hint: f(&hint),
            },
        }
    }
}

/// A sending pace: at most `count` messages per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl RateLimit {
    pub const fn new(count: u32, per: Duration) -> Self {
        RateLimit { count, per }
    }
}

/// How long to wait when a platform says "slow down" (HTTP 429 without `Retry-After`) without
/// saying for how long.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The longest wait a `Retry-After` header is taken at; more is read as this much, so a broken
/// or hostile header cannot park a channel for years or overflow the caller's arithmetic.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// The most of a reply body that is read; platform replies are a few hundred bytes.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// The most of the platform's own error message quoted in a reason.
const MAX_QUOTED_CHARS: usize = 300;

impl Platform {
    /// Builds the exact HTTP request: body from [`Platform::request_body`] (plus signing), URL
    /// (plus signing query), headers. `now` is the signing timestamp (the injectable clock).
    ///
    /// Fails with [`Outcome::Permanent`] when the request cannot be built as configured: no
    /// webhook, a webhook that is not an http(s) URL, a generic-webhook template that does not
    /// render to JSON, or a console channel (printed by [`deliver`], never sent).
    pub fn prepare(
        self,
        channel: &ChannelConfig,
        part: &OutboundPart,
        now: DateTime<Utc>,
    ) -> Result<PreparedRequest, Outcome> {
        super::driver(self).prepare(channel, part, now)
    }

    /// Maps a reply to an outcome: the HTTP status, the `Retry-After` header if any (already
    /// parsed, see [`parse_retry_after`]), and the body. Each platform's file holds a table of
    /// every documented reply with its reason in plain words and a hint for people.
    ///
    /// The reason may quote the platform's own message; [`deliver`] redacts the channel's
    /// secrets from it.
    pub fn classify(self, status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
        super::driver(self).classify(status, retry_after, body)
    }

    /// The platform's own limit per webhook, which a channel sends under unless its config sets
    /// `rate_limit`:
    /// - DingTalk: 20/min per robot; going over blocks the robot for 10 minutes (130101);
    /// - WeCom: 20/min per robot (45009);
    /// - Feishu: 5/s per bot. Feishu also allows only 100 per minute (11232 when exceeded); a
    ///   single pace cannot express both, so a burst of more than 100 parts in a minute gets an
    ///   11232, which [`Outcome::Wait`]s for a minute;
    /// - Slack: about 1/s per webhook, short bursts allowed (429 with `Retry-After`);
    /// - Discord: 5 per 2 s per webhook (and about 30/min per channel, answered with a 429);
    /// - Mattermost: none documented; 10/s, the default of servers that turn rate limiting on;
    /// - Telegram: one message every 3 s per chat, which keeps both of Telegram's limits for
    ///   bots: one a second in a chat and 20 a minute in a group;
    /// - Teams: 4/s per webhook (the connector throttles beyond that; Workflows documents no
    ///   figure and gets the same pace);
    /// - Google Chat: 60/min per space, shared by every app and webhook in the space;
    /// - generic webhook and console: none.
    ///
    /// The platforms not implemented yet carry their documented limits for when they are.
    pub fn default_rate_limit(self) -> Option<RateLimit> {
        super::driver(self).default_rate_limit()
    }
}

/// How long one outbound request (a message, a reply, a bootstrap call) may take, connecting
/// included: platforms answer in well under a second when they are healthy.
///
/// Not the server's `REQUEST_TIMEOUT`, though both are 10 s: that one bounds what a peer may
/// make us hold (a request trickling in), this one how long we wait on a platform, and either
/// may move without the other.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no HTTP client could be built (the system's root certificates unreadable, most likely).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {detail}")]
pub struct ClientError {
    detail: String,
}

/// The one HTTP client builder: `timeout` for the whole exchange ([`SEND_TIMEOUT`] for
/// sending), no redirects (a webhook that redirects has moved, and following it would send the
/// message somewhere nobody configured), and a `weekbell/<version>` user agent. Proxies come
/// from the usual environment variables.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("weekbell/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError {
            detail: error_chain(&e.without_url()),
        })
}

/// Sends one part: prepare, POST with `client` (its timeout set by the caller, see
/// [`http_client`]), classify. A console channel prints the part to standard output under a
/// header line naming the channel and returns [`Outcome::Sent`].
///
/// Transport errors become [`Outcome::Retry`]: a timeout as "timed out after …", a refused or
/// reset connection in plain words. Never panics; never returns text containing the channel's
/// webhook URL, token or secrets.
pub async fn deliver(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    part: &OutboundPart,
    now: DateTime<Utc>,
) -> Outcome {
    let platform = channel.platform;
    let outcome = if platform == Platform::Console {
        print_to_console(channel, part)
    } else if platform == Platform::Telegram {
        telegram::deliver(client, channel, part, now).await
    } else {
        match platform.prepare(channel, part, now) {
            Ok(request) => send(client, platform, request, now).await,
            Err(outcome) => outcome,
        }
    };
    let outcome = outcome.redacted(&channel_redactor(channel));
    if outcome != Outcome::Sent {
        tracing::debug!(
            channel = %channel.name,
            %platform,
            outcome = ?outcome,
            "message part not delivered"
        );
    }
    outcome
}

/// Delivers the answer to a chat command somewhere other than the channel's webhook: the
/// message's own reply address (see [`ReplyVia`]). Same outcomes and redaction as [`deliver`].
pub async fn deliver_reply(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    part: &OutboundPart,
    via: &ReplyVia,
    now: DateTime<Utc>,
) -> Outcome {
    let outcome = match via {
        ReplyVia::SessionWebhook { url } => {
            // Checked when the command arrived too; here again so that no outbox row, however
            // it got there (written by an older version, edited by hand), is sent elsewhere.
            if let Some(why) = super::session_webhook_refusal(url, channel.api_base()) {
                return Outcome::Permanent {
                    reason: why,
                    hint: "answers go only to DingTalk's own hosts; nothing was sent".into(),
                };
            }
            match json_body(&channel.platform.request_body_in(part, channel.dialect())) {
                Ok(body) => {
                    let request = PreparedRequest {
                        url: Secret::new(url.clone()),
                        headers: json_headers(),
                        body,
                    };
                    send(client, channel.platform, request, now).await
                }
                Err(outcome) => outcome,
            }
        }
        ReplyVia::FeishuMessage { message_id } => {
            feishu::reply(client, channel, part, message_id, now).await
        }
        ReplyVia::DiscordFollowup {
            application_id,
            token,
            ephemeral,
        } => match discord::followup(channel, part, application_id, token, *ephemeral) {
            Ok(request) => send(client, Platform::Discord, request, now).await,
            Err(outcome) => outcome,
        },
        ReplyVia::TelegramMessage {
            chat_id,
            message_id,
            message_thread_id,
        } => {
            let to = telegram::TelegramReply {
                chat_id: *chat_id,
                message_id: *message_id,
                message_thread_id: *message_thread_id,
            };
            telegram::reply(client, channel, part, &to, now).await
        }
    };
    let mut redactor = channel_redactor(channel);
    match via {
        ReplyVia::SessionWebhook { url } => {
            redactor.hide_url(url);
        }
        ReplyVia::DiscordFollowup { token, .. } => {
            redactor.hide(token);
        }
        ReplyVia::FeishuMessage { .. } | ReplyVia::TelegramMessage { .. } => {}
    }
    outcome.redacted(&redactor)
}

pub(super) async fn send(
    client: &reqwest::Client,
    platform: Platform,
    request: PreparedRequest,
    now: DateTime<Utc>,
) -> Outcome {
    match exchange(client, request, now).await {
        Ok(reply) => platform.classify(reply.status, reply.retry_after, &reply.body),
        Err(outcome) => outcome,
    }
}

/// A platform's answer, before [`Platform::classify`] reads it.
pub(super) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// At most [`MAX_REPLY_BYTES`].
    pub body: Vec<u8>,
}

/// Posts `request` and reads the answer; `Err` with the outcome when none came.
pub(super) async fn exchange(
    client: &reqwest::Client,
    request: PreparedRequest,
    now: DateTime<Utc>,
) -> Result<Reply, Outcome> {
    let mut builder = client.post(request.url.expose());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let started = Instant::now();
    let mut response = match builder.body(request.body).send().await {
        Ok(response) => response,
        Err(e) => return Err(transport_outcome(e, started.elapsed())),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    match read_capped(&mut response).await {
        Ok(body) => Ok(Reply {
            status,
            retry_after,
            body,
        }),
        Err(e) => Err(transport_outcome(e, started.elapsed())),
    }
}

async fn read_capped(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_REPLY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_REPLY_BYTES {
            break;
        }
    }
    Ok(body)
}

fn print_to_console(channel: &ChannelConfig, part: &OutboundPart) -> Outcome {
    let mut out = std::io::stdout().lock();
    let written = writeln!(
        out,
        "──── weekbell → {} (console) ──── {}\n{}\n",
        channel.name, part.title, part.text
    )
    .and_then(|()| out.flush());
    match written {
        Ok(()) => Outcome::Sent,
        Err(e) => Outcome::Retry {
            reason: format!("could not write to standard output: {e}"),
        },
    }
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date taken relative to `now`. Capped
/// at [`MAX_WAIT`]; a date in the past gives zero.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())).ok()?
    } else {
        let when = DateTime::parse_from_rfc2822(value).ok()?;
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_WAIT))
}

/// Turns a reqwest error into an outcome in plain words, without the URL.
fn transport_outcome(error: reqwest::Error, elapsed: Duration) -> Outcome {
    let error = error.without_url();
    let chain = error_chain(&error);
    let secs = elapsed.as_secs_f64();
    if error.is_timeout() || io_kind(&error) == Some(std::io::ErrorKind::TimedOut) {
        return Outcome::Retry {
            reason: format!("timed out after {secs:.1} s waiting for the platform to answer"),
        };
    }
    if error.is_builder() {
        return Outcome::Permanent {
            reason: format!("the request could not be built: {chain}"),
            hint: "check that `webhook` is the whole http:// or https:// address".into(),
        };
    }
    if error.is_redirect() {
        return Outcome::Permanent {
            reason: "the webhook address redirects too many times".into(),
            hint: "paste the webhook's final address into `webhook`".into(),
        };
    }
    use std::io::ErrorKind as K;
    let reason = match io_kind(&error) {
        Some(K::ConnectionRefused) => "connection refused: nothing is listening at the webhook's \
                                       host and port, or a firewall turned the connection away"
            .to_string(),
        Some(K::ConnectionReset | K::ConnectionAborted) => {
            "the connection was reset before the platform answered".to_string()
        }
        Some(K::UnexpectedEof | K::BrokenPipe) => {
            "the platform closed the connection before answering".to_string()
        }
        Some(K::NetworkUnreachable | K::HostUnreachable) => {
            "the webhook's host is unreachable from this server".to_string()
        }
        _ if chain.contains("dns error") => {
            format!("could not resolve the webhook's host name: {chain}")
        }
        _ if chain.contains("connection closed before message completed") => {
            "the platform closed the connection before answering".to_string()
        }
        _ if error.is_connect() => format!("could not connect to the webhook's host: {chain}"),
        _ => format!("the request failed: {chain}"),
    };
    Outcome::Retry { reason }
}

fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

/// The error and its sources, joined with ": ", repeated messages dropped.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// A redactor for a channel's secrets: the webhook URL whole with its token-like path segments
/// and query values (see [`Redactor::hide_url`]), and every secret and credential.
pub(crate) fn channel_redactor(channel: &ChannelConfig) -> Redactor {
    let mut redactor = Redactor::new();
    if let Some(webhook) = &channel.webhook {
        redactor.hide_url(webhook.expose());
    }
    for secret in channel.secret.iter().chain(channel.credentials.values()) {
        redactor.hide_credential(secret.expose());
    }
    redactor
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of the per-platform files.

/// What a documented reply means for the delivery worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyVerdict {
    Sent,
    Retry,
    /// Wait this long unless the reply carried a `Retry-After`.
    Wait(Duration),
    Permanent,
}

/// One row of a platform's reply table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplyRow<C: 'static> {
    /// The platform's code (`errcode`, `code`, or Slack's error string).
    pub code: C,
    /// The platform's own message for it, as documented or observed.
    pub platform_message: &'static str,
    pub verdict: ReplyVerdict,
    /// In plain words, for the log and `weekbell outbox`.
    pub reason: &'static str,
    /// What a person should change (for permanent failures).
    pub hint: &'static str,
}

impl<C> ReplyRow<C> {
    /// The outcome for this row; `quoted` is the platform's message from the reply.
    pub(crate) fn outcome(
        &self,
        platform: &str,
        code: impl fmt::Display,
        quoted: Option<&str>,
        retry_after: Option<Duration>,
    ) -> Outcome {
        let reason = with_quote(self.reason, platform, code, quoted);
        self.verdict.outcome(reason, self.hint, retry_after)
    }
}

/// One documented reply of a platform, for documentation and `--help` style listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentedReply {
    /// The platform's code: DingTalk/WeCom `errcode`, Feishu `code`, Slack's error string.
    pub code: String,
    /// The platform's own message for it.
    pub platform_message: &'static str,
    pub verdict: ReplyVerdict,
    /// The reason weekbell gives, in plain words.
    pub reason: &'static str,
    /// What a person should change; empty when nothing needs to change.
    pub hint: &'static str,
}

impl Platform {
    /// Every reply of this platform that [`Platform::classify`] knows by its code, in table
    /// order. Empty for the generic webhook and console, which are judged by HTTP status alone.
    pub fn documented_replies(self) -> Vec<DocumentedReply> {
        super::driver(self).documented_replies()
    }
}

impl ReplyVerdict {
    pub(crate) fn outcome(
        self,
        reason: String,
        hint: &str,
        retry_after: Option<Duration>,
    ) -> Outcome {
        match self {
            ReplyVerdict::Sent => Outcome::Sent,
            ReplyVerdict::Retry => Outcome::Retry { reason },
            ReplyVerdict::Wait(default) => Outcome::Wait {
                after: retry_after.unwrap_or(default).min(MAX_WAIT),
                reason,
            },
            ReplyVerdict::Permanent => Outcome::Permanent {
                reason,
                hint: hint.to_string(),
            },
        }
    }
}

/// "`reason` (`platform` `code`: `quoted`)".
pub(crate) fn with_quote(
    reason: &str,
    platform: &str,
    code: impl fmt::Display,
    quoted: Option<&str>,
) -> String {
    match quoted.map(clean_quote).filter(|q| !q.is_empty()) {
        Some(q) => format!("{reason} ({platform} {code}: {q})"),
        None => format!("{reason} ({platform} {code})"),
    }
}

/// A platform's message made safe to show: one line, at most [`MAX_QUOTED_CHARS`].
pub(crate) fn clean_quote(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > MAX_QUOTED_CHARS {
        let cut: String = trimmed.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{cut}…")
    } else {
        trimmed.to_string()
    }
}

/// The outcome of a reply that carries no platform code: judged by the HTTP status alone.
/// `what` names the platform in reasons ("DingTalk", "the webhook").
pub(crate) fn by_status(
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Outcome {
    let quoted = clean_quote(&String::from_utf8_lossy(body));
    let answer = if quoted.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {quoted}")
    };
    match status {
        200..=299 => Outcome::Sent,
        429 => Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: format!("{what} asked us to slow down ({answer})"),
        },
        408 => Outcome::Retry {
            reason: format!("{what} timed out reading the request ({answer})"),
        },
        500..=599 => Outcome::Retry {
            reason: format!("{what} had a server error ({answer})"),
        },
        300..=399 => Outcome::Permanent {
            reason: format!("{what} redirected the request elsewhere ({answer})"),
            hint: "the webhook address has moved: paste its current address into `webhook`".into(),
        },
        401 | 403 => Outcome::Permanent {
            reason: format!("{what} refused the request's credentials ({answer})"),
            hint: "check the channel's `webhook` address and its signing secret".into(),
        },
        404 | 410 => Outcome::Permanent {
            reason: format!("{what} has nothing at this address ({answer})"),
            hint: "check the channel's `webhook` address; the webhook may have been deleted".into(),
        },
        413 => Outcome::Permanent {
            reason: format!("{what} refused the message as too large ({answer})"),
            hint: "set a smaller `max_message_size` on the channel so messages are split into \
                   smaller parts"
                .into(),
        },
        400..=499 => Outcome::Permanent {
            reason: format!("{what} refused the request ({answer})"),
            hint: "check the channel's `webhook` address and, for a generic webhook, what its \
                   `template` produces"
                .into(),
        },
        _ => Outcome::Retry {
            reason: format!("{what} gave an unexpected answer ({answer})"),
        },
    }
}

/// The outcome when a platform that always answers with a JSON code (DingTalk, WeCom, Feishu)
/// answered without one: by status, except that a 2xx is not taken as delivered, because the
/// platform did not say it was (a proxy's page, a captive portal).
pub(crate) fn without_code(
    platform: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Outcome {
    if (200..300).contains(&status) {
        let quoted = clean_quote(&String::from_utf8_lossy(body));
        return Outcome::Retry {
            reason: format!(
                "{platform} answered HTTP {status} without its usual result code, so whether the \
                 message was posted is unknown ({})",
                if quoted.is_empty() {
                    "empty body"
                } else {
                    quoted.as_str()
                }
            ),
        };
    }
    by_status(platform, status, retry_after, body)
}

/// The channel's webhook as an http(s) URL.
pub(crate) fn webhook_url(channel: &ChannelConfig) -> Result<reqwest::Url, Outcome> {
    let Some(webhook) = channel.webhook.as_ref() else {
        return Err(Outcome::Permanent {
            reason: format!("channel `{}` has no webhook address", channel.name),
            hint: format!(
                "add `webhook = \"${{SOME_ENV_VAR}}\"` to [channels.{}]",
                channel.name
            ),
        });
    };
    let raw = webhook.expose().trim();
    match reqwest::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err(Outcome::Permanent {
            reason: format!(
                "channel `{}`'s webhook is not an http:// or https:// address",
                channel.name
            ),
            hint: "paste the whole webhook address from the platform's robot settings".into(),
        }),
    }
}

/// A configured secret, or `None` when it is unset or empty (`"${VAR:-}"` with `VAR` unset).
pub(crate) fn configured(secret: Option<&Secret>) -> Option<&str> {
    secret.map(Secret::expose).filter(|s| !s.trim().is_empty())
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Result<Vec<u8>, Outcome> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).map_err(|_| Outcome::Permanent {
            reason: "the signing secret cannot be used as an HMAC key".into(),
            hint: "check the channel's signing secret".into(),
        })?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Serializes a request body.
pub(crate) fn json_body(value: &serde_json::Value) -> Result<Vec<u8>, Outcome> {
    serde_json::to_vec(value).map_err(|e| Outcome::Permanent {
        reason: format!("the message could not be written as JSON: {e}"),
        hint: "this is a weekbell bug; please report it".into(),
    })
}

/// `Content-Type: application/json; charset=utf-8`.
pub(crate) fn json_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )]
}

/// Reads an integer field that some platforms send as a number and some proxies as a string.
pub(crate) fn int_field(value: &serde_json::Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn str_field<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(serde_json::Value::as_str)
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::config::{ChannelConfig, TaskFilter};
    use crate::secret::Secret;
    use crate::types::Platform;
    use crate::types::{Mention, OutboundPart};
    use chrono::{DateTime, TimeZone, Utc};
    use std::collections::BTreeMap;

    pub(crate) fn channel(
        platform: Platform,
        webhook: &str,
        secret: Option<&str>,
    ) -> ChannelConfig {
        ChannelConfig {
            name: "team".into(),
            platform,
            webhook: Some(Secret::new(webhook)),
            secret: secret.map(Secret::new),
            credentials: BTreeMap::new(),
            options: BTreeMap::new(),
            template_dir: None,
            filter: TaskFilter::default(),
            max_message_size: None,
            rate_limit: None,
            locale: None,
        }
    }

    pub(crate) fn part() -> OutboundPart {
        OutboundPart {
            title: "本周督办 (1/2)".into(),
            text: "## 本周督办\n\n- 12 清理河道 @staff-0001".into(),
            mentions: vec![Mention {
                person_id: Some("sun.qiang".into()),
                name: "孙强".into(),
                handle: Some("staff-0001".into()),
                mobile: None,
            }],
            part: 1,
            parts: 2,
        }
    }

    /// 2025-12-05T07:00:00Z = 1764918000 s.
    pub(crate) fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_764_918_000, 0)
            .single()
            .unwrap_or_default()
    }

    pub(crate) fn header<'a>(req: &'a super::PreparedRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Test helper: `got` is the outcome a reply-table row promises (for permanent failures, the
/// reason quotes the platform's code and there is a hint).
#[cfg(test)]
pub(crate) fn assert_verdict(code: &str, verdict: ReplyVerdict, got: &Outcome) {
    match verdict {
        ReplyVerdict::Sent => assert_eq!(*got, Outcome::Sent),
        ReplyVerdict::Retry => assert!(matches!(got, Outcome::Retry { .. }), "{code} → {got:?}"),
        ReplyVerdict::Wait(d) => assert!(
            matches!(got, Outcome::Wait { after, .. } if *after == d),
            "{code} → {got:?}"
        ),
        ReplyVerdict::Permanent => {
            let Outcome::Permanent { reason, hint } = got else {
                panic!("{code} → {got:?}")
            };
            assert!(reason.contains(code), "{reason}");
            assert!(!hint.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn retry_after_seconds_dates_and_caps() {
        let now = now();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 2025-12-05T07:00:00Z + 90 s.
        assert_eq!(
            parse_retry_after("Fri, 05 Dec 2025 07:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Fri, 05 Dec 2025 06:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("99999999999", now), Some(MAX_WAIT));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn prepared_request_debug_hides_the_url() {
        let req = PreparedRequest {
            url: Secret::new("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"),
            headers: json_headers(),
            body: b"{}".to_vec(),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("abcdef123456"), "{shown}");
        assert!(!shown.contains("oapi.dingtalk.com"), "{shown}");
        assert!(shown.contains("application/json"), "{shown}");
    }

    #[test]
    fn redactor_replaces_tokens_and_secrets() {
        let mut ch = channel(
            Platform::Feishu,
            "https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-token-9f2d",
            Some("feishu-secret-value"),
        );
        ch.credentials
            .insert("signing_secret".into(), Secret::new("whsec-zzz"));
        let r = channel_redactor(&ch);
        let text = r.text(
            "POST https://open.feishu.cn/open-apis/bot/v2/hook/0b7e3c1a-token-9f2d failed; \
             token 0b7e3c1a-token-9f2d, secret feishu-secret-value, whsec-zzz",
        );
        assert!(!text.contains("0b7e3c1a-token-9f2d"), "{text}");
        assert!(!text.contains("feishu-secret-value"), "{text}");
        assert!(!text.contains("whsec-zzz"), "{text}");
        assert!(text.contains("failed"), "{text}");
    }

    #[test]
    fn redactor_hides_a_telegram_bot_token_in_a_url_path() {
        let mut ch = channel(Platform::Telegram, "https://unused.example/", None);
        ch.webhook = None;
        ch.credentials.insert(
            "bot_token".into(),
            Secret::new(" 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw "),
        );
        let r = channel_redactor(&ch);
        let text = r.text(
            "error sending request for url \
             (https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage)",
        );
        assert!(
            !text.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            "{text}"
        );
        assert!(text.contains("/bot***/sendMessage"), "{text}");
        let encoded = r.text("GET /bot123456789%3AAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe");
        assert_eq!(encoded, "GET /bot123456789%3A***/getMe");
    }

    #[test]
    fn redactor_covers_query_tokens() {
        let ch = channel(
            Platform::Wecom,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4",
            None,
        );
        let r = channel_redactor(&ch);
        assert_eq!(r.text("bad key 693a91f6-7aoc-4bc4"), "bad key ***");
    }

    #[test]
    fn status_fallback_table() {
        let cases: &[(u16, &str)] = &[
            (200, "sent"),
            (204, "sent"),
            (301, "permanent"),
            (400, "permanent"),
            (401, "permanent"),
            (403, "permanent"),
            (404, "permanent"),
            (408, "retry"),
            (410, "permanent"),
            (413, "permanent"),
            (422, "permanent"),
            (429, "wait"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
            (999, "retry"),
        ];
        for &(status, want) in cases {
            let got = match by_status("the webhook", status, None, b"") {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } => "retry",
                Outcome::Wait { .. } => "wait",
                Outcome::Permanent { .. } => "permanent",
            };
            assert_eq!(got, want, "HTTP {status}");
        }
        assert_eq!(
            by_status("x", 429, Some(Duration::from_secs(7)), b""),
            Outcome::Wait {
                after: Duration::from_secs(7),
                reason: "x asked us to slow down (HTTP 429)".into()
            }
        );
    }

    #[test]
    fn quotes_are_one_line_and_bounded() {
        assert_eq!(clean_quote(" a\nb\t"), "a b");
        let long = "x".repeat(1000);
        assert_eq!(clean_quote(&long).chars().count(), MAX_QUOTED_CHARS + 1);
    }

    #[test]
    fn console_does_not_prepare() {
        let ch = channel(Platform::Console, "https://example.com/", None);
        assert!(matches!(
            Platform::Console.prepare(&ch, &part(), now()),
            Err(Outcome::Permanent { .. })
        ));
    }

    #[test]
    fn default_rate_limits() {
        let per_min = |n| Some(RateLimit::new(n, Duration::from_secs(60)));
        assert_eq!(Platform::Dingtalk.default_rate_limit(), per_min(20));
        assert_eq!(Platform::Wecom.default_rate_limit(), per_min(20));
        assert_eq!(
            Platform::Feishu.default_rate_limit(),
            Some(RateLimit::new(5, Duration::from_secs(1)))
        );
        assert_eq!(
            Platform::Slack.default_rate_limit(),
            Some(RateLimit::new(1, Duration::from_secs(1)))
        );
        assert_eq!(
            Platform::Discord.default_rate_limit(),
            Some(RateLimit::new(5, Duration::from_secs(2)))
        );
        assert_eq!(
            Platform::Mattermost.default_rate_limit(),
            Some(RateLimit::new(10, Duration::from_secs(1)))
        );
        assert_eq!(
            Platform::Telegram.default_rate_limit(),
            Some(RateLimit::new(1, Duration::from_secs(3)))
        );
        assert_eq!(
            Platform::Teams.default_rate_limit(),
            Some(RateLimit::new(4, Duration::from_secs(1)))
        );
        assert_eq!(Platform::Googlechat.default_rate_limit(), per_min(60));
        assert_eq!(Platform::Webhook.default_rate_limit(), None);
        assert_eq!(Platform::Console.default_rate_limit(), None);
    }

    #[test]
    fn missing_or_bad_webhooks_are_permanent() {
        let mut ch = channel(Platform::Slack, "ftp://example.com/x", None);
        let err = webhook_url(&ch).err();
        assert!(matches!(err, Some(Outcome::Permanent { .. })), "{err:?}");
        ch.webhook = None;
        assert!(matches!(webhook_url(&ch), Err(Outcome::Permanent { .. })));
    }

    #[tokio::test]
    async fn a_session_webhook_off_dingtalk_is_never_requested() {
        // A listener that would see the request: it must stay unvisited.
        let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("cannot bind: {e}"),
        };
        let _ = listener.set_nonblocking(true);
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let ch = channel(
            Platform::Dingtalk,
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            None,
        );
        // Bounded, so that a version that did send fails here instead of waiting for ever.
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
        {
            Ok(c) => c,
            Err(e) => panic!("no HTTP client: {e}"),
        };
        for url in [
            format!("http://127.0.0.1:{port}/robot/sendBySession?session=s3ss10n"),
            format!("https://127.0.0.1:{port}/robot/sendBySession?session=s3ss10n"),
        ] {
            let via = super::super::ReplyVia::SessionWebhook { url };
            let outcome = deliver_reply(&client, &ch, &part(), &via, now()).await;
            let Outcome::Permanent { reason, .. } = outcome else {
                panic!("sent or retried: {outcome:?}")
            };
            assert!(
                reason.contains("127.0.0.1") && !reason.contains("s3ss10n"),
                "{reason}"
            );
        }
        assert!(listener.accept().is_err(), "a request reached the listener");
    }

    #[test]
    fn empty_secrets_count_as_unset() {
        assert_eq!(configured(Some(&Secret::new(""))), None);
        assert_eq!(configured(Some(&Secret::new("  "))), None);
        assert_eq!(configured(Some(&Secret::new("SECx"))), Some("SECx"));
    }
}

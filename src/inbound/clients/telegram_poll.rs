//! Telegram long polling: the bot fetches its updates with `getUpdates`, for offices with no
//! public URL. Like [`super::dingtalk_stream`], this module does IO.
//!
//! The protocol, as the Bot API documents it and python-telegram-bot's updater runs it:
//! - `deleteWebhook` first: `getUpdates` answers 409 while a webhook is set;
//! - `getUpdates(offset, timeout, allowed_updates: ["message"])` blocks until an update comes
//!   or `timeout` seconds pass; the HTTP read timeout is longer than that;
//! - an update is confirmed by asking with an `offset` above its `update_id`, and Telegram
//!   keeps unconfirmed updates for 24 hours. weekbell asks with a higher offset only after the
//!   update's command was recorded, and keeps the next offset in the store
//!   ([`Store::move_cursor`]), so a restart (or another replica) resumes where the last
//!   one stopped: nothing confirmed runs again, nothing unrecorded is confirmed;
//! - 409 also means a second `getUpdates` for the bot started elsewhere (Telegram ends the
//!   older one); 429 carries `parameters.retry_after`; 401 and 404 mean the token is wrong,
//!   which no retry will fix, so the client logs it and stops.
//!
//! Replicas on one database take turns: the one holding the cursor's lease polls and renews
//! it before every call; the others ask again every [`PollConfig::standby_check`]. A replica
//! that dies is replaced once its lease runs out (at most [`PollConfig::lease`]); updates wait
//! at Telegram meanwhile. A replica that loses the lease while it polls (it stalled) finds out
//! when it next records an offset, and stands by.
//!
//! The same client learns the bot's username with `getMe` when `bot_username` is not set, for
//! webhook channels too (see [`crate::inbound::telegram::learn_username`]). The token is in every URL:
//! URLs are [`Secret`]s and every error text is scrubbed of the token before it is logged.

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::config::ChannelConfig;
use crate::inbound::telegram::{Addressee, learn_username, parse_update};
use crate::inbound::{InboundMessage, Verdict};
use crate::platforms::telegram as bot_api;
use crate::secret::{Redactor, Secret};
use crate::shutdown::Shutdown;
use crate::store::{CursorLease, Store};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Telegram's own recommendation is a long timeout; 25 s stays under the 30 s idle limit of
/// many proxies and NAT boxes between an office and Telegram.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(25);
/// How much longer than the poll itself the HTTP request may take.
const READ_MARGIN: Duration = Duration::from_secs(10);
/// getMe and deleteWebhook answer at once.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Updates asked for per call: the Bot API's maximum.
const LIMIT: u32 = 100;
/// A batch of 100 updates is a few hundred KB; more is not a Bot API server.
const MAX_REPLY_BYTES: usize = 8 << 20;
/// How long 429 waits when Telegram does not say.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// One Telegram channel's client. `Debug` shows the token as `***`.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The channel, named in log lines.
    pub channel: String,
    /// `{api_base}`, no trailing `/`.
    pub api_base: String,
    pub token: Secret,
    /// Whose messages count: the channel's chat and this bot (its username learned by `getMe`
    /// when `None`).
    pub addressee: Addressee,
    /// `false` for a webhook channel: only learn the username, then stop.
    pub polling: bool,
    pub poll_timeout: Duration,
    /// The cursor's lease, renewed before every poll; a dead replica's runs out after this.
    pub lease: Duration,
    /// How often a replica that does not hold the lease asks for it.
    pub standby_check: Duration,
    pub backoff: Backoff,
}

impl PollConfig {
    /// The client a Telegram channel needs, if any: polling (`polling = true`), or a webhook
    /// channel whose bot's username must be learned. `None` for a channel that takes no
    /// commands, or that names its bot and uses a webhook.
    pub fn for_channel(channel: &ChannelConfig) -> Option<PollConfig> {
        let bot = channel.settings.telegram()?;
        let token = bot.bot_token.clone()?;
        let polling = bot.polling;
        let addressee = Addressee::for_channel(channel);
        let webhook = bot.secret_token.is_some();
        let must_learn_name = webhook && addressee.bot_username.is_none();
        if !(polling || must_learn_name) {
            return None;
        }
        Some(PollConfig {
            channel: channel.name.clone(),
            api_base: bot_api::api_base(channel),
            token,
            addressee,
            polling,
            poll_timeout: POLL_TIMEOUT,
            lease: Duration::from_secs(90),
            standby_check: Duration::from_secs(15),
            backoff: Backoff {
                min: Duration::from_secs(1),
                max: Duration::from_secs(60),
            },
        })
    }
}

/// Runs the client until `shutdown` becomes true (or its sender is dropped).
///
/// Each command is given to `handler`, one at a time and in order; the handler answers
/// whether it was recorded (`false`: the store is unreachable). An update is confirmed only
/// after its handler said `true` or it was found to be no command at all; after a `false` the
/// same batch is fetched again after a backoff, and the commands already recorded are
/// recognised by their message ids.
///
/// On shutdown the request in flight is dropped at once and the lease given back.
pub async fn run<H, Fut>(
    config: PollConfig,
    client: reqwest::Client,
    store: Store,
    holder: String,
    clock: Arc<dyn Clock>,
    handler: H,
    shutdown: impl Into<Shutdown>,
) where
    H: Fn(InboundMessage) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut shutdown = shutdown.into();
    let channel = config.channel.as_str();
    let token = config.token.expose().trim().to_string();
    let Some(bot_id) = bot_api::bot_id(&token).map(str::to_string) else {
        tracing::error!(
            channel,
            "Telegram: bot_token is not a bot token (123456789:AA…); not taking commands"
        );
        shutdown.recv().await;
        return;
    };
    let api = Api {
        client,
        base: config.api_base.clone(),
        token,
    };
    let mut addressee = config.addressee.clone();
    if addressee.bot_username.is_none() {
        match shutdown.until(learn_name(&api, &config, &bot_id)).await {
            None | Some(None) => return,
            Some(Some(name)) => addressee.bot_username = Some(name),
        }
    }
    if !config.polling {
        return;
    }
    let poller = Poller {
        api: &api,
        config: &config,
        store: &store,
        holder: &holder,
        consumer: format!("telegram:{bot_id}"),
        addressee,
        clock: clock.as_ref(),
    };
    poller.run(&handler, &mut shutdown).await;
    let now = clock.now().timestamp_millis();
    if let Err(e) = store.release_cursor(&poller.consumer, &holder, now).await {
        tracing::warn!(
            channel,
            "Telegram: could not give the polling lease back: {e}"
        );
    }
    tracing::info!(channel, "Telegram polling stopped");
}

/// `getMe` until it answers; `None` when the token is refused (logged).
async fn learn_name(api: &Api, config: &PollConfig, bot_id: &str) -> Option<String> {
    let channel = config.channel.as_str();
    let mut failures = 0u32;
    loop {
        match api.call("getMe", json!({}), CALL_TIMEOUT).await {
            Ok(me) => match me.get("username").and_then(Value::as_str) {
                Some(name) if !name.is_empty() => {
                    learn_username(bot_id, name);
                    tracing::info!(channel, bot = name, "Telegram: the bot is @{name}");
                    return Some(name.to_string());
                }
                _ => {
                    tracing::warn!(channel, "Telegram: getMe answered without a username");
                }
            },
            Err(ApiError::BadToken(detail)) => {
                bad_token(channel, &detail);
                return None;
            }
            Err(e) => {
                tracing::warn!(
                    channel,
                    "Telegram: cannot ask for the bot's name (getMe): {e}"
                );
            }
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(config.backoff.jittered(failures)).await;
    }
}

fn bad_token(channel: &str, detail: &str) {
    tracing::error!(
        channel,
        "Telegram refuses the bot token ({detail}): it is wrong or was revoked. Put the token \
         BotFather gives (/mybots → the bot → API Token) in bot_token and restart. Not taking \
         commands until then"
    );
}

struct Poller<'a> {
    api: &'a Api,
    config: &'a PollConfig,
    store: &'a Store,
    holder: &'a str,
    consumer: String,
    addressee: Addressee,
    /// Lease times are the store's shared clock between replicas; tests set it.
    clock: &'a dyn Clock,
}

/// Why a batch stopped before its end.
enum Stop {
    /// The lease went to another replica.
    LeaseLost,
    /// A command could not be recorded, or the offset could not be kept: fetch it again.
    Retry(String),
}

impl Poller<'_> {
    async fn run<H, Fut>(&self, handler: &H, shutdown: &mut Shutdown)
    where
        H: Fn(InboundMessage) -> Fut,
        Fut: Future<Output = bool>,
    {
        let channel = self.config.channel.as_str();
        let lease_ms = millis(self.config.lease);
        let mut active = false;
        let mut standing_by = false;
        let mut failures = 0u32;
        loop {
            let now = self.clock.now().timestamp_millis();
            let lease = self
                .store
                .lease_cursor(
                    &self.consumer,
                    self.holder,
                    now,
                    now.saturating_add(lease_ms),
                )
                .await;
            let wait = match lease {
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(channel, "Telegram: cannot take the polling lease: {e}");
                    self.config.backoff.jittered(failures)
                }
                Ok(CursorLease::Busy { holder, .. }) => {
                    if !standing_by {
                        tracing::info!(
                            channel,
                            replica = %holder,
                            "Telegram: another replica polls this bot; standing by"
                        );
                    }
                    standing_by = true;
                    active = false;
                    self.config.standby_check
                }
                Ok(CursorLease::Held { position }) => {
                    if !active {
                        match shutdown.until(self.start()).await {
                            None | Some(false) => return,
                            Some(true) => {}
                        }
                        tracing::info!(
                            channel,
                            offset = position,
                            "Telegram: polling for commands (getUpdates)"
                        );
                        active = true;
                        standing_by = false;
                    }
                    match shutdown.until(self.poll_once(position, handler)).await {
                        None => return,
                        Some(Ok(())) => {
                            failures = 0;
                            Duration::ZERO
                        }
                        Some(Err(Step::Stop)) => return,
                        Some(Err(Step::LeaseLost)) => {
                            active = false;
                            Duration::ZERO
                        }
                        Some(Err(Step::Wait(d))) => d,
                        Some(Err(Step::Backoff(why))) => {
                            failures = failures.saturating_add(1);
                            let wait = self.config.backoff.jittered(failures);
                            tracing::warn!(
                                channel,
                                retry_in_ms = millis(wait),
                                "Telegram polling: {why}"
                            );
                            wait
                        }
                    }
                }
            };
            if !wait.is_zero() && shutdown.until(tokio::time::sleep(wait)).await.is_none() {
                return;
            }
        }
    }

    /// Before the first poll: remove any webhook, since `getUpdates` refuses to run beside
    /// one. Pending updates are kept. `false` when the token is refused.
    async fn start(&self) -> bool {
        let channel = self.config.channel.as_str();
        match self
            .api
            .call(
                "deleteWebhook",
                json!({"drop_pending_updates": false}),
                CALL_TIMEOUT,
            )
            .await
        {
            Ok(_) => true,
            Err(ApiError::BadToken(detail)) => {
                bad_token(channel, &detail);
                false
            }
            // getUpdates will say 409 if the webhook is still there, and this runs again.
            Err(e) => {
                tracing::warn!(channel, "Telegram: deleteWebhook failed: {e}");
                true
            }
        }
    }

    async fn poll_once<H, Fut>(&self, offset: Option<i64>, handler: &H) -> Result<(), Step>
    where
        H: Fn(InboundMessage) -> Fut,
        Fut: Future<Output = bool>,
    {
        let mut params = json!({
            "timeout": self.config.poll_timeout.as_secs(),
            "limit": LIMIT,
            "allowed_updates": ["message"],
        });
        if let Some(offset) = offset {
            params["offset"] = Value::from(offset);
        }
        let timeout = self.config.poll_timeout.saturating_add(READ_MARGIN);
        let updates = match self.api.call("getUpdates", params, timeout).await {
            Ok(result) => result,
            Err(e) => return Err(self.on_error(e).await),
        };
        let Some(updates) = updates.as_array() else {
            return Err(Step::Backoff(
                "getUpdates answered without a list of updates".into(),
            ));
        };
        match self.handle_batch(updates, handler).await {
            Ok(()) => Ok(()),
            Err(Stop::LeaseLost) => {
                tracing::info!(
                    channel = %self.config.channel,
                    "Telegram: another replica took over polling; standing by"
                );
                Err(Step::LeaseLost)
            }
            Err(Stop::Retry(why)) => Err(Step::Backoff(why)),
        }
    }

    async fn handle_batch<H, Fut>(&self, updates: &[Value], handler: &H) -> Result<(), Stop>
    where
        H: Fn(InboundMessage) -> Fut,
        Fut: Future<Output = bool>,
    {
        let channel = self.config.channel.as_str();
        for update in updates {
            let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
                // Without an id it cannot be confirmed on its own; the next one's offset will.
                tracing::warn!(channel, "Telegram: skipped an update without update_id");
                continue;
            };
            match parse_update(update, &self.addressee) {
                Ok(Verdict::Message(message)) => {
                    if !handler(message).await {
                        return Err(Stop::Retry(format!(
                            "update {update_id} could not be recorded; fetching it again"
                        )));
                    }
                }
                Ok(Verdict::Ignore(reason)) => {
                    tracing::debug!(channel, update_id, "Telegram: ignored an update: {reason}");
                }
                Ok(Verdict::Challenge { .. } | Verdict::Added { .. }) => {}
                // As unreadable the next time: confirmed, not fetched forever.
                Err(refusal) => {
                    tracing::warn!(channel, update_id, "Telegram: skipped an update: {refusal}");
                }
            }
            // The last served id + 1, even when lower than the stored offset, as
            // python-telegram-bot's updater sets it (`updates[-1].update_id + 1`). After a
            // week without updates the Bot API server starts its queue at a random id
            // (TDLib's `TQueue::EventId::create_random`, called when a queue is empty), possibly
            // below our offset; it then treats that offset as "in the future" and serves from
            // its head (`Client::do_get_updates` falls back to `get_head`). A cursor that only
            // moved forward asked with the old offset for ever: the same updates, never
            // confirmed, in a tight loop.
            let next = update_id.saturating_add(1);
            match self
                .store
                .move_cursor(
                    &self.consumer,
                    self.holder,
                    next,
                    self.clock.now().timestamp_millis(),
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => return Err(Stop::LeaseLost),
                Err(e) => {
                    return Err(Stop::Retry(format!(
                        "the offset after update {update_id} could not be kept: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    async fn on_error(&self, error: ApiError) -> Step {
        let channel = self.config.channel.as_str();
        match error {
            ApiError::BadToken(detail) => {
                bad_token(channel, &detail);
                Step::Stop
            }
            ApiError::RetryAfter(wait, detail) => {
                tracing::warn!(
                    channel,
                    wait_s = wait.as_secs(),
                    "Telegram asks to slow down ({detail})"
                );
                Step::Wait(wait)
            }
            ApiError::Conflict(detail) if detail.to_ascii_lowercase().contains("webhook") => {
                tracing::warn!(
                    channel,
                    "Telegram: a webhook is set for this bot ({detail}); removing it, since this \
                     channel polls. If a webhook should receive the commands, remove \
                     `polling = true` instead"
                );
                if let Err(e) = self
                    .api
                    .call(
                        "deleteWebhook",
                        json!({"drop_pending_updates": false}),
                        CALL_TIMEOUT,
                    )
                    .await
                {
                    tracing::warn!(channel, "Telegram: deleteWebhook failed: {e}");
                }
                Step::Backoff("getUpdates was refused while a webhook was set".into())
            }
            ApiError::Conflict(detail) => Step::Backoff(format!(
                "another program is polling this bot ({detail}): another weekbell that does not \
                 share this one's database, or another tool with the same bot token. Only one \
                 poller gets the commands; stop the other"
            )),
            ApiError::Failed(why) => Step::Backoff(why),
        }
    }
}

/// What the loop does after one poll.
enum Step {
    Stop,
    LeaseLost,
    Wait(Duration),
    Backoff(String),
}

// ---------------------------------------------------------------------------------------------
// The Bot API.

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Debug)]
enum ApiError {
    /// 401/404: the token is wrong (or `api_base` is not a Bot API server).
    BadToken(String),
    /// 409: a webhook is set, or another `getUpdates` runs.
    Conflict(String),
    RetryAfter(Duration, String),
    /// The network, a 5xx, anything else: worth another try.
    Failed(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::BadToken(d) | ApiError::Conflict(d) | ApiError::Failed(d) => f.write_str(d),
            ApiError::RetryAfter(wait, d) => write!(f, "{d}; retry in {} s", wait.as_secs()),
        }
    }
}

impl Api {
    /// `POST {base}/bot{token}/{method}` with a JSON body; the `result` of an `ok` answer.
    async fn call(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        let url = bot_api::method_url(&self.base, &self.token, method);
        let sent = self
            .client
            .post(url.expose())
            .json(&params)
            .timeout(timeout)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Err(ApiError::Failed(self.transport(method, e))),
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_REPLY_BYTES => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) => {
                    return Err(ApiError::Failed(format!(
                        "{method} answered more than {MAX_REPLY_BYTES} bytes"
                    )));
                }
                Ok(None) => break,
                Err(e) => return Err(ApiError::Failed(self.transport(method, e))),
            }
        }
        self.read(method, status, &body)
    }

    fn read(&self, method: &str, status: u16, body: &[u8]) -> Result<Value, ApiError> {
        let reply: Option<Value> = serde_json::from_slice::<Value>(body)
            .ok()
            .filter(|v| v.get("ok").is_some_and(Value::is_boolean));
        let Some(reply) = reply else {
            let what = format!("{method}: HTTP {status}, not the Bot API's JSON");
            return Err(match status {
                401 | 404 => ApiError::BadToken(format!("{what}; is api_base a Bot API server?")),
                _ => ApiError::Failed(what),
            });
        };
        if reply.get("ok") == Some(&Value::Bool(true)) {
            return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
        }
        let code = reply
            .get("error_code")
            .and_then(Value::as_i64)
            .unwrap_or(i64::from(status));
        let description = self.clean(
            reply
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("no description"),
        );
        let detail = format!("{method}: Telegram {code}: {description}");
        Err(match code {
            401 | 404 => ApiError::BadToken(detail),
            409 => ApiError::Conflict(detail),
            429 => {
                let wait = reply
                    .get("parameters")
                    .and_then(|p| p.get("retry_after"))
                    .and_then(Value::as_u64)
                    .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
                    .min(crate::platforms::MAX_WAIT);
                ApiError::RetryAfter(wait, detail)
            }
            _ => ApiError::Failed(detail),
        })
    }

    /// A transport error in words, without its URL (which holds the token).
    fn transport(&self, method: &str, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return format!("{method} failed: timed out");
        }
        let e = e.without_url();
        let mut parts: Vec<String> = Vec::new();
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = current {
            let text = err.to_string();
            if !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            current = err.source();
        }
        self.clean(&format!("{method} failed: {}", parts.join(": ")))
    }

    /// Peer text fit for a log line: one line, bounded, no token.
    fn clean(&self, text: &str) -> String {
        let text: String = text
            .chars()
            .take(300)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        // The secret half too, for a peer that quotes the URL percent-encoded.
        Redactor::new().hide_credential(&self.token).text(&text)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Api {
        Api {
            client: reqwest::Client::new(),
            base: "http://127.0.0.1:1".into(),
            token: "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw".into(),
        }
    }

    #[test]
    fn replies_are_read_as_the_bot_api_writes_them() {
        let a = api();
        assert_eq!(
            a.read("getUpdates", 200, br#"{"ok":true,"result":[]}"#)
                .ok(),
            Some(json!([]))
        );
        let conflict = br#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}"#;
        assert!(matches!(
            a.read("getUpdates", 409, conflict),
            Err(ApiError::Conflict(d)) if d.contains("only one bot instance")
        ));
        let flood = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert!(matches!(
            a.read("getUpdates", 429, flood),
            Err(ApiError::RetryAfter(d, _)) if d == Duration::from_secs(7)
        ));
        for (status, body) in [
            (
                401,
                &br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#[..],
            ),
            (
                404,
                &br#"{"ok":false,"error_code":404,"description":"Not Found"}"#[..],
            ),
            (404, &b"<html>nginx</html>"[..]),
        ] {
            assert!(
                matches!(a.read("getMe", status, body), Err(ApiError::BadToken(_))),
                "{status}"
            );
        }
        assert!(matches!(
            a.read("getUpdates", 502, b"Bad Gateway"),
            Err(ApiError::Failed(_))
        ));
        assert!(matches!(
            a.read(
                "getUpdates",
                500,
                br#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#
            ),
            Err(ApiError::Failed(_))
        ));
    }

    #[test]
    fn no_error_text_holds_the_token() {
        let a = api();
        let echoed = format!(
            r#"{{"ok":false,"error_code":400,"description":"bad url /bot{}/getUpdates"}}"#,
            a.token
        );
        let Err(e) = a.read("getUpdates", 400, echoed.as_bytes()) else {
            panic!("an error")
        };
        assert!(!e.to_string().contains("AAHdqTcv"), "{e}");
        let encoded = echoed.replace(&a.token, &a.token.replace(':', "%3A"));
        let Err(e) = a.read("getUpdates", 400, encoded.as_bytes()) else {
            panic!("an error")
        };
        assert!(!e.to_string().contains("AAHdqTcv"), "{e}");
    }

    #[tokio::test]
    async fn transport_errors_do_not_show_the_url() {
        let a = api();
        let e = a
            .call("getMe", json!({}), Duration::from_secs(2))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("getMe failed"), "{e}");
        assert!(!e.contains("AAHdqTcv") && !e.contains("/bot"), "{e}");
    }
}

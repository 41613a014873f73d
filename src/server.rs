//! The HTTP server inside `weekbell run` (`[server] listen`): chat commands at
//! `POST /hooks/{channel}`, `GET /healthz` and `GET /metrics`.
//!
//! Every hook request is verified by the channel's platform verifier (`inbound/*`) on the raw
//! body before anything reads it. A refusal is answered with a bare status code — nothing an
//! attacker could learn from — while the log says exactly why. Bodies over 64 KiB are refused
//! unread, and a request that takes longer than [`REQUEST_TIMEOUT`] (a slow client trickling
//! its body) is cut off.
//!
//! Answers go back the way each platform expects: inline in the HTTP response where the
//! platform reads it (Slack slash commands, WeCom's encrypted passive reply, Discord
//! interactions, Mattermost slash commands and outgoing webhooks, Teams' outgoing webhook, a
//! Google Chat app, the JSON API), otherwise through the outbox (DingTalk's session webhook,
//! Feishu's Open API, Slack mentions via the channel's webhook, the parts of a long Discord
//! answer after the first, Telegram's `sendMessage` replying to the command), so they get the
//! same retries as any message. Teams and Google Chat take one message in the response; the
//! further parts of a long answer follow through the channel's webhook.

use crate::chat::{Answer, ChatService, Incoming, SenderRef};
use crate::config::{ChannelConfig, RateLimitSetting};
use crate::daemon::{Shared, TokenBucket};
use crate::inbound::googlechat::{Audience, KeySet};
use crate::inbound::googlechat_keys::{GoogleKeys, KeySource, KeysUnavailable};
use crate::inbound::slack_socket::InlineAnswer;
use crate::inbound::{
    ApiInbound, DingTalkInbound, DiscordInbound, FeishuInbound, GoogleChatInbound, InboundMessage,
    MAX_BODY_BYTES, MattermostInbound, Refusal, ReplyRoute, Request, Sender, SlackInbound,
    TeamsInbound, TelegramInbound, Verdict, WeComInbound, dingtalk, discord, googlechat,
    mattermost, slack,
};
use crate::metrics::{self, Gauge};
use crate::plan::Plan;
use crate::platforms::{
    OutboxPayload, Platform, ReplyVia, WECOM_STREAM_SIZE_LIMIT, session_webhook_refusal,
};
use crate::render::{Dialect, OutboundPart, SizeLimit};
use crate::secret::Secret;
use crate::store::NewMessage;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

mod connections;

/// The longest a request may take, body included. Slack and Teams give up after 3–5 s anyway.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an answer sent through the outbox may wait: after this the asker has moved on
/// (and DingTalk's session webhook, Slack's response URL expire within the hour).
const REPLY_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// What the handlers share.
pub struct ServerState {
    pub plan: watch::Receiver<Arc<Plan>>,
    pub chat: Arc<ChatService>,
    pub shared: Arc<Shared>,
    pub senders: SenderLimits,
    /// Google's signing keys, for Google Chat channels.
    pub google_keys: GoogleKeys,
}

/// Most senders remembered by [`SenderLimits`]. An office has tens to hundreds of people;
/// the cap is what keeps forged senders (any id, under a valid signature) from growing the
/// map without end. A bucket holds about 100 bytes, so the map stays near 1 MB.
const MAX_TRACKED_SENDERS: usize = 10_000;

/// A token bucket per sender (channel and platform user id): `[server] sender_rate_limit`.
///
/// At most [`MAX_TRACKED_SENDERS`] buckets, whatever their state: a new sender past the cap
/// pushes out the one heard from least recently, in constant time. Only a sender silent while
/// ten thousand others spoke loses its bucket, and a fresh one starts full, which is what an
/// idle bucket holds anyway. Keys come from the network, so they are hashed with the
/// standard library's keyed SipHash rather than a fixed-seed hash.
pub struct SenderLimits {
    buckets: std::sync::Mutex<
        hashlink::LruCache<String, TokenBucket, std::collections::hash_map::RandomState>,
    >,
}

impl Default for SenderLimits {
    fn default() -> Self {
        SenderLimits::with_capacity(MAX_TRACKED_SENDERS)
    }
}

impl SenderLimits {
    fn with_capacity(capacity: usize) -> Self {
        SenderLimits {
            buckets: std::sync::Mutex::new(hashlink::LruCache::with_hasher(
                capacity,
                std::collections::hash_map::RandomState::new(),
            )),
        }
    }

    /// Whether `key` may send a command now (and takes a token if so).
    pub fn allow(&self, key: &str, setting: Option<RateLimitSetting>) -> bool {
        let Some(RateLimitSetting::Limit { count, per }) = setting else {
            return true;
        };
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let now = tokio::time::Instant::now();
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.try_take(now).is_zero();
        }
        let mut bucket = TokenBucket::new(count, per);
        let allowed = bucket.try_take(now).is_zero();
        buckets.insert(key.to_string(), bucket);
        allowed
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

/// The routes, for `serve` and for tests that drive the router directly.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/hooks/{channel}", post(hook).get(hook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .layer(axum::middleware::from_fn(with_timeout))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves; requests in flight are finished. The
/// limits on connections (header-read deadline, head size, how many at once) are in
/// [`connections`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connections::connection_cap();
    connections::serve(listener, router(state), cap, shutdown).await
}

/// Refuses a body declared larger than [`MAX_BODY_BYTES`] before any of it is read. Without
/// this the body limit only bites while reading, so a client that declared 100 MB and sent
/// nothing held its request until [`REQUEST_TIMEOUT`] and got 408.
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => {
            tracing::warn!(
                path = %short(request.uri().path()),
                "refused a request unread: its declared body of {n} bytes is over 64 KiB"
            );
            // The channel, and so the platform, is not looked up for a request refused unread.
            metrics::refused("http", "too_large");
            StatusCode::PAYLOAD_TOO_LARGE.into_response()
        }
        _ => next.run(request).await,
    }
}

async fn with_timeout(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request cut off after {}s", REQUEST_TIMEOUT.as_secs());
            StatusCode::REQUEST_TIMEOUT.into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics_page(State(state): State<Arc<ServerState>>) -> Response {
    let mut extra = Vec::new();
    match state.shared.store.outbox_counts().await {
        Ok(c) => {
            for (status, n) in [
                ("pending", c.pending),
                ("sent", c.sent),
                ("dead", c.dead),
                ("dropped", c.dropped),
            ] {
                extra.push(Gauge {
                    name: "weekbell_outbox_messages",
                    help: "Outbox messages by status (pending is the depth).",
                    labels: vec![("status", status.to_string())],
                    value: n as f64,
                });
            }
        }
        Err(e) => tracing::warn!("metrics: cannot read the outbox: {e}"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&extra),
    )
        .into_response()
}

async fn hook(
    State(state): State<Arc<ServerState>>,
    Path(channel_name): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let plan = state.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(&channel_name) else {
        tracing::warn!(channel = %short(&channel_name), "refused a hook: no such channel");
        return StatusCode::NOT_FOUND.into_response();
    };
    let platform = channel.platform;
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                tracing::warn!(channel = %channel.name, %platform, "refused a hook: the body is over 64 KiB");
                metrics::refused(platform.as_str(), "too_large");
            } else {
                tracing::warn!(channel = %channel.name, %platform, "refused a hook: cannot read the body: {}", e.body_text());
                metrics::refused(platform.as_str(), "body");
            }
            return status.into_response();
        }
    };
    let now = state.shared.clock.now();
    let request = Request {
        method: method.as_str(),
        query: query.as_deref().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    let verified = match platform {
        Platform::Googlechat => {
            match verify_google_chat(&state, channel, &request, now.timestamp_millis()).await {
                Ok(verified) => verified,
                Err(e) => {
                    tracing::error!(channel = %channel.name, %platform, "cannot verify a hook: {e}");
                    metrics::refused(platform.as_str(), "no_keys");
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
        _ => verify(channel, &request, now.timestamp_millis()),
    };
    let verified = match verified {
        Ok(verdict) if platform == Platform::Dingtalk => {
            match check_dingtalk(&state, channel, &request, verdict, now.timestamp_millis()).await {
                Ok(checked) => checked,
                Err(e) => {
                    tracing::error!(channel = %channel.name, %platform, "cannot check a hook's signature against the store: {e}");
                    metrics::refused(platform.as_str(), "store");
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            }
        }
        other => other,
    };
    let verdict = match verified {
        Ok(v) => v,
        Err(refusal) => {
            let (status, label) = refusal_status(&refusal);
            tracing::warn!(channel = %channel.name, %platform, "refused a hook: {refusal}");
            metrics::refused(platform.as_str(), label);
            return status.into_response();
        }
    };
    match verdict {
        Verdict::Challenge { content_type, body } => {
            tracing::info!(channel = %channel.name, %platform, "answered the platform's URL verification");
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Verdict::Ignore(reason) => {
            tracing::debug!(channel = %channel.name, %platform, "ignored a hook: {reason}");
            StatusCode::OK.into_response()
        }
        Verdict::Added { reply } => {
            tracing::info!(channel = %channel.name, %platform, "added to a conversation; answered with the command list");
            let lang: crate::commands::Lang = channel.locale.unwrap_or(plan.config.locale).into();
            let parts = text_parts(channel, &crate::commands::help_text(lang), "");
            match parts
                .first()
                .and_then(|p| inline_answer(channel, &reply, p))
            {
                Some(response) => response,
                None => StatusCode::OK.into_response(),
            }
        }
        Verdict::Message(message) => {
            let chat_now = now;
            on_message(&state, &plan, channel, message, chat_now).await
        }
    }
}

/// The channel's verifier, built from its configured inbound credentials.
fn verify(channel: &ChannelConfig, request: &Request<'_>, now_ms: i64) -> Result<Verdict, Refusal> {
    let cred = |key: &str| channel.credentials.get(key).cloned();
    let missing = Refusal::Misconfigured("this channel has no inbound credentials");
    match channel.platform {
        Platform::Slack => SlackInbound::new(cred("signing_secret").ok_or(missing)?)
            .verify_and_parse(request, now_ms),
        Platform::Dingtalk => DingTalkInbound::new(cred("app_secret").ok_or(missing)?)
            .for_app(cred("app_key").as_ref().map_or("", Secret::expose))
            .verify_and_parse(request, now_ms),
        Platform::Feishu => FeishuInbound {
            verification_token: cred("verification_token"),
            encrypt_key: cred("encrypt_key"),
        }
        .verify_and_parse(request, now_ms),
        Platform::Wecom => wecom(channel)
            .ok_or(missing)?
            .verify_and_parse(request, now_ms),
        Platform::Webhook => {
            ApiInbound::new(cred("token").ok_or(missing)?).verify_and_parse(request, now_ms)
        }
        Platform::Discord => DiscordInbound::new(cred("public_key").ok_or(missing)?)
            .verify_and_parse(request, now_ms),
        Platform::Mattermost => {
            MattermostInbound::new(cred("token").ok_or(missing)?).verify_and_parse(request, now_ms)
        }
        Platform::Telegram => TelegramInbound::for_channel(channel)
            .ok_or(missing)?
            .verify_and_parse(request, now_ms),
        Platform::Teams => TeamsInbound::new(cred("security_token").ok_or(missing)?)
            .verify_and_parse(request, now_ms),
        _ => Err(Refusal::Misconfigured(
            "this platform takes no commands in this version",
        )),
    }
}

/// What a DingTalk callback's signature cannot show, since it covers only the timestamp: that
/// the answer goes to DingTalk (the body names the `sessionWebhook`), and that the header pair
/// was not lifted from another message (it is bound to the first body it came with, in the
/// store, so every replica refuses the pair with another body). `Err` when the store fails.
async fn check_dingtalk(
    state: &ServerState,
    channel: &ChannelConfig,
    request: &Request<'_>,
    verdict: Verdict,
    now_ms: i64,
) -> Result<Result<Verdict, Refusal>, crate::store::StoreError> {
    if let Verdict::Message(InboundMessage {
        reply:
            ReplyRoute::DingTalk {
                session_webhook: Some(url),
                ..
            },
        ..
    }) = &verdict
        && let Some(why) = session_webhook_refusal(url.expose(), channel.api_base())
    {
        return Ok(Err(Refusal::Malformed(why)));
    }
    let Some(used) = dingtalk::SignatureUse::of(request) else {
        return Ok(Err(Refusal::MissingHeader(dingtalk::SIGN_HEADER)));
    };
    let first_body = state
        .shared
        .store
        .bind_signature(
            &channel.name,
            &used.signature,
            &used.body_sha256,
            now_ms,
            now_ms.saturating_sub(dingtalk::SIGNATURE_MEMORY_MS),
        )
        .await?;
    Ok(used.check(&first_body).map(|()| verdict))
}

/// Google Chat's verifier needs Google's keys, which the daemon fetches and caches; a request
/// that is not even a POST with a readable token fetches nothing (the verifier then says what
/// is wrong with it). `Err` when no keys can be had at all.
async fn verify_google_chat(
    state: &ServerState,
    channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Result<Verdict, Refusal>, KeysUnavailable> {
    let Some(audience) = channel
        .options
        .get("audience")
        .and_then(|a| Audience::parse(a))
    else {
        return Ok(Err(Refusal::Misconfigured(
            "a Google Chat channel takes commands only with `audience` set",
        )));
    };
    let kid = request
        .method
        .eq_ignore_ascii_case("POST")
        .then(|| googlechat::token_key_id(request))
        .flatten();
    let keys = match kid {
        Some(kid) => {
            let source = KeySource::for_channel(channel, &audience);
            state.google_keys.get(&source, Some(&kid)).await?
        }
        None => Arc::new(KeySet::default()),
    };
    let inbound = GoogleChatInbound {
        audience,
        service_account: channel
            .options
            .get("service_account")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    };
    Ok(inbound.verify_and_parse(request, now_ms, &keys))
}

fn wecom(channel: &ChannelConfig) -> Option<WeComInbound> {
    Some(WeComInbound {
        token: channel.credentials.get("token")?.clone(),
        encoding_aes_key: channel.credentials.get("encoding_aes_key")?.clone(),
        // The AI bot encrypts for an empty receive id; not checking it accepts either.
        receive_id: None,
    })
}

/// The answer to the peer carries no detail; the label is for the metrics.
fn refusal_status(refusal: &Refusal) -> (StatusCode, &'static str) {
    match refusal {
        Refusal::Misconfigured(_) => (StatusCode::NOT_FOUND, "not_configured"),
        Refusal::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method"),
        Refusal::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Refusal::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        Refusal::StaleTimestamp { .. } => (StatusCode::UNAUTHORIZED, "stale"),
        Refusal::MissingHeader(_) | Refusal::MissingParam(_) => {
            (StatusCode::UNAUTHORIZED, "missing_credentials")
        }
        Refusal::BadSignature
        | Refusal::BadToken
        | Refusal::BadCiphertext(_)
        | Refusal::WrongReceiver => (StatusCode::UNAUTHORIZED, "bad_signature"),
        Refusal::ForAnotherApp(_) => (StatusCode::UNAUTHORIZED, "other_app"),
        Refusal::ReplayedSignature => (StatusCode::UNAUTHORIZED, "replayed"),
        Refusal::TokenRejected(_) => (StatusCode::UNAUTHORIZED, "bad_token"),
        // One status and one label: `/metrics` is as public as the status code.
        Refusal::Unsigned(_) => (StatusCode::UNAUTHORIZED, "unsigned"),
    }
}

/// A message that arrived over an outbound WebSocket (DingTalk Stream mode, a Slack Socket
/// Mode event, Feishu's long connection): run it and queue the answer as for the HTTP
/// callback (DingTalk's session webhook, the channel's webhook, Feishu's Open API). There is no
/// HTTP response to answer in.
pub async fn on_stream_message(state: &ServerState, channel_name: &str, message: InboundMessage) {
    let plan = state.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a message over a socket for a channel no longer in the config"
        );
        return;
    };
    let now = state.shared.clock.now();
    let response = on_message(state, &plan, channel, message, now).await;
    if !response.status().is_success() {
        tracing::warn!(channel = channel_name, status = %response.status(), "a command that came over a socket was not answered");
    }
}

/// A message fetched by Telegram long polling: run it and queue the answer, as for the
/// webhook. `false` when it could not be recorded (the store is unreachable): the poller then
/// does not confirm the update, and Telegram hands it out again.
pub async fn on_polled_message(
    state: &ServerState,
    channel_name: &str,
    message: InboundMessage,
) -> bool {
    let plan = state.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a polled message for a channel no longer in the config; not run"
        );
        return true;
    };
    let now = state.shared.clock.now();
    let response = on_message(state, &plan, channel, message, now).await;
    response.status().is_success()
}

/// What running one command came to.
enum Ran {
    /// The sender is over `[server] sender_rate_limit`: nothing was run; the text says so.
    Limited(String),
    /// The store failed; the platform's retry is safe (the dedupe).
    Failed,
    Answered(Answer),
}

async fn run_command(
    state: &ServerState,
    plan: &Arc<Plan>,
    channel: &ChannelConfig,
    message: &InboundMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> Ran {
    let (sender, source) = match &message.sender {
        Sender::Api { person_id } => (SenderRef::Person(person_id), "api"),
        other => (
            SenderRef::Handles {
                platform: channel.platform,
                ids: other.ids(),
            },
            "chat",
        ),
    };
    let sender_key = format!("{}:{}", channel.name, message.sender.ids().join("|"));
    if !state
        .senders
        .allow(&sender_key, plan.config.sender_rate_limit)
    {
        tracing::warn!(channel = %channel.name, "a sender is over [server] sender_rate_limit; command not run");
        metrics::command("rate_limited", "refused");
        let lang: crate::commands::Lang = channel.locale.unwrap_or(plan.config.locale).into();
        return Ran::Limited(crate::commands::too_many(lang));
    }
    let incoming = Incoming {
        channel: Some(&channel.name),
        sender,
        message_id: Some(&message.message_id),
        text: &message.text,
        source,
    };
    let answer = match state.chat.handle(plan, &incoming, now).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(channel = %channel.name, "cannot run a command: {e}");
            return Ran::Failed;
        }
    };
    tracing::info!(
        channel = %channel.name,
        person = answer.person.as_deref().unwrap_or("(unrecognised)"),
        command = answer.command,
        recorded = answer.recorded,
        retry = message.retry,
        "command"
    );
    Ran::Answered(answer)
}

/// A Slack slash command's answer as Slack shows it: mrkdwn, to the whole channel.
fn slack_answer(answer: &Answer) -> serde_json::Value {
    let text = match &answer.digest {
        Some(_) => answer.text.clone(),
        None => slack::escape(&answer.text),
    };
    slack::command_answer(&text)
}

/// A slash command that arrived over Slack Socket Mode: the answer goes into the envelope's
/// ack through `inline`; if the ack has already left without it (the command took longer than
/// the client waits), it is posted through the channel's webhook instead.
pub async fn on_socket_command(
    state: &ServerState,
    channel_name: &str,
    message: InboundMessage,
    inline: InlineAnswer,
) {
    let plan = state.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a Socket Mode command for a channel no longer in the config"
        );
        return;
    };
    let now = state.shared.clock.now();
    match run_command(state, &plan, channel, &message, now).await {
        // Answered where it is free; never queued, which would carry a flood into the channel.
        Ran::Limited(text) => {
            let _ = inline.send(slack::command_answer(&slack::escape(&text)));
        }
        Ran::Failed => {}
        Ran::Answered(answer) => {
            if inline.send(slack_answer(&answer)).is_err() {
                let response = enqueue(state, channel, &message, &answer, None, now).await;
                if !response.status().is_success() {
                    tracing::warn!(
                        channel = channel_name,
                        "a slow Socket Mode command was not answered"
                    );
                }
            }
        }
    }
}

async fn on_message(
    state: &ServerState,
    plan: &Arc<Plan>,
    channel: &ChannelConfig,
    message: InboundMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let answer = match run_command(state, plan, channel, &message, now).await {
        Ran::Answered(answer) => answer,
        // The platform retries on a 5xx; the dedupe makes that safe.
        Ran::Failed => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        // Answer where the answer is free (inline); queueing one per flooded message would
        // carry the flood into the group.
        Ran::Limited(text) => {
            let inline = text_parts(channel, &text, "")
                .first()
                .and_then(|p| inline_answer(channel, &message.reply, p));
            if let Some(response) = inline {
                return response;
            }
            let escaped = || channel.dialect().escape(&text);
            return match &message.reply {
                ReplyRoute::SlackCommand { .. } => {
                    Json(slack::command_answer(&slack::escape(&text))).into_response()
                }
                ReplyRoute::Discord { .. } => {
                    Json(discord::command_answer(&escaped(), true)).into_response()
                }
                ReplyRoute::MattermostCommand { .. } => {
                    Json(mattermost::command_answer(&[escaped()], true)).into_response()
                }
                ReplyRoute::MattermostPost { .. } => {
                    Json(mattermost::post_answer(&escaped())).into_response()
                }
                ReplyRoute::Inline => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "reply": text, "command": "rate_limited", "recorded": 0 })),
                )
                    .into_response(),
                _ => Json(json!({})).into_response(),
            };
        }
    };
    match &message.reply {
        ReplyRoute::SlackCommand { .. } => Json(slack_answer(&answer)).into_response(),
        ReplyRoute::Inline => Json(json!({
            "reply": answer.text,
            "command": answer.command,
            "recorded": answer.recorded,
        }))
        .into_response(),
        ReplyRoute::WeCom { .. } => {
            wecom_passive_reply(state, channel, &message, &answer, now).await
        }
        ReplyRoute::Discord {
            application_id,
            token,
        } => {
            let mut parts = reply_parts(channel, &answer).into_iter();
            let ephemeral = is_personal(&answer);
            let first = parts.next().map(|p| p.text).unwrap_or_default();
            let rest: Vec<OutboundPart> = parts.collect();
            if !rest.is_empty() {
                let via = ReplyVia::DiscordFollowup {
                    application_id: application_id.clone(),
                    token: token.expose().to_string(),
                    ephemeral,
                };
                // The first part answers the interaction whatever happens to the rest; a part
                // that cannot be queued is logged and the asker can run the command again.
                if queue(state, channel, &message, rest, Some(via), now)
                    .await
                    .is_err()
                {
                    tracing::warn!(channel = %channel.name, "the rest of a Discord answer was not queued");
                }
            }
            Json(discord::command_answer(&first, ephemeral)).into_response()
        }
        ReplyRoute::MattermostCommand { .. } => {
            let parts: Vec<String> = reply_parts(channel, &answer)
                .into_iter()
                .map(|p| p.text)
                .collect();
            Json(mattermost::command_answer(&parts, is_personal(&answer))).into_response()
        }
        ReplyRoute::MattermostPost { .. } => {
            let parts: Vec<String> = reply_parts(channel, &answer)
                .into_iter()
                .map(|p| p.text)
                .collect();
            Json(mattermost::post_answer(&parts.join("\n\n"))).into_response()
        }
        ReplyRoute::Teams | ReplyRoute::GoogleChat { .. } => {
            let mut parts = reply_parts(channel, &answer);
            let rest = parts.split_off(parts.len().min(1));
            if !rest.is_empty()
                && let Err(response) = queue(state, channel, &message, rest, None, now).await
            {
                return response;
            }
            parts
                .first()
                .and_then(|p| inline_answer(channel, &message.reply, p))
                .unwrap_or_else(|| StatusCode::OK.into_response())
        }
        ReplyRoute::SlackChannel { .. } => {
            enqueue(state, channel, &message, &answer, None, now).await
        }
        ReplyRoute::DingTalk {
            session_webhook,
            session_webhook_expires_at_ms,
            ..
        } => {
            // Callbacks were checked before they ran (`check_dingtalk`); this catches Stream
            // mode's messages, which come over the authenticated socket with no check of their
            // own.
            if let Some(why) = session_webhook
                .as_ref()
                .and_then(|url| session_webhook_refusal(url.expose(), channel.api_base()))
            {
                tracing::warn!(channel = %channel.name, "not answering a command: {why}");
                return Json(json!({})).into_response();
            }
            let usable = session_webhook.as_ref().filter(|_| {
                session_webhook_expires_at_ms.is_none_or(|t| t > now.timestamp_millis() + 60_000)
            });
            let via = usable.map(|url| ReplyVia::SessionWebhook {
                url: url.expose().to_string(),
            });
            enqueue(state, channel, &message, &answer, via, now).await
        }
        ReplyRoute::Feishu { message_id, .. } => {
            let via = ReplyVia::FeishuMessage {
                message_id: message_id.clone(),
            };
            enqueue(state, channel, &message, &answer, Some(via), now).await
        }
        ReplyRoute::Telegram {
            chat_id,
            message_id,
            message_thread_id,
        } => {
            let via = ReplyVia::TelegramMessage {
                chat_id: *chat_id,
                message_id: *message_id,
                message_thread_id: *message_thread_id,
            };
            enqueue(state, channel, &message, &answer, Some(via), now).await
        }
    }
}

/// Whether an answer is for the asker alone where the platform can say so (Discord's
/// ephemeral messages, Mattermost's ephemeral responses): help, lookups (`list`), mistakes and
/// refusals to strangers. Changes and the digest are for the whole channel, as on Slack.
fn is_personal(answer: &Answer) -> bool {
    matches!(
        answer.command,
        "help" | "list" | "usage" | "unknown" | "unrecognised"
    )
}

/// The answer as message parts in the channel's markup: a digest as rendered, a text answer
/// escaped line by line (its line breaks are the layout) and split to the channel's size limit
/// like any message.
fn reply_parts(channel: &ChannelConfig, answer: &Answer) -> Vec<OutboundPart> {
    match &answer.digest {
        Some(parts) => parts.clone(),
        None => text_parts(channel, &answer.text, "weekbell"),
    }
}

/// Plain `text` as one part in the channel's markup. A Teams card shows the title as its
/// heading, so answers there go without one.
fn text_parts(channel: &ChannelConfig, text: &str, title: &str) -> Vec<OutboundPart> {
    let dialect: Dialect = channel.dialect();
    let title = if channel.platform == Platform::Teams {
        ""
    } else {
        title
    };
    let limit = channel
        .platform
        .size_limit_in(dialect)
        .map(|l| channel.max_message_size.map_or(l, |n| l.with_value(n)));
    text_parts_in(dialect, limit, text, title)
}

/// Plain `text` escaped line by line for `dialect` and split to `limit`.
fn text_parts_in(
    dialect: Dialect,
    limit: Option<SizeLimit>,
    text: &str,
    title: &str,
) -> Vec<OutboundPart> {
    let lines: Vec<String> = text.lines().map(|l| dialect.escape(l)).collect();
    let text = dialect.finish(&lines.join("\n")).into_owned();
    let texts =
        crate::render::split::split_with(&text, limit, &[], &|i, n| dialect.part_prefix(i, n));
    let parts = texts.len();
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| OutboundPart {
            title: title.into(),
            text,
            mentions: Vec::new(),
            part: i + 1,
            parts,
        })
        .collect()
}

/// The answer in the HTTP response, for the routes whose platform reads it there.
fn inline_answer(
    channel: &ChannelConfig,
    route: &ReplyRoute,
    part: &OutboundPart,
) -> Option<Response> {
    match route {
        ReplyRoute::Teams => Some(Json(channel.platform.request_body(part)).into_response()),
        ReplyRoute::GoogleChat { addon } => {
            Some(Json(googlechat::reply_body(&part.text, *addon)).into_response())
        }
        _ => None,
    }
}

async fn enqueue(
    state: &ServerState,
    channel: &ChannelConfig,
    message: &InboundMessage,
    answer: &Answer,
    via: Option<ReplyVia>,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    match queue(
        state,
        channel,
        message,
        reply_parts(channel, answer),
        via,
        now,
    )
    .await
    {
        // DingTalk and Feishu read nothing from the answer; `{}` is a valid JSON ack.
        Ok(()) => Json(json!({})).into_response(),
        Err(response) => response,
    }
}

/// Writes `parts` to the outbox for `via` (the channel's webhook when `None`); `Err` is the
/// answer to give the platform when that fails.
async fn queue(
    state: &ServerState,
    channel: &ChannelConfig,
    message: &InboundMessage,
    parts: Vec<OutboundPart>,
    via: Option<ReplyVia>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Response> {
    let now_ms = now.timestamp_millis();
    let key = format!("reply:{}:{}", channel.name, message.message_id);
    let deadline = now_ms + i64::try_from(REPLY_DEADLINE.as_millis()).unwrap_or(i64::MAX / 2);
    let messages: Vec<NewMessage> = parts
        .into_iter()
        .filter_map(|part| {
            // Part n is `{key}/{n-1}`, wherever its first part went.
            let i = part.part.saturating_sub(1);
            let payload = serde_json::to_string(&OutboxPayload {
                part,
                reply_via: via.clone(),
            })
            .ok()?;
            Some(NewMessage {
                id: format!("{key}/{i}"),
                slot_key: key.clone(),
                channel: channel.name.clone(),
                platform: channel.platform.as_str().to_string(),
                ord: now_ms.saturating_mul(10_000).saturating_add(i as i64),
                payload,
                late: false,
                deadline_ms: deadline,
                created_ms: now_ms,
            })
        })
        .collect();
    match state.shared.store.enqueue_reply(&messages).await {
        Ok(_) => {
            state.shared.wake_delivery();
            Ok(())
        }
        Err(e) => {
            tracing::error!(channel = %channel.name, "cannot queue the answer to a command: {e}");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

/// WeCom's AI bot takes the answer in the response, encrypted: a finished `stream` message in
/// WeCom markdown, escaped like every other answer (a task title with a link or `<@all>` is
/// shown, not followed). As many parts as fit in the stream's 20,480 bytes go there; the rest
/// of a longer answer follows through the channel's webhook, as for Teams and Google Chat.
async fn wecom_passive_reply(
    state: &ServerState,
    channel: &ChannelConfig,
    message: &InboundMessage,
    answer: &Answer,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let Some(bot) = wecom(channel) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let stream_limit = WECOM_STREAM_SIZE_LIMIT.value();
    let parts = match &answer.digest {
        Some(parts) => parts.clone(),
        None => {
            let limit = Platform::Wecom
                .size_limit_in(Dialect::WeComMarkdown)
                .map(|l| channel.max_message_size.map_or(l, |n| l.with_value(n)));
            text_parts_in(Dialect::WeComMarkdown, limit, &answer.text, "weekbell")
        }
    };
    let mut content = String::new();
    let mut rest = parts.into_iter().peekable();
    while let Some(part) = rest.peek() {
        let joined = if content.is_empty() {
            part.text.len()
        } else {
            content.len() + 2 + part.text.len()
        };
        if joined > stream_limit {
            break;
        }
        if !content.is_empty() {
            content.push_str("\n\n");
        }
        content.push_str(&part.text);
        rest.next();
    }
    let rest: Vec<OutboundPart> = rest.collect();
    if content.is_empty() {
        // A part larger than the stream (a `max_message_size` above it): the stream shows its
        // start and the whole part follows through the webhook.
        let first = rest.first().map(|p| p.text.as_str()).unwrap_or_default();
        let mut end = stream_limit.min(first.len());
        while !first.is_char_boundary(end) {
            end -= 1;
        }
        content = first[..end].to_string();
    }
    if !rest.is_empty()
        && let Err(response) = queue(state, channel, message, rest, None, now).await
    {
        return response;
    }
    match bot.stream_reply(&message.message_id, &content, now.timestamp()) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(channel = %channel.name, "cannot encrypt the WeCom reply: {e}");
            StatusCode::OK.into_response()
        }
    }
}

/// A path segment fit for a log line: short, printable.
fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod sender_limit_tests {
    use super::*;

    fn twice_a_minute() -> Option<RateLimitSetting> {
        Some(RateLimitSetting::Limit {
            count: 2,
            per: Duration::from_secs(60),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_million_forged_senders_keep_the_map_at_its_cap() {
        let limits = SenderLimits::default();
        for n in 0..1_000_000u32 {
            // Each forged sender spends a token, so no bucket is ever idle: the cap must
            // hold all the same.
            assert!(limits.allow(&format!("dingtalk:forged-{n}"), twice_a_minute()));
        }
        assert_eq!(limits.tracked(), MAX_TRACKED_SENDERS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sender_heard_from_recently_keeps_its_limit_past_the_cap() {
        let limits = SenderLimits::with_capacity(3);
        assert!(limits.allow("alice", twice_a_minute()));
        assert!(limits.allow("alice", twice_a_minute()));
        for n in 0..2 {
            assert!(limits.allow(&format!("forged-{n}"), twice_a_minute()));
        }
        // Alice is still remembered (two others fit beside her) and still over her limit.
        assert!(!limits.allow("alice", twice_a_minute()));
        for n in 2..5 {
            assert!(limits.allow(&format!("forged-{n}"), twice_a_minute()));
        }
        assert_eq!(limits.tracked(), 3);
        // Three newer senders pushed her out: she starts again with a full bucket.
        assert!(limits.allow("alice", twice_a_minute()));
    }
}

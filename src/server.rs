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

use crate::chat::inbox::{self, CommandReply, Inbox};
use crate::config::{Audience, ChannelConfig, PlatformSettings};
use crate::inbound::googlechat::KeySet;
use crate::inbound::googlechat_keys::{GoogleKeys, KeySource, KeysUnavailable};
use crate::inbound::{
    GoogleChatInbound, InboundMessage, MAX_BODY_BYTES, Refusal, ReplyRoute, Request, Verdict,
    dingtalk, googlechat,
};
use crate::metrics::{self, Gauge};
use crate::platforms::session_webhook_refusal;
use crate::types::Platform;
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

mod connections;

/// The longest a request may take, body included. Slack and Teams give up after 3–5 s anyway.
/// What a peer may make us hold; how long we wait on a platform is
/// [`SEND_TIMEOUT`](crate::platforms::SEND_TIMEOUT), the same 10 s today for other reasons.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share: the command path, and Google's signing keys for Google Chat
/// channels.
pub struct ServerState {
    pub inbox: Arc<Inbox>,
    pub google_keys: GoogleKeys,
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
    match state.inbox.shared.store.outbox_counts().await {
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
    let plan = state.inbox.plan.borrow().clone();
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
    let now = state.inbox.shared.clock.now();
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
        _ => crate::inbound::verify(channel, &request, now.timestamp_millis()),
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
            http_reply(inbox::greeting(&plan, channel, &reply))
        }
        Verdict::Message(message) => {
            http_reply(inbox::on_message(&state.inbox, &plan, channel, message, now).await)
        }
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
        .inbox
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
    let PlatformSettings::Googlechat(app) = &channel.settings else {
        return Ok(Err(Refusal::Misconfigured(
            "this channel is not a Google Chat channel",
        )));
    };
    let Some(audience) = app.audience.as_deref().and_then(Audience::parse) else {
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
        service_account: app
            .service_account
            .as_deref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    };
    Ok(inbound.verify_and_parse(request, now_ms, &keys))
}

/// The command path's reply as the platform reads it in the response.
fn http_reply(reply: CommandReply) -> Response {
    match reply {
        CommandReply::Inline(body) => Json(body).into_response(),
        CommandReply::InlineRaw(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        // DingTalk and Feishu read nothing from the answer; `{}` is a valid JSON ack.
        CommandReply::Queued => Json(json!({})).into_response(),
        CommandReply::Nothing => StatusCode::OK.into_response(),
        CommandReply::Limited(body) => (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response(),
        // The platform retries on a 5xx; the dedupe makes that safe.
        CommandReply::Failed => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        CommandReply::NotConfigured => StatusCode::NOT_FOUND.into_response(),
    }
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

/// A path segment fit for a log line: short, printable.
fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

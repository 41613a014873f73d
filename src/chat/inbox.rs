//! The command path: one message from any chat, run and answered the way its platform
//! expects. It knows nothing of HTTP: it says what the answer is ([`CommandReply`]), and the
//! HTTP server, the socket clients and the long poller each deliver that in their own way.
//!
//! Answers go back inline where the platform reads them in the response (Slack slash
//! commands, WeCom's encrypted passive reply, Discord interactions, Mattermost slash commands
//! and outgoing webhooks, Teams' outgoing webhook, a Google Chat app, the JSON API), otherwise
//! through the outbox (DingTalk's session webhook, Feishu's Open API, Slack mentions via the
//! channel's webhook, the parts of a long Discord answer after the first, Telegram's
//! `sendMessage` replying to the command), so they get the same retries as any message. Teams
//! and Google Chat take one message in the response; the further parts of a long answer follow
//! through the channel's webhook.

use super::{Answer, ChatService, Incoming, SenderRef};
use crate::config::{ChannelConfig, RateLimitSetting};
use crate::inbound::slack_socket::InlineAnswer;
use crate::inbound::{
    InboundMessage, ReplyRoute, Sender, WeComInbound, discord, googlechat, mattermost, slack,
};
use crate::metrics;
use crate::plan::Plan;
use crate::platforms::{ReplyVia, WECOM_STREAM_SIZE_LIMIT, session_webhook_refusal};
use crate::ratelimit::TokenBucket;
use crate::shared::Shared;
use crate::types::{Dialect, OutboundPart, Platform, SizeLimit};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::watch;

/// What became of one command, for whoever must answer the platform: the HTTP server turns it
/// into a response, a socket client or the poller into an ack (or none).
#[derive(Debug, Clone, PartialEq)]
pub enum CommandReply {
    /// The answer itself, as the JSON body the platform reads from the response.
    Inline(Value),
    /// The same, already serialized (WeCom's encrypted stream reply).
    InlineRaw(Vec<u8>),
    /// The answer went to the outbox (or nowhere): the platform only needs an ack, `{}`.
    Queued,
    /// Nothing to answer: an empty 200.
    Nothing,
    /// The JSON API's sender is over `[server] sender_rate_limit`: the answer, with 429.
    Limited(Value),
    /// The store failed: nothing was recorded, and the platform's retry is safe (503).
    Failed,
    /// The channel cannot answer this way (a WeCom channel without its bot's keys): 404.
    NotConfigured,
}

impl CommandReply {
    /// Whether the command was taken: the platform need not send it again.
    pub fn is_success(&self) -> bool {
        !matches!(
            self,
            CommandReply::Failed | CommandReply::NotConfigured | CommandReply::Limited(_)
        )
    }
}

/// What the command path needs, whichever way a command arrives (an HTTP hook, a socket,
/// long polling): the plan as it now stands, the chat service, the store and clock shared
/// with delivery, and the per-sender rate limits.
pub struct Inbox {
    pub plan: watch::Receiver<Arc<Plan>>,
    pub chat: Arc<ChatService>,
    pub shared: Arc<Shared>,
    pub senders: SenderLimits,
    /// Looks an unknown sender up once before they are refused.
    pub directory: Arc<super::directory::Resolver>,
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

/// A message that arrived over an outbound WebSocket (DingTalk Stream mode, a Slack Socket
/// Mode event, Feishu's long connection): run it and queue the answer as for the HTTP
/// callback (DingTalk's session webhook, the channel's webhook, Feishu's Open API). There is no
/// HTTP response to answer in.
pub async fn on_stream_message(inbox: &Inbox, channel_name: &str, message: InboundMessage) {
    let plan = inbox.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a message over a socket for a channel no longer in the config"
        );
        return;
    };
    let now = inbox.shared.clock.now();
    let reply = on_message(inbox, &plan, channel, message, now).await;
    if !reply.is_success() {
        tracing::warn!(
            channel = channel_name,
            ?reply,
            "a command that came over a socket was not answered"
        );
    }
}

/// A message fetched by Telegram long polling: run it and queue the answer, as for the
/// webhook. `false` when it could not be recorded (the store is unreachable): the poller then
/// does not confirm the update, and Telegram hands it out again.
pub async fn on_polled_message(inbox: &Inbox, channel_name: &str, message: InboundMessage) -> bool {
    let plan = inbox.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a polled message for a channel no longer in the config; not run"
        );
        return true;
    };
    let now = inbox.shared.clock.now();
    on_message(inbox, &plan, channel, message, now)
        .await
        .is_success()
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
    inbox: &Inbox,
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
    if !inbox
        .senders
        .allow(&sender_key, plan.config.sender_rate_limit)
    {
        tracing::warn!(channel = %channel.name, "a sender is over [server] sender_rate_limit; command not run");
        metrics::command("rate_limited", "refused");
        let lang: crate::commands::Lang = channel.locale.unwrap_or(plan.config.locale).into();
        return Ran::Limited(crate::commands::too_many(lang));
    }
    // A sender nobody is known by may be someone whose mobile or email the config gives:
    // ask the platform once before refusing them.
    let identified: Option<String>;
    let sender = match sender {
        SenderRef::Handles { platform, ids } if !super::knows(plan, platform, &ids) => {
            let store = &inbox.shared.store;
            identified = match inbox
                .directory
                .identify(plan, store, channel, &ids, now)
                .await
            {
                Ok(person) => person,
                Err(e) => {
                    tracing::warn!(channel = %channel.name, "cannot look an unknown sender up: {e}");
                    None
                }
            };
            match &identified {
                Some(person) => SenderRef::Person(person),
                None => SenderRef::Handles { platform, ids },
            }
        }
        other => other,
    };
    let incoming = Incoming {
        channel: Some(&channel.name),
        sender,
        message_id: Some(&message.message_id),
        text: &message.text,
        source,
    };
    let answer = match inbox.chat.handle(plan, &incoming, now).await {
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
    if answer.notices_queued > 0 {
        inbox.shared.wake_delivery();
    }
    Ran::Answered(answer)
}

/// A Slack slash command's answer as Slack shows it: mrkdwn, to the whole channel.
fn slack_answer(answer: &Answer) -> serde_json::Value {
    let text = match &answer.digest {
        Some(_) => answer.text.clone(),
        None => slack::escape(&answer.text),
    };
    slack::command_answer(&text, answer.private)
}

/// A slash command that arrived over Slack Socket Mode: the answer goes into the envelope's
/// ack through `inline`; if the ack has already left without it (the command took longer than
/// the client waits), it is posted through the channel's webhook instead.
pub async fn on_socket_command(
    inbox: &Inbox,
    channel_name: &str,
    message: InboundMessage,
    inline: InlineAnswer,
) {
    let plan = inbox.plan.borrow().clone();
    let Some(channel) = plan.config.channels.get(channel_name) else {
        tracing::warn!(
            channel = channel_name,
            "a Socket Mode command for a channel no longer in the config"
        );
        return;
    };
    let now = inbox.shared.clock.now();
    match run_command(inbox, &plan, channel, &message, now).await {
        // Answered where it is free; never queued, which would carry a flood into the channel.
        Ran::Limited(text) => {
            let _ = inline.send(slack::command_answer(&slack::escape(&text), true));
        }
        Ran::Failed => {}
        Ran::Answered(answer) => {
            if inline.send(slack_answer(&answer)).is_err() {
                let reply = enqueue(inbox, channel, &message, &answer, None, now).await;
                if !reply.is_success() {
                    tracing::warn!(
                        channel = channel_name,
                        "a slow Socket Mode command was not answered"
                    );
                }
            }
        }
    }
}

/// Runs `message` from `channel` and says how to answer it.
pub async fn on_message(
    inbox: &Inbox,
    plan: &Arc<Plan>,
    channel: &ChannelConfig,
    message: InboundMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> CommandReply {
    let answer = match run_command(inbox, plan, channel, &message, now).await {
        Ran::Answered(answer) => answer,
        // The platform retries on a 5xx; the dedupe makes that safe.
        Ran::Failed => return CommandReply::Failed,
        // Answer where the answer is free (inline); queueing one per flooded message would
        // carry the flood into the group.
        Ran::Limited(text) => {
            let inline = text_parts(channel, &text, "")
                .first()
                .and_then(|p| inline_answer(channel, &message.reply, p));
            if let Some(reply) = inline {
                return reply;
            }
            let escaped = || channel.dialect().escape(&text);
            return match &message.reply {
                ReplyRoute::SlackCommand { .. } => {
                    CommandReply::Inline(slack::command_answer(&slack::escape(&text), true))
                }
                ReplyRoute::Discord { .. } => {
                    CommandReply::Inline(discord::command_answer(&escaped(), true))
                }
                ReplyRoute::MattermostCommand { .. } => {
                    CommandReply::Inline(mattermost::command_answer(&[escaped()], true))
                }
                ReplyRoute::MattermostPost { .. } => {
                    CommandReply::Inline(mattermost::post_answer(&escaped()))
                }
                ReplyRoute::Inline => CommandReply::Limited(
                    json!({ "reply": text, "command": "rate_limited", "recorded": 0 }),
                ),
                _ => CommandReply::Queued,
            };
        }
    };
    match &message.reply {
        ReplyRoute::SlackCommand { .. } => CommandReply::Inline(slack_answer(&answer)),
        ReplyRoute::Inline => CommandReply::Inline(json!({
            "reply": answer.text,
            "command": answer.command,
            "recorded": answer.recorded,
        })),
        ReplyRoute::WeCom { .. } => {
            wecom_passive_reply(inbox, channel, &message, &answer, now).await
        }
        ReplyRoute::Discord {
            application_id,
            token,
        } => {
            let mut parts = reply_parts(channel, &answer).into_iter();
            let ephemeral = answer.private;
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
                if queue(inbox, channel, &message, rest, Some(via), now)
                    .await
                    .is_err()
                {
                    tracing::warn!(channel = %channel.name, "the rest of a Discord answer was not queued");
                }
            }
            CommandReply::Inline(discord::command_answer(&first, ephemeral))
        }
        ReplyRoute::MattermostCommand { .. } => {
            let parts: Vec<String> = reply_parts(channel, &answer)
                .into_iter()
                .map(|p| p.text)
                .collect();
            CommandReply::Inline(mattermost::command_answer(&parts, answer.private))
        }
        ReplyRoute::MattermostPost { .. } => {
            let parts: Vec<String> = reply_parts(channel, &answer)
                .into_iter()
                .map(|p| p.text)
                .collect();
            CommandReply::Inline(mattermost::post_answer(&parts.join("\n\n")))
        }
        ReplyRoute::Teams | ReplyRoute::GoogleChat { .. } => {
            let mut parts = reply_parts(channel, &answer);
            let rest = parts.split_off(parts.len().min(1));
            if !rest.is_empty()
                && let Err(failed) = queue(inbox, channel, &message, rest, None, now).await
            {
                return failed;
            }
            parts
                .first()
                .and_then(|p| inline_answer(channel, &message.reply, p))
                .unwrap_or(CommandReply::Nothing)
        }
        ReplyRoute::SlackChannel { .. } => {
            enqueue(inbox, channel, &message, &answer, None, now).await
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
                return CommandReply::Queued;
            }
            let usable = session_webhook.as_ref().filter(|_| {
                session_webhook_expires_at_ms.is_none_or(|t| t > now.timestamp_millis() + 60_000)
            });
            let via = usable.map(|url| ReplyVia::SessionWebhook {
                url: url.expose().to_string(),
            });
            enqueue(inbox, channel, &message, &answer, via, now).await
        }
        ReplyRoute::Feishu { message_id, .. } => {
            let via = ReplyVia::FeishuMessage {
                message_id: message_id.clone(),
            };
            enqueue(inbox, channel, &message, &answer, Some(via), now).await
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
            enqueue(inbox, channel, &message, &answer, Some(via), now).await
        }
    }
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

/// The answer in the response, for the routes whose platform reads it there.
fn inline_answer(
    channel: &ChannelConfig,
    route: &ReplyRoute,
    part: &OutboundPart,
) -> Option<CommandReply> {
    match route {
        ReplyRoute::Teams => Some(CommandReply::Inline(channel.platform.request_body(part))),
        ReplyRoute::GoogleChat { addon } => Some(CommandReply::Inline(googlechat::reply_body(
            &part.text, *addon,
        ))),
        _ => None,
    }
}

async fn enqueue(
    inbox: &Inbox,
    channel: &ChannelConfig,
    message: &InboundMessage,
    answer: &Answer,
    via: Option<ReplyVia>,
    now: chrono::DateTime<chrono::Utc>,
) -> CommandReply {
    match queue(
        inbox,
        channel,
        message,
        reply_parts(channel, answer),
        via,
        now,
    )
    .await
    {
        // DingTalk and Feishu read nothing from the answer; `{}` is a valid JSON ack.
        Ok(()) => CommandReply::Queued,
        Err(failed) => failed,
    }
}

/// Writes `parts` to the outbox for `via` (the channel's webhook when `None`); `Err` is the
/// reply to give the platform when that fails.
async fn queue(
    inbox: &Inbox,
    channel: &ChannelConfig,
    message: &InboundMessage,
    parts: Vec<OutboundPart>,
    via: Option<ReplyVia>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CommandReply> {
    let key = format!("reply:{}:{}", channel.name, message.message_id);
    let messages = super::outbox_messages(&key, channel, parts, via, now.timestamp_millis());
    match inbox.shared.store.enqueue_reply(&messages).await {
        Ok(_) => {
            inbox.shared.wake_delivery();
            Ok(())
        }
        Err(e) => {
            tracing::error!(channel = %channel.name, "cannot queue the answer to a command: {e}");
            Err(CommandReply::Failed)
        }
    }
}

/// WeCom's AI bot takes the answer in the response, encrypted: a finished `stream` message in
/// WeCom markdown, escaped like every other answer (a task title with a link or `<@all>` is
/// shown, not followed). As many parts as fit in the stream's 20,480 bytes go there; the rest
/// of a longer answer follows through the channel's webhook, as for Teams and Google Chat.
async fn wecom_passive_reply(
    inbox: &Inbox,
    channel: &ChannelConfig,
    message: &InboundMessage,
    answer: &Answer,
    now: chrono::DateTime<chrono::Utc>,
) -> CommandReply {
    let Some(bot) = WeComInbound::for_channel(channel) else {
        return CommandReply::NotConfigured;
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
        && let Err(failed) = queue(inbox, channel, message, rest, None, now).await
    {
        return failed;
    }
    match bot.stream_reply(&message.message_id, &content, now.timestamp()) {
        Ok(body) => CommandReply::InlineRaw(body),
        Err(e) => {
            tracing::error!(channel = %channel.name, "cannot encrypt the WeCom reply: {e}");
            CommandReply::Nothing
        }
    }
}

/// The answer to being added to a conversation (Teams, Google Chat): the command list, where
/// the platform reads an answer in the response.
pub fn greeting(plan: &Plan, channel: &ChannelConfig, route: &ReplyRoute) -> CommandReply {
    let lang: crate::commands::Lang = channel.locale.unwrap_or(plan.config.locale).into();
    text_parts(channel, &crate::commands::help_text(lang), "")
        .first()
        .and_then(|p| inline_answer(channel, route, p))
        .unwrap_or(CommandReply::Nothing)
}

#[cfg(test)]
mod sender_limit_tests {
    use super::*;
    use std::time::Duration;

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

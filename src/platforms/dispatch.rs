//! Outbound dispatch: from a channel and a rendered part to an [`Outcome`], through the
//! channel's [`Driver`](super::Driver).
//!
//! The split is deliberate:
//! - [`Platform::prepare`] is pure (no I/O, the clock passed in) and builds the exact request:
//!   URL with any signing query, headers, body bytes;
//! - [`Platform::classify`] is pure and maps status, `Retry-After` and body to an outcome, from a
//!   table in each platform's file that lists every reply the platform documents;
//! - [`deliver`] does the I/O in between (`sending.rs`) and turns transport errors into
//!   outcomes.
//!
//! Every outcome [`deliver`] and [`deliver_reply`] return is passed through the channel's
//! redactor (`redaction.rs`), in case a server echoes a token back in an error page.

use super::redaction::channel_redactor;
use super::sending::send;
use super::{
    DocumentedReply, Outcome, PreparedRequest, RateLimit, ReplyVia, discord, feishu, json_body,
    json_headers, telegram,
};
use crate::config::ChannelConfig;
use crate::secret::Secret;
use crate::types::{OutboundPart, Platform};
use chrono::{DateTime, Utc};
use std::io::Write as _;
use std::time::Duration;

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
        (super::driver(self).prepare)(channel, part, now)
    }

    /// Maps a reply to an outcome: the HTTP status, the `Retry-After` header if any (already
    /// parsed, see [`parse_retry_after`]), and the body. Each platform's file holds a table of
    /// every documented reply with its reason in plain words and a hint for people.
    ///
    /// The reason may quote the platform's own message; [`deliver`] redacts the channel's
    /// secrets from it.
    pub fn classify(self, status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
        (super::driver(self).classify)(status, retry_after, body)
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
        super::driver(self).rate_limit
    }
}

impl Platform {
    /// Every reply of this platform that [`Platform::classify`] knows by its code, in table
    /// order. Empty for the generic webhook and console, which are judged by HTTP status alone.
    pub fn documented_replies(self) -> Vec<DocumentedReply> {
        (super::driver(self).documented_replies)()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::*;

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
}

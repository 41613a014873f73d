//! WeCom (企业微信) group robot: outbound wire format.

use super::driver::{Driver, documented};
use super::{
    PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, int_field, json_body, json_headers,
    str_field, webhook_url, with_quote, without_code,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// `markdown` (v1), the type that supports `<@userid>` mentions; `markdown_v2` has lists and
/// tables but cannot mention anyone.
pub(super) const DIALECT: Dialect = Dialect::WeComMarkdown;

/// `markdown.content` may hold at most 4,096 bytes (`errcode 40058`).
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(4_096);

/// `text.content` may hold at most 2,048 bytes.
pub(super) const TEXT_SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(2_048);

/// The AI bot's passive reply, a `stream` message, may hold at most 20,480 bytes of UTF-8 in
/// `stream.content` (the bot's "被动回复消息" page; the open-source AI-bot clients cap their
/// stream content at the same figure).
pub const STREAM_SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(20_480);

/// Markdown messages mention by WeCom user id only; `text` messages (`as_text`) also by mobile,
/// through `mentioned_mobile_list`.
pub(super) fn mention_for(person: &Person, as_text: bool) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Wecom);
    let mobile = if handle.is_none() && as_text {
        super::safe_mobile(person)
    } else {
        None
    };
    (handle.is_some() || mobile.is_some()).then(|| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle,
        mobile,
    })
}

/// Markdown: the mentions are in the content as `<@userid>`; markdown has no separate list.
/// Text (`as_text`): the content names people as `@Name`, and WeCom notifies those in
/// `mentioned_list` (user ids) and `mentioned_mobile_list`.
pub(super) fn request_body(part: &OutboundPart, as_text: bool) -> Value {
    if !as_text {
        return json!({ "msgtype": "markdown", "markdown": { "content": part.text } });
    }
    let (ids, mobiles) = super::mention_lists(part);
    json!({
        "msgtype": "text",
        "text": {
            "content": part.text,
            "mentioned_list": ids,
            "mentioned_mobile_list": mobiles,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. The group robot has no signing: the `key` in the URL is
// the only credential.

/// 20 messages a minute per robot (45009 beyond).
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(20, Duration::from_secs(60));

/// How long to wait after 45009: the limit is counted per minute.
pub(super) const THROTTLE_WAIT: Duration = Duration::from_secs(60);

const KEY_HINT: &str = "paste the robot's whole webhook URL, key included \
    (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…), into `webhook`; if it is already \
    there, the robot was removed from the group: add it again and use its new URL";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

/// Every reply the group robot is known to give (`errcode` in an HTTP 200 body; `errmsg` carries
/// a hint id, the caller's IP and a lookup URL).
///
/// Sources: the group robot doc (developer.work.weixin.qq.com/document/path/91770), WeCom's
/// global error codes, and observed replies (45009, 93000, 40058, 40008, 44004).
pub(super) const REPLIES: &[ReplyRow<i64>] = &[
    ReplyRow {
        code: 0,
        platform_message: "ok",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: -1,
        platform_message: "system busy",
        verdict: ReplyVerdict::Retry,
        reason: "WeCom is busy",
        hint: "",
    },
    ReplyRow {
        code: 45009,
        platform_message: "api freq out of limit",
        verdict: ReplyVerdict::Wait(THROTTLE_WAIT),
        reason: "WeCom is throttling this robot: more than 20 messages in a minute",
        hint: "if another system posts through the same robot, give weekbell its own robot",
    },
    ReplyRow {
        code: 93000,
        platform_message: "invalid webhook url",
        verdict: ReplyVerdict::Permanent,
        reason: "WeCom does not accept this webhook address: the key is wrong or the robot was \
                 removed",
        hint: KEY_HINT,
    },
    ReplyRow {
        code: 40058,
        platform_message: "markdown.content exceed max length 4096 / invalid Request Parameter",
        verdict: ReplyVerdict::Permanent,
        reason: "WeCom refused a field of the message as invalid or too long (markdown content \
                 may hold at most 4096 bytes)",
        hint: "if the reason mentions a length, set a smaller `max_message_size` on the channel \
               so messages are split into smaller parts; otherwise this is a weekbell bug",
    },
    ReplyRow {
        code: 40008,
        platform_message: "invalid message type",
        verdict: ReplyVerdict::Permanent,
        reason: "WeCom does not support the message type weekbell sent",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: 44004,
        platform_message: "empty content",
        verdict: ReplyVerdict::Permanent,
        reason: "WeCom refused an empty message",
        hint: "the channel's template rendered nothing; check the templates in its \
               `templates` directory",
    },
];

/// `POST <webhook>` with the markdown body.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    _now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = webhook_url(channel)?;
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&request_body(part, channel.dialect() == Dialect::Plain))?,
    })
}

/// WeCom answers HTTP 200 with `errcode`; only `errcode == 0` is delivered. Codes not in
/// [`REPLIES`] from 40000 to 99999 (WeCom's parameter, permission and robot ranges) are
/// permanent; any other code is retried, bounded by the caller's attempts and deadline.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let reply: Option<Value> = serde_json::from_slice(body).ok();
    let Some(code) = reply.as_ref().and_then(|r| int_field(r, "errcode")) else {
        return without_code("WeCom", status, retry_after, body);
    };
    let message = reply.as_ref().and_then(|r| str_field(r, "errmsg"));
    if let Some(row) = REPLIES.iter().find(|row| row.code == code) {
        return row.outcome("WeCom errcode", code, message, retry_after);
    }
    if (40_000..100_000).contains(&code) {
        Outcome::Permanent {
            reason: with_quote("WeCom refused the message", "WeCom errcode", code, message),
            hint: "look the code up at https://open.work.weixin.qq.com/devtool/query; the \
                   message is not resent as is"
                .into(),
        }
    } else {
        Outcome::Retry {
            reason: with_quote(
                "WeCom answered with an error weekbell does not know",
                "WeCom errcode",
                code,
                message,
            ),
        }
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    text_dialect: Some(Dialect::Plain),
    size_limit: Some(SIZE_LIMIT),
    text_size_limit: Some(TEXT_SIZE_LIMIT),
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, dialect| mention_for(person, dialect == Dialect::Plain),
    request_body: |part, dialect| request_body(part, dialect == Dialect::Plain),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::{channel, header, now, part};

    #[test]
    fn prepare_posts_markdown_to_the_webhook_unchanged() {
        let url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a0c-4bc4";
        let ch = channel(Platform::Wecom, url, None);
        let req = Platform::Wecom.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), url);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["msgtype"], "markdown");
        assert!(body["markdown"]["content"].is_string());
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let body = json!({ "errcode": row.code, "errmsg": row.platform_message });
            let got = classify(200, None, body.to_string().as_bytes());
            crate::platforms::replies::assert_verdict(&row.code.to_string(), row.verdict, &got);
        }
    }

    #[test]
    fn invalid_webhook_says_to_paste_the_whole_url() {
        let got = classify(
            200,
            None,
            br#"{"errcode":93000,"errmsg":"invalid webhook url, hint: [1755605200056773468916791], from ip: 172.212.167.87, more info at https://open.work.weixin.qq.com/devtool/query?e=93000"}"#,
        );
        let Outcome::Permanent { reason, hint } = got else {
            panic!("{got:?}")
        };
        assert!(reason.starts_with("WeCom does not accept this webhook address"));
        assert!(reason.contains("invalid webhook url"));
        assert!(hint.contains("key included"));
    }

    #[test]
    fn unknown_codes_and_bodies() {
        let got = classify(
            200,
            None,
            br#"{"errcode":60020,"errmsg":"not allow to access from your ip"}"#,
        );
        assert!(matches!(got, Outcome::Permanent { .. }), "{got:?}");
        let got = classify(200, None, br#"{"errcode":1,"errmsg":"?"}"#);
        assert!(matches!(got, Outcome::Retry { .. }), "{got:?}");
        assert!(matches!(classify(200, None, b""), Outcome::Retry { .. }));
        assert!(matches!(
            classify(503, None, b"busy"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(429, None, b""),
            Outcome::Wait { after, .. } if after == crate::platforms::DEFAULT_WAIT
        ));
    }
}

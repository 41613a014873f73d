//! Microsoft Teams: outbound wire format for a Workflows (Power Automate) webhook and for the
//! retired Office 365 "Incoming Webhook" connector that some teams still use.
//!
//! Both take the same body: a `type: message` activity with one Adaptive Card attachment. The
//! card has a heading (the part's title) and one `TextBlock` per paragraph of the text; the lines
//! of a paragraph are joined with `\n\n`, because `TextBlock` text is markdown, where a single
//! `\n` is not a line break (microsoft/AdaptiveCards#5538, "by design"). Mentions are
//! `<at>Name</at>` in the text plus one `msteams.entities` entry each, whose `text` is that tag
//! exactly and whose `mentioned.id` is the person's `teams` handle (UPN or Entra object id).
//!
//! The two endpoints answer differently, and the answer alone tells them apart:
//! - Workflows answers `202 Accepted` before the flow runs. A 202 is not proof that the card
//!   was posted — a flow that is misconfigured fails afterwards, visible only in its run
//!   history — but it is all the endpoint will ever say, so it counts as sent. Its errors are
//!   Logic Apps JSON: `{"error":{"code":"WorkflowNotFound","message":…}}` with a 4xx.
//! - The connector answers `200` with the body `1`, and wraps its errors in a `200` too:
//!   `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error
//!   429 with ContextId …` (by design: connectors treat a non-2xx as "remove the
//!   configuration"). The wrapped status decides: 429 waits 15 s, as Microsoft advises
//!   (10–15 s), 413 and 400 are permanent.

use super::driver::{Driver, documented};
use super::{
    DEFAULT_WAIT, MAX_WAIT, PreparedRequest, RateLimit, ReplyRow, ReplyVerdict, by_status,
    json_body, json_headers, webhook_url, with_quote,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::MentionRef;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart, SizeLimit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(super) const DIALECT: Dialect = Dialect::TeamsMarkdown;

/// Teams refuses messages over 28 KB (the connector answers a wrapped 413). The limit is on the
/// whole card, so the request body is held under it with room to spare…
pub(super) const BODY_LIMIT: usize = 27_000;

/// …and the text budget per part leaves room for the card envelope, the heading, one
/// `TextBlock` per paragraph, the mention entities and JSON escaping.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(22_000);

/// `<at>Name</at>`, notifying the person whose UPN or Entra object id is the `teams` handle.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Teams).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// The card's heading is the part's title, so templates need not repeat it
/// ([`Platform::shows_title`]).
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card(part),
        }],
    })
}

fn card(part: &OutboundPart) -> Value {
    let mut body = Vec::new();
    let title = DIALECT.escape(part.title.trim());
    if !title.is_empty() {
        body.push(json!({
            "type": "TextBlock",
            "text": title,
            "size": "Medium",
            "weight": "Bolder",
            "wrap": true,
        }));
    }
    for (i, paragraph) in paragraphs(&part.text).into_iter().enumerate() {
        let mut block = json!({ "type": "TextBlock", "text": paragraph, "wrap": true });
        if i > 0 {
            block["spacing"] = json!("Medium");
        }
        body.push(block);
    }
    let entities: Vec<Value> = part
        .mentions
        .iter()
        .filter_map(|m| {
            let id = m.handle.as_deref()?;
            Some(json!({
                "type": "mention",
                "text": DIALECT.mention(MentionRef::Handle { id, name: &m.name }),
                "mentioned": { "id": id, "name": m.name.trim() },
            }))
        })
        .collect();
    let mut msteams = json!({ "width": "Full" });
    if !entities.is_empty() {
        msteams["entities"] = Value::Array(entities);
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": msteams,
    })
}

/// The text's paragraphs (runs of non-blank lines), each with its lines joined by `\n\n`.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n\n"));
    }
    out
}

/// Whether `webhook` is an Office 365 connector address (`*.webhook.office.com/webhookb2/…`,
/// or the older `outlook.office.com/webhook/…`), which Microsoft has retired.
pub fn is_retired_connector(webhook: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(webhook.trim()) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    (host.ends_with(".webhook.office.com") && url.path().starts_with("/webhookb2/"))
        || (host == "outlook.office.com" && url.path().starts_with("/webhook/"))
}

// ---------------------------------------------------------------------------------------------
// Transport: request and reply table. No signing: the URL (Workflows' `sig` parameter, the
// connector's path) is the credential.

/// The connector throttles more than four requests a second per webhook; Workflows documents
/// no figure, so the same pace is kept for both.
pub(super) const RATE_LIMIT: RateLimit = RateLimit::new(4, Duration::from_secs(1));

/// Microsoft's advice after a (wrapped) 429 from the connector: back off 10–15 seconds.
pub(super) const CONNECTOR_WAIT: Duration = Duration::from_secs(15);

const NEW_FLOW_HINT: &str = "in Teams, open the channel's ⋯ menu → Workflows → \"Post to a \
    channel when a webhook request is received\", and put the new flow's whole URL in `webhook`";

const CONNECTOR_HINT: &str = "Office 365 connectors are retired: create a Workflows webhook for \
    the channel (⋯ → Workflows → \"Post to a channel when a webhook request is received\") and \
    put its URL in `webhook`";

const BUG_HINT: &str = "this is a weekbell bug; please report it with the reason above";

const TOO_LARGE_HINT: &str = "set a smaller `max_message_size` on the channel so messages are \
    split into smaller parts";

/// Every reply the two endpoints are known to give.
///
/// Sources: Microsoft's connector documentation and MicrosoftDocs/msteams-docs issues (`1`, the
/// wrapped 429/413/400, 10–15 s back-off, "Bad payload received by generic incoming webhook.",
/// "Summary or Text is required."); the Logic Apps error shape and codes as reported in public
/// code and issues (`DirectApiAuthorizationRequired`, `DirectApiInvalidAuthorizationSignature`,
/// `WorkflowNotFound`, `WorkflowTriggerIsNotEnabled`, `TriggerInputSchemaMismatch`,
/// `InvalidRequestContent`); apprise's Workflows plugin (202).
pub(super) const REPLIES: &[ReplyRow<&str>] = &[
    ReplyRow {
        code: "Accepted",
        platform_message: "Workflows: HTTP 202, empty body",
        verdict: ReplyVerdict::Sent,
        reason: "accepted by the Workflows flow, which posts the card afterwards; a run that \
                 fails shows only in the flow's run history",
        hint: "",
    },
    ReplyRow {
        code: "1",
        platform_message: "connector: HTTP 200, body 1",
        verdict: ReplyVerdict::Sent,
        reason: "sent",
        hint: "",
    },
    ReplyRow {
        code: "HTTP error 429",
        platform_message: "connector: HTTP 200, Webhook message delivery failed with error: \
                           Microsoft Teams endpoint returned HTTP error 429 with ContextId …",
        verdict: ReplyVerdict::Wait(CONNECTOR_WAIT),
        reason: "Teams is throttling this webhook (more than four messages a second)",
        hint: "",
    },
    ReplyRow {
        code: "HTTP error 413",
        platform_message: "connector: HTTP 200, … returned HTTP error 413 …",
        verdict: ReplyVerdict::Permanent,
        reason: "Teams refused the message as too large (over 28 KB)",
        hint: TOO_LARGE_HINT,
    },
    ReplyRow {
        code: "HTTP error 400",
        platform_message: "connector: HTTP 200, … returned HTTP error 400 …",
        verdict: ReplyVerdict::Permanent,
        reason: "Teams could not post the card",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "Bad payload received by generic incoming webhook.",
        platform_message: "connector: HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the Teams connector could not read the message",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "Summary or Text is required.",
        platform_message: "connector: HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the Teams connector refused a message without text",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "TriggerInputSchemaMismatch",
        platform_message: "Workflows: HTTP 400, The input body for trigger 'manual' of type \
                           'Request' did not match its schema definition.",
        verdict: ReplyVerdict::Permanent,
        reason: "the flow's trigger expects another body than a Teams card",
        hint: "clear the trigger's Request Body JSON Schema, or create the flow from the \
               template \"Post to a channel when a webhook request is received\"",
    },
    ReplyRow {
        code: "WorkflowTriggerIsNotEnabled",
        platform_message: "Workflows: HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "the flow behind this webhook is turned off or was deleted",
        hint: "turn the flow on in Power Automate (My flows); if it was deleted, create a new \
               one and put its URL in `webhook`",
    },
    ReplyRow {
        code: "InvalidRequestContent",
        platform_message: "Workflows: HTTP 400",
        verdict: ReplyVerdict::Permanent,
        reason: "Workflows could not read the message",
        hint: BUG_HINT,
    },
    ReplyRow {
        code: "DirectApiAuthorizationRequired",
        platform_message: "Workflows: HTTP 401, The request must be authenticated only by \
                           Shared Access scheme.",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook address lacks its signature (the `sig` parameter)",
        hint: "copy the flow's whole HTTP POST URL, `&sig=…` included, into `webhook`",
    },
    ReplyRow {
        code: "DirectApiInvalidAuthorizationSignature",
        platform_message: "Workflows: HTTP 401, The provided authorization signature is not \
                           valid.",
        verdict: ReplyVerdict::Permanent,
        reason: "the webhook address's signature is wrong or was revoked",
        hint: "copy the flow's current HTTP POST URL again into `webhook`",
    },
    ReplyRow {
        code: "WorkflowNotFound",
        platform_message: "Workflows: HTTP 404, The workflow could not be found.",
        verdict: ReplyVerdict::Permanent,
        reason: "there is no flow at this webhook address any more",
        hint: NEW_FLOW_HINT,
    },
    ReplyRow {
        code: "HTTP 429",
        platform_message: "HTTP 429 with Retry-After (Power Automate throttling)",
        verdict: ReplyVerdict::Wait(DEFAULT_WAIT),
        reason: "Teams Workflows is throttling this flow",
        hint: "",
    },
];

/// `POST <webhook>` with the card.
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    _now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = webhook_url(channel)?;
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers: json_headers(),
        body: json_body(&request_body(part))?,
    })
}

/// The connector's errors wrapped in a 200 are read by their inner status first; then a 2xx is
/// sent (202 from Workflows, `1` from the connector); then Logic Apps' JSON errors by code and
/// the connector's plain-text errors by text; anything else by status.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let Some(inner) = wrapped_status(text) {
        return wrapped(inner, retry_after, text);
    }
    if (200..300).contains(&status) {
        if status == 202 {
            note_accepted();
        }
        return Outcome::Sent;
    }
    let json: Option<Value> = serde_json::from_str(text).ok();
    let error = json.as_ref().and_then(|v| v.get("error"));
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .unwrap_or(text);
    let quoted = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or(Some(text));
    if let Some(row) = REPLIES
        .iter()
        .find(|row| row.code == code && row.verdict != ReplyVerdict::Sent)
    {
        return row.outcome("Teams", format!("HTTP {status}"), quoted, retry_after);
    }
    if status == 429 {
        return Outcome::Wait {
            after: retry_after.unwrap_or(DEFAULT_WAIT).min(MAX_WAIT),
            reason: with_quote(
                "Teams Workflows is throttling this flow",
                "Teams",
                "HTTP 429",
                quoted,
            ),
        };
    }
    match by_status("Teams", status, retry_after, body) {
        Outcome::Permanent { reason, .. } if matches!(status, 404 | 410) => Outcome::Permanent {
            reason,
            hint: NEW_FLOW_HINT.to_string(),
        },
        other => other,
    }
}

/// The status inside the connector's "… returned HTTP error 429 with ContextId …".
fn wrapped_status(text: &str) -> Option<u16> {
    let rest = text
        .strip_prefix("Webhook message delivery failed with error:")?
        .split_once("HTTP error ")?
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn wrapped(inner: u16, retry_after: Option<Duration>, text: &str) -> Outcome {
    let code = format!("HTTP error {inner}");
    if let Some(row) = REPLIES.iter().find(|row| row.code == code) {
        return row.outcome("Teams connector", "HTTP 200", Some(text), retry_after);
    }
    let reason = with_quote(
        "the Teams connector could not post the card",
        "Teams connector",
        "HTTP 200",
        Some(text),
    );
    if inner >= 500 {
        Outcome::Retry { reason }
    } else {
        Outcome::Permanent {
            reason,
            hint: CONNECTOR_HINT.to_string(),
        }
    }
}

static ACCEPTED_NOTED: AtomicBool = AtomicBool::new(false);

/// Says once per process, where an admin setting Teams up will look, that "sent" means
/// "accepted by the flow": a card that never shows up is to be looked for in the flow's run
/// history, not in weekbell's outbox.
fn note_accepted() {
    if !ACCEPTED_NOTED.swap(true, Ordering::Relaxed) {
        tracing::info!(
            "Teams Workflows accepted a message (HTTP 202): the flow posts it afterwards, so \
             weekbell records it as sent; if a card never appears in the channel, look at the \
             flow's run history in Power Automate"
        );
    }
}

/// This platform's driver: the constants and functions above, for the registry.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    size_limit: Some(SIZE_LIMIT),
    body_limit: Some(BODY_LIMIT),
    shows_title: true,
    rate_limit: Some(RATE_LIMIT),
    mention_for: |person, _| mention_for(person),
    request_body: |part, _| request_body(part),
    prepare,
    classify,
    documented_replies: || documented(REPLIES),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::{channel, header, now};

    const FLOW: &str = "https://prod-12.westeurope.logic.azure.com/workflows/0a1b2c3d4e5f/\
        triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0\
        &sig=Xk3vQ9sLp0aZ7yT2mN8bC4dF6gH1jK5l";

    fn part() -> OutboundPart {
        OutboundPart {
            title: "Weekly status (1/2)".into(),
            text: "(1/2)\n*Done*\n• 12 Ship it <at>Alice</at>\n\n• 13 Review\n  \n**Late**".into(),
            mentions: vec![Mention {
                person_id: Some("alice".into()),
                name: "Alice".into(),
                handle: Some("alice@contoso.com".into()),
                mobile: None,
            }],
            part: 1,
            parts: 2,
        }
    }

    #[test]
    fn the_card_has_a_heading_paragraphs_and_matching_mention_entities() {
        let body = request_body(&part());
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert!(attachment["contentUrl"].is_null());
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["msteams"]["width"], "Full");
        let blocks = card["body"].as_array().cloned().unwrap_or_default();
        let texts: Vec<&str> = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
        assert_eq!(
            texts,
            [
                "Weekly status (1/2)",
                "(1/2)\n\n*Done*\n\n• 12 Ship it <at>Alice</at>",
                "• 13 Review",
                "**Late**"
            ]
        );
        assert_eq!(blocks[0]["weight"], "Bolder");
        assert!(
            blocks
                .iter()
                .all(|b| b["wrap"] == true && b["type"] == "TextBlock")
        );
        assert!(blocks[1].get("spacing").is_none());
        assert_eq!(blocks[2]["spacing"], "Medium");
        let entities = card["msteams"]["entities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0]["type"], "mention");
        assert_eq!(entities[0]["text"], "<at>Alice</at>");
        assert_eq!(entities[0]["mentioned"]["id"], "alice@contoso.com");
        assert_eq!(entities[0]["mentioned"]["name"], "Alice");
        assert!(texts[1].contains(entities[0]["text"].as_str().unwrap_or("?")));
    }

    #[test]
    fn a_card_without_mentions_has_no_entities() {
        let mut p = part();
        p.mentions.clear();
        let body = request_body(&p);
        assert!(
            body["attachments"][0]["content"]["msteams"]
                .get("entities")
                .is_none()
        );
    }

    #[test]
    fn prepare_posts_the_card_to_the_flow() {
        let ch = channel(Platform::Teams, FLOW, None);
        let req = Platform::Teams.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), FLOW);
        assert_eq!(
            header(&req, "content-type"),
            Some("application/json; charset=utf-8")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body, request_body(&part()));
    }

    #[test]
    fn retired_connector_addresses_are_recognised() {
        assert!(is_retired_connector(
            "https://contoso.webhook.office.com/webhookb2/1a2b@3c4d/IncomingWebhook/5e6f/7a8b"
        ));
        assert!(is_retired_connector(
            "https://outlook.office.com/webhook/1a2b@3c4d/IncomingWebhook/5e6f/7a8b"
        ));
        assert!(!is_retired_connector(FLOW));
        assert!(!is_retired_connector("not a url"));
    }

    /// The status and body each row arrives with.
    fn reply_for(code: &str) -> (u16, String) {
        let wrapped = |n: u16| {
            format!(
                "Webhook message delivery failed with error: Microsoft Teams endpoint returned \
                 HTTP error {n} with ContextId tcid=0,server=msgapi-production-eus-azsc1-4-170,\
                 cv=deadbeef.0."
            )
        };
        let logic = |status: u16, code: &str| {
            (
                status,
                json!({"error": {"code": code, "message": "as Logic Apps says it"}}).to_string(),
            )
        };
        match code {
            "Accepted" => (202, String::new()),
            "1" => (200, "1".into()),
            "HTTP error 429" => (200, wrapped(429)),
            "HTTP error 413" => (200, wrapped(413)),
            "HTTP error 400" => (200, wrapped(400)),
            "Bad payload received by generic incoming webhook."
            | "Summary or Text is required." => (400, code.into()),
            "TriggerInputSchemaMismatch"
            | "WorkflowTriggerIsNotEnabled"
            | "InvalidRequestContent" => logic(400, code),
            "DirectApiAuthorizationRequired" | "DirectApiInvalidAuthorizationSignature" => {
                logic(401, code)
            }
            "WorkflowNotFound" => logic(404, code),
            "HTTP 429" => (429, String::new()),
            other => panic!("no reply for {other}"),
        }
    }

    #[test]
    fn every_table_row_classifies_as_documented() {
        for row in REPLIES {
            let (status, body) = reply_for(row.code);
            let got = classify(status, None, body.as_bytes());
            match row.verdict {
                ReplyVerdict::Permanent => {
                    let Outcome::Permanent { reason, hint } = &got else {
                        panic!("{} → {got:?}", row.code)
                    };
                    assert!(reason.starts_with(row.reason), "{reason}");
                    assert!(!hint.is_empty(), "{}", row.code);
                }
                other => crate::platforms::replies::assert_verdict(row.code, other, &got),
            }
        }
    }

    #[test]
    fn wrapped_and_unknown_replies() {
        let wrapped = "Webhook message delivery failed with error: Microsoft Teams endpoint \
                       returned HTTP error 502 with ContextId tcid=0.";
        assert!(matches!(
            classify(200, None, wrapped.as_bytes()),
            Outcome::Retry { .. }
        ));
        let wrapped = wrapped.replace("502", "403");
        assert!(matches!(
            classify(200, None, wrapped.as_bytes()),
            Outcome::Permanent { hint, .. } if hint == CONNECTOR_HINT
        ));
        assert_eq!(
            wrapped_status("Webhook message delivery failed with error: HTTP error 429x"),
            Some(429)
        );
        assert_eq!(wrapped_status("HTTP error 429"), None);
        assert!(matches!(
            classify(429, Some(Duration::from_secs(7)), b""),
            Outcome::Wait { after, .. } if after == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(500, None, b"oops"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(410, None, b"Gone"),
            Outcome::Permanent { hint, .. } if hint == NEW_FLOW_HINT
        ));
        let other = json!({"error": {"code": "SomethingNew", "message": "m"}}).to_string();
        assert!(matches!(
            classify(400, None, other.as_bytes()),
            Outcome::Permanent { .. }
        ));
        // A flow ending in a Response action may answer 200 with its own body.
        assert_eq!(classify(200, None, b"{\"ok\":true}"), Outcome::Sent);
    }

    #[test]
    fn quoted_messages_come_from_the_error_object() {
        let body = json!({"error": {"code": "WorkflowNotFound",
            "message": "The workflow '0a1b2c3d' could not be found."}})
        .to_string();
        let Outcome::Permanent { reason, .. } = classify(404, None, body.as_bytes()) else {
            panic!("not permanent")
        };
        assert!(
            reason.contains("Teams HTTP 404: The workflow '0a1b2c3d' could not be found."),
            "{reason}"
        );
    }
}

//! Local fakes of Microsoft Teams' two incoming endpoints, checking requests as Teams does and
//! answering with its replies:
//!
//! | endpoint | URL | checks, and the refusal each gives |
//! |---|---|---|
//! | Workflows ([`Endpoint::Workflows`]) | `/workflows/{id}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=T` | `sig` present (401 `DirectApiAuthorizationRequired`) and right (401 `DirectApiInvalidAuthorizationSignature`); the workflow id (404 `WorkflowNotFound`); a JSON body (400 `InvalidRequestContent`); the card ([`check_card`]: 400 `TriggerInputSchemaMismatch`); then 202 with an empty body |
//! | connector ([`Endpoint::Connector`]) | `/webhookb2/{group}@{tenant}/IncomingWebhook/T/{owner}` | the path (404); a JSON body (400 `Bad payload received by generic incoming webhook.`); the card, within 28 KB (HTTP 200 with `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400/413 with ContextId …`); then 200 with `1` |
//!
//! Error bodies are Logic Apps' `{"error":{"code","message"}}` for Workflows and the
//! connector's plain text, with the codes and texts reported by Microsoft's docs and public
//! issues. One liberty: a real Workflows endpoint answers 202 to any JSON and the flow's run
//! fails afterwards when the card cannot be posted; this fake refuses such a card at once (as a
//! flow whose trigger has a request schema would), so that a test sees the problem.

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen, random_token};
use serde_json::{Value, json};
use std::ops::Deref;
use std::time::Duration;

/// The workflow id in [`FakeTeams::url`].
pub const WORKFLOW_ID: &str = "5b1f0c9e8a7d4e3f9c2b1a0d8e7f6c5b";
const GROUP: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OWNER: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

/// Teams' limit on one message.
pub const MAX_MESSAGE_BYTES: usize = 28 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Workflows,
    Connector,
}

/// A scripted answer for one request.
#[derive(Debug, Clone)]
pub enum TeamsReply {
    /// Workflows: this status with `{"error":{"code","message"}}`.
    Error(u16, &'static str),
    /// Connector: HTTP 200 wrapping this status, as the connector reports every failure.
    Wrapped(u16),
    /// HTTP 429 with `Retry-After` (Power Automate throttling).
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// This status with a gateway-style body.
    Status(u16),
    Delay(Duration),
    Reset,
    Close,
}

pub struct FakeTeams {
    http: FakeHttp,
    endpoint: Endpoint,
    token: String,
}

impl FakeTeams {
    pub async fn start(endpoint: Endpoint) -> FakeTeams {
        let token = random_token(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            43,
        );
        let expected = token.clone();
        let http = FakeHttp::start(move |seen| match endpoint {
            Endpoint::Workflows => check_workflows(&expected, seen),
            Endpoint::Connector => check_connector(&expected, seen),
        })
        .await;
        FakeTeams {
            http,
            endpoint,
            token,
        }
    }

    /// The webhook URL to configure.
    pub fn url(&self) -> String {
        self.url_with_token(&self.token)
    }

    pub fn url_with_token(&self, token: &str) -> String {
        let base = self.http.base_url();
        match self.endpoint {
            Endpoint::Workflows => format!(
                "{base}/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={token}"
            ),
            Endpoint::Connector => {
                format!("{base}/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/{token}/{OWNER}")
            }
        }
    }

    /// The credential in [`FakeTeams::url`].
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn script(&self, replies: impl IntoIterator<Item = TeamsReply>) {
        let endpoint = self.endpoint;
        self.http
            .script(replies.into_iter().map(|r| scripted(endpoint, r)));
    }
}

impl Deref for FakeTeams {
    type Target = FakeHttp;

    fn deref(&self) -> &FakeHttp {
        &self.http
    }
}

fn logic_apps_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn wrapped(status: u16) -> Answer {
    Answer::text(
        200,
        format!(
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP \
             error {status} with ContextId tcid=0,server=msgapi-production-weu-azsc2-4-118,\
             cv=8Zq3WvOe5Ualx7s1ZPTWvw.0.."
        ),
    )
}

fn scripted(endpoint: Endpoint, reply: TeamsReply) -> Scripted {
    match reply {
        TeamsReply::Error(status, code) => {
            Scripted::Answer(logic_apps_error(status, code, workflows_message(code)))
        }
        TeamsReply::Wrapped(status) => Scripted::Answer(wrapped(status)),
        TeamsReply::TooManyRequests { retry_after_secs } => {
            let answer = match endpoint {
                Endpoint::Workflows => logic_apps_error(
                    429,
                    "TooManyRequests",
                    "Rate limit is exceeded. Try again later.",
                ),
                Endpoint::Connector => Answer::text(429, "Too Many Requests"),
            };
            Scripted::Answer(answer.with_header("retry-after", retry_after_secs.to_string()))
        }
        TeamsReply::Status(status) => Scripted::Answer(Answer::text(
            status,
            format!("<html><body><h1>{status}</h1>Service unavailable</body></html>"),
        )),
        TeamsReply::Delay(d) => Scripted::Delay(d),
        TeamsReply::Reset => Scripted::Reset,
        TeamsReply::Close => Scripted::Close,
    }
}

fn workflows_message(code: &str) -> &'static str {
    match code {
        "DirectApiAuthorizationRequired" => {
            "The request must be authenticated only by Shared Access scheme."
        }
        "DirectApiInvalidAuthorizationSignature" => {
            "The provided authorization signature is not valid."
        }
        "WorkflowNotFound" => "The workflow could not be found.",
        "WorkflowTriggerIsNotEnabled" => {
            "The workflow trigger 'manual' is not enabled: the workflow is in state 'Disabled'."
        }
        "TriggerInputSchemaMismatch" => {
            "The input body for trigger 'manual' of type 'Request' did not match its schema \
             definition."
        }
        "InvalidRequestContent" => {
            "The request content is not valid and could not be deserialized."
        }
        _ => "The request failed.",
    }
}

fn check_workflows(token: &str, seen: &Seen) -> Checked {
    let expected_path = format!("/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke");
    if !seen.path().starts_with("/workflows/") {
        return Checked::Answer(Answer::text(404, "Not Found"));
    }
    match seen.query("sig") {
        None => {
            return Checked::Answer(logic_apps_error(
                401,
                "DirectApiAuthorizationRequired",
                workflows_message("DirectApiAuthorizationRequired"),
            ));
        }
        Some(sig) if sig != token => {
            return Checked::Answer(logic_apps_error(
                401,
                "DirectApiInvalidAuthorizationSignature",
                workflows_message("DirectApiInvalidAuthorizationSignature"),
            ));
        }
        Some(_) => {}
    }
    if seen.path() != expected_path {
        return Checked::Answer(logic_apps_error(
            404,
            "WorkflowNotFound",
            workflows_message("WorkflowNotFound"),
        ));
    }
    let json_type = seen
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    let body: Option<Value> = serde_json::from_slice(&seen.body).ok();
    let (true, Some(body)) = (json_type, body) else {
        return Checked::Answer(logic_apps_error(
            400,
            "InvalidRequestContent",
            workflows_message("InvalidRequestContent"),
        ));
    };
    if let Err(why) = check_card(&body, seen.body.len()) {
        return Checked::Answer(logic_apps_error(
            400,
            "TriggerInputSchemaMismatch",
            &format!(
                "{} ({why})",
                workflows_message("TriggerInputSchemaMismatch")
            ),
        ));
    }
    Checked::Accept(body, Answer::text(202, ""))
}

fn check_connector(token: &str, seen: &Seen) -> Checked {
    let expected = format!("/webhookb2/{GROUP}@{TENANT}/IncomingWebhook/{token}/{OWNER}");
    if seen.path() != expected {
        return Checked::Answer(Answer::text(404, "Not Found"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&seen.body) else {
        return Checked::Answer(Answer::text(
            400,
            "Bad payload received by generic incoming webhook.",
        ));
    };
    if seen.body.len() > MAX_MESSAGE_BYTES {
        return Checked::Answer(wrapped(413));
    }
    if check_card(&body, seen.body.len()).is_err() {
        return Checked::Answer(wrapped(400));
    }
    Checked::Accept(body, Answer::text(200, "1"))
}

/// What Teams needs of a `type: message` activity with an Adaptive Card: one adaptive-card
/// attachment, an `AdaptiveCard` of version 1.0–1.5 with a non-empty `body` of typed elements,
/// `TextBlock`s with text, a whole message within 28 KB, and mentions whose entity `text` occurs
/// verbatim in the card with a non-empty `mentioned.id` — and no `<at>` tag without its entity,
/// which Teams would show as plain text, notifying nobody.
pub fn check_card(body: &Value, bytes: usize) -> Result<(), String> {
    if bytes > MAX_MESSAGE_BYTES {
        return Err(format!("{bytes} bytes, over Teams' 28 KB"));
    }
    if body["type"] != "message" {
        return Err("`type` is not `message`".into());
    }
    let attachments = body["attachments"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or("no `attachments`")?;
    for attachment in attachments {
        if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
            return Err("an attachment is not an Adaptive Card".into());
        }
        let card = &attachment["content"];
        if card["type"] != "AdaptiveCard" {
            return Err("`content.type` is not `AdaptiveCard`".into());
        }
        let version = card["version"].as_str().unwrap_or_default();
        if !["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"].contains(&version) {
            return Err(format!("card version `{version}` is not one Teams renders"));
        }
        let blocks = card["body"]
            .as_array()
            .filter(|b| !b.is_empty())
            .ok_or("the card has no `body`")?;
        let mut texts = String::new();
        for block in blocks {
            let kind = block["type"].as_str().ok_or("an element without `type`")?;
            if kind == "TextBlock" {
                let text = block["text"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .ok_or("a TextBlock without text")?;
                if !block["wrap"].is_null() && !block["wrap"].is_boolean() {
                    return Err("`wrap` is not a boolean".into());
                }
                texts.push_str(text);
                texts.push('\n');
            }
        }
        let entities = card["msteams"]["entities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for entity in &entities {
            if entity["type"] != "mention" {
                continue;
            }
            let text = entity["text"].as_str().unwrap_or_default();
            if !(text.starts_with("<at>") && text.ends_with("</at>") && texts.contains(text)) {
                return Err(format!(
                    "mention entity `{text}` does not occur in the card"
                ));
            }
            if entity["mentioned"]["id"].as_str().is_none_or(str::is_empty)
                || !entity["mentioned"]["name"].is_string()
            {
                return Err(format!(
                    "mention entity `{text}` has no `mentioned.id` or name"
                ));
            }
        }
        let mut rest = texts.as_str();
        while let Some(start) = rest.find("<at>") {
            let Some(len) = rest[start..].find("</at>") else {
                return Err("an unclosed `<at>`".into());
            };
            let tag = &rest[start..start + len + "</at>".len()];
            if !entities.iter().any(|e| e["text"] == tag) {
                return Err(format!("`{tag}` has no mention entity"));
            }
            rest = &rest[start + tag.len()..];
        }
    }
    Ok(())
}

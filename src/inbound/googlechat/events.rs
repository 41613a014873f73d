//! The two event formats Google Chat posts (the classic interaction event, the Workspace add-on
//! event), read once the token holds, and the inline answer in each format.

use crate::commands::{self, Parsed};
use crate::inbound::{
    InboundMessage, Refusal, ReplyRoute, Sender, Verdict, parse_json, required_str, str_at,
};
use serde_json::{Value, json};

/// The inline answer in the event's own format.
pub fn reply_body(text: &str, addon: bool) -> Value {
    let message = json!({ "text": text });
    if addon {
        json!({ "hostAppDataAction": { "chatDataAction": {
            "createMessageAction": { "message": message } } } })
    } else {
        message
    }
}

pub(super) fn parse_event(body: &[u8]) -> Result<Verdict, Refusal> {
    let event = parse_json(body, "Google Chat event")?;
    if !event.is_object() {
        return Err(Refusal::Malformed(
            "Google Chat event is not an object".into(),
        ));
    }
    match event.get("chat").filter(|c| c.is_object()) {
        Some(chat) => parse_addon_event(chat),
        None => parse_classic_event(&event),
    }
}

fn parse_classic_event(event: &Value) -> Result<Verdict, Refusal> {
    let route = ReplyRoute::GoogleChat { addon: false };
    let user = event.get("user");
    let message = event.get("message").filter(|m| m.is_object());
    match str_at(event, &["type"]) {
        Some("MESSAGE") => {
            let message = message
                .ok_or_else(|| Refusal::Malformed("MESSAGE event without `message`".into()))?;
            read_message(message, user, route, message.get("slashCommand").is_some())
        }
        // Added by @mentioning the app with a command: the command is in the event.
        Some("ADDED_TO_SPACE") => match message {
            Some(message) => read_message(message, user, route, false),
            None => Ok(Verdict::Added { reply: route }),
        },
        Some(_) => Ok(Verdict::Ignore(
            "Google Chat event other than a message or being added",
        )),
        None => Err(Refusal::Malformed("Google Chat event has no `type`".into())),
    }
}

fn parse_addon_event(chat: &Value) -> Result<Verdict, Refusal> {
    let route = ReplyRoute::GoogleChat { addon: true };
    let user = chat.get("user");
    let payload = |name| chat.get(name).filter(|p| p.is_object());
    let message_of = |p: &Value| p.get("message").filter(|m| m.is_object()).cloned();
    if let Some(p) = payload("messagePayload") {
        let message = message_of(p)
            .ok_or_else(|| Refusal::Malformed("messagePayload without `message`".into()))?;
        let slash = message.get("slashCommand").is_some();
        return read_message(&message, user, route, slash);
    }
    if let Some(p) = payload("appCommandPayload") {
        let message = message_of(p)
            .ok_or_else(|| Refusal::Malformed("appCommandPayload without `message`".into()))?;
        return read_message(&message, user, route, true);
    }
    if payload("addedToSpacePayload").is_some() {
        return Ok(Verdict::Added { reply: route });
    }
    Ok(Verdict::Ignore(
        "Google Chat add-on event other than a message, a command or being added",
    ))
}

fn read_message(
    message: &Value,
    user: Option<&Value>,
    reply: ReplyRoute,
    slash_command: bool,
) -> Result<Verdict, Refusal> {
    let sender = user.or_else(|| message.get("sender"));
    if sender.and_then(|s| str_at(s, &["type"])) == Some("BOT") {
        return Ok(Verdict::Ignore("Google Chat message from a bot"));
    }
    let user_name = sender
        .map(|s| required_str(s, &["name"]))
        .unwrap_or_else(|| Err(Refusal::Malformed("field `user` is missing".into())))?;
    if !user_name.starts_with("users/") {
        return Err(Refusal::Malformed(
            "the sender's name is not `users/…`".into(),
        ));
    }
    let message_id = required_str(message, &["name"])?;
    let full = message
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let argument = message.get("argumentText").and_then(Value::as_str);
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender_name: sender
            .and_then(|s| str_at(s, &["displayName"]))
            .map(str::to_string),
        sender: Sender::GoogleChat { user_name },
        text: command_text(full, argument, slash_command),
        reply,
        retry: false,
    }))
}

/// The command in a message. `argumentText` is the text without the app's @mention (whose
/// display name may have spaces, which a mention stripper cannot know) and, for a slash
/// command, the text after the command; the full text of a slash command wins only when it is
/// itself a command, as with a slash command named after one (`/done 12`, whose argument is
/// just `12`), while `/weekbell done 12` hands over `done 12`.
fn command_text(full: &str, argument: Option<&str>, slash_command: bool) -> String {
    if slash_command && matches!(commands::parse(full), Parsed::Command { .. }) {
        return full.to_string();
    }
    argument.unwrap_or(full).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bearer_of, by_project, project_claims, published, run, token};
    use super::*;

    fn verified(body: &str) -> Result<Verdict, Refusal> {
        run(
            &by_project(),
            &bearer_of(&token(&project_claims())),
            body,
            &published(),
        )
    }

    #[test]
    fn event_formats() {
        // A slash command named after a command keeps its word; one named after the app
        // hands over its argument.
        let slash = |text: &str, arg: &str| {
            json!({"type": "MESSAGE", "user": {"name": "users/1", "type": "HUMAN"},
                   "message": {"name": "spaces/A/messages/B", "text": text, "argumentText": arg,
                               "slashCommand": {"commandId": "1"}}})
            .to_string()
        };
        let text_of = |body: &str| match verified(body) {
            Ok(Verdict::Message(m)) => m.text,
            other => panic!("{other:?}"),
        };
        assert_eq!(text_of(&slash("/done 12", " 12")), "/done 12");
        assert_eq!(text_of(&slash("/weekbell done 12", " done 12")), " done 12");
        // A direct message has no mention; its argumentText is the text.
        let dm = json!({"type": "MESSAGE", "user": {"name": "users/1"},
            "message": {"name": "spaces/D/messages/M", "text": "list mine"}})
        .to_string();
        assert_eq!(text_of(&dm), "list mine");
        // Being added: a greeting, or the command it was added with.
        let added = json!({"type": "ADDED_TO_SPACE", "user": {"name": "users/1"}, "space": {"name": "spaces/A"}}).to_string();
        assert_eq!(
            verified(&added),
            Ok(Verdict::Added {
                reply: ReplyRoute::GoogleChat { addon: false }
            })
        );
        let added_with = json!({"type": "ADDED_TO_SPACE", "user": {"name": "users/1"},
            "message": {"name": "spaces/A/messages/C", "text": "@weekbell status", "argumentText": " status"}}).to_string();
        assert_eq!(text_of(&added_with), " status");
        // Bots, removals and clicks are ignored; broken events are malformed.
        let bot = json!({"type": "MESSAGE", "user": {"name": "users/9", "type": "BOT"},
            "message": {"name": "spaces/A/messages/X", "text": "hi"}})
        .to_string();
        assert!(matches!(verified(&bot), Ok(Verdict::Ignore(_))));
        for ignored in [
            r#"{"type":"REMOVED_FROM_SPACE"}"#,
            r#"{"type":"CARD_CLICKED"}"#,
        ] {
            assert!(
                matches!(verified(ignored), Ok(Verdict::Ignore(_))),
                "{ignored}"
            );
        }
        for broken in [
            r#"{"type":"MESSAGE"}"#,
            r#"{"user":{}}"#,
            "[]",
            "{",
            r#"{"type":"MESSAGE","user":{"name":"users/1"},"message":{"text":"x"}}"#,
            r#"{"type":"MESSAGE","user":{"name":"bots/1"},"message":{"name":"m","text":"x"}}"#,
        ] {
            assert!(
                matches!(verified(broken), Err(Refusal::Malformed(_))),
                "{broken}"
            );
        }
    }

    #[test]
    fn workspace_addon_events() {
        let addon = |payload: &str, body: Value| {
            json!({"commonEventObject": {"hostApp": "CHAT"},
                   "authorizationEventObject": {"systemIdToken": "not read"},
                   "chat": {"user": {"name": "users/115236089054", "displayName": "Alice", "type": "HUMAN"},
                            "eventTime": "2025-12-05T07:00:00Z", payload: body}})
            .to_string()
        };
        let message = json!({"message": {"name": "spaces/A/messages/M1", "text": "@weekbell done 12",
                                         "argumentText": " done 12"}, "space": {"name": "spaces/A"}});
        let Ok(Verdict::Message(m)) = verified(&addon("messagePayload", message)) else {
            panic!("refused")
        };
        assert_eq!(m.text, " done 12");
        assert_eq!(m.message_id, "spaces/A/messages/M1");
        assert_eq!(m.reply, ReplyRoute::GoogleChat { addon: true });
        let command = json!({"appCommandMetadata": {"appCommandId": 1, "appCommandType": "SLASH_COMMAND"},
                             "message": {"name": "spaces/A/messages/M2", "text": "/weekbell list", "argumentText": " list"}});
        let Ok(Verdict::Message(m)) = verified(&addon("appCommandPayload", command)) else {
            panic!("refused")
        };
        assert_eq!(m.text, " list");
        assert_eq!(
            verified(&addon(
                "addedToSpacePayload",
                json!({"space": {"name": "spaces/A"}})
            )),
            Ok(Verdict::Added {
                reply: ReplyRoute::GoogleChat { addon: true }
            })
        );
        assert!(matches!(
            verified(&addon("buttonClickedPayload", json!({}))),
            Ok(Verdict::Ignore(_))
        ));
        assert!(matches!(
            verified(&addon("messagePayload", json!({}))),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn replies_take_the_events_format() {
        assert_eq!(reply_body("hi", false), json!({"text": "hi"}));
        assert_eq!(
            reply_body("hi", true),
            json!({"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": {"text": "hi"}}}}})
        );
    }
}

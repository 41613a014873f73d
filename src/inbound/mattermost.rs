//! Mattermost: custom slash commands and outgoing webhooks, both checked by their token.
//!
//! - A slash command is a form (`POST`, or the query of a `GET` when the command is set to
//!   GET) with `token`, `user_id`, `user_name`, `channel_id`, `command`, `text`,
//!   `trigger_id` and `response_url`; Mattermost 5 and later also send
//!   `Authorization: Token <token>`.
//! - An outgoing webhook fires on a trigger word in a public channel and posts JSON or a form
//!   with `token`, `post_id`, `user_id`, `user_name`, `channel_id`, `text` and
//!   `trigger_word`; the token is in the body only.
//!
//! The `Authorization` header is checked before the body is read. Without it the token can only
//! be in the body, which is then parsed just far enough to find it, and a `token` field that
//! disagrees with the header is refused as well. Every comparison is in constant time.
//!
//! Each integration has its own token, so a channel's `token` may list several, separated by
//! spaces or commas (the slash command's and the outgoing webhook's).
//!
//! Dedupe keys: a slash command's `trigger_id` (new for every use; an older server without it
//! gets the SHA-256 of the body, whose `response_url` is new for every use), an outgoing
//! webhook's `post_id`.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, configured, ct_eq, form_get,
    need, parse_form, parse_json, short,
};
use crate::config::{ChannelConfig, MattermostSettings};
use crate::secret::Secret;
use serde_json::Value;

pub const AUTHORIZATION_HEADER: &str = "authorization";

#[derive(Debug, Clone)]
pub struct MattermostInbound {
    /// One or more tokens, separated by spaces or commas.
    pub token: Secret,
}

/// The fields of a request, from a form or a JSON object, as strings.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, key: &str) -> Option<&str> {
        form_get(&self.0, key)
    }

    fn required(&self, key: &'static str, what: &str) -> Result<String, Refusal> {
        self.get(key)
            .map(str::to_string)
            .ok_or_else(|| Refusal::Malformed(format!("{what} field `{key}` is missing")))
    }
}

impl MattermostInbound {
    pub fn new(token: Secret) -> Self {
        MattermostInbound { token }
    }

    pub fn verify_and_parse(&self, req: &Request, _now_ms: i64) -> Result<Verdict, Refusal> {
        super::check_size(req.body)?;
        let get = req.is("GET");
        if !get && !req.is("POST") {
            return Err(Refusal::MethodNotAllowed(short(req.method)));
        }
        let tokens: Vec<&str> = configured(Some(&self.token))
            .map(|t| {
                t.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if tokens.is_empty() {
            return Err(Refusal::Misconfigured("Mattermost token"));
        }
        let header_token = match req.header(AUTHORIZATION_HEADER)? {
            Some(value) => {
                let given = value
                    .split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("token"))
                    .map(|(_, t)| t.trim())
                    .ok_or(Refusal::BadToken)?;
                if !matches_any(&tokens, given) {
                    return Err(Refusal::BadToken);
                }
                Some(given)
            }
            None => None,
        };
        // A GET command carries its fields in the query.
        let raw = if get { req.query.as_bytes() } else { req.body };
        let fields = if raw.trim_ascii_start().first() == Some(&b'{') {
            Fields(json_fields(&parse_json(
                raw,
                "Mattermost outgoing webhook",
            )?))
        } else {
            Fields(parse_form(raw)?)
        };
        match (fields.get("token"), header_token) {
            (Some(body_token), Some(header))
                if !ct_eq(body_token.as_bytes(), header.as_bytes()) =>
            {
                return Err(Refusal::BadToken);
            }
            (Some(body_token), None) if !matches_any(&tokens, body_token) => {
                return Err(Refusal::BadToken);
            }
            (None, None) => return Err(Refusal::MissingParam("token")),
            _ => {}
        }
        if fields.get("command").is_some() {
            parse_command(&fields, raw)
        } else if fields.get("post_id").is_some() {
            parse_outgoing(&fields)
        } else {
            Err(Refusal::Malformed(
                "neither a slash command (`command`) nor an outgoing webhook (`post_id`)".into(),
            ))
        }
    }
}

/// Whether `given` is one of the tokens; every token is compared, so the time taken does not
/// say which one matched.
fn matches_any(tokens: &[&str], given: &str) -> bool {
    tokens.iter().fold(false, |found, t| {
        ct_eq(t.as_bytes(), given.as_bytes()) | found
    })
}

/// An outgoing webhook's JSON, flattened to string fields (`timestamp` is a number).
fn json_fields(value: &Value) -> Vec<(String, String)> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect()
}

fn sender(fields: &Fields, what: &str) -> Result<Sender, Refusal> {
    Ok(Sender::Mattermost {
        user_id: fields.required("user_id", what)?,
        user_name: fields.get("user_name").map(str::to_string),
    })
}

fn parse_command(fields: &Fields, raw: &[u8]) -> Result<Verdict, Refusal> {
    let what = "slash command";
    let message_id = match fields.get("trigger_id") {
        Some(id) => id.to_string(),
        None => {
            use sha2::{Digest, Sha256};
            format!("body:{}", hex::encode(Sha256::digest(raw)))
        }
    };
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: sender(fields, what)?,
        sender_name: fields.get("user_name").map(str::to_string),
        // What follows the command word; empty for a bare `/weekbell`.
        text: fields
            .0
            .iter()
            .find(|(k, _)| k == "text")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        reply: ReplyRoute::MattermostCommand {
            channel_id: fields.required("channel_id", what)?,
        },
        retry: false,
    }))
}

fn parse_outgoing(fields: &Fields) -> Result<Verdict, Refusal> {
    let what = "outgoing webhook";
    let post_id = fields.required("post_id", what)?;
    let text = fields
        .0
        .iter()
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    Ok(Verdict::Message(InboundMessage {
        message_id: post_id.clone(),
        sender: sender(fields, what)?,
        sender_name: fields.get("user_name").map(str::to_string),
        text: strip_trigger(text, fields.get("trigger_word")).to_string(),
        reply: ReplyRoute::MattermostPost { post_id },
        retry: false,
    }))
}

/// The message without the trigger word it starts with (`weekbell done 12` → `done 12`).
/// Mattermost matches trigger words ignoring case.
fn strip_trigger<'t>(text: &'t str, trigger: Option<&str>) -> &'t str {
    let text = text.trim_start();
    let Some(trigger) = trigger.map(str::trim).filter(|t| !t.is_empty()) else {
        return text;
    };
    match text.get(..trigger.len()) {
        Some(head) if head.eq_ignore_ascii_case(trigger) => text[trigger.len()..].trim_start(),
        _ => text,
    }
}

/// The inline answer to a slash command: the first part in `text`, later parts (a long
/// digest) as `extra_responses`, each a post of its own. `skip_slack_parsing` stops Mattermost
/// from reading `<…>` in task text as Slack-style mentions and links.
pub fn command_answer(parts: &[String], ephemeral: bool) -> Value {
    let response_type = if ephemeral { "ephemeral" } else { "in_channel" };
    let response = |text: &str| {
        serde_json::json!({
            "response_type": response_type,
            "text": text,
            "skip_slack_parsing": true,
        })
    };
    let mut answer = response(parts.first().map_or("", String::as_str));
    if parts.len() > 1 {
        answer["extra_responses"] = Value::Array(parts[1..].iter().map(|p| response(p)).collect());
    }
    answer
}

/// The inline answer to an outgoing webhook: a reply in the message's thread. Mattermost
/// splits a text over its post size into several posts itself.
pub fn post_answer(text: &str) -> Value {
    serde_json::json!({ "text": text, "response_type": "comment" })
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &MattermostSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    MattermostInbound::new(need(&settings.token)?).verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    const COMMAND_TOKEN: &str = "xbxb8ctiffgd5d6huoc3pbqqpc";
    const OUTGOING_TOKEN: &str = "4m1ztuqcwbdqtfhsdrfr1mdaxy";

    /// A slash command's form exactly as the Mattermost server builds it (`url.Values`, so
    /// sorted by key), for `/weekbell done 12 已清理` by alice.
    fn command_form(text: &str, trigger: &str) -> String {
        let enc = crate::secret::percent_encode;
        format!(
            "channel_id=ee6yk8us7bfr5b4xrsarwpmq6c&channel_name=town-square&command=%2Fweekbell\
             &response_url=https%3A%2F%2Fchat.example.org%2Fhooks%2Fcommands%2Fqdtwzjiri3yb9gyfqefbfndhrc\
             &team_domain=county&team_id=oxqd4xfpg7bp5eq1w9tgqeqjrc&text={}&token={COMMAND_TOKEN}\
             &trigger_id={trigger}&user_id=ih5x7c4qdpyqdy4rcm9ju7ecxr&user_name=alice",
            enc(text)
        )
    }

    fn inbound() -> MattermostInbound {
        MattermostInbound::new(Secret::new(format!("{COMMAND_TOKEN}, {OUTGOING_TOKEN}")))
    }

    fn run(method: &str, query: &str, h: &HeaderMap, body: &str) -> Result<Verdict, Refusal> {
        let req = Request {
            method,
            query,
            headers: h,
            body: body.as_bytes(),
        };
        inbound().verify_and_parse(&req, 0)
    }

    fn auth(token: &str) -> HeaderMap {
        headers(&[(AUTHORIZATION_HEADER, &format!("Token {token}"))])
    }

    #[test]
    fn a_slash_command_becomes_a_message() {
        let body = command_form("done 12 已清理", "dGVzdA.c2ln");
        let Ok(Verdict::Message(m)) = run("POST", "", &auth(COMMAND_TOKEN), &body) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "dGVzdA.c2ln");
        assert_eq!(m.text, "done 12 已清理");
        assert_eq!(
            m.sender,
            Sender::Mattermost {
                user_id: "ih5x7c4qdpyqdy4rcm9ju7ecxr".into(),
                user_name: Some("alice".into())
            }
        );
        assert_eq!(m.sender.ids(), vec!["alice", "ih5x7c4qdpyqdy4rcm9ju7ecxr"]);
        assert_eq!(
            m.reply,
            ReplyRoute::MattermostCommand {
                channel_id: "ee6yk8us7bfr5b4xrsarwpmq6c".into()
            }
        );
        // A GET command: the same fields in the query; an old server: no header, no trigger id.
        let Ok(Verdict::Message(g)) = run("GET", &body, &auth(COMMAND_TOKEN), "") else {
            panic!("GET refused")
        };
        assert_eq!(g.text, "done 12 已清理");
        let old = body.replace("&trigger_id=dGVzdA.c2ln", "");
        let Ok(Verdict::Message(o)) = run("POST", "", &HeaderMap::new(), &old) else {
            panic!("old server refused")
        };
        assert!(o.message_id.starts_with("body:"), "{}", o.message_id);
    }

    #[test]
    fn an_outgoing_webhook_loses_its_trigger_word() {
        let body = json!({
            "token": OUTGOING_TOKEN, "team_id": "oxqd4xfpg7bp5eq1w9tgqeqjrc", "team_domain": "county",
            "channel_id": "ee6yk8us7bfr5b4xrsarwpmq6c", "channel_name": "town-square",
            "timestamp": 1_764_918_000_000_i64, "user_id": "ih5x7c4qdpyqdy4rcm9ju7ecxr",
            "user_name": "alice", "post_id": "t4ugyh3b1fyb8qnsdmg3fezqxh",
            "text": "Weekbell progress 4 60% 已清理三处", "trigger_word": "weekbell", "file_ids": ""
        })
        .to_string();
        let Ok(Verdict::Message(m)) = run("POST", "", &HeaderMap::new(), &body) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "t4ugyh3b1fyb8qnsdmg3fezqxh");
        assert_eq!(m.text, "progress 4 60% 已清理三处");
        assert_eq!(
            m.reply,
            ReplyRoute::MattermostPost {
                post_id: "t4ugyh3b1fyb8qnsdmg3fezqxh".into()
            }
        );
        // The same as a form.
        let form = format!(
            "channel_id=c&post_id=p1&text=weekbell+list&token={OUTGOING_TOKEN}&trigger_word=weekbell&user_id=u&user_name=alice"
        );
        let Ok(Verdict::Message(f)) = run("POST", "", &HeaderMap::new(), &form) else {
            panic!("form refused")
        };
        assert_eq!(f.text, "list");
    }

    #[test]
    fn refusals() {
        let body = command_form("done 12", "t1");
        // Wrong header token, a header for another scheme, and a body token that disagrees.
        assert_eq!(
            run("POST", "", &auth("nope"), &body),
            Err(Refusal::BadToken)
        );
        let bearer = headers(&[(AUTHORIZATION_HEADER, &format!("Bearer {COMMAND_TOKEN}"))]);
        assert_eq!(run("POST", "", &bearer, &body), Err(Refusal::BadToken));
        assert_eq!(
            run("POST", "", &auth(OUTGOING_TOKEN), &body),
            Err(Refusal::BadToken)
        );
        // No header: the body's token decides.
        let wrong = body.replace(COMMAND_TOKEN, "wrongwrongwrongwrongwrongw");
        assert_eq!(
            run("POST", "", &HeaderMap::new(), &wrong),
            Err(Refusal::BadToken)
        );
        let none = body.replace(&format!("&token={COMMAND_TOKEN}"), "");
        assert_eq!(
            run("POST", "", &HeaderMap::new(), &none),
            Err(Refusal::MissingParam("token"))
        );
        // With a good header and no body token, fine.
        assert!(run("POST", "", &auth(COMMAND_TOKEN), &none).is_ok());
        // Verified, but not what Mattermost sends.
        assert!(matches!(
            run("POST", "", &auth(COMMAND_TOKEN), "text=hi"),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            run("POST", "", &auth(COMMAND_TOKEN), "command=%2Fw&text=hi"),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            run("POST", "", &auth(COMMAND_TOKEN), "{\"post_id\": "),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            run("PUT", "", &auth(COMMAND_TOKEN), &body),
            Err(Refusal::MethodNotAllowed(_))
        ));
        let blank = MattermostInbound::new(Secret::new(" , "));
        let req = Request {
            method: "POST",
            query: "",
            headers: &auth(COMMAND_TOKEN),
            body: body.as_bytes(),
        };
        assert_eq!(
            blank.verify_and_parse(&req, 0),
            Err(Refusal::Misconfigured("Mattermost token"))
        );
    }

    #[test]
    fn answers() {
        let parts = vec!["(1/2)\na".to_string(), "(2/2)\nb".to_string()];
        assert_eq!(
            command_answer(&parts, false),
            json!({"response_type": "in_channel", "text": "(1/2)\na", "skip_slack_parsing": true,
                   "extra_responses": [{"response_type": "in_channel", "text": "(2/2)\nb", "skip_slack_parsing": true}]})
        );
        assert_eq!(
            command_answer(&parts[..1], true)["response_type"],
            "ephemeral"
        );
        assert!(
            command_answer(&parts[..1], true)
                .get("extra_responses")
                .is_none()
        );
        assert_eq!(
            post_answer("x"),
            json!({"text": "x", "response_type": "comment"})
        );
        assert_eq!(
            strip_trigger("  WeekBell  done 1", Some("weekbell")),
            "done 1"
        );
        assert_eq!(strip_trigger("done 1", Some("weekbell")), "done 1");
        assert_eq!(strip_trigger("完成 1", Some("周报机器人")), "完成 1");
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            query in "[ -~]{0,80}",
            header in "[ -~]{0,60}",
            get in any::<bool>(),
        ) {
            let h = headers(&[(AUTHORIZATION_HEADER, &header)]);
            let req = Request { method: if get { "GET" } else { "POST" }, query: &query, headers: &h, body: &body };
            let _ = inbound().verify_and_parse(&req, 0);
        }

        #[test]
        fn tokened_requests_never_panic(text in "\\PC{0,200}", trigger in "\\PC{0,12}", json_body in any::<bool>()) {
            let body = if json_body {
                json!({"token": OUTGOING_TOKEN, "post_id": "p", "user_id": "u", "text": text, "trigger_word": trigger}).to_string()
            } else {
                command_form(&text, "t")
            };
            let _ = run("POST", "", &HeaderMap::new(), &body);
        }
    }
}

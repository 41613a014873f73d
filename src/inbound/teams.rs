//! Microsoft Teams outgoing webhook: a team-scoped bot that Teams calls when someone
//! @mentions it in a public channel.
//!
//! `Authorization: HMAC <base64(HMAC-SHA256(key = base64decode(security_token), msg = body))>`,
//! the security token being the one Teams shows once when the webhook is created. The MAC
//! covers the raw body and nothing else: there is no timestamp, so a captured request could be
//! replayed; the activity `id` is the dedupe key, which makes a replay change nothing twice.
//!
//! The body is a Bot Framework activity: `type: message`, `id`, `text` (HTML, starting with the
//! webhook's own `<at>Name</at>`), `from {id, name, aadObjectId}`, `conversation {id}`,
//! `channelData {teamsChannelId, teamsTeamId, tenant}`. The answer goes back in the HTTP
//! response within 5 seconds, as a `type: message` activity; outgoing webhooks have no other
//! way to post.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, configured, need, parse_json,
    required_str, str_at, string_at,
};
use crate::config::{ChannelConfig, TeamsSettings, teams_token_key};
use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const AUTHORIZATION_HEADER: &str = "authorization";

#[derive(Debug, Clone)]
pub struct TeamsInbound {
    /// The webhook's security token, base64 as Teams shows it.
    pub security_token: Secret,
}

impl TeamsInbound {
    pub fn new(security_token: Secret) -> Self {
        TeamsInbound { security_token }
    }

    /// `now_ms` is unused (Teams signs no timestamp) but kept so every verifier has the same
    /// signature.
    pub fn verify_and_parse(&self, req: &Request, _now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        self.verify(req)?;
        parse_activity(req.body)
    }

    fn verify(&self, req: &Request) -> Result<(), Refusal> {
        let key = configured(Some(&self.security_token))
            .and_then(teams_token_key)
            .ok_or(Refusal::Misconfigured(
                "Teams security_token (base64, as Teams shows it)",
            ))?;
        let auth = req.required_header(AUTHORIZATION_HEADER)?;
        let given = match auth.split_once(' ') {
            Some((scheme, mac)) if scheme.eq_ignore_ascii_case("hmac") => mac.trim(),
            _ => return Err(Refusal::BadSignature),
        };
        let given = STANDARD.decode(given).map_err(|_| Refusal::BadSignature)?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| Refusal::Misconfigured("Teams security_token is not a usable key"))?;
        mac.update(req.body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)
    }
}

/// `HMAC <base64>` for a body, as Teams computes it; for tests and local tools that play Teams.
/// Empty when the token is not base64.
pub fn signature(security_token: &str, body: &[u8]) -> String {
    let Some(key) = teams_token_key(security_token) else {
        return String::new();
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(body);
    format!("HMAC {}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn parse_activity(body: &[u8]) -> Result<Verdict, Refusal> {
    let activity = parse_json(body, "Teams activity")?;
    if !activity.is_object() {
        return Err(Refusal::Malformed("Teams activity is not an object".into()));
    }
    if str_at(&activity, &["type"]) != Some("message") {
        return Ok(Verdict::Ignore("Teams activity other than a message"));
    }
    let message_id = required_str(&activity, &["id"])?;
    let user_id = required_str(&activity, &["from", "id"])?;
    let mut html = activity
        .get("text")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_string();
    // The webhook's own mention, wherever it was typed (`done 12 @weekbell`), is known by its
    // entity: bots have `28:` ids.
    for tag in bot_mentions(&activity) {
        html = html.replace(tag, " ");
    }
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::Teams {
            aad_object_id: string_at(&activity, &["from", "aadObjectId"]),
            user_id,
        },
        sender_name: string_at(&activity, &["from", "name"]),
        text: command_text(&html),
        reply: ReplyRoute::Teams,
        retry: false,
    }))
}

/// The `<at>…</at>` texts of the activity's mention entities that name a bot.
fn bot_mentions(activity: &serde_json::Value) -> Vec<&str> {
    activity
        .get("entities")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter(|e| str_at(e, &["type"]) == Some("mention"))
        .filter(|e| str_at(e, &["mentioned", "id"]).is_some_and(|id| id.starts_with("28:")))
        .filter_map(|e| str_at(e, &["text"]))
        .filter(|t| t.starts_with("<at") && t.len() <= 256)
        .collect()
}

/// The command in a message's HTML: the leading `<at>…</at>` mentions (the webhook itself, and
/// anyone @-ed before the command) dropped, later mentions kept as `@Name`, other tags
/// dropped, `<br>` and block ends turned into line breaks, and character references decoded.
pub fn command_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut leading = true;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, rest, &mut leading);
            break;
        };
        push_text(&mut out, &rest[..lt], &mut leading);
        let tag_and_after = &rest[lt..];
        let Some(gt) = tag_and_after.find('>') else {
            // A lone `<` is text, not markup.
            push_text(&mut out, tag_and_after, &mut leading);
            break;
        };
        let tag = &tag_and_after[1..gt];
        let after = &tag_and_after[gt + 1..];
        let name = tag_name(tag);
        if name.eq_ignore_ascii_case("at") && !tag.starts_with('/') {
            let close = find_ignore_case(after, "</at>");
            let (inner, next) = match close {
                Some(i) => (&after[..i], &after[i + "</at>".len()..]),
                None => (after, ""),
            };
            if !leading {
                out.push('@');
                push_text(&mut out, &strip_tags(inner), &mut leading);
            }
            rest = next;
            continue;
        }
        let breaks = name.eq_ignore_ascii_case("br")
            || (tag.starts_with('/')
                && ["p", "div", "li"]
                    .iter()
                    .any(|b| name.eq_ignore_ascii_case(b)));
        if breaks && !leading {
            out.push('\n');
        }
        rest = after;
    }
    out.trim().to_string()
}

/// Appends decoded text; the first non-blank text ends the leading mentions.
fn push_text(out: &mut String, raw: &str, leading: &mut bool) {
    let text = decode_entities(raw);
    if *leading {
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return;
        }
        *leading = false;
        out.push_str(trimmed);
    } else {
        out.push_str(&text);
    }
}

fn tag_name(tag: &str) -> &str {
    let t = tag.trim_start_matches('/');
    let end = t
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(t.len());
    &t[..end]
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack.char_indices().map(|(i, _)| i).find(|&i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(needle))
    })
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`/`&#39;`, `&nbsp;` and numeric references; an
/// unknown or broken reference stays as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let name = &after[..semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(if c == '\u{a0}' { ' ' } else { c });
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &TeamsSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    TeamsInbound::new(need(&settings.security_token)?).verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    /// The signing key of Microsoft's own outgoing-webhook example (the "contoso" entry of the
    /// SigningKeyDictionary in the Teams docs and OfficeDev's WebhookSampleBot).
    const TOKEN: &str = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=";

    /// An outgoing-webhook activity in the shape Teams sends (fields as in Microsoft's
    /// outgoing-webhook documentation and Bot Framework channel data).
    const BODY: &str = r#"{"type":"message","id":"1485983408511","timestamp":"2026-12-01T09:00:07.437Z","serviceUrl":"https://smba.trafficmanager.net/amer/","channelId":"msteams","from":{"id":"29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bw","name":"Megan Bowen","aadObjectId":"7faf80cb-3f56-4d82-b2de-e3d64fc06f2b"},"conversation":{"isGroup":true,"id":"19:253b1f341670408fb6fe51050b6e5ceb@thread.tacv2;messageid=1485983408511","name":null},"recipient":null,"textFormat":"plain","text":"<at>weekbell</at>&nbsp;done API-101 shipped\n","attachments":[{"contentType":"text/html","content":"<div><span itemscope=\"\" itemtype=\"http://schema.skype.com/Mention\" itemid=\"0\">weekbell</span>&nbsp;done API-101 shipped</div>"}],"entities":[{"type":"clientInfo","locale":"en-US","country":"US","platform":"Web"}],"channelData":{"teamsChannelId":"19:253b1f341670408fb6fe51050b6e5ceb@thread.tacv2","teamsTeamId":"19:712c61d0ef384e5fa681ba90ddc0d6f4@thread.tacv2","channel":{"id":"19:253b1f341670408fb6fe51050b6e5ceb@thread.tacv2"},"team":{"id":"19:712c61d0ef384e5fa681ba90ddc0d6f4@thread.tacv2"},"tenant":{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47"}}}"#;

    /// The known answer for `BODY` under `TOKEN`. Microsoft publishes this key with an
    /// Authorization value (`HMAC 03TCao0i55H1eVKUusZOTZRjtvYTs+mO41mPL+R1e1U=`) but not the
    /// message it was computed over, so the value here was computed independently, with
    /// Python's standard library over the bytes of `BODY` (saved to a file, no trailing
    /// newline):
    /// `base64.b64encode(hmac.new(base64.b64decode(TOKEN), body, hashlib.sha256).digest())`.
    const KNOWN: &str = "HMAC bYQ2wEg1qxoKOgxKZ+NYezkEAIfWKOmpsoIjhkZsYaw=";

    fn run(headers: &HeaderMap, body: &str) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers,
            body: body.as_bytes(),
        };
        TeamsInbound::new(Secret::new(TOKEN)).verify_and_parse(&req, 0)
    }

    fn signed(body: &str) -> HeaderMap {
        headers(&[(AUTHORIZATION_HEADER, &signature(TOKEN, body.as_bytes()))])
    }

    #[test]
    fn the_known_answer_verifies_and_parses() {
        assert_eq!(signature(TOKEN, BODY.as_bytes()), KNOWN);
        let Ok(Verdict::Message(m)) = run(&headers(&[(AUTHORIZATION_HEADER, KNOWN)]), BODY) else {
            panic!("the signed activity was refused")
        };
        assert_eq!(m.message_id, "1485983408511");
        assert_eq!(m.text, "done API-101 shipped");
        assert_eq!(m.sender_name.as_deref(), Some("Megan Bowen"));
        assert_eq!(m.reply, ReplyRoute::Teams);
        assert_eq!(
            m.sender.ids(),
            [
                "7faf80cb-3f56-4d82-b2de-e3d64fc06f2b",
                "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bw"
            ]
        );
    }

    #[test]
    fn refusals() {
        let good = headers(&[(AUTHORIZATION_HEADER, KNOWN)]);
        // Tampered body, wrong token, wrong scheme, not base64, missing header.
        let tampered = BODY.replace("API-101", "API-102");
        assert_eq!(run(&good, &tampered), Err(Refusal::BadSignature));
        let other = TeamsInbound::new(Secret::new("QgyNSToQjf4p6+YzDpjKks1/tXeJQ7FhVHqRwTnugVI="));
        let req = Request {
            method: "POST",
            query: "",
            headers: &good,
            body: BODY.as_bytes(),
        };
        assert_eq!(other.verify_and_parse(&req, 0), Err(Refusal::BadSignature));
        let bearer = headers(&[(AUTHORIZATION_HEADER, &KNOWN.replace("HMAC", "Bearer"))]);
        assert_eq!(run(&bearer, BODY), Err(Refusal::BadSignature));
        let lower = headers(&[(AUTHORIZATION_HEADER, &KNOWN.replace("HMAC", "hmac"))]);
        assert!(matches!(run(&lower, BODY), Ok(Verdict::Message(_))));
        let garbage = headers(&[(AUTHORIZATION_HEADER, "HMAC not*base64")]);
        assert_eq!(run(&garbage, BODY), Err(Refusal::BadSignature));
        assert_eq!(
            run(&HeaderMap::new(), BODY),
            Err(Refusal::MissingHeader(AUTHORIZATION_HEADER))
        );
        // A token that is not base64 is a configuration problem, not the sender's.
        let bad = TeamsInbound::new(Secret::new("not base64!"));
        assert!(matches!(
            bad.verify_and_parse(&req, 0),
            Err(Refusal::Misconfigured(_))
        ));
        // Signed but not a usable activity.
        for body in [
            "[1]",
            "{\"type\":\"message\"}",
            "{\"type\":\"message\",\"id\":\"1\"}",
            "{",
        ] {
            assert!(
                matches!(run(&signed(body), body), Err(Refusal::Malformed(_))),
                "{body}"
            );
        }
        let get = Request {
            method: "GET",
            ..req
        };
        assert!(matches!(
            TeamsInbound::new(Secret::new(TOKEN)).verify_and_parse(&get, 0),
            Err(Refusal::MethodNotAllowed(_))
        ));
    }

    #[test]
    fn the_webhooks_own_mention_is_dropped_wherever_it_is() {
        let body = serde_json::json!({"type": "message", "id": "9", "from": {"id": "29:a"},
            "text": "done 12 <at>weekbell</at> ask <at>Bob</at>",
            "entities": [
                {"type": "mention", "text": "<at>weekbell</at>", "mentioned": {"id": "28:6d2c0a9e-1b5f", "name": "weekbell"}},
                {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:1bob", "name": "Bob"}}
            ]})
        .to_string();
        let Ok(Verdict::Message(m)) = run(&signed(&body), &body) else {
            panic!("refused")
        };
        assert_eq!(m.text, "done 12   ask @Bob");
        assert!(matches!(
            crate::commands::parse(&m.text),
            crate::commands::Parsed::Command { .. }
        ));
    }

    #[test]
    fn other_activities_are_ignored() {
        let body = r#"{"type":"conversationUpdate","id":"1"}"#;
        assert!(matches!(run(&signed(body), body), Ok(Verdict::Ignore(_))));
    }

    #[test]
    fn the_command_is_read_out_of_the_html() {
        for (html, want) in [
            ("<at>weekbell</at> done 12", "done 12"),
            ("<at>weekbell</at>&nbsp;完成 12\n", "完成 12"),
            ("<p><at>weekbell</at> <at>Alice</at> list</p>", "list"),
            (
                "<AT>weekbell</AT>note 12 ask <at>Bob Li</at> &amp; co",
                "note 12 ask @Bob Li & co",
            ),
            (
                "<div><at>weekbell</at> block 7 a &lt;b&gt; c</div>",
                "block 7 a <b> c",
            ),
            (
                "<at>weekbell</at> report line one<br>line two",
                "report line one\nline two",
            ),
            (
                "<at>weekbell</at> note 1 x &#x4F60;&#22909; &bogus; &",
                "note 1 x 你好 &bogus; &",
            ),
            ("<at>weekbell</at> a < b", "a < b"),
            ("<at>weekbell", ""),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(command_text(html), want, "{html:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            auth in "[ -~]{0,80}",
            sign_it in any::<bool>(),
        ) {
            let auth = if sign_it { signature(TOKEN, &body) } else { auth };
            let h = headers(&[(AUTHORIZATION_HEADER, &auth)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = TeamsInbound::new(Secret::new(TOKEN)).verify_and_parse(&req, 0);
        }

        #[test]
        fn any_html_reads_without_panicking(html in "\\PC{0,200}") {
            let _ = command_text(&html);
            let body = serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:x"}, "text": html}).to_string();
            let _ = run(&signed(&body), &body);
        }
    }
}

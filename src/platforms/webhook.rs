//! The generic webhook: plain text plus structured mentions, for systems weekbell does not know.

use super::driver::Driver;
use super::{
    PreparedRequest, by_status, configured, hmac_sha256, json_body, json_headers, webhook_url,
};
use crate::config::ChannelConfig;
use crate::people::Person;
use crate::platforms::Outcome;
use crate::secret::Secret;
use crate::types::Platform;
use crate::types::{Dialect, Mention, OutboundPart};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

pub(super) const DIALECT: Dialect = Dialect::Plain;

/// Every configured person can be mentioned: the receiver gets their `webhook` handle when one is
/// configured, else their weekbell person id, which is stable and meaningful to a system that
/// shares the people list.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Webhook).unwrap_or_else(|| person.id.clone());
    Some(Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// `{"title", "text", "mentions": [{"id", "name"}]}`; the text shows mentions as `@Name`.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    let mentions: Vec<Value> = part
        .mentions
        .iter()
        .map(|m| {
            json!({
                "id": m.handle.as_deref().or(m.person_id.as_deref()),
                "name": m.name,
            })
        })
        .collect();
    json!({ "title": part.title, "text": part.text, "mentions": mentions })
}

// ---------------------------------------------------------------------------------------------
// Transport: body (default or templated), signing, reply by status.

/// Instructions one body template may execute; a body template is a few lines.
const TEMPLATE_FUEL: u64 = 1_000_000;

/// The largest body a template may produce.
const MAX_TEMPLATED_BODY: usize = 1024 * 1024;

/// The timestamp header of a signed request.
pub const TIMESTAMP_HEADER: &str = "X-Weekbell-Timestamp";

/// The signature header of a signed request.
pub const SIGNATURE_HEADER: &str = "X-Weekbell-Signature";

/// The value of [`SIGNATURE_HEADER`] for a request sent at `timestamp` (Unix seconds) with
/// `body`.
///
/// # Verifying weekbell's requests
///
/// When the channel has a `signing_secret`, every request carries two headers:
///
/// ```text
/// X-Weekbell-Timestamp: 1764918000
/// X-Weekbell-Signature: sha256=<hex>
/// ```
///
/// where `<hex>` is the lowercase hex HMAC-SHA256, keyed with the signing secret's UTF-8 bytes,
/// of the timestamp's decimal digits, a `.`, and the raw request body bytes exactly as received
/// (`"1764918000." + body`). A receiver should recompute it over the raw body before parsing
/// it, compare in constant time, and refuse timestamps more than five minutes from its own
/// clock. Each attempt is signed afresh, so a retried message carries a new timestamp.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> Result<String, Outcome> {
    let mut message = Vec::with_capacity(body.len() + 21);
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    let mac = hmac_sha256(secret.as_bytes(), &message)?;
    Ok(format!("sha256={}", hex::encode(mac)))
}

/// The body: [`request_body`]'s JSON, or the channel's `template` rendered with minijinja.
///
/// A template sees `title`, `text`, `mentions` (a list of `{id, name}`), `part` and `parts`
/// (1-based part number and count), and must render to valid JSON; write values through the
/// `tojson` filter so they are quoted and escaped: `{"msg": {{ text|tojson }}}`.
pub(super) fn body(channel: &ChannelConfig, part: &OutboundPart) -> Result<Vec<u8>, Outcome> {
    let mut value = request_body(part);
    let Some(template) = channel
        .settings
        .webhook()
        .and_then(|w| w.template.as_ref())
        .filter(|t| !t.trim().is_empty())
    else {
        return json_body(&value);
    };
    if let Some(fields) = value.as_object_mut() {
        fields.insert("part".into(), json!(part.part));
        fields.insert("parts".into(), json!(part.parts));
    }
    let hint = "fix the channel's `template`: it must render to JSON, with values written \
                through `tojson`, e.g. {\"msg\": {{ text|tojson }}}; it can use title, text, \
                mentions, part and parts";
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    // The built-in `tojson` writes an undefined value (a misspelt name) as `null`; a body
    // template should fail loudly instead.
    env.add_filter(
        "tojson",
        |value: &minijinja::Value,
         indent: Option<minijinja::Value>,
         args: minijinja::value::Kwargs|
         -> Result<minijinja::Value, minijinja::Error> {
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    "tojson was given an undefined value",
                ));
            }
            minijinja::filters::tojson(value, indent, args)
        },
    );
    let rendered = env
        .render_str(template, minijinja::value::Serde(&value))
        .map_err(|e| Outcome::Permanent {
            reason: format!("the webhook body template failed: {e}"),
            hint: hint.into(),
        })?;
    if rendered.len() > MAX_TEMPLATED_BODY {
        return Err(Outcome::Permanent {
            reason: format!(
                "the webhook body template produced {} bytes, more than the {MAX_TEMPLATED_BODY} \
                 allowed",
                rendered.len()
            ),
            hint: hint.into(),
        });
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&rendered) {
        return Err(Outcome::Permanent {
            reason: format!("the webhook body template did not produce valid JSON: {e}"),
            hint: hint.into(),
        });
    }
    Ok(rendered.into_bytes())
}

/// `POST <webhook>` with the JSON body and, when `signing_secret` is set, the
/// [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`] described at [`signature`].
pub(super) fn prepare(
    channel: &ChannelConfig,
    part: &OutboundPart,
    now: DateTime<Utc>,
) -> Result<PreparedRequest, Outcome> {
    let url = webhook_url(channel)?;
    let body = body(channel, part)?;
    let mut headers = json_headers();
    let secret = configured(
        channel
            .settings
            .webhook()
            .and_then(|w| w.signing_secret.as_ref()),
    )
    .or_else(|| configured(channel.secret.as_ref()));
    if let Some(secret) = secret {
        let timestamp = now.timestamp();
        let signature = signature(secret.trim(), timestamp, &body)?;
        headers.push((TIMESTAMP_HEADER.to_string(), timestamp.to_string()));
        headers.push((SIGNATURE_HEADER.to_string(), signature));
    }
    Ok(PreparedRequest {
        url: Secret::new(String::from(url)),
        headers,
        body,
    })
}

/// A generic receiver speaks only HTTP: 2xx is delivered, 429 waits (`Retry-After`, else
/// [`DEFAULT_WAIT`](crate::platforms::DEFAULT_WAIT)), 408 and 5xx are retried, redirects and
/// other 4xx are permanent.
pub(super) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    by_status("the webhook", status, retry_after, body)
}

/// The generic webhook's driver: plain text, mentions by configured id, a body of its own or
/// from the channel's template, signed with `X-Weekbell-Signature`, judged by HTTP status.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    mention_for: |person, _| mention_for(person),
    ..Driver::PLAIN
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlatformSettings, WebhookSettings};
    use crate::platforms::test_support::{channel, header, now, part};

    const URL: &str = "https://oa.example.gov.cn/api/weekbell/hook-8f2e1d0c";

    #[test]
    fn signature_known_answer() {
        // Cross-checked with Python:
        //   hmac.new(b"whsec-test-123", b"1764918000." + body, sha256).hexdigest()
        let body = br#"{"title":"t","text":"x","mentions":[]}"#;
        assert_eq!(
            signature("whsec-test-123", 1_764_918_000, body)
                .ok()
                .as_deref(),
            Some("sha256=fcb18d3f2f16bd56bddc006e59d58285e010f4e2a0938612684b7d675769fa01")
        );
    }

    fn with_template(template: &str) -> PlatformSettings {
        PlatformSettings::Webhook(WebhookSettings {
            template: Some(template.into()),
            ..Default::default()
        })
    }

    #[test]
    fn default_body_and_signature_headers() {
        let mut ch = channel(Platform::Webhook, URL, None);
        ch.settings = PlatformSettings::Webhook(WebhookSettings {
            signing_secret: Some(Secret::new("whsec-test-123")),
            ..Default::default()
        });
        let req = Platform::Webhook.prepare(&ch, &part(), now());
        let Ok(req) = req else {
            panic!("prepare failed: {req:?}")
        };
        assert_eq!(req.url.expose(), URL);
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body, request_body(&part()));
        assert_eq!(header(&req, TIMESTAMP_HEADER), Some("1764918000"));
        let expected = signature("whsec-test-123", 1_764_918_000, &req.body).ok();
        assert_eq!(header(&req, SIGNATURE_HEADER), expected.as_deref());

        // An empty secret (`"${VAR:-}"` with VAR unset) means unsigned.
        ch.settings = PlatformSettings::Webhook(WebhookSettings {
            signing_secret: Some(Secret::new("")),
            ..Default::default()
        });
        let req = Platform::Webhook.prepare(&ch, &part(), now());
        assert!(req.is_ok_and(|r| header(&r, SIGNATURE_HEADER).is_none()));
    }

    #[test]
    fn template_renders_json() {
        let mut ch = channel(Platform::Webhook, URL, None);
        ch.settings = with_template(
            r#"{"msgtype": "text", "content": {{ (title ~ "\n" ~ text)|tojson }},
                "at": {{ mentions|map(attribute="id")|list|tojson }}, "seq": "{{ part }}/{{ parts }}"}"#,
        );
        let body = body(&ch, &part()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(body["msgtype"], "text");
        assert_eq!(
            body["content"],
            format!("{}\n{}", part().title, part().text)
        );
        assert_eq!(body["at"], json!(["staff-0001"]));
        assert_eq!(body["seq"], "1/2");
    }

    #[test]
    fn template_errors_are_permanent() {
        for template in [
            r#"{"text": {{ text }}}"#,             // not quoted: invalid JSON
            r#"{"text": {{ nosuchvar|tojson }}}"#, // undefined
            r#"{"text": {% if %}}"#,               // syntax error
        ] {
            let mut ch = channel(Platform::Webhook, URL, None);
            ch.settings = with_template(template);
            let got = Platform::Webhook.prepare(&ch, &part(), now());
            let Err(Outcome::Permanent { reason, hint }) = got else {
                panic!("{template}: {got:?}")
            };
            assert!(reason.starts_with("the webhook body template"), "{reason}");
            assert!(hint.contains("tojson"));
        }
    }

    #[test]
    fn replies_by_status() {
        let cases: &[(u16, &str)] = &[
            (200, "sent"),
            (201, "sent"),
            (202, "sent"),
            (204, "sent"),
            (302, "permanent"),
            (400, "permanent"),
            (401, "permanent"),
            (403, "permanent"),
            (404, "permanent"),
            (408, "retry"),
            (413, "permanent"),
            (429, "wait"),
            (500, "retry"),
            (503, "retry"),
        ];
        for &(status, want) in cases {
            let got = match classify(status, None, b"") {
                Outcome::Sent => "sent",
                Outcome::Retry { .. } => "retry",
                Outcome::Wait { .. } => "wait",
                Outcome::Permanent { .. } => "permanent",
            };
            assert_eq!(got, want, "HTTP {status}");
        }
    }
}

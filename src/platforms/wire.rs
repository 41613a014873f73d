//! Small pieces the per-platform files share to build requests and read replies: the webhook
//! as a URL, configured secrets, HMAC signing, JSON bodies and fields.

use super::Outcome;
use crate::config::ChannelConfig;
use crate::secret::Secret;

/// The channel's webhook as an http(s) URL.
pub(crate) fn webhook_url(channel: &ChannelConfig) -> Result<reqwest::Url, Outcome> {
    let Some(webhook) = channel.webhook.as_ref() else {
        return Err(Outcome::Permanent {
            reason: format!("channel `{}` has no webhook address", channel.name),
            hint: format!(
                "add `webhook = \"${{SOME_ENV_VAR}}\"` to [channels.{}]",
                channel.name
            ),
        });
    };
    let raw = webhook.expose().trim();
    match reqwest::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err(Outcome::Permanent {
            reason: format!(
                "channel `{}`'s webhook is not an http:// or https:// address",
                channel.name
            ),
            hint: "paste the whole webhook address from the platform's robot settings".into(),
        }),
    }
}

/// A configured secret, or `None` when it is unset or empty (`"${VAR:-}"` with `VAR` unset).
pub(crate) fn configured(secret: Option<&Secret>) -> Option<&str> {
    secret.map(Secret::expose).filter(|s| !s.trim().is_empty())
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Result<Vec<u8>, Outcome> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).map_err(|_| Outcome::Permanent {
            reason: "the signing secret cannot be used as an HMAC key".into(),
            hint: "check the channel's signing secret".into(),
        })?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Serializes a request body.
pub(crate) fn json_body(value: &serde_json::Value) -> Result<Vec<u8>, Outcome> {
    serde_json::to_vec(value).map_err(|e| Outcome::Permanent {
        reason: format!("the message could not be written as JSON: {e}"),
        hint: "this is a weekbell bug; please report it".into(),
    })
}

/// `Content-Type: application/json; charset=utf-8`.
pub(crate) fn json_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".to_string(),
        "application/json; charset=utf-8".to_string(),
    )]
}

/// Reads an integer field that some platforms send as a number and some proxies as a string.
pub(crate) fn int_field(value: &serde_json::Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn str_field<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(serde_json::Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::*;
    use crate::types::Platform;

    #[test]
    fn missing_or_bad_webhooks_are_permanent() {
        let mut ch = channel(Platform::Slack, "ftp://example.com/x", None);
        let err = webhook_url(&ch).err();
        assert!(matches!(err, Some(Outcome::Permanent { .. })), "{err:?}");
        ch.webhook = None;
        assert!(matches!(webhook_url(&ch), Err(Outcome::Permanent { .. })));
    }

    #[test]
    fn empty_secrets_count_as_unset() {
        assert_eq!(configured(Some(&Secret::new(""))), None);
        assert_eq!(configured(Some(&Secret::new("  "))), None);
        assert_eq!(configured(Some(&Secret::new("SECx"))), Some("SECx"));
    }
}

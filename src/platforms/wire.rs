//! Small pieces the per-platform files share to build requests and read replies: the webhook
//! as a URL, configured secrets, HMAC signing, JSON bodies and fields.

use super::Outcome;
use crate::config::ChannelConfig;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

/// Access tokens an app's credentials were exchanged for, kept until shortly before they
/// expire: Feishu's tenant token and DingTalk's app token both last two hours, and both
/// platforms limit how often a new one may be asked for.
pub(crate) struct TokenCache {
    tokens: std::sync::Mutex<BTreeMap<TokenKey, (Secret, Instant)>>,
}

/// Whose token: the API base (a test's local stand-in has its own) and the app's id.
pub(crate) type TokenKey = (String, String);

/// A cached token is refreshed this long before the platform says it expires.
pub(crate) const TOKEN_EARLY: Duration = Duration::from_secs(300);

impl TokenCache {
    pub(crate) const fn new() -> Self {
        TokenCache {
            tokens: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The token for `key`, unless it is about to expire.
    pub(crate) fn get(&self, key: &TokenKey) -> Option<Secret> {
        let tokens = self.tokens.lock().ok()?;
        let (token, until) = tokens.get(key)?;
        (Instant::now() < *until).then(|| token.clone())
    }

    /// Keeps `token` for `expires_in_secs` (as the platform said) less [`TOKEN_EARLY`].
    pub(crate) fn put(&self, key: TokenKey, token: Secret, expires_in_secs: u64) {
        let lifetime = Duration::from_secs(expires_in_secs).saturating_sub(TOKEN_EARLY);
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(key, (token, Instant::now() + lifetime));
        }
    }

    /// Drops the token for `key`: the platform said it is no longer valid.
    pub(crate) fn forget(&self, key: &TokenKey) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(key);
        }
    }
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

#[cfg(test)]
mod token_cache_tests {
    use super::*;

    #[test]
    fn a_token_is_kept_until_shortly_before_it_expires_and_forgotten_on_request() {
        let cache = TokenCache::new();
        let key = ("http://127.0.0.1:1".to_string(), "app".to_string());
        cache.put(key.clone(), Secret::new("t-1"), 7200);
        assert_eq!(
            cache.get(&key).map(|t| t.expose().to_string()),
            Some("t-1".into())
        );
        cache.forget(&key);
        assert!(cache.get(&key).is_none());
        // A token that lives less than the early margin is never handed out.
        cache.put(key.clone(), Secret::new("t-2"), 60);
        assert!(cache.get(&key).is_none());
    }
}

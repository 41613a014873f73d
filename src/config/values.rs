//! The syntax of the platform-specific values a channel holds (keys, ids, audiences),
//! parsed here once, when the config is read, so that a bad value is a config error with its
//! line, and the code that later uses one (the inbound verifiers, the transports) need not
//! import anything above the config.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;

/// Who a Google Chat token must be for: the channel's `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The Google Cloud project number: a JWT from Google Chat's issuer (`chat@system.gserviceaccount.com`).
    ProjectNumber(String),
    /// The app's HTTP endpoint URL: a Google ID token.
    Endpoint(String),
}

impl Audience {
    /// A project number (digits) or an http(s) URL; `None` for anything else.
    pub fn parse(text: &str) -> Option<Audience> {
        let text = text.trim();
        if !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Audience::ProjectNumber(text.to_string()));
        }
        match reqwest::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Some(Audience::Endpoint(text.to_string()))
            }
            _ => None,
        }
    }
}

/// Whether `email` is a project's Workspace add-on service account,
/// `service-<digits>@gcp-sa-gsuiteaddons.iam.gserviceaccount.com`.
pub fn is_addon_service_account(email: &str) -> bool {
    email
        .strip_prefix("service-")
        .and_then(|r| r.strip_suffix("@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A Discord application's Ed25519 public key from its hex form (`public_key`).
pub fn discord_public_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The HMAC key bytes of a Teams outgoing webhook's security token; `None` when it is not
/// base64.
pub fn teams_token_key(token: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(token.trim())
        .ok()
        .filter(|key| !key.is_empty())
}

/// A numeric Telegram user id.
pub fn is_telegram_user_id(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A Telegram username, with or without its `@`.
pub fn is_telegram_username(s: &str) -> bool {
    let name = s.strip_prefix('@').unwrap_or(s);
    (5..=32).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A Telegram chat a channel may name in `chat_id`: a numeric id (a group's is negative) or a
/// public channel's `@username`.
pub fn is_telegram_chat(raw: &str) -> bool {
    raw.parse::<i64>().is_ok() || (raw.starts_with('@') && is_telegram_username(raw))
}

//! The daemon's copy of Google's public signing keys for [`crate::inbound::googlechat`]'s verifier:
//! fetched from Google (or read from a file an admin placed, for offices that cannot reach
//! googleapis.com), kept for as long as Google's `Cache-Control: max-age` says, and fetched
//! again early when a token names a key id the copy lacks — Google publishes a new key before
//! it signs with it, so an unknown id usually means the copy is old.
//!
//! Fetches are bounded so that requests cannot drive them: one source is fetched at most once
//! per [`MIN_REFETCH`] (a request with a made-up key id waits for no fetch and is simply
//! refused) or, while no keys could be loaded at all, once per [`RETRY_WITHOUT_KEYS`]; one
//! fetch runs at a time per cache; and a failed fetch keeps the keys already held.

use crate::config::Audience;
use crate::config::ChannelConfig;
use crate::inbound::googlechat::{KeySet, KeysError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The shortest time between two fetches of one source.
pub const MIN_REFETCH: Duration = Duration::from_secs(5 * 60);

/// While no keys are held, the shortest time between two attempts.
pub const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(30);

/// How long keys are kept when the source says nothing (a file, or no `max-age`).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// `max-age` is honoured between these bounds.
const MAX_AGE_RANGE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(24 * 60 * 60));

/// Google's key sets are a few kilobytes.
const MAX_KEYS_BYTES: usize = 256 * 1024;

/// Where a channel's keys come from: its `certs` option, or Google's URL for its audience.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySource {
    Url(String),
    File(PathBuf),
}

impl KeySource {
    /// `certs` as configured (an http(s) URL or a path, already resolved against the config
    /// file's directory), else the default for `audience`.
    pub fn for_channel(channel: &ChannelConfig, audience: &Audience) -> KeySource {
        let certs = channel
            .settings
            .googlechat()
            .and_then(|g| g.certs.as_deref());
        match certs.map(str::trim) {
            Some(c) if c.starts_with("https://") || c.starts_with("http://") => {
                KeySource::Url(c.to_string())
            }
            Some(c) if !c.is_empty() => KeySource::File(PathBuf::from(c)),
            _ => KeySource::Url(crate::inbound::googlechat::default_certs(audience).to_string()),
        }
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Url(u) => f.write_str(u),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why no keys are available at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot load Google's signing keys from {source_name}: {why}")]
pub struct KeysUnavailable {
    source_name: String,
    why: String,
}

/// Why one load of a key set failed.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    #[error("over {MAX_KEYS_BYTES} bytes, not a key set")]
    TooLarge,
    #[error(transparent)]
    Parse(#[from] KeysError),
    #[error("timed out")]
    TimedOut,
    /// Without its URL.
    #[error(transparent)]
    Request(reqwest::Error),
    #[error("HTTP {0}")]
    Status(u16),
}

struct Entry {
    /// `None` until a load succeeds.
    keys: Option<Arc<KeySet>>,
    fresh_until: Instant,
    last_fetch: Instant,
    last_error: String,
}

/// Shared by the daemon's request handlers.
pub struct GoogleKeys {
    client: reqwest::Client,
    entries: Mutex<HashMap<KeySource, Entry>>,
}

impl GoogleKeys {
    /// `client` should have a short timeout: a request waits for the fetch.
    pub fn new(client: reqwest::Client) -> Self {
        GoogleKeys {
            client,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `source`, fetched first if none are held, if they are stale, or if they lack
    /// `kid` — each at most once per [`MIN_REFETCH`].
    pub async fn get(
        &self,
        source: &KeySource,
        kid: Option<&str>,
    ) -> Result<Arc<KeySet>, KeysUnavailable> {
        let mut entries = self.entries.lock().await;
        let now = Instant::now();
        if let Some(entry) = entries.get(source) {
            let since = now.duration_since(entry.last_fetch);
            match &entry.keys {
                Some(keys) => {
                    let wanted = kid.is_none_or(|k| keys.contains(k));
                    if (wanted && now < entry.fresh_until) || since < MIN_REFETCH {
                        return Ok(keys.clone());
                    }
                }
                None if since < RETRY_WITHOUT_KEYS => {
                    return Err(KeysUnavailable {
                        source_name: source.to_string(),
                        why: entry.last_error.clone(),
                    });
                }
                None => {}
            }
        }
        let loaded = self.load(source).await;
        let entry = entries.entry(source.clone()).or_insert_with(|| Entry {
            keys: None,
            fresh_until: now,
            last_fetch: now,
            last_error: String::new(),
        });
        entry.last_fetch = now;
        match loaded {
            Ok((keys, max_age)) => {
                tracing::info!(source = %source, keys = keys.len(), "loaded Google's signing keys");
                let keys = Arc::new(keys);
                entry.keys = Some(keys.clone());
                entry.fresh_until = now + max_age;
                Ok(keys)
            }
            Err(why) => match &entry.keys {
                Some(keys) => {
                    tracing::warn!(source = %source, "cannot refresh Google's signing keys; keeping the ones held: {why}");
                    Ok(keys.clone())
                }
                None => {
                    let why = why.to_string();
                    entry.last_error = why.clone();
                    Err(KeysUnavailable {
                        source_name: source.to_string(),
                        why,
                    })
                }
            },
        }
    }

    async fn load(&self, source: &KeySource) -> Result<(KeySet, Duration), LoadError> {
        let (bytes, max_age) = match source {
            KeySource::File(path) => {
                let bytes = tokio::fs::read(path).await.map_err(LoadError::Read)?;
                (bytes, DEFAULT_MAX_AGE)
            }
            KeySource::Url(url) => self.fetch(url).await?,
        };
        if bytes.len() > MAX_KEYS_BYTES {
            return Err(LoadError::TooLarge);
        }
        Ok((KeySet::parse(&bytes)?, max_age))
    }

    async fn fetch(&self, url: &str) -> Result<(Vec<u8>, Duration), LoadError> {
        let describe = |e: reqwest::Error| {
            if e.is_timeout() {
                LoadError::TimedOut
            } else {
                LoadError::Request(e.without_url())
            }
        };
        let mut response = self.client.get(url).send().await.map_err(describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(LoadError::Status(status.as_u16()));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_KEYS_BYTES {
                break;
            }
        }
        Ok((body, max_age))
    }
}

/// `max-age=N` of a Cache-Control header, within [`MAX_AGE_RANGE`]; `None` without one, or
/// with `no-store`/`no-cache` (kept for the shortest time then).
fn max_age(header: &str) -> Option<Duration> {
    let mut age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(MAX_AGE_RANGE.0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age.map(|a| a.clamp(MAX_AGE_RANGE.0, MAX_AGE_RANGE.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_read_within_bounds() {
        assert_eq!(
            max_age("public, max-age=19845, must-revalidate, no-transform"),
            Some(Duration::from_secs(19845))
        );
        assert_eq!(max_age("max-age=5"), Some(MAX_AGE_RANGE.0));
        assert_eq!(max_age("max-age=99999999"), Some(MAX_AGE_RANGE.1));
        assert_eq!(max_age("no-cache"), Some(MAX_AGE_RANGE.0));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    fn channel() -> ChannelConfig {
        ChannelConfig {
            name: "chat".into(),
            platform: crate::types::Platform::Googlechat,
            webhook: None,
            secret: None,
            settings: crate::config::PlatformSettings::empty(crate::types::Platform::Googlechat),
            template_dir: None,
            filter: Default::default(),
            max_message_size: None,
            rate_limit: None,
            locale: None,
        }
    }

    fn certs(at: &str) -> crate::config::PlatformSettings {
        crate::config::PlatformSettings::Googlechat(crate::config::GoogleChatSettings {
            certs: Some(at.into()),
            ..Default::default()
        })
    }

    #[test]
    fn sources_come_from_certs_or_the_audience() {
        let mut ch = channel();
        let project = Audience::ProjectNumber("1".into());
        assert_eq!(
            KeySource::for_channel(&ch, &project),
            KeySource::Url(crate::inbound::googlechat::CHAT_CERTS_URL.into())
        );
        assert_eq!(
            KeySource::for_channel(&ch, &Audience::Endpoint("https://x.test/h".into())),
            KeySource::Url(crate::inbound::googlechat::GOOGLE_CERTS_URL.into())
        );
        ch.settings = certs("https://keys.internal/google.json");
        assert_eq!(
            KeySource::for_channel(&ch, &project),
            KeySource::Url("https://keys.internal/google.json".into())
        );
        ch.settings = certs("/etc/weekbell/google.json");
        assert_eq!(
            KeySource::for_channel(&ch, &project),
            KeySource::File(PathBuf::from("/etc/weekbell/google.json"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refetches_are_bounded_and_failures_keep_the_keys_held() {
        use crate::inbound::googlechat::test_support::{KEYS, jwks};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("google.json");
        let source = KeySource::File(path.clone());
        let cache = GoogleKeys::new(reqwest::Client::new());
        assert!(cache.get(&source, Some(KEYS[0].kid)).await.is_err());

        // Without keys, attempts are spaced too, but more closely.
        std::fs::write(&path, jwks(&[&KEYS[0]])).expect("write");
        assert!(cache.get(&source, Some(KEYS[0].kid)).await.is_err());
        tokio::time::advance(RETRY_WITHOUT_KEYS).await;
        let keys = cache.get(&source, Some(KEYS[0].kid)).await.expect("keys");
        assert!(keys.contains(KEYS[0].kid));

        // A new key appears, but a token naming it cannot make the cache read again yet.
        std::fs::write(&path, jwks(&[&KEYS[0], &KEYS[1]])).expect("write");
        let keys = cache.get(&source, Some(KEYS[1].kid)).await.expect("keys");
        assert!(!keys.contains(KEYS[1].kid));
        tokio::time::advance(MIN_REFETCH).await;
        let keys = cache.get(&source, Some(KEYS[1].kid)).await.expect("keys");
        assert!(keys.contains(KEYS[1].kid));

        // Known keys are served until they go stale; a failed refresh keeps them.
        std::fs::write(&path, b"not json").expect("write");
        tokio::time::advance(MIN_REFETCH).await;
        let keys = cache.get(&source, Some(KEYS[0].kid)).await.expect("keys");
        assert_eq!(keys.len(), 2);
        tokio::time::advance(DEFAULT_MAX_AGE).await;
        let keys = cache.get(&source, Some(KEYS[0].kid)).await.expect("kept");
        assert_eq!(keys.len(), 2);
    }
}

//! Sending one prepared request: the one HTTP client, the POST with its reply read up to a
//! cap, `Retry-After`, and transport errors turned into outcomes in plain words.
//!
//! Webhook URLs carry the token, so [`PreparedRequest`] keeps the URL in a [`Secret`] and
//! reqwest errors are stripped of their URL (`without_url`) before they are formatted.

use super::{MAX_WAIT, Outcome};
use crate::secret::Secret;
use crate::types::Platform;
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::{Duration, Instant};

/// One HTTP request, ready to send: `POST url` with `headers` and `body`.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// The webhook URL plus any signing query; it holds the token, so it is a [`Secret`].
    pub url: Secret,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Shows the headers and the body, never the URL.
impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// The most of a reply body that is read; platform replies are a few hundred bytes.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// How long one outbound request (a message, a reply, a bootstrap call) may take, connecting
/// included: platforms answer in well under a second when they are healthy.
///
/// Not the server's `REQUEST_TIMEOUT`, though both are 10 s: that one bounds what a peer may
/// make us hold (a request trickling in), this one how long we wait on a platform, and either
/// may move without the other.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no HTTP client could be built (the system's root certificates unreadable, most likely).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {detail}")]
pub struct ClientError {
    detail: String,
}

/// The one HTTP client builder: `timeout` for the whole exchange ([`SEND_TIMEOUT`] for
/// sending), no redirects (a webhook that redirects has moved, and following it would send the
/// message somewhere nobody configured), and a `weekbell/<version>` user agent. Proxies come
/// from the usual environment variables.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("weekbell/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError {
            detail: error_chain(&e.without_url()),
        })
}

pub(super) async fn send(
    client: &reqwest::Client,
    platform: Platform,
    request: PreparedRequest,
    now: DateTime<Utc>,
) -> Outcome {
    match exchange(client, request, now).await {
        Ok(reply) => platform.classify(reply.status, reply.retry_after, &reply.body),
        Err(outcome) => outcome,
    }
}

/// A platform's answer, before [`Platform::classify`] reads it.
pub(super) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// At most [`MAX_REPLY_BYTES`].
    pub body: Vec<u8>,
}

/// Posts `request` and reads the answer; `Err` with the outcome when none came.
pub(super) async fn exchange(
    client: &reqwest::Client,
    request: PreparedRequest,
    now: DateTime<Utc>,
) -> Result<Reply, Outcome> {
    let mut builder = client.post(request.url.expose());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let started = Instant::now();
    let mut response = match builder.body(request.body).send().await {
        Ok(response) => response,
        Err(e) => return Err(transport_outcome(e, started.elapsed())),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    match read_capped(&mut response).await {
        Ok(body) => Ok(Reply {
            status,
            retry_after,
            body,
        }),
        Err(e) => Err(transport_outcome(e, started.elapsed())),
    }
}

async fn read_capped(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_REPLY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_REPLY_BYTES {
            break;
        }
    }
    Ok(body)
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date taken relative to `now`. Capped
/// at [`MAX_WAIT`]; a date in the past gives zero.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())).ok()?
    } else {
        let when = DateTime::parse_from_rfc2822(value).ok()?;
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_WAIT))
}

/// Turns a reqwest error into an outcome in plain words, without the URL.
fn transport_outcome(error: reqwest::Error, elapsed: Duration) -> Outcome {
    let error = error.without_url();
    let chain = error_chain(&error);
    let secs = elapsed.as_secs_f64();
    if error.is_timeout() || io_kind(&error) == Some(std::io::ErrorKind::TimedOut) {
        return Outcome::Retry {
            reason: format!("timed out after {secs:.1} s waiting for the platform to answer"),
        };
    }
    if error.is_builder() {
        return Outcome::Permanent {
            reason: format!("the request could not be built: {chain}"),
            hint: "check that `webhook` is the whole http:// or https:// address".into(),
        };
    }
    if error.is_redirect() {
        return Outcome::Permanent {
            reason: "the webhook address redirects too many times".into(),
            hint: "paste the webhook's final address into `webhook`".into(),
        };
    }
    use std::io::ErrorKind as K;
    let reason = match io_kind(&error) {
        Some(K::ConnectionRefused) => "connection refused: nothing is listening at the webhook's \
                                       host and port, or a firewall turned the connection away"
            .to_string(),
        Some(K::ConnectionReset | K::ConnectionAborted) => {
            "the connection was reset before the platform answered".to_string()
        }
        Some(K::UnexpectedEof | K::BrokenPipe) => {
            "the platform closed the connection before answering".to_string()
        }
        Some(K::NetworkUnreachable | K::HostUnreachable) => {
            "the webhook's host is unreachable from this server".to_string()
        }
        _ if chain.contains("dns error") => {
            format!("could not resolve the webhook's host name: {chain}")
        }
        _ if chain.contains("connection closed before message completed") => {
            "the platform closed the connection before answering".to_string()
        }
        _ if error.is_connect() => format!("could not connect to the webhook's host: {chain}"),
        _ => format!("the request failed: {chain}"),
    };
    Outcome::Retry { reason }
}

fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

/// The error and its sources, joined with ": ", repeated messages dropped.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::test_support::*;
    use crate::platforms::wire::json_headers;

    #[test]
    fn retry_after_seconds_dates_and_caps() {
        let now = now();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 2025-12-05T07:00:00Z + 90 s.
        assert_eq!(
            parse_retry_after("Fri, 05 Dec 2025 07:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Fri, 05 Dec 2025 06:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("99999999999", now), Some(MAX_WAIT));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn prepared_request_debug_hides_the_url() {
        let req = PreparedRequest {
            url: Secret::new("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"),
            headers: json_headers(),
            body: b"{}".to_vec(),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("abcdef123456"), "{shown}");
        assert!(!shown.contains("oapi.dingtalk.com"), "{shown}");
        assert!(shown.contains("application/json"), "{shown}");
    }
}

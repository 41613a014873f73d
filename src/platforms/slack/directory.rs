//! Slack's `users.lookupByEmail` with the app's bot token (scope `users:read.email`): an
//! email to a member id, or `users_not_found`. Rate-limited as Tier 3 (50+ a minute): an
//! HTTP 429 with `Retry-After`.

use super::super::sending::exchange;
use super::super::{Outcome, PreparedRequest, configured, str_field};
use crate::config::{ChannelConfig, PlatformSettings};
use crate::secret::{Secret, percent_encode};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// Slack's Web API; the channel's `api_base` replaces it (tests use a local stand-in).
const DEFAULT_API_BASE: &str = "https://slack.com";

/// How long to hold off after a 429 that carries no `Retry-After`.
const THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// The member id of the workspace user with this email; `None` for `users_not_found`.
pub(in crate::platforms) async fn user_by_email(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Outcome> {
    let token = match &channel.settings {
        PlatformSettings::Slack(s) => configured(s.bot_token.as_ref()),
        _ => None,
    };
    let Some(token) = token else {
        return Err(Outcome::Permanent {
            reason: format!(
                "looking people up in Slack needs a bot token on channel `{}`",
                channel.name
            ),
            hint: "set `bot_token` (OAuth & Permissions → Bot User OAuth Token, with the \
                   users:read.email scope)"
                .into(),
        });
    };
    let base = channel
        .api_base()
        .unwrap_or(DEFAULT_API_BASE)
        .trim_end_matches('/');
    let request = PreparedRequest {
        url: Secret::new(format!("{base}/api/users.lookupByEmail")),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("authorization".into(), format!("Bearer {token}")),
        ],
        body: format!("email={}", percent_encode(email)).into_bytes(),
    };
    let reply = exchange(client, request, now).await?;
    if reply.status == 429 {
        return Err(Outcome::Wait {
            after: reply.retry_after.unwrap_or(THROTTLE_WAIT),
            reason: "Slack answered HTTP 429: too many look-ups (Tier 3)".into(),
        });
    }
    let Ok(answer) = serde_json::from_slice::<Value>(&reply.body) else {
        return Err(Outcome::Retry {
            reason: format!("Slack answered HTTP {} without JSON", reply.status),
        });
    };
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(answer
            .get("user")
            .and_then(|u| str_field(u, "id"))
            .filter(|id| !id.is_empty())
            .map(str::to_string));
    }
    let error = str_field(&answer, "error").unwrap_or("unknown_error");
    let refused = |hint: &str| Outcome::Permanent {
        reason: format!(
            "Slack refused a look-up for channel `{}` ({error})",
            channel.name
        ),
        hint: hint.into(),
    };
    match error {
        "users_not_found" | "user_not_found" => Ok(None),
        "ratelimited" => Err(Outcome::Wait {
            after: reply.retry_after.unwrap_or(THROTTLE_WAIT),
            reason: "Slack asked us to slow down (ratelimited)".into(),
        }),
        "missing_scope" => Err(refused(
            "add the users:read.email scope to the app's bot token and reinstall the app",
        )),
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            Err(refused(
                "set `bot_token` to the app's current Bot User OAuth Token (xoxb-…)",
            ))
        }
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            Err(Outcome::Retry {
                reason: format!("Slack could not answer a look-up ({error})"),
            })
        }
        _ => Err(refused(
            "look the error up on Slack's users.lookupByEmail page",
        )),
    }
}

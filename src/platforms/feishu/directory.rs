//! Feishu's contact API, with the app's tenant token: `POST
//! /open-apis/contact/v3/users/batch_get_id?user_id_type=open_id` turns up to 50 mobiles and 50
//! emails into open_ids. A mobile or email Feishu does not know comes back without `user_id`.

use super::super::sending::exchange;
use super::super::{Outcome, PreparedRequest, int_field, json_body, str_field, with_quote};
use super::{TOKEN_INVALID, TOKENS, api_base, tenant_token, token_key};
use crate::config::ChannelConfig;
use crate::people::Contact;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// Mobiles (and, separately, emails) one request may carry.
pub(in crate::platforms) const BATCH: usize = 50;

/// The Open API's "too many requests" code (the limit is 1,000 a minute and 50 a second).
const THROTTLED: i64 = 99_991_400;

/// How long to hold off after a rate-limit answer without `Retry-After`.
const THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// The open_id of each contact, in order; `None` where Feishu knows no such user.
pub(in crate::platforms) async fn batch_get_id(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    contacts: &[Contact<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Option<String>>, Outcome> {
    let of = |kind| -> Vec<&str> {
        contacts
            .iter()
            .filter(|c| c.kind() == kind)
            .map(Contact::value)
            .collect()
    };
    let base = api_base(channel);
    let token = tenant_token(client, channel, &base).await?;
    let request = PreparedRequest {
        url: Secret::new(format!(
            "{base}/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id"
        )),
        headers: vec![
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("authorization".into(), format!("Bearer {}", token.expose())),
        ],
        body: json_body(&json!({
            "mobiles": of("mobile"),
            "emails": of("email"),
        }))?,
    };
    let reply = exchange(client, request, now).await?;
    let answer: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let code = answer.as_ref().and_then(|a| int_field(a, "code"));
    let message = answer.as_ref().and_then(|a| str_field(a, "msg"));
    match code {
        Some(0) => {}
        _ if reply.status == 429 || code == Some(THROTTLED) => {
            return Err(Outcome::Wait {
                after: reply.retry_after.unwrap_or(THROTTLE_WAIT),
                reason: with_quote(
                    "Feishu asked us to slow down",
                    "Feishu code",
                    code.unwrap_or(0),
                    message,
                ),
            });
        }
        Some(c) if TOKEN_INVALID.contains(&c) => {
            TOKENS.forget(&token_key(channel, &base));
            return Err(Outcome::Retry {
                reason: with_quote(
                    "Feishu no longer takes the token",
                    "Feishu code",
                    c,
                    message,
                ),
            });
        }
        None => {
            return Err(Outcome::Retry {
                reason: format!("Feishu answered HTTP {} to a look-up", reply.status),
            });
        }
        Some(_) if reply.status >= 500 => {
            return Err(Outcome::Retry {
                reason: format!("Feishu answered HTTP {} to a look-up", reply.status),
            });
        }
        Some(c) => {
            return Err(Outcome::Permanent {
                reason: with_quote(
                    &format!("Feishu refused a look-up for channel `{}`", channel.name),
                    "Feishu code",
                    c,
                    message,
                ),
                hint: "in the Feishu developer console, give the app the permission \
                       通过手机号或邮箱获取用户 ID (contact:user.id:readonly), put the people in \
                       its 通讯录权限范围, and publish a new version"
                    .into(),
            });
        }
    }
    let users: &[Value] = answer
        .as_ref()
        .and_then(|a| a.get("data"))
        .and_then(|d| d.get("user_list"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    Ok(contacts
        .iter()
        .map(|c| {
            users
                .iter()
                .find(|u| str_field(u, c.kind()) == Some(c.value()))
                .and_then(|u| str_field(u, "user_id"))
                .filter(|id| !id.is_empty())
                .map(str::to_string)
        })
        .collect())
}

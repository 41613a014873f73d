//! DingTalk's address book, with the app's `app_key`/`app_secret`: an app access token from
//! `GET /gettoken` (two hours), `POST /topapi/v2/user/getbymobile` (a mobile to a userid) and
//! `POST /topapi/v2/user/get` (a userid to the user, with the mobile where the app may read it).
//! Every answer carries `errcode`; 0 is success.

use super::super::sending::exchange;
use super::super::{
    Outcome, PreparedRequest, TokenCache, TokenKey, configured, int_field, json_body, json_headers,
    str_field, with_quote,
};
use crate::config::{ChannelConfig, PlatformSettings};
use crate::secret::{Secret, percent_encode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// DingTalk's server API; the channel's `api_base` replaces it (tests use a local stand-in).
const DEFAULT_API_BASE: &str = "https://oapi.dingtalk.com";

static TOKENS: TokenCache = TokenCache::new();

/// `errcode`s that mean "no such user": 60121 (user not found) and 40104 (the mobile is not
/// valid in the organisation), as `getbymobile`'s and `user/get`'s error tables give them.
const NOT_FOUND: [i64; 3] = [60_121, 40_104, 33_012];

/// `errcode`s of the call-rate limits: 90018 (40 calls a second per app and API), 90006 and
/// 90005 (1,500 a minute). They may also come as `errcode` 88 with the code as `sub_code`.
const THROTTLED: [i64; 3] = [90_018, 90_006, 90_005];

/// `errcode`s of an access token that is not (or no longer) valid: fetch a new one.
const TOKEN_INVALID: [i64; 2] = [40_014, 42_001];

/// How long to hold off after a rate-limit answer, which carries no `Retry-After`: the limits
/// are counted per second and per minute.
const THROTTLE_WAIT: Duration = Duration::from_secs(60);

const PERMISSION_HINT: &str = "in the DingTalk developer console, give the channel's app the \
     address-book permissions 通讯录个人信息读权限 and 根据手机号获取成员基本信息权限 \
     (qyapi_get_member_by_mobile), and publish it";

fn api_base(channel: &ChannelConfig) -> String {
    channel
        .api_base()
        .unwrap_or(DEFAULT_API_BASE)
        .trim_end_matches('/')
        .to_string()
}

fn credentials(channel: &ChannelConfig) -> Option<(&str, &str)> {
    match &channel.settings {
        PlatformSettings::Dingtalk(s) => Some((
            configured(s.app_key.as_ref())?,
            configured(s.app_secret.as_ref())?,
        )),
        _ => None,
    }
}

/// The app's access token, cached until shortly before it expires.
async fn access_token(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    base: &str,
) -> Result<(TokenKey, Secret), Outcome> {
    let Some((key, secret)) = credentials(channel) else {
        return Err(Outcome::Permanent {
            reason: format!(
                "looking people up in DingTalk needs the app's credentials on channel `{}`",
                channel.name
            ),
            hint: "set `app_key` and `app_secret` (应用开发 → 凭证与基础信息)".into(),
        });
    };
    let cache_key = (base.to_string(), key.to_string());
    if let Some(token) = TOKENS.get(&cache_key) {
        return Ok((cache_key, token));
    }
    let url = format!(
        "{base}/gettoken?appkey={}&appsecret={}",
        percent_encode(key),
        percent_encode(secret)
    );
    let response = client.get(url).send().await.map_err(|e| Outcome::Retry {
        reason: format!(
            "cannot reach DingTalk for an access token: {}",
            e.without_url()
        ),
    })?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.map_err(|_| Outcome::Retry {
        reason: format!("DingTalk answered HTTP {status} without JSON to a token request"),
    })?;
    let code = int_field(&body, "errcode").unwrap_or(-1);
    match (
        code,
        str_field(&body, "access_token").filter(|t| !t.is_empty()),
    ) {
        (0, Some(token)) => {
            let token = Secret::new(token);
            let expires = body
                .get("expires_in")
                .and_then(Value::as_u64)
                .unwrap_or(7200);
            TOKENS.put(cache_key.clone(), token.clone(), expires);
            Ok((cache_key, token))
        }
        _ if status >= 500 || code == -1 => Err(Outcome::Retry {
            reason: format!("DingTalk's token service answered HTTP {status}, errcode {code}"),
        }),
        _ if THROTTLED.contains(&code) => Err(Outcome::Wait {
            after: THROTTLE_WAIT,
            reason: "DingTalk asked us to ask for tokens less often".into(),
        }),
        (code, _) => Err(Outcome::Permanent {
            reason: with_quote(
                &format!(
                    "DingTalk refused the app credentials of channel `{}`",
                    channel.name
                ),
                "errcode",
                code,
                str_field(&body, "errmsg"),
            ),
            hint: "check `app_key` and `app_secret` against the app's 凭证与基础信息 page".into(),
        }),
    }
}

/// Posts `body` to `path` with the app's token, and reads `field` of the answer's `result`:
/// `None` when `errcode` says "no such user" or the field is left out or empty.
async fn call(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    (path, body): (&str, Value),
    field: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Outcome> {
    let base = api_base(channel);
    let (cache_key, token) = access_token(client, channel, &base).await?;
    let request = PreparedRequest {
        url: Secret::new(format!(
            "{base}{path}?access_token={}",
            percent_encode(token.expose())
        )),
        headers: json_headers(),
        body: json_body(&body)?,
    };
    let reply = exchange(client, request, now).await?;
    if reply.status == 429 {
        return Err(Outcome::Wait {
            after: reply.retry_after.unwrap_or(THROTTLE_WAIT),
            reason: "DingTalk answered HTTP 429: too many look-ups".into(),
        });
    }
    let Ok(answer) = serde_json::from_slice::<Value>(&reply.body) else {
        return Err(Outcome::Retry {
            reason: format!("DingTalk answered HTTP {} without JSON", reply.status),
        });
    };
    let code = int_field(&answer, "errcode").unwrap_or(-1);
    let sub_code = str_field(&answer, "sub_code").and_then(|s| s.parse::<i64>().ok());
    let message = str_field(&answer, "errmsg");
    match code {
        0 => Ok(answer
            .get("result")
            .and_then(|r| str_field(r, field))
            .filter(|v| !v.is_empty())
            .map(str::to_string)),
        c if NOT_FOUND.contains(&c) => Ok(None),
        c if THROTTLED.contains(&c) || sub_code.is_some_and(|s| THROTTLED.contains(&s)) => {
            Err(Outcome::Wait {
                after: THROTTLE_WAIT,
                reason: with_quote("DingTalk asked us to slow down", "errcode", c, message),
            })
        }
        c if TOKEN_INVALID.contains(&c) => {
            TOKENS.forget(&cache_key);
            Err(Outcome::Retry {
                reason: with_quote("DingTalk no longer takes the token", "errcode", c, message),
            })
        }
        -1 => Err(Outcome::Retry {
            reason: with_quote("DingTalk is busy", "errcode", -1, message),
        }),
        c if reply.status >= 500 => Err(Outcome::Retry {
            reason: with_quote(
                &format!("DingTalk answered HTTP {}", reply.status),
                "errcode",
                c,
                message,
            ),
        }),
        c => Err(Outcome::Permanent {
            reason: with_quote(
                &format!("DingTalk refused a look-up for channel `{}`", channel.name),
                "errcode",
                c,
                message,
            ),
            hint: PERMISSION_HINT.into(),
        }),
    }
}

/// The userid of the member with this mobile; `None` when DingTalk has none (or they left).
pub(in crate::platforms) async fn user_by_mobile(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    mobile: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Outcome> {
    let question = ("/topapi/v2/user/getbymobile", json!({ "mobile": mobile }));
    call(client, channel, question, "userid", now).await
}

/// The mobile of the member `user_id`; `None` when there is no such member or the app may not
/// read mobiles (the field is then left out).
pub(in crate::platforms) async fn user_mobile(
    client: &reqwest::Client,
    channel: &ChannelConfig,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Outcome> {
    let question = (
        "/topapi/v2/user/get",
        json!({ "userid": user_id, "language": "zh_CN" }),
    );
    call(client, channel, question, "mobile", now).await
}

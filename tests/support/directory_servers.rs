//! Local stand-ins for the chat platforms' directory APIs, each checking requests as the
//! platform does and answering with its documented bodies, errors included:
//!
//! | peer | endpoints | checks and refusals |
//! | --- | --- | --- |
//! | [`FakeDingTalkDirectory`] | `GET /gettoken`, `POST /topapi/v2/user/getbymobile`, `POST /topapi/v2/user/get`, `POST /robot/sendBySession` (answers to commands) | app key and secret (errcode 40089); `access_token` query (errcode 40014); JSON body; unknown mobile or userid errcode 60121 |
//! | [`FakeFeishuDirectory`] | `POST /open-apis/auth/v3/tenant_access_token/internal`, `POST /open-apis/contact/v3/users/batch_get_id` | app id and secret (code 10014); `Authorization: Bearer t-…` (HTTP 400, code 99991663); `content-type: application/json; charset=utf-8`; `user_id_type`; at most 50 mobiles and 50 emails (code 99992402); unknown contacts come back without `user_id` |
//! | [`FakeSlackDirectory`] | `POST /api/users.lookupByEmail` | bot token as a Bearer header (`invalid_auth`); form body with `email`; unknown email `users_not_found` |
//!
//! Rate limits are scripted with [`FakeHttp::script`] (DingTalk errcode 90018, Feishu HTTP 429
//! code 99991400, Slack HTTP 429 with `Retry-After`).

use super::fake_http::{Answer, Checked, FakeHttp, Seen, form_value};
use axum::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const DING_APP_KEY: &str = "dingdirectorykey";
pub const DING_APP_SECRET: &str = "Dd8kq2Xw9Lr4Zt7Vb1Nm3Pq6Sd0Fh5Jk";
pub const FEISHU_APP_ID: &str = "cli_d1r2e3c4t5o6";
pub const FEISHU_APP_SECRET: &str = "f2K9sLmQ7xYzA1bC3dE5fG7hJ9kL1mNq";
pub const SLACK_BOT_TOKEN: &str = "xoxb-1234567890-0987654321-DirectoryToken";

const DING_TOKEN: &str = "ding-access-6f1c2e";
const FEISHU_TOKEN: &str = "t-g1044bcd7e0f";

fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A DingTalk organisation: members by userid with their mobiles.
pub struct FakeDingTalkDirectory {
    pub http: FakeHttp,
}

fn ding_error(code: i64, msg: &str) -> Answer {
    Answer::json(
        200,
        &json!({"errcode": code, "errmsg": msg, "request_id": "5w82ciuur781"}),
    )
}

impl FakeDingTalkDirectory {
    /// `members`: (userid, mobile). `by_mobile` false: `getbymobile` finds nobody (a member
    /// who joined after weekbell asked), while `user/get` still knows them.
    pub async fn start(members: &[(&str, &str)], by_mobile: bool) -> Self {
        let members = owned(members);
        let http = FakeHttp::start(move |seen| check_dingtalk(&members, by_mobile, seen)).await;
        FakeDingTalkDirectory { http }
    }

    pub fn base_url(&self) -> String {
        self.http.base_url()
    }

    /// Requests to `path`, whatever became of them.
    pub fn calls(&self, path: &str) -> usize {
        self.http
            .exchanges()
            .iter()
            .filter(|e| e.seen.path() == path)
            .count()
    }
}

fn check_dingtalk(members: &BTreeMap<String, String>, by_mobile: bool, seen: &Seen) -> Checked {
    match (seen.method.clone(), seen.path()) {
        (Method::GET, "/gettoken") => {
            let ok = seen.query("appkey").as_deref() == Some(DING_APP_KEY)
                && seen.query("appsecret").as_deref() == Some(DING_APP_SECRET);
            return Checked::Answer(if ok {
                Answer::json(
                    200,
                    &json!({"errcode": 0, "access_token": DING_TOKEN, "errmsg": "ok", "expires_in": 7200}),
                )
            } else {
                ding_error(40089, "不合法的corpid或corpsecret")
            });
        }
        (Method::POST, "/robot/sendBySession") => {
            return Checked::Accept(seen.json(), ding_error(0, "ok"));
        }
        (Method::POST, "/topapi/v2/user/getbymobile" | "/topapi/v2/user/get") => {}
        _ => {
            return Checked::Answer(Answer::json(
                404,
                &json!({"errcode": 404, "errmsg": "请求的URI地址不存在"}),
            ));
        }
    }
    if seen.query("access_token").as_deref() != Some(DING_TOKEN) {
        return Checked::Answer(ding_error(40014, "不合法的access_token"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&seen.body) else {
        return Checked::Answer(ding_error(400002, "无效的参数"));
    };
    let not_found = || Checked::Accept(body.clone(), ding_error(60121, "找不到该用户"));
    if seen.path() == "/topapi/v2/user/getbymobile" {
        let Some(mobile) = body["mobile"].as_str() else {
            return Checked::Answer(ding_error(400002, "无效的参数"));
        };
        let found = members.iter().find(|(_, m)| m.as_str() == mobile);
        return match found {
            Some((id, _)) if by_mobile => Checked::Accept(
                body.clone(),
                Answer::json(
                    200,
                    &json!({"errcode": 0, "errmsg": "ok", "result": {"userid": id}, "request_id": "5w82ciuur781"}),
                ),
            ),
            _ => not_found(),
        };
    }
    let Some(userid) = body["userid"].as_str() else {
        return Checked::Answer(ding_error(400002, "无效的参数"));
    };
    match members.get(userid) {
        Some(mobile) => Checked::Accept(
            body.clone(),
            Answer::json(
                200,
                &json!({"errcode": 0, "errmsg": "ok", "result": {
                    "userid": userid, "name": "李娜", "mobile": mobile, "state_code": "86",
                    "active": true, "unionid": "z21HjQliSzpw0Yxxxx"
                }, "request_id": "5w82ciuur781"}),
            ),
        ),
        None => not_found(),
    }
}

/// A Feishu tenant: open_ids by mobile and by email.
pub struct FakeFeishuDirectory {
    pub http: FakeHttp,
}

impl FakeFeishuDirectory {
    /// `users`: (mobile or email, open_id).
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let users = owned(users);
        let http = FakeHttp::start(move |seen| check_feishu(&users, seen)).await;
        FakeFeishuDirectory { http }
    }

    pub fn base_url(&self) -> String {
        self.http.base_url()
    }
}

fn check_feishu(users: &BTreeMap<String, String>, seen: &Seen) -> Checked {
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
    if seen.method != Method::POST {
        return Checked::Answer(Answer::text(404, "404 page not found"));
    }
    if seen.path() == "/open-apis/auth/v3/tenant_access_token/internal" {
        let ok = body["app_id"] == FEISHU_APP_ID && body["app_secret"] == FEISHU_APP_SECRET;
        return Checked::Answer(if ok {
            Answer::json(
                200,
                &json!({"code": 0, "msg": "ok", "tenant_access_token": FEISHU_TOKEN, "expire": 7200}),
            )
        } else {
            Answer::json(200, &json!({"code": 10014, "msg": "app secret invalid"}))
        });
    }
    if seen.path() != "/open-apis/contact/v3/users/batch_get_id" {
        return Checked::Answer(Answer::text(404, "404 page not found"));
    }
    if seen.header("authorization") != Some(&format!("Bearer {FEISHU_TOKEN}")) {
        return Checked::Answer(Answer::json(
            400,
            &json!({"code": 99991663, "msg": "Invalid access token for authorization. Please make a request with token attached."}),
        ));
    }
    let content_type_ok = seen
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    let id_type_ok = matches!(
        seen.query("user_id_type").as_deref(),
        None | Some("open_id" | "user_id" | "union_id")
    );
    let list = |key: &str| -> Option<Vec<String>> {
        match &body[key] {
            Value::Null => Some(Vec::new()),
            Value::Array(a) => a.iter().map(|v| v.as_str().map(str::to_string)).collect(),
            _ => None,
        }
    };
    let (Some(mobiles), Some(emails)) = (list("mobiles"), list("emails")) else {
        return Checked::Answer(Answer::json(
            400,
            &json!({"code": 99992402, "msg": "field validation failed"}),
        ));
    };
    if !content_type_ok || !id_type_ok || mobiles.len() > 50 || emails.len() > 50 {
        return Checked::Answer(Answer::json(
            400,
            &json!({"code": 99992402, "msg": "field validation failed"}),
        ));
    }
    let entry = |field: &str, key: &String| match users.get(key) {
        Some(id) => {
            json!({field: key, "user_id": id, "status": {"is_frozen": false, "is_resigned": false, "is_activated": true, "is_exited": false, "is_unjoin": false}})
        }
        None => json!({field: key}),
    };
    let user_list: Vec<Value> = mobiles
        .iter()
        .map(|m| entry("mobile", m))
        .chain(emails.iter().map(|e| entry("email", e)))
        .collect();
    Checked::Accept(
        body.clone(),
        Answer::json(
            200,
            &json!({"code": 0, "msg": "success", "data": {"user_list": user_list}}),
        ),
    )
}

/// A Slack workspace: member ids by email.
pub struct FakeSlackDirectory {
    pub http: FakeHttp,
}

impl FakeSlackDirectory {
    /// `members`: (email, member id).
    pub async fn start(members: &[(&str, &str)]) -> Self {
        let members = owned(members);
        let http = FakeHttp::start(move |seen| check_slack(&members, seen)).await;
        FakeSlackDirectory { http }
    }

    pub fn base_url(&self) -> String {
        self.http.base_url()
    }
}

fn check_slack(members: &BTreeMap<String, String>, seen: &Seen) -> Checked {
    if seen.path() != "/api/users.lookupByEmail" {
        return Checked::Answer(Answer::json(
            404,
            &json!({"ok": false, "error": "unknown_method"}),
        ));
    }
    if seen.header("authorization") != Some(&format!("Bearer {SLACK_BOT_TOKEN}")) {
        return Checked::Answer(Answer::json(
            200,
            &json!({"ok": false, "error": "invalid_auth"}),
        ));
    }
    let form = String::from_utf8_lossy(&seen.body).into_owned();
    let email = if seen.method == Method::GET {
        seen.query("email")
    } else if seen
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        form_value(&form, "email")
    } else {
        serde_json::from_str::<Value>(&form)
            .ok()
            .and_then(|v| v["email"].as_str().map(str::to_string))
    };
    let Some(email) = email else {
        return Checked::Answer(Answer::json(
            200,
            &json!({"ok": false, "error": "invalid_arguments"}),
        ));
    };
    match members.get(&email) {
        Some(id) => Checked::Accept(
            json!({"email": email}),
            Answer::json(
                200,
                &json!({"ok": true, "user": {"id": id, "team_id": "T012AB3C4", "name": "li.na", "deleted": false, "profile": {"email": email}}}),
            ),
        ),
        None => Checked::Accept(
            json!({"email": email}),
            Answer::json(200, &json!({"ok": false, "error": "users_not_found"})),
        ),
    }
}

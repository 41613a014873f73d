//! A local Telegram Bot API server, for tests of weekbell's Telegram transport, webhook and
//! long-polling client.
//!
//! It listens on `127.0.0.1:<random port>` ([`FakeTelegram::api_base`] is the channel's
//! `api_base`) and answers `/bot<token>/<method>` as the Bot API does, JSON bodies, form bodies
//! and query strings alike:
//!
//! | method | checks, and the refusal each gives (Telegram's own texts) |
//! |---|---|
//! | any | a path without `/bot…/method` → 404 `Not Found`; another token → 401 `Unauthorized`; an unknown method → 404 `Not Found` |
//! | `sendMessage` | `chat_id` (400 `chat_id is empty`), a chat the bot is in (400 `chat not found`), not a group upgraded to a supergroup (400 `group chat was upgraded to a supergroup chat` with `parameters.migrate_to_chat_id`); `parse_mode` HTML parsed as TDLib parses it: unknown or unbalanced tags refused with 400 `can't parse entities: …` and TDLib's own message; the text after parsing non-empty (400 `message text is empty`) and at most 4,096 UTF-16 units (400 `message is too long`); `reply_parameters.message_id` in that chat unless `allow_sending_without_reply` (400 `message to be replied not found`) |
//! | `getUpdates` | 409 while a webhook is set; a second poll ends the first with 409 `terminated by other getUpdates request`; `offset` confirms every update below it, and one more than 10 past the next id is ignored (TDLib's queue serves from its head); blocks up to `timeout` seconds for a new update; `limit`; `allowed_updates` kept from call to call |
//! | `setWebhook`, `deleteWebhook` (`drop_pending_updates`), `getWebhookInfo`, `getMe` | as documented |
//!
//! The test plays the chat's users with [`FakeTelegram::push_message`], which queues an update
//! as Telegram builds it (a `bot_command` or `mention` entity for a leading `/cmd` or `@name`,
//! lengths in UTF-16 units), and plays Telegram's webhook push with
//! [`FakeTelegram::deliver_webhook`] once weekbell's URL was set with `setWebhook`. Answers
//! can be scripted per method ([`FakeTelegram::script`]): a Bot API error, a bare HTTP status
//! (a proxy's page), or a delay.
//!
//! It runs on `fake_http.rs`: accepted `sendMessage` calls are its records, every call is an
//! exchange, recorded as it arrives.
//!
//! Not part of `support/mod.rs`; include it with
//! `#[path = "support/telegram_server.rs"] mod telegram_server;` next to `mod support;`.

#![allow(dead_code)]

use crate::support::fake_http::{
    Answer, Checked, FakeHttp, Scripted, Seen, form_pairs, random_token,
};
use crate::support::lock;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

pub const BOT_ID: i64 = 7_012_345_678;
pub const BOT_USERNAME: &str = "weekbell_bot";
/// The group the tests post in: a supergroup, as most groups are today.
pub const GROUP: i64 = -1_001_234_567_890;

/// A scripted answer for the next call of one method.
#[derive(Debug, Clone)]
pub enum TgReply {
    /// `{"ok": false, "error_code": code, "description": …, "parameters": …}` with HTTP `code`.
    Error {
        code: u16,
        description: String,
        parameters: Option<Value>,
    },
    /// This status with a plain-text body, as a proxy in front of the Bot API answers.
    Status(u16),
    /// Handle the call as usual, but answer only after this long.
    Delay(Duration),
}

impl TgReply {
    pub fn error(code: u16, description: &str) -> TgReply {
        TgReply::Error {
            code,
            description: description.into(),
            parameters: None,
        }
    }

    /// 429 with `parameters.retry_after`, as the flood control answers.
    pub fn flood(retry_after: u64) -> TgReply {
        TgReply::Error {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            parameters: Some(json!({ "retry_after": retry_after })),
        }
    }

    /// A basic group that became a supergroup.
    pub fn migrated(new_chat_id: i64) -> TgReply {
        TgReply::Error {
            code: 400,
            description: "Bad Request: group chat was upgraded to a supergroup chat".into(),
            parameters: Some(json!({ "migrate_to_chat_id": new_chat_id })),
        }
    }
}

/// A message the fake accepted through `sendMessage`.
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat_id: i64,
    pub message_id: i64,
    /// `text` as sent (HTML for parse mode HTML).
    pub raw: String,
    /// The text as Telegram shows it, tags parsed away.
    pub text: String,
    /// `(type, offset, length)` in UTF-16 units, e.g. `("bold", 0, 6)`.
    pub entities: Vec<Entity>,
    /// The message this one replies to.
    pub reply_to: Option<i64>,
    pub thread: Option<i64>,
    /// Every parameter of the call.
    pub params: Value,
    pub at: Instant,
}

/// One call, as received and answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    /// 0 while the call is still being answered (a poll that blocks).
    pub status: u16,
    pub reply: Value,
    pub at: Instant,
}

struct Chat {
    kind: &'static str,
    username: Option<String>,
    next_message_id: i64,
}

struct FakeState {
    chats: HashMap<i64, Chat>,
    /// Updates not yet confirmed, oldest first.
    pending: VecDeque<Value>,
    next_update_id: i64,
    allowed_updates: Option<Vec<String>>,
    webhook: Option<(String, Option<String>)>,
    /// Bumped by every getUpdates, so an older poll knows it was superseded.
    poll_generation: u64,
    /// Groups upgraded to supergroups: old id → new.
    migrations: HashMap<i64, i64>,
}

/// The bot's side of Telegram: what the checks read and change.
struct Peer {
    token: String,
    state: Mutex<FakeState>,
    /// New updates, a new poll or a webhook change.
    changed: Notify,
}

impl Peer {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.state)
    }
}

/// A local Bot API on [`FakeHttp`]: accepted `sendMessage` calls are its records, every call
/// its exchanges.
pub struct FakeTelegram {
    http: FakeHttp<Sent>,
    peer: Arc<Peer>,
    client: reqwest::Client,
}

impl FakeTelegram {
    /// A bot in [`GROUP`], on a random port.
    pub async fn start() -> FakeTelegram {
        let secret = random_token(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
            35,
        );
        let mut chats = HashMap::new();
        chats.insert(
            GROUP,
            Chat {
                kind: "supergroup",
                username: None,
                next_message_id: 100,
            },
        );
        let peer = Arc::new(Peer {
            token: format!("{BOT_ID}:AA{secret}"),
            state: Mutex::new(FakeState {
                chats,
                pending: VecDeque::new(),
                next_update_id: 860_000_000 + i64::from(fastrand::u16(..)),
                allowed_updates: None,
                webhook: None,
                poll_generation: 0,
                migrations: HashMap::new(),
            }),
            changed: Notify::new(),
        });
        let checks = Arc::clone(&peer);
        let http = FakeHttp::start_async(move |seen: Seen| {
            let peer = Arc::clone(&checks);
            async move { peer.answer(&seen).await }
        })
        .await;
        FakeTelegram {
            http,
            peer,
            client: crate::support::client(Duration::from_secs(15)),
        }
    }

    /// `http://127.0.0.1:<port>`: the channel's `api_base`.
    pub fn api_base(&self) -> String {
        self.http.base_url()
    }

    /// The bot token this server accepts.
    pub fn token(&self) -> String {
        self.peer.token.clone()
    }

    /// `{api_base}/bot{token}/{method}`, for calls a test makes itself (`setWebhook`).
    pub fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.api_base(), self.token())
    }

    /// Makes the bot a member of another chat (`"group"`, `"supergroup"`, `"channel"`).
    pub fn add_chat(&self, id: i64, kind: &'static str, username: Option<&str>) {
        self.peer.lock().chats.insert(
            id,
            Chat {
                kind,
                username: username.map(str::to_string),
                next_message_id: 1,
            },
        );
    }

    /// Upgrades group `old` to the supergroup `new`, as Telegram does when a group grows or
    /// an admin turns on a supergroup feature: `sendMessage` to `old` is refused from now on
    /// with 400 and `parameters.migrate_to_chat_id`, and the two service messages Telegram
    /// posts are queued: `migrate_to_chat_id` in the old group, `migrate_from_chat_id` in the
    /// new one, both from `user` (the admin who upgraded it).
    pub fn migrate_group(&self, old: i64, new: i64, user: i64) {
        let updates = {
            let mut state = self.peer.lock();
            state.migrations.insert(old, new);
            state.chats.insert(
                new,
                Chat {
                    kind: "supergroup",
                    username: None,
                    next_message_id: 1,
                },
            );
            let from = json!({ "id": user, "is_bot": false, "first_name": "Admin" });
            let mut service = |chat: i64, kind: &str, field: &str, other: i64| {
                let update_id = state.next_update_id;
                state.next_update_id += 1;
                let message_id = state.chats.get_mut(&chat).map_or(1, |c| {
                    c.next_message_id += 1;
                    c.next_message_id - 1
                });
                json!({ "update_id": update_id, "message": {
                    "message_id": message_id,
                    "from": from,
                    "chat": { "id": chat, "type": kind, "title": "Weekly ops" },
                    "date": chrono::Utc::now().timestamp(),
                    field: other,
                }})
            };
            [
                service(old, "group", "migrate_to_chat_id", new),
                service(new, "supergroup", "migrate_from_chat_id", old),
            ]
        };
        for update in updates {
            self.queue(update);
        }
    }

    /// Queues answers for the next calls of `method` (with the right token).
    pub fn script(&self, method: &str, replies: impl IntoIterator<Item = TgReply>) {
        let method = method.to_ascii_lowercase();
        let token = self.peer.token.clone();
        self.http.script_when(
            move |seen| bot_method(seen.path()).is_some_and(|(t, m)| t == token && m == method),
            replies.into_iter().map(scripted),
        );
    }

    /// A user's message in `chat` (a private chat when `chat` is the user's id), queued for
    /// `getUpdates` (and returned, to push to a webhook). Returns the whole update.
    pub fn push_message(&self, chat: i64, user: i64, username: Option<&str>, text: &str) -> Value {
        let update = {
            let mut state = self.peer.lock();
            let update_id = state.next_update_id;
            state.next_update_id += 1;
            let chat_entry = state.chats.entry(chat).or_insert(Chat {
                kind: "private",
                username: None,
                next_message_id: 1,
            });
            let message_id = chat_entry.next_message_id;
            chat_entry.next_message_id += 1;
            let mut chat_json = json!({ "id": chat, "type": chat_entry.kind });
            if chat_entry.kind != "private" {
                chat_json["title"] = json!("Weekly ops");
            }
            if let Some(u) = &chat_entry.username {
                chat_json["username"] = json!(u);
            }
            let mut from =
                json!({ "id": user, "is_bot": false, "first_name": "Test", "language_code": "en" });
            if let Some(u) = username {
                from["username"] = json!(u);
            }
            let mut message = json!({
                "message_id": message_id,
                "from": from,
                "chat": chat_json,
                "date": chrono::Utc::now().timestamp(),
                "text": text,
            });
            let entities = leading_entities(text);
            if !entities.is_empty() {
                message["entities"] = Value::Array(entities);
            }
            json!({ "update_id": update_id, "message": message })
        };
        self.queue(update.clone());
        update
    }

    /// Queues an update as it is (an edit, a channel post, something malformed).
    pub fn push_update(&self, update: Value) {
        self.queue(update);
    }

    fn queue(&self, update: Value) {
        self.peer.lock().pending.push_back(update);
        self.peer.changed.notify_waiters();
    }

    /// What Telegram does after a week without updates: the next `update_id` is chosen at
    /// random, here `next` (below the last one, to test the worst case).
    pub fn restart_update_ids(&self, next: i64) {
        self.peer.lock().next_update_id = next;
    }

    /// A fresh `update_id`, for updates a test builds by hand.
    pub fn next_update_id(&self) -> i64 {
        let mut state = self.peer.lock();
        let id = state.next_update_id;
        state.next_update_id += 1;
        id
    }

    /// The ids of the updates not yet confirmed.
    pub fn pending(&self) -> Vec<i64> {
        self.peer
            .lock()
            .pending
            .iter()
            .filter_map(|u| u["update_id"].as_i64())
            .collect()
    }

    /// The webhook URL and secret token, if one is set.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.peer.lock().webhook.clone()
    }

    /// Pushes `update` to the webhook as Telegram does (JSON, with the secret token header);
    /// the HTTP status weekbell answered. Panics without a webhook.
    pub async fn deliver_webhook(&self, update: &Value) -> u16 {
        let Some((url, secret)) = self.webhook() else {
            panic!("fake Telegram: no webhook is set")
        };
        self.deliver_to(&url, secret.as_deref(), update).await
    }

    /// Pushes `update` to `url` with the secret token `secret` (or none), as a forger might.
    pub async fn deliver_to(&self, url: &str, secret: Option<&str>, update: &Value) -> u16 {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(update.to_string());
        if let Some(s) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("fake Telegram: the webhook did not answer: {e}"))
            .status()
            .as_u16()
    }

    /// The accepted `sendMessage` calls, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.http.received()
    }

    /// Waits until at least `n` messages were accepted, or `timeout` passes.
    pub async fn wait_for_sent(&self, n: usize, timeout: Duration) -> Vec<Sent> {
        self.http.wait_for(n, timeout).await
    }

    /// Every call of a method, accepted or not, recorded as it arrived.
    pub fn calls(&self) -> Vec<Call> {
        self.http
            .exchanges()
            .into_iter()
            .filter_map(|e| {
                let (_, method) = bot_method(e.seen.path())?;
                let reply = match e.status {
                    None => Value::Null,
                    Some(_) => {
                        serde_json::from_str(&e.reply_body).unwrap_or(Value::String(e.reply_body))
                    }
                };
                Some(Call {
                    method,
                    params: params(&e.seen),
                    status: e.status.unwrap_or(0),
                    reply,
                    at: e.seen.at,
                })
            })
            .collect()
    }

    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let method = method.to_ascii_lowercase();
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Waits until `f` holds for the calls so far, or `timeout` passes; whether it held.
    pub async fn wait_for_calls(&self, timeout: Duration, f: impl Fn(&[Call]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if f(&self.calls()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        f(&self.calls())
    }
}

/// The `bot_command` or `mention` entity Telegram puts on a leading `/cmd[@bot]` or `@name`.
fn leading_entities(text: &str) -> Vec<Value> {
    let token = text.split(char::is_whitespace).next().unwrap_or("");
    let kind = if token.len() > 1 && token.starts_with('/') {
        "bot_command"
    } else if token.len() > 1 && token.starts_with('@') {
        "mention"
    } else {
        return Vec::new();
    };
    vec![json!({ "type": kind, "offset": 0, "length": token.encode_utf16().count() })]
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// A Bot API reply: its HTTP status and JSON body.
struct BotReply {
    status: u16,
    body: Value,
}

impl BotReply {
    fn ok(result: Value) -> BotReply {
        BotReply {
            status: 200,
            body: json!({ "ok": true, "result": result }),
        }
    }

    fn ok_described(result: Value, description: &str) -> BotReply {
        BotReply {
            status: 200,
            body: json!({ "ok": true, "result": result, "description": description }),
        }
    }

    fn error(code: u16, description: &str) -> BotReply {
        BotReply {
            status: code,
            body: json!({ "ok": false, "error_code": code, "description": description }),
        }
    }

    fn bad_request(description: &str) -> BotReply {
        BotReply::error(400, &format!("Bad Request: {description}"))
    }

    fn answer(self) -> Answer {
        Answer::json(self.status, &self.body).with_content_type("application/json")
    }
}

fn scripted(reply: TgReply) -> Scripted {
    match reply {
        TgReply::Error {
            code,
            description,
            parameters,
        } => {
            let mut reply = BotReply::error(code, &description);
            if let Some(p) = parameters {
                reply.body["parameters"] = p;
            }
            Scripted::Answer(reply.answer())
        }
        TgReply::Status(status) => Scripted::Answer(Answer::text(
            status,
            format!("<html><body>{status}</body></html>"),
        )),
        TgReply::Delay(d) => Scripted::Delay(d),
    }
}

/// The token and (lower-cased) method of `/bot<token>/<method>`.
fn bot_method(path: &str) -> Option<(&str, String)> {
    let (token, method) = path.strip_prefix("/bot")?.rsplit_once('/')?;
    Some((token, method.to_ascii_lowercase()))
}

impl Peer {
    async fn answer(&self, seen: &Seen) -> Checked<Sent> {
        let Some((token, method)) = bot_method(seen.path()) else {
            return Checked::Answer(BotReply::error(404, "Not Found").answer());
        };
        if token != self.token {
            return Checked::Answer(BotReply::error(401, "Unauthorized").answer());
        }
        let params = params(seen);
        let reply = match method.as_str() {
            "sendmessage" => match send_message(self, &params) {
                Ok((sent, reply)) => return Checked::Accept(sent, reply.answer()),
                Err(refusal) => refusal,
            },
            "getupdates" => get_updates(self, &params).await,
            "setwebhook" => set_webhook(self, &params),
            "deletewebhook" => delete_webhook(self, &params),
            "getwebhookinfo" => webhook_info(self),
            "getme" => BotReply::ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "weekbell", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false
            })),
            _ => BotReply::error(404, "Not Found"),
        };
        Checked::Answer(reply.answer())
    }
}

/// The call's parameters from the query string, a form body or a JSON body. Form and query
/// values are strings; a value that is JSON (`allowed_updates=["message"]`) is read as such.
fn params(seen: &Seen) -> Value {
    let mut out = serde_json::Map::new();
    let mut add_pairs = |raw: &str| {
        for (k, v) in form_pairs(raw) {
            let value = serde_json::from_str::<Value>(&v)
                .ok()
                .filter(|j| j.is_array() || j.is_object())
                .unwrap_or(Value::String(v));
            out.insert(k, value);
        }
    };
    if let Some(q) = seen.raw_query() {
        add_pairs(q);
    }
    let content_type = seen.header("content-type").unwrap_or("");
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&seen.body) {
            out.extend(fields);
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        add_pairs(&String::from_utf8_lossy(&seen.body));
    }
    Value::Object(out)
}

fn int_param(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_param(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// The message and Telegram's reply, or its refusal.
fn send_message(peer: &Peer, params: &Value) -> Result<(Sent, BotReply), BotReply> {
    let mut state = peer.lock();
    let chat_id = match params.get("chat_id") {
        None | Some(Value::Null) => return Err(BotReply::bad_request("chat_id is empty")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(BotReply::bad_request("chat_id is empty"));
        }
        Some(Value::String(s)) if s.starts_with('@') => {
            let name = s.trim_start_matches('@');
            match state.chats.iter().find(|(_, c)| {
                c.username
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(name))
            }) {
                Some((id, _)) => *id,
                None => return Err(BotReply::bad_request("chat not found")),
            }
        }
        Some(_) => match int_param(params, "chat_id") {
            Some(id) => id,
            None => return Err(BotReply::bad_request("chat not found")),
        },
    };
    if let Some(&new) = state.migrations.get(&chat_id) {
        let mut answer = BotReply::bad_request("group chat was upgraded to a supergroup chat");
        answer.body["parameters"] = json!({ "migrate_to_chat_id": new });
        return Err(answer);
    }
    if !state.chats.contains_key(&chat_id) {
        return Err(BotReply::bad_request("chat not found"));
    }
    let raw = params
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let (text, entities) = match params.get("parse_mode").and_then(Value::as_str) {
        None | Some("") => (raw.clone(), Vec::new()),
        Some(mode) if mode.eq_ignore_ascii_case("html") => match parse_html(&raw) {
            Ok(parsed) => parsed,
            Err(e) => return Err(BotReply::bad_request(&format!("can't parse entities: {e}"))),
        },
        Some(_) => return Err(BotReply::bad_request("unsupported parse_mode")),
    };
    // Telegram trims the text before it counts it.
    let shown = text.trim();
    if shown.is_empty() {
        return Err(BotReply::bad_request("message text is empty"));
    }
    if shown.encode_utf16().count() > 4096 {
        return Err(BotReply::bad_request("message is too long"));
    }
    let reply = params.get("reply_parameters");
    let reply_to = reply.and_then(|r| int_param(r, "message_id"));
    if let Some(to) = reply_to {
        let exists = state
            .chats
            .get(&chat_id)
            .is_some_and(|c| to >= 1 && to < c.next_message_id);
        let lenient = reply.is_some_and(|r| bool_param(r, "allow_sending_without_reply"));
        if !exists && !lenient {
            return Err(BotReply::bad_request("message to be replied not found"));
        }
    }
    let Some(chat) = state.chats.get_mut(&chat_id) else {
        return Err(BotReply::bad_request("chat not found"));
    };
    let message_id = chat.next_message_id;
    chat.next_message_id += 1;
    let kind = chat.kind;
    let sent = Sent {
        chat_id,
        message_id,
        raw,
        text: text.clone(),
        entities: entities.clone(),
        reply_to,
        thread: int_param(params, "message_thread_id"),
        params: params.clone(),
        at: Instant::now(),
    };
    drop(state);
    let entities: Vec<Value> = entities
        .iter()
        .map(|(t, o, l)| json!({ "type": t, "offset": o, "length": l }))
        .collect();
    let reply = BotReply::ok(json!({
        "message_id": message_id,
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "weekbell", "username": BOT_USERNAME },
        "chat": { "id": chat_id, "type": kind },
        "date": chrono::Utc::now().timestamp(),
        "text": text,
        "entities": entities,
    }));
    Ok((sent, reply))
}

async fn get_updates(peer: &Peer, params: &Value) -> BotReply {
    let generation = {
        let mut state = peer.lock();
        if state.webhook.is_some() {
            return BotReply::error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use \
                 deleteWebhook to delete the webhook first",
            );
        }
        state.poll_generation += 1;
        if let Some(Value::Array(kinds)) = params.get("allowed_updates") {
            state.allowed_updates = Some(
                kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            );
        }
        match int_param(params, "offset") {
            // TDLib's TQueue refuses an offset more than 10 past its next id ("Specified
            // from_id is in the future") and the Bot API server then serves from the head of
            // the queue, confirming nothing.
            Some(offset) if offset > state.next_update_id + 10 => {}
            Some(offset) if offset > 0 => state
                .pending
                .retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset)),
            Some(offset) if offset < 0 => {
                let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
                while state.pending.len() > keep {
                    state.pending.pop_front();
                }
            }
            _ => {}
        }
        state.poll_generation
    };
    // Wake an older poll, which ends with a conflict.
    peer.changed.notify_waiters();
    let limit = int_param(params, "limit")
        .unwrap_or(100)
        .clamp(1, 100)
        .unsigned_abs() as usize;
    let timeout = int_param(params, "timeout").unwrap_or(0).clamp(0, 50);
    let deadline = Instant::now() + Duration::from_secs(timeout.unsigned_abs());
    loop {
        let notified = peer.changed.notified();
        {
            let state = peer.lock();
            if state.poll_generation != generation {
                return BotReply::error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one \
                     bot instance is running",
                );
            }
            let allowed = |u: &Value| match &state.allowed_updates {
                None => true,
                Some(kinds) if kinds.is_empty() => true,
                Some(kinds) => kinds.iter().any(|k| u.get(k).is_some()),
            };
            let ready: Vec<Value> = state
                .pending
                .iter()
                .filter(|u| allowed(u))
                .take(limit)
                .cloned()
                .collect();
            if !ready.is_empty() || Instant::now() >= deadline {
                return BotReply::ok(Value::Array(ready));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            // One last look, then an empty answer.
            continue;
        }
    }
}

fn set_webhook(peer: &Peer, params: &Value) -> BotReply {
    let url = params
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let secret = params
        .get("secret_token")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(s) = &secret
        && (s.is_empty()
            || s.len() > 256
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return BotReply::bad_request("secret token contains unallowed characters");
    }
    let mut state = peer.lock();
    if url.is_empty() {
        state.webhook = None;
        drop(state);
        peer.changed.notify_waiters();
        return BotReply::ok_described(json!(true), "Webhook was deleted");
    }
    if !(url.starts_with("https://") || url.starts_with("http://127.0.0.1")) {
        return BotReply::bad_request("bad webhook: An HTTPS URL must be provided for webhook");
    }
    if let Some(Value::Array(kinds)) = params.get("allowed_updates") {
        state.allowed_updates = Some(
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        );
    }
    state.webhook = Some((url, secret));
    drop(state);
    // A poll running now ends with the webhook conflict.
    peer.changed.notify_waiters();
    BotReply::ok_described(json!(true), "Webhook was set")
}

fn delete_webhook(peer: &Peer, params: &Value) -> BotReply {
    let mut state = peer.lock();
    let had = state.webhook.take().is_some();
    if bool_param(params, "drop_pending_updates") {
        state.pending.clear();
    }
    BotReply::ok_described(
        json!(true),
        if had {
            "Webhook was deleted"
        } else {
            "Webhook is already deleted"
        },
    )
}

fn webhook_info(peer: &Peer) -> BotReply {
    let state = peer.lock();
    BotReply::ok(json!({
        "url": state.webhook.as_ref().map_or("", |w| w.0.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": state.pending.len(),
    }))
}

// ---------------------------------------------------------------------------------------------
// HTML parse mode, as TDLib's `parse_html` reads it (td/telegram/MessageEntity.cpp), with the
// tags of today's Bot API. Errors carry TDLib's messages; offsets in them are bytes, entity
// offsets and lengths UTF-16 units.

/// `(type, offset, length)` of one entity, in UTF-16 units.
type Entity = (String, usize, usize);

fn parse_html(text: &str) -> Result<(String, Vec<Entity>), String> {
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut result = String::with_capacity(text.len());
    let mut utf16 = 0usize;
    let mut entities = Vec::new();
    // (tag name, UTF-16 offset where it began, its entity type)
    let mut open: Vec<(String, usize, &'static str)> = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'&'
            && let Some((ch, next)) = decode_entity(text, i)
        {
            result.push(ch);
            utf16 += ch.len_utf16();
            i = next;
            continue;
        }
        if c != b'<' {
            let ch = text[i..].chars().next().unwrap_or('\u{FFFD}');
            result.push(ch);
            utf16 += ch.len_utf16();
            i += ch.len_utf8().max(1);
            continue;
        }
        let begin = i;
        i += 1;
        if at(i) != b'/' {
            while i < bytes.len() && !at(i).is_ascii_whitespace() && at(i) != b'>' {
                i += 1;
            }
            if i >= bytes.len() {
                return Err(format!("Unclosed start tag at byte offset {begin}"));
            }
            let name = text[begin + 1..i].to_ascii_lowercase();
            let kind = match name.as_str() {
                "a" => "text_link",
                "b" | "strong" => "bold",
                "i" | "em" => "italic",
                "s" | "strike" | "del" => "strikethrough",
                "u" | "ins" => "underline",
                "tg-spoiler" | "span" => "spoiler",
                "tg-emoji" => "custom_emoji",
                "pre" => "pre",
                "code" => "code",
                "blockquote" => "blockquote",
                _ => {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {begin}"
                    ));
                }
            };
            let mut href = None;
            let mut class = None;
            while at(i) != b'>' {
                while i < bytes.len() && at(i).is_ascii_whitespace() {
                    i += 1;
                }
                if at(i) == b'>' {
                    break;
                }
                let attr_begin = i;
                while i < bytes.len() && !at(i).is_ascii_whitespace() && at(i) != b'=' {
                    i += 1;
                }
                let attr = text[attr_begin..i].to_string();
                if attr.is_empty() {
                    return Err(format!(
                        "Empty attribute name in the tag \"{name}\" at byte offset {begin}"
                    ));
                }
                while i < bytes.len() && at(i).is_ascii_whitespace() {
                    i += 1;
                }
                if at(i) != b'=' {
                    return Err(format!(
                        "Expected equal sign in declaration of an attribute of the tag \
                         \"{name}\" at byte offset {begin}"
                    ));
                }
                i += 1;
                while i < bytes.len() && at(i).is_ascii_whitespace() {
                    i += 1;
                }
                if i >= bytes.len() {
                    return Err(format!(
                        "Unclosed start tag \"{name}\" at byte offset {begin}"
                    ));
                }
                let mut value = String::new();
                if at(i) != b'\'' && at(i) != b'"' {
                    let token_begin = i;
                    while at(i).is_ascii_alphanumeric() || at(i) == b'.' || at(i) == b'-' {
                        i += 1;
                    }
                    value = text[token_begin..i].to_ascii_lowercase();
                    if !at(i).is_ascii_whitespace() && at(i) != b'>' {
                        return Err(format!(
                            "Unexpected end of name token at byte offset {token_begin}"
                        ));
                    }
                } else {
                    let quote = at(i);
                    i += 1;
                    while i < bytes.len() && at(i) != quote {
                        if at(i) == b'&'
                            && let Some((ch, next)) = decode_entity(text, i)
                        {
                            value.push(ch);
                            i = next;
                            continue;
                        }
                        let ch = text[i..].chars().next().unwrap_or('\u{FFFD}');
                        value.push(ch);
                        i += ch.len_utf8().max(1);
                    }
                    if at(i) == quote {
                        i += 1;
                    }
                }
                if i >= bytes.len() {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                match (name.as_str(), attr.as_str()) {
                    ("a", "href") => href = Some(value),
                    ("span" | "code", "class") => class = Some(value),
                    _ => {}
                }
            }
            if name == "span" && class.as_deref() != Some("tg-spoiler") {
                return Err(format!(
                    "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
                ));
            }
            let kind = match (kind, href.as_deref()) {
                ("text_link", Some(h)) if h.starts_with("tg://user?id=") => "text_mention",
                (k, _) => k,
            };
            open.push((name, utf16, kind));
            i += 1;
        } else {
            if open.is_empty() {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            }
            i += 1;
            let name_begin = i;
            while i < bytes.len() && !at(i).is_ascii_whitespace() && at(i) != b'>' {
                i += 1;
            }
            let end_name = text[name_begin..i].to_ascii_lowercase();
            while i < bytes.len() && at(i).is_ascii_whitespace() {
                i += 1;
            }
            if at(i) != b'>' {
                return Err(format!("Unclosed end tag at byte offset {begin}"));
            }
            let Some((name, offset, kind)) = open.pop() else {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            };
            if !end_name.is_empty() && end_name != name {
                return Err(format!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{name}>\", found \
                     \"</{end_name}>\""
                ));
            }
            if utf16 > offset {
                entities.push((kind.to_string(), offset, utf16 - offset));
            }
            i += 1;
        }
    }
    if let Some((name, _, _)) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    entities.sort_by_key(|e| (e.1, std::cmp::Reverse(e.2)));
    Ok((result, entities))
}

/// `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric references, the `;` optional; anything else
/// is not an entity and stays text, as in TDLib.
fn decode_entity(text: &str, at: usize) -> Option<(char, usize)> {
    let rest = &text[at + 1..];
    let (value, used) = if let Some(num) = rest.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix('x') {
            Some(hex) => (
                hex.chars()
                    .take_while(char::is_ascii_hexdigit)
                    .collect::<String>(),
                16,
                2,
            ),
            None => (
                num.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>(),
                10,
                1,
            ),
        };
        if digits.is_empty() || digits.len() + skip >= 10 {
            return None;
        }
        let code = u32::from_str_radix(&digits, radix).ok()?;
        (
            char::from_u32(code).filter(|_| code != 0)?,
            skip + digits.len(),
        )
    } else {
        let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        let ch = match name.as_str() {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            _ => return None,
        };
        (ch, name.len())
    };
    let mut next = at + 1 + used;
    if text.as_bytes().get(next) == Some(&b';') {
        next += 1;
    }
    Some((value, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_as_tdlib_reads_it() {
        // Known answers from TDLib's test/message_entities.cpp.
        let err = |s: &str| parse_html(s).err().unwrap_or_default();
        assert_eq!(
            err("🏟 🏟&lt;<abacaba"),
            "Unclosed start tag at byte offset 13"
        );
        assert_eq!(
            err("🏟 🏟&lt;<abac aba>"),
            "Unsupported start tag \"abac\" at byte offset 13"
        );
        assert_eq!(err("🏟 🏟&lt;</"), "Unexpected end tag at byte offset 13");
        assert_eq!(
            err("🏟 🏟&lt;<i>a</em   >"),
            "Unmatched end tag at byte offset 17, expected \"</i>\", found \"</em>\""
        );
        assert_eq!(
            err("<b>x"),
            "Can't find end tag corresponding to start tag \"b\""
        );
        assert_eq!(
            parse_html("🏟 🏟<i>🏟 &lt🏟</i>").ok(),
            Some(("🏟 🏟🏟 <🏟".to_string(), vec![("italic".to_string(), 5, 6)]))
        );
        assert_eq!(
            parse_html("&ge;&lt;&gt;&amp;&quot;").ok().map(|p| p.0),
            Some("&ge;<>&\"".to_string())
        );
        let (text, entities) =
            parse_html("<a href=\"tg://user?id=42\">Alice</a>").unwrap_or_default();
        assert_eq!(text, "Alice");
        assert_eq!(entities, vec![("text_mention".to_string(), 0, 5)]);
    }
}

//! Google Chat app with an HTTP endpoint: Google POSTs interaction events (messages that
//! @mention the app or use its slash commands, the app being added to a space, …) with
//! `Authorization: Bearer <JWT>`.
//!
//! What the token is depends on the app's "Authentication Audience" setting, which the channel's
//! `audience` mirrors:
//! - **Project Number** (`audience = "123456789012"`): a JWT issued by
//!   `chat@system.gserviceaccount.com`, `aud` the project number, signed with that service
//!   account's keys (its X.509 certificates at [`CHAT_CERTS_URL`]).
//! - **HTTP endpoint URL** (`audience = "https://…"`): a Google-signed OpenID Connect ID token,
//!   `iss` `https://accounts.google.com` (or without the scheme), `aud` the endpoint URL exactly
//!   as configured in the Chat API console, signed with Google's OAuth keys ([`GOOGLE_CERTS_URL`]),
//!   whose verified `email` says which Google service account asked for it: the Chat service
//!   account `chat@system.gserviceaccount.com` for apps using Chat's interaction events, or the
//!   project's Workspace add-on service account
//!   `service-<PROJECT_NUMBER>@gcp-sa-gsuiteaddons.iam.gserviceaccount.com` for a Chat app
//!   built as a Google Workspace add-on — the kind the console creates today. Anyone can get a
//!   Google ID token for any audience from their own service account, so the email is what
//!   makes it Chat's; with `service_account` set, only that add-on account is accepted.
//!
//! Either way the signature is RS256 over `header.payload`, the key picked by the header's
//! `kid`; no other algorithm is accepted (so neither `none` nor an HS256 token "signed" with a
//! public key gets through), and `exp`, `iat` and `nbf` must hold within [`LEEWAY_SECS`].
//!
//! The token is not bound to the body: it proves the request is Google's for this audience
//! while it is valid (an hour). HTTPS is what keeps it from being lifted and replayed with
//! another body; the dedupe on the message's `name` keeps Google's own retries harmless.
//!
//! Verification here is pure: the caller passes the keys in ([`KeySet`]);
//! `inbound::googlechat_keys` fetches and caches them for the daemon.
//!
//! Two event formats are read. The classic interaction event is flat: `type` (`MESSAGE`,
//! `ADDED_TO_SPACE`, …), `message` (`name`, `text`, `argumentText`, `slashCommand`), `user`,
//! `space`; it is answered with a Message, `{"text": …}`. A Workspace add-on event wraps it:
//! `chat.user` and one of `chat.messagePayload`, `chat.appCommandPayload` (slash and quick
//! commands), `chat.addedToSpacePayload`, …; it is answered with
//! `{"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": …}}}}`.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, parse_json, required_str, short,
    str_at,
};
use crate::commands::{self, Parsed};
use crate::config::{Audience, is_addon_service_account};
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

pub const AUTHORIZATION_HEADER: &str = "authorization";

/// The issuer of Chat's project-number tokens, and the email of its ID tokens.
pub const CHAT_ISSUER: &str = "chat@system.gserviceaccount.com";

/// The X.509 certificates of [`CHAT_ISSUER`]'s signing keys, as Google's verification samples
/// fetch them.
pub const CHAT_CERTS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/metadata/x509/chat@system.gserviceaccount.com";

/// Google's OAuth 2.0 / OpenID Connect signing keys (JWKS), for ID tokens.
pub const GOOGLE_CERTS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// The `iss` values of a Google ID token.
const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// How far the token's times may be off this host's clock.
pub const LEEWAY_SECS: i64 = 60;

/// Google's tokens are about 1 KB; anything much bigger is not one.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// RS256: RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
const RS256: &RsaParameters = &signature::RSA_PKCS1_2048_8192_SHA256;

/// Where the keys that sign `audience`'s tokens are published.
pub fn default_certs(audience: &Audience) -> &'static str {
    match audience {
        Audience::ProjectNumber(_) => CHAT_CERTS_URL,
        Audience::Endpoint(_) => GOOGLE_CERTS_URL,
    }
}

/// Google's public signing keys by key id, read from either form Google publishes: a JWKS
/// (`{"keys": [{"kid", "kty": "RSA", "n", "e", …}]}`, as at [`GOOGLE_CERTS_URL`]) or a map of
/// key id to PEM certificate (as at [`CHAT_CERTS_URL`]).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<(String, ParsedPublicKey)>,
}

/// Why a key set could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("the key set is not JSON: {0}")]
    NotJson(String),
    #[error("the key set holds no RSA signing key")]
    NoKeys,
    #[error("key `{kid}` cannot be used: {why}")]
    BadKey { kid: String, why: &'static str },
}

impl KeySet {
    pub fn parse(bytes: &[u8]) -> Result<KeySet, KeysError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| KeysError::NotJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(KeysError::NotJson("not an object".into()));
        };
        let mut keys = Vec::new();
        match object.get("keys").and_then(Value::as_array) {
            Some(jwks) => {
                for jwk in jwks {
                    if let Some(key) = jwk_key(jwk)? {
                        keys.push(key);
                    }
                }
            }
            None => {
                for (kid, pem) in object {
                    let bad = |why| KeysError::BadKey {
                        kid: short(kid),
                        why,
                    };
                    let pem = pem.as_str().ok_or(bad("not a PEM certificate"))?;
                    let der = pem_certificate(pem).ok_or(bad("not a PEM certificate"))?;
                    let spki = certificate_spki(&der).ok_or(bad("not an X.509 certificate"))?;
                    let key = ParsedPublicKey::new(RS256, spki)
                        .map_err(|_| bad("the certificate's key is not RSA"))?;
                    keys.push((kid.clone(), key));
                }
            }
        }
        if keys.is_empty() {
            return Err(KeysError::NoKeys);
        }
        Ok(KeySet { keys })
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn get(&self, kid: &str) -> Option<&ParsedPublicKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// One JWKS entry; `None` for keys that are not RSA signing keys (a JWKS may hold others).
fn jwk_key(jwk: &Value) -> Result<Option<(String, ParsedPublicKey)>, KeysError> {
    let field = |name| jwk.get(name).and_then(Value::as_str);
    let usable = field("kty") == Some("RSA")
        && field("use").is_none_or(|u| u == "sig")
        && field("alg").is_none_or(|a| a == "RS256");
    if !usable {
        return Ok(None);
    }
    let kid = field("kid").ok_or(KeysError::BadKey {
        kid: String::new(),
        why: "it has no `kid`",
    })?;
    let bad = |why| KeysError::BadKey {
        kid: short(kid),
        why,
    };
    let decode = |name| {
        field(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
            .map(|b| b.into_iter().skip_while(|&x| x == 0).collect::<Vec<u8>>())
            .filter(|b| !b.is_empty())
    };
    let n = decode("n").ok_or(bad("`n` is not base64url"))?;
    let e = decode("e").ok_or(bad("`e` is not base64url"))?;
    let key = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(RS256)
        .map_err(|_| bad("`n` and `e` are not an RSA key"))?;
    Ok(Some((kid.to_string(), key)))
}

fn pem_certificate(pem: &str) -> Option<Vec<u8>> {
    let body = pem.trim().strip_prefix("-----BEGIN CERTIFICATE-----")?;
    let end = body.find("-----END CERTIFICATE-----")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// The SubjectPublicKeyInfo of a DER X.509 certificate (RFC 5280 §4.1: the seventh field of
/// `tbsCertificate`, after the optional `[0]` version). Nothing else of the certificate is
/// looked at: trust in Google's self-signed service-account certificates comes from where they
/// were fetched (googleapis.com over TLS, or a file an admin placed), not from the certificate.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _, _) = der_element(der, 0x30)?;
    let (tbs, _, _) = der_element(certificate, 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xA0) {
        rest = der_element(rest, 0xA0)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [0x02, 0x30, 0x30, 0x30, 0x30] {
        rest = der_element(rest, tag)?.2;
    }
    der_element(rest, 0x30).map(|(_, whole, _)| whole)
}

/// The first DER element of `input` if it has `tag`: its contents, the whole element, and what
/// follows it. Only the forms a certificate uses are read (one-byte tags, definite lengths up
/// to four bytes).
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first = *input.get(1)?;
    let (len, header) = match first {
        0..=0x7F => (usize::from(first), 2),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let bytes = input.get(2..2 + n)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        }
        _ => return None,
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((&whole[header..], whole, &input[end..]))
}

/// What the verifier is configured with: the channel's `audience` and, optionally, the one
/// Workspace add-on service account to accept.
#[derive(Debug, Clone)]
pub struct GoogleChatInbound {
    pub audience: Audience,
    pub service_account: Option<String>,
}

impl GoogleChatInbound {
    /// Verifies the bearer token against `keys` at `now_ms`, then reads the event.
    pub fn verify_and_parse(
        &self,
        req: &Request,
        now_ms: i64,
        keys: &KeySet,
    ) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        let token = bearer(req)?;
        self.verify_token(token, keys, now_ms.div_euclid(1000))?;
        parse_event(req.body)
    }

    fn verify_token(&self, token: &str, keys: &KeySet, now_s: i64) -> Result<(), Refusal> {
        let rejected = |why: String| Refusal::TokenRejected(why);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(rejected(format!("longer than {MAX_TOKEN_BYTES} bytes")));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(rejected("not a JWT (three dot-separated parts)".into()));
        };
        let header = json_part(header_b64).ok_or_else(|| rejected("unreadable header".into()))?;
        match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => {}
            Some(alg) => {
                return Err(rejected(format!(
                    "signed with `{}`; only RS256 is accepted",
                    short(alg)
                )));
            }
            None => return Err(rejected("the header names no algorithm".into())),
        }
        if header.get("crit").is_some() {
            return Err(rejected("the header has critical extensions".into()));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| rejected("the header names no key (`kid`)".into()))?;
        let key = keys.get(kid).ok_or_else(|| {
            rejected(format!(
                "signed with key `{}`, which is not among the {} keys Google publishes for this \
                 audience",
                short(kid),
                keys.len()
            ))
        })?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| Refusal::BadSignature)?;
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        key.verify_sig(signed.as_bytes(), &signature)
            .map_err(|_| Refusal::BadSignature)?;
        let claims = json_part(payload_b64).ok_or_else(|| rejected("unreadable claims".into()))?;
        self.check_claims(&claims, now_s)
    }

    fn check_claims(&self, claims: &Value, now_s: i64) -> Result<(), Refusal> {
        let rejected = |why: String| Refusal::TokenRejected(why);
        let text = |name| claims.get(name).and_then(Value::as_str);
        let iss = text("iss").unwrap_or_default();
        let (audience, issuer_ok) = match &self.audience {
            Audience::ProjectNumber(n) => (n, iss == CHAT_ISSUER),
            Audience::Endpoint(url) => (url, GOOGLE_ISSUERS.contains(&iss)),
        };
        if !issuer_ok {
            return Err(rejected(format!("issued by `{}`", short(iss))));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(rejected(
                "for another audience than the channel's `audience`".into(),
            ));
        }
        if let Audience::Endpoint(_) = self.audience {
            let email = text("email").unwrap_or_default();
            let allowed = email == CHAT_ISSUER
                || match &self.service_account {
                    Some(configured) => email.eq_ignore_ascii_case(configured.trim()),
                    None => is_addon_service_account(email),
                };
            if !allowed {
                return Err(rejected(format!(
                    "an ID token of `{}`, not of Google Chat",
                    short(email)
                )));
            }
            let verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
                || text("email_verified") == Some("true");
            if !verified {
                return Err(rejected("its email is not verified".into()));
            }
        }
        let time = |name| claims.get(name).and_then(Value::as_i64);
        let (Some(exp), Some(iat)) = (time("exp"), time("iat")) else {
            return Err(rejected("it lacks `exp` or `iat`".into()));
        };
        if now_s > exp.saturating_add(LEEWAY_SECS) {
            return Err(rejected(format!(
                "expired {} s ago",
                now_s.saturating_sub(exp)
            )));
        }
        if iat > now_s.saturating_add(LEEWAY_SECS) {
            return Err(rejected(format!(
                "issued {} s in the future (is this host's clock right?)",
                iat.saturating_sub(now_s)
            )));
        }
        if let Some(nbf) = time("nbf")
            && nbf > now_s.saturating_add(LEEWAY_SECS)
        {
            return Err(rejected(format!(
                "not valid for another {} s",
                nbf.saturating_sub(now_s)
            )));
        }
        Ok(())
    }
}

fn bearer<'r>(req: &Request<'r>) -> Result<&'r str, Refusal> {
    let auth = req.required_header(AUTHORIZATION_HEADER)?;
    match auth.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Refusal::TokenRejected(
            "the Authorization header is not a bearer token".into(),
        )),
    }
}

fn json_part(b64: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// The key id a request's token claims to be signed with, read without trusting anything, so
/// the caller can make sure it holds that key before verifying.
pub fn token_key_id(req: &Request) -> Option<String> {
    let token = bearer(req).ok()?;
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let header = json_part(token.split('.').next()?)?;
    let kid = header.get("kid")?.as_str()?;
    (kid.len() <= 128).then(|| kid.to_string())
}

/// The inline answer in the event's own format.
pub fn reply_body(text: &str, addon: bool) -> Value {
    let message = json!({ "text": text });
    if addon {
        json!({ "hostAppDataAction": { "chatDataAction": {
            "createMessageAction": { "message": message } } } })
    } else {
        message
    }
}

fn parse_event(body: &[u8]) -> Result<Verdict, Refusal> {
    let event = parse_json(body, "Google Chat event")?;
    if !event.is_object() {
        return Err(Refusal::Malformed(
            "Google Chat event is not an object".into(),
        ));
    }
    match event.get("chat").filter(|c| c.is_object()) {
        Some(chat) => parse_addon_event(chat),
        None => parse_classic_event(&event),
    }
}

fn parse_classic_event(event: &Value) -> Result<Verdict, Refusal> {
    let route = ReplyRoute::GoogleChat { addon: false };
    let user = event.get("user");
    let message = event.get("message").filter(|m| m.is_object());
    match str_at(event, &["type"]) {
        Some("MESSAGE") => {
            let message = message
                .ok_or_else(|| Refusal::Malformed("MESSAGE event without `message`".into()))?;
            read_message(message, user, route, message.get("slashCommand").is_some())
        }
        // Added by @mentioning the app with a command: the command is in the event.
        Some("ADDED_TO_SPACE") => match message {
            Some(message) => read_message(message, user, route, false),
            None => Ok(Verdict::Added { reply: route }),
        },
        Some(_) => Ok(Verdict::Ignore(
            "Google Chat event other than a message or being added",
        )),
        None => Err(Refusal::Malformed("Google Chat event has no `type`".into())),
    }
}

fn parse_addon_event(chat: &Value) -> Result<Verdict, Refusal> {
    let route = ReplyRoute::GoogleChat { addon: true };
    let user = chat.get("user");
    let payload = |name| chat.get(name).filter(|p| p.is_object());
    let message_of = |p: &Value| p.get("message").filter(|m| m.is_object()).cloned();
    if let Some(p) = payload("messagePayload") {
        let message = message_of(p)
            .ok_or_else(|| Refusal::Malformed("messagePayload without `message`".into()))?;
        let slash = message.get("slashCommand").is_some();
        return read_message(&message, user, route, slash);
    }
    if let Some(p) = payload("appCommandPayload") {
        let message = message_of(p)
            .ok_or_else(|| Refusal::Malformed("appCommandPayload without `message`".into()))?;
        return read_message(&message, user, route, true);
    }
    if payload("addedToSpacePayload").is_some() {
        return Ok(Verdict::Added { reply: route });
    }
    Ok(Verdict::Ignore(
        "Google Chat add-on event other than a message, a command or being added",
    ))
}

fn read_message(
    message: &Value,
    user: Option<&Value>,
    reply: ReplyRoute,
    slash_command: bool,
) -> Result<Verdict, Refusal> {
    let sender = user.or_else(|| message.get("sender"));
    if sender.and_then(|s| str_at(s, &["type"])) == Some("BOT") {
        return Ok(Verdict::Ignore("Google Chat message from a bot"));
    }
    let user_name = sender
        .map(|s| required_str(s, &["name"]))
        .unwrap_or_else(|| Err(Refusal::Malformed("field `user` is missing".into())))?;
    if !user_name.starts_with("users/") {
        return Err(Refusal::Malformed(
            "the sender's name is not `users/…`".into(),
        ));
    }
    let message_id = required_str(message, &["name"])?;
    let full = message
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let argument = message.get("argumentText").and_then(Value::as_str);
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender_name: sender
            .and_then(|s| str_at(s, &["displayName"]))
            .map(str::to_string),
        sender: Sender::GoogleChat { user_name },
        text: command_text(full, argument, slash_command),
        reply,
        retry: false,
    }))
}

/// The command in a message. `argumentText` is the text without the app's @mention (whose
/// display name may have spaces, which a mention stripper cannot know) and, for a slash
/// command, the text after the command; the full text of a slash command wins only when it is
/// itself a command, as with a slash command named after one (`/done 12`, whose argument is
/// just `12`), while `/weekbell done 12` hands over `done 12`.
fn command_text(full: &str, argument: Option<&str>, slash_command: bool) -> String {
    if slash_command && matches!(commands::parse(full), Parsed::Command { .. }) {
        return full.to_string();
    }
    argument.unwrap_or(full).to_string()
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Keys generated for the tests, and a JWKS of them.

    use super::der_element;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use std::sync::LazyLock;

    pub(crate) struct TestKey {
        pub pair: RsaKeyPair,
        pub kid: &'static str,
    }

    /// Two keys this test generates; only the first is published.
    pub(crate) static KEYS: LazyLock<[TestKey; 2]> = LazyLock::new(|| {
        let generate = || RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        [
            TestKey {
                pair: generate(),
                kid: "3f0e1d2c",
            },
            TestKey {
                pair: generate(),
                kid: "unpublished",
            },
        ]
    });

    /// `SEQUENCE { INTEGER n, INTEGER e }` (RSAPublicKey) → (n, e) without sign bytes.
    pub(crate) fn n_and_e(rsa_public_key: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (seq, _, _) = der_element(rsa_public_key, 0x30).expect("RSAPublicKey");
        let (n, _, rest) = der_element(seq, 0x02).expect("n");
        let (e, _, _) = der_element(rest, 0x02).expect("e");
        let strip = |b: &[u8]| {
            b.iter()
                .copied()
                .skip_while(|&x| x == 0)
                .collect::<Vec<u8>>()
        };
        (strip(n), strip(e))
    }

    pub(crate) fn jwks(keys: &[&TestKey]) -> Vec<u8> {
        let entries: Vec<Value> = keys
            .iter()
            .map(|k| {
                let (n, e) = n_and_e(k.pair.public_key().as_ref());
                json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": k.kid,
                       "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)})
            })
            .collect();
        json!({ "keys": entries }).to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{KEYS, TestKey, jwks};
    use super::*;
    use crate::inbound::test_support::headers;
    use aws_lc_rs::signature::KeyPair as _;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    const PROJECT: &str = "123456789012";
    const ENDPOINT: &str = "https://weekbell.example.gov/hooks/chat";
    const NOW_S: i64 = 1_764_918_000;
    const ADDON_SA: &str = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com";

    fn published() -> KeySet {
        KeySet::parse(&jwks(&[&KEYS[0]])).expect("key set")
    }

    fn token_with(header: &Value, claims: &Value, key: &TestKey) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; key.pair.public_modulus_len()];
        key.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn project_claims() -> Value {
        json!({"iss": CHAT_ISSUER, "aud": PROJECT, "iat": NOW_S - 10, "exp": NOW_S + 3590})
    }

    fn id_token_claims(email: &str) -> Value {
        json!({"iss": "https://accounts.google.com", "aud": ENDPOINT, "azp": "1043", "sub": "1043",
               "email": email, "email_verified": true, "iat": NOW_S - 10, "exp": NOW_S + 3590})
    }

    fn token(claims: &Value) -> String {
        token_with(
            &json!({"alg": "RS256", "kid": KEYS[0].kid, "typ": "JWT"}),
            claims,
            &KEYS[0],
        )
    }

    const MESSAGE: &str = r#"{"type":"MESSAGE","eventTime":"2025-12-05T07:00:00.000Z","space":{"name":"spaces/AAAAx1y2z3","type":"ROOM"},"message":{"name":"spaces/AAAAx1y2z3/messages/9Yk1.9Yk1","sender":{"name":"users/115236089054","displayName":"Alice","type":"HUMAN"},"text":"@weekbell done API-101 shipped","argumentText":" done API-101 shipped","thread":{"name":"spaces/AAAAx1y2z3/threads/9Yk1"}},"user":{"name":"users/115236089054","displayName":"Alice","type":"HUMAN"}}"#;

    fn run(
        verifier: &GoogleChatInbound,
        auth: &str,
        body: &str,
        keys: &KeySet,
    ) -> Result<Verdict, Refusal> {
        let h: HeaderMap = headers(&[(AUTHORIZATION_HEADER, auth)]);
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: body.as_bytes(),
        };
        verifier.verify_and_parse(&req, NOW_S * 1000, keys)
    }

    fn by_project() -> GoogleChatInbound {
        GoogleChatInbound {
            audience: Audience::ProjectNumber(PROJECT.into()),
            service_account: None,
        }
    }

    fn by_endpoint(service_account: Option<&str>) -> GoogleChatInbound {
        GoogleChatInbound {
            audience: Audience::Endpoint(ENDPOINT.into()),
            service_account: service_account.map(str::to_string),
        }
    }

    fn bearer_of(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_project_number_token_verifies_and_the_message_is_read() {
        let auth = bearer_of(&token(&project_claims()));
        let Ok(Verdict::Message(m)) = run(&by_project(), &auth, MESSAGE, &published()) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "spaces/AAAAx1y2z3/messages/9Yk1.9Yk1");
        assert_eq!(m.text, " done API-101 shipped");
        assert_eq!(m.sender.ids(), ["users/115236089054", "115236089054"]);
        assert_eq!(m.sender_name.as_deref(), Some("Alice"));
        assert_eq!(m.reply, ReplyRoute::GoogleChat { addon: false });
    }

    #[test]
    fn id_tokens_of_chat_and_of_the_addon_service_account_verify() {
        for email in [CHAT_ISSUER, ADDON_SA] {
            let auth = bearer_of(&token(&id_token_claims(email)));
            assert!(
                matches!(
                    run(&by_endpoint(None), &auth, MESSAGE, &published()),
                    Ok(Verdict::Message(_))
                ),
                "{email}"
            );
        }
        let mut claims = id_token_claims(ADDON_SA);
        claims["iss"] = json!("accounts.google.com");
        claims["aud"] = json!(["other", ENDPOINT]);
        let auth = bearer_of(&token(&claims));
        assert!(matches!(
            run(&by_endpoint(Some(ADDON_SA)), &auth, MESSAGE, &published()),
            Ok(Verdict::Message(_))
        ));
    }

    fn rejected(result: Result<Verdict, Refusal>) -> String {
        match result {
            Err(Refusal::TokenRejected(why)) => why,
            other => panic!("expected a rejected token, got {other:?}"),
        }
    }

    #[test]
    fn wrong_keys_issuers_audiences_and_times_are_refused() {
        let keys = published();
        // A key the config does not know.
        let unknown = token_with(
            &json!({"alg": "RS256", "kid": KEYS[1].kid}),
            &project_claims(),
            &KEYS[1],
        );
        let why = rejected(run(&by_project(), &bearer_of(&unknown), MESSAGE, &keys));
        assert!(why.contains("unpublished"), "{why}");
        // The published kid, signed by another key.
        let forged = token_with(
            &json!({"alg": "RS256", "kid": KEYS[0].kid}),
            &project_claims(),
            &KEYS[1],
        );
        assert_eq!(
            run(&by_project(), &bearer_of(&forged), MESSAGE, &keys),
            Err(Refusal::BadSignature)
        );
        // Wrong audience, wrong issuer, expired, from the future, not yet valid.
        let mut c = project_claims();
        c["aud"] = json!("987654321098");
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys))
                .contains("audience")
        );
        let mut c = project_claims();
        c["iss"] = json!("https://accounts.google.com");
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys))
                .contains("issued by")
        );
        let mut c = project_claims();
        c["exp"] = json!(NOW_S - LEEWAY_SECS - 1);
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys))
                .contains("expired")
        );
        let mut c = project_claims();
        c["exp"] = json!(NOW_S - LEEWAY_SECS);
        assert!(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys).is_ok());
        let mut c = project_claims();
        c["iat"] = json!(NOW_S + LEEWAY_SECS + 5);
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys)).contains("future")
        );
        let mut c = project_claims();
        c["nbf"] = json!(NOW_S + 600);
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys))
                .contains("not valid")
        );
        let mut c = project_claims();
        c.as_object_mut().map(|o| o.remove("iat"));
        assert!(
            rejected(run(&by_project(), &bearer_of(&token(&c)), MESSAGE, &keys)).contains("iat")
        );
        // ID tokens: someone else's service account, an unverified email, a pinned add-on
        // account, a project-number token sent to an endpoint-URL channel.
        let other = bearer_of(&token(&id_token_claims(
            "mallory@evil-project.iam.gserviceaccount.com",
        )));
        assert!(
            rejected(run(&by_endpoint(None), &other, MESSAGE, &keys))
                .contains("not of Google Chat")
        );
        let mut c = id_token_claims(CHAT_ISSUER);
        c["email_verified"] = json!(false);
        assert!(
            rejected(run(
                &by_endpoint(None),
                &bearer_of(&token(&c)),
                MESSAGE,
                &keys
            ))
            .contains("verified")
        );
        let other_addon = bearer_of(&token(&id_token_claims(
            "service-999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com",
        )));
        assert!(run(&by_endpoint(None), &other_addon, MESSAGE, &keys).is_ok());
        assert!(
            rejected(run(
                &by_endpoint(Some(ADDON_SA)),
                &other_addon,
                MESSAGE,
                &keys
            ))
            .contains("not of Google Chat")
        );
        let project_token = bearer_of(&token(&project_claims()));
        assert!(
            rejected(run(&by_endpoint(None), &project_token, MESSAGE, &keys)).contains("issued by")
        );
    }

    #[test]
    fn algorithm_confusion_and_tampering_are_refused() {
        let keys = published();
        let claims_b64 = URL_SAFE_NO_PAD.encode(project_claims().to_string());
        // alg = none, no signature.
        let none_header =
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": KEYS[0].kid}).to_string());
        let none = format!("{none_header}.{claims_b64}.");
        assert!(rejected(run(&by_project(), &bearer_of(&none), MESSAGE, &keys)).contains("none"));
        // HS256 keyed with the public key's bytes, the classic confusion attack.
        let hs_header =
            URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": KEYS[0].kid}).to_string());
        let input = format!("{hs_header}.{claims_b64}");
        let mac = {
            use hmac::{Hmac, KeyInit, Mac};
            let mut mac =
                <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(KEYS[0].pair.public_key().as_ref())
                    .expect("any key length");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes()
        };
        let hs = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac));
        assert!(rejected(run(&by_project(), &bearer_of(&hs), MESSAGE, &keys)).contains("HS256"));
        // A tampered payload under the original signature.
        let good = token(&project_claims());
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        let mut evil = project_claims();
        evil["aud"] = json!("987654321098");
        parts[1] = URL_SAFE_NO_PAD.encode(evil.to_string());
        assert_eq!(
            run(&by_project(), &bearer_of(&parts.join(".")), MESSAGE, &keys),
            Err(Refusal::BadSignature)
        );
        // Not a JWT, not a bearer token, no header at all, no kid, critical extensions.
        assert!(rejected(run(&by_project(), "Bearer abc.def", MESSAGE, &keys)).contains("JWT"));
        assert!(
            rejected(run(&by_project(), &format!("Basic {good}"), MESSAGE, &keys))
                .contains("bearer")
        );
        let req_headers = HeaderMap::new();
        let req = Request {
            method: "POST",
            query: "",
            headers: &req_headers,
            body: MESSAGE.as_bytes(),
        };
        assert_eq!(
            by_project().verify_and_parse(&req, NOW_S * 1000, &keys),
            Err(Refusal::MissingHeader(AUTHORIZATION_HEADER))
        );
        let no_kid = token_with(&json!({"alg": "RS256"}), &project_claims(), &KEYS[0]);
        assert!(rejected(run(&by_project(), &bearer_of(&no_kid), MESSAGE, &keys)).contains("kid"));
        let crit = token_with(
            &json!({"alg": "RS256", "kid": KEYS[0].kid, "crit": ["exp"]}),
            &project_claims(),
            &KEYS[0],
        );
        assert!(
            rejected(run(&by_project(), &bearer_of(&crit), MESSAGE, &keys)).contains("critical")
        );
        // With no keys at all, nothing verifies.
        assert!(
            rejected(run(
                &by_project(),
                &bearer_of(&good),
                MESSAGE,
                &KeySet::default()
            ))
            .contains("0 keys")
        );
    }

    #[test]
    fn key_ids_are_peeked_without_trust() {
        let auth = bearer_of(&token(&project_claims()));
        let h = headers(&[(AUTHORIZATION_HEADER, &auth)]);
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: b"",
        };
        assert_eq!(token_key_id(&req).as_deref(), Some(KEYS[0].kid));
        let h = headers(&[(AUTHORIZATION_HEADER, "Bearer !!!.x.y")]);
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: b"",
        };
        assert_eq!(token_key_id(&req), None);
    }

    /// A minimal X.509 certificate around the key, shaped like Google's service-account
    /// certificates (v3, sha1WithRSA, CN issuer and subject, two validity times).
    fn certificate(key: &TestKey) -> Vec<u8> {
        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let len = content.len();
            if len < 0x80 {
                out.push(len as u8);
            } else if len < 0x100 {
                out.extend([0x81, len as u8]);
            } else {
                out.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            out.extend_from_slice(content);
            out
        }
        let seq = |parts: &[Vec<u8>]| tlv(0x30, &parts.concat());
        let name = seq(&[tlv(
            0x31,
            &seq(&[
                tlv(0x06, &[0x55, 0x04, 0x03]),
                tlv(0x0C, b"chat.system.gserviceaccount.com"),
            ]),
        )]);
        let sha1_rsa = seq(&[
            tlv(
                0x06,
                &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05],
            ),
            vec![0x05, 0x00],
        ]);
        let rsa = seq(&[
            tlv(
                0x06,
                &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]);
        let mut bits = vec![0];
        bits.extend_from_slice(key.pair.public_key().as_ref());
        let spki = seq(&[rsa, tlv(0x03, &bits)]);
        let tbs = seq(&[
            tlv(0xA0, &tlv(0x02, &[2])),
            tlv(0x02, &[0x1F, 0x3A, 0x77, 0x01, 0x9C, 0x42, 0x5E, 0x10]),
            sha1_rsa.clone(),
            name.clone(),
            seq(&[tlv(0x17, b"251201000000Z"), tlv(0x17, b"251217120000Z")]),
            name,
            spki,
        ]);
        seq(&[tbs, sha1_rsa, tlv(0x03, &[0, 1, 2, 3])])
    }

    #[test]
    fn x509_certificate_maps_read_as_key_sets() {
        let pem = |der: &[u8]| {
            let b64 = STANDARD.encode(der);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect();
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                lines.join("\n")
            )
        };
        let map = json!({ KEYS[0].kid: pem(&certificate(&KEYS[0])) });
        let keys = KeySet::parse(map.to_string().as_bytes()).expect("x509 map");
        assert!(keys.contains(KEYS[0].kid));
        let auth = bearer_of(&token(&project_claims()));
        assert!(matches!(
            run(&by_project(), &auth, MESSAGE, &keys),
            Ok(Verdict::Message(_))
        ));
        // Broken inputs say what is wrong with them.
        assert!(matches!(KeySet::parse(b"[]"), Err(KeysError::NotJson(_))));
        assert!(matches!(
            KeySet::parse(b"{\"keys\": []}"),
            Err(KeysError::NoKeys)
        ));
        assert!(matches!(
            KeySet::parse(
                b"{\"k\": \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"}"
            ),
            Err(KeysError::BadKey { .. })
        ));
        assert!(matches!(
            KeySet::parse(b"{\"k\": 1}"),
            Err(KeysError::BadKey { .. })
        ));
        let bad_n = json!({"keys": [{"kty": "RSA", "kid": "x", "n": "***", "e": "AQAB"}]});
        assert!(matches!(
            KeySet::parse(bad_n.to_string().as_bytes()),
            Err(KeysError::BadKey { .. })
        ));
        // Keys that are not RSA signing keys are skipped, not errors.
        let mixed = json!({"keys": [{"kty": "EC", "kid": "ec1", "crv": "P-256"}, {"kty": "RSA", "use": "enc", "kid": "e1", "n": "AQAB", "e": "AQAB"}]});
        assert!(matches!(
            KeySet::parse(mixed.to_string().as_bytes()),
            Err(KeysError::NoKeys)
        ));
        let both = KeySet::parse(&jwks(&[&KEYS[0], &KEYS[1]])).expect("two keys");
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn audiences_parse() {
        assert_eq!(
            Audience::parse(" 123456789012 "),
            Some(Audience::ProjectNumber(PROJECT.into()))
        );
        assert_eq!(
            Audience::parse(ENDPOINT),
            Some(Audience::Endpoint(ENDPOINT.into()))
        );
        assert_eq!(Audience::parse("my-project"), None);
        assert_eq!(Audience::parse(""), None);
        assert_eq!(Audience::parse("ftp://x/y"), None);
        assert_eq!(
            Audience::parse(PROJECT).as_ref().map(default_certs),
            Some(CHAT_CERTS_URL)
        );
        assert_eq!(
            Audience::parse(ENDPOINT).as_ref().map(default_certs),
            Some(GOOGLE_CERTS_URL)
        );
        assert!(is_addon_service_account(ADDON_SA));
        assert!(!is_addon_service_account(
            "service-@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
        ));
        assert!(!is_addon_service_account(
            "service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com.evil"
        ));
    }

    fn verified(body: &str) -> Result<Verdict, Refusal> {
        run(
            &by_project(),
            &bearer_of(&token(&project_claims())),
            body,
            &published(),
        )
    }

    #[test]
    fn event_formats() {
        // A slash command named after a command keeps its word; one named after the app
        // hands over its argument.
        let slash = |text: &str, arg: &str| {
            json!({"type": "MESSAGE", "user": {"name": "users/1", "type": "HUMAN"},
                   "message": {"name": "spaces/A/messages/B", "text": text, "argumentText": arg,
                               "slashCommand": {"commandId": "1"}}})
            .to_string()
        };
        let text_of = |body: &str| match verified(body) {
            Ok(Verdict::Message(m)) => m.text,
            other => panic!("{other:?}"),
        };
        assert_eq!(text_of(&slash("/done 12", " 12")), "/done 12");
        assert_eq!(text_of(&slash("/weekbell done 12", " done 12")), " done 12");
        // A direct message has no mention; its argumentText is the text.
        let dm = json!({"type": "MESSAGE", "user": {"name": "users/1"},
            "message": {"name": "spaces/D/messages/M", "text": "list mine"}})
        .to_string();
        assert_eq!(text_of(&dm), "list mine");
        // Being added: a greeting, or the command it was added with.
        let added = json!({"type": "ADDED_TO_SPACE", "user": {"name": "users/1"}, "space": {"name": "spaces/A"}}).to_string();
        assert_eq!(
            verified(&added),
            Ok(Verdict::Added {
                reply: ReplyRoute::GoogleChat { addon: false }
            })
        );
        let added_with = json!({"type": "ADDED_TO_SPACE", "user": {"name": "users/1"},
            "message": {"name": "spaces/A/messages/C", "text": "@weekbell status", "argumentText": " status"}}).to_string();
        assert_eq!(text_of(&added_with), " status");
        // Bots, removals and clicks are ignored; broken events are malformed.
        let bot = json!({"type": "MESSAGE", "user": {"name": "users/9", "type": "BOT"},
            "message": {"name": "spaces/A/messages/X", "text": "hi"}})
        .to_string();
        assert!(matches!(verified(&bot), Ok(Verdict::Ignore(_))));
        for ignored in [
            r#"{"type":"REMOVED_FROM_SPACE"}"#,
            r#"{"type":"CARD_CLICKED"}"#,
        ] {
            assert!(
                matches!(verified(ignored), Ok(Verdict::Ignore(_))),
                "{ignored}"
            );
        }
        for broken in [
            r#"{"type":"MESSAGE"}"#,
            r#"{"user":{}}"#,
            "[]",
            "{",
            r#"{"type":"MESSAGE","user":{"name":"users/1"},"message":{"text":"x"}}"#,
            r#"{"type":"MESSAGE","user":{"name":"bots/1"},"message":{"name":"m","text":"x"}}"#,
        ] {
            assert!(
                matches!(verified(broken), Err(Refusal::Malformed(_))),
                "{broken}"
            );
        }
    }

    #[test]
    fn workspace_addon_events() {
        let addon = |payload: &str, body: Value| {
            json!({"commonEventObject": {"hostApp": "CHAT"},
                   "authorizationEventObject": {"systemIdToken": "not read"},
                   "chat": {"user": {"name": "users/115236089054", "displayName": "Alice", "type": "HUMAN"},
                            "eventTime": "2025-12-05T07:00:00Z", payload: body}})
            .to_string()
        };
        let message = json!({"message": {"name": "spaces/A/messages/M1", "text": "@weekbell done 12",
                                         "argumentText": " done 12"}, "space": {"name": "spaces/A"}});
        let Ok(Verdict::Message(m)) = verified(&addon("messagePayload", message)) else {
            panic!("refused")
        };
        assert_eq!(m.text, " done 12");
        assert_eq!(m.message_id, "spaces/A/messages/M1");
        assert_eq!(m.reply, ReplyRoute::GoogleChat { addon: true });
        let command = json!({"appCommandMetadata": {"appCommandId": 1, "appCommandType": "SLASH_COMMAND"},
                             "message": {"name": "spaces/A/messages/M2", "text": "/weekbell list", "argumentText": " list"}});
        let Ok(Verdict::Message(m)) = verified(&addon("appCommandPayload", command)) else {
            panic!("refused")
        };
        assert_eq!(m.text, " list");
        assert_eq!(
            verified(&addon(
                "addedToSpacePayload",
                json!({"space": {"name": "spaces/A"}})
            )),
            Ok(Verdict::Added {
                reply: ReplyRoute::GoogleChat { addon: true }
            })
        );
        assert!(matches!(
            verified(&addon("buttonClickedPayload", json!({}))),
            Ok(Verdict::Ignore(_))
        ));
        assert!(matches!(
            verified(&addon("messagePayload", json!({}))),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn replies_take_the_events_format() {
        assert_eq!(reply_body("hi", false), json!({"text": "hi"}));
        assert_eq!(
            reply_body("hi", true),
            json!({"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": {"text": "hi"}}}}})
        );
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            auth in "[ -~]{0,200}",
            sign_it in any::<bool>(),
        ) {
            let auth = if sign_it { bearer_of(&token(&project_claims())) } else { auth };
            let h = headers(&[(AUTHORIZATION_HEADER, &auth)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = token_key_id(&req);
            let _ = by_project().verify_and_parse(&req, NOW_S * 1000, &published());
        }

        #[test]
        fn any_key_set_or_certificate_reads_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let _ = KeySet::parse(&bytes);
            let _ = certificate_spki(&bytes);
        }
    }
}

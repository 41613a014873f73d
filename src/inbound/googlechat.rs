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
//! Verification here is pure: the caller passes the keys in ([`KeySet`], read in `keys.rs`);
//! `inbound::googlechat_keys` fetches and caches them for the daemon. This file checks the
//! token; `events.rs` reads the event once the token holds.
//!
//! Two event formats are read. The classic interaction event is flat: `type` (`MESSAGE`,
//! `ADDED_TO_SPACE`, …), `message` (`name`, `text`, `argumentText`, `slashCommand`), `user`,
//! `space`; it is answered with a Message, `{"text": …}`. A Workspace add-on event wraps it:
//! `chat.user` and one of `chat.messagePayload`, `chat.appCommandPayload` (slash and quick
//! commands), `chat.addedToSpacePayload`, …; it is answered with
//! `{"hostAppDataAction": {"chatDataAction": {"createMessageAction": {"message": …}}}}`.

mod events;
mod keys;

pub use events::reply_body;
pub use keys::{KeySet, KeysError, default_certs};

use super::{Refusal, Request, Verdict, short};
use crate::config::{Audience, is_addon_service_account};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use events::parse_event;
use serde_json::Value;

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

#[cfg(test)]
pub(crate) mod test_support {
    //! Keys generated for the tests, and a JWKS of them.

    use super::keys::der_element;
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
    use crate::inbound::ReplyRoute;
    use crate::inbound::test_support::headers;
    use aws_lc_rs::signature;
    use aws_lc_rs::signature::KeyPair as _;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    const PROJECT: &str = "123456789012";
    const ENDPOINT: &str = "https://weekbell.example.gov/hooks/chat";
    const NOW_S: i64 = 1_764_918_000;
    const ADDON_SA: &str = "service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com";

    pub(super) fn published() -> KeySet {
        KeySet::parse(&jwks(&[&KEYS[0]])).expect("key set")
    }

    pub(super) fn token_with(header: &Value, claims: &Value, key: &TestKey) -> String {
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

    pub(super) fn project_claims() -> Value {
        json!({"iss": CHAT_ISSUER, "aud": PROJECT, "iat": NOW_S - 10, "exp": NOW_S + 3590})
    }

    fn id_token_claims(email: &str) -> Value {
        json!({"iss": "https://accounts.google.com", "aud": ENDPOINT, "azp": "1043", "sub": "1043",
               "email": email, "email_verified": true, "iat": NOW_S - 10, "exp": NOW_S + 3590})
    }

    pub(super) fn token(claims: &Value) -> String {
        token_with(
            &json!({"alg": "RS256", "kid": KEYS[0].kid, "typ": "JWT"}),
            claims,
            &KEYS[0],
        )
    }

    pub(super) const MESSAGE: &str = r#"{"type":"MESSAGE","eventTime":"2025-12-05T07:00:00.000Z","space":{"name":"spaces/AAAAx1y2z3","type":"ROOM"},"message":{"name":"spaces/AAAAx1y2z3/messages/9Yk1.9Yk1","sender":{"name":"users/115236089054","displayName":"Alice","type":"HUMAN"},"text":"@weekbell done API-101 shipped","argumentText":" done API-101 shipped","thread":{"name":"spaces/AAAAx1y2z3/threads/9Yk1"}},"user":{"name":"users/115236089054","displayName":"Alice","type":"HUMAN"}}"#;

    pub(super) fn run(
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

    pub(super) fn by_project() -> GoogleChatInbound {
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

    pub(super) fn bearer_of(token: &str) -> String {
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
    }
}

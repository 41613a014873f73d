//! Local fakes of Google Chat for tests: an incoming webhook that checks messages as Chat does,
//! a server of Google's public signing keys, and a signer that mints the bearer tokens Chat
//! sends to an app — with keys generated here, so nothing comes from Google.
//!
//! | fake | URL | checks, and the refusal each gives |
//! |---|---|---|
//! | [`FakeGoogleChat`] | `/v1/spaces/{space}/messages?key=K&token=T` | the space (404 NOT_FOUND); `key` (400 INVALID_ARGUMENT "API key not valid…"); `token` (401 UNAUTHENTICATED); a JSON body (400 INVALID_ARGUMENT "Invalid JSON payload received…"); `text` or `cardsV2` (400 INVALID_ARGUMENT); text ≤ 4,096 characters (400 INVALID_ARGUMENT "Message is longer than 4096 characters"); message ≤ 32,000 bytes (400 INVALID_ARGUMENT); then 200 with the created Message |
//! | [`FakeGoogleKeys`] | `/service_accounts/v1/metadata/x509/chat@system.gserviceaccount.com` (X.509 map) and `/oauth2/v3/certs` (JWKS) | none; answers with `Cache-Control: public, max-age=…` as Google does, and counts fetches |
//!
//! Errors are Google's JSON errors, `{"error": {"code", "message", "status"}}` with the
//! matching HTTP status; the status names are google.rpc.Code's, the messages those quoted in
//! public reports where there is one.

use super::fake_http::{Answer, Checked, FakeHttp, Scripted, Seen, random_token};
use super::lock;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SPACE: &str = "AAAAq7Rk2Xw";
/// The API key every Chat webhook URL carries.
pub const WEBHOOK_KEY: &str = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI";
pub const X509_PATH: &str = "/service_accounts/v1/metadata/x509/chat@system.gserviceaccount.com";
pub const JWKS_PATH: &str = "/oauth2/v3/certs";

/// A scripted answer for one request to the webhook.
#[derive(Debug, Clone)]
pub enum ChatReply {
    /// This HTTP status with a Google JSON error of this status name.
    Error(u16, &'static str, &'static str),
    /// HTTP 429 RESOURCE_EXHAUSTED with `Retry-After`.
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// This status with a gateway-style body.
    Status(u16),
    Delay(Duration),
    Reset,
    Close,
}

pub fn google_error(status: u16, name: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &json!({"error": {"code": status, "message": message, "status": name}}),
    )
}

pub struct FakeGoogleChat {
    http: FakeHttp,
    token: String,
}

impl FakeGoogleChat {
    pub async fn start() -> FakeGoogleChat {
        let token = random_token(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            43,
        );
        let expected = token.clone();
        let created = Arc::new(AtomicUsize::new(0));
        let http = FakeHttp::start(move |seen| check_webhook(&expected, &created, seen)).await;
        FakeGoogleChat { http, token }
    }

    pub fn url(&self) -> String {
        self.url_with_token(&self.token)
    }

    pub fn url_with_token(&self, token: &str) -> String {
        format!(
            "{}/v1/spaces/{SPACE}/messages?key={WEBHOOK_KEY}&token={token}",
            self.http.base_url()
        )
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn script(&self, replies: impl IntoIterator<Item = ChatReply>) {
        self.http.script(replies.into_iter().map(|r| {
            match r {
                ChatReply::Error(status, name, message) => {
                    Scripted::Answer(google_error(status, name, message))
                }
                ChatReply::TooManyRequests { retry_after_secs } => Scripted::Answer(
                    google_error(
                        429,
                        "RESOURCE_EXHAUSTED",
                        "Resource has been exhausted (e.g. check quota).",
                    )
                    .with_header("retry-after", retry_after_secs.to_string()),
                ),
                ChatReply::Status(status) => Scripted::Answer(Answer::text(
                    status,
                    format!("<html><title>Error {status}</title></html>"),
                )),
                ChatReply::Delay(d) => Scripted::Delay(d),
                ChatReply::Reset => Scripted::Reset,
                ChatReply::Close => Scripted::Close,
            }
        }));
    }
}

impl Deref for FakeGoogleChat {
    type Target = FakeHttp;

    fn deref(&self) -> &FakeHttp {
        &self.http
    }
}

fn check_webhook(token: &str, created: &AtomicUsize, seen: &Seen) -> Checked {
    let invalid = |message: &str| Checked::Answer(google_error(400, "INVALID_ARGUMENT", message));
    if seen.path() != format!("/v1/spaces/{SPACE}/messages") {
        return Checked::Answer(google_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
        ));
    }
    if seen.query("key").as_deref() != Some(WEBHOOK_KEY) {
        return invalid("API key not valid. Please pass a valid API key.");
    }
    if seen.query("token").as_deref() != Some(token) {
        return Checked::Answer(google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&seen.body) else {
        return invalid("Invalid JSON payload received. Unexpected token.");
    };
    let text = body["text"].as_str();
    if text.is_none() && body.get("cardsV2").is_none() {
        return invalid("Message cannot be empty. Discarded message that has no text or cards.");
    }
    if text.is_some_and(|t| t.chars().count() > 4096) {
        return invalid("Message is longer than 4096 characters");
    }
    if seen.body.len() > 32_000 {
        return invalid("Message is larger than the limit of 32000 bytes");
    }
    let n = created.fetch_add(1, Ordering::Relaxed) + 1;
    let message = json!({
        "name": format!("spaces/{SPACE}/messages/wbk{n:08}.wbk{n:08}"),
        "sender": {"name": "users/114022495153014004089", "displayName": "weekbell", "type": "BOT"},
        "createTime": "2026-12-01T09:00:00.123456Z",
        "text": text.unwrap_or_default(),
        "thread": {"name": format!("spaces/{SPACE}/threads/wbk{n:08}")},
        "space": {"name": format!("spaces/{SPACE}"), "type": "ROOM"},
        "argumentText": text.unwrap_or_default(),
    });
    Checked::Accept(body, Answer::json(200, &message))
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens.

/// A signing key of the fake Google, published under `kid`.
pub struct GoogleSigner {
    pair: RsaKeyPair,
    pub kid: String,
}

impl GoogleSigner {
    pub fn generate(kid: &str) -> GoogleSigner {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .unwrap_or_else(|e| panic!("cannot generate an RSA key: {e}"));
        GoogleSigner {
            pair,
            kid: kid.into(),
        }
    }

    /// The key as a JWKS entry, as at Google's `/oauth2/v3/certs`.
    pub fn jwk(&self) -> Value {
        let (n, e) = n_and_e(self.pair.public_key().as_ref());
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
               "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)})
    }

    /// The key in a PEM certificate shaped like Google's service-account certificates.
    pub fn certificate_pem(&self) -> String {
        let der = certificate(self.pair.public_key().as_ref(), &self.pair);
        let b64 = STANDARD.encode(der);
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    /// A JWS over `header` and `claims`, signed RS256 with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; self.pair.public_modulus_len()];
        if let Err(e) = self.pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        ) {
            panic!("cannot sign: {e}");
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
    }

    /// What Chat sends with the "Project Number" audience.
    pub fn project_token(&self, project: &str, now: i64) -> String {
        self.sign(
            &self.header(),
            &json!({"iss": "chat@system.gserviceaccount.com", "aud": project,
                    "iat": now, "exp": now + 3600}),
        )
    }

    /// What Chat sends with the "HTTP endpoint URL" audience: a Google ID token of `email`.
    pub fn id_token(&self, endpoint: &str, email: &str, now: i64) -> String {
        self.sign(
            &self.header(),
            &json!({"iss": "https://accounts.google.com", "aud": endpoint,
                    "azp": "113206837373628930283", "sub": "113206837373628930283",
                    "email": email, "email_verified": true, "iat": now, "exp": now + 3600}),
        )
    }
}

/// `SEQUENCE { INTEGER n, INTEGER e }` → (n, e) without sign bytes.
fn n_and_e(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn element(input: &[u8]) -> (&[u8], &[u8]) {
        let first = input[1];
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7F);
            let len = input[2..2 + n]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b));
            (len, 2 + n)
        };
        (&input[header..header + len], &input[header + len..])
    }
    let (seq, _) = element(der);
    let (n, rest) = element(seq);
    let (e, _) = element(rest);
    let strip = |b: &[u8]| {
        b.iter()
            .copied()
            .skip_while(|&x| x == 0)
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

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

/// A self-signed v3 certificate for `rsa_public_key` (PKCS#1), sha256WithRSA, as a
/// service-account certificate: CN issuer and subject, two validity times.
fn certificate(rsa_public_key: &[u8], pair: &RsaKeyPair) -> Vec<u8> {
    let seq = |parts: &[Vec<u8>]| tlv(0x30, &parts.concat());
    let name = seq(&[tlv(
        0x31,
        &seq(&[
            tlv(0x06, &[0x55, 0x04, 0x03]),
            tlv(0x0C, b"chat.system.gserviceaccount.com"),
        ]),
    )]);
    let sha256_rsa = seq(&[
        tlv(
            0x06,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B],
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
    bits.extend_from_slice(rsa_public_key);
    let tbs = seq(&[
        tlv(0xA0, &tlv(0x02, &[2])),
        tlv(0x02, &[0x3C, 0x5E, 0x0A, 0x91, 0x27, 0x44, 0x6B, 0x18]),
        sha256_rsa.clone(),
        name.clone(),
        seq(&[tlv(0x17, b"261120000000Z"), tlv(0x17, b"261206120000Z")]),
        name,
        seq(&[rsa, tlv(0x03, &bits)]),
    ]);
    let mut sig = vec![0; pair.public_modulus_len()];
    if let Err(e) = pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        &tbs,
        &mut sig,
    ) {
        panic!("cannot sign the certificate: {e}");
    }
    let mut sig_bits = vec![0];
    sig_bits.extend(sig);
    seq(&[tbs, sha256_rsa, tlv(0x03, &sig_bits)])
}

/// Google's key endpoints on loopback: the Chat service account's X.509 certificates and the
/// OAuth JWKS, both serving the keys given.
pub struct FakeGoogleKeys {
    http: FakeHttp,
    published: Arc<Mutex<(Value, Value)>>,
}

impl FakeGoogleKeys {
    pub async fn start(signers: &[&GoogleSigner], max_age_secs: u64) -> FakeGoogleKeys {
        let published = Arc::new(Mutex::new(documents(signers)));
        let shared = published.clone();
        let http = FakeHttp::start(move |seen| {
            let (x509, jwks) = lock(&shared).clone();
            let doc = match seen.path() {
                X509_PATH => x509,
                JWKS_PATH => jwks,
                _ => return Checked::Answer(Answer::text(404, "Not Found")),
            };
            Checked::Accept(
                json!({"path": seen.path()}),
                Answer::json(200, &doc).with_header(
                    "cache-control",
                    format!("public, max-age={max_age_secs}, must-revalidate, no-transform"),
                ),
            )
        })
        .await;
        FakeGoogleKeys { http, published }
    }

    /// Publishes these keys from now on (a key rotation).
    pub fn publish(&self, signers: &[&GoogleSigner]) {
        *lock(&self.published) = documents(signers);
    }

    pub fn x509_url(&self) -> String {
        format!("{}{X509_PATH}", self.http.base_url())
    }

    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.http.base_url())
    }

    /// How many times the keys were fetched.
    pub fn fetches(&self) -> usize {
        self.http.request_count()
    }
}

fn documents(signers: &[&GoogleSigner]) -> (Value, Value) {
    let x509: serde_json::Map<String, Value> = signers
        .iter()
        .map(|s| (s.kid.clone(), Value::String(s.certificate_pem())))
        .collect();
    let jwks = json!({"keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>()});
    (Value::Object(x509), jwks)
}

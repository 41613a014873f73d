//! Helpers shared by the fuzz targets: a request shaped from fuzz input, the fixed clock and
//! credentials the verifiers are built with, and a small task list for the command executor.

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;
use weekbell::commands::{self, Context, Lang};
use weekbell::config::{Field, TasksConfig};
use weekbell::inbound::{Request, Verdict};
use weekbell::people::{Directory, Person};
use weekbell::platforms::Platform;
use weekbell::tasks::Task;

/// The verifiers' clock: every run sees the same "now", so a crash reproduces.
pub const NOW_MS: i64 = 1_764_918_000_000;

/// The method of a fuzzed request: mostly the two the platforms use.
#[derive(Debug, Arbitrary)]
pub enum Method {
    Post,
    Get,
    Other(String),
}

/// A header name: one the verifier reads (by index into the target's list), or anything.
#[derive(Debug, Arbitrary)]
pub enum Name {
    Known(u8),
    Other(String),
}

/// One HTTP request built from fuzz input.
#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub method: Method,
    pub query: String,
    pub headers: Vec<(Name, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Let the target add valid credentials for its known secret, so that the input reaches
    /// the parsing behind the signature check instead of stopping at it.
    pub sign: bool,
    /// Seconds between the signed timestamp and [`NOW_MS`] (the freshness window's edges).
    pub skew_secs: i16,
    /// Random bytes where a platform wants them (an AES IV, a nonce).
    pub iv: [u8; 16],
}

impl FuzzRequest {
    pub fn method(&self) -> &str {
        match &self.method {
            Method::Post => "POST",
            Method::Get => "GET",
            Method::Other(m) => m,
        }
    }

    /// The fuzzed headers; names and values that `http` would refuse are left out, as a
    /// server could never hand them to a verifier.
    pub fn header_map(&self, known: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = match name {
                Name::Known(i) if !known.is_empty() => {
                    HeaderName::from_static(known[usize::from(*i) % known.len()])
                }
                Name::Known(_) => continue,
                Name::Other(s) => match HeaderName::from_bytes(s.as_bytes()) {
                    Ok(n) => n,
                    Err(_) => continue,
                },
            };
            if let Ok(v) = HeaderValue::from_bytes(value) {
                map.append(name, v);
            }
        }
        map
    }

    /// The signed timestamp in seconds.
    pub fn ts_secs(&self) -> i64 {
        NOW_MS / 1000 + i64::from(self.skew_secs)
    }

    /// A nonce made of the IV bytes, as visible ASCII.
    pub fn nonce(&self) -> String {
        self.iv.iter().map(|b| char::from(b'a' + b % 26)).collect()
    }
}

/// Sets (replaces) a header to a value the target computed; values `http` refuses are
/// skipped.
pub fn set(map: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        map.insert(HeaderName::from_static(name), v);
    }
}

/// Runs a verifier over the parts, and a message it lets through on into the command parser,
/// as the server does.
pub fn check(
    method: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    verify: impl FnOnce(&Request<'_>) -> Result<Verdict, weekbell::inbound::Refusal>,
) {
    let req = Request {
        method,
        query,
        headers,
        body,
    };
    match verify(&req) {
        Ok(Verdict::Message(m)) => {
            let _ = m.sender.ids();
            let _ = commands::parse(&m.text);
        }
        Ok(_) => {}
        // Every refusal must be printable (the log line) without panicking.
        Err(refusal) => {
            let _ = refusal.to_string();
        }
    }
}

fn person(id: &str, name: &str, unit: Option<&str>, admin: bool) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        unit: unit.map(str::to_string),
        mobile: None,
        email: None,
        handles: BTreeMap::from([(Platform::Slack, format!("U-{id}"))]),
        admin,
    }
}

/// The people of the fuzzed command context: an owner, a unit member and an admin.
pub static PEOPLE: LazyLock<Directory> = LazyLock::new(|| {
    Directory::new(vec![
        person("alice", "Alice", Some("platform"), false),
        person("bob", "Bob", Some("web"), false),
        person("erin", "Erin", None, true),
        person("zhang", "张三", Some("住建局"), false),
    ])
});

/// A task list with a mix of units, statuses, owners and deadlines, loaded through the
/// importer as a user's list would be.
pub static TASKS: LazyLock<Vec<Task>> = LazyLock::new(|| {
    let csv = "id,title,owner,team,due,status,progress,notes\n\
        API-101,Ship rate limiter,alice,platform,2025-12-04,in progress,40%,\n\
        API-102,Rotate certificates,bob,platform,2025-11-27,todo,,expires soon\n\
        WEB-210,Fix checkout layout,bob;alice,web,2025-12-02,done,100%,\n\
        12,整改占道经营,张三,住建局,2025年12月底前,整改中,0.5,\n\
        13,长期坚持事项,张三、alice,住建局,长期坚持,长期坚持,,\n\
        OPS-7,Blocked on vendor,erin,ops,2025-11-01,blocked,,waiting for vendor\n";
    let cfg = tasks_config(&[(Field::Owners, "owner"), (Field::Unit, "team")]);
    let today = chrono::NaiveDate::from_ymd_opt(2025, 12, 5).unwrap_or_default();
    weekbell::tasks::load_bytes("fuzz.csv", csv.as_bytes(), &cfg, &PEOPLE, today)
        .map(|l| l.tasks)
        .unwrap_or_default()
});

/// A tasks config with the given column headers mapped.
pub fn tasks_config(columns: &[(Field, &str)]) -> TasksConfig {
    TasksConfig {
        source: PathBuf::from("fuzz.csv"),
        sheet: None,
        columns: columns.iter().map(|(f, h)| (*f, h.to_string())).collect(),
        status_values: BTreeMap::new(),
        encoding: None,
        max_unpacked_size: weekbell::config::DEFAULT_MAX_UNPACKED_SIZE,
        date_order: None,
        locale: weekbell::config::Locale::ZhCn,
    }
}

/// Parses `text` and runs it for `sender` (an index into [`PEOPLE`]; past the end, an
/// unrecognised sender) against [`TASKS`].
pub fn run_command(text: &str, sender: u8) {
    let parsed = commands::parse(text);
    let _ = parsed.lang(Lang::En);
    let people = &*PEOPLE;
    let person = people.all().get(usize::from(sender));
    let ctx = Context {
        sender: person,
        sender_handle: Some("U-fuzz"),
        tasks: &TASKS,
        channel: None,
        today: chrono::NaiveDate::from_ymd_opt(2025, 12, 5).unwrap_or_default(),
        lang: Lang::En,
        people: Some(people),
    };
    let outcome = commands::respond(&parsed, &ctx);
    let _ = commands::to_events(
        &outcome.changes,
        &commands::EventMeta {
            id: "fuzz",
            dedupe_key: Some("fuzz:1"),
            at_ms: NOW_MS,
            actor: person.map_or("nobody", |p| p.id.as_str()),
            source: "chat",
            channel: Some("team"),
        },
    );
}

/// A Google Chat signing key generated once per run, the key set that publishes it, and
/// tokens it signs: what the `inbound_googlechat` target verifies against.
pub mod google {
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::LazyLock;
    use weekbell::inbound::googlechat::KeySet;

    pub const PROJECT: &str = "123456789012";
    pub const KID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";

    pub struct Signer {
        pair: RsaKeyPair,
        pub keys: KeySet,
    }

    pub static SIGNER: LazyLock<Option<Signer>> = LazyLock::new(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).ok()?;
        let (n, e) = n_and_e(pair.public_key().as_ref())?;
        let jwks = serde_json::json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig",
            "kid": KID, "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)}]});
        let keys = KeySet::parse(jwks.to_string().as_bytes()).ok()?;
        Some(Signer { pair, keys })
    });

    impl Signer {
        /// A project-number token issued at `iat`.
        pub fn token(&self, iat: i64) -> Option<String> {
            let header = serde_json::json!({"alg": "RS256", "kid": KID, "typ": "JWT"});
            let claims = serde_json::json!({"iss": "chat@system.gserviceaccount.com",
                "aud": PROJECT, "iat": iat, "exp": iat + 3600});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut sig = vec![0; self.pair.public_modulus_len()];
            self.pair
                .sign(
                    &signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .ok()?;
            Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
        }
    }

    /// `SEQUENCE { INTEGER n, INTEGER e }` → (n, e) without sign bytes.
    fn n_and_e(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        fn element(input: &[u8]) -> Option<(&[u8], &[u8])> {
            let first = *input.get(1)?;
            let (len, header) = if first < 0x80 {
                (usize::from(first), 2)
            } else {
                let n = usize::from(first & 0x7F);
                let len = input
                    .get(2..2 + n)?
                    .iter()
                    .fold(0usize, |a, &b| (a << 8) | usize::from(b));
                (len, 2 + n)
            };
            Some((input.get(header..header + len)?, input.get(header + len..)?))
        }
        let (seq, _) = element(der)?;
        let (n, rest) = element(seq)?;
        let (e, _) = element(rest)?;
        let strip = |b: &[u8]| b.iter().copied().skip_while(|&x| x == 0).collect::<Vec<u8>>();
        Some((strip(n), strip(e)))
    }
}

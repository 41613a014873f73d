//! Google's public signing keys, read from either form Google publishes (a JWKS, or a map of
//! key id to PEM certificate), with the few DER steps that find a certificate's key.
//!
//! Why the certificate form is still read, rather than switching the project-number audience
//! to the Chat service account's keys as a JWKS (Google serves a service account's keys in
//! both forms): `certs` may name a file an admin placed for an office that cannot reach
//! googleapis.com, and the README tells them to copy it as Google serves it, JWKS *or
//! certificates*; the certificate map is also what Google's own verification samples for Chat
//! fetch ([`CHAT_CERTS_URL`]). Dropping the form would make such files stop loading on
//! upgrade. Reading it costs the ~45 lines below (`pem_certificate`, `certificate_spki`,
//! `der_element`), which follow only tags and lengths to the SubjectPublicKeyInfo and are
//! proptested on arbitrary bytes, where an X.509 parser crate would bring its ASN.1 and parser
//! dependencies for one field. Revisit if Google stops publishing the certificate map.

use super::{CHAT_CERTS_URL, GOOGLE_CERTS_URL};
use crate::config::Audience;
use crate::inbound::short;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

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

    pub(super) fn get(&self, kid: &str) -> Option<&ParsedPublicKey> {
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
pub(super) fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8], &[u8])> {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{KEYS, TestKey, jwks};
    use super::super::tests::{MESSAGE, bearer_of, by_project, project_claims, run, token};
    use super::*;
    use crate::inbound::Verdict;
    use aws_lc_rs::signature::KeyPair as _;
    use proptest::prelude::*;
    use serde_json::json;

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

    proptest! {
        #[test]
        fn any_key_set_or_certificate_reads_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let _ = KeySet::parse(&bytes);
            let _ = certificate_spki(&bytes);
        }
    }
}

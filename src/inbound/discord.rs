//! Discord: application (slash) commands posted to the app's Interactions Endpoint URL, signed
//! with Ed25519.
//!
//! `X-Signature-Ed25519` is the hex signature of `X-Signature-Timestamp ‖ raw body` under the
//! app's public key (hex, General Information → Public Key). Discord checks that an endpoint
//! refuses bad signatures with 401 when its URL is saved, and sends a PING (`type` 1) that must
//! be answered `{"type":1}`.
//!
//! Discord documents no freshness window for the timestamp; weekbell refuses one more than
//! [`WINDOW_SECS`] away from its clock, as for Slack. An interaction must be answered within
//! 3 seconds, so an older one is a replay; the window is wide enough for a host clock that is
//! a little off.
//!
//! # Commands
//!
//! The text weekbell runs is made of the command's words: its name when that is itself a
//! command word (`/done`), then each subcommand's name, then every option value in the order
//! given. So `/weekbell text:"done 12 shipped"` (the command in
//! `config/examples/discord-commands.json`) runs `done 12 shipped`, and a command registered
//! as `/done` with options `id` and `note` runs `done 12 shipped` too.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, check_fresh_ms, configured,
    int_at, need, parse_json, parse_timestamp, required_str, secs_to_ms, str_at, string_at,
};
use crate::commands::{self, Parsed};
use crate::config::{ChannelConfig, DiscordSettings, discord_public_key};
use crate::secret::Secret;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// How far the signed timestamp may be from this host's clock, either way.
pub const WINDOW_SECS: i64 = 300;

/// Subcommand groups hold subcommands, which hold options: three levels at most.
const MAX_OPTION_DEPTH: usize = 3;

#[derive(Debug, Clone)]
pub struct DiscordInbound {
    /// The application's public key, 64 hex characters. Not a secret, but held as one like
    /// every other inbound credential.
    pub public_key: Secret,
}

impl DiscordInbound {
    pub fn new(public_key: Secret) -> Self {
        DiscordInbound { public_key }
    }

    pub fn verify_and_parse(&self, req: &Request, now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        self.verify(req, now_ms)?;
        parse_interaction(req.body)
    }

    fn verify(&self, req: &Request, now_ms: i64) -> Result<(), Refusal> {
        let key = configured(Some(&self.public_key))
            .ok_or(Refusal::Misconfigured("Discord public key"))
            .and_then(|hex| {
                discord_public_key(hex).ok_or(Refusal::Misconfigured(
                    "Discord public key is not 64 hex characters of a valid Ed25519 key",
                ))
            })?;
        let ts_raw = req.required_header(TIMESTAMP_HEADER)?;
        let signature = req.required_header(SIGNATURE_HEADER)?;
        let ts = parse_timestamp(ts_raw, TIMESTAMP_HEADER)?;
        check_fresh_ms(secs_to_ms(ts), now_ms, WINDOW_SECS)?;
        let mut message = Vec::with_capacity(ts_raw.len() + req.body.len());
        message.extend_from_slice(ts_raw.as_bytes());
        message.extend_from_slice(req.body);
        verify_hex(&key, &message, signature)
    }
}

/// Checks a hex signature of `message` with the strict rules (no small-order points, no
/// malleable `s`), as an endpoint that Discord's own checks probe should.
fn verify_hex(key: &VerifyingKey, message: &[u8], signature_hex: &str) -> Result<(), Refusal> {
    let bytes: [u8; 64] = hex::decode(signature_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Refusal::BadSignature)?;
    key.verify_strict(message, &Signature::from_bytes(&bytes))
        .map_err(|_| Refusal::BadSignature)
}

/// The hex public key of a 32-byte signing seed; for tests and local tools that play Discord.
pub fn public_key_hex(seed: &[u8; 32]) -> String {
    hex::encode(SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// `X-Signature-Ed25519` for a request, as Discord computes it; for tests and local tools that
/// play Discord.
pub fn signature(seed: &[u8; 32], timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    hex::encode(SigningKey::from_bytes(seed).sign(&message).to_bytes())
}

fn parse_interaction(body: &[u8]) -> Result<Verdict, Refusal> {
    let interaction = parse_json(body, "Discord interaction")?;
    match int_at(&interaction, &["type"]) {
        Some(1) => Ok(Verdict::Challenge {
            content_type: "application/json",
            body: br#"{"type":1}"#.to_vec(),
        }),
        Some(2) => parse_command(&interaction),
        Some(_) => Ok(Verdict::Ignore(
            "discord interaction other than a slash command (a button, autocomplete, modal)",
        )),
        None => Err(Refusal::Malformed(
            "Discord interaction has no `type`".into(),
        )),
    }
}

fn parse_command(interaction: &Value) -> Result<Verdict, Refusal> {
    let Some(data) = interaction.get("data").filter(|d| d.is_object()) else {
        return Err(Refusal::Malformed(
            "application command without `data`".into(),
        ));
    };
    // User and message commands (right-click menus) carry a target, not words.
    if int_at(data, &["type"]).is_some_and(|t| t != 1) {
        return Ok(Verdict::Ignore(
            "discord user or message command (not a slash command)",
        ));
    }
    let message_id = required_str(interaction, &["id"])?;
    let application_id = required_str(interaction, &["application_id"])?;
    let token = required_str(interaction, &["token"])?;
    // `member` in a server, `user` in a DM.
    let (user, member) = match interaction.get("member").filter(|m| m.is_object()) {
        Some(member) => (member.get("user"), Some(member)),
        None => (interaction.get("user"), None),
    };
    let Some(user) = user.filter(|u| u.is_object()) else {
        return Err(Refusal::Malformed(
            "interaction names no user (`member.user` or `user`)".into(),
        ));
    };
    let user_id = required_str(user, &["id"])?;
    let sender_name = member
        .and_then(|m| string_at(m, &["nick"]))
        .or_else(|| string_at(user, &["global_name"]))
        .or_else(|| string_at(user, &["username"]));
    Ok(Verdict::Message(InboundMessage {
        message_id,
        sender: Sender::Discord {
            user_id,
            guild_id: string_at(interaction, &["guild_id"]),
        },
        sender_name,
        text: command_text(data),
        reply: ReplyRoute::Discord {
            application_id,
            token: Secret::new(token),
        },
        // Discord does not redeliver interactions; the dedupe on the id covers replays.
        retry: false,
    }))
}

/// The command text an interaction's `data` stands for (see the module docs).
pub fn command_text(data: &Value) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(name) = str_at(data, &["name"])
        && !matches!(commands::parse(name), Parsed::Unknown { .. })
    {
        words.push(name.to_string());
    }
    collect_options(data.get("options"), 0, &mut words);
    words.join(" ")
}

fn collect_options(options: Option<&Value>, depth: usize, words: &mut Vec<String>) {
    let Some(options) = options.and_then(Value::as_array) else {
        return;
    };
    if depth >= MAX_OPTION_DEPTH {
        return;
    }
    for option in options {
        match option.get("value") {
            Some(Value::String(s)) => words.push(s.clone()),
            Some(Value::Number(n)) => words.push(n.to_string()),
            Some(Value::Bool(b)) => words.push(b.to_string()),
            // A subcommand (group): its name is a word, then its own options.
            _ => {
                if let Some(name) = str_at(option, &["name"]) {
                    words.push(name.to_string());
                }
                collect_options(option.get("options"), depth + 1, words);
            }
        }
    }
}

/// The inline answer to a slash command: a message in the channel (type 4), shown to the
/// person who used it only when `ephemeral`. It pings nobody: answers quote task text.
pub fn command_answer(content: &str, ephemeral: bool) -> Value {
    let mut data = serde_json::json!({
        "content": content,
        "allowed_mentions": { "parse": [] },
    });
    if ephemeral {
        data["flags"] = serde_json::json!(1 << 6);
    }
    serde_json::json!({ "type": 4, "data": data })
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &DiscordSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    DiscordInbound::new(need(&settings.public_key)?).verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    /// RFC 8032 §7.1, TESTs 1–3: secret key (seed), public key, message, signature.
    const RFC8032: [(&str, &str, &str, &str); 3] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];

    /// A seed the tests make up, as a developer's app would have its own key.
    const SEED: [u8; 32] = *b"weekbell-discord-test-seed-32-b!";
    const TS: &str = "1764918000";
    const NOW_MS: i64 = 1_764_918_000_000 + 2_000;

    fn seed32(hex_seed: &str) -> [u8; 32] {
        hex::decode(hex_seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 32])
    }

    fn inbound() -> DiscordInbound {
        DiscordInbound::new(Secret::new(public_key_hex(&SEED)))
    }

    fn signed(ts: &str, body: &str) -> HeaderMap {
        headers(&[
            (TIMESTAMP_HEADER, ts),
            (SIGNATURE_HEADER, &signature(&SEED, ts, body.as_bytes())),
        ])
    }

    fn run(h: &HeaderMap, body: &str, now_ms: i64) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers: h,
            body: body.as_bytes(),
        };
        inbound().verify_and_parse(&req, now_ms)
    }

    fn command(options: Value, who: Value) -> String {
        let mut v = json!({
            "id": "1180000000000000001",
            "application_id": "1170000000000000000",
            "type": 2,
            "token": "aW50ZXJhY3Rpb246MTE4MDAwMDAwMDAwMDAwMDAwMTpzZWNyZXQ",
            "version": 1,
            "channel_id": "1160000000000000000",
            "data": {"id": "1190000000000000000", "name": "weekbell", "type": 1, "options": options},
        });
        if let (Some(o), Some(w)) = (v.as_object_mut(), who.as_object()) {
            o.extend(w.clone());
        }
        v.to_string()
    }

    #[test]
    fn rfc8032_vectors_sign_and_verify() {
        for (seed, public, message, sig) in RFC8032 {
            let seed = seed32(seed);
            assert_eq!(public_key_hex(&seed), public);
            let message = hex::decode(message).unwrap_or_default();
            let key = discord_public_key(public).unwrap_or_else(|| panic!("bad key {public}"));
            assert_eq!(verify_hex(&key, &message, sig), Ok(()));
            let signed = hex::encode(SigningKey::from_bytes(&seed).sign(&message).to_bytes());
            assert_eq!(signed, sig);
            // One flipped bit anywhere fails.
            let mut tampered = message.clone();
            tampered.push(0);
            assert_eq!(verify_hex(&key, &tampered, sig), Err(Refusal::BadSignature));
            let mut bad = hex::decode(sig).unwrap_or_default();
            bad[5] ^= 1;
            assert_eq!(
                verify_hex(&key, &message, &hex::encode(bad)),
                Err(Refusal::BadSignature)
            );
        }
    }

    #[test]
    fn ping_is_answered_with_pong() {
        let body =
            r#"{"application_id":"1170000000000000000","id":"1","token":"t","type":1,"version":1}"#;
        assert_eq!(
            run(&signed(TS, body), body, NOW_MS),
            Ok(Verdict::Challenge {
                content_type: "application/json",
                body: br#"{"type":1}"#.to_vec()
            })
        );
    }

    #[test]
    fn a_guild_slash_command_becomes_a_message() {
        let body = command(
            json!([{"name": "text", "type": 3, "value": "done 12 已清理"}]),
            json!({"guild_id": "1150000000000000000",
                   "member": {"nick": "Nelly", "user": {"id": "80351110224678912", "username": "nelly"}}}),
        );
        let Ok(Verdict::Message(m)) = run(&signed(TS, &body), &body, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(m.message_id, "1180000000000000001");
        assert_eq!(m.text, "done 12 已清理");
        assert_eq!(
            m.sender,
            Sender::Discord {
                user_id: "80351110224678912".into(),
                guild_id: Some("1150000000000000000".into())
            }
        );
        assert_eq!(m.sender_name.as_deref(), Some("Nelly"));
        let ReplyRoute::Discord {
            application_id,
            token,
        } = m.reply
        else {
            panic!("wrong route")
        };
        assert_eq!(application_id, "1170000000000000000");
        assert!(token.expose().starts_with("aW50"));
    }

    #[test]
    fn a_dm_command_names_the_user() {
        let body = command(
            json!([{"name": "text", "type": 3, "value": "list mine"}]),
            json!({"user": {"id": "42", "username": "bob", "global_name": "Bob"}}),
        );
        let Ok(Verdict::Message(m)) = run(&signed(TS, &body), &body, NOW_MS) else {
            panic!("refused")
        };
        assert_eq!(
            m.sender,
            Sender::Discord {
                user_id: "42".into(),
                guild_id: None
            }
        );
        assert_eq!(m.sender_name.as_deref(), Some("Bob"));
    }

    #[test]
    fn commands_named_after_command_words_and_subcommands() {
        let data = json!({"name": "done", "type": 1, "options": [
            {"name": "id", "type": 3, "value": "API-101"}, {"name": "note", "type": 3, "value": "shipped"}]});
        assert_eq!(command_text(&data), "done API-101 shipped");
        let data = json!({"name": "weekbell", "type": 1, "options": [
            {"name": "progress", "type": 1, "options": [
                {"name": "id", "type": 3, "value": "12"}, {"name": "percent", "type": 4, "value": 60}]}]});
        assert_eq!(command_text(&data), "progress 12 60");
        let data =
            json!({"name": "进展", "type": 1, "options": [{"name": "id", "type": 4, "value": 4}]});
        assert_eq!(command_text(&data), "进展 4");
        assert_eq!(command_text(&json!({"name": "weekbell"})), "");
    }

    #[test]
    fn refusals() {
        let body = command(
            json!([{"name": "text", "type": 3, "value": "done 12"}]),
            json!({"user": {"id": "42"}}),
        );
        let good = signed(TS, &body);
        assert!(run(&good, &body, NOW_MS).is_ok());
        // Tampered body, another key, a signature that is not hex or not 64 bytes.
        let tampered = body.replace("done 12", "done 13");
        assert_eq!(run(&good, &tampered, NOW_MS), Err(Refusal::BadSignature));
        let other = DiscordInbound::new(Secret::new(public_key_hex(&[7; 32])));
        let req = Request {
            method: "POST",
            query: "",
            headers: &good,
            body: body.as_bytes(),
        };
        assert_eq!(
            other.verify_and_parse(&req, NOW_MS),
            Err(Refusal::BadSignature)
        );
        for sig in ["zz", "abcd", &"00".repeat(64)] {
            let h = headers(&[(TIMESTAMP_HEADER, TS), (SIGNATURE_HEADER, sig)]);
            assert_eq!(run(&h, &body, NOW_MS), Err(Refusal::BadSignature), "{sig}");
        }
        // The timestamp is signed: another one fails even when fresh.
        let mut moved = good.clone();
        moved.insert(TIMESTAMP_HEADER, "1764918001".parse().unwrap());
        assert_eq!(run(&moved, &body, NOW_MS), Err(Refusal::BadSignature));
        // Stale either way, just past the window; at the edge, fine.
        let ts_ms = 1_764_918_000_000;
        assert!(matches!(
            run(&good, &body, ts_ms + 301_000),
            Err(Refusal::StaleTimestamp {
                skew_secs: -301,
                ..
            })
        ));
        assert!(matches!(
            run(&good, &body, ts_ms - 301_000),
            Err(Refusal::StaleTimestamp { skew_secs: 301, .. })
        ));
        assert!(run(&good, &body, ts_ms + 300_000).is_ok());
        // Missing headers.
        let only_ts = headers(&[(TIMESTAMP_HEADER, TS)]);
        assert_eq!(
            run(&only_ts, &body, NOW_MS),
            Err(Refusal::MissingHeader(SIGNATURE_HEADER))
        );
        let only_sig = headers(&[(SIGNATURE_HEADER, &signature(&SEED, TS, body.as_bytes()))]);
        assert_eq!(
            run(&only_sig, &body, NOW_MS),
            Err(Refusal::MissingHeader(TIMESTAMP_HEADER))
        );
        // Signed but malformed.
        for bad in [
            "{",
            r#"{"type":2}"#,
            r#"{"type":2,"id":"1","application_id":"2","token":"t","data":{"name":"x"}}"#,
        ] {
            assert!(
                matches!(
                    run(&signed(TS, bad), bad, NOW_MS),
                    Err(Refusal::Malformed(_))
                ),
                "{bad}"
            );
        }
        // Buttons and autocomplete are genuine but not commands.
        let button =
            r#"{"type":3,"id":"1","application_id":"2","token":"t","data":{"custom_id":"x"}}"#;
        assert!(matches!(
            run(&signed(TS, button), button, NOW_MS),
            Ok(Verdict::Ignore(_))
        ));
        // A wrong method; a missing or broken key.
        let req = Request {
            method: "GET",
            query: "",
            headers: &good,
            body: body.as_bytes(),
        };
        assert!(matches!(
            inbound().verify_and_parse(&req, NOW_MS),
            Err(Refusal::MethodNotAllowed(_))
        ));
        let req = Request {
            method: "POST",
            ..req
        };
        for key in ["", "not-hex", "abcd"] {
            assert!(matches!(
                DiscordInbound::new(Secret::new(key)).verify_and_parse(&req, NOW_MS),
                Err(Refusal::Misconfigured(_))
            ));
        }
    }

    #[test]
    fn answers_ping_nobody() {
        assert_eq!(
            command_answer("**12** done", false),
            json!({"type": 4, "data": {"content": "**12** done", "allowed_mentions": {"parse": []}}})
        );
        assert_eq!(command_answer("help", true)["data"]["flags"], 64);
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            ts in "[0-9a-z\\-]{0,24}",
            sig in "[ -~]{0,140}",
            now in any::<i64>(),
            sign_it in any::<bool>(),
        ) {
            let sig = if sign_it { signature(&SEED, &ts, &body) } else { sig };
            let h = headers(&[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &sig)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = inbound().verify_and_parse(&req, now);
        }

        #[test]
        fn signed_commands_never_panic(text in "\\PC{0,200}", depth in 0usize..6) {
            let mut options = json!([{"name": "text", "type": 3, "value": text}]);
            for _ in 0..depth {
                options = json!([{"name": "sub", "type": 1, "options": options}]);
            }
            let body = command(options, json!({"user": {"id": "1"}}));
            let _ = run(&signed(TS, &body), &body, NOW_MS);
        }
    }
}

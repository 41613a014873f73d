//! `DingTalkInbound::verify_and_parse`; with `sign` set the timestamp is signed, so the robot
//! message parser behind the check is reached. Then the signature binding: the same header
//! pair is offered again with `replay_body`, and `SignatureUse` must accept it exactly when it
//! is the body the pair was first accepted with (what the server stores), and the verifier must
//! still enforce the app's `robotCode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weekbell::inbound::dingtalk::SignatureUse;
use weekbell::inbound::{DingTalkInbound, Refusal, ReplyRoute, Request, Verdict, dingtalk};
use weekbell::secret::Secret;
use weekbell_fuzz::{FuzzRequest, NOW_MS, check, set};

const SECRET: &str = "gU3kq8Xw2Lr9Zt5Vb7Nm1Pq4Sd6Fh8Jk0Lz2Xc4Vb6Nm8Qw";
const APP_KEY: &str = "dingfuzzapp";

fuzz_target!(|input: (FuzzRequest, Vec<u8>)| {
    let (input, replay_body) = input;
    let mut headers = input.header_map(&[
        dingtalk::TIMESTAMP_HEADER,
        dingtalk::SIGN_HEADER,
        "content-type",
    ]);
    if input.sign {
        let ts_ms = (input.ts_secs() * 1000).to_string();
        set(&mut headers, dingtalk::TIMESTAMP_HEADER, &ts_ms);
        set(
            &mut headers,
            dingtalk::SIGN_HEADER,
            &dingtalk::sign(SECRET, &ts_ms),
        );
    }
    let verifier = DingTalkInbound::new(Secret::new(SECRET));
    check(input.method(), &input.query, &headers, &input.body, |req| {
        verifier.verify_and_parse(req, NOW_MS)
    });

    let first = Request {
        method: "POST",
        query: "",
        headers: &headers,
        body: &input.body,
    };
    if verifier.verify_and_parse(&first, NOW_MS).is_err() {
        return;
    }
    let Some(bound) = SignatureUse::of(&first) else {
        panic!("a verified request has no signature use")
    };
    let replay = Request {
        body: &replay_body,
        ..first
    };
    let Some(again) = SignatureUse::of(&replay) else {
        panic!("the same headers lost their signature use")
    };
    assert_eq!(again.signature, bound.signature);
    let same_body = replay_body == input.body;
    match again.check(&bound.body_sha256) {
        Ok(()) => assert!(same_body, "a new body passed as the first"),
        Err(Refusal::ReplayedSignature) => assert!(!same_body, "a retry was refused"),
        Err(other) => panic!("unexpected refusal {other}"),
    }

    // With the app known, no text message for another robot gets through.
    let for_app = verifier.clone().for_app(APP_KEY);
    if let Ok(Verdict::Message(m)) = for_app.verify_and_parse(&replay, NOW_MS) {
        let ReplyRoute::DingTalk { robot_code, .. } = m.reply else {
            panic!("a DingTalk message with another reply route")
        };
        assert_eq!(robot_code.as_deref(), Some(APP_KEY));
    }
});

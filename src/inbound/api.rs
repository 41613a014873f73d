//! The generic JSON API, for scripts and other systems: `Authorization: Bearer <token>` and
//! `{"id": "<unique request id>", "as": "<person id>", "text": "done 12"}`.
//!
//! A bearer token proves who is calling, not what was sent, and there is no timestamp: the
//! token must travel over HTTPS only, and `id` makes a repeated request harmless.

use super::{
    InboundMessage, Refusal, ReplyRoute, Request, Sender, Verdict, configured, ct_eq, need,
    parse_json, required_str,
};
use crate::config::{ChannelConfig, WebhookSettings};
use crate::secret::Secret;

pub const AUTHORIZATION_HEADER: &str = "authorization";

#[derive(Debug, Clone)]
pub struct ApiInbound {
    pub token: Secret,
}

impl ApiInbound {
    pub fn new(token: Secret) -> Self {
        ApiInbound { token }
    }

    /// `now_ms` is unused (there is no timestamp to check) but kept so every verifier has the
    /// same signature.
    pub fn verify_and_parse(&self, req: &Request, _now_ms: i64) -> Result<Verdict, Refusal> {
        req.expect_post()?;
        let expected =
            configured(Some(&self.token)).ok_or(Refusal::Misconfigured("API bearer token"))?;
        let auth = req.required_header(AUTHORIZATION_HEADER)?;
        // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
        let given = match auth.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(Refusal::BadToken),
        };
        if !ct_eq(given.as_bytes(), expected.trim().as_bytes()) {
            return Err(Refusal::BadToken);
        }
        let body = parse_json(req.body, "API request")?;
        if !body.is_object() {
            return Err(Refusal::Malformed(
                "API request is not a JSON object".into(),
            ));
        }
        let message_id = required_str(&body, &["id"])?;
        let person_id = required_str(&body, &["as"])?;
        let text = body
            .get("text")
            .and_then(|t| t.as_str())
            .ok_or_else(|| Refusal::Malformed("field `text` is missing".into()))?
            .to_string();
        Ok(Verdict::Message(InboundMessage {
            message_id,
            sender: Sender::Api { person_id },
            sender_name: None,
            text,
            reply: ReplyRoute::Inline,
            retry: false,
        }))
    }
}

/// This platform's side of [`verify`](super::verify): the channel's verifier, built from its
/// configured inbound credentials.
pub(super) fn verify_channel(
    settings: &WebhookSettings,
    _channel: &ChannelConfig,
    request: &Request<'_>,
    now_ms: i64,
) -> Result<Verdict, Refusal> {
    ApiInbound::new(need(&settings.token)?).verify_and_parse(request, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::test_support::headers;
    use proptest::prelude::*;
    use reqwest::header::HeaderMap;

    const TOKEN: &str = "wb_live_3f9a2c7e1d";
    const BODY: &str = r#"{"id":"req-42","as":"p.zhang","text":"done 12 shipped"}"#;

    fn run(h: &HeaderMap, body: &str) -> Result<Verdict, Refusal> {
        let req = Request {
            method: "POST",
            query: "",
            headers: h,
            body: body.as_bytes(),
        };
        ApiInbound::new(Secret::new(TOKEN)).verify_and_parse(&req, 0)
    }

    fn bearer(token: &str) -> HeaderMap {
        headers(&[(AUTHORIZATION_HEADER, &format!("Bearer {token}"))])
    }

    #[test]
    fn accepts_the_token_and_reads_the_request() {
        assert_eq!(
            run(&bearer(TOKEN), BODY),
            Ok(Verdict::Message(InboundMessage {
                message_id: "req-42".into(),
                sender: Sender::Api {
                    person_id: "p.zhang".into()
                },
                sender_name: None,
                text: "done 12 shipped".into(),
                reply: ReplyRoute::Inline,
                retry: false,
            }))
        );
        let lower = headers(&[(AUTHORIZATION_HEADER, &format!("bearer  {TOKEN}"))]);
        assert!(run(&lower, BODY).is_ok());
    }

    #[test]
    fn refusals() {
        assert_eq!(
            run(&bearer("wb_live_3f9a2c7e1e"), BODY),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            run(&bearer("wb_live_3f9a2c7e1"), BODY),
            Err(Refusal::BadToken)
        );
        assert_eq!(run(&bearer(""), BODY), Err(Refusal::BadToken));
        let basic = headers(&[(AUTHORIZATION_HEADER, &format!("Basic {TOKEN}"))]);
        assert_eq!(run(&basic, BODY), Err(Refusal::BadToken));
        let bare = headers(&[(AUTHORIZATION_HEADER, TOKEN)]);
        assert_eq!(run(&bare, BODY), Err(Refusal::BadToken));
        assert_eq!(
            run(&HeaderMap::new(), BODY),
            Err(Refusal::MissingHeader(AUTHORIZATION_HEADER))
        );
        for body in [
            "{\"id\":",
            "[1]",
            r#"{"as":"p","text":"x"}"#,
            r#"{"id":"r","text":"x"}"#,
            r#"{"id":"r","as":"p"}"#,
            r#"{"id":7,"as":"p","text":"x"}"#,
        ] {
            assert!(
                matches!(run(&bearer(TOKEN), body), Err(Refusal::Malformed(_))),
                "{body}"
            );
        }
        let blank = ApiInbound::new(Secret::new(""));
        let h = bearer("");
        let req = Request {
            method: "POST",
            query: "",
            headers: &h,
            body: BODY.as_bytes(),
        };
        assert!(matches!(
            blank.verify_and_parse(&req, 0),
            Err(Refusal::Misconfigured(_))
        ));
        let big = "x".repeat(crate::inbound::MAX_BODY_BYTES + 1);
        assert!(matches!(
            run(&bearer(TOKEN), &big),
            Err(Refusal::TooLarge(_))
        ));
    }

    proptest! {
        #[test]
        fn never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            auth in "[ -~]{0,64}",
            use_token in any::<bool>(),
        ) {
            let auth = if use_token { format!("Bearer {TOKEN}") } else { auth };
            let h = headers(&[(AUTHORIZATION_HEADER, &auth)]);
            let req = Request { method: "POST", query: "", headers: &h, body: &body };
            let _ = ApiInbound::new(Secret::new(TOKEN)).verify_and_parse(&req, 0);
        }
    }
}

//! Slack incoming webhook: outbound wire format.

use crate::people::Person;
use crate::platforms::Platform;
use crate::render::{Dialect, Mention, OutboundPart, SizeLimit};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::SlackMrkdwn;

/// Slack truncates `text` beyond 40,000 characters; 1,000 spare keep clear of it.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Chars(39_000);

/// `<@U123>` by member id.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Slack).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// `text` is mrkdwn by default and the mentions are inside it.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

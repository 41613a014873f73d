//! The generic webhook: plain text plus structured mentions, for systems weekbell does not know.

use crate::people::Person;
use crate::platforms::Platform;
use crate::render::{Dialect, Mention, OutboundPart};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::Plain;

/// Every configured person can be mentioned: the receiver gets their `webhook` handle when one is
/// configured, else their weekbell person id, which is stable and meaningful to a system that
/// shares the people list.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Webhook).unwrap_or_else(|| person.id.clone());
    Some(Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// `{"title", "text", "mentions": [{"id", "name"}]}`; the text shows mentions as `@Name`.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    let mentions: Vec<Value> = part
        .mentions
        .iter()
        .map(|m| {
            json!({
                "id": m.handle.as_deref().or(m.person_id.as_deref()),
                "name": m.name,
            })
        })
        .collect();
    json!({ "title": part.title, "text": part.text, "mentions": mentions })
}

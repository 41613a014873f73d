//! Feishu / Lark custom bot: outbound wire format.

use crate::people::Person;
use crate::platforms::Platform;
use crate::render::{Dialect, Mention, OutboundPart, SizeLimit};
use serde_json::{Value, json};

/// Markdown only exists inside an interactive card.
pub(super) const DIALECT: Dialect = Dialect::FeishuMarkdown;

/// The request body may be at most 20 KB.
pub(super) const BODY_LIMIT: usize = 20_000;

/// Text budget per part, leaving room for the card envelope, header and JSON escaping.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(18_000);

/// Card markdown mentions by open_id or user_id: `<at id=ou_xxx></at>`.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Feishu).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// An interactive card whose header shows the title, so templates need not repeat it.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({
        "msg_type": "interactive",
        "card": {
            "header": { "title": { "tag": "plain_text", "content": part.title } },
            "elements": [ { "tag": "markdown", "content": part.text } ],
        },
    })
}

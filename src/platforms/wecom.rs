//! WeCom (企业微信) group robot: outbound wire format.

use crate::people::Person;
use crate::platforms::Platform;
use crate::render::{Dialect, Mention, OutboundPart, SizeLimit};
use serde_json::{Value, json};

/// `markdown` (v1), the type that supports `<@userid>` mentions; `markdown_v2` has lists and
/// tables but cannot mention anyone.
pub(super) const DIALECT: Dialect = Dialect::WeComMarkdown;

/// `markdown.content` may hold at most 4,096 bytes (`errcode 40058`).
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(4_096);

/// Markdown messages mention by WeCom user id only (mobiles work in `text` messages alone).
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    super::safe_handle(person, Platform::Wecom).map(|handle| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle: Some(handle),
        mobile: None,
    })
}

/// The mentions are in the content as `<@userid>`; there is no separate list for markdown.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "msgtype": "markdown", "markdown": { "content": part.text } })
}

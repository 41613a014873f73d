//! DingTalk (钉钉) custom group robot: outbound wire format.

use crate::people::Person;
use crate::platforms::Platform;
use crate::render::{Dialect, Mention, OutboundPart, SizeLimit};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::DingTalkMarkdown;

/// The robot refuses bodies over 20,000 bytes (`errcode 460101`).
pub(super) const BODY_LIMIT: usize = 20_000;

/// Text budget per part: 2,000 bytes below the body limit leave room for the envelope, the
/// title, the `at` lists and JSON escaping; the renderer re-splits if a request still overflows.
pub(super) const SIZE_LIMIT: SizeLimit = SizeLimit::Bytes(18_000);

/// DingTalk notifies by user id (`atUserIds`) or, failing that, by mobile (`atMobiles`); the
/// same id must also be written as `@id` in the text, which the dialect does.
pub(super) fn mention_for(person: &Person) -> Option<Mention> {
    let handle = super::safe_handle(person, Platform::Dingtalk);
    let mobile = if handle.is_some() {
        None
    } else {
        person
            .mobile
            .as_deref()
            .map(str::trim)
            .filter(|m| crate::render::markup::is_safe_handle(m))
            .map(str::to_string)
    };
    (handle.is_some() || mobile.is_some()).then(|| Mention {
        person_id: Some(person.id.clone()),
        name: person.name.clone(),
        handle,
        mobile,
    })
}

/// `msgtype: markdown`. The title is only the notification preview, so templates repeat it as a
/// heading in the text.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    let user_ids: Vec<&str> = part
        .mentions
        .iter()
        .filter_map(|m| m.handle.as_deref())
        .collect();
    let mobiles: Vec<&str> = part
        .mentions
        .iter()
        .filter(|m| m.handle.is_none())
        .filter_map(|m| m.mobile.as_deref())
        .collect();
    json!({
        "msgtype": "markdown",
        "markdown": { "title": part.title, "text": part.text },
        "at": { "atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": false },
    })
}

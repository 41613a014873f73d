//! The console "platform": messages are printed, for trying weekbell out and for `preview`.

use crate::types::{Dialect, OutboundPart};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::Plain;

/// Nobody is notified on a console, so there are no mention targets and no size limit.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

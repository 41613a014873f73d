//! The console "platform": messages are printed, for trying weekbell out and for `preview`.

use super::Outcome;
use super::driver::Driver;
use crate::types::{Dialect, OutboundPart};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::Plain;

/// Nobody is notified on a console, so there are no mention targets and no size limit.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

/// The console's driver: plain text, printed by `deliver`, never sent.
pub(super) static DRIVER: Driver = Driver {
    dialect: DIALECT,
    request_body: |part, _| request_body(part),
    prepare: |_, _, _| {
        Err(Outcome::Permanent {
            reason: "console channels print messages to standard output; there is no HTTP \
                     request to send"
                .into(),
            hint: "send console parts with `deliver`, which prints them".into(),
        })
    },
    ..Driver::PLAIN
};

//! The console "platform": messages are printed, for trying weekbell out and for `preview`.

use super::driver::Driver;
use super::{Outcome, PreparedRequest};
use crate::config::ChannelConfig;
use crate::types::{Dialect, OutboundPart};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub(super) const DIALECT: Dialect = Dialect::Plain;

/// Nobody is notified on a console, so there are no mention targets and no size limit.
pub(super) fn request_body(part: &OutboundPart) -> Value {
    json!({ "text": part.text })
}

/// The Console driver: this file's markup, limits, request body and reply table, as
/// [`Driver`] for the registry.
pub(super) struct Console;

impl Driver for Console {
    fn dialect(&self) -> Dialect {
        DIALECT
    }

    fn request_body(&self, part: &OutboundPart, _dialect: Dialect) -> Value {
        request_body(part)
    }

    fn prepare(
        &self,
        _channel: &ChannelConfig,
        _part: &OutboundPart,
        _now: DateTime<Utc>,
    ) -> Result<PreparedRequest, Outcome> {
        Err(Outcome::Permanent {
            reason: "console channels print messages to standard output; there is no HTTP \
                     request to send"
                .into(),
            hint: "send console parts with `deliver`, which prints them".into(),
        })
    }
}

//! The vocabulary every layer shares: which platform, which markup, what one message part is.
//!
//! A leaf, as lychee's `types`: it imports nothing from the crate, so `config`, `render`,
//! `platforms` and the rest can all speak of a [`Platform`] or an [`OutboundPart`] without
//! importing each other.

mod markup;
mod message;
mod platform;
mod status;

pub use markup::{Dialect, MentionRef, SizeLimit, is_safe_handle};
pub use message::{Mention, OutboundPart};
pub use platform::Platform;
pub(crate) use platform::for_each_platform;
pub use status::Status;

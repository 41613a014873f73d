//! The clients weekbell runs for offices with no public URL: outbound connections that bring
//! commands in (DingTalk Stream mode, Slack Socket Mode, Feishu's long connection, all on
//! [`socket`]; Telegram long polling) and the fetching of Google's signing keys. The verifiers
//! of requests a platform pushes to weekbell are the files beside this folder.

pub mod dingtalk_stream;
pub mod feishu_ws;
pub mod googlechat_keys;
pub mod slack_socket;
mod socket;
pub mod telegram_poll;

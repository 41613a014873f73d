//! weekbell: a self-hosted chat bot for teams that run on a weekly task list.
//!
//! Data flows one way: `config` → `tasks` → `schedule` → `render` → `platforms`.
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod backoff;
pub mod calendar;
pub mod chat;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod export;
pub mod inbound;
pub mod metrics;
pub mod people;
pub mod plan;
pub mod platforms;
pub mod ratelimit;
pub mod render;
pub mod schedule;
pub mod secret;
pub mod server;
pub mod shared;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod suggest;
pub mod tasks;
pub mod types;

//! weekbell: a self-hosted chat bot for teams that run on a weekly task list.
//!
//! The library does all the work; the `weekbell` binary parses arguments, calls it and formats
//! its answers. ARCHITECTURE.md has the code map, the layers (each module imports only from the
//! layers below it, `tests/layering.rs` keeps that true) and the invariants.
//!
//! The public API is what the binary, the black-box tests, the benchmarks and the fuzz targets
//! use: loading a [`plan::Plan`] (config, tasks, schedules), rendering and sending messages
//! ([`render`], [`platforms`]), the [`store`], the command language ([`commands`], [`chat`]),
//! the inbound verifiers ([`inbound`]) and the daemon ([`daemon`]). The HTTP server, the
//! metrics registry, the rate limiter, the backoff, the shutdown signal and the "did you mean"
//! helper are internal.

mod backoff;
pub mod calendar;
pub mod chat;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod export;
pub mod inbound;
pub mod init;
mod metrics;
pub mod people;
pub mod plan;
pub mod platforms;
mod ratelimit;
pub mod render;
pub mod schedule;
pub mod secret;
mod server;
mod shared;
mod shutdown;
pub mod state;
pub mod store;
mod suggest;
pub mod tasks;
pub mod types;

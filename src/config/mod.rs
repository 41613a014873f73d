//! Configuration: one TOML file, `${ENV}` interpolation, cross-references checked.
//!
//! Parsing keeps the byte span of every value, so each problem is reported at its file, line
//! and column, and every problem in the file is reported at once.

mod assessment;
mod channels;
mod error;
mod keys;
mod load;
mod model;
mod platform;
mod raw;
#[cfg(test)]
mod tests;
mod values;
mod warnings;

pub use error::{ConfigError, Problem, ProblemReport, line_col, mask_secrets};
pub use load::{Env, ProcessEnv, load, parse, parse_duration, parse_rate_limit, parse_size};
pub use model::*;
pub use platform::*;
pub use values::*;

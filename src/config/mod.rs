//! Configuration: one TOML file, `${ENV}` interpolation, cross-references checked.

mod model;

pub use model::*;

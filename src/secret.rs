//! A string that must never be printed: webhook URLs, signing secrets, tokens.

use std::fmt;

/// Holds a credential. `Debug` and `Display` print a placeholder, so a secret that ends up in a
/// log line or an error message by accident shows as `***` instead of leaking.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value, for the one place that needs it (signing, sending).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("SECabc123");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("abc"));
        assert_eq!(s.expose(), "SECabc123");
    }
}

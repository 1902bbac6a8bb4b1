//! Which kind of configuration a file holds — said by the file, never guessed.
//!
//! `iosv simulate --config FILE` runs two kinds of configuration: the deterministic simulator's
//! ([`SimConfig`](crate::sim::SimConfig)) and the believable-first demo's
//! ([`DemoConfig`](crate::demo::DemoConfig)). Each carries a `"kind"` field (`"simulation"` or
//! `"demo"`; `--print-config` writes it) and the command reads that field first, then parses the
//! file as that kind only, so an error is about the kind the file claims, not a guess between two.
//! A file without `"kind"` is a simulation configuration (what `simulate --config` has always
//! read); `iosv demo --config` reads demo configurations with or without it.

use serde::{Deserialize, Serialize};

/// The kind of a configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    Simulation,
    Demo,
}

impl std::fmt::Display for ConfigKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfigKind::Simulation => "simulation",
            ConfigKind::Demo => "demo",
        })
    }
}

/// Why a file's kind could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KindError {
    #[error("a configuration is a JSON object: {0}")]
    NotAnObject(String),
    #[error("\"kind\": {0}; the kinds are \"simulation\" and \"demo\"")]
    Unknown(String),
}

/// The `"kind"` a configuration's JSON declares ([`ConfigKind::Simulation`] when it has none).
/// Reads only that field; the caller then parses the file as its kind.
pub fn kind_of(text: &str) -> Result<ConfigKind, KindError> {
    #[derive(Deserialize)]
    struct Envelope {
        kind: Option<serde_json::Value>,
    }
    if !text.trim_start().starts_with('{') {
        return Err(KindError::NotAnObject("it does not start with '{'".into()));
    }
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|e| KindError::NotAnObject(e.to_string()))?;
    match envelope.kind {
        None => Ok(ConfigKind::Simulation),
        Some(value) => {
            serde_json::from_value(value.clone()).map_err(|_| KindError::Unknown(value.to_string()))
        }
    }
}

/// Checks that a parsed configuration of kind `expected` did not declare another kind.
pub fn expect(declared: ConfigKind, expected: ConfigKind) -> Result<(), String> {
    if declared == expected {
        Ok(())
    } else {
        Err(format!(
            "the file says \"kind\": \"{declared}\", where a {expected} configuration is read"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_says_its_kind() {
        assert_eq!(kind_of(r#"{"kind": "demo", "x": 1}"#), Ok(ConfigKind::Demo));
        assert_eq!(
            kind_of(r#"{"kind":"simulation"}"#),
            Ok(ConfigKind::Simulation)
        );
        assert_eq!(kind_of(r#" {"validators": 8}"#), Ok(ConfigKind::Simulation));
        assert!(
            matches!(kind_of(r#"{"kind": "sim"}"#), Err(KindError::Unknown(k)) if k == "\"sim\"")
        );
        assert!(matches!(
            kind_of(r#"{"kind": 3}"#),
            Err(KindError::Unknown(_))
        ));
        assert!(matches!(kind_of("[1]"), Err(KindError::NotAnObject(_))));
        assert!(matches!(
            kind_of("{\"kind\": "),
            Err(KindError::NotAnObject(_))
        ));
        assert!(expect(ConfigKind::Demo, ConfigKind::Simulation).is_err());
    }
}

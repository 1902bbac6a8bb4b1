//! Where signatures are verified, as a user names it: `cpu`, `gpu`, `auto` or
//! `remote:HOST:PORT[,HOST:PORT…]` — the `--backend` flag of several commands and the `backend`
//! field of a demo configuration. Parsing only: opening a remote backend needs the client options
//! (timeouts, spot checks, mTLS files) that the commands take (`commands::backend::open`).
//!
//! In a configuration file the value is the same string as the flag's, so a configuration that
//! `--print-config` writes reads back unchanged.

use std::fmt;
use std::str::FromStr;

use iosv_engine::sig::Backend;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most endpoints a remote backend may list.
pub const MAX_REMOTE_ENDPOINTS: usize = 64;

/// A parsed backend name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendSpec {
    Local(Backend),
    /// Endpoints as given (`host:port`).
    Remote(Vec<String>),
}

impl FromStr for BackendSpec {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(list) = text.strip_prefix("remote:") {
            // Counted before anything is allocated: a configuration file may hold any string.
            let count = list.split(',').count();
            if count > MAX_REMOTE_ENDPOINTS || list.split(',').any(|e| e.trim().is_empty()) {
                return Err(format!(
                    "`{text}`: give 1 to {MAX_REMOTE_ENDPOINTS} comma-separated endpoints, as remote:HOST:PORT[,HOST:PORT…]"
                ));
            }
            return Ok(Self::Remote(
                list.split(',').map(|e| e.trim().to_string()).collect(),
            ));
        }
        match text {
            "cpu" => Ok(Self::Local(Backend::Cpu)),
            "gpu" => Ok(Self::Local(Backend::Gpu)),
            "auto" => Ok(Self::Local(Backend::Auto)),
            _ => Err(format!(
                "unknown backend `{text}` (expected cpu, gpu, auto or remote:HOST:PORT[,…])"
            )),
        }
    }
}

impl fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(Backend::Cpu) => f.write_str("cpu"),
            Self::Local(Backend::Gpu) => f.write_str("gpu"),
            Self::Local(Backend::Auto) => f.write_str("auto"),
            // Not a name a user can give: `remote:…` carries its endpoints.
            Self::Local(Backend::Remote) => f.write_str("remote"),
            Self::Remote(endpoints) => write!(f, "remote:{}", endpoints.join(",")),
        }
    }
}

impl Serialize for BackendSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BackendSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_written() {
        for text in [
            "cpu",
            "gpu",
            "auto",
            "remote:a:1",
            "remote:a:1,b.example:7000",
        ] {
            let spec: BackendSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<BackendSpec>(&json).unwrap(), spec);
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (text, why) in [
            ("tpu", "unknown backend"),
            ("remote", "unknown backend"),
            ("remote:", "1 to 64"),
            ("remote:a:1,,b:2", "1 to 64"),
        ] {
            let err = text.parse::<BackendSpec>().unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let many = format!("remote:{}", vec!["h:1"; 65].join(","));
        assert!(many.parse::<BackendSpec>().is_err());
        let err = serde_json::from_str::<BackendSpec>("\"fpga\"").unwrap_err();
        assert!(err.to_string().contains("unknown backend `fpga`"), "{err}");
    }
}

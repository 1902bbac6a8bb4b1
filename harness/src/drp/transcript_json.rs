//! Reading a transcript from JSON so that every kind of damage is named.
//!
//! A transcript's points and scalars decode while the JSON is read (a [`Point`] that is not on the
//! curve, or a non-canonical scalar, cannot be held at all). Left to serde, damage to one of them
//! would read as "not a transcript". Here the failing location is followed back to its role:
//!
//! - a value that is well formed (64 hex digits) but is not a valid point or scalar is a failed
//!   *check*, named like the ones [`Transcript::verify`] reports, with the server or dealer it
//!   belongs to: `roster` (server `i`'s PVSS key), `dealing-proofs` (a dealer's commitment,
//!   encrypted share or proof), `decrypted-shares` (a server's decrypted share or its proof),
//!   `recovery` (a recovered point);
//! - anything else (bad JSON, a missing or unknown field at any level, a wrong length, a
//!   non-hex digit) is *malformed*: the JSON path of the fault and, where it lies under a server
//!   or dealer, which one.
//!
//! [`Point`]: iosv_engine::pvss::Point

use serde_json::Value;
use serde_path_to_error::Segment;

use super::transcript::{Check, CheckFailure, Transcript};

/// Why a transcript could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptDamage {
    /// A well-formed value failed a cryptographic decoding: the check it belongs to.
    #[error("{}: {}", .0.check, .0.detail)]
    Check(CheckFailure),
    /// The file is not a well-formed transcript.
    #[error("not a DRP transcript: {0}")]
    Malformed(String),
}

impl Transcript {
    /// Parses a transcript, naming the check (or the JSON path) of any damage.
    pub fn from_json(text: &str) -> Result<Transcript, TranscriptDamage> {
        let mut de = serde_json::Deserializer::from_str(text);
        let error = match serde_path_to_error::deserialize::<_, Transcript>(&mut de) {
            Ok(t) => {
                return de
                    .end()
                    .map(|()| t)
                    .map_err(|e| TranscriptDamage::Malformed(e.to_string()));
            }
            Err(error) => error,
        };
        let segments: Vec<&Segment> = error.path().iter().collect();
        let inner = error.inner().to_string();
        // Parsed again as plain JSON only to describe the fault (the file was read within a cap).
        let Ok(doc) = serde_json::from_str::<Value>(text) else {
            return Err(TranscriptDamage::Malformed(inner));
        };
        let at = value_at(&doc, &segments);
        let (check, owner) = role(&doc, &segments);
        let place = if segments.is_empty() {
            String::new()
        } else {
            format!("at {}", error.path())
        };
        let well_formed = at
            .and_then(Value::as_str)
            .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        match check {
            Some(check) if well_formed => Err(TranscriptDamage::Check(CheckFailure {
                check,
                detail: format!("{owner}: {place}: {inner}"),
            })),
            _ => Err(TranscriptDamage::Malformed(
                [owner.as_str(), place.as_str(), inner.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(": "),
            )),
        }
    }
}

fn value_at<'a>(doc: &'a Value, path: &[&Segment]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Segment::Seq { index } => v.get(*index),
        Segment::Map { key } => v.get(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => Some(v),
    })
}

fn index(seg: Option<&&Segment>) -> Option<usize> {
    match seg {
        Some(Segment::Seq { index }) => Some(*index),
        _ => None,
    }
}

fn key<'a>(seg: Option<&&'a Segment>) -> Option<&'a str> {
    match seg {
        Some(Segment::Map { key }) => Some(key.as_str()),
        _ => None,
    }
}

/// The check a damaged value belongs to and who owns it ("server 3", "dealer 5").
fn role(doc: &Value, path: &[&Segment]) -> (Option<Check>, String) {
    let number = |v: Option<&Value>, field: &str| {
        v.and_then(|v| v.get(field))
            .and_then(Value::as_u64)
            .map_or_else(|| "?".to_string(), |n| n.to_string())
    };
    match (key(path.first()), index(path.get(1))) {
        (Some("roster"), Some(i)) => (Some(Check::Roster), format!("server {i}")),
        (Some("dealings"), Some(k)) => {
            let dealing = doc.get("dealings").and_then(|d| d.get(k));
            (
                Some(Check::DealingProofs),
                format!("dealer {}", number(dealing, "dealer")),
            )
        }
        (Some("secrets"), Some(k)) => {
            let secret = doc.get("secrets").and_then(|d| d.get(k));
            let dealer = number(secret, "dealer");
            match (key(path.get(2)), index(path.get(3))) {
                (Some("shares"), Some(j)) => {
                    let share = secret.and_then(|s| s.get("shares")).and_then(|s| s.get(j));
                    (
                        Some(Check::DecryptedShares),
                        format!(
                            "dealer {dealer}, share of server {}",
                            number(share, "index")
                        ),
                    )
                }
                (Some("recovered"), _) => (Some(Check::Recovery), format!("dealer {dealer}")),
                _ => (None, format!("dealer {dealer}")),
            }
        }
        _ => (None, String::new()),
    }
}

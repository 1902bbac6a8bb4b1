//! The JSON-lines signature format read by `iosv verify`.
//!
//! Input, one object per line: `{"pk":"<64 hex>","msg":"<hex>","sig":"<128 hex>"}` (no other
//! fields). Output, one line per input line, in input order: `{"valid":true}`, `{"valid":false}`,
//! or `{"error":"<what is wrong>"}` for a line that is not of that form.

pub mod stream;

use std::borrow::Cow;

use serde::Deserialize;
use thiserror::Error;

use crate::sig::{SigItem, SigRef};

/// Longest message accepted, in bytes. Bounds the memory one line can take; transaction signing
/// hashes are 32 bytes, so this leaves ample room for other uses.
pub const MAX_MSG_LEN: usize = 64 * 1024;

/// Longest input line accepted, in bytes: the hex of a maximal message plus the keys, signature
/// and JSON punctuation, with room for whitespace.
pub const MAX_LINE_LEN: usize = 2 * MAX_MSG_LEN + 1024;

/// Why an input line could not be read as a signature.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LineError {
    #[error("not JSON of the expected form: {0}")]
    Json(String),
    #[error("{field}: not hex ({reason})")]
    Hex { field: &'static str, reason: String },
    #[error("{field}: expected {expected} bytes ({} hex digits), got {got} bytes", expected * 2)]
    Length {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("msg: {got} bytes, over the {MAX_MSG_LEN}-byte limit")]
    MessageTooLong { got: usize },
    #[error("line longer than the {MAX_LINE_LEN}-byte limit")]
    LineTooLong,
    #[error("line is not UTF-8")]
    NotUtf8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(borrow)]
    pk: Cow<'a, str>,
    #[serde(borrow)]
    msg: Cow<'a, str>,
    #[serde(borrow)]
    sig: Cow<'a, str>,
}

/// Parses one input line (without its line terminator).
pub fn parse_line(line: &[u8]) -> Result<SigItem, LineError> {
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::LineTooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    // serde's derived structs also take the sequence form `["pk","msg","sig"]`; the format is
    // an object, and only an object is accepted.
    if !text.trim_start().starts_with('{') {
        return Err(LineError::Json(
            "expected a JSON object {\"pk\",\"msg\",\"sig\"}".into(),
        ));
    }
    let raw: RawLine<'_> =
        serde_json::from_str(text).map_err(|e| LineError::Json(e.to_string()))?;
    let pk = fixed_hex::<32>("pk", &raw.pk)?;
    let sig = fixed_hex::<64>("sig", &raw.sig)?;
    if raw.msg.len() / 2 > MAX_MSG_LEN {
        return Err(LineError::MessageTooLong {
            got: raw.msg.len() / 2,
        });
    }
    if !raw.msg.len().is_multiple_of(2) {
        return Err(LineError::Hex {
            field: "msg",
            reason: "odd number of digits".into(),
        });
    }
    let mut msg = vec![0u8; raw.msg.len() / 2];
    decode_hex("msg", &raw.msg, &mut msg)?;
    Ok(SigItem { pk, msg, sig })
}

fn fixed_hex<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], LineError> {
    if text.len() != 2 * N {
        return Err(if text.len().is_multiple_of(2) {
            LineError::Length {
                field,
                expected: N,
                got: text.len() / 2,
            }
        } else {
            LineError::Hex {
                field,
                reason: "odd number of digits".into(),
            }
        });
    }
    let mut out = [0u8; N];
    decode_hex(field, text, &mut out)?;
    Ok(out)
}

/// Decodes `text` (of length exactly `2 * out.len()`) into `out`, with SIMD where the CPU has it.
fn decode_hex(field: &'static str, text: &str, out: &mut [u8]) -> Result<(), LineError> {
    faster_hex::hex_decode(text.as_bytes(), out)
        .map(|_| ())
        .map_err(|e| LineError::Hex {
            field,
            reason: e.to_string(),
        })
}

/// Formats one signature as an input line (the inverse of [`parse_line`]).
pub fn format_line(item: SigRef<'_>) -> String {
    format!(
        "{{\"pk\":\"{}\",\"msg\":\"{}\",\"sig\":\"{}\"}}",
        hex::encode(item.pk),
        hex::encode(item.msg),
        hex::encode(item.sig)
    )
}

/// The output line for one input line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    Error(String),
}

impl Verdict {
    /// Appends the output line (with its newline) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Verdict::Valid => out.extend_from_slice(b"{\"valid\":true}\n"),
            Verdict::Invalid => out.extend_from_slice(b"{\"valid\":false}\n"),
            Verdict::Error(message) => {
                out.extend_from_slice(b"{\"error\":");
                serde_json::to_writer(&mut *out, message).expect("writing to a Vec cannot fail");
                out.extend_from_slice(b"}\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_object_form_is_accepted() {
        let item = SigItem {
            pk: [1; 32],
            msg: vec![2, 3],
            sig: [4; 64],
        };
        let line = format_line(item.as_ref());
        assert_eq!(parse_line(line.as_bytes()).unwrap().msg, vec![2, 3]);
        // serde's derive would take the same fields as an array; the format does not.
        let array = format!(
            "[\"{}\",\"0203\",\"{}\"]",
            hex::encode([1u8; 32]),
            hex::encode([4u8; 64])
        );
        assert!(matches!(
            parse_line(array.as_bytes()),
            Err(LineError::Json(e)) if e.contains("JSON object")
        ));
        assert!(parse_line(b"  {}").is_err());
    }
}

//! serde `with` modules writing bytes as lowercase hex strings — the one implementation behind every
//! hex field of iosv's JSON (fraud proofs, headers, Merkle proofs, the harness's protocol
//! messages and reports).
//!
//! Decoding is strict: fixed-size fields take exactly twice their length in hex characters, and a
//! wrong length or a non-hex character is a serde error naming the expected length, never a panic.

use serde::de::Error;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serializer};

fn decode_array<const N: usize, E: Error>(s: &str) -> Result<[u8; N], E> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| E::custom(format!("expected {} hex characters", 2 * N)))?;
    Ok(out)
}

/// `[u8; 32]` as 64 hex characters.
pub mod bytes32 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        decode_array(&String::deserialize(d)?)
    }
}

/// `[u8; 64]` as 128 hex characters.
pub mod bytes64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        decode_array(&String::deserialize(d)?)
    }
}

/// `Vec<u8>` as hex, any even length.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `Vec<[u8; 32]>` as a list of 64-character hex strings.
pub mod bytes32_list {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for item in v {
            seq.serialize_element(&hex::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| decode_array(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Fields {
        #[serde(with = "super::bytes32")]
        a: [u8; 32],
        #[serde(with = "super::bytes64")]
        b: [u8; 64],
        #[serde(with = "super::bytes")]
        c: Vec<u8>,
        #[serde(with = "super::bytes32_list")]
        d: Vec<[u8; 32]>,
    }

    proptest! {
        #[test]
        fn round_trip(a in any::<[u8; 32]>(), b in prop::collection::vec(any::<u8>(), 64), c in prop::collection::vec(any::<u8>(), 0..40), d in prop::collection::vec(any::<[u8; 32]>(), 0..4)) {
            let fields = Fields { a, b: b.try_into().unwrap(), c, d };
            let json = serde_json::to_string(&fields).unwrap();
            prop_assert_eq!(serde_json::from_str::<Fields>(&json).unwrap(), fields);
        }

        /// Any string in any field: an error or a value, never a panic.
        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,140}", field in 0usize..4) {
            let ok = "00".repeat(32);
            let mut values = [format!("\"{ok}\""), format!("\"{}\"", "00".repeat(64)), "\"\"".to_string(), "[]".to_string()];
            values[field] = if field == 3 { format!("[{}]", serde_json::to_string(&s).unwrap()) } else { serde_json::to_string(&s).unwrap() };
            let json = format!("{{\"a\":{},\"b\":{},\"c\":{},\"d\":{}}}", values[0], values[1], values[2], values[3]);
            let _ = serde_json::from_str::<Fields>(&json);
        }
    }

    #[test]
    fn wrong_lengths_name_the_expected_length() {
        let json = format!(
            "{{\"a\":\"{}\",\"b\":\"{}\",\"c\":\"\",\"d\":[]}}",
            "00".repeat(31),
            "00".repeat(64)
        );
        let err = serde_json::from_str::<Fields>(&json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 64 hex characters"), "{err}");
    }
}

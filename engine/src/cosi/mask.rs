//! The participation bitmask of a collective signature, in roster order.
//!
//! Encoding: `ceil(n / 8)` bytes; member `i` took part when `byte[i >> 3] & (1 << (i & 7))` is set.
//! The encoding is canonical: bits past the roster's last member must be zero, so one set of
//! participants has exactly one encoding.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MaskError {
    #[error("participation mask is {got} bytes, a roster of {members} needs {expected}")]
    Length {
        members: usize,
        expected: usize,
        got: usize,
    },
    #[error("participation mask sets bit {bit}, past the roster's last member ({members} members)")]
    BitPastRoster { bit: usize, members: usize },
}

/// A set of roster members, by index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mask {
    members: usize,
    bytes: Vec<u8>,
}

impl Mask {
    /// Bytes needed for a roster of `members`.
    pub fn encoded_len(members: usize) -> usize {
        members.div_ceil(8)
    }

    /// Nobody.
    pub fn empty(members: usize) -> Self {
        Self {
            members,
            bytes: vec![0; Self::encoded_len(members)],
        }
    }

    /// Everybody.
    pub fn full(members: usize) -> Self {
        let mut mask = Self::empty(members);
        for i in 0..members {
            mask.set(i, true);
        }
        mask
    }

    /// Decodes a mask for a roster of `members`, strictly.
    pub fn decode(members: usize, bytes: &[u8]) -> Result<Self, MaskError> {
        let expected = Self::encoded_len(members);
        if bytes.len() != expected {
            return Err(MaskError::Length {
                members,
                expected,
                got: bytes.len(),
            });
        }
        if let Some(last) = bytes.last() {
            let used_bits = members - (expected - 1) * 8;
            if used_bits < 8 && last >> used_bits != 0 {
                let bit =
                    (expected - 1) * 8 + used_bits + (last >> used_bits).trailing_zeros() as usize;
                return Err(MaskError::BitPastRoster { bit, members });
            }
        }
        Ok(Self {
            members,
            bytes: bytes.to_vec(),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Roster size.
    pub fn members(&self) -> usize {
        self.members
    }

    /// Whether member `i` took part (false past the roster).
    pub fn get(&self, i: usize) -> bool {
        i < self.members && self.bytes[i >> 3] & (1 << (i & 7)) != 0
    }

    /// Marks member `i` as taking part or not.
    ///
    /// # Panics
    /// If `i` is past the roster (a programming error, never reachable from decoded input).
    pub fn set(&mut self, i: usize, on: bool) {
        assert!(
            i < self.members,
            "member {i} past a roster of {}",
            self.members
        );
        if on {
            self.bytes[i >> 3] |= 1 << (i & 7);
        } else {
            self.bytes[i >> 3] &= !(1 << (i & 7));
        }
    }

    /// Number of participants.
    pub fn count(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Indices of participants, ascending. Walks set bits only: cost follows the number of
    /// participants plus `n / 8`, not `n` bit tests.
    pub fn participants(&self) -> impl Iterator<Item = usize> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .flat_map(|(at, &byte)| SetBits(byte).map(move |bit| at * 8 + bit))
    }

    /// Indices of absent members, ascending (walks the clear bits of the roster's range only).
    pub fn absentees(&self) -> impl Iterator<Item = usize> + '_ {
        let members = self.members;
        self.bytes.iter().enumerate().flat_map(move |(at, &byte)| {
            let valid = members.saturating_sub(at * 8).min(8);
            let in_range = if valid == 8 { 0xff } else { (1u8 << valid) - 1 };
            SetBits(!byte & in_range).map(move |bit| at * 8 + bit)
        })
    }
}

/// The indices of the set bits of a byte, ascending.
struct SetBits(u8);

impl Iterator for SetBits {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_order_is_lsb_first_within_bytes() {
        let mut m = Mask::empty(10);
        m.set(0, true);
        m.set(9, true);
        assert_eq!(m.as_bytes(), &[0b0000_0001, 0b0000_0010]);
        assert_eq!(m.participants().collect::<Vec<_>>(), vec![0, 9]);
        assert_eq!(m.count(), 2);
    }

    #[test]
    fn participants_and_absentees_partition_the_roster() {
        for members in [0usize, 1, 7, 8, 9, 13, 64, 100] {
            for pattern in [0u64, u64::MAX, 0x5555_5555_5555_5555, 0x8000_0000_0000_0001] {
                let mut m = Mask::empty(members);
                for i in 0..members {
                    m.set(i, pattern >> (i % 64) & 1 == 1);
                }
                let present: Vec<usize> = (0..members).filter(|&i| m.get(i)).collect();
                let absent: Vec<usize> = (0..members).filter(|&i| !m.get(i)).collect();
                assert_eq!(m.participants().collect::<Vec<_>>(), present);
                assert_eq!(m.absentees().collect::<Vec<_>>(), absent);
                assert_eq!(m.count(), present.len());
            }
        }
    }

    #[test]
    fn decode_is_strict() {
        assert!(matches!(
            Mask::decode(10, &[0]),
            Err(MaskError::Length { .. })
        ));
        assert_eq!(
            Mask::decode(10, &[0, 0b0000_0100]),
            Err(MaskError::BitPastRoster {
                bit: 10,
                members: 10
            })
        );
        assert!(Mask::decode(16, &[0xff, 0xff]).is_ok());
        assert!(Mask::decode(0, &[]).is_ok());
        let full = Mask::full(13);
        assert_eq!(Mask::decode(13, full.as_bytes()).unwrap(), full);
    }
}

//! How many roster members a collective signature needs.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// Every member.
    Complete,
    /// At least `t` members.
    Threshold(usize),
    /// ByzCoin's `n − ⌊(n − 1) / 3⌋`: with `f = ⌊(n − 1) / 3⌋` faulty members tolerated, at least
    /// `2f + 1` honest signers.
    ByzCoin,
}

impl Policy {
    /// Signers needed out of a roster of `members`.
    pub fn required(&self, members: usize) -> usize {
        match *self {
            Policy::Complete => members,
            Policy::Threshold(t) => t,
            Policy::ByzCoin => members - members.saturating_sub(1) / 3,
        }
    }

    /// Whether `signers` out of `members` satisfy the policy (never with more signers than members,
    /// and never with zero signers).
    pub fn satisfied(&self, members: usize, signers: usize) -> bool {
        signers <= members && signers >= self.required(members).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byzcoin_threshold() {
        // n = 3f + 1 needs 2f + 1.
        assert_eq!(Policy::ByzCoin.required(4), 3);
        assert_eq!(Policy::ByzCoin.required(7), 5);
        assert_eq!(Policy::ByzCoin.required(100), 67);
        assert_eq!(Policy::ByzCoin.required(1), 1);
    }

    #[test]
    fn edges() {
        assert!(Policy::Threshold(5).satisfied(10, 5));
        assert!(!Policy::Threshold(5).satisfied(10, 4));
        assert!(!Policy::Complete.satisfied(10, 9));
        assert!(Policy::Complete.satisfied(10, 10));
        assert!(!Policy::Threshold(0).satisfied(10, 0));
        assert!(!Policy::Threshold(3).satisfied(2, 3));
    }
}

//! The transcript of a DRP session, and its verification by a third party (`iosv verify-drp`).
//!
//! The transcript holds everything needed to recheck the output without trusting the leader:
//! roster (keys, proofs of possession, PVSS key bindings), session parameters, grouping seed and
//! groups, the choice and the chosen signed dealings, the collective signature on the choice, `t`
//! decrypted shares with proofs and the recovered point for each chosen secret, and the output.
//!
//! [`Transcript::verify`] runs the checks in a fixed order and stops at the first that fails, naming it
//! ([`Check`]); the names are stable (the CLI prints them). Values that are recomputable (grouping
//! seed, groups, recovered points, output) are recomputed and compared, never trusted.

use std::fmt;

use iosv_engine::cosi::schnorr;
use serde::{Deserialize, Serialize};

use super::choice::{Choice, SignedDealing, check_proofs, check_signature};
use super::encoding::{Hash32, hex_vec, hex32};
use super::msg::RevealedSecret;
use super::reveal::{check_shares, output_hash, recover_secret};
use super::roster::{DrpRoster, MemberInfo};
use super::session::{CHOICE_POLICY, Group, Session, SessionParams};

/// The transcript format version.
pub const TRANSCRIPT_VERSION: u32 = 1;

/// A DRP session's transcript (serde JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    pub version: u32,
    pub params: SessionParams,
    pub roster: Vec<MemberInfo>,
    #[serde(with = "hex32")]
    pub grouping_seed: Hash32,
    pub groups: Vec<Group>,
    pub choice: Choice,
    /// The chosen dealings, in choice order.
    pub dealings: Vec<SignedDealing>,
    /// Schnorr CoSi `V ‖ r ‖ mask` over the choice, by the roster.
    #[serde(with = "hex_vec")]
    pub choice_signature: Vec<u8>,
    /// One per chosen dealing, in choice order.
    pub secrets: Vec<RevealedSecret>,
    #[serde(with = "hex32")]
    pub output: Hash32,
}

/// The checks of [`Transcript::verify`], in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The format version is known.
    Version,
    /// Every CoSi proof of possession and PVSS key binding verifies; keys are distinct.
    Roster,
    /// The grouping seed equals the one recomputed from epoch, previous randomness and roster.
    GroupingSeed,
    /// The groups (and thresholds) equal the ones recomputed from the seed.
    Groups,
    /// The choice is for this session and names `t` distinct members of each group.
    Choice,
    /// The dealings are the chosen ones (dealer and hash) and each is signed by its dealer.
    DealingSignatures,
    /// Every chosen dealing has the group's threshold and every encrypted share's DLEQ proof holds.
    DealingProofs,
    /// The collective signature on the choice verifies against the roster under the policy.
    ChoiceCosi,
    /// Each chosen secret has exactly `t` distinct decrypted shares, each with a valid DLEQ proof.
    DecryptedShares,
    /// Each recovered point equals the one interpolated from its shares.
    Recovery,
    /// The output equals the hash of the recovered points.
    Output,
}

impl Check {
    pub const ALL: [Check; 11] = [
        Check::Version,
        Check::Roster,
        Check::GroupingSeed,
        Check::Groups,
        Check::Choice,
        Check::DealingSignatures,
        Check::DealingProofs,
        Check::ChoiceCosi,
        Check::DecryptedShares,
        Check::Recovery,
        Check::Output,
    ];

    /// The stable name printed by `iosv verify-drp`.
    pub fn name(self) -> &'static str {
        match self {
            Check::Version => "version",
            Check::Roster => "roster",
            Check::GroupingSeed => "grouping-seed",
            Check::Groups => "groups",
            Check::Choice => "choice",
            Check::DealingSignatures => "dealing-signatures",
            Check::DealingProofs => "dealing-proofs",
            Check::ChoiceCosi => "choice-cosi",
            Check::DecryptedShares => "decrypted-shares",
            Check::Recovery => "recovery",
            Check::Output => "output",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The first check a transcript failed, and why.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("check {check} failed: {detail}")]
pub struct CheckFailure {
    pub check: Check,
    pub detail: String,
}

fn fail<T>(check: Check, detail: impl fmt::Display) -> Result<T, CheckFailure> {
    Err(CheckFailure {
        check,
        detail: detail.to_string(),
    })
}

impl Transcript {
    /// Runs every check (see [`Check`]); the output on success.
    pub fn verify(&self) -> Result<Hash32, CheckFailure> {
        if self.version != TRANSCRIPT_VERSION {
            return fail(Check::Version, format!("unknown version {}", self.version));
        }
        let roster = match DrpRoster::new(self.roster.clone()) {
            Ok(r) => r,
            Err(e) => return fail(Check::Roster, e),
        };
        let session = match Session::new(self.params.clone(), roster) {
            Ok(s) => s,
            Err(e) => return fail(Check::Groups, e),
        };
        if self.grouping_seed != *session.grouping_seed() {
            return fail(Check::GroupingSeed, "differs from the recomputed seed");
        }
        if self.groups != session.groups() {
            return fail(
                Check::Groups,
                "differ from the groups recomputed from the seed",
            );
        }
        if let Err(e) = self.choice.check_shape(&session) {
            return fail(Check::Choice, e);
        }
        if let Err(e) = self.choice.check_dealings(&session, &self.dealings) {
            return fail(Check::DealingSignatures, e);
        }
        for dealing in &self.dealings {
            if let Err(e) = check_signature(&session, dealing) {
                return fail(
                    Check::DealingSignatures,
                    format!("dealer {}: {e}", dealing.dealer),
                );
            }
        }
        for dealing in &self.dealings {
            if let Err(e) = check_proofs(&session, dealing) {
                return fail(
                    Check::DealingProofs,
                    format!("dealer {}: {e}", dealing.dealer),
                );
            }
        }
        let message = Session::cosi_message(&self.choice.hash());
        if let Err(e) = schnorr::verify(
            session.roster().cosi(),
            CHOICE_POLICY,
            &message,
            &self.choice_signature,
        ) {
            return fail(Check::ChoiceCosi, e);
        }
        if self.secrets.len() != self.dealings.len() {
            return fail(
                Check::DecryptedShares,
                format!(
                    "{} secrets for {} chosen dealings",
                    self.secrets.len(),
                    self.dealings.len()
                ),
            );
        }
        for (dealing, secret) in self.dealings.iter().zip(&self.secrets) {
            if let Err(e) = check_shares(&session, dealing, secret) {
                return fail(Check::DecryptedShares, e);
            }
        }
        let mut recovered = Vec::with_capacity(self.secrets.len());
        for secret in &self.secrets {
            match recover_secret(secret.dealer, &secret.shares) {
                Ok(p) if p == secret.recovered => recovered.push(p),
                Ok(_) => {
                    return fail(
                        Check::Recovery,
                        format!("dealer {}: recovered point differs", secret.dealer),
                    );
                }
                Err(e) => return fail(Check::Recovery, e),
            }
        }
        let output = output_hash(session.digest(), &recovered);
        if output != self.output {
            return fail(
                Check::Output,
                "differs from the hash of the recovered secrets",
            );
        }
        Ok(output)
    }
}

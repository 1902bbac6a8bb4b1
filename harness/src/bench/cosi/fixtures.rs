//! Inputs of the collective-signature benchmarks, shared by `iosv bench cosi` and the criterion
//! bench (benches/benches/cosi.rs) so both measure the same signatures.
//!
//! Everything is deterministic from fixed seeds. Every constructor checks that what it made
//! verifies, so no benchmark times a rejection. Rosters of `n` members are made from the first `n`
//! generated keys, so one key generation serves every roster size.

use curve25519_dalek::scalar::Scalar;
use iosv_engine::cosi::bls::{self, BlsRoster, SIGNATURE_LEN};
use iosv_engine::cosi::schnorr::{self, AggregatePath, MemberKey, Registration, Roster, Topology};
use iosv_engine::cosi::{Mask, Policy};
use iosv_engine::pvss::dleq::{self, DleqProof, DleqStatement};
use iosv_engine::pvss::{Point, generators, point::random_nonzero_scalar};
use iosv_engine::vrf;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// Percentage of members absent in the "partial participation" cases: enough for the
/// subtract-absentees path to do real work, well within ByzCoin's 2f + 1.
pub const ABSENT_PERCENT: usize = 10;

/// Absent percentages at which the aggregate key is timed alone by both paths: none (the subtract
/// path adds nothing, so its time is the cost of walking the mask), below half, where subtracting is
/// cheaper, and above, where summing is.
pub const AGGREGATE_KEY_ABSENT_PERCENTS: [usize; 3] = [0, 10, 60];

/// The policy every collective signature is verified under.
pub const POLICY: Policy = Policy::ByzCoin;

/// The message co-signed in the roster sweep (32 bytes, like the block hash finality signs).
pub const MESSAGE: [u8; 32] = *b"iosv bench cosi: block hash 0001";

/// Fan-out of the Schnorr signing tree. Affects generation only, not the signature.
const TREE_FANOUT: usize = 8;

/// blst's `BLST_ERROR::BLST_SUCCESS` (its C enum value); the harness reaches blst only through the
/// engine's re-exports, which do not include the error type.
const BLST_SUCCESS: u32 = 0;

/// `absent_percent`% of `members`, rounded to the nearest member.
pub fn absent_count(members: usize, absent_percent: usize) -> usize {
    (members.saturating_mul(absent_percent) + 50) / 100
}

/// A mask of `members` with `absent` of them (chosen by `rng`) missing.
pub fn absent_mask(members: usize, absent: usize, rng: &mut StdRng) -> Mask {
    let mut mask = Mask::full(members);
    for i in rand::seq::index::sample(rng, members, absent.min(members)) {
        mask.set(i, false);
    }
    mask
}

/// Deterministic Schnorr-CoSi members.
pub struct SchnorrMembers {
    keys: Vec<MemberKey>,
    registrations: Vec<Registration>,
}

/// A Schnorr-CoSi roster with its members' keys.
pub struct SchnorrSetup {
    pub roster: Roster,
    keys: Vec<MemberKey>,
}

impl SchnorrMembers {
    pub fn generate(count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys: Vec<MemberKey> = (0..count).map(|_| MemberKey::generate(&mut rng)).collect();
        let registrations = keys.par_iter().map(MemberKey::registration).collect();
        Self {
            keys,
            registrations,
        }
    }

    /// The roster of the first `members` keys.
    ///
    /// # Panics
    /// If `members` is zero or exceeds the keys generated (a programming error).
    pub fn setup(&self, members: usize) -> SchnorrSetup {
        let roster = Roster::from_registrations(&self.registrations[..members])
            .expect("generated registrations are valid");
        SchnorrSetup {
            roster,
            keys: self.keys[..members].to_vec(),
        }
    }
}

impl SchnorrSetup {
    /// The encoded collective signature of `msg` by the members in `mask`.
    pub fn sign(&self, mask: &Mask, msg: &[u8], rng: &mut StdRng) -> Vec<u8> {
        let topology = Topology::Tree {
            fanout: TREE_FANOUT,
        };
        schnorr::run_round(&self.roster, &self.keys, mask, msg, topology, rng)
            .expect("a round of generated keys succeeds")
            .to_bytes()
    }
}

/// Deterministic BLS members.
pub struct BlsMembers {
    secret_keys: Vec<bls::SecretKey>,
    public_keys: Vec<[u8; bls::PUBLIC_KEY_LEN]>,
    pops: Vec<[u8; SIGNATURE_LEN]>,
}

impl BlsMembers {
    pub fn generate(count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let secret_keys: Vec<bls::SecretKey> = (0..count).map(|_| bls::keygen(&mut rng)).collect();
        let public_keys = secret_keys
            .par_iter()
            .map(|sk| sk.sk_to_pk().compress())
            .collect();
        let pops = secret_keys
            .par_iter()
            .map(|sk| bls::proof_of_possession(sk).compress())
            .collect();
        Self {
            secret_keys,
            public_keys,
            pops,
        }
    }

    /// The roster of the first `members` keys. Registration checks every proof of possession
    /// (about 2 ms per member), so callers build each roster once.
    ///
    /// # Panics
    /// If `members` exceeds the keys generated (a programming error).
    pub fn roster(&self, members: usize) -> BlsRoster {
        let mut roster = BlsRoster::new();
        for (pk, pop) in self.public_keys[..members].iter().zip(&self.pops) {
            roster
                .register(pk, pop)
                .expect("generated registrations are valid");
        }
        roster
    }

    /// The first `members` members' own signatures of `msg`, in member order.
    pub fn member_signatures(&self, members: usize, msg: &[u8]) -> Vec<bls::Signature> {
        self.secret_keys[..members]
            .par_iter()
            .map(|sk| bls::sign(sk, msg))
            .collect()
    }
}

/// The encoded collective signature of the members in `mask`, from their own signatures.
pub fn bls_collective(roster: &BlsRoster, mask: &Mask, member_sigs: &[bls::Signature]) -> Vec<u8> {
    let contributions: Vec<(usize, bls::Signature)> =
        mask.participants().map(|i| (i, member_sigs[i])).collect();
    bls::CollectiveSignature::aggregate(roster, &contributions)
        .expect("generated contributions aggregate")
        .to_bytes()
}

/// The peer: blst's own path from the same bytes. Decodes and group-checks the signature on the
/// calling thread, selects the participants' keys from the mask, and lets `fast_aggregate_verify`
/// sum them (`AggregatePublicKey::aggregate`) and check the pairing. (`fast_aggregate_verify` runs
/// its Miller loop on blst's worker thread while the caller waits; group-checking first, with
/// `sig_groupcheck = false`, keeps the two from running at once.)
pub fn blst_fast_aggregate_verify(keys: &[bls::PublicKey], msg: &[u8], sig_bytes: &[u8]) -> bool {
    let Some((sig, mask)) = sig_bytes.split_at_checked(SIGNATURE_LEN) else {
        return false;
    };
    let Ok(mask) = Mask::decode(keys.len(), mask) else {
        return false;
    };
    let Ok(sig) = bls::Signature::uncompress(sig) else {
        return false;
    };
    if sig.validate(true).is_err() {
        return false;
    }
    let participants: Vec<&bls::PublicKey> = mask.participants().map(|i| &keys[i]).collect();
    sig.fast_aggregate_verify(false, msg, bls::SIG_DST, &participants) as u32 == BLST_SUCCESS
}

/// One roster size of the sweep: both rosters, their signatures of [`MESSAGE`] at full and at
/// [`ABSENT_PERCENT`] participation, and masks for the aggregate-key measurements.
pub struct SweepFixture {
    pub members: usize,
    pub schnorr: SchnorrSetup,
    pub bls: BlsRoster,
    /// Full participation first, then [`ABSENT_PERCENT`] absent.
    pub cases: Vec<SweepCase>,
    /// `(absent, mask)` for each of [`AGGREGATE_KEY_ABSENT_PERCENTS`].
    pub key_masks: Vec<(usize, Mask)>,
}

/// The same participants' Schnorr and BLS signatures of [`MESSAGE`].
pub struct SweepCase {
    pub absent: usize,
    pub schnorr_sig: Vec<u8>,
    pub bls_sig: Vec<u8>,
}

impl SweepFixture {
    /// `bls_sigs`: every member's signature of [`MESSAGE`] (at least `members` of them).
    ///
    /// # Panics
    /// If anything generated fails to verify, or the two aggregate-key paths disagree.
    pub fn new(
        schnorr_members: &SchnorrMembers,
        bls_members: &BlsMembers,
        bls_sigs: &[bls::Signature],
        members: usize,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(members as u64);
        let schnorr = schnorr_members.setup(members);
        let bls_roster = bls_members.roster(members);
        let absent = absent_count(members, ABSENT_PERCENT);
        let cases: Vec<SweepCase> = [Mask::full(members), absent_mask(members, absent, &mut rng)]
            .iter()
            .map(|mask| SweepCase {
                absent: members - mask.count(),
                schnorr_sig: schnorr.sign(mask, &MESSAGE, &mut rng),
                bls_sig: bls_collective(&bls_roster, mask, bls_sigs),
            })
            .collect();
        for c in &cases {
            assert!(schnorr::verify(&schnorr.roster, POLICY, &MESSAGE, &c.schnorr_sig).is_ok());
            assert!(bls::verify(&bls_roster, POLICY, &MESSAGE, &c.bls_sig).is_ok());
            assert!(blst_fast_aggregate_verify(
                bls_roster.public_keys(),
                &MESSAGE,
                &c.bls_sig
            ));
        }
        let key_masks: Vec<(usize, Mask)> = AGGREGATE_KEY_ABSENT_PERCENTS
            .iter()
            .map(|&p| {
                let a = absent_count(members, p).min(members - 1);
                (a, absent_mask(members, a, &mut rng))
            })
            .collect();
        for (_, mask) in &key_masks {
            let by = |path| schnorr.roster.aggregate_key_with(mask, path).ok();
            assert_eq!(
                by(AggregatePath::SumPresent),
                by(AggregatePath::SubtractAbsent)
            );
            assert_eq!(
                bls_roster.aggregate_key_by_sum(mask).ok(),
                bls_roster.aggregate_key_by_subtraction(mask).ok()
            );
        }
        Self {
            members,
            schnorr,
            bls: bls_roster,
            cases,
            key_masks,
        }
    }
}

/// Batch inputs: `(message, encoded collective signature)`.
pub type Signed = Vec<([u8; 32], Vec<u8>)>;

/// A batch of collective signatures by one roster, each of a different message, [`ABSENT_PERCENT`]
/// of the members absent from each: with the same participants in every signature (consecutive
/// rounds of a stable roster) and with each signature's own participants.
pub struct BatchFixture {
    pub members: usize,
    pub schnorr: SchnorrSetup,
    pub bls: BlsRoster,
    pub mixes: Vec<BatchMix>,
}

pub struct BatchMix {
    /// "same" or "each its own".
    pub participants: &'static str,
    pub schnorr: Signed,
    pub bls: Signed,
}

impl BatchFixture {
    /// # Panics
    /// If a generated signature fails to verify.
    pub fn new(
        schnorr_members: &SchnorrMembers,
        bls_members: &BlsMembers,
        members: usize,
        signatures: usize,
    ) -> Self {
        let schnorr = schnorr_members.setup(members);
        let bls_roster = bls_members.roster(members);
        let mut rng = StdRng::seed_from_u64(3);
        let msgs: Vec<[u8; 32]> = (0..signatures).map(|_| rng.random()).collect();
        // Each member signs each message once; the masks pick which signatures are summed.
        let member_sigs: Vec<Vec<bls::Signature>> = msgs
            .iter()
            .map(|m| bls_members.member_signatures(members, m))
            .collect();
        let absent = absent_count(members, ABSENT_PERCENT);
        let mixes = [("same", true), ("each its own", false)]
            .into_iter()
            .map(|(participants, same)| {
                let first = absent_mask(members, absent, &mut rng);
                let masks: Vec<Mask> = (0..signatures)
                    .map(|_| {
                        if same {
                            first.clone()
                        } else {
                            absent_mask(members, absent, &mut rng)
                        }
                    })
                    .collect();
                let schnorr_items: Signed = msgs
                    .iter()
                    .zip(&masks)
                    .map(|(m, mask)| (*m, schnorr.sign(mask, m, &mut rng)))
                    .collect();
                let bls_items: Signed = msgs
                    .iter()
                    .zip(&masks)
                    .zip(&member_sigs)
                    .map(|((m, mask), sigs)| (*m, bls_collective(&bls_roster, mask, sigs)))
                    .collect();
                BatchMix {
                    participants,
                    schnorr: schnorr_items,
                    bls: bls_items,
                }
            })
            .collect::<Vec<_>>();
        let mut rng = rand::rng();
        for mix in &mixes {
            let s = schnorr::verify_batch(&schnorr.roster, POLICY, &mix.schnorr, &mut rng);
            assert!(s.into_iter().all(|ok| ok));
            let b = bls::verify_batch(&bls_roster, POLICY, &mix.bls, &mut rng);
            assert!(b.into_iter().all(|ok| ok));
        }
        Self {
            members,
            schnorr,
            bls: bls_roster,
            mixes,
        }
    }

    /// Absent members in each signature.
    pub fn absent(&self) -> usize {
        absent_count(self.members, ABSENT_PERCENT)
    }
}

/// VRF inputs: `count` keys, each with an input `alpha` and its proof.
pub struct VrfFixture {
    pub secret_keys: Vec<vrf::SecretKey>,
    pub public_keys: Vec<[u8; vrf::PUBLIC_KEY_LEN]>,
    pub alphas: Vec<[u8; 32]>,
    pub proofs: Vec<[u8; vrf::PROOF_LEN]>,
}

impl VrfFixture {
    /// # Panics
    /// If a generated proof fails to verify.
    pub fn generate(count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let secret_keys: Vec<vrf::SecretKey> = (0..count)
            .map(|_| vrf::SecretKey::from_seed(&rng.random()))
            .collect();
        let public_keys = secret_keys
            .iter()
            .map(|sk| *sk.public().as_bytes())
            .collect();
        let alphas: Vec<[u8; 32]> = (0..count).map(|_| rng.random()).collect();
        let proofs = secret_keys
            .iter()
            .zip(&alphas)
            .map(|(sk, alpha)| vrf::prove(sk, alpha).to_bytes())
            .collect();
        let fixture = Self {
            secret_keys,
            public_keys,
            alphas,
            proofs,
        };
        assert!(fixture.verify_all());
        fixture
    }

    /// Verifies every proof from its bytes; true when all verify.
    pub fn verify_all(&self) -> bool {
        self.public_keys
            .iter()
            .zip(&self.alphas)
            .zip(&self.proofs)
            .all(|((pk, alpha), proof)| vrf::verify(pk, alpha, proof).is_ok())
    }

    /// Proves every input again.
    pub fn prove_all(&self) -> Vec<vrf::Proof> {
        self.secret_keys
            .iter()
            .zip(&self.alphas)
            .map(|(sk, alpha)| vrf::prove(sk, alpha))
            .collect()
    }
}

/// `count` DLEQ proofs as PVSS makes them for decrypted shares: `g1 = G` shared by all,
/// `h1 = x·G` the participant's key, `g2` a share, `h2 = x·g2`.
///
/// # Panics
/// If a generated proof fails to verify.
pub fn dleq_proofs(count: usize, seed: u64) -> Vec<(DleqStatement, DleqProof)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let g = generators::g();
    let items: Vec<(DleqStatement, DleqProof)> = (0..count)
        .map(|_| {
            let x: Scalar = random_nonzero_scalar(&mut rng);
            let g2 = Point::mul_base(&random_nonzero_scalar(&mut rng));
            let statement = DleqStatement {
                g1: g,
                h1: &g * &x,
                g2,
                h2: &g2 * &x,
            };
            let proof = dleq::prove(&x, &statement, &mut rng);
            (statement, proof)
        })
        .collect();
    assert!(items.iter().all(|(st, p)| dleq::verify(st, p)));
    items
}

/// A one-thread rayon pool: timed calls run inside it, so the engine's parallel paths (the BLS
/// batch) use one core.
pub fn one_thread_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool starts")
}

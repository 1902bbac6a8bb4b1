//! Keys, rosters and a small MSB chain, derived from fixed seeds and built once per process
//! (targets that verify signatures need someone to verify against; targets that re-sign mutated
//! inputs need the matching secret keys).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use iosv_engine::cosi::bls::{self, BlsRoster};
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use iosv_engine::workload::signing_key;
use iosv_harness::msb::scenario::{ScenarioConfig, build};
use iosv_harness::msb::{BootstrapPackage, Trust};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Members of the Schnorr and BLS test rosters.
pub const ROSTER_SIZE: usize = 7;

/// A Schnorr CoSi roster of [`ROSTER_SIZE`] members and their keys.
pub struct SchnorrFixture {
    pub keys: Vec<MemberKey>,
    pub roster: Roster,
}

/// The Schnorr CoSi test roster.
pub fn schnorr() -> &'static SchnorrFixture {
    static FIXTURE: OnceLock<SchnorrFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys: Vec<MemberKey> = (0..ROSTER_SIZE as u8)
            .map(|i| MemberKey::from_seed(&[0x5c ^ i; 32]))
            .collect();
        let registrations: Vec<_> = keys.iter().map(MemberKey::registration).collect();
        let roster = Roster::from_registrations(&registrations).expect("fixture keys register");
        SchnorrFixture { keys, roster }
    })
}

/// A BLS CoSi roster of [`ROSTER_SIZE`] members and their secret keys.
pub struct BlsFixture {
    pub keys: Vec<bls::SecretKey>,
    pub roster: BlsRoster,
}

/// The BLS test roster.
pub fn bls() -> &'static BlsFixture {
    static FIXTURE: OnceLock<BlsFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(0xb15);
        let keys: Vec<bls::SecretKey> = (0..ROSTER_SIZE).map(|_| bls::keygen(&mut rng)).collect();
        let mut roster = BlsRoster::new();
        for sk in &keys {
            let pk = sk.sk_to_pk().compress();
            let pop = bls::proof_of_possession(sk).compress();
            roster.register(&pk, &pop).expect("fixture keys register");
        }
        BlsFixture { keys, roster }
    })
}

/// The VRF test key.
pub fn vrf_key() -> &'static iosv_engine::vrf::SecretKey {
    static KEY: OnceLock<iosv_engine::vrf::SecretKey> = OnceLock::new();
    KEY.get_or_init(|| iosv_engine::vrf::SecretKey::from_seed(&[0x7f; 32]))
}

/// Seed of the keys of the fraud-proof fixtures (transaction owners and the proposer).
pub const FRAUD_KEY_SEED: u64 = 0xf0a2d;

/// Index of the proposer's key among the fraud-proof fixture keys.
pub const FRAUD_PROPOSER: u64 = 999;

/// The key that signs the headers of the fraud-proof fixtures, and of re-signed mutated proofs.
pub fn fraud_proposer() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| signing_key(FRAUD_KEY_SEED, FRAUD_PROPOSER))
}

/// The shape of the MSB chain behind the MSB and bootstrap targets: two epochs (so there is a
/// previous MSB), a short tail after the latest, a roster of four.
pub fn msb_config() -> ScenarioConfig {
    ScenarioConfig {
        shard: 0,
        epochs: 2,
        blocks_per_epoch: 2,
        tail_blocks: 2,
        txs_per_block: 2,
        roster_size: 4,
        seed: 0x3b,
    }
}

/// What a joining node trusts for the fixture chain, each epoch's roster keys (to re-sign mutated
/// MSBs), every signed MSB of the chain, and the package an honest server hands out.
pub struct MsbFixture {
    pub trust: Trust,
    pub keys: BTreeMap<u64, Vec<MemberKey>>,
    pub msbs: Vec<iosv_harness::msb::SignedMsb>,
    pub package: BootstrapPackage,
}

/// The MSB fixture chain ([`msb_config`]).
pub fn msb() -> &'static MsbFixture {
    static FIXTURE: OnceLock<MsbFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let scenario = build(msb_config()).expect("the fixture chain builds");
        let package = scenario
            .store
            .bootstrap_package()
            .expect("the fixture chain closed an epoch");
        MsbFixture {
            trust: scenario.trust.clone(),
            keys: scenario.keys.clone(),
            msbs: scenario.store.msbs().to_vec(),
            package,
        }
    })
}

/// A deterministic RNG for re-signing inside a target (the signature only has to verify).
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Fraud-proof fixtures: a valid block (no proof may verify against its header), real proofs of
/// each kind of invalidity against invalid blocks, and the best-evidence attempts an accuser can
/// assemble against the valid block (all of which must fail).
pub struct FraudFixture {
    /// The signed header of the valid block.
    pub valid_header: iosv_engine::fraud::SignedHeader,
    /// One verified proof per kind of fraud.
    pub proofs: Vec<iosv_engine::fraud::FraudProof>,
    /// Proofs against the valid block, each with real witnesses; none verifies.
    pub attempts: Vec<iosv_engine::fraud::FraudProof>,
}

/// The fraud-proof fixtures (see [`FraudFixture`]).
pub fn fraud() -> &'static FraudFixture {
    static FIXTURE: OnceLock<FraudFixture> = OnceLock::new();
    FIXTURE.get_or_init(fraud_fixture::build)
}

mod fraud_fixture {
    use iosv_engine::fraud::{Claim, FraudProof, SignedHeader, Source, TxWitness, build as prove};
    use iosv_engine::tx::{
        BlockHeader, HEADER_VERSION, OutPoint, Transaction, TxId, TxInput, TxOutput,
        tx_inclusion_proof, tx_leaves, tx_root,
    };
    use iosv_engine::utxo::{LockId, StateTree, UtxoSet};
    use iosv_engine::workload::signing_key;

    use super::{FRAUD_KEY_SEED, FraudFixture, fraud_proposer};

    fn pk(i: u64) -> [u8; 32] {
        signing_key(FRAUD_KEY_SEED, i).verifying_key().to_bytes()
    }

    fn genesis(i: u32) -> OutPoint {
        OutPoint {
            txid: TxId([0xee; 32]),
            index: i,
        }
    }

    /// Spends `prev` (outpoint, owner key) into `outputs` (amount, owner key), signed.
    fn spend(prev: &[(OutPoint, u64)], outputs: &[(u64, u64)]) -> Transaction {
        let mut tx = Transaction {
            inputs: prev
                .iter()
                .map(|&(prev, _)| TxInput {
                    prev,
                    owner: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
            outputs: outputs
                .iter()
                .map(|&(amount, owner)| TxOutput {
                    amount,
                    owner: pk(owner),
                })
                .collect(),
        };
        let keys: Vec<_> = prev
            .iter()
            .map(|&(_, k)| signing_key(FRAUD_KEY_SEED, k))
            .collect();
        tx.sign(&keys).expect("one key per input");
        tx
    }

    fn out(tx: &Transaction, index: u32) -> OutPoint {
        OutPoint {
            txid: tx.txid(),
            index,
        }
    }

    /// Outputs 0..20 of 100 owned by key `i`, two huge outputs of key 30, genesis 19 locked.
    fn pre_state() -> UtxoSet {
        let set = UtxoSet::new();
        for i in 0..20u32 {
            let output = TxOutput {
                amount: 100,
                owner: pk(u64::from(i)),
            };
            set.insert_genesis(genesis(i), output).expect("fresh");
        }
        for i in [100, 101] {
            let output = TxOutput {
                amount: u64::MAX / 2 + 1,
                owner: pk(30),
            };
            set.insert_genesis(genesis(i), output).expect("fresh");
        }
        set.lock(LockId([7; 32]), &[genesis(19)]).expect("unlocked");
        set
    }

    fn header_for(txs: &[Transaction], tree: &mut StateTree) -> SignedHeader {
        let header = BlockHeader {
            version: HEADER_VERSION,
            shard: 1,
            height: 42,
            prev_hash: [9; 32],
            tx_root: tx_root(txs),
            tx_count: u32::try_from(txs.len()).expect("small block"),
            pre_state_root: tree.root(),
            state_root: [0; 32],
            timestamp_ms: 1_700_000_000_000,
            proposer: [0; 32],
        };
        SignedHeader::sign(header, fraud_proposer())
    }

    /// The proof that `txs[index]` is invalid against `set`.
    fn proof(set: &UtxoSet, txs: &[Transaction], index: usize) -> FraudProof {
        let mut tree = StateTree::from_set(set);
        let header = header_for(txs, &mut tree);
        let proof = prove(&header, txs, set, &mut tree, index).expect("the block is invalid");
        proof.verify().expect("a built proof verifies");
        proof
    }

    pub(super) fn build() -> FraudFixture {
        let set = pre_state();
        let mut proofs = Vec::new();

        let mut bad = spend(&[(genesis(1), 1)], &[(100, 2)]);
        bad.inputs[0].signature[0] ^= 1;
        proofs.push(proof(
            &set,
            &[spend(&[(genesis(0), 0)], &[(100, 1)]), bad],
            1,
        ));
        let zero = spend(&[(genesis(1), 1)], &[(0, 2)]);
        proofs.push(proof(
            &set,
            &[spend(&[(genesis(0), 0)], &[(100, 1)]), zero],
            1,
        ));
        let ghost = OutPoint {
            txid: TxId([0x42; 32]),
            index: 0,
        };
        proofs.push(proof(&set, &[spend(&[(ghost, 2)], &[(1, 2)])], 0));
        let first = spend(&[(genesis(0), 0)], &[(100, 1)]);
        let beyond = spend(&[(out(&first, 3), 1)], &[(1, 2)]);
        proofs.push(proof(&set, &[first, beyond], 1));
        proofs.push(proof(&set, &[spend(&[(genesis(19), 19)], &[(100, 1)])], 0));
        proofs.push(proof(&set, &[spend(&[(genesis(3), 4)], &[(100, 4)])], 0));
        let first = spend(&[(genesis(5), 5)], &[(100, 5)]);
        let thief = spend(&[(out(&first, 0), 6)], &[(100, 6)]);
        proofs.push(proof(&set, &[first, thief], 1));
        let txs = [
            spend(&[(genesis(4), 4)], &[(100, 1)]),
            spend(&[(genesis(6), 6)], &[(100, 1)]),
            spend(&[(genesis(4), 4)], &[(100, 2)]),
        ];
        proofs.push(proof(&set, &txs, 2));
        let huge = spend(&[(genesis(100), 30), (genesis(101), 30)], &[(1, 1)]);
        proofs.push(proof(&set, &[huge], 0));
        let first = spend(&[(genesis(9), 9)], &[(60, 9), (40, 10)]);
        let short = spend(&[(out(&first, 1), 10), (genesis(10), 10)], &[(141, 10)]);
        proofs.push(proof(&set, &[first, short], 1));
        let tx = spend(&[(genesis(11), 11)], &[(100, 11)]);
        let existing = UtxoSet::new();
        for (outpoint, entry) in set.entries() {
            existing
                .insert_genesis(outpoint, entry.output)
                .expect("fresh");
        }
        existing
            .insert_genesis(out(&tx, 0), tx.outputs[0])
            .expect("fresh");
        proofs.push(proof(&existing, &[tx], 0));

        // The valid block: spends of the pre-state, one of an output created earlier in the block.
        let first = spend(&[(genesis(12), 12)], &[(60, 13), (40, 14)]);
        let second = spend(&[(out(&first, 1), 14), (genesis(13), 13)], &[(140, 15)]);
        let third = spend(&[(genesis(100), 30)], &[(u64::MAX / 2, 16), (1, 17)]);
        let valid = vec![first, second, third];
        let mut tree = StateTree::from_set(&set);
        let valid_header = header_for(&valid, &mut tree);
        let attempts = attempts(&valid, &valid_header, &mut tree);
        FraudFixture {
            valid_header,
            proofs,
            attempts,
        }
    }

    /// Every claim against every transaction of the valid block, with real witnesses.
    fn attempts(
        txs: &[Transaction],
        header: &SignedHeader,
        tree: &mut StateTree,
    ) -> Vec<FraudProof> {
        let leaves = tx_leaves(txs);
        let witness = |i: usize| TxWitness {
            bytes: txs[i].encode(),
            inclusion: tx_inclusion_proof(&leaves, i).expect("in range"),
        };
        let mut out = Vec::new();
        for (index, tx) in txs.iter().enumerate() {
            let prev = tx.inputs[0].prev;
            let sources: Vec<Source> = tx
                .inputs
                .iter()
                .map(
                    |input| match txs.iter().position(|t| t.txid() == input.prev.txid) {
                        Some(creator) => Source::InBlock(witness(creator)),
                        None => Source::PreState(tree.prove(&input.prev)),
                    },
                )
                .collect();
            let created = OutPoint {
                txid: tx.txid(),
                index: 0,
            };
            let claims = vec![
                Claim::BadSignature { input: 0 },
                Claim::Malformed,
                Claim::UnknownOutpoint {
                    input: 0,
                    absent: tree.prove(&prev),
                    leaves: leaves.clone(),
                    creator: index.checked_sub(1).map(witness),
                },
                Claim::Locked {
                    input: 0,
                    entry: tree.prove(&prev),
                },
                Claim::WrongOwner {
                    input: 0,
                    source: sources[0].clone(),
                },
                Claim::DoubleSpend {
                    input: 0,
                    earlier: witness(index.saturating_sub(1)),
                },
                Claim::InputsOverflow {
                    sources: sources.clone(),
                },
                Claim::InsufficientFunds { sources },
                Claim::OutputExists {
                    output: 0,
                    existing: tree.prove(&created),
                },
            ];
            for claim in claims {
                let attempt = FraudProof {
                    header: header.clone(),
                    accused: witness(index),
                    claim,
                };
                assert!(
                    attempt.verify().is_err(),
                    "a valid block cannot be convicted"
                );
                out.push(attempt);
            }
        }
        out
    }
}

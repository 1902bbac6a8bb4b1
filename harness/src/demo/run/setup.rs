//! Phase 1 of a run: every shard's validators, their stakes and registrations, and each shard's
//! league draw (VRF tickets weighted by Proof-of-Believability scores, verified), then the shards
//! themselves, built in parallel.

use std::sync::Mutex;

use iosv_engine::sig::Verifier;
use iosv_engine::tx::{OutPoint, TxOutput};
use iosv_engine::utxo::UtxoSet;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::atomix::{ShardId, ShardMap};
use crate::demo::config::DemoConfig;
use crate::demo::shard::{DemoShard, Member, ShardSetup};
use crate::demo::workload;
use crate::pob::{self, Reputation, Ticket};

/// Stake of validator `i` of a shard (distinct, so scores differ).
fn stake(i: usize) -> u64 {
    100_000 * (1 + i as u64)
}

fn member_seed(seed: u64, shard: ShardId, i: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(crate::domain::DEMO_VALIDATOR);
    h.update(seed.to_le_bytes());
    h.update(shard.to_le_bytes());
    h.update((i as u64).to_le_bytes());
    h.finalize().into()
}

fn stake_point(map: &ShardMap, member: &Member, shard: ShardId) -> OutPoint {
    workload::outpoint_in(map, shard, &[crate::domain::DEMO_STAKE, &member.id])
}

/// The epoch's randomness. The harness's DRP (`iosv drp`) produces it in the protocol; the demo
/// runs one epoch and derives it from the seed so that runs repeat.
pub fn epoch_randomness(seed: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(crate::domain::DEMO_EPOCH_RANDOMNESS);
    h.update(seed.to_le_bytes());
    h.finalize().into()
}

/// Every shard of `cfg` with its validators staked and registered in `reputation`, its leagues
/// drawn, and `genesis[shard]` (the clients' outputs) plus the stakes as its state.
pub(super) fn shards(
    cfg: &DemoConfig,
    map: ShardMap,
    mut genesis: Vec<Vec<(OutPoint, TxOutput)>>,
    reputation: &Mutex<Reputation>,
    verifier: Option<&Verifier>,
) -> anyhow::Result<Vec<DemoShard>> {
    let randomness = epoch_randomness(cfg.seed);
    let mut setups = Vec::new();
    for shard in 0..cfg.shards {
        let members: Vec<Member> = (0..cfg.validators_of(shard))
            .map(|i| Member::new(member_seed(cfg.seed, shard, i)))
            .collect();
        let stakes = UtxoSet::new();
        for (i, m) in members.iter().enumerate() {
            let output = TxOutput {
                amount: stake(i),
                owner: m.id,
            };
            let point = stake_point(&map, m, shard);
            genesis[shard as usize].push((point, output));
            stakes.insert_genesis(point, output)?;
            reputation.lock().expect("not poisoned").register(m.id);
        }
        let pob_members: Vec<pob::Member> = members
            .iter()
            .map(|m| pob::Member {
                id: m.id,
                vrf_key: m.vrf.public().to_bytes(),
            })
            .collect();
        let candidates = pob::candidates(
            &pob_members,
            &reputation.lock().expect("not poisoned"),
            &stakes,
            &cfg.policy.weights,
        );
        let tickets: Vec<Ticket> = members
            .iter()
            .map(|m| Ticket::draw(&m.vrf, 0, shard, &randomness))
            .collect();
        let assignment = pob::assign(&cfg.policy, 0, shard, &randomness, &candidates, &tickets)?;
        pob::verify_assignment(&cfg.policy, &randomness, &candidates, &tickets, &assignment)?;
        let index_of = |id: &[u8; 32]| members.iter().position(|m| &m.id == id);
        let believable: Vec<usize> = assignment.believable.iter().filter_map(index_of).collect();
        let normal: Vec<usize> = assignment.normal.iter().filter_map(index_of).collect();
        setups.push(ShardSetup {
            id: shard,
            map,
            members,
            mode: assignment.mode,
            believable,
            normal,
            genesis: std::mem::take(&mut genesis[shard as usize]),
        });
    }
    setups
        .into_par_iter()
        .map(|setup| DemoShard::new(setup, cfg, verifier))
        .collect()
}

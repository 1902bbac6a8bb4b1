//! Building a shard from its setup: the shared state (genesis), the Atomix side, the leagues'
//! verifiers, the finality network, the configured faults that concern it.

use std::collections::HashSet;

use iosv_engine::cosi::schnorr::MemberKey;
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::{OutPoint, TxOutput};
use iosv_engine::utxo::{ShardState, UtxoSet};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::validator::{LeagueNet, Misbehaviour, Validator};
use super::{DemoShard, Member};
use crate::atomix::{AtomixShard, ShardId, ShardMap};
use crate::demo::config::{DemoConfig, Fault};
use crate::demo::stats::ShardStats;
use crate::finality;
use crate::node::NodeId;
use crate::pob::LeagueMode;
use crate::sim::FinalityNet;
use crate::sim::network::LinkModel;

/// The state a shard starts from, and who is in it.
pub struct ShardSetup {
    pub id: ShardId,
    pub map: ShardMap,
    pub members: Vec<Member>,
    pub mode: LeagueMode,
    pub believable: Vec<usize>,
    pub normal: Vec<usize>,
    pub genesis: Vec<(OutPoint, TxOutput)>,
}

/// The validators' links in the real-time demo: one hop of latency, nothing lost (a shard's
/// validators are on one machine's threads; the simulated demo gives them its league links).
const ONE_HOP: LinkModel = LinkModel {
    latency: 1,
    jitter: 0,
    loss: 0.0,
    duplicate: 0.0,
};

fn xor_seed(seed: u64, shard: ShardId) -> u64 {
    seed ^ (u64::from(shard) << 32) ^ 0x5EED
}

impl DemoShard {
    /// A shard from its setup; its signatures go to `verifier` (default: the local CPU).
    pub fn new(
        setup: ShardSetup,
        cfg: &DemoConfig,
        verifier: Option<&Verifier>,
    ) -> anyhow::Result<DemoShard> {
        // By default each league has its own CPU verifier (and key cache), as before.
        let (believable_verifier, normal_verifier) = match verifier {
            Some(v) => (v.clone(), v.clone()),
            None => (Verifier::new(Backend::Cpu)?, Verifier::new(Backend::Cpu)?),
        };
        let mut state = ShardState::new(UtxoSet::new());
        for (point, output) in &setup.genesis {
            state.insert(*point, *output)?;
        }
        let cosi_keys: Vec<MemberKey> = setup
            .normal
            .iter()
            .map(|&i| MemberKey::from_seed(&setup.members[i].seed))
            .collect();
        let atomix = AtomixShard::new(
            setup.id,
            setup.map,
            iosv_engine::cosi::Policy::ByzCoin,
            cosi_keys,
            state,
        )?;
        let seeds: Vec<[u8; 32]> = setup
            .normal
            .iter()
            .map(|&i| setup.members[i].seed)
            .collect();
        let two = setup.mode == LeagueMode::TwoLeagues;
        // A single league agrees by PBFT over every transaction; two leagues finalize with
        // ByzCoin's CoSi rounds (PBFT only when those fail).
        let mut rng = ChaCha20Rng::seed_from_u64(xor_seed(cfg.seed, setup.id));
        let finality = FinalityNet::with_seeds(
            &seeds,
            finality::Config {
                fast_path: two,
                ..finality::Config::default()
            },
            &mut rng,
        );
        let fraudulent = (two && cfg.fraudulent(setup.id))
            .then(|| setup.believable.first().copied())
            .flatten();
        let equivocate = cfg.faults.iter().find_map(|f| match *f {
            Fault::Equivocating { shard, block } if shard == setup.id && two => {
                setup.believable.first().map(|&v| (v, block))
            }
            _ => None,
        });
        let validators = (0..setup.members.len())
            .map(|i| {
                let verifier = if setup.believable.contains(&i) {
                    believable_verifier.clone()
                } else {
                    normal_verifier.clone()
                };
                let misbehaviour = Misbehaviour {
                    smuggles: fraudulent == Some(i),
                    equivocates_at: equivocate.filter(|&(v, _)| v == i).map(|(_, b)| b),
                };
                Validator::new(
                    i as NodeId,
                    setup.members[i].seed,
                    verifier,
                    cfg.policy.sampling_probability,
                    misbehaviour,
                )
            })
            .collect();
        let league = LeagueNet::new(validators, ONE_HOP, xor_seed(cfg.seed, setup.id) ^ 0x1EA6);
        Ok(DemoShard {
            id: setup.id,
            map: setup.map,
            mode: setup.mode,
            members: setup.members,
            believable: setup.believable,
            normal: setup.normal,
            fraudulent,
            league,
            next_slot: 0,
            height: 0,
            prev_hash: [0; 32],
            atomix,
            believable_verifier,
            normal_verifier,
            finality,
            finality_height: 0,
            proposed: 0,
            league_partitions: Vec::new(),
            audited: Vec::new(),
            history: Vec::new(),
            producer_of: Vec::new(),
            inbox: Vec::new(),
            lock_requests: Vec::new(),
            finish_requests: Vec::new(),
            spent_final: HashSet::new(),
            faults: cfg
                .faults
                .iter()
                .filter(|f| f.shard() == Some(setup.id))
                .copied()
                .collect(),
            policy: cfg.policy,
            max_block_txs: cfg.max_block_txs,
            forgers_persist: cfg.forgers_persist,
            hop_us: cfg.hop_ms * 1_000.0,
            rng,
            stats: ShardStats::default(),
        })
    }
}

//! Every domain-separation tag of the harness's protocols, in one place, with how it is framed
//! (see `iosv_engine::domain` for the two framings and why the check below is enough).
//!
//! Raw tags (`&[u8]`) start a hash input as they are; length-prefixed ones (`&str`) go through the
//! DRP/MSB hasher (`drp::encoding::Tagged`), which writes their length first. The modules use
//! these constants (some re-export them under their older names); the test checks the engine's
//! tags and these together: no two hash inputs started by different tags can be equal.

use iosv_engine::domain::{Framing, Tag};

/// Used in `atomix/statement.rs`.
pub const ATOMIX_BATCH: &[u8] = b"iosv/atomix/batch/v1";
/// Used in `atomix/node.rs`: seeds a shard node's CoSi nonce RNG for one incarnation.
pub const ATOMIX_NONCE_RNG: &[u8] = b"iosv/atomix/nonce-rng/v1";
/// Used in `atomix/statement.rs`.
pub const ATOMIX_ROSTER: &[u8] = b"iosv/atomix/roster/v1";
/// Used in `atomix/statement.rs`.
pub const ATOMIX_SHARD_OF: &[u8] = b"iosv/atomix/shard-of/v1";
/// Used in `atomix/statement.rs`.
pub const ATOMIX_STATEMENT: &[u8] = b"iosv/atomix/statement/v1";
/// Used in `demo/shard.rs`.
pub const DEMO_COMPENSATION: &[u8] = b"iosv/demo/compensation/v1";
/// Used in `demo/run.rs`.
pub const DEMO_EPOCH_RANDOMNESS: &[u8] = b"iosv/demo/epoch-randomness/v1";
/// Used in `demo/shard.rs`.
pub const DEMO_FINALIZED_BLOCK: &[u8] = b"iosv/demo/finalized-block/v1";
/// Used in `demo/workload.rs`.
pub const DEMO_GENESIS: &[u8] = b"iosv/demo/genesis/v1";
/// Used in `demo/run.rs`.
pub const DEMO_STAKE: &[u8] = b"iosv/demo/stake/v1";
/// Used in `demo/run.rs`.
pub const DEMO_VALIDATOR: &[u8] = b"iosv/demo/validator/v1";
/// Used in `demo/shard.rs`.
pub const DEMO_VRF_KEY: &[u8] = b"iosv/demo/vrf-key/v1";
/// Used in `drp/choice.rs` (length-prefixed).
pub const DRP_CHOICE: &str = "iosv/drp/v1/choice";
/// Used in `drp/session.rs`.
pub const DRP_CHOICE_COSI: &[u8] = b"iosv/drp/v1/choice-cosi";
/// Used in `drp/choice.rs` (length-prefixed).
pub const DRP_DEALING: &str = "iosv/drp/v1/dealing";
/// Used in `drp/session.rs` (length-prefixed).
pub const DRP_GROUPING_RANK: &str = "iosv/drp/v1/grouping-rank";
/// Used in `drp/session.rs` (length-prefixed).
pub const DRP_GROUPING_SEED: &str = "iosv/drp/v1/grouping-seed";
/// Used in `drp/reveal.rs` (length-prefixed).
pub const DRP_OUTPUT: &str = "iosv/drp/v1/output";
/// Used in `drp/randomness.rs` (length-prefixed).
pub const DRP_PEER_RNG: &str = "iosv/drp/v1/peer-rng";
/// Used in `drp/roster.rs`.
pub const DRP_PVSS_KEY: &[u8] = b"iosv/drp/v1/pvss-key";
/// Used in `drp/roster.rs`.
pub const DRP_PVSS_SECRET: &[u8] = b"iosv/drp/v1/pvss-secret";
/// Used in `drp/roster.rs` (length-prefixed).
pub const DRP_ROSTER: &str = "iosv/drp/v1/roster";
/// Used in `drp/randomness.rs` (length-prefixed).
pub const DRP_ROUND: &str = "iosv/drp/v1/round";
/// Used in `drp/session.rs` (length-prefixed).
pub const DRP_SESSION: &str = "iosv/drp/v1/session";
/// Used in `drp/roster.rs` (length-prefixed).
pub const DRP_TEST_SERVER_SEED: &str = "iosv/drp/v1/test-server-seed";
/// Used in `drp/node.rs` (length-prefixed).
pub const DRP_TEST_SERVER_RNG: &str = "iosv/drp/v1/test-server-rng";
/// Used in `epoch/lottery.rs`.
pub const EPOCH_LOTTERY: &[u8] = b"iosv/epoch/lottery/v1";
/// Used in `epoch/announce.rs`.
pub const EPOCH_PLACEHOLDER_ACK: &[u8] = b"iosv/epoch/placeholder-ack/v1";
/// Used in `epoch/announce.rs`.
pub const EPOCH_PLACEHOLDER_ANNOUNCEMENT: &[u8] = b"iosv/epoch/placeholder-announcement/v1";
/// Used in `epoch/announce.rs`.
pub const EPOCH_PLACEHOLDER_RANDOMNESS: &[u8] = b"iosv/epoch/placeholder-randomness/v1";
/// Used in `finality/messages.rs`.
pub const FINALITY_COSI: &[u8] = b"iosv/finality/cosi/v1";
/// Used in `finality/messages.rs`.
pub const FINALITY_PBFT: &[u8] = b"iosv/finality/pbft/v1";
/// Used in `finality/messages.rs`.
pub const FINALITY_PROPOSAL: &[u8] = b"iosv/finality/proposal/v1";
/// Used in `finality/member.rs`: seeds a member's CoSi nonce RNG for one incarnation.
pub const FINALITY_NONCE_RNG: &[u8] = b"iosv/finality/nonce-rng/v1";
/// Used in `msb/block.rs` (length-prefixed).
pub const MSB_BLOCK: &str = "iosv/msb/v1/block";
/// Used in `msb/block.rs`.
pub const MSB_COSI: &[u8] = b"iosv/msb/v1/cosi";
/// Used in `msb/chain.rs` (length-prefixed).
pub const MSB_GENESIS: &str = "iosv/msb/v1/genesis";
/// Used in `msb/scenario.rs` (length-prefixed).
pub const MSB_TEST_ROSTER: &str = "iosv/msb/v1/test-roster";
/// Used in `net/channel.rs`: the node network's handshake transcript and signatures.
pub const NET_HANDSHAKE: &[u8] = b"iosv/net/handshake/v1";
/// Used in `net/process.rs`: the stand-in values a finality-only node network finalizes.
pub const NET_PROPOSAL: &[u8] = b"iosv/net/proposal/v1";
/// Used in `net/channel.rs`: a connection's keys from its Diffie–Hellman secret.
pub const NET_SESSION_KEY: &[u8] = b"iosv/net/session-key/v1";
/// Used in `pob/reputation.rs`.
pub const POB_EQUIVOCATION: &[u8] = b"iosv/pob/equivocation/v1";
/// Used in `pob/league.rs`.
pub const POB_LEAGUE: &[u8] = b"iosv/pob/league/v1";
/// Used in `pob/reputation.rs`.
pub const POB_SEIZE: &[u8] = b"iosv/pob/seize/v1";
/// Used in `shard/safety.rs`.
pub const SHARD_SAFETY_SAMPLE: &[u8] = b"iosv/shard-safety/sample/v1";
/// Used in `shard/assign.rs`.
pub const SHARD_PERMUTATION: &[u8] = b"iosv/shard/permutation/v1";
/// Used in `sim/run.rs`.
pub const SIM_GENESIS_RANDOMNESS: &[u8] = b"iosv/sim/genesis-randomness/v1";
/// Used in `epoch/roster.rs`.
pub const SIM_SIG_KEY: &[u8] = b"iosv/sim/sig-key/v1";
/// Used in `epoch/roster.rs`.
pub const SIM_VRF_KEY: &[u8] = b"iosv/sim/vrf-key/v1";

/// Every tag above.
pub const HARNESS_TAGS: &[Tag] = &[
    Tag {
        name: "ATOMIX_BATCH",
        bytes: ATOMIX_BATCH,
        framing: Framing::Raw,
    },
    Tag {
        name: "ATOMIX_NONCE_RNG",
        bytes: ATOMIX_NONCE_RNG,
        framing: Framing::Raw,
    },
    Tag {
        name: "ATOMIX_ROSTER",
        bytes: ATOMIX_ROSTER,
        framing: Framing::Raw,
    },
    Tag {
        name: "ATOMIX_SHARD_OF",
        bytes: ATOMIX_SHARD_OF,
        framing: Framing::Raw,
    },
    Tag {
        name: "ATOMIX_STATEMENT",
        bytes: ATOMIX_STATEMENT,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_COMPENSATION",
        bytes: DEMO_COMPENSATION,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_EPOCH_RANDOMNESS",
        bytes: DEMO_EPOCH_RANDOMNESS,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_FINALIZED_BLOCK",
        bytes: DEMO_FINALIZED_BLOCK,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_GENESIS",
        bytes: DEMO_GENESIS,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_STAKE",
        bytes: DEMO_STAKE,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_VALIDATOR",
        bytes: DEMO_VALIDATOR,
        framing: Framing::Raw,
    },
    Tag {
        name: "DEMO_VRF_KEY",
        bytes: DEMO_VRF_KEY,
        framing: Framing::Raw,
    },
    Tag {
        name: "DRP_CHOICE",
        bytes: DRP_CHOICE.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_CHOICE_COSI",
        bytes: DRP_CHOICE_COSI,
        framing: Framing::Raw,
    },
    Tag {
        name: "DRP_DEALING",
        bytes: DRP_DEALING.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_GROUPING_RANK",
        bytes: DRP_GROUPING_RANK.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_GROUPING_SEED",
        bytes: DRP_GROUPING_SEED.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_OUTPUT",
        bytes: DRP_OUTPUT.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_PEER_RNG",
        bytes: DRP_PEER_RNG.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_PVSS_KEY",
        bytes: DRP_PVSS_KEY,
        framing: Framing::Raw,
    },
    Tag {
        name: "DRP_PVSS_SECRET",
        bytes: DRP_PVSS_SECRET,
        framing: Framing::Raw,
    },
    Tag {
        name: "DRP_ROSTER",
        bytes: DRP_ROSTER.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_ROUND",
        bytes: DRP_ROUND.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_SESSION",
        bytes: DRP_SESSION.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_TEST_SERVER_SEED",
        bytes: DRP_TEST_SERVER_SEED.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "DRP_TEST_SERVER_RNG",
        bytes: DRP_TEST_SERVER_RNG.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "EPOCH_LOTTERY",
        bytes: EPOCH_LOTTERY,
        framing: Framing::Raw,
    },
    Tag {
        name: "EPOCH_PLACEHOLDER_ACK",
        bytes: EPOCH_PLACEHOLDER_ACK,
        framing: Framing::Raw,
    },
    Tag {
        name: "EPOCH_PLACEHOLDER_ANNOUNCEMENT",
        bytes: EPOCH_PLACEHOLDER_ANNOUNCEMENT,
        framing: Framing::Raw,
    },
    Tag {
        name: "EPOCH_PLACEHOLDER_RANDOMNESS",
        bytes: EPOCH_PLACEHOLDER_RANDOMNESS,
        framing: Framing::Raw,
    },
    Tag {
        name: "FINALITY_COSI",
        bytes: FINALITY_COSI,
        framing: Framing::Raw,
    },
    Tag {
        name: "FINALITY_PBFT",
        bytes: FINALITY_PBFT,
        framing: Framing::Raw,
    },
    Tag {
        name: "FINALITY_PROPOSAL",
        bytes: FINALITY_PROPOSAL,
        framing: Framing::Raw,
    },
    Tag {
        name: "FINALITY_NONCE_RNG",
        bytes: FINALITY_NONCE_RNG,
        framing: Framing::Raw,
    },
    Tag {
        name: "MSB_BLOCK",
        bytes: MSB_BLOCK.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "MSB_COSI",
        bytes: MSB_COSI,
        framing: Framing::Raw,
    },
    Tag {
        name: "MSB_GENESIS",
        bytes: MSB_GENESIS.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "MSB_TEST_ROSTER",
        bytes: MSB_TEST_ROSTER.as_bytes(),
        framing: Framing::LengthPrefixed,
    },
    Tag {
        name: "NET_HANDSHAKE",
        bytes: NET_HANDSHAKE,
        framing: Framing::Raw,
    },
    Tag {
        name: "NET_PROPOSAL",
        bytes: NET_PROPOSAL,
        framing: Framing::Raw,
    },
    Tag {
        name: "NET_SESSION_KEY",
        bytes: NET_SESSION_KEY,
        framing: Framing::Raw,
    },
    Tag {
        name: "POB_EQUIVOCATION",
        bytes: POB_EQUIVOCATION,
        framing: Framing::Raw,
    },
    Tag {
        name: "POB_LEAGUE",
        bytes: POB_LEAGUE,
        framing: Framing::Raw,
    },
    Tag {
        name: "POB_SEIZE",
        bytes: POB_SEIZE,
        framing: Framing::Raw,
    },
    Tag {
        name: "SHARD_SAFETY_SAMPLE",
        bytes: SHARD_SAFETY_SAMPLE,
        framing: Framing::Raw,
    },
    Tag {
        name: "SHARD_PERMUTATION",
        bytes: SHARD_PERMUTATION,
        framing: Framing::Raw,
    },
    Tag {
        name: "SIM_GENESIS_RANDOMNESS",
        bytes: SIM_GENESIS_RANDOMNESS,
        framing: Framing::Raw,
    },
    Tag {
        name: "SIM_SIG_KEY",
        bytes: SIM_SIG_KEY,
        framing: Framing::Raw,
    },
    Tag {
        name: "SIM_VRF_KEY",
        bytes: SIM_VRF_KEY,
        framing: Framing::Raw,
    },
];

#[cfg(test)]
mod tests {
    use iosv_engine::domain::{ENGINE_TAGS, check_tags};

    use super::*;

    #[test]
    fn no_two_tags_of_iosv_can_start_the_same_hash_input() {
        let all: Vec<Tag> = ENGINE_TAGS.iter().chain(HARNESS_TAGS).copied().collect();
        if let Err(conflict) = check_tags(&all) {
            panic!("{conflict}");
        }
    }
}

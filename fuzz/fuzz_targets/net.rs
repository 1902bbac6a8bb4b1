//! What a node process reads from strangers, from roster members and from its operator: the
//! first byte picks which (mod 4), the rest is the input.
//! - 0: a connection's first bytes, read by the responder's handshake (`net::channel::respond`),
//!   as a stranger would send them;
//! - 1: a stream of frames under a known key (`FrameOpener::read`), as a roster member — or
//!   anyone who got between two — would send them; frames the fuzzer sealed itself open to what
//!   was sealed;
//! - 2: a node configuration file (`NodeConfig`, its link faults and its ledger section);
//! - 3: a message an Atomix shard or gateway decodes from an authenticated frame (`AtomixMsg`,
//!   JSON with transactions in their canonical encoding), as a Byzantine roster member would
//!   send it; what decodes is then delivered to a co-signed shard's leader (as if from one of
//!   its members) and to one of its co-signers (as if from its leader), which must refuse or
//!   absorb it without panicking.
//!
//! Properties: no panic (every refusal a typed error); no allocation past the frame bound (a
//! length is checked before its frame is read); sealed frames round-trip; an accepted message or
//! configuration round-trips through its encoding.

#![no_main]

use std::io::{Read, Write};

use ed25519_dalek::SigningKey;
use iosv_harness::net::channel::{FrameOpener, FrameSealer, Identity, Members, respond};
use iosv_engine::cosi::Policy;
use iosv_engine::cosi::schnorr::{MemberKey, Roster};
use iosv_engine::utxo::{ShardState, UtxoSet};
use iosv_harness::atomix::{
    AtomixMsg, AtomixNode, AtomixShard, AtomixTimer, AtomixTiming, CosignerNode, Cosigning,
    Directory, ShardInfo, ShardMap, ShardNode, Succession,
};
use iosv_harness::node::{Effects, Node};
use iosv_harness::net::config::NodeConfig;
use libfuzzer_sys::fuzz_target;

/// Reads the fuzzer's bytes, swallows what the responder writes.
struct Scripted<'a> {
    input: &'a [u8],
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Scripted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const MAX_FRAME: usize = 1 << 16;

/// The co-signed shard's nodes: its leader (roster member 0) and one co-signer (member 1).
const LEADER: u32 = 0;
const MEMBER: u32 = 1;

/// Shard 0 of one, roster of 4 (nodes 0 to 3), empty ledger: its leader and its co-signer 1.
fn cosigned_pair() -> (AtomixNode, AtomixNode) {
    let keys: Vec<MemberKey> = (1..=4u8).map(|s| MemberKey::from_seed(&[s; 32])).collect();
    let regs: Vec<_> = keys.iter().map(MemberKey::registration).collect();
    let roster = Roster::from_registrations(&regs).expect("valid roster");
    let map = ShardMap::new(1);
    let mut dir = Directory::new();
    dir.update(ShardInfo::new(0, 0, roster.clone(), Policy::ByzCoin));
    let replica = || {
        AtomixShard::replica(
            0,
            map,
            Policy::ByzCoin,
            roster.clone(),
            ShardState::new(UtxoSet::with_shards(1)),
        )
    };
    let timing = AtomixTiming {
        seal_every: 1_000,
        retry_every: 10_000,
    };
    let nodes: Vec<u32> = (0..4).collect();
    let cosigning = Cosigning::new(
        nodes.clone(),
        0,
        keys[0].clone(),
        roster.clone(),
        Policy::ByzCoin,
        Vec::new(),
        5_000,
    )
    .expect("a valid leader");
    let leader = ShardNode::new(replica(), dir.clone(), timing, [7; 32]).cosigned(cosigning);
    let succession = Succession {
        roster_nodes: nodes,
        clients: vec![4],
        timing,
        round_timeout: 5_000,
    };
    let member = CosignerNode::new(
        MEMBER,
        1,
        keys[1].clone(),
        replica(),
        Vec::new(),
        dir,
        succession,
        [8; 32],
        0,
    )
    .expect("a valid co-signer");
    (
        AtomixNode::Shard(Box::new(leader)),
        AtomixNode::Cosigner(Box::new(member)),
    )
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let keys: Vec<[u8; 32]> = (1..=4u8)
                .map(|s| SigningKey::from_bytes(&[s; 32]).verifying_key().to_bytes())
                .collect();
            let members = Members::new(&keys).expect("valid keys");
            let me = Identity {
                id: 1,
                key: SigningKey::from_bytes(&[2; 32]),
            };
            // A stranger cannot forge the initiator's signature: refusal is the only outcome.
            let result = respond(&mut Scripted { input: rest }, &me, &members, MAX_FRAME);
            assert!(result.is_err(), "a handshake from fuzzed bytes was accepted");
        }
        1 => {
            let key = [9u8; 32];
            let mut opener = FrameOpener::new(&key, MAX_FRAME);
            let mut input = rest;
            // Raw bytes: whatever they are, each read ends in a frame, a clean end or an error.
            for _ in 0..64 {
                match opener.read(&mut input) {
                    Ok(Some(frame)) => assert!(frame.len() <= MAX_FRAME),
                    Ok(None) | Err(_) => break,
                }
            }
            // Sealed by us: the payloads come back, in order.
            let mut sealer = FrameSealer::new(&key, MAX_FRAME);
            let mut opener = FrameOpener::new(&key, MAX_FRAME);
            let mut wire = Vec::new();
            let chunks: Vec<&[u8]> = rest.chunks(97).collect();
            for c in &chunks {
                sealer.write(&mut wire, c).expect("under the bound");
            }
            let mut input = wire.as_slice();
            for c in &chunks {
                assert_eq!(opener.read(&mut input).expect("opens").as_deref(), Some(*c));
            }
            assert!(opener.read(&mut input).expect("clean end").is_none());
        }
        2 => {
            let Some(text) = iosv_fuzz::text(rest) else {
                return;
            };
            if let Ok(config) = serde_json::from_str::<NodeConfig>(text) {
                let members = config.members.len();
                let _ = config.link.validate(members);
                if let Some(ledger) = &config.ledger {
                    let _ = ledger.validate(config.role, config.id, members);
                }
                let json = serde_json::to_string(&config).expect("serializes");
                let again: NodeConfig = serde_json::from_str(&json)
                    .unwrap_or_else(|e| panic!("accepted config refused after a round trip: {e}"));
                assert_eq!(again.id, config.id);
            }
        }
        _ => {
            // The transport hands the node only what decodes; what decodes must re-encode to
            // the same message.
            if let Ok(msg) = serde_json::from_slice::<AtomixMsg>(rest) {
                let json = serde_json::to_vec(&msg).expect("serializes");
                let again: AtomixMsg = serde_json::from_slice(&json)
                    .unwrap_or_else(|e| panic!("decoded message refused after a round trip: {e}"));
                assert_eq!(
                    serde_json::to_vec(&again).expect("serializes"),
                    json,
                    "a message changed in a round trip"
                );
                let (mut leader, mut member) = cosigned_pair();
                let mut fx = Effects::default();
                leader.on_message(0, MEMBER, msg.clone(), &mut fx);
                leader.on_timer(1, AtomixTimer::Seal, &mut fx);
                member.on_message(0, LEADER, msg, &mut fx);
            }
        }
    }
});

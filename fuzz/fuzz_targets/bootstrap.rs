//! Bootstrap packages (what a serving node hands a joining one: signed MSB, epoch headers, state
//! snapshot, blocks after the MSB), in the container of `iosv_fuzz::container`, checked by
//! `msb::bootstrap` against the fixture chain's `Trust`.
//!
//! The first byte chooses repairs applied before the check, so that mutated packages get past
//! the signature and the hash links to the deeper checks:
//! - bit 0: MSB version, shard and epoch set to what the joiner expects;
//! - bit 1: epoch headers re-linked (prev_hash, height, shard), the MSB's state root (and the last
//!   header's) set to the snapshot's;
//! - bit 2: header count, headers root and tip of the MSB set from the headers;
//! - bit 3: the blocks after the MSB re-proposed on the snapshot's state (`ChainState::propose`,
//!   the producer's path): refused transactions are dropped, as a producer would;
//! - bit 4: the MSB re-signed by its epoch's roster (fixture keys).
//!
//! Properties: no panic, bounded allocation; and with every repair applied to a snapshot that
//! loads, bootstrap must succeed and reach the producer's state root (the producer's and the
//! joiner's block checks agree).

#![no_main]

use iosv_engine::cosi::Mask;
use iosv_engine::tx::Block;
use iosv_fuzz::container::decode_package;
use iosv_fuzz::fixtures;
use iosv_harness::msb::block::{MSB_VERSION, headers_root};
use iosv_harness::msb::{BootstrapPackage, ChainState, SignedMsb, Tip, bootstrap};
use libfuzzer_sys::fuzz_target;

const ALL_REPAIRS: u8 = 0b1_1111;

/// Applies the repairs of `mode`; returns the state root the producer reached when it re-proposed
/// the blocks (bit 3), if it could.
fn repair(package: &mut BootstrapPackage, mode: u8) -> Option<[u8; 32]> {
    let fixture = fixtures::msb();
    let msb = &mut package.msb.msb;
    if mode & 1 != 0 {
        msb.version = MSB_VERSION;
        msb.shard = fixture.trust.shard;
        msb.epoch = fixture.trust.latest_epoch;
    }
    if mode & 2 != 0 {
        let headers = &mut package.epoch_headers;
        for i in 1..headers.len() {
            let prev_hash = headers[i - 1].hash();
            let height = headers[i - 1].height.checked_add(1)?;
            let h = &mut headers[i];
            h.prev_hash = prev_hash;
            h.height = height;
            h.shard = msb.shard;
        }
        let tip = Tip {
            height: 0,
            hash: [0; 32],
        };
        let root = ChainState::from_entries(msb.shard, &package.snapshot, tip)
            .ok()?
            .root();
        if let Some(last) = headers.last_mut() {
            last.state_root = root;
        }
        msb.state_root = root;
    }
    if mode & 4 != 0 {
        let headers = &package.epoch_headers;
        msb.header_count = headers.len() as u64;
        msb.headers_root = headers_root(headers);
        if let Some(last) = headers.last() {
            msb.height = last.height;
            msb.tip_hash = last.hash();
        }
    }
    let mut reached = None;
    if mode & 8 != 0 {
        let tip = Tip {
            height: msb.height,
            hash: msb.tip_hash,
        };
        let mut state = ChainState::from_entries(msb.shard, &package.snapshot, tip).ok()?;
        let mut blocks = Vec::with_capacity(package.blocks.len());
        for Block { header, txs } in std::mem::take(&mut package.blocks) {
            // A tip at u64::MAX has no next height: the producer cannot go on.
            state.tip().height.checked_add(1)?;
            if let Ok(block) = state.propose(txs, header.proposer, header.timestamp_ms) {
                blocks.push(block);
            }
        }
        package.blocks = blocks;
        reached = Some(state.root());
    }
    if mode & 16 != 0 {
        let keys = fixture.keys.get(&msb.epoch)?;
        let roster = fixture.trust.rosters.get(&msb.epoch)?;
        let mut rng = fixtures::rng(msb.epoch);
        let everyone = Mask::full(roster.len());
        package.msb = SignedMsb::sign(msb.clone(), roster, keys, &everyone, &mut rng).ok()?;
    }
    reached
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some(mut package) = decode_package(rest) else {
        return;
    };
    let mode = mode & ALL_REPAIRS;
    let reached = repair(&mut package, mode);
    let trust = &fixtures::msb().trust;
    let verdict = bootstrap(&package, trust);
    iosv_fuzz::trace(|| match &verdict {
        Ok(_) => format!("mode {mode:#04x}: joined"),
        Err(e) => {
            let e = e.to_string();
            format!("mode {mode:#04x}: {}", e.split(':').next().unwrap_or(&e))
        }
    });
    match verdict {
        Ok(mut state) => {
            let root = state.root();
            if package.blocks.is_empty() {
                assert_eq!(
                    root, package.msb.msb.state_root,
                    "no blocks: the MSB's state"
                );
            }
            if let Some(reached) = reached {
                assert_eq!(root, reached, "joiner and producer disagree on the state");
            }
        }
        Err(e) => {
            let _ = e.to_string();
            if mode == ALL_REPAIRS
                && let Some(reached) = reached
            {
                panic!(
                    "a fully repaired package (producer root {}) was refused: {e}",
                    hex::encode(reached)
                );
            }
        }
    }
});

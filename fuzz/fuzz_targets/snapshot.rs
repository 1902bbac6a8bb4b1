//! UTXO snapshots: `UtxoSet::restore_from_reader` on the bytes as given, and again after
//! resealing them (recomputing the SHA-512 checksum, as anyone can), so that the checks behind the
//! checksum are reached; when the resealed bytes fail only on the root, the computed root is
//! written in and the result must restore. Properties: no panic, no allocation beyond the bound;
//! every restored set snapshots back to exactly the input bytes (one encoding per set); the
//! restored root is the stored one whatever the shard count.

#![no_main]

use iosv_engine::utxo::{SnapshotError, UtxoSet};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha512};

const CHECKSUM_LEN: usize = 64;
const ROOT_LEN: usize = 32;

fn restore(bytes: &[u8], shards: usize) -> Result<UtxoSet, SnapshotError> {
    UtxoSet::restore_from_reader(bytes, bytes.len() as u64, shards)
}

fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - CHECKSUM_LEN;
    let digest = Sha512::digest(&bytes[..body]);
    bytes[body..].copy_from_slice(&digest);
}

/// A restored set must write back exactly the bytes it came from.
fn check_round_trip(set: &UtxoSet, bytes: &[u8]) {
    let path = iosv_fuzz::scratch_file("round-trip.snap");
    let root = set.snapshot_to(&path).expect("snapshot written");
    let written = std::fs::read(&path).expect("snapshot read back");
    let _ = std::fs::remove_file(&path);
    assert_eq!(written, bytes, "a snapshot has one encoding");
    let at = bytes.len() - CHECKSUM_LEN - ROOT_LEN;
    assert_eq!(&bytes[at..at + ROOT_LEN], &root[..]);
    let other = restore(bytes, 1).expect("restores with one shard too");
    assert_eq!(other.consistency_digest(), root);
}

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    // The shard count (a power of two, 1 to 64: the caller's choice, not the file's) comes from
    // the last byte; the rest is the snapshot.
    let Some((&shards, data)) = data.split_last() else {
        return;
    };
    let shards = 1usize << (shards % 7);
    match restore(data, shards) {
        Ok(set) => check_round_trip(&set, data),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if data.len() < CHECKSUM_LEN + ROOT_LEN {
        return;
    }
    let mut sealed = data.to_vec();
    reseal(&mut sealed);
    let verdict = restore(&sealed, shards);
    iosv_fuzz::trace(|| match &verdict {
        Ok(_) => "resealed: restored".to_string(),
        Err(e) => format!(
            "resealed: {}",
            e.to_string().split(':').next().unwrap_or("")
        ),
    });
    match verdict {
        Ok(set) => check_round_trip(&set, &sealed),
        Err(SnapshotError::ChecksumMismatch) => panic!("a resealed snapshot failed its checksum"),
        Err(SnapshotError::RootMismatch { computed, .. }) => {
            let at = sealed.len() - CHECKSUM_LEN - ROOT_LEN;
            sealed[at..at + ROOT_LEN].copy_from_slice(&computed);
            reseal(&mut sealed);
            let set = restore(&sealed, shards).expect("only the root was wrong");
            check_round_trip(&set, &sealed);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

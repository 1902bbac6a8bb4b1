//! Unit tests of the snapshot format: round trips, each kind of damage, crafted files.

use super::*;

/// A fresh directory under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "iosv-utxo-snapshot-{}-{n}-{name}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn op(n: u8, index: u32) -> OutPoint {
    OutPoint {
        txid: TxId([n; 32]),
        index,
    }
}

fn sample() -> UtxoSet {
    let set = UtxoSet::with_shards(4);
    for n in 0..10u8 {
        let output = TxOutput {
            amount: u64::from(n) * 1000 + 1,
            owner: [n; 32],
        };
        set.insert_genesis(op(n, u32::from(n)), output).unwrap();
    }
    set.lock(LockId([0xaa; 32]), &[op(3, 3), op(5, 5)]).unwrap();
    set
}

/// Recomputes the checksum of a (modified) snapshot so that only the deeper checks can refuse it.
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - 64;
    let digest = Sha512::digest(&bytes[..body]);
    bytes[body..].copy_from_slice(&digest);
}

fn restore_bytes(dir: &TempDir, bytes: &[u8]) -> Result<UtxoSet, SnapshotError> {
    let path = dir.file("edited.snap");
    fs::write(&path, bytes).unwrap();
    UtxoSet::restore_from(&path)
}

const ENTRIES: usize = HEADER_LEN as usize;

#[test]
fn round_trip_keeps_entries_root_and_locks() {
    let dir = TempDir::new("round-trip");
    let set = sample();
    let path = dir.file("utxo.snap");
    let root = set.snapshot_to(&path).unwrap();
    assert_eq!(root, set.consistency_digest());
    let len = fs::metadata(&path).unwrap().len();
    assert_eq!(
        len,
        HEADER_LEN + TRAILER_LEN + 10 * SNAPSHOT_ENTRY_LEN as u64
    );

    let restored = UtxoSet::restore_from_with_shards(&path, 64).unwrap();
    assert_eq!(restored.consistency_digest(), root);
    assert_eq!(restored.entries(), set.entries());
    assert_eq!(
        restored.locked_by(LockId([0xaa; 32])),
        Some(vec![op(3, 3), op(5, 5)])
    );
    restored.unlock(LockId([0xaa; 32])).unwrap();
    set.unlock(LockId([0xaa; 32])).unwrap();
    assert_eq!(restored.consistency_digest(), set.consistency_digest());
}

#[test]
fn empty_set_round_trips() {
    let dir = TempDir::new("empty");
    let path = dir.file("empty.snap");
    UtxoSet::new().snapshot_to(&path).unwrap();
    let restored = UtxoSet::restore_from(&path).unwrap();
    assert!(restored.is_empty());
    assert_eq!(
        restored.consistency_digest(),
        UtxoSet::new().consistency_digest()
    );
}

#[test]
fn rewriting_replaces_the_file_and_leaves_no_temporary() {
    let dir = TempDir::new("rewrite");
    let path = dir.file("utxo.snap");
    UtxoSet::new().snapshot_to(&path).unwrap();
    let set = sample();
    set.snapshot_to(&path).unwrap();
    assert_eq!(
        UtxoSet::restore_from(&path).unwrap().consistency_digest(),
        set.consistency_digest()
    );
    let names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["utxo.snap"]);
}

#[test]
fn each_kind_of_damage_has_its_error() {
    let dir = TempDir::new("damage");
    let path = dir.file("utxo.snap");
    sample().snapshot_to(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let flip = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 0x10;
        restore_bytes(&dir, &b)
    };
    assert!(matches!(flip(0), Err(SnapshotError::BadMagic { .. })));
    assert!(matches!(
        flip(8),
        Err(SnapshotError::UnsupportedVersion {
            found: 17,
            expected: 1
        })
    ));
    assert!(matches!(
        flip(12),
        Err(SnapshotError::LengthMismatch { .. })
    ));
    for at in [ENTRIES, ENTRIES + 40, good.len() - 80, good.len() - 1] {
        assert!(
            matches!(flip(at), Err(SnapshotError::ChecksumMismatch)),
            "byte {at}"
        );
    }
    assert!(matches!(
        restore_bytes(&dir, &good[..good.len() - 1]),
        Err(SnapshotError::LengthMismatch { .. })
    ));
    assert!(matches!(
        restore_bytes(&dir, &good[..50]),
        Err(SnapshotError::TooShort { len: 50, .. })
    ));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        restore_bytes(&dir, &longer),
        Err(SnapshotError::LengthMismatch { .. })
    ));
    let mut huge = good.clone();
    huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        restore_bytes(&dir, &huge),
        Err(SnapshotError::LengthMismatch {
            expected: None,
            count: u64::MAX,
            ..
        })
    ));
    let missing = UtxoSet::restore_from(dir.file("missing.snap"));
    assert!(matches!(missing, Err(SnapshotError::Io { op: "open", .. })));
    let message = missing.unwrap_err().to_string();
    assert!(message.contains("missing.snap"), "{message}");
}

#[test]
fn well_sealed_but_invalid_contents_are_refused() {
    let dir = TempDir::new("crafted");
    let path = dir.file("utxo.snap");
    sample().snapshot_to(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let entry = |i: usize| ENTRIES + i * SNAPSHOT_ENTRY_LEN;
    let crafted = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        reseal(&mut b);
        restore_bytes(&dir, &b)
    };

    let swapped = crafted(&|b| {
        let first: Vec<u8> = b[entry(0)..entry(1)].to_vec();
        let second: Vec<u8> = b[entry(1)..entry(2)].to_vec();
        b[entry(0)..entry(1)].copy_from_slice(&second);
        b[entry(1)..entry(2)].copy_from_slice(&first);
    });
    assert!(matches!(swapped, Err(SnapshotError::Unsorted { index: 1 })));
    let duplicate = crafted(&|b| {
        let first: Vec<u8> = b[entry(0)..entry(1)].to_vec();
        b[entry(1)..entry(2)].copy_from_slice(&first);
    });
    assert!(matches!(
        duplicate,
        Err(SnapshotError::Unsorted { index: 1 })
    ));
    let bad_tag = crafted(&|b| b[entry(2) + 76] = 2);
    assert!(matches!(
        bad_tag,
        Err(SnapshotError::BadLockTag { index: 2, tag: 2 })
    ));
    let stray_id = crafted(&|b| b[entry(2) + 100] = 1);
    assert!(matches!(
        stray_id,
        Err(SnapshotError::NonCanonicalLock { index: 2 })
    ));
    let zero = crafted(&|b| b[entry(0) + 36..entry(0) + 44].fill(0));
    assert!(matches!(zero, Err(SnapshotError::ZeroAmount { index: 0 })));
    let amount = crafted(&|b| b[entry(4) + 36] ^= 1);
    assert!(matches!(amount, Err(SnapshotError::RootMismatch { .. })));
    let root = crafted(&|b| {
        let at = b.len() - 96;
        b[at] ^= 1;
    });
    assert!(matches!(root, Err(SnapshotError::RootMismatch { .. })));
}

#[test]
fn reader_restores_like_the_file_and_checks_the_declared_length() {
    let dir = TempDir::new("reader");
    let path = dir.file("utxo.snap");
    let set = sample();
    set.snapshot_to(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let len = good.len() as u64;

    let restored = UtxoSet::restore_from_reader(good.as_slice(), len, 8).unwrap();
    assert_eq!(restored.consistency_digest(), set.consistency_digest());
    assert_eq!(restored.entries(), set.entries());

    // Fewer bytes than declared: a read error; more: a length mismatch.
    let short = UtxoSet::restore_from_reader(&good[..good.len() - 1], len, 8);
    assert!(matches!(short, Err(SnapshotError::Io { op: "read", .. })));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        UtxoSet::restore_from_reader(longer.as_slice(), len, 8),
        Err(SnapshotError::LengthMismatch { .. })
    ));
    // The declared length is checked against the count before anything is read past the header.
    assert!(matches!(
        UtxoSet::restore_from_reader(good.as_slice(), len + 1, 8),
        Err(SnapshotError::LengthMismatch { .. })
    ));
}

//! Snapshots: the whole set in one versioned binary file, written atomically and checked on
//! restore.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic     [8]  = SNAPSHOT_MAGIC
//! version   u32  = SNAPSHOT_VERSION
//! count     u64  number of entries
//! entries   count × { txid [32] | index u32 | amount u64 | owner [32] | lock_tag u8
//!                     | lock_id [32] }, strictly increasing by outpoint;
//!                     lock_tag 0 (then lock_id all zero) or 1
//! root      [32] the state root of the entries
//! checksum  [64] SHA-512 of every byte above
//! ```
//!
//! Every entry has the same length ([`SNAPSHOT_ENTRY_LEN`]), so the file length follows from the
//! count: restore checks it with checked arithmetic before reading or allocating anything, and
//! never allocates more than the file's own size justifies. The whole file is then read once,
//! hashed as it streams; if the checksum fails, that is the error reported, whatever else looks
//! wrong (damage is far likelier than a well-formed lie). A file whose checksum holds is still
//! checked entry by entry, and the root is recomputed from the entries and must equal the stored
//! one.
//!
//! The checksum detects damage, not forgery: anyone can recompute it. To trust a snapshot from
//! elsewhere, compare the restored set's root with one obtained from a trusted source — and see the
//! `commitment` module on why today's root is not yet strong enough against chosen entries.
//!
//! Restore reads a file ([`UtxoSet::restore_from`]) or any reader whose length is known
//! ([`UtxoSet::restore_from_reader`], e.g. bytes received over the network); both run the same
//! checks.
//!
//! Writing goes to a temporary file in the same directory, synced, then renamed over the target,
//! so a crash leaves either the old file or the complete new one.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha512};

use super::LockId;
use super::error::SnapshotError;
use super::set::{DEFAULT_SHARDS, Entry, UtxoSet};
use crate::tx::{OutPoint, TxId, TxOutput};

/// First bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"IOSVUTXO";

/// The only snapshot version this code reads or writes.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Bytes of one entry: txid, index, amount, owner, lock tag, lock id.
pub const SNAPSHOT_ENTRY_LEN: usize = 32 + 4 + 8 + 32 + 1 + 32;

/// Bytes before the entries: magic, version, count.
const HEADER_LEN: u64 = 8 + 4 + 8;

/// Bytes after the entries: root, checksum.
const TRAILER_LEN: u64 = 32 + 64;

/// Distinguishes temporary files of concurrent snapshots within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_error<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// One entry in the snapshot file's layout: txid, index, amount, owner, lock tag, lock id.
pub fn encode_entry(outpoint: &OutPoint, entry: &Entry) -> [u8; SNAPSHOT_ENTRY_LEN] {
    let mut out = [0u8; SNAPSHOT_ENTRY_LEN];
    out[..32].copy_from_slice(&outpoint.txid.0);
    out[32..36].copy_from_slice(&outpoint.index.to_le_bytes());
    out[36..44].copy_from_slice(&entry.output.amount.to_le_bytes());
    out[44..76].copy_from_slice(&entry.output.owner);
    if let Some(lock_id) = entry.locked_by {
        out[76] = 1;
        out[77..].copy_from_slice(&lock_id.0);
    }
    out
}

/// Decodes one entry; `index` only labels errors.
fn decode_entry(
    bytes: &[u8; SNAPSHOT_ENTRY_LEN],
    index: u64,
) -> Result<(OutPoint, Entry), SnapshotError> {
    let array = |range: std::ops::Range<usize>| -> [u8; 32] {
        let mut a = [0u8; 32];
        a.copy_from_slice(&bytes[range]);
        a
    };
    let mut index_bytes = [0u8; 4];
    index_bytes.copy_from_slice(&bytes[32..36]);
    let mut amount_bytes = [0u8; 8];
    amount_bytes.copy_from_slice(&bytes[36..44]);
    let outpoint = OutPoint {
        txid: TxId(array(0..32)),
        index: u32::from_le_bytes(index_bytes),
    };
    let amount = u64::from_le_bytes(amount_bytes);
    if amount == 0 {
        return Err(SnapshotError::ZeroAmount { index });
    }
    let lock_id = array(77..SNAPSHOT_ENTRY_LEN);
    let locked_by = match bytes[76] {
        0 if lock_id == [0; 32] => None,
        0 => return Err(SnapshotError::NonCanonicalLock { index }),
        1 => Some(LockId(lock_id)),
        tag => return Err(SnapshotError::BadLockTag { index, tag }),
    };
    let output = TxOutput {
        amount,
        owner: array(44..76),
    };
    Ok((outpoint, Entry { output, locked_by }))
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned());
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{unique}", std::process::id()))
}

fn write_file(
    path: &Path,
    entries: &[(OutPoint, Entry)],
    root: &[u8; 32],
) -> Result<(), SnapshotError> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error("create", path))?;
    let mut out = BufWriter::new(file);
    let mut hasher = Sha512::new();
    let mut put = |bytes: &[u8]| -> Result<(), SnapshotError> {
        hasher.update(bytes);
        out.write_all(bytes).map_err(io_error("write", path))
    };
    put(&SNAPSHOT_MAGIC)?;
    put(&SNAPSHOT_VERSION.to_le_bytes())?;
    put(&(entries.len() as u64).to_le_bytes())?;
    for (outpoint, entry) in entries {
        put(&encode_entry(outpoint, entry))?;
    }
    put(root)?;
    let checksum = hasher.finalize();
    out.write_all(&checksum).map_err(io_error("write", path))?;
    let file = out
        .into_inner()
        .map_err(|e| io_error("write", path)(e.into_error()))?;
    file.sync_all().map_err(io_error("sync", path))
}

impl UtxoSet {
    /// Writes a snapshot of the set to `path` atomically (temporary file, sync, rename) and returns
    /// the root it records. Mutations wait only while the entries are copied, not during the write.
    pub fn snapshot_to(&self, path: impl AsRef<Path>) -> Result<[u8; 32], SnapshotError> {
        let path = path.as_ref();
        let (entries, root) = {
            let _gate = self.read_gate();
            (self.entries_locked(), self.digest_locked())
        };
        let temp = temp_path_for(path);
        let written = write_file(&temp, &entries, &root)
            .and_then(|()| fs::rename(&temp, path).map_err(io_error("rename", path)));
        if let Err(e) = written {
            // Best effort: the temporary file is garbage either way.
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        #[cfg(unix)]
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_error("sync directory of", path))?;
        }
        Ok(root)
    }

    /// Restores a set from a snapshot with [`DEFAULT_SHARDS`] shards (see the module
    /// documentation for every check). Locks recorded in the file are held again.
    pub fn restore_from(path: impl AsRef<Path>) -> Result<UtxoSet, SnapshotError> {
        UtxoSet::restore_from_with_shards(path, DEFAULT_SHARDS)
    }

    /// [`UtxoSet::restore_from`] into a set with `shards` shards (see [`UtxoSet::with_shards`]).
    pub fn restore_from_with_shards(
        path: impl AsRef<Path>,
        shards: usize,
    ) -> Result<UtxoSet, SnapshotError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(io_error("open", path))?;
        let len = file.metadata().map_err(io_error("stat", path))?.len();
        restore_stream(BufReader::new(file), len, shards, path)
    }

    /// Restores a set with `shards` shards from a snapshot read from `input`, which must hold
    /// exactly `len` bytes (a file's length, a buffer's). The same checks as
    /// [`UtxoSet::restore_from`], in the same order: `len` bounds what is allocated (so it must
    /// be a length the caller trusts, such as the size of a buffer it holds or a limit it
    /// enforces, never a length the sender announced), and `input`
    /// yielding fewer bytes is an [`SnapshotError::Io`] (`read`), more a
    /// [`SnapshotError::LengthMismatch`]. I/O errors name the path `<reader>`. Pass a buffered
    /// reader: the entries are read 109 bytes at a time.
    pub fn restore_from_reader(
        input: impl Read,
        len: u64,
        shards: usize,
    ) -> Result<UtxoSet, SnapshotError> {
        restore_stream(input, len, shards, Path::new("<reader>"))
    }
}

/// Restores from `input` of `len` bytes; `path` only labels I/O errors.
fn restore_stream(
    mut input: impl Read,
    len: u64,
    shards: usize,
    path: &Path,
) -> Result<UtxoSet, SnapshotError> {
    let min = HEADER_LEN + TRAILER_LEN;
    if len < min {
        return Err(SnapshotError::TooShort { len, min });
    }
    let mut hasher = Sha512::new();
    let mut read = |buf: &mut [u8]| -> Result<(), SnapshotError> {
        input.read_exact(buf).map_err(io_error("read", path))?;
        hasher.update(&*buf);
        Ok(())
    };

    let mut header = [0u8; HEADER_LEN as usize];
    read(&mut header)?;
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&header[..8]);
    if magic != SNAPSHOT_MAGIC {
        return Err(SnapshotError::BadMagic { found: magic });
    }
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[8..12]);
    let version = u32::from_le_bytes(word);
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            found: version,
            expected: SNAPSHOT_VERSION,
        });
    }
    let mut count_bytes = [0u8; 8];
    count_bytes.copy_from_slice(&header[12..20]);
    let count = u64::from_le_bytes(count_bytes);
    let expected = count
        .checked_mul(SNAPSHOT_ENTRY_LEN as u64)
        .and_then(|n| n.checked_add(HEADER_LEN + TRAILER_LEN));
    let length_mismatch = SnapshotError::LengthMismatch {
        count,
        expected,
        actual: len,
    };
    if expected != Some(len) {
        return Err(length_mismatch);
    }
    // `count` is now bounded by the file's length, so it is safe to size memory by.
    let Ok(capacity) = usize::try_from(count) else {
        return Err(length_mismatch);
    };

    let mut set = UtxoSet::with_shards(shards);
    set.reserve_unshared(capacity);
    let mut first_error = None;
    let mut previous: Option<OutPoint> = None;
    let mut entry_bytes = [0u8; SNAPSHOT_ENTRY_LEN];
    for index in 0..count {
        read(&mut entry_bytes)?;
        if first_error.is_some() {
            continue;
        }
        match decode_entry(&entry_bytes, index) {
            Ok((outpoint, _)) if previous.is_some_and(|p| p >= outpoint) => {
                first_error = Some(SnapshotError::Unsorted { index });
            }
            Ok((outpoint, entry)) => {
                previous = Some(outpoint);
                if let Some(lock_id) = entry.locked_by {
                    let table = set.lock_table_mut();
                    table.locks.entry(lock_id).or_default().push(outpoint);
                }
                set.insert_unshared(outpoint, entry);
            }
            Err(e) => first_error = Some(e),
        }
    }
    let mut stored_root = [0u8; 32];
    read(&mut stored_root)?;
    let mut checksum = [0u8; 64];
    input
        .read_exact(&mut checksum)
        .map_err(io_error("read", path))?;
    if hasher.finalize()[..] != checksum[..] {
        return Err(SnapshotError::ChecksumMismatch);
    }
    // The input may be longer than `len` (a file may have grown since its length was checked).
    match input.read(&mut [0u8; 1]) {
        Ok(0) => {}
        Ok(_) => return Err(length_mismatch),
        Err(e) => return Err(io_error("read", path)(e)),
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let computed = set.consistency_digest();
    if computed != stored_root {
        return Err(SnapshotError::RootMismatch {
            stored: stored_root,
            computed,
        });
    }
    Ok(set)
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;

//! A finality member's durable store: one redb database per node process.
//!
//! redb is an embedded, pure-Rust, copy-on-write B-tree store with ACID transactions: a commit
//! is durable when it returns (fsync), and a process killed at any moment reopens at its last
//! commit. Pure Rust matters here: RocksDB would add a C++ build of several minutes on the
//! 2-core development machine and a system toolchain a user may not have.
//!
//! What is kept (tables `meta` and `finalized`):
//! - `incarnation`: how many times the node started; bumped and committed *before* a start
//!   draws a nonce, so two starts never share a nonce stream;
//! - `durable`: [`Durable`], the finality state a restart must keep (what the node prepared,
//!   signed and asked for at its height), JSON;
//! - `finalized[h]`: the finality of height `h`, JSON, appended in height order.
//!
//! Write-ahead rule, kept by the caller (`crate::runtime::Drive`'s checkpoint): after each input
//! the node's state is saved here *before* any of that input's messages leaves, so a node can
//! never have sent a signature that its restarted self does not remember.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use crate::finality::{Durable, Finality};

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const FINALIZED: TableDefinition<u64, &[u8]> = TableDefinition::new("finalized");

/// What a store held when opened.
#[derive(Debug, Default)]
pub struct Recovered {
    /// This start's incarnation (0 for a fresh store), already committed.
    pub incarnation: u64,
    pub durable: Durable,
    pub finalized: Vec<Finality>,
}

/// An open store, remembering what it last wrote so that saving an unchanged state costs nothing.
pub struct FinalityStore {
    db: Database,
    /// Commits wait for the disk (fsync). Off only to measure what that costs: a store that
    /// does not sync loses its last commits to a crash, and the node may then sign twice.
    sync: bool,
    written_durable: Vec<u8>,
    written_heights: usize,
}

/// A store error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("store: {what}: {detail}")]
pub struct StoreError {
    what: &'static str,
    detail: String,
}

impl StoreError {
    pub(super) fn new(what: &'static str, detail: String) -> StoreError {
        StoreError { what, detail }
    }
}

pub(super) fn err<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError {
        what,
        detail: e.to_string(),
    }
}

impl FinalityStore {
    /// Opens (or creates) the store at `path`, starts a new incarnation and returns what it held.
    /// A store whose records do not decode, or whose finalized heights have a gap, is refused.
    pub fn open(path: &Path) -> Result<(FinalityStore, Recovered), StoreError> {
        FinalityStore::open_with(path, true)
    }

    /// [`FinalityStore::open`], with commits that wait for the disk or (`sync` false, for
    /// measurement only) that do not.
    pub fn open_with(path: &Path, sync: bool) -> Result<(FinalityStore, Recovered), StoreError> {
        let db = Database::create(path).map_err(err("open"))?;
        let txn = db.begin_write().map_err(err("begin"))?;
        let recovered = {
            let mut meta = txn.open_table(META).map_err(err("meta table"))?;
            let finalized_table = txn.open_table(FINALIZED).map_err(err("finalized table"))?;
            let incarnation = next_incarnation(&mut meta)?;
            let durable = match meta.get("durable").map_err(err("read durable state"))? {
                Some(v) => {
                    serde_json::from_slice(v.value()).map_err(err("decode durable state"))?
                }
                None => Durable::default(),
            };
            let mut finalized = Vec::new();
            for entry in finalized_table.iter().map_err(err("read finalized"))? {
                let (height, value) = entry.map_err(err("read finalized"))?;
                if height.value() != finalized.len() as u64 {
                    return Err(StoreError {
                        what: "finalized log",
                        detail: format!(
                            "height {} found where {} was expected",
                            height.value(),
                            finalized.len()
                        ),
                    });
                }
                let f: Finality =
                    serde_json::from_slice(value.value()).map_err(err("decode finality"))?;
                finalized.push(f);
            }
            Recovered {
                incarnation,
                durable,
                finalized,
            }
        };
        txn.commit().map_err(err("commit incarnation"))?;
        let store = FinalityStore {
            db,
            sync,
            written_durable: serde_json::to_vec(&recovered.durable).map_err(err("encode"))?,
            written_heights: recovered.finalized.len(),
        };
        Ok((store, recovered))
    }

    /// Saves `durable` and the finalities of `finalized` not yet written, in one durable commit;
    /// nothing when neither changed. Whether it committed.
    pub fn save(&mut self, durable: &Durable, finalized: &[Finality]) -> Result<bool, StoreError> {
        let encoded = serde_json::to_vec(durable).map_err(err("encode durable state"))?;
        if encoded == self.written_durable && finalized.len() == self.written_heights {
            return Ok(false);
        }
        if finalized.len() < self.written_heights {
            return Err(StoreError {
                what: "finalized log",
                detail: format!(
                    "{} heights to save, {} already written",
                    finalized.len(),
                    self.written_heights
                ),
            });
        }
        let mut txn = self.db.begin_write().map_err(err("begin"))?;
        if !self.sync {
            txn.set_durability(redb::Durability::None)
                .map_err(err("durability"))?;
        }
        {
            let mut meta = txn.open_table(META).map_err(err("meta table"))?;
            meta.insert("durable", encoded.as_slice())
                .map_err(err("write durable state"))?;
            let mut table = txn.open_table(FINALIZED).map_err(err("finalized table"))?;
            for (height, f) in finalized.iter().enumerate().skip(self.written_heights) {
                let bytes = serde_json::to_vec(f).map_err(err("encode finality"))?;
                table
                    .insert(height as u64, bytes.as_slice())
                    .map_err(err("write finality"))?;
            }
        }
        txn.commit().map_err(err("commit"))?;
        self.written_durable = encoded;
        self.written_heights = finalized.len();
        Ok(true)
    }
}

/// Reads the incarnation in `meta`, writes the next one (0 for a fresh store) and returns it; the
/// caller's commit makes it durable before the start draws anything.
pub(super) fn next_incarnation(meta: &mut redb::Table<&str, &[u8]>) -> Result<u64, StoreError> {
    let incarnation = match meta.get("incarnation").map_err(err("read incarnation"))? {
        Some(v) => {
            let bytes: [u8; 8] = v
                .value()
                .try_into()
                .map_err(err("incarnation is not 8 bytes"))?;
            u64::from_le_bytes(bytes) + 1
        }
        None => 0,
    };
    meta.insert("incarnation", incarnation.to_le_bytes().as_slice())
        .map_err(err("write incarnation"))?;
    Ok(incarnation)
}

/// Opens a stopped node's store to read it: a store whose process was killed needs redb's repair
/// before it can be read (its last commit is intact; the repair only rebuilds allocator state),
/// which a read-only open cannot do.
pub(super) fn open_stopped(path: &Path) -> Result<Database, StoreError> {
    if !path.exists() {
        return Err(StoreError::new(
            "open",
            format!("{} does not exist", path.display()),
        ));
    }
    Database::open(path).map_err(err("open"))
}

/// The finalized log of the store at `path` (for checks across nodes after a run; the node must
/// not be running).
pub fn read_finalized(path: &Path) -> Result<Vec<Finality>, StoreError> {
    use redb::ReadableDatabase;
    let db = open_stopped(path)?;
    let txn = db.begin_read().map_err(err("begin"))?;
    let table = match txn.open_table(FINALIZED) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(err("finalized table")(e)),
    };
    let mut finalized = Vec::new();
    for entry in table.iter().map_err(err("read finalized"))? {
        let (_, value) = entry.map_err(err("read finalized"))?;
        finalized.push(serde_json::from_slice(value.value()).map_err(err("decode finality"))?);
    }
    Ok(finalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finality::{Certificate, Proposal};

    fn finality(height: u64) -> Finality {
        Finality {
            height,
            view: 1,
            proposal: Proposal {
                height,
                headers: vec![[height as u8; 32]],
            },
            certificate: Certificate::Pbft {
                commits: Vec::new(),
            },
        }
    }

    #[test]
    fn a_reopened_store_has_what_was_committed_and_a_new_incarnation() {
        let dir = std::env::temp_dir().join(format!("iosv-store-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        {
            let (mut store, fresh) = FinalityStore::open(&dir).unwrap();
            assert_eq!(fresh.incarnation, 0);
            assert!(fresh.finalized.is_empty());
            let mut durable = Durable {
                height: 2,
                view: 3,
                next_round: 9,
                ..Durable::default()
            };
            durable.prepared_for.insert(3, [7; 32]);
            assert!(store.save(&durable, &[finality(0), finality(1)]).unwrap());
            // Saving the same again writes nothing and fails nothing.
            assert!(!store.save(&durable, &[finality(0), finality(1)]).unwrap());
            // A log that shrank is a caller's bug, refused.
            assert!(store.save(&durable, &[finality(0)]).is_err());
        }
        let (_, again) = FinalityStore::open(&dir).unwrap();
        assert_eq!(again.incarnation, 1);
        assert_eq!(again.durable.height, 2);
        assert_eq!(again.durable.prepared_for.get(&3), Some(&[7; 32]));
        assert_eq!(again.finalized, vec![finality(0), finality(1)]);
        drop(again);
        assert_eq!(read_finalized(&dir).unwrap().len(), 2);
        let (_, third) = FinalityStore::open(&dir).unwrap();
        assert_eq!(third.incarnation, 2);
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_with_an_error() {
        let path = std::env::temp_dir().join(format!("iosv-not-a-store-{}", std::process::id()));
        std::fs::write(&path, b"definitely not a redb file, just some text").unwrap();
        assert!(FinalityStore::open(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}

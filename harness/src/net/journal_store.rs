//! A ledger node's durable store (a shard's journal, a gateway's load clock): one redb database
//! per process, as [`super::store`] is for finality members.
//!
//! What is kept (tables `meta` and `journal`):
//! - `incarnation`: bumped and committed when the store opens, before the start draws a nonce;
//! - `origin_unix_ms`: when a gateway's load began, written once, so that a restarted gateway
//!   resumes its schedule where the load's clock is instead of starting the load again;
//! - `journal[i]`: a shard's [`JournalEntry`] `i`, JSON, appended in order; a shard is its
//!   genesis with the journal replayed ([`crate::atomix::journal`]).
//!
//! Write-ahead rule, as for finality: the driver appends an input's journal entries here before
//! any of that input's messages leaves, so no proof or acknowledgement a shard sent is forgotten
//! by its restarted self.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use super::store::{META, StoreError, err, next_incarnation};
use crate::atomix::JournalEntry;

const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");

/// What a journal store held when opened.
#[derive(Debug, Default)]
pub struct JournalRecovered {
    /// This start's incarnation (0 for a fresh store), already committed.
    pub incarnation: u64,
    pub entries: Vec<JournalEntry>,
    pub origin_unix_ms: Option<u64>,
}

/// An open journal store.
pub struct JournalStore {
    db: Database,
    sync: bool,
    next: u64,
}

fn read_entries(
    table: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<Vec<JournalEntry>, StoreError> {
    let mut entries = Vec::new();
    for row in table.iter().map_err(err("read journal"))? {
        let (index, value) = row.map_err(err("read journal"))?;
        if index.value() != entries.len() as u64 {
            return Err(StoreError::new(
                "journal",
                format!(
                    "entry {} found where {} was expected",
                    index.value(),
                    entries.len()
                ),
            ));
        }
        entries.push(serde_json::from_slice(value.value()).map_err(err("decode journal entry"))?);
    }
    Ok(entries)
}

impl JournalStore {
    /// Opens (or creates) the store at `path`, starts a new incarnation and returns what it held;
    /// commits wait for the disk unless `sync` is false (for measuring what that costs only).
    pub fn open_with(
        path: &Path,
        sync: bool,
    ) -> Result<(JournalStore, JournalRecovered), StoreError> {
        let db = Database::create(path).map_err(err("open"))?;
        let txn = db.begin_write().map_err(err("begin"))?;
        let recovered = {
            let mut meta = txn.open_table(META).map_err(err("meta table"))?;
            let journal = txn.open_table(JOURNAL).map_err(err("journal table"))?;
            let incarnation = next_incarnation(&mut meta)?;
            let origin_unix_ms = match meta.get("origin_unix_ms").map_err(err("read origin"))? {
                Some(v) => Some(u64::from_le_bytes(
                    v.value().try_into().map_err(err("origin is not 8 bytes"))?,
                )),
                None => None,
            };
            JournalRecovered {
                incarnation,
                entries: read_entries(&journal)?,
                origin_unix_ms,
            }
        };
        txn.commit().map_err(err("commit incarnation"))?;
        let next = recovered.entries.len() as u64;
        Ok((JournalStore { db, sync, next }, recovered))
    }

    fn begin(&self) -> Result<redb::WriteTransaction, StoreError> {
        let mut txn = self.db.begin_write().map_err(err("begin"))?;
        if !self.sync {
            txn.set_durability(redb::Durability::None)
                .map_err(err("durability"))?;
        }
        Ok(txn)
    }

    /// Appends `entries` in one durable commit; nothing when there are none. Whether it
    /// committed.
    pub fn append(&mut self, entries: &[JournalEntry]) -> Result<bool, StoreError> {
        if entries.is_empty() {
            return Ok(false);
        }
        let txn = self.begin()?;
        {
            let mut table = txn.open_table(JOURNAL).map_err(err("journal table"))?;
            for (i, entry) in entries.iter().enumerate() {
                let bytes = serde_json::to_vec(entry).map_err(err("encode journal entry"))?;
                table
                    .insert(self.next + i as u64, bytes.as_slice())
                    .map_err(err("write journal entry"))?;
            }
        }
        txn.commit().map_err(err("commit"))?;
        self.next += entries.len() as u64;
        Ok(true)
    }

    /// Records when the load began (a gateway's first start).
    pub fn set_origin(&mut self, unix_ms: u64) -> Result<(), StoreError> {
        let txn = self.begin()?;
        {
            let mut meta = txn.open_table(META).map_err(err("meta table"))?;
            meta.insert("origin_unix_ms", unix_ms.to_le_bytes().as_slice())
                .map_err(err("write origin"))?;
        }
        txn.commit().map_err(err("commit"))
    }
}

/// The journal of the store at `path` (for checks after a run; the node must not be running).
pub fn read_journal(path: &Path) -> Result<Vec<JournalEntry>, StoreError> {
    use redb::ReadableDatabase;
    let db = super::store::open_stopped(path)?;
    let txn = db.begin_read().map_err(err("begin"))?;
    match txn.open_table(JOURNAL) {
        Ok(table) => read_entries(&table),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
        Err(e) => Err(err("journal table")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomix::Decision;
    use iosv_engine::tx::{OutPoint, Transaction, TxId, TxInput, TxOutput};

    fn decided(tag: u8) -> JournalEntry {
        JournalEntry::Decided {
            tx: Transaction {
                inputs: vec![TxInput {
                    prev: OutPoint {
                        txid: TxId([tag; 32]),
                        index: 0,
                    },
                    owner: [tag; 32],
                    signature: [tag; 64],
                }],
                outputs: vec![TxOutput {
                    amount: 5,
                    owner: [1; 32],
                }],
            },
            decision: Decision::Accept { value: 5 },
        }
    }

    #[test]
    fn a_reopened_journal_has_its_entries_in_order_a_new_incarnation_and_its_origin() {
        let path = std::env::temp_dir().join(format!("iosv-journal-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let (mut store, fresh) = JournalStore::open_with(&path, true).unwrap();
            assert_eq!(fresh.incarnation, 0);
            assert!(fresh.entries.is_empty() && fresh.origin_unix_ms.is_none());
            assert!(!store.append(&[]).unwrap());
            assert!(store.append(&[decided(1), decided(2)]).unwrap());
            assert!(store.append(&[decided(3)]).unwrap());
            store.set_origin(1_700_000_000_123).unwrap();
        }
        let (mut store, again) = JournalStore::open_with(&path, true).unwrap();
        assert_eq!(again.incarnation, 1);
        assert_eq!(again.entries, vec![decided(1), decided(2), decided(3)]);
        assert_eq!(again.origin_unix_ms, Some(1_700_000_000_123));
        // Appending after a reopen continues the numbering.
        store.append(&[decided(4)]).unwrap();
        drop(store);
        assert_eq!(read_journal(&path).unwrap().len(), 4);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn an_entry_whose_transaction_does_not_decode_is_refused() {
        let mut json = serde_json::to_value(decided(1)).unwrap();
        assert!(serde_json::from_value::<JournalEntry>(json.clone()).is_ok());
        json["tx"] = serde_json::json!("00ff");
        assert!(serde_json::from_value::<JournalEntry>(json).is_err());
    }
}

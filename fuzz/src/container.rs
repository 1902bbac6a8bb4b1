//! A bootstrap package as bytes, for the bootstrap target and its seeds.
//!
//! The harness hands [`BootstrapPackage`]s over in memory (no wire format yet), so the target
//! needs some encoding to fuzz one through. This one reuses the engine's real decoders for the
//! parts that have one — the signed MSB as JSON (its serde form), headers with
//! [`BlockHeader::decode`], transactions with [`Transaction::decode_framed`] — and the snapshot
//! entry layout for the state:
//!
//! ```text
//! u32 msb_len      | msb_len bytes: the SignedMsb as JSON
//! u32 header_count | header_count × HEADER_ENCODED_LEN: the epoch's headers
//! u32 entry_count  | entry_count × SNAPSHOT_ENTRY_LEN: the state at the MSB
//! u32 block_count  | block_count × { header | u32 tx_count | tx_count × { u32 len | tx bytes } }
//! ```
//!
//! All integers little-endian; every count is checked against the bytes left before anything is
//! allocated; trailing bytes are refused.

use iosv_engine::tx::{
    Block, BlockHeader, HEADER_ENCODED_LEN, OutPoint, Transaction, TxId, TxOutput,
};
use iosv_engine::utxo::{Entry, LockId, SNAPSHOT_ENTRY_LEN, encode_snapshot_entry};
use iosv_harness::msb::{BootstrapPackage, SignedMsb};

/// Encodes a package (the inverse of [`decode_package`] for packages whose parts encode).
pub fn encode_package(package: &BootstrapPackage) -> Vec<u8> {
    let mut out = Vec::new();
    let msb = serde_json::to_vec(&package.msb).expect("an MSB serializes");
    put_len(&mut out, msb.len());
    out.extend_from_slice(&msb);
    put_len(&mut out, package.epoch_headers.len());
    for header in &package.epoch_headers {
        header.encode_into(&mut out);
    }
    put_len(&mut out, package.snapshot.len());
    for (outpoint, entry) in &package.snapshot {
        out.extend_from_slice(&encode_snapshot_entry(outpoint, entry));
    }
    put_len(&mut out, package.blocks.len());
    for block in &package.blocks {
        block.header.encode_into(&mut out);
        put_len(&mut out, block.txs.len());
        for tx in &block.txs {
            let bytes = tx.encode();
            put_len(&mut out, bytes.len());
            out.extend_from_slice(&bytes);
        }
    }
    out
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).expect("fits in u32").to_le_bytes());
}

/// Decodes one entry leniently (any amount, any tag: non-zero means locked): the package's
/// consumer, not this container, must refuse what is wrong.
fn decode_entry(bytes: &[u8]) -> (OutPoint, Entry) {
    let arr = |at: usize| -> [u8; 32] { bytes[at..at + 32].try_into().expect("32 bytes") };
    let outpoint = OutPoint {
        txid: TxId(arr(0)),
        index: u32::from_le_bytes(bytes[32..36].try_into().expect("4 bytes")),
    };
    let output = TxOutput {
        amount: u64::from_le_bytes(bytes[36..44].try_into().expect("8 bytes")),
        owner: arr(44),
    };
    let locked_by = (bytes[76] != 0).then(|| LockId(arr(77)));
    (outpoint, Entry { output, locked_by })
}

/// A cursor over the container's bytes.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn len(&mut self) -> Option<usize> {
        let bytes = self.take(4)?;
        usize::try_from(u32::from_le_bytes(bytes.try_into().ok()?)).ok()
    }

    /// A count of items of at least `min_size` bytes each, refused if the bytes left cannot hold
    /// them (so a count never sizes an allocation beyond the input's length).
    fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = self.len()?;
        (n.checked_mul(min_size)? <= self.0.len()).then_some(n)
    }
}

/// Decodes a package; `None` for bytes that do not frame one (the target then has nothing to
/// check). Headers and transactions that do not decode also give `None`.
pub fn decode_package(bytes: &[u8]) -> Option<BootstrapPackage> {
    let mut c = Cursor(bytes);
    let msb_len = c.len()?;
    let msb: SignedMsb = serde_json::from_slice(c.take(msb_len)?).ok()?;
    let header_count = c.count(HEADER_ENCODED_LEN)?;
    let mut epoch_headers = Vec::with_capacity(header_count);
    for _ in 0..header_count {
        epoch_headers.push(BlockHeader::decode(c.take(HEADER_ENCODED_LEN)?).ok()?);
    }
    let entry_count = c.count(SNAPSHOT_ENTRY_LEN)?;
    let mut snapshot = Vec::with_capacity(entry_count);
    for _ in 0..entry_count {
        snapshot.push(decode_entry(c.take(SNAPSHOT_ENTRY_LEN)?));
    }
    let block_count = c.count(HEADER_ENCODED_LEN + 4)?;
    let mut blocks = Vec::with_capacity(block_count);
    for _ in 0..block_count {
        let header = BlockHeader::decode(c.take(HEADER_ENCODED_LEN)?).ok()?;
        let tx_count = c.count(4)?;
        let mut txs = Vec::with_capacity(tx_count);
        for _ in 0..tx_count {
            let len = c.len()?;
            txs.push(Transaction::decode_framed(c.take(len)?).ok()?);
        }
        blocks.push(Block { header, txs });
    }
    c.0.is_empty().then_some(BootstrapPackage {
        msb,
        epoch_headers,
        snapshot,
        blocks,
    })
}

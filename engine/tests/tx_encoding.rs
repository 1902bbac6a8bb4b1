//! Property tests of the transaction encoding, identifiers and signing messages.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use iosv_engine::tx::{
    MAX_ENCODED_LEN, MAX_OUTPUTS, OutPoint, Transaction, TxDecodeError, TxId, TxInput, TxOutput,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// Txids drawn partly from a tiny pool, so distinct outpoints often share a txid.
fn txid() -> impl Strategy<Value = TxId> {
    prop_oneof![any::<[u8; 32]>(), (0u8..3).prop_map(|b| [b; 32])].prop_map(TxId)
}

fn outpoint() -> impl Strategy<Value = OutPoint> {
    (txid(), prop_oneof![0u32..4, any::<u32>()]).prop_map(|(txid, index)| OutPoint { txid, index })
}

fn input_for(prev: OutPoint) -> impl Strategy<Value = TxInput> {
    (any::<[u8; 32]>(), any::<[u8; 64]>()).prop_map(move |(owner, signature)| TxInput {
        prev,
        owner,
        signature,
    })
}

fn distinct_inputs(max: usize) -> impl Strategy<Value = Vec<TxInput>> {
    prop::collection::btree_set(outpoint(), 1..=max).prop_flat_map(|prevs| {
        prevs
            .into_iter()
            .map(input_for)
            .collect::<Vec<_>>()
            .prop_shuffle()
    })
}

fn output(amount: impl Strategy<Value = u64>) -> impl Strategy<Value = TxOutput> {
    (amount, any::<[u8; 32]>()).prop_map(|(amount, owner)| TxOutput { amount, owner })
}

/// Non-empty outputs whose amounts are non-zero and cannot overflow when summed.
fn valid_outputs(max: usize) -> impl Strategy<Value = Vec<TxOutput>> {
    prop_oneof![
        prop::collection::vec(output(1..=u64::MAX / MAX_OUTPUTS as u64), 1..=max),
        output(1..=u64::MAX).prop_map(|o| vec![o]),
    ]
}

fn valid_tx(max_inputs: usize, max_outputs: usize) -> impl Strategy<Value = Transaction> {
    (distinct_inputs(max_inputs), valid_outputs(max_outputs))
        .prop_map(|(inputs, outputs)| Transaction { inputs, outputs })
}

/// Transactions that often break a structural rule: no inputs or outputs, repeated outpoints, zero
/// or overflowing amounts.
fn any_tx() -> impl Strategy<Value = Transaction> {
    let small_prev = (0u8..2, 0u32..2).prop_map(|(b, index)| OutPoint {
        txid: TxId([b; 32]),
        index,
    });
    let input = small_prev.prop_flat_map(input_for);
    let amount = prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()];
    (
        prop::collection::vec(input, 0..=4),
        prop::collection::vec(output(amount), 0..=4),
    )
        .prop_map(|(inputs, outputs)| Transaction { inputs, outputs })
}

/// A field of a transaction other than a signature, changed by flipping one bit.
#[derive(Clone, Debug)]
enum Edit {
    PrevTxid { input: Index, bit: usize },
    PrevIndex { input: Index, bit: usize },
    Owner { input: Index, bit: usize },
    Amount { output: Index, bit: usize },
    OutputOwner { output: Index, bit: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<Index>;
    prop_oneof![
        (i(), 0..256usize).prop_map(|(n, bit)| Edit::PrevTxid { input: n, bit }),
        (i(), 0..32usize).prop_map(|(n, bit)| Edit::PrevIndex { input: n, bit }),
        (i(), 0..256usize).prop_map(|(n, bit)| Edit::Owner { input: n, bit }),
        (i(), 0..64usize).prop_map(|(n, bit)| Edit::Amount { output: n, bit }),
        (i(), 0..256usize).prop_map(|(n, bit)| Edit::OutputOwner { output: n, bit }),
    ]
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fn apply(tx: &mut Transaction, edit: &Edit) {
    let (ni, no) = (tx.inputs.len(), tx.outputs.len());
    match *edit {
        Edit::PrevTxid { input, bit } => flip(&mut tx.inputs[input.index(ni)].prev.txid.0, bit),
        Edit::PrevIndex { input, bit } => tx.inputs[input.index(ni)].prev.index ^= 1 << bit,
        Edit::Owner { input, bit } => flip(&mut tx.inputs[input.index(ni)].owner, bit),
        Edit::Amount { output, bit } => tx.outputs[output.index(no)].amount ^= 1 << bit,
        Edit::OutputOwner { output, bit } => flip(&mut tx.outputs[output.index(no)].owner, bit),
    }
}

proptest! {
    #[test]
    fn valid_transactions_round_trip(tx in valid_tx(16, 16)) {
        prop_assert_eq!(tx.validate_structure(), Ok(()));
        let bytes = tx.encode();
        prop_assert_eq!(bytes.len(), tx.encoded_len());
        prop_assert!(bytes.len() <= MAX_ENCODED_LEN);
        prop_assert_eq!(Transaction::decode(&bytes), Ok(tx));
    }

    #[test]
    fn decode_agrees_with_validate_structure(tx in any_tx()) {
        let decoded = Transaction::decode(&tx.encode());
        match tx.validate_structure() {
            Ok(()) => prop_assert_eq!(decoded, Ok(tx)),
            Err(e) => prop_assert_eq!(decoded, Err(TxDecodeError::Structure(e))),
        }
    }

    /// Fraud proofs carry structurally invalid transactions: framing-only decoding gives back any
    /// transaction (valid or not) from its encoding, and agrees with `decode` on valid ones.
    #[test]
    fn framed_decoding_round_trips_invalid_transactions_too(tx in any_tx()) {
        let bytes = tx.encode();
        prop_assert_eq!(Transaction::decode_framed(&bytes), Ok(tx.clone()));
        if let Ok(strict) = Transaction::decode(&bytes) {
            prop_assert_eq!(strict, tx);
        }
    }

    #[test]
    fn framed_decoding_of_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..1024)
    ) {
        if let Ok(tx) = Transaction::decode_framed(&bytes) {
            prop_assert_eq!(tx.encode(), bytes);
        }
    }

    #[test]
    fn decode_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(tx) = Transaction::decode(&bytes) {
            prop_assert_eq!(tx.encode(), bytes);
        }
    }

    #[test]
    fn decode_of_mutated_encodings_never_panics_and_stays_canonical(
        tx in valid_tx(4, 4),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        cut in any::<Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = tx.encode();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(decoded) = Transaction::decode(&bytes) {
            prop_assert_eq!(decoded.validate_structure(), Ok(()));
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    #[test]
    fn every_strict_prefix_is_rejected(tx in valid_tx(4, 4)) {
        let bytes = tx.encode();
        for len in 0..bytes.len() {
            let result = Transaction::decode(&bytes[..len]);
            prop_assert!(
                matches!(result, Err(TxDecodeError::Truncated { .. })),
                "prefix of length {} gave {:?}", len, result
            );
        }
    }

    #[test]
    fn appending_bytes_is_rejected(
        tx in valid_tx(8, 8),
        extra in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let mut bytes = tx.encode();
        let consumed = bytes.len();
        bytes.extend(&extra);
        prop_assert_eq!(
            Transaction::decode(&bytes),
            Err(TxDecodeError::TrailingBytes { consumed, extra: extra.len() })
        );
    }

    #[test]
    fn txid_ignores_signatures(
        tx in valid_tx(8, 4),
        signatures in prop::collection::vec(any::<[u8; 64]>(), 8),
    ) {
        let mut resigned = tx.clone();
        for (input, signature) in resigned.inputs.iter_mut().zip(signatures) {
            input.signature = signature;
        }
        prop_assert_eq!(resigned.txid(), tx.txid());
        prop_assert_eq!(resigned.signing_hash(), tx.signing_hash());
    }

    #[test]
    fn txid_changes_with_any_other_field(tx in valid_tx(8, 8), edit in edit()) {
        let mut edited = tx.clone();
        apply(&mut edited, &edit);
        prop_assert_ne!(&edited, &tx);
        prop_assert_ne!(edited.txid(), tx.txid());
    }

    #[test]
    fn signatures_verify_over_signing_hash(
        tx in valid_tx(4, 4),
        seeds in prop::collection::vec(any::<[u8; 32]>(), 4),
        new_amount in 1u64..,
    ) {
        let mut tx = tx;
        let keys: Vec<SigningKey> = seeds[..tx.inputs.len()]
            .iter()
            .map(SigningKey::from_bytes)
            .collect();
        tx.sign(&keys).unwrap();
        prop_assert_eq!(tx.validate_structure(), Ok(()));
        let message = tx.signing_hash();
        for ((pk, msg, sig), key) in tx.signature_checks().zip(&keys) {
            prop_assert_eq!(pk, key.verifying_key().to_bytes());
            prop_assert_eq!(msg, message);
            let vk = VerifyingKey::from_bytes(&pk).unwrap();
            prop_assert!(vk.verify_strict(&msg, &Signature::from_bytes(&sig)).is_ok());
        }

        // A signed transaction survives the wire, and editing a field voids every signature.
        prop_assert_eq!(Transaction::decode(&tx.encode()), Ok(tx.clone()));
        let mut tampered = tx.clone();
        tampered.outputs[0].amount = new_amount;
        if tampered != tx {
            for (pk, msg, sig) in tampered.signature_checks() {
                let vk = VerifyingKey::from_bytes(&pk).unwrap();
                prop_assert!(vk.verify_strict(&msg, &Signature::from_bytes(&sig)).is_err());
            }
        }
    }
}

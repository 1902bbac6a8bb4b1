//! Transactions: the strict decoder and the framing-only decoder (fraud proofs), against the
//! encoder. Properties: no panic; a strict decode re-encodes to exactly the input (one encoding
//! per transaction); strict = framed + `validate_structure`; a framed decode re-encodes to the
//! input; the ids and signature checks of anything decoded are computable.

#![no_main]

use iosv_engine::tx::{MAX_ENCODED_LEN, Transaction, wtxid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let strict = Transaction::decode(data);
    let framed = Transaction::decode_framed(data);
    match &framed {
        Ok(tx) => {
            assert_eq!(tx.encode(), data, "framed decode must round-trip");
            assert_eq!(tx.encoded_len(), data.len());
            let valid = tx.validate_structure().is_ok();
            assert_eq!(
                strict.is_ok(),
                valid,
                "strict decode must be framed decode plus the structural rules"
            );
            let _ = tx.txid();
            let _ = tx.output_total();
            assert_eq!(tx.signature_checks().count(), tx.inputs.len());
            let _ = wtxid(data);
        }
        Err(e) => {
            assert!(strict.is_err(), "strict accepted what framing refused");
            let _ = e.to_string();
        }
    }
    if let Ok(tx) = &strict {
        assert_eq!(Some(tx), framed.as_ref().ok());
        assert!(data.len() <= MAX_ENCODED_LEN);
        let mut appended = vec![0xa5];
        tx.encode_into(&mut appended);
        assert_eq!(&appended[1..], data);
    }
    if let Err(e) = &strict {
        let _ = e.to_string();
    }
});

//! Block headers: `BlockHeader::decode` against the encoder (the only block-level byte decoder:
//! block bodies travel as transaction encodings, covered by the `tx` target). Properties: no
//! panic; a decoded header re-encodes to exactly the input and is `HEADER_ENCODED_LEN` bytes; its
//! hash is computable; the signed-header JSON form (fraud proofs) round-trips.

#![no_main]

use iosv_engine::fraud::SignedHeader;
use iosv_engine::tx::{BlockHeader, HEADER_ENCODED_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    match BlockHeader::decode(data) {
        Ok(header) => {
            assert_eq!(data.len(), HEADER_ENCODED_LEN);
            assert_eq!(header.encode(), data, "a header has one encoding");
            let _ = header.hash();
            let signed = SignedHeader {
                header,
                signature: [0x33; 64],
            };
            let json = serde_json::to_string(&signed).expect("serializes");
            let back: SignedHeader = serde_json::from_str(&json).expect("round-trips");
            assert_eq!(back, signed);
            assert!(!signed.verify(), "a made-up signature verified");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

//! The `gpu` and `auto` backends on known answers: RFC 8032 §7.1 (valid, and with every single
//! bit flipped) and every ed25519-speccheck case, alone and in one batch, against the CPU backend
//! and the oracle (`ed25519-consensus`).

mod gpu_common;

use gpu_common::{RFC8032_VECTORS, check_backends, gpu_verifiers, speccheck_cases};
use iosv_engine::sig::SigItem;

#[test]
fn rfc8032_vectors_and_their_bit_flips() {
    let Some(verifiers) = gpu_verifiers("rfc8032_vectors_and_their_bit_flips") else {
        return;
    };
    let mut items = Vec::new();
    for v in &RFC8032_VECTORS {
        let item = v.item();
        items.push(item.clone());
        for bit in 0..256 {
            let mut m = item.clone();
            m.pk[bit / 8] ^= 1 << (bit % 8);
            items.push(m);
        }
        for bit in 0..512 {
            let mut m = item.clone();
            m.sig[bit / 8] ^= 1 << (bit % 8);
            items.push(m);
        }
        if !item.msg.is_empty() {
            let mut m = item.clone();
            m.msg[0] ^= 1;
            items.push(m);
        }
    }
    let verdicts = check_backends("RFC 8032 and bit flips", &verifiers, &items);
    assert_eq!(
        verdicts.iter().filter(|&&v| v).count(),
        RFC8032_VECTORS.len()
    );
}

#[test]
fn speccheck_cases_alone_and_in_one_batch() {
    let Some(verifiers) = gpu_verifiers("speccheck_cases_alone_and_in_one_batch") else {
        return;
    };
    let cases = speccheck_cases();
    for (i, case) in cases.iter().enumerate() {
        check_backends(
            &format!("speccheck case {i}"),
            &verifiers,
            std::slice::from_ref(case),
        );
    }
    let all: Vec<SigItem> = cases.clone();
    let verdicts = check_backends("speccheck cases in one batch", &verifiers, &all);
    assert!(verdicts.iter().any(|&v| v) && verdicts.iter().any(|&v| !v));
}

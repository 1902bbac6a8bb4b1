//! The normal league's sampling re-validation through the GPU: `sampling::revalidate` takes any
//! `Verifier`, and the `gpu` and `auto` backends give exactly the CPU's findings on a block with
//! bad signatures mixed in (skipped with a message when there is no adapter, unless
//! `IOSV_REQUIRE_GPU=1`).

mod gpu_common;

use iosv_engine::sampling::revalidate;
use iosv_engine::sig::{Backend, Verifier};
use iosv_engine::tx::Transaction;
use iosv_engine::utxo::UtxoSet;
use iosv_engine::workload::{KeyReuse, TxWorkload};

#[test]
fn gpu_findings_equal_cpu_findings() {
    let Some(verifiers) = gpu_common::gpu_verifiers("gpu_findings_equal_cpu_findings") else {
        return;
    };
    let w = TxWorkload::generate(600, 1, KeyReuse::SKEWED_10K, 0x6a);
    let set = UtxoSet::new();
    for (outpoint, output) in &w.genesis {
        set.insert_genesis(*outpoint, *output).unwrap();
    }
    let mut txs: Vec<Transaction> = w
        .txs
        .iter()
        .map(|b| Transaction::decode(b).unwrap())
        .collect();
    for i in (0..txs.len()).step_by(37) {
        txs[i].inputs[0].signature[i % 64] ^= 1 << (i % 8);
    }
    let all: Vec<usize> = (0..txs.len()).collect();
    let cpu = revalidate(&set, &txs, &all, &Verifier::new(Backend::Cpu).unwrap());
    assert!(cpu.len() >= 15, "the corrupted signatures are found");
    for (name, verifier) in verifiers {
        assert_eq!(
            revalidate(&set, &txs, &all, &verifier),
            cpu,
            "{name} backend's findings differ from the CPU's"
        );
    }
}

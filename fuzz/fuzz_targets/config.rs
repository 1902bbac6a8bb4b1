//! The JSON configurations a user hands the harness: the first byte picks which (mod 3), the rest
//! is the JSON text.
//! - 0: `DemoConfig::from_json` (`iosv demo --config`),
//! - 1: `SimConfig::from_json` (`iosv simulate --config`),
//! - 2: `ShardingPolicy::from_json` (`--policy` files).
//!
//! Properties: no panic (every refusal a typed error), bounded allocation; and what is accepted
//! stays accepted: a configuration that parsed and validated serializes to JSON that parses and
//! validates again (so `--print-config` output is always a usable config; a NaN or infinity that
//! validation let through would serialize as `null` and fail here).

#![no_main]

use iosv_harness::demo::DemoConfig;
use iosv_harness::pob::ShardingPolicy;
use iosv_harness::sim::SimConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iosv_fuzz::init();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = iosv_fuzz::text(rest) else {
        return;
    };
    match which % 3 {
        0 => match DemoConfig::from_json(text) {
            Ok(cfg) => {
                let json = serde_json::to_string(&cfg).expect("serializes");
                let again = DemoConfig::from_json(&json).unwrap_or_else(|e| {
                    panic!("accepted config refused after a round trip: {e}\n{json}")
                });
                let _ = again;
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
        1 => match SimConfig::from_json(text) {
            Ok(cfg) => {
                let json = serde_json::to_string(&cfg).expect("serializes");
                let again = SimConfig::from_json(&json).unwrap_or_else(|e| {
                    panic!("accepted config refused after a round trip: {e}\n{json}")
                });
                let _ = again;
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
        _ => match ShardingPolicy::from_json(text) {
            Ok(policy) => {
                let json = serde_json::to_string(&policy).expect("serializes");
                let again = ShardingPolicy::from_json(&json).unwrap_or_else(|e| {
                    panic!("accepted policy refused after a round trip: {e}\n{json}")
                });
                let _ = again;
            }
            Err(e) => {
                let _ = e.to_string();
            }
        },
    }
});

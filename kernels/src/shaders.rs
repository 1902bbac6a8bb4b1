//! The WGSL sources of the stages, for each field variant. Each stage is its own module (bindings,
//! the arithmetic it needs, its entry point), so drivers compile several small programs instead of
//! one large one; the point formulas (`curve.wgsl`) are written once over the field interface and
//! assembled with either field.

use crate::FieldVariant;

/// One compute stage: its label, entry point and full source.
pub(crate) struct Stage {
    pub label: &'static str,
    pub entry: &'static str,
    pub source: String,
}

/// The stages a verifier compiles, in the order [`Stages`] names them.
pub(crate) struct Stages {
    pub hash: Stage,
    pub prepare: Stage,
    pub window: Stage,
    pub finish: Stage,
    pub base_table: Stage,
}

const BINDINGS: &str = include_str!("wgsl/bindings.wgsl");
const WORDS: &str = include_str!("wgsl/words.wgsl");
const FIELD_U32: &str = include_str!("wgsl/field_u32.wgsl");
const FIELD_U32_OPS: &str = include_str!("wgsl/field_u32_ops.wgsl");
const FIELD_I64: &str = include_str!("wgsl/field_i64.wgsl");
const FIELD_I64_OPS: &str = include_str!("wgsl/field_i64_ops.wgsl");
const FIELD_COMMON: &str = include_str!("wgsl/field_common.wgsl");
const FIELD_POW: &str = include_str!("wgsl/field_pow.wgsl");
const CURVE: &str = include_str!("wgsl/curve.wgsl");
const SHA512: &str = include_str!("wgsl/sha512.wgsl");
const HASH: &str = include_str!("wgsl/hash.wgsl");
const PREPARE: &str = include_str!("wgsl/prepare.wgsl");
const WINDOW: &str = include_str!("wgsl/window.wgsl");
const FINISH: &str = include_str!("wgsl/finish.wgsl");
const BASE_TABLE: &str = include_str!("wgsl/base_table.wgsl");

/// The stages for `field`. The hash stage is the same for both (u32 only).
pub(crate) fn stages(field: FieldVariant) -> Stages {
    let (field, ops) = match field {
        FieldVariant::U32 => (FIELD_U32, FIELD_U32_OPS),
        FieldVariant::I64 => (FIELD_I64, FIELD_I64_OPS),
    };
    let arithmetic = [BINDINGS, WORDS, field, ops, FIELD_COMMON, FIELD_POW, CURVE];
    let with = |stage: &str| {
        let mut parts = arithmetic.to_vec();
        parts.push(stage);
        parts.join("\n")
    };
    Stages {
        hash: Stage {
            label: "iosv hash (SHA-512, mod L, S < L)",
            entry: "hash_main",
            source: [BINDINGS, WORDS, SHA512, HASH].join("\n"),
        },
        prepare: Stage {
            label: "iosv prepare (decode A and R, table of -A, digits)",
            entry: "prepare_main",
            source: with(PREPARE),
        },
        window: Stage {
            label: "iosv windows ([S]B - [k]A)",
            entry: "window_main",
            source: with(WINDOW),
        },
        finish: Stage {
            label: "iosv finish ([8](Q - R) = 0)",
            entry: "finish_main",
            source: with(FINISH),
        },
        base_table: Stage {
            label: "iosv base table ([0..8]B)",
            entry: "base_table_main",
            source: with(BASE_TABLE),
        },
    }
}

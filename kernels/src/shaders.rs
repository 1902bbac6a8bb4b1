//! The WGSL sources of the three stages. Each stage is its own module (bindings, the arithmetic it
//! needs, its entry point), so drivers compile three smaller programs instead of one large one.

/// One compute stage: its label, entry point and full source.
pub(crate) struct Stage {
    pub label: &'static str,
    pub entry: &'static str,
    pub source: String,
}

const BINDINGS: &str = include_str!("wgsl/bindings.wgsl");
const FIELD: &str = include_str!("wgsl/field.wgsl");
const MACHINE: &str = include_str!("wgsl/machine.wgsl");
const FIELD_OPS: &str = include_str!("wgsl/field_ops.wgsl");
const SHA512: &str = include_str!("wgsl/sha512.wgsl");
const HASH: &str = include_str!("wgsl/hash.wgsl");
const DECOMPRESS: &str = include_str!("wgsl/decompress.wgsl");
const DECOMPRESS_PROGRAMS: &str = include_str!("wgsl/decompress_programs.wgsl");
const EQUATION: &str = include_str!("wgsl/equation.wgsl");
const EQUATION_PROGRAMS: &str = include_str!("wgsl/equation_programs.wgsl");

/// The stages in the order they run on a batch.
pub(crate) fn stages() -> [Stage; 3] {
    [
        Stage {
            label: "iosv hash (SHA-512, mod L, S < L)",
            entry: "hash_main",
            source: [BINDINGS, FIELD, FIELD_OPS, SHA512, HASH].join("\n"),
        },
        Stage {
            label: "iosv decompress (A, R)",
            entry: "decompress_main",
            source: [
                BINDINGS,
                FIELD,
                FIELD_OPS,
                MACHINE,
                DECOMPRESS_PROGRAMS,
                DECOMPRESS,
            ]
            .join("\n"),
        },
        Stage {
            label: "iosv equation ([8]([S]B - [k]A - R) = 0)",
            entry: "equation_main",
            source: [
                BINDINGS,
                FIELD,
                FIELD_OPS,
                MACHINE,
                EQUATION_PROGRAMS,
                EQUATION,
            ]
            .join("\n"),
        },
    ]
}

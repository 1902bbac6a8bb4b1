//! The protocol code never imports the drivers around it: the modules that implement protocols
//! (node model, epoch flow, DRP, finality, Atomix, MSB, PoB, shards, domain tags) may not name the
//! simulator, the real-time runner, the demo, the benchmarks, the reports or the CLI. The rule is
//! checked on the source text: every `crate::<driver>` path outside comments, in `use` lines and
//! in code, including inside `crate::{...}` groups.

use std::fs;
use std::path::{Path, PathBuf};

/// Modules (files or folders under `harness/src`) that implement protocols.
const PROTOCOL: &[&str] = &[
    "node",
    "epoch",
    "drp",
    "finality",
    "atomix",
    "msb",
    "pob",
    "shard",
    "domain.rs",
];

/// Modules that drive, measure or present protocols.
const DRIVERS: &[&str] = &[
    "sim", "runtime", "net", "demo", "bench", "report", "commands", "cli", "main",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            rust_files(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The code of a line, without a trailing `//` comment (doc comments are whole-line comments).
fn code(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return "";
    }
    line.split("//").next().unwrap_or("")
}

/// The driver modules `text` names through `crate::`.
fn named_drivers(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let segment: String = if let Some(group) = rest.strip_prefix('{') {
            group.split('}').next().unwrap_or("").to_string()
        } else {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        for name in segment.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(d) = DRIVERS.iter().find(|d| **d == name) {
                found.push(*d);
            }
        }
    }
    found
}

#[test]
fn protocol_modules_never_import_drivers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for module in PROTOCOL {
        let path = src.join(module);
        assert!(path.exists(), "protocol module {module} is missing");
        rust_files(&path, &mut files);
    }
    assert!(files.len() > 40, "found only {} files", files.len());
    let mut violations = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        // `use crate::{a, b::{c}}` may span lines: join each `use` statement first.
        let mut statement = String::new();
        for (n, line) in text.lines().enumerate() {
            let c = code(line);
            if statement.is_empty() && !c.trim_start().starts_with("use ") {
                for d in named_drivers(c) {
                    violations.push(format!("{}:{}: crate::{d}", file.display(), n + 1));
                }
                continue;
            }
            statement.push_str(c);
            if c.contains(';') {
                for d in named_drivers(&statement) {
                    violations.push(format!("{}:{}: crate::{d}", file.display(), n + 1));
                }
                statement.clear();
            }
        }
    }
    assert!(
        violations.is_empty(),
        "protocol code imports a driver:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_imports() {
    assert_eq!(named_drivers("use crate::sim::Simulator;"), ["sim"]);
    assert_eq!(
        named_drivers("use crate::{finality::Member, demo::Config};"),
        ["demo"]
    );
    assert_eq!(
        named_drivers("let x = crate::runtime::run(n, d);"),
        ["runtime"]
    );
    assert!(named_drivers("use crate::finality::simulation_free;").is_empty());
    assert!(named_drivers("use crate::simple::Thing;").is_empty());
    assert_eq!(code("    // crate::sim in a comment"), "");
    assert_eq!(code("let a = 1; // crate::sim"), "let a = 1; ");
}

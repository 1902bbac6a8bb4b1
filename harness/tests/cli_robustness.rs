//! Every subcommand and every flag that takes a value, run with hostile values (zero, negative,
//! NaN, infinities, u64::MAX and past it, empty, not a number) and hostile files (missing, a
//! directory, empty, not UTF-8, not JSON, a JSON array, deep nesting, and files larger than every
//! cap, made sparse so they cost no disk): each run must end by itself within its time bound,
//! never on a signal (a panic in `main` is exit 101, an allocation abort SIGABRT), with exit code
//! 2 and a message on standard error, under a data-segment limit of 512 MiB.
//!
//! Values that a flag accepts (a seed of u64::MAX, `--count 0`) are not in the refused lists;
//! the cheapest of them run in [`accepted_extremes_finish`].

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Data-segment limit (heap and other private writable mappings) of every run.
const MEMORY_LIMIT: u64 = 512 << 20;
/// A refused value is refused before work starts: well under a second; this is the bound.
const REFUSAL_BOUND: Duration = Duration::from_secs(30);

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    elapsed: Duration,
}

fn run(args: &[String], bound: Duration) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iosv"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("IOSV_LOG", "warn");
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT as libc::rlim_t,
                rlim_max: MEMORY_LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn iosv");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        // At most 1 MiB of messages is kept.
        let _ = (&mut stderr_pipe).take(1 << 20).read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("iosv {} ran past its bound of {:?}", args.join(" "), bound);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code(),
        signal: status.signal(),
        stderr: reader.join().expect("reader"),
        elapsed: started.elapsed(),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Asserts the run was refused as a usage or input error.
fn assert_refused(args: &[String], names: Option<&str>) {
    let out = run(args, REFUSAL_BOUND);
    let shown = args.join(" ");
    assert_eq!(
        out.signal, None,
        "iosv {shown}: killed by signal {:?}: {}",
        out.signal, out.stderr
    );
    assert_eq!(
        out.code,
        Some(2),
        "iosv {shown}: expected exit 2 (refused), got {:?} after {:?}: {}",
        out.code,
        out.elapsed,
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "iosv {shown}: {}",
        out.stderr
    );
    assert!(
        !out.stderr.trim().is_empty(),
        "iosv {shown}: exit 2 without a message"
    );
    if let Some(name) = names {
        assert!(
            names_value(&out.stderr, name),
            "iosv {shown}: the message should name `{name}`: {}",
            out.stderr
        );
    }
}

/// Whether `message` names `value`: literally, or as a number written another way (`1e8` as
/// `100000000.0`).
fn names_value(message: &str, value: &str) -> bool {
    if message.contains(value) {
        return true;
    }
    let Ok(wanted) = value.parse::<f64>() else {
        return false;
    };
    message
        .split(|c: char| c.is_whitespace() || ",:=()`'\"".contains(c))
        .filter_map(|token| token.parse::<f64>().ok())
        .any(|n| n == wanted || (n.is_nan() && wanted.is_nan()))
}

/// Values no numeric flag accepts.
const NOT_NUMBERS: &[&str] = &["", "abc", "NaN", "0x10", "1e", "--"];
/// Integers out of every u64/u32 range.
const BAD_INTEGERS: &[&str] = &["-1", "18446744073709551616", "1e3", "1.5", "inf"];

/// A subcommand's cheap base arguments and the flags it takes values for, each with the values
/// it must refuse beyond the common ones (`None`: only the common ones).
struct Surface {
    base: &'static [&'static str],
    /// (flag, integer flag?, extra refused values)
    flags: &'static [(&'static str, bool, &'static [&'static str])],
}

const U64_MAX: &str = "18446744073709551615";

fn surfaces() -> Vec<Surface> {
    vec![
        Surface {
            base: &["verify"],
            flags: &[
                ("--batch", true, &["0", U64_MAX, "1048577"]),
                ("--threads", true, &["0", U64_MAX, "4097"]),
                ("--backend", false, &["quantum", "CPU2"]),
                ("--peer", false, &["openssl"]),
            ],
        },
        Surface {
            base: &["gen-sigs", "--count", "1"],
            flags: &[
                ("--count", true, &[]),
                ("--keys", false, &["0", U64_MAX, "1000001", "-5", "1.5"]),
                ("--msg-len", true, &[U64_MAX, "1048577"]),
                ("--seed", true, &[]),
            ],
        },
        Surface {
            base: &["pipeline", "--tx", "10"],
            flags: &[
                ("--tx", true, &["0", U64_MAX, "2000001"]),
                (
                    "--rate",
                    false,
                    &["0", "-1", "inf", "-inf", "1e-9", "1e300", "5e-324"],
                ),
                ("--inputs", true, &["0", "3", U64_MAX]),
                ("--keys", false, &["0", U64_MAX]),
                ("--threads", true, &["0", U64_MAX]),
                ("--decode-threads", true, &["0", U64_MAX, "4097"]),
                ("--utxo-threads", true, &["0", U64_MAX, "4097"]),
                ("--seed", true, &[]),
                ("--backend", false, &["remote:", "remote:a,,b", "tpu"]),
                ("--spot-check", false, &["-0.1", "1.5", "inf"]),
                ("--remote-timeout-ms", true, &["0", "600001"]),
            ],
        },
        Surface {
            base: &["serve"],
            flags: &[
                ("--listen", false, &["127.0.0.1", "localhost:99999"]),
                ("--backend", false, &["remote:127.0.0.1:1", "quantum"]),
                ("--metrics", false, &["nowhere"]),
                ("--max-request-sigs", true, &["0", "4194305"]),
                ("--max-queue-sigs", true, &["0", "67108865"]),
                ("--max-queue-mib", true, &["0", "65537"]),
                ("--max-message-bytes", true, &["0", "16777217"]),
                ("--max-request-mib", true, &["0", "1025"]),
                ("--batch", true, &["0", "1048577"]),
                ("--max-delay-ms", true, &["10001"]),
                ("--workers", true, &["0", "4097"]),
                ("--stream-in-flight", true, &["0", "4097"]),
                ("--connection-requests", true, &["0", "65537"]),
            ],
        },
        Surface {
            base: &[
                "load",
                "--target",
                "127.0.0.1:1",
                "--rate",
                "1000",
                "--duration",
                "0.1",
            ],
            flags: &[
                ("--rate", false, &["0", "-1", "inf", "1e10"]),
                ("--duration", false, &["0", "-1", "inf", "86401"]),
                ("--batch", true, &["0", "1048577"]),
                ("--connections", true, &["0", "1025"]),
                ("--bad-fraction", false, &["-0.1", "1.5", "inf"]),
                ("--timeout-ms", true, &["0", "600001"]),
            ],
        },
        Surface {
            base: &["demo"],
            flags: &[
                (
                    "--rate",
                    false,
                    &["0", "-1", "inf", "1e-9", "1e300", "5e-324", "1e8"],
                ),
                ("--duration", false, &["0", "-1", "inf", "1e-300", "3601"]),
                ("--seed", true, &[]),
                ("--sweep", false, &["0", "inf", "1000,-5", "1e-9"]),
                ("--backend", false, &["remote:", "tpu"]),
                ("--spot-check", false, &["-0.1", "1.5"]),
            ],
        },
        Surface {
            base: &["simulate"],
            flags: &[
                ("--seed", true, &[]),
                ("--epochs", true, &["0", U64_MAX, "1000000"]),
            ],
        },
        Surface {
            base: &["simulate", "shard-safety"],
            flags: &[
                ("--validators", true, &["0", U64_MAX, "1000001"]),
                ("--sizes", true, &["0", "1801", "16,0", U64_MAX]),
                ("--fractions", false, &["1", "1.5", "-0.1", "inf", "0.2,2"]),
                ("--samples", true, &["0", U64_MAX, "10000001", "5000000"]),
                ("--seed", true, &[]),
            ],
        },
        Surface {
            base: &["drp"],
            flags: &[
                ("--servers", true, &["0", "257", "4096", U64_MAX]),
                ("--group-size", true, &["0", "17", "257", U64_MAX]),
                ("--epoch", true, &[]),
                ("--seed", true, &[]),
                ("--fault", false, &["explode"]),
            ],
        },
        Surface {
            base: &["drp", "--fault", "withhold"],
            flags: &[("--faulty-server", true, &["16", U64_MAX, "4294967295"])],
        },
        Surface {
            base: &["msb-bootstrap"],
            flags: &[
                ("--epochs", true, &["0", "1001", U64_MAX]),
                ("--blocks-per-epoch", true, &["0", "10001"]),
                ("--tail-blocks", true, &["10001"]),
                ("--txs-per-block", true, &["0", "100001"]),
                ("--roster-size", true, &["0", "4097"]),
                ("--seed", true, &[]),
                ("--runs", true, &["0", "101", U64_MAX]),
            ],
        },
        Surface {
            base: &["bench"],
            flags: &[(
                "--rate",
                false,
                &["0", "-1", "inf", "-inf", "1e-9", "1e300", "5e-324"],
            )],
        },
    ]
}

#[test]
fn every_flag_refuses_hostile_values() {
    let mut runs = 0;
    for surface in surfaces() {
        for &(flag, integer, extra) in surface.flags {
            let mut values: Vec<&str> = NOT_NUMBERS.to_vec();
            if integer {
                values.extend_from_slice(BAD_INTEGERS);
            }
            values.extend_from_slice(extra);
            for value in values {
                let mut args = strings(surface.base);
                // The flag replaces its value in the base, if the base sets one.
                if let Some(at) = args.iter().position(|a| a == flag) {
                    args.drain(at..at + 2);
                }
                // `--flag=value` so that values starting with '-' reach the flag's parser.
                args.push(format!("{flag}={value}"));
                let names = (!value.is_empty() && value != "--").then_some(value);
                // A list flag names the element it refused, not the whole list.
                let names = names.filter(|v| !v.contains(','));
                assert_refused(&args, names);
                runs += 1;
            }
        }
    }
    // Subcommands and enum values that do not exist.
    for args in [
        &["explode"][..],
        &["bench", "everything"],
        &["simulate", "shard-danger"],
        &["verify", "--backend"],
        &[],
    ] {
        assert_refused(&strings(args), None);
        runs += 1;
    }
    assert!(runs > 250, "only {runs} runs");
}

/// Hostile files for every argument that names one.
struct Files {
    dir: PathBuf,
}

impl Files {
    /// A directory of its own (tests run in parallel in one process, and each removes its own).
    fn new() -> Files {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("iosv-robustness-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    /// A file of `len` zero bytes that takes no disk (sparse).
    fn sparse(&self, name: &str, len: u64) -> String {
        let path = self.dir.join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        path.display().to_string()
    }

    /// (name, path) of each hostile file.
    fn all(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "missing",
                self.dir.join("missing.json").display().to_string(),
            ),
            ("directory", self.dir.display().to_string()),
            ("empty", self.write("empty.json", b"")),
            (
                "not UTF-8",
                self.write("binary.json", &[0xff, 0xfe, 0x00, 0x80]),
            ),
            ("not JSON", self.write("text.json", b"hello, world\n")),
            ("array", self.write("array.json", b"[1, 2, 3]")),
            ("nested", self.write("nested.json", &[b'['; 100_000])),
            ("null", self.write("null.json", b"null")),
            (
                "wrong fields",
                self.write("fields.json", br#"{"validators": "many"}"#),
            ),
            ("over every cap", self.sparse("huge.json", (64 << 20) + 1)),
        ]
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn every_file_argument_refuses_hostile_files() {
    let files = Files::new();
    let good_report = files.write(
        "report.json",
        br#"{"machine": {}, "sigverify": {"x": 1.0}}"#,
    );
    for (kind, path) in files.all() {
        let cases: Vec<Vec<String>> = vec![
            strings(&["demo", "--config", &path]),
            strings(&["simulate", "--config", &path]),
            strings(&["verify-drp", &path]),
            strings(&["compare", &path, &good_report]),
            strings(&["compare", &good_report, &path]),
            strings(&["gate", "--baseline", &path]),
            strings(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &path,
                "--tls-key",
                &path,
                "--client-ca",
                &path,
            ]),
        ];
        for args in cases {
            let out = run(&args, REFUSAL_BOUND);
            let shown = args.join(" ");
            assert_eq!(out.signal, None, "{kind}: iosv {shown}: {}", out.stderr);
            assert_eq!(
                out.code,
                Some(2),
                "{kind}: iosv {shown}: expected exit 2 after {:?}: {}",
                out.elapsed,
                out.stderr
            );
            assert!(
                !out.stderr.contains("panicked"),
                "{kind}: iosv {shown}: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains(&path),
                "{kind}: iosv {shown}: the message should name the file: {}",
                out.stderr
            );
        }
    }
    // `verify` reads lines, not documents: a missing or unreadable input is an I/O error...
    for (kind, path) in files.all().into_iter().take(2) {
        let args = strings(&["verify", &path]);
        let out = run(&args, REFUSAL_BOUND);
        assert_eq!(out.code, Some(2), "{kind}: {}", out.stderr);
    }
    // ...while a huge file of zeros is one over-long line, answered with an error verdict.
    let huge = files.sparse("huge-lines", (16 << 20) + 1);
    let out = run(&strings(&["verify", &huge]), Duration::from_secs(120));
    assert_eq!(out.signal, None, "{}", out.stderr);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn a_gate_baseline_without_this_machine_class_cannot_judge() {
    let files = Files::new();
    let other = files.write(
        "other-class.json",
        br#"{"threshold": 0.06, "machines": {"NoSuchVendor/serial-u64": {"ratios": {"w/1": 1.5}, "machine": "m", "command": "c"}}}"#,
    );
    // Asked first (as CI does): exit 1, nothing measured.
    let out = run(
        &strings(&["gate", "--has-baseline", "--baseline", &other]),
        REFUSAL_BOUND,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("no baseline for machine class"),
        "{}",
        out.stderr
    );
    // Judging anyway is an error naming the file and the classes it has, before any measuring.
    let out = run(&strings(&["gate", "--baseline", &other]), REFUSAL_BOUND);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains(&other), "{}", out.stderr);
    assert!(
        out.stderr.contains("NoSuchVendor/serial-u64"),
        "{}",
        out.stderr
    );
    // The committed baseline is readable by the same check (exit 0 or 1, never an error).
    let committed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../perf-reports/gate-baseline.json"
    );
    let out = run(
        &strings(&["gate", "--has-baseline", "--baseline", committed]),
        REFUSAL_BOUND,
    );
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.stderr);
}

#[test]
fn outputs_that_cannot_be_written_are_usage_errors() {
    let nowhere = "/nonexistent-iosv-dir/out";
    for args in [
        strings(&["gen-sigs", "--count", "1", "--out", nowhere]),
        strings(&["drp", "--servers", "4", "--out", nowhere]),
        strings(&["simulate", "--epochs", "1", "--trace", nowhere]),
    ] {
        let out = run(&args, Duration::from_secs(120));
        assert_eq!(out.signal, None, "iosv {}: {}", args.join(" "), out.stderr);
        assert_eq!(out.code, Some(2), "iosv {}: {}", args.join(" "), out.stderr);
        assert!(out.stderr.contains(nowhere), "{}", out.stderr);
    }
}

#[test]
fn accepted_extremes_finish() {
    for args in [
        &["gen-sigs", "--count", "0"][..],
        &["gen-sigs", "--count", "2", "--seed", U64_MAX, "--keys", "1"],
        &["gen-sigs", "--count", "1", "--msg-len", "0"],
        &["gen-sigs", "--count", "1", "--msg-len", "1048576"],
        &[
            "drp",
            "--servers",
            "4",
            "--group-size",
            "4",
            "--epoch",
            U64_MAX,
        ],
        &["simulate", "--epochs", "1", "--seed", U64_MAX],
        &[
            "simulate",
            "shard-safety",
            "--validators",
            "4",
            "--sizes",
            "4",
            "--samples",
            "1",
        ],
    ] {
        let args = strings(args);
        let out = run(&args, Duration::from_secs(120));
        assert_eq!(out.signal, None, "iosv {}: {}", args.join(" "), out.stderr);
        assert_eq!(out.code, Some(0), "iosv {}: {}", args.join(" "), out.stderr);
    }
}

#[test]
fn the_memory_limit_is_in_force() {
    // The limit must bite, or the tests above would not notice an unbounded allocation: a
    // million signed transactions (~2.5 GB) cannot be generated under it.
    let out = run(
        &strings(&["pipeline", "--tx", "1000000"]),
        Duration::from_secs(120),
    );
    assert!(
        out.signal.is_some() || out.code != Some(0),
        "a run that holds ~2 GB finished under a {MEMORY_LIMIT}-byte limit"
    );
}

//! `iosv load`: open-loop load against `iosv serve` endpoints (see `iosv_service::load`); prints
//! achieved against offered rate, shed and failed requests, latency percentiles, and exits 1 if
//! any verdict differed from the known one.

use std::time::Duration;

use clap::Args;
use iosv_service::{LoadConfig, LoadReport};

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Endpoints, comma-separated (HOST:PORT).
    #[arg(long, value_delimiter = ',', required_unless_present = "in_process")]
    pub target: Vec<String>,
    /// Offered signatures per second (open loop).
    #[arg(long, value_parser = rate, required_unless_present = "in_process")]
    pub rate: Option<f64>,
    /// Instead of a service, verify the same signatures in this process (the engine's CPU
    /// verifier on every core, closed loop, batches of --batch) for --duration: the rate a service
    /// run is compared with.
    #[arg(long, conflicts_with_all = ["target", "rate"])]
    pub in_process: bool,
    /// With --in-process: the verifier's backend (cpu, gpu or auto).
    #[arg(long, requires = "in_process", default_value = "cpu")]
    pub backend: super::backend::BackendSpec,
    /// With --in-process: threads [default: all cores].
    #[arg(long, requires = "in_process", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub duration: f64,
    /// Signatures per request.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub batch: u32,
    /// Connections per endpoint.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,
    /// Share of generated signatures that must be rejected (half invalid, half malformed).
    #[arg(long, default_value_t = 0.01, value_parser = super::backend::fraction)]
    pub bad_fraction: f64,
    /// Deadline of each request in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// Seed of the generated signatures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub tls: super::backend::ClientTlsArgs,
    /// Send the batches over one VerifyStream per connection instead of unary VerifyBatch calls.
    #[arg(long, conflicts_with = "in_process")]
    pub stream: bool,
    /// Print the report as JSON on the last line.
    #[arg(long)]
    pub json: bool,
}

fn rate(text: &str) -> Result<f64, String> {
    let r: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of signatures per second"))?;
    if !(1.0..=1e9).contains(&r) {
        return Err(format!("{text} signatures per second is outside 1 to 1e9"));
    }
    Ok(r)
}

fn seconds(text: &str) -> Result<f64, String> {
    let s: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.01..=86_400.0).contains(&s) {
        return Err(format!("{text} seconds is outside 0.01 to 86400"));
    }
    Ok(s)
}

pub fn run(args: &LoadArgs) -> anyhow::Result<bool> {
    let rate = args.rate.unwrap_or(1.0);
    if rate / f64::from(args.batch) > 1e6 {
        anyhow::bail!(
            "{rate} signatures/s in batches of {} is over a million requests per second: use larger batches",
            args.batch
        );
    }
    let config = LoadConfig {
        targets: args.target.clone(),
        tls: args.tls.files(),
        rate,
        duration: Duration::from_secs_f64(args.duration),
        batch: args.batch as usize,
        connections: args.connections as usize,
        bad_fraction: args.bad_fraction,
        timeout: Duration::from_millis(args.timeout_ms),
        seed: args.seed,
        stream: args.stream,
    };
    if args.in_process {
        let threads = args
            .threads
            .map(|t| t as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let backend = match &args.backend {
            super::backend::BackendSpec::Local(b) => *b,
            super::backend::BackendSpec::Remote(_) => {
                anyhow::bail!(
                    "--in-process verifies in this process: --backend is cpu, gpu or auto"
                )
            }
        };
        let verifier = iosv_engine::sig::Verifier::new(backend)?;
        let (sigs_per_s, wrong) = iosv_service::load::in_process(&config, &verifier, threads);
        eprintln!(
            "in process ({}): {sigs_per_s:.0} sig/s on {threads} thread(s), batches of {}, {wrong} wrong verdicts",
            verifier.describe(),
            args.batch
        );
        if args.json {
            println!(
                "{}",
                serde_json::json!({"in_process_sigs_per_s": sigs_per_s, "threads": threads,
                    "backend": verifier.describe(),
                    "batch": args.batch, "duration_s": args.duration, "wrong_verdicts": wrong})
            );
        }
        return Ok(wrong == 0);
    }
    eprintln!(
        "iosv load: {} signatures/s in batches of {} for {} s against {}",
        rate,
        args.batch,
        args.duration,
        args.target.join(",")
    );
    let report = iosv_service::load::run(&config)?;
    print_text(&report);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(report.wrong_verdicts == 0 && report.requests_ok > 0)
}

fn print_text(r: &LoadReport) {
    eprintln!(
        "offered {:.0} sig/s, achieved {:.0} sig/s ({} signatures with correct verdicts)",
        r.offered_sigs_per_s, r.achieved_sigs_per_s, r.signatures_ok
    );
    eprintln!(
        "requests: {} sent, {} ok, {} shed ({} signatures), {} failed, {} not sent (generator backlog)",
        r.requests_sent,
        r.requests_ok,
        r.requests_shed,
        r.signatures_shed,
        r.requests_failed,
        r.requests_not_sent
    );
    eprintln!(
        "latency from scheduled send: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        r.latency_ms_p50, r.latency_ms_p99, r.latency_ms_p999, r.latency_ms_max
    );
    eprintln!("wrong verdicts: {}", r.wrong_verdicts);
    for f in &r.failures {
        eprintln!("  failure: {f}");
    }
}

//! `iosv drp`: runs one DRP session on the simulator (honest servers, or one faulty server) and writes its
//! transcript for `iosv verify-drp`.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::drp::{ServerFault, SessionParams};
use crate::sim::drp_net::DrpNet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrpFaultArg {
    BadEncryptedShare,
    ForgedDealingProof,
    ForgedDecryptionProof,
    Withhold,
}

#[derive(Args, Debug)]
pub struct DrpArgs {
    /// Number of servers, 1 to 256: a session's memory grows with the square of the servers
    /// (measured: 128 servers 104 MB, 256 servers 372 MB, 512 servers 1.5 GB).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub servers: u32,
    /// Target group size, 1 to the number of servers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub group_size: u32,
    /// Epoch number.
    #[arg(long, default_value_t = 1)]
    pub epoch: u64,
    /// Seed of the keys and of the servers' randomness.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Make one server Byzantine.
    #[arg(long, value_enum)]
    pub fault: Option<DrpFaultArg>,
    /// Which server is faulty (default 0).
    #[arg(long, requires = "fault")]
    pub faulty_server: Option<u32>,
    /// Write the transcript here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `Ok(false)` when the session produced no output (exit 1); errors are usage or I/O (exit 2).
pub fn run(args: &DrpArgs) -> anyhow::Result<bool> {
    if args.group_size > args.servers {
        bail!(
            "--group-size {} is larger than the {} servers",
            args.group_size,
            args.servers
        );
    }
    let params = SessionParams {
        epoch: args.epoch,
        previous: [0; 32],
        group_size: args.group_size,
    };
    let mut network = DrpNet::new(args.servers, params, args.seed)?;
    if let Some(fault) = args.fault {
        let server = args.faulty_server.unwrap_or(0);
        if server >= args.servers {
            bail!(
                "--faulty-server {server}: servers are numbered 0 to {}",
                args.servers - 1
            );
        }
        network.server_fault(server, fault.into());
    }
    let started = std::time::Instant::now();
    network.run();
    let elapsed = started.elapsed();
    for exclusion in network.leader().exclusions() {
        println!("excluded server {}: {}", exclusion.server, exclusion.reason);
    }
    let output = match network.leader().result() {
        Some(Ok(output)) => *output,
        Some(Err(failure)) => {
            println!("FAILED: the session produced no output: {failure}");
            return Ok(false);
        }
        None => {
            println!("FAILED: the session did not finish");
            return Ok(false);
        }
    };
    let agreeing = network
        .server_outputs()
        .iter()
        .filter(|(_, o)| *o == output)
        .count();
    println!("output {}", hex::encode(output));
    println!(
        "{agreeing} of {} servers computed the same output; {} messages; {:.1} ms",
        args.servers,
        network.delivered(),
        elapsed.as_secs_f64() * 1e3
    );
    if let Some(path) = &args.out {
        let transcript = network.leader().transcript().context("no transcript")?;
        fs::write(path, serde_json::to_string_pretty(transcript)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(true)
}

impl From<DrpFaultArg> for ServerFault {
    fn from(f: DrpFaultArg) -> Self {
        use DrpFaultArg as A;
        match f {
            A::BadEncryptedShare => ServerFault::BadEncryptedShare,
            A::ForgedDealingProof => ServerFault::ForgedDealingProof,
            A::ForgedDecryptionProof => ServerFault::ForgedDecryptionProof,
            A::Withhold => ServerFault::Withhold,
        }
    }
}

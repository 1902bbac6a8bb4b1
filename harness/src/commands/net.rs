//! `iosv net`: networks of node processes. `init` writes a network's files; `up` runs one on
//! this host with faults and checks it; `check` checks the stores of a stopped network.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};

use crate::net::check::check_stores;
use crate::net::config::{FinalityTiming, LocalNetwork, load, write_local_network};
use crate::net::faults::LinkFaults;
use crate::net::launch::{KillRestart, LaunchPlan, Window, launch, run_in_process};

#[derive(Args, Debug)]
pub struct NetArgs {
    #[command(subcommand)]
    pub command: NetCommand,
}

#[derive(Args, Debug, Clone)]
pub struct NetworkShape {
    /// The network's folder (configurations, keys, stores, logs).
    #[arg(long)]
    pub dir: PathBuf,
    /// Finality members, each its own process.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub nodes: u64,
    /// Node i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
    /// How long a view may run before members ask for the next, in milliseconds.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub view_timeout_ms: u64,
    /// How long a fast-path node waits per tree level for its children, in milliseconds
    /// (default: 20 plus twice the emulated delay and jitter).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub level_timeout_ms: Option<u64>,
    /// Run PBFT from view 1 only (no CoSi fast path).
    #[arg(long)]
    pub no_fast_path: bool,
    /// Node i serves Prometheus metrics on 127.0.0.1:(metrics-base-port + i).
    #[arg(long)]
    pub metrics_base_port: Option<u16>,
    /// Commit the nodes' stores without waiting for the disk — to measure what durability costs
    /// only: a crash may then make a node forget what it signed.
    #[arg(long)]
    pub unsafe_no_fsync: bool,
    /// Emulated delay on every link, milliseconds (at the sender; see net/faults.rs).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub delay_ms: u64,
    /// Emulated uniform jitter on every link, up to this many milliseconds.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub jitter_ms: u64,
    /// Emulated packet loss on every link, as TCP sees it: a lost message arrives an RTO (200 ms,
    /// doubling per further loss) late and holds back the ones behind it.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Emulated message drops on every link: the probability that a message is gone for good.
    #[arg(long, default_value_t = 0.0)]
    pub drop: f64,
}

impl NetworkShape {
    fn timing(&self) -> FinalityTiming {
        FinalityTiming {
            view_timeout_ms: self.view_timeout_ms,
            level_timeout_ms: self
                .level_timeout_ms
                .unwrap_or(20 + 2 * (self.delay_ms + self.jitter_ms)),
            fast_path: !self.no_fast_path,
            ..FinalityTiming::default()
        }
    }

    fn network(&self) -> LocalNetwork {
        LocalNetwork {
            nodes: self.nodes as usize,
            base_port: self.base_port,
            timing: self.timing(),
            link: LinkFaults {
                delay_ms: self.delay_ms,
                jitter_ms: self.jitter_ms,
                loss: self.loss,
                drop: self.drop,
                partitions: Vec::new(),
            },
            halves: Vec::new(),
            metrics_base_port: self.metrics_base_port,
            unsafe_no_fsync: self.unsafe_no_fsync,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum NetCommand {
    /// Write a network's files: node-I.json and node-I.key (fresh keys) for each member I.
    Init(NetworkShape),
    /// Run a network on this host: one `iosv node` process per member; kill and restart nodes as
    /// planned; stop when every node has finalized --heights (or at --seconds); check the
    /// invariants across the stores; print the report as JSON (exit 1 if a check failed).
    Up {
        #[command(flatten)]
        shape: NetworkShape,
        /// Heights every node must finalize.
        #[arg(long, default_value_t = 50)]
        heights: u64,
        /// Deadline in seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: u64,
        /// SIGKILL node NODE AT_MS after launch and start it again DOWN_MS later
        /// (NODE@AT_MS+DOWN_MS; repeatable).
        #[arg(long = "kill-restart")]
        kill_restart: Vec<KillRestart>,
        /// Cut the first half of the nodes off from the second AT_MS after launch for LEN_MS
        /// (AT_MS+LEN_MS; repeatable).
        #[arg(long)]
        partition: Vec<Window>,
        /// Run the same league in this process over in-memory channels instead (no TCP, no
        /// stores): the baseline for the process network's figures.
        #[arg(long, conflicts_with_all = ["kill_restart", "partition"])]
        in_process: bool,
    },
    /// Check a stopped network's stores together: agreement per height, certificates, no gaps.
    Check {
        /// The network's folder.
        #[arg(long)]
        dir: PathBuf,
        /// Members (node-0.json to node-(N-1).json).
        #[arg(long, default_value_t = 4)]
        nodes: u64,
    },
}

pub fn run(args: &NetArgs) -> anyhow::Result<bool> {
    match &args.command {
        NetCommand::Init(shape) => {
            let paths =
                write_local_network(&shape.dir, &shape.network()).map_err(|e| anyhow!(e))?;
            for p in paths {
                println!("{}", p.display());
            }
            Ok(true)
        }
        NetCommand::Up {
            shape,
            heights,
            seconds,
            kill_restart,
            partition,
            in_process,
        } => {
            if *in_process {
                let report = run_in_process(
                    shape.nodes as usize,
                    *heights,
                    Duration::from_secs(*seconds),
                    shape.timing(),
                );
                println!("{}", serde_json::to_string(&report)?);
                return Ok(report.reached && report.check.ok());
            }
            let plan = LaunchPlan {
                exe: std::env::current_exe()?,
                dir: shape.dir.clone(),
                network: shape.network(),
                partitions: partition.clone(),
                heights: *heights,
                deadline: Duration::from_secs(*seconds),
                faults: kill_restart.clone(),
            };
            let report = launch(&plan).map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(report.ok())
        }
        NetCommand::Check { dir, nodes } => {
            let loaded = (0..*nodes)
                .map(|i| load(&dir.join(format!("node-{i}.json"))))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow!(e))?;
            let check = check_stores(&loaded).map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string(&check)?);
            Ok(check.ok())
        }
    }
}

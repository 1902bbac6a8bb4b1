//! `iosv net`: networks of node processes. `init` writes a finality league's files; `up` runs one
//! with faults and checks it; `load` runs a ledger network (Atomix shards, co-signers and client
//! gateways) under load with faults and checks it — both on this host or on the hosts of a hosts
//! file; `down` stops a network started by hand; `report` reports on a stopped network from its
//! logs and stores; `check` checks the stores of a stopped finality league.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};

use crate::net::check::check_stores;
use crate::net::config::{FinalityTiming, LocalNetwork, load, write_local_network};
use crate::net::faults::LinkFaults;
use crate::net::launch::{KillRestart, LaunchPlan, Window, launch, run_in_process};
use crate::net::ledger::LedgerParams;
use crate::net::ledger_launch::{self, LoadPlan, launch_load};

#[derive(Args, Debug)]
pub struct NetArgs {
    #[command(subcommand)]
    pub command: NetCommand,
}

/// Where a network's files go and what its links do: common to every kind of network.
#[derive(Args, Debug, Clone)]
pub struct Links {
    /// The network's folder (configurations, keys, stores, logs).
    #[arg(long)]
    pub dir: PathBuf,
    /// Node i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
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
    /// Run the nodes on the hosts of this file (node i on line i mod lines: `local ADDRESS` or
    /// `SSH_DESTINATION ADDRESS`), remote ones over SSH (IOSV_SSH and IOSV_SCP replace ssh
    /// and scp); see harness/src/net/hosts.rs. The folder must be an absolute path.
    #[arg(long)]
    pub hosts: Option<PathBuf>,
    /// With --hosts: `iosv` on the remote hosts (default: this executable's path).
    #[arg(long, requires = "hosts")]
    pub remote_exe: Option<PathBuf>,
}

impl Links {
    /// The network's folder; with a hosts file, made and named by its absolute path (remote
    /// hosts use the same path).
    fn folder(&self) -> anyhow::Result<PathBuf> {
        if self.hosts.is_none() {
            return Ok(self.dir.clone());
        }
        std::fs::create_dir_all(&self.dir)?;
        Ok(self.dir.canonicalize()?)
    }

    fn hosts(&self) -> anyhow::Result<Vec<crate::net::hosts::Host>> {
        match &self.hosts {
            Some(path) => crate::net::hosts::read_hosts(path).map_err(|e| anyhow!(e)),
            None => Ok(Vec::new()),
        }
    }

    fn faults(&self) -> LinkFaults {
        LinkFaults {
            delay_ms: self.delay_ms,
            jitter_ms: self.jitter_ms,
            loss: self.loss,
            drop: self.drop,
            partitions: Vec::new(),
        }
    }
}

/// A finality league's shape.
#[derive(Args, Debug, Clone)]
pub struct NetworkShape {
    #[command(flatten)]
    pub links: Links,
    /// Finality members, each its own process.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub nodes: u64,
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
}

/// A ledger network's shape and load (`crate::net::ledger`).
#[derive(Args, Debug, Clone)]
pub struct LedgerShape {
    /// Atomix shards, each its own process (nodes 0 to shards - 1).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub shards: u32,
    /// Client gateways, each its own process (the nodes after the shards).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub gateways: u32,
    /// CoSi roster members per shard (all signed for by the shard's process, unless
    /// --every-validator).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub members_per_shard: u64,
    /// Offered transactions per second, all gateways together (open-loop).
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// How long the load lasts, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub load_seconds: f64,
    /// Fraction of cross-shard transactions.
    #[arg(long, default_value_t = 0.1)]
    pub cross_shard: f64,
    /// Fraction of forged transactions (a thief's signature on someone else's coin).
    #[arg(long, default_value_t = 0.01)]
    pub forged: f64,
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub accounts_per_shard: u64,
    /// How often a shard signs its queued decisions, milliseconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub seal_every_ms: u64,
    /// How often a gateway asks again for what is missing, milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub retry_every_ms: u64,
    /// Seeds the load (accounts, genesis, transactions).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Every validator its own process: each shard's leader decides and holds only its own
    /// CoSi key; every other roster member is a co-signer process that applies every entry
    /// of the leader's journal itself and co-signs what it checked (ids after the gateways).
    #[arg(long)]
    pub every_validator: bool,
    /// With --every-validator: how long a co-signing round waits for members, milliseconds.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub round_timeout_ms: u64,
    /// With --every-validator: this shard's leader decides without checking signatures (a
    /// fraudulent believable validator) and its co-signers must catch it.
    #[arg(long, requires = "every_validator")]
    pub fraudulent_shard: Option<u32>,
}

impl LedgerShape {
    fn params(&self) -> LedgerParams {
        LedgerParams {
            shards: self.shards,
            gateways: self.gateways,
            members_per_shard: self.members_per_shard as usize,
            seed: self.seed,
            rate: self.rate,
            seconds: self.load_seconds,
            cross_shard_fraction: self.cross_shard,
            invalid_fraction: self.forged,
            accounts_per_shard: self.accounts_per_shard as usize,
            seal_every_ms: self.seal_every_ms,
            retry_every_ms: self.retry_every_ms,
            cosigned: self.every_validator,
            round_timeout_ms: self.round_timeout_ms,
            fraudulent_shard: self.fraudulent_shard,
        }
    }
}

impl NetworkShape {
    fn timing(&self) -> FinalityTiming {
        FinalityTiming {
            view_timeout_ms: self.view_timeout_ms,
            level_timeout_ms: self
                .level_timeout_ms
                .unwrap_or(20 + 2 * (self.links.delay_ms + self.links.jitter_ms)),
            fast_path: !self.no_fast_path,
            ..FinalityTiming::default()
        }
    }

    fn network(&self) -> LocalNetwork {
        LocalNetwork {
            nodes: self.nodes as usize,
            base_port: self.links.base_port,
            timing: self.timing(),
            link: self.links.faults(),
            halves: Vec::new(),
            metrics_base_port: self.links.metrics_base_port,
            unsafe_no_fsync: self.links.unsafe_no_fsync,
            ledger: None,
            hosts: Vec::new(),
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
    /// Run a ledger network on this host under load: Atomix shards and client gateways, each
    /// its own `iosv node` process; the gateways send the signed load open-loop at --rate; kill
    /// and restart nodes as planned; stop when every gateway saw its share settled (or at
    /// --seconds); check the shards' stores together (atomicity, no double spend, no forgery,
    /// books and supply, no locks left); print the figures and checks as JSON (exit 1 if a check
    /// failed or the load did not drain).
    Load {
        #[command(flatten)]
        links: Links,
        #[command(flatten)]
        ledger: LedgerShape,
        /// Deadline in seconds.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        seconds: u64,
        /// SIGKILL node NODE AT_MS after launch and start it again DOWN_MS later
        /// (NODE@AT_MS+DOWN_MS; repeatable; shards are nodes 0 to shards - 1).
        #[arg(long = "kill-restart")]
        kill_restart: Vec<KillRestart>,
        /// Cut the first half of the nodes off from the second AT_MS after launch for LEN_MS
        /// (AT_MS+LEN_MS; repeatable).
        #[arg(long)]
        partition: Vec<Window>,
        /// Run the same shards and gateways in this process over in-memory channels instead (no
        /// TCP, no stores): the baseline for the process network's figures.
        #[arg(long, conflicts_with_all = ["kill_restart", "partition"])]
        in_process: bool,
    },
    /// Stop the nodes of a network started by hand (`iosv node --config DIR/node-I.json`, here
    /// or on the hosts of --hosts): SIGTERM through pkill on each node's host, SIGKILL after 5 s
    /// to those still running, remote stores copied back; prints what it did as JSON.
    Down {
        /// The network's folder (absolute with --hosts).
        #[arg(long)]
        dir: PathBuf,
        /// The hosts file the network was started with.
        #[arg(long)]
        hosts: Option<PathBuf>,
    },
    /// Report on a stopped network from its nodes' logs and stores: for a ledger network, the
    /// figures of `net load` (settled tx/s, latency, CPU per role, frauds) and its checks; for a
    /// finality league, each node's finalized heights and the checks of `net check`. Prints
    /// JSON; exit 1 if a check failed.
    Report {
        /// The network's folder.
        #[arg(long)]
        dir: PathBuf,
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
            let mut network = shape.network();
            network.hosts = shape.links.hosts()?.iter().map(|h| h.ip).collect();
            let paths =
                write_local_network(&shape.links.folder()?, &network).map_err(|e| anyhow!(e))?;
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
                dir: shape.links.folder()?,
                hosts: shape.links.hosts()?,
                remote_exe: shape.links.remote_exe.clone(),
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
        NetCommand::Load {
            links,
            ledger,
            seconds,
            kill_restart,
            partition,
            in_process,
        } => {
            let deadline = Duration::from_secs(*seconds);
            if *in_process {
                let report = ledger_launch::run_in_process(&ledger.params(), deadline)
                    .map_err(|e| anyhow!(e))?;
                println!("{}", serde_json::to_string(&report)?);
                return Ok(report.drained && report.figures.forged_committed == 0);
            }
            let plan = LoadPlan {
                exe: std::env::current_exe()?,
                dir: links.folder()?,
                hosts: links.hosts()?,
                remote_exe: links.remote_exe.clone(),
                params: ledger.params(),
                base_port: links.base_port,
                link: links.faults(),
                partitions: partition.clone(),
                metrics_base_port: links.metrics_base_port,
                unsafe_no_fsync: links.unsafe_no_fsync,
                deadline,
                faults: kill_restart.clone(),
            };
            let report = launch_load(&plan).map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(report.ok())
        }
        NetCommand::Down { dir, hosts } => {
            let hosts = match hosts {
                Some(path) => crate::net::hosts::read_hosts(path).map_err(|e| anyhow!(e))?,
                None => Vec::new(),
            };
            let remote = if hosts.iter().any(|h| h.ssh.is_some()) {
                Some(
                    crate::net::hosts::Remote::from_env(std::env::current_exe()?)
                        .map_err(|e| anyhow!(e))?,
                )
            } else {
                None
            };
            let stopped = crate::net::procs::stop_network(
                dir,
                &hosts,
                remote.as_ref(),
                Duration::from_secs(5),
            )
            .map_err(|e| anyhow!(e))?;
            println!("{}", serde_json::to_string(&stopped)?);
            Ok(true)
        }
        NetCommand::Report { dir } => {
            let first = load(&dir.join("node-0.json")).map_err(|e| anyhow!(e))?;
            if first.config.ledger.is_some() {
                let report =
                    crate::net::ledger_report::report_stopped(dir).map_err(|e| anyhow!(e))?;
                println!("{}", serde_json::to_string(&report)?);
                return Ok(report.check.ok() && report.figures.forged_committed == 0);
            }
            let nodes = first.config.members.len();
            let loaded = (0..nodes)
                .map(|i| load(&dir.join(format!("node-{i}.json"))))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow!(e))?;
            let check = check_stores(&loaded).map_err(|e| anyhow!(e))?;
            println!(
                "{}",
                serde_json::to_string(&serde_json::json!({"nodes": nodes, "check": check}))?
            );
            Ok(check.ok())
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

//! A network of node processes on this host: `iosv net up`.
//!
//! Writes the network's files (fresh keys), starts one `iosv node` process per member on
//! loopback ports (or on the hosts of a hosts file, [`super::hosts`]), applies the planned faults (SIGKILL a node at a time, start it again after a
//! pause), watches the processes' logs until every node has finalized the target number of
//! heights or the deadline passes, stops them (SIGTERM, SIGKILL after a grace period) and checks
//! the invariants across their stores (`super::check`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::check::{NetworkCheck, check_stores};
use super::config::{FinalityTiming, LocalNetwork, load, write_local_network};
use super::hosts::Host;
use super::procs::{Launcher, Proc, drive};

/// A node killed with SIGKILL at `at` after the launch and started again `down` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillRestart {
    pub node: usize,
    pub at: Duration,
    pub down: Duration,
}

impl std::str::FromStr for KillRestart {
    type Err = String;

    /// `NODE@AT_MS+DOWN_MS`, e.g. `1@1500+500`: a node and a [`Window`].
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}': expected NODE@AT_MS+DOWN_MS, e.g. 1@1500+500");
        let (node, window) = s.split_once('@').ok_or_else(bad)?;
        let node = node.trim().parse::<usize>().map_err(|_| bad())?;
        let window: Window = window.parse().map_err(|_| bad())?;
        Ok(KillRestart {
            node,
            at: window.at,
            down: window.len,
        })
    }
}

/// A window after launch: starts `at`, lasts `len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub at: Duration,
    pub len: Duration,
}

impl std::str::FromStr for Window {
    type Err = String;

    /// `AT_MS+LEN_MS`, e.g. `1000+800`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}': expected AT_MS+LEN_MS, e.g. 1000+800");
        let (at, len) = s.split_once('+').ok_or_else(bad)?;
        let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        Ok(Window {
            at: Duration::from_millis(num(at)?),
            len: Duration::from_millis(num(len)?),
        })
    }
}

/// Unix milliseconds `w.at` after `origin` and `w.len` later.
pub fn unix_window(origin: std::time::SystemTime, w: Window) -> (u64, u64) {
    let from = (origin + w.at)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    (from, from + w.len.as_millis() as u64)
}

/// What to launch.
#[derive(Clone, Debug)]
pub struct LaunchPlan {
    /// The `iosv` executable to run as each node.
    pub exe: PathBuf,
    pub dir: PathBuf,
    /// Where the nodes run (node i on line i mod lines; empty: all here, on loopback), and
    /// `iosv` on the remote ones ([`super::hosts`]).
    pub hosts: Vec<Host>,
    pub remote_exe: Option<PathBuf>,
    /// The network; its `halves` are replaced by `partitions`, timed from the launch.
    pub network: LocalNetwork,
    /// Windows after launch in which the two halves of the network cannot reach each other.
    pub partitions: Vec<Window>,
    /// Stop once every node finalized this many heights.
    pub heights: u64,
    /// Stop at this deadline whatever the heights.
    pub deadline: Duration,
    pub faults: Vec<KillRestart>,
}

/// How the launch went.
#[derive(Debug, Serialize)]
pub struct LaunchReport {
    pub nodes: usize,
    pub target_heights: u64,
    /// Whether every node reached the target before the deadline.
    pub reached: bool,
    /// From launch to stopped processes.
    pub wall_s: f64,
    /// When the launcher saw every node at the target (its logs are read every 100 ms).
    pub reached_s: Option<f64>,
    /// Heights finalized by the slowest node when the target was seen, per second since launch
    /// (process start-up included).
    pub heights_per_s: f64,
    /// Process starts per node (1 + restarts).
    pub starts: Vec<u32>,
    pub check: NetworkCheck,
}

impl LaunchReport {
    pub fn ok(&self) -> bool {
        self.reached && self.check.ok()
    }
}

/// The highest finalized height + 1 the node's log shows so far (0 if none), reading only the
/// whole lines appended since the last call (the log only grows: restarts append to it); and
/// whether its latest life finalized something (a line counts for the latest life only after
/// that life's own `started` line: as many `started` lines read as the node was started).
fn heights_in_log(p: &mut Proc) -> (u64, bool) {
    for v in p.fresh_lines() {
        match v["event"].as_str() {
            Some("started") => p.starts_logged += 1,
            Some("finalized") => {
                if let Some(h) = v["height"].as_u64() {
                    p.heights = p.heights.max(h + 1);
                }
                p.life_finalized |= p.starts_logged == p.starts;
            }
            _ => {}
        }
    }
    (p.heights, p.life_finalized)
}

/// The same league as [`launch`] would start, in this process on the real-time runner's
/// channels (no TCP, no stores, no processes): the baseline the process network is compared with.
#[derive(Debug, Serialize)]
pub struct InProcessReport {
    pub nodes: usize,
    pub target_heights: u64,
    pub reached: bool,
    pub wall_s: f64,
    pub heights_per_s: f64,
    pub check: NetworkCheck,
}

/// Runs `nodes` finality members with `timing` on the real-time runner until each finalized
/// `heights` (or `deadline`), and checks their logs as [`launch`] checks stores.
pub fn run_in_process(
    nodes: usize,
    heights: u64,
    deadline: Duration,
    timing: FinalityTiming,
) -> InProcessReport {
    use crate::finality::{Member, ProposalSource};
    let seeds: Vec<[u8; 32]> = (0..nodes).map(|_| rand::random()).collect();
    let rng_seeds: Vec<[u8; 32]> = (0..nodes).map(|_| rand::random()).collect();
    let proposals: ProposalSource =
        std::sync::Arc::new(|m, h| Some(super::process::stand_in_proposal(m, h)));
    let league = Member::league(&seeds, &rng_seeds, timing.config(), proposals);
    let mut done = vec![0u64; nodes];
    let begin = Instant::now();
    let run = crate::runtime::run_until(league, begin, deadline, |r| {
        done[r.node as usize] = r.output.height + 1;
        done.iter().all(|&h| h >= heights)
    });
    let wall_s = begin.elapsed().as_secs_f64();
    let verifier = &run.nodes[0];
    let logs: Vec<Vec<crate::finality::Finality>> =
        run.nodes.iter().map(|m| m.finalized().to_vec()).collect();
    let check = super::check::check_logs(&logs, |f| verifier.state().finality_is_valid(f));
    let slowest = check.heights.iter().copied().min().unwrap_or(0);
    InProcessReport {
        nodes,
        target_heights: heights,
        reached: slowest >= heights,
        wall_s,
        heights_per_s: slowest as f64 / wall_s,
        check,
    }
}

/// Runs the plan (see the module documentation).
pub fn launch(plan: &LaunchPlan) -> Result<LaunchReport, String> {
    let nodes = plan.network.nodes;
    for f in &plan.faults {
        if f.node >= nodes {
            return Err(format!(
                "fault on node {} of a {nodes}-node network",
                f.node
            ));
        }
    }
    let launched = std::time::SystemTime::now();
    let network = LocalNetwork {
        halves: plan
            .partitions
            .iter()
            .map(|&w| unix_window(launched, w))
            .collect(),
        hosts: plan.hosts.iter().map(|h| h.ip).collect(),
        ..plan.network.clone()
    };
    let launcher = Launcher::new(plan.exe.clone(), &plan.hosts, plan.remote_exe.clone())?;
    let configs = write_local_network(&plan.dir, &network)?;
    let mut procs = Proc::fresh(&plan.dir, &configs, &plan.hosts);
    launcher.push(&plan.dir, &procs)?;
    let begin = Instant::now();
    let result = procs
        .iter_mut()
        .try_for_each(|p| launcher.spawn(p))
        .and_then(|()| {
            drive(
                &launcher,
                &plan.faults,
                plan.deadline,
                &mut procs,
                begin,
                |procs| {
                    // Every node at the target, and every node's latest life live: a node
                    // restarted just before the others reached the target is waited for.
                    let seen: Vec<(u64, bool)> = procs.iter_mut().map(heights_in_log).collect();
                    let slowest = seen.iter().map(|s| s.0).min().unwrap_or(0);
                    (slowest >= plan.heights && seen.iter().all(|s| s.1)).then_some(slowest)
                },
            )
        });
    launcher.stop_all(&mut procs, Duration::from_secs(5));
    let reached = result?;
    launcher.pull_stores(&plan.dir, &procs)?;
    let wall_s = begin.elapsed().as_secs_f64();
    let loaded = configs
        .iter()
        .map(|c| load(c))
        .collect::<Result<Vec<_>, _>>()?;
    let check = check_stores(&loaded)?;
    Ok(LaunchReport {
        nodes,
        target_heights: plan.heights,
        reached: reached.is_some(),
        wall_s,
        reached_s: reached.map(|(s, _)| s),
        heights_per_s: reached.map_or(0.0, |(s, h)| h as f64 / s),
        starts: procs.iter().map(|p| p.starts).collect(),
        check,
    })
}

//! A network of node processes on this host: `iosv net up`.
//!
//! Writes the network's files (fresh keys), starts one `iosv node` process per member on
//! loopback ports, applies the planned faults (SIGKILL a node at a time, start it again after a
//! pause), watches the processes' logs until every node has finalized the target number of
//! heights or the deadline passes, stops them (SIGTERM, SIGKILL after a grace period) and checks
//! the invariants across their stores (`super::check`).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::check::{NetworkCheck, check_stores};
use super::config::{FinalityTiming, LocalNetwork, load, write_local_network};

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

/// A node process of a launch, by its files.
pub(super) struct Proc {
    pub config: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
    pub starts: u32,
    /// Bytes of the log read so far (whole lines), and the heights they showed.
    pub log_read: u64,
    pub heights: u64,
}

impl Proc {
    /// Node `i` of the network whose configurations are `configs` (in `dir`); its old log and
    /// store are removed (a launch writes a fresh network: fresh keys, fresh stores).
    pub fn fresh(dir: &Path, configs: &[PathBuf]) -> Vec<Proc> {
        configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let log = dir.join(format!("node-{i}.log"));
                let _ = std::fs::remove_file(&log);
                let _ = std::fs::remove_file(log.with_extension("err"));
                let _ = std::fs::remove_file(dir.join(format!("node-{i}.redb")));
                Proc {
                    config: c.clone(),
                    log,
                    child: None,
                    starts: 0,
                    log_read: 0,
                    heights: 0,
                }
            })
            .collect()
    }

    /// The whole lines appended to the log since the last call, as JSON values (the log only
    /// grows: restarts append to it).
    pub fn fresh_lines(&mut self) -> Vec<serde_json::Value> {
        use std::io::{Read, Seek, SeekFrom};
        let mut fresh = Vec::new();
        let read = std::fs::File::open(&self.log).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.log_read))?;
            f.read_to_end(&mut fresh)
        });
        if read.is_err() {
            return Vec::new();
        }
        let whole = fresh.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.log_read += whole as u64;
        fresh[..whole]
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .collect()
    }
}

pub(super) fn spawn(exe: &Path, p: &mut Proc) -> Result<(), String> {
    let open = |path: &Path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let stdout = open(&p.log)?;
    let stderr = open(&p.log.with_extension("err"))?;
    let child = Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(&p.config)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("start {}: {e}", exe.display()))?;
    p.child = Some(child);
    p.starts += 1;
    Ok(())
}

/// The highest finalized height + 1 the node's log shows so far (0 if none), reading only the
/// whole lines appended since the last call (the log only grows: restarts append to it).
fn heights_in_log(p: &mut Proc) -> u64 {
    let newest = p
        .fresh_lines()
        .into_iter()
        .filter(|v| v["event"] == "finalized")
        .filter_map(|v| v["height"].as_u64())
        .map(|h| h + 1)
        .max()
        .unwrap_or(0);
    p.heights = p.heights.max(newest);
    p.heights
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Stops every node at once: SIGTERM to all, then SIGKILL to those that have not exited within
/// `grace`.
pub(super) fn stop_all(procs: &mut [Proc], grace: Duration) {
    let mut children: Vec<Child> = procs.iter_mut().filter_map(|p| p.child.take()).collect();
    for child in &children {
        signal(child, libc::SIGTERM);
    }
    let until = Instant::now() + grace;
    while Instant::now() < until {
        children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if children.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
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
        ..plan.network.clone()
    };
    let configs = write_local_network(&plan.dir, &network)?;
    let mut procs = Proc::fresh(&plan.dir, &configs);
    let begin = Instant::now();
    let result = procs
        .iter_mut()
        .try_for_each(|p| spawn(&plan.exe, p))
        .and_then(|()| {
            drive(
                &plan.exe,
                &plan.faults,
                plan.deadline,
                &mut procs,
                begin,
                |procs| {
                    let slowest = procs.iter_mut().map(heights_in_log).min().unwrap_or(0);
                    (slowest >= plan.heights).then_some(slowest)
                },
            )
        });
    stop_all(&mut procs, Duration::from_secs(5));
    let reached = result?;
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

/// Applies the faults to the started nodes and waits, until `deadline` after `begin`, for
/// `reached` to see the target (it is asked every 100 ms once the faults are done); when it was
/// seen reached and what `reached` said then, if it was.
pub(super) fn drive(
    exe: &Path,
    faults: &[KillRestart],
    deadline: Duration,
    procs: &mut [Proc],
    begin: Instant,
    mut reached: impl FnMut(&mut [Proc]) -> Option<u64>,
) -> Result<Option<(f64, u64)>, String> {
    // (node, when to kill, when to start again), done in order of time.
    let mut kills: Vec<(usize, Duration, Duration)> = faults
        .iter()
        .map(|f| (f.node, f.at, f.at + f.down))
        .collect();
    let mut restarts: Vec<(usize, Duration)> = Vec::new();
    loop {
        let now = begin.elapsed();
        kills.retain(|&(node, at, back)| {
            if now < at {
                return true;
            }
            if let Some(mut child) = procs[node].child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            restarts.push((node, back));
            false
        });
        let mut due = Vec::new();
        restarts.retain(|&(node, back)| {
            if now < back {
                return true;
            }
            due.push(node);
            false
        });
        for node in due {
            spawn(exe, &mut procs[node])?;
        }
        if kills.is_empty()
            && restarts.is_empty()
            && let Some(value) = reached(procs)
        {
            return Ok(Some((begin.elapsed().as_secs_f64(), value)));
        }
        for (i, p) in procs.iter_mut().enumerate() {
            if let Some(child) = p.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "node {i} exited early ({status}); see {}",
                    p.log.with_extension("err").display()
                ));
            }
        }
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

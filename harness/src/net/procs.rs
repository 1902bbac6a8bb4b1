//! Node processes of a launch: starting them (here or on a remote host over SSH, see
//! [`super::hosts`]), killing and restarting them as planned, stopping them, and reading their
//! logs as they grow.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::hosts::{Host, Remote, node_pattern};
use super::launch::KillRestart;

/// A node process of a launch, by its files.
pub struct Proc {
    pub config: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
    /// The SSH destination of the node's host (`None`: this machine).
    pub host: Option<String>,
    pub starts: u32,
    /// Bytes of the log read so far (whole lines), and the heights they showed.
    pub log_read: u64,
    pub heights: u64,
    /// `started` lines read from the log so far, and whether the latest life (the `starts`-th
    /// start) has logged a finalized height since its `started` line (a finality member's
    /// liveness after a restart).
    pub starts_logged: u32,
    pub life_finalized: bool,
}

impl Proc {
    /// Node `i` of the network whose configurations are `configs` (in `dir`), on host
    /// `hosts[i mod hosts]` (this machine if `hosts` is empty); its old log and store are
    /// removed (a launch writes a fresh network: fresh keys, fresh stores).
    pub fn fresh(dir: &Path, configs: &[PathBuf], hosts: &[Host]) -> Vec<Proc> {
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
                    host: (!hosts.is_empty())
                        .then(|| hosts[i % hosts.len()].ssh.clone())
                        .flatten(),
                    starts: 0,
                    log_read: 0,
                    heights: 0,
                    starts_logged: 0,
                    life_finalized: false,
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

/// Starts, signals and collects node processes: `exe` here, `remote` on other hosts.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub exe: PathBuf,
    pub remote: Option<Remote>,
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

impl Launcher {
    /// Runs `exe` here; if any of `hosts` is remote, reaches it over SSH and runs
    /// `remote_exe` there (by default `exe`'s path).
    pub fn new(
        exe: PathBuf,
        hosts: &[Host],
        remote_exe: Option<PathBuf>,
    ) -> Result<Launcher, String> {
        let remote = if hosts.iter().any(|h| h.ssh.is_some()) {
            Some(Remote::from_env(remote_exe.unwrap_or_else(|| exe.clone()))?)
        } else {
            None
        };
        Ok(Launcher { exe, remote })
    }

    fn remote_of<'a>(&'a self, p: &'a Proc) -> Option<(&'a Remote, &'a str)> {
        Some((self.remote.as_ref()?, p.host.as_deref()?))
    }

    /// Starts node `p` (here, or over SSH on its host), its output appended to its log.
    pub fn spawn(&self, p: &mut Proc) -> Result<(), String> {
        let open = |path: &Path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let stdout = open(&p.log)?;
        let stderr = open(&p.log.with_extension("err"))?;
        let mut command = match self.remote_of(p) {
            Some((remote, dest)) => remote.command(dest, &remote.node_line(&p.config)?),
            None => {
                let mut c = Command::new(&self.exe);
                c.arg("node").arg("--config").arg(&p.config);
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("start node {}: {e}", p.config.display()))?;
        p.child = Some(child);
        p.starts += 1;
        p.life_finalized = false;
        Ok(())
    }

    /// SIGKILLs node `p` (on its host, then the SSH session that carried it).
    pub fn kill(&self, p: &mut Proc) {
        if let Some((remote, dest)) = self.remote_of(p) {
            let _ = remote.signal(dest, &p.config, "KILL");
        }
        if let Some(mut child) = p.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops every node at once: SIGTERM to all (remote ones on their hosts), then SIGKILL to
    /// those that have not exited within `grace`.
    pub fn stop_all(&self, procs: &mut [Proc], grace: Duration) {
        for p in procs.iter() {
            if let Some((remote, dest)) = self.remote_of(p)
                && p.child.is_some()
            {
                let _ = remote.signal(dest, &p.config, "TERM");
            }
        }
        let mut children: Vec<(usize, Child)> = procs
            .iter_mut()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.child.take()?)))
            .collect();
        for (_, child) in &children {
            signal(child, libc::SIGTERM);
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            children.retain_mut(|(_, c)| !matches!(c.try_wait(), Ok(Some(_))));
            if children.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for (i, mut child) in children {
            if let Some((remote, dest)) = self.remote_of(&procs[i]) {
                let _ = remote.signal(dest, &procs[i].config, "KILL");
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Copies each remote node's configuration and key files to its host.
    pub fn push(&self, dir: &Path, procs: &[Proc]) -> Result<(), String> {
        for (i, p) in procs.iter().enumerate() {
            if let Some((remote, dest)) = self.remote_of(p) {
                let files: Vec<PathBuf> = ["json", "key", "cosi"]
                    .iter()
                    .map(|ext| dir.join(format!("node-{i}.{ext}")))
                    .filter(|f| f.exists())
                    .collect();
                remote.push(dest, dir, &files)?;
            }
        }
        Ok(())
    }

    /// Copies each remote node's store back here, for the checks.
    pub fn pull_stores(&self, dir: &Path, procs: &[Proc]) -> Result<(), String> {
        for (i, p) in procs.iter().enumerate() {
            if let Some((remote, dest)) = self.remote_of(p) {
                remote.pull(dest, &dir.join(format!("node-{i}.redb")))?;
            }
        }
        Ok(())
    }
}

/// Applies the faults to the started nodes and waits, until `deadline` after `begin`, for
/// `reached` to see the target (it is asked every 100 ms once the faults are done); when it was
/// seen reached and what `reached` said then, if it was.
pub(super) fn drive(
    launcher: &Launcher,
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
            launcher.kill(&mut procs[node]);
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
            launcher.spawn(&mut procs[node])?;
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

/// Largest network `iosv net down` looks for.
const MAX_NODES: usize = 1_000;

/// What `iosv net down` did to one node.
#[derive(Debug, serde::Serialize)]
pub struct Stopped {
    pub node: usize,
    /// `None`: this machine.
    pub host: Option<String>,
    /// Whether a process of the node was still running after the grace period (then SIGKILLed).
    pub killed: bool,
}

/// Stops every node of the network in `dir` started by hand (`iosv node --config
/// DIR/node-i.json`, here or on the hosts of `hosts`): SIGTERM through `pkill` on each node's
/// host, SIGKILL after `grace` to those still running, then each remote node's store copied back.
pub fn stop_network(
    dir: &Path,
    hosts: &[Host],
    remote: Option<&Remote>,
    grace: Duration,
) -> Result<Vec<Stopped>, String> {
    let configs: Vec<PathBuf> = (0..MAX_NODES)
        .map(|i| dir.join(format!("node-{i}.json")))
        .take_while(|c| c.exists())
        .collect();
    if configs.is_empty() {
        return Err(format!("no node-0.json in {}", dir.display()));
    }
    let host_of = |i: usize| {
        (!hosts.is_empty())
            .then(|| hosts[i % hosts.len()].ssh.clone())
            .flatten()
    };
    let patterns = configs
        .iter()
        .map(|c| node_pattern(c))
        .collect::<Result<Vec<_>, _>>()?;
    // `pgrep`/`pkill` here, or over SSH on the node's host; whether it found the node.
    let procps = |i: usize, args: &[&str]| -> bool {
        let output = match (host_of(i), remote) {
            (Some(dest), Some(r)) => {
                let line = format!("{} '{}'", args.join(" "), patterns[i]);
                r.command(&dest, &line).stdin(Stdio::null()).output()
            }
            _ => Command::new(args[0])
                .args(&args[1..])
                .arg(&patterns[i])
                .stdin(Stdio::null())
                .output(),
        };
        output.is_ok_and(|o| o.status.success())
    };
    let running = |i: usize| procps(i, &["pgrep", "-f"]);
    let signal = |i: usize, sig: &str| {
        procps(i, &["pkill", &format!("-{sig}"), "-f"]);
    };
    for i in 0..configs.len() {
        signal(i, "TERM");
    }
    let until = Instant::now() + grace;
    let mut left: Vec<usize> = (0..configs.len()).collect();
    while !left.is_empty() && Instant::now() < until {
        left.retain(|&i| running(i));
        std::thread::sleep(Duration::from_millis(100));
    }
    for &i in &left {
        signal(i, "KILL");
    }
    let mut stopped = Vec::new();
    for i in 0..configs.len() {
        let host = host_of(i);
        if let (Some(dest), Some(r)) = (&host, remote) {
            r.pull(dest, &dir.join(format!("node-{i}.redb")))?;
        }
        stopped.push(Stopped {
            node: i,
            host,
            killed: left.contains(&i),
        });
    }
    Ok(stopped)
}

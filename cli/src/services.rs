//! The daemons of the stack and how to start, stop, kill and reload each on a machine.
//!
//! Everything goes through [`Machine::exec`] with short shell snippets that use the
//! daemon's own pidfile, so the same code serves a netns node (no systemd) and a plain host;
//! a daemon is only ever signalled by the PID in its pidfile, never by name.

use std::time::{Duration, Instant};

use crate::lab::model::{Engine, Node};

/// What halab needs from a machine, whichever provider made it.
pub trait Machine: Sync {
    fn name(&self) -> &str;
    /// Runs argv; Ok carries the exit status and output even when the command failed.
    fn exec(&self, argv: &[&str]) -> Result<Output, String>;
    /// Writes a file atomically with the given mode (parent directories created).
    fn write_file(&self, path: &str, mode: u32, bytes: &[u8]) -> Result<(), String>;
    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    /// Whether systemd manages services here (start/stop/reload go through systemctl).
    fn systemd(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Nginx,
    Haproxy,
    Keepalived,
    Halabd,
}

/// halabd's status API inside a node (loopback of the node's own namespace).
pub const HALABD_API: &str = "127.0.0.1:9406";

/// Where halabd is installed on a machine before it starts: beside the keepalived.conf it
/// reads. A netns node cannot see the host's /tmp or /run (its own are private), where a
/// build tree may well lie, so the binary is put on the machine like any other file.
pub const HALABD_ON_MACHINE: &str = "/etc/keepalived/halabd";

/// keepalived's VRRP child's pidfile on a node halab starts it on (`-r`).
const KEEPALIVED_VRRP_PID: &str = "/run/keepalived/vrrp.pid";
/// Its default, where Debian's unit (no `-r`) has it.
const KEEPALIVED_VRRP_PID_SYSTEMD: &str = "/run/vrrp.pid";

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Nginx,
        Service::Haproxy,
        Service::Keepalived,
        Service::Halabd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Nginx => "nginx",
            Service::Haproxy => "haproxy",
            Service::Keepalived => "keepalived",
            Service::Halabd => "halabd",
        }
    }

    pub fn parse(s: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|x| x.name() == s)
    }

    pub fn pidfile(self) -> &'static str {
        match self {
            Service::Nginx => "/run/nginx.pid",
            Service::Haproxy => "/run/haproxy.pid",
            Service::Keepalived => "/run/keepalived.pid",
            Service::Halabd => "/run/halabd.pid",
        }
    }

    /// The services a node runs, in start order (web first, then the proxy, then VRRP).
    pub fn for_node(node: &Node) -> Vec<Service> {
        let mut out = Vec::new();
        if node.web.is_some() {
            out.push(Service::Nginx);
        }
        match node.engine {
            Some(Engine::Keepalived) => out.extend([Service::Haproxy, Service::Keepalived]),
            Some(Engine::Halabd) => out.extend([Service::Haproxy, Service::Halabd]),
            None => {}
        }
        out
    }

    /// The shell command that starts it in the background, its logs under /var/log.
    fn start_script(self) -> String {
        match self {
            // The file-descriptor limit a systemd unit would set (LimitNOFILE): haproxy sizes
            // itself from maxconn and refuses to start below what it needs.
            Service::Nginx => format!("{NOFILE}; exec nginx -c /etc/nginx/nginx.conf"),
            Service::Haproxy => {
                format!("{NOFILE}; exec haproxy -D -p /run/haproxy.pid -f /etc/haproxy/haproxy.cfg")
            }
            // Foreground with console logging, backgrounded here: the node has no syslog,
            // and keepalived's own lines are what an operator reads.
            Service::Keepalived => format!(
                "keepalived -n -l -D -P -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid -r {KEEPALIVED_VRRP_PID} </dev/null >>/var/log/keepalived.log 2>&1 &"
            ),
            Service::Halabd => format!(
                "{HALABD_ON_MACHINE} -f /etc/keepalived/keepalived.conf --pid-file /run/halabd.pid --api {HALABD_API} </dev/null >>/var/log/halabd.log 2>&1 &"
            ),
        }
    }
}

const NOFILE: &str = "ulimit -n 1048576 2>/dev/null || ulimit -n 262144 2>/dev/null || true";

pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("failed to {action} {service} on {node}: {reason}")]
    Failed {
        action: &'static str,
        service: &'static str,
        node: String,
        reason: String,
    },
}

fn fail(
    action: &'static str,
    s: Service,
    m: &dyn Machine,
    reason: impl Into<String>,
) -> ServiceError {
    ServiceError::Failed {
        action,
        service: s.name(),
        node: m.name().to_string(),
        reason: reason.into(),
    }
}

/// The PID in the service's pidfile, if the process lives.
pub fn running_pid(m: &dyn Machine, s: Service) -> Option<i32> {
    let bytes = m.read_file(s.pidfile()).ok()??;
    let pid: i32 = String::from_utf8_lossy(&bytes)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let p = pid.to_string();
    m.exec(&["kill", "-0", &p])
        .ok()
        .filter(Output::ok)
        .map(|_| pid)
}

fn wait_for(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Puts the halabd binary `halabd_bin` (a path on this machine) on `m`, unless it is there.
fn install_halabd(m: &dyn Machine, halabd_bin: &str) -> Result<(), ServiceError> {
    if m.exec(&["test", "-x", HALABD_ON_MACHINE])
        .is_ok_and(|o| o.ok())
    {
        return Ok(());
    }
    let bytes = std::fs::read(halabd_bin).map_err(|e| {
        fail(
            "install",
            Service::Halabd,
            m,
            format!("{halabd_bin}: {e} (build it: cargo build -p halabd)"),
        )
    })?;
    m.write_file(HALABD_ON_MACHINE, 0o755, &bytes)
        .map_err(|e| fail("install", Service::Halabd, m, e))?;
    // A process forked by another thread of halab (another lab of `halab test --jobs`) while
    // the file was open for writing holds that descriptor until it execs, and until then
    // the binary cannot be executed ("Text file busy"). Once one run works, nothing holds
    // it any more: the file is closed here, so later forks do not inherit it.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let out = m.exec(&[HALABD_ON_MACHINE, "--version"]);
        let busy = out
            .as_ref()
            .is_ok_and(|o| !o.ok() && o.stderr.contains("Text file busy"));
        if !busy || Instant::now() >= end {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts the service unless it runs; returns its PID once its pidfile names a live process.
/// `halabd_bin` is the halabd binary on this machine, installed on `m` before halabd starts.
pub fn start(m: &dyn Machine, s: Service, halabd_bin: &str) -> Result<i32, ServiceError> {
    if let Some(pid) = running_pid(m, s) {
        return Ok(pid);
    }
    // Under systemd the unit names the binary: a package's (ssh provider, Debian hosts) or
    // the one the provider sent with the files.
    if s == Service::Halabd && !m.systemd() {
        install_halabd(m, halabd_bin)?;
    }
    let script = if m.systemd() {
        format!("systemctl start {}", s.name())
    } else {
        s.start_script()
    };
    let out = m
        .exec(&["sh", "-c", &script])
        .map_err(|e| fail("start", s, m, e))?;
    if !out.ok() {
        return Err(fail(
            "start",
            s,
            m,
            format!(
                "exit {}: {}{}",
                out.code,
                out.stdout.trim(),
                out.stderr.trim()
            ),
        ));
    }
    let mut pid = None;
    if wait_for(Duration::from_secs(10), || {
        pid = running_pid(m, s);
        pid.is_some()
    }) {
        let pid = pid.ok_or_else(|| fail("start", s, m, "no pid"))?;
        wait_engine_started(m, s, pid);
        return Ok(pid);
    }
    let log = log_tail(m, s);
    Err(fail(
        "start",
        s,
        m,
        format!(
            "its pidfile {} named no live process within 10 s{log}",
            s.pidfile()
        ),
    ))
}

/// How long `start` waits for a VRRP engine to start its instances once its pidfile names it.
pub const ENGINE_START: Duration = Duration::from_secs(10);

/// A VRRP engine has started when each of its instances has left INIT, i.e. listens with its
/// first Master_Down_Timer armed, not when its pidfile appears: halabd writes the pidfile
/// before it opens its sockets and runs its weight-0 track scripts once, and a peer's advert
/// sent meanwhile is not heard (issue #17: lb-a stopped 26 ms after `up` started lb-b's
/// halabd; lb-b missed lb-a's priority-0 advert and took over after 3.6 s instead of 0.6 s).
/// Nor can two engines started one after the other then race: the first one's timer runs
/// before the second is even launched. Waits at most [`ENGINE_START`] (a track script that
/// never returns keeps an instance in INIT: keepalived's behaviour, not a failed start).
/// halabd reports its states on its API; keepalived in its JSON dump, asked (a real-time
/// signal, fatal to a process without its handler) once its VRRP child's pidfile names a
/// live process.
fn wait_engine_started(m: &dyn Machine, s: Service, pid: i32) {
    match s {
        Service::Halabd => {
            // An API that never answers (turned off in a host's own unit) ends the wait early.
            let silent_until = Instant::now() + Duration::from_secs(2);
            wait_for(ENGINE_START, || match halabd_status(m) {
                Some(st) => {
                    u32::try_from(pid).is_ok_and(|p| p == st.daemon.pid)
                        && !st.instances.is_empty()
                        && st
                            .instances
                            .iter()
                            .all(|i| i.state != halab_api::VrrpState::Init)
                }
                None => Instant::now() >= silent_until,
            });
        }
        Service::Keepalived => {
            // Its JSON dump only once the VRRP child lives (the parent forwards the signal
            // to it, which answers once its instances are set up); never an older dump.
            // Under systemd (Type=notify) `systemctl start` returns once the parent says it
            // is ready, which it does right after forking the child: the same wait. A host
            // whose child writes no pidfile where looked for ends the wait early.
            let pidfile = if m.systemd() {
                KEEPALIVED_VRRP_PID_SYSTEMD
            } else {
                KEEPALIVED_VRRP_PID
            };
            let silent_until = Instant::now() + Duration::from_secs(3);
            let mut child = false;
            wait_for(ENGINE_START, || {
                let named = m
                    .read_file(pidfile)
                    .ok()
                    .flatten()
                    .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<i32>().ok());
                child = named.is_some_and(|p| {
                    m.exec(&["kill", "-0", &p.to_string()])
                        .is_ok_and(|o| o.ok())
                });
                child || (named.is_none() && Instant::now() >= silent_until)
            });
            let _ = m.exec(&["rm", "-f", "/tmp/keepalived.json"]);
            if child {
                wait_for(ENGINE_START, || keepalived_started(m));
            }
        }
        _ => {}
    }
}

fn log_tail(m: &dyn Machine, s: Service) -> String {
    let path = match s {
        Service::Nginx => "/var/log/nginx/error.log",
        Service::Haproxy => return String::new(),
        Service::Keepalived => "/var/log/keepalived.log",
        Service::Halabd => "/var/log/halabd.log",
    };
    match m.read_file(path) {
        Ok(Some(b)) => {
            let text = String::from_utf8_lossy(&b);
            let tail: Vec<&str> = text.lines().rev().take(8).collect();
            format!(
                "; last lines of {path}:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        }
        _ => String::new(),
    }
}

/// How a running service is made to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// SIGTERM, as `systemctl stop` sends; waits until it is gone.
    Graceful,
    /// SIGKILL of the daemon and every process it forked: a crash.
    Kill,
}

/// Stops the service; Ok(false) when it was not running.
pub fn stop(m: &dyn Machine, s: Service, how: Stop) -> Result<bool, ServiceError> {
    let Some(pid) = running_pid(m, s) else {
        return Ok(false);
    };
    let p = pid.to_string();
    let script = match how {
        // The children first-level and below (nginx workers, keepalived's VRRP child), all
        // stopped before any is killed: keepalived's VRRP child gets SIGTERM when its parent
        // dies (PR_SET_PDEATHSIG) and, if it could still run, would shut down cleanly with a
        // priority-0 advert: a graceful stop, not a crash. Seen once in CI under load.
        // Only the daemon's own signal decides: a child listed a moment ago may be gone by
        // now (a track script, a notify script), and its "No such process" is no failure.
        Stop::Kill => format!(
            "kill -STOP {p} || exit 1; kids=\"{}\"; kill -STOP $kids 2>/dev/null; kill -KILL {p} $kids 2>/dev/null; exit 0",
            descendants(&p)
        ),
        Stop::Graceful if m.systemd() => format!("systemctl stop {}", s.name()),
        Stop::Graceful => format!("kill -TERM {p}"),
    };
    let out = m
        .exec(&["sh", "-c", &script])
        .map_err(|e| fail("stop", s, m, e))?;
    // A failed signal while the process lives (not one that died meanwhile, a crash racing
    // the kill) is the only quick failure; otherwise its end is waited for: right after a
    // SIGKILL the process may not have died yet, or not been reaped.
    if !out.ok() && running_pid(m, s) == Some(pid) {
        return Err(fail("stop", s, m, out.stderr.trim().to_string()));
    }
    if !wait_for(Duration::from_secs(10), || running_pid(m, s) != Some(pid)) {
        let why = if out.ok() {
            String::new()
        } else {
            format!(" ({})", out.stderr.trim())
        };
        return Err(fail(
            "stop",
            s,
            m,
            format!("pid {pid} still alive 10 s after the signal{why}"),
        ));
    }
    Ok(true)
}

/// A shell word list of the PIDs of `p`'s children and grandchildren (nginx workers,
/// keepalived's VRRP child and the scripts it runs), read when the shell runs it.
fn descendants(p: &str) -> String {
    format!(
        "$(cat /proc/{p}/task/*/children 2>/dev/null) $(for c in $(cat /proc/{p}/task/*/children 2>/dev/null); do cat /proc/$c/task/*/children 2>/dev/null; done)"
    )
}

/// Makes the service re-read its configuration without dropping connections.
pub fn reload(m: &dyn Machine, s: Service, halabd_bin: &str) -> Result<(), ServiceError> {
    let Some(pid) = running_pid(m, s) else {
        return start(m, s, halabd_bin).map(|_| ());
    };
    let p = pid.to_string();
    let out = match s {
        _ if m.systemd() => m.exec(&["systemctl", "reload", s.name()]),
        // haproxy's soft reload: a new process takes the sockets, the old one finishes.
        Service::Haproxy => m.exec(&[
            "sh",
            "-c",
            &format!(
                "{NOFILE}; exec haproxy -D -p /run/haproxy.pid -f /etc/haproxy/haproxy.cfg -sf {p}"
            ),
        ]),
        _ => m.exec(&["kill", "-HUP", &p]),
    }
    .map_err(|e| fail("reload", s, m, e))?;
    if !out.ok() {
        return Err(fail(
            "reload",
            s,
            m,
            format!("{}{}", out.stdout.trim(), out.stderr.trim()),
        ));
    }
    Ok(())
}

/// SIGSTOP / SIGCONT: a frozen host, as far as the daemon's peers can tell.
pub fn freeze(m: &dyn Machine, s: Service, frozen: bool) -> Result<bool, ServiceError> {
    let Some(bytes) = m
        .read_file(s.pidfile())
        .map_err(|e| fail("freeze", s, m, e))?
    else {
        return Ok(false);
    };
    let p = String::from_utf8_lossy(&bytes).trim().to_string();
    let sig = if frozen { "-STOP" } else { "-CONT" };
    // As for a kill: the daemon's own signal decides, not a child that ended meanwhile.
    let script = format!(
        "kill {sig} {p} || exit 1; kids=\"$(cat /proc/{p}/task/*/children 2>/dev/null)\"; kill {sig} $kids 2>/dev/null; exit 0"
    );
    let out = m
        .exec(&["sh", "-c", &script])
        .map_err(|e| fail("freeze", s, m, e))?;
    Ok(out.ok())
}

/// keepalived's JSON dump (signal 36 on Debian's build): /tmp/keepalived.json in the node,
/// one object per instance.
pub(crate) fn keepalived_dump(m: &dyn Machine) -> Vec<serde_json::Value> {
    if running_pid(m, Service::Keepalived).is_none() {
        return vec![];
    }
    // The old dump goes first: a new one identical to it (the state did not move) would
    // otherwise be indistinguishable from no dump yet, and cost the whole deadline.
    let before = m.read_file("/tmp/keepalived.json").ok().flatten();
    let Ok(out) = m.exec(&["sh", "-c", "rm -f /tmp/keepalived.json; kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid)"]) else { return vec![] };
    if !out.ok() {
        return vec![];
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let text = loop {
        let now = m.read_file("/tmp/keepalived.json").ok().flatten();
        if let Some(t) = now.filter(|t| serde_json::from_slice::<serde_json::Value>(t).is_ok()) {
            break t;
        }
        if Instant::now() >= deadline {
            // No answer in time (a loaded or frozen daemon): the last dump is the best guess.
            match before {
                Some(b) => break b,
                None => return vec![],
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(items)) => items,
        _ => vec![],
    }
}

/// Whether keepalived has started every instance: none in INIT, none in the silent FAULT
/// it holds an instance in until its weight-0 track scripts have run once (state FAULT,
/// wantstate BACKUP; a real fault wants FAULT), deaf to adverts meanwhile.
pub(crate) fn keepalived_started(m: &dyn Machine) -> bool {
    let items = keepalived_dump(m);
    !items.is_empty()
        && items.iter().all(|i| {
            let field = |k: &str| {
                i.get("data")
                    .and_then(|d| d.get(k))
                    .and_then(serde_json::Value::as_u64)
            };
            match (field("state"), field("wantstate")) {
                (Some(1 | 2), _) => true,
                (Some(3), Some(want)) => want == 3,
                _ => false,
            }
        })
}

pub fn halabd_status(m: &dyn Machine) -> Option<halab_api::Status> {
    // curl is not assumed on nodes; a tiny client in the node's netns is.
    let out = m.exec(&["bash", "-c", &format!("exec 3<>/dev/tcp/{}/{} && printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3", api_host(), api_port())]).ok()?;
    let body = out.stdout.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn api_host() -> String {
    HALABD_API
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

fn api_port() -> u16 {
    HALABD_API
        .parse::<std::net::SocketAddr>()
        .map(|a| a.port())
        .unwrap_or(9406)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// This machine, with the pidfiles in a temp dir.
    struct Local(PathBuf);

    impl Machine for Local {
        fn name(&self) -> &str {
            "local"
        }
        fn exec(&self, argv: &[&str]) -> Result<Output, String> {
            let o = std::process::Command::new(argv[0])
                .args(&argv[1..])
                .output()
                .map_err(|e| e.to_string())?;
            Ok(Output {
                code: o.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&o.stdout).into(),
                stderr: String::from_utf8_lossy(&o.stderr).into(),
            })
        }
        fn write_file(&self, _: &str, _: u32, _: &[u8]) -> Result<(), String> {
            Err("not needed".into())
        }
        fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
            let name = path.rsplit('/').next().unwrap_or(path);
            Ok(std::fs::read(self.0.join(name)).ok())
        }
    }

    /// A "daemon" forking a short-lived child without pause (a track script run in a loop),
    /// its PID in a service's pidfile, reaped by a thread of the test as init would; killed
    /// on drop if a failed check left it running.
    struct Churning {
        pid: i32,
        reaper: Option<std::thread::JoinHandle<()>>,
    }

    impl Churning {
        fn start(m: &Local, s: Service) -> Churning {
            let mut child = std::process::Command::new("sh")
                .args(["-c", "while :; do /bin/true; done"])
                .spawn()
                .expect("sh");
            let pid = i32::try_from(child.id()).expect("pid");
            std::fs::write(m.0.join(format!("{}.pid", s.name())), pid.to_string())
                .expect("pidfile");
            let reaper = std::thread::spawn(move || {
                let _ = child.wait();
            });
            std::thread::sleep(Duration::from_millis(20));
            Churning {
                pid,
                reaper: Some(reaper),
            }
        }
    }

    impl Drop for Churning {
        fn drop(&mut self) {
            let Some(reaper) = self.reaper.take() else {
                return;
            };
            if !reaper.is_finished() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .status();
            }
            let _ = reaper.join();
        }
    }

    /// Input: a daemon whose children come and go every millisecond, killed 20 times.
    /// Output: every kill succeeds; a child that ended between its listing and the signal is
    /// no failure (CI, chaos: "failed to stop halabd: kill: No such process", the daemon's
    /// track script having ended; 39 of 40 such kills failed before).
    #[test]
    fn a_kill_is_not_failed_by_a_child_that_ended_meanwhile() {
        let dir = tempfile::tempdir().expect("tmp");
        let m = Local(dir.path().to_path_buf());
        for _ in 0..20 {
            let d = Churning::start(&m, Service::Halabd);
            let r = stop(&m, Service::Halabd, Stop::Kill);
            assert!(matches!(r, Ok(true)), "pid {}: {r:?}", d.pid);
            drop(d);
            assert_eq!(running_pid(&m, Service::Halabd), None);
        }
    }

    /// Input: the same daemon frozen and thawed 20 times. Output: each signal reported as
    /// delivered; then a kill ends it.
    #[test]
    fn a_freeze_is_not_failed_by_a_child_that_ended_meanwhile() {
        let dir = tempfile::tempdir().expect("tmp");
        let m = Local(dir.path().to_path_buf());
        let d = Churning::start(&m, Service::Keepalived);
        for _ in 0..20 {
            for frozen in [true, false] {
                let r = freeze(&m, Service::Keepalived, frozen);
                assert!(matches!(r, Ok(true)), "{r:?}");
            }
        }
        let r = stop(&m, Service::Keepalived, Stop::Kill);
        assert!(matches!(r, Ok(true)), "{r:?}");
        drop(d);
    }
}

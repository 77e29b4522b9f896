//! Reading what `track_file` and `vrrp_track_process` watch: a file's number (keepalived's
//! `process_track_file`), the processes in /proc (keepalived's `read_procs`), and a task that
//! polls both and reports changes to the loop.
//!
//! keepalived is told by inotify (files) and the netlink process connector (processes);
//! halabd polls every [`POLL`] instead, so it notices a change up to that much later.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;
use tokio::task::AbortHandle;

use super::Event;
use crate::conf::{ParamMatch, TrackFileConf, TrackProcessConf};

/// How often files and /proc are read.
pub const POLL: Duration = Duration::from_millis(250);

/// keepalived's reading of a track file: the number at its start as strtol(buf, NULL, 0)
/// reads it (leading blanks, sign, 0x hex or 0 octal, anything after ignored), 0 for a
/// missing, unreadable or empty file or one not starting with a number; None (keep the last
/// value) when it is out of range ("Invalid number ... - ignoring").
pub fn read_file_value(path: &str) -> Option<i64> {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Some(0);
    };
    let mut buf = [0u8; 127];
    let len = file.read(&mut buf).unwrap_or(0);
    parse_strtol(&buf[..len])
}

/// strtol(text, NULL, 0) within keepalived's accepted range (i32::MIN..=i32::MAX + 1).
pub fn parse_strtol(text: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < text.len() && matches!(text[i], b'+' | b'-') {
        negative = text[i] == b'-';
        i += 1;
    }
    let rest = &text[i..];
    let (radix, digits) = if rest.len() > 2
        && rest[0] == b'0'
        && matches!(rest[1], b'x' | b'X')
        && rest[2].is_ascii_hexdigit()
    {
        (16, &rest[2..])
    } else if rest.first() == Some(&b'0') {
        (8, rest)
    } else {
        (10, rest)
    };
    let mut value: i128 = 0;
    for &c in digits {
        let Some(d) = char::from(c).to_digit(radix) else {
            break;
        };
        value = value * i128::from(radix) + i128::from(d);
        if value > i128::from(i64::MAX) + 1 {
            // strtol sets ERANGE: keepalived ignores the read.
            return None;
        }
    }
    let value = if negative { -value } else { value };
    (i128::from(i32::MIN)..=i128::from(i32::MAX) + 1)
        .contains(&value)
        .then(|| i64::try_from(value).ok())
        .flatten()
}

/// keepalived's `init_file [VALUE] [overwrite]`: at start (not on reload), write VALUE to the
/// file if it does not exist, or with `overwrite` if it is a regular file.
pub fn init_file(conf: &TrackFileConf) -> Result<(), String> {
    let Some((value, overwrite)) = conf.init else {
        return Ok(());
    };
    match std::fs::metadata(&conf.file) {
        Ok(_) if !overwrite => return Ok(()),
        Ok(meta) if !meta.is_file() => {
            return Err(format!(
                "Cannot initialise track file {} - it is not a regular file",
                conf.name
            ));
        }
        _ => {}
    }
    std::fs::write(&conf.file, format!("{value}\n"))
        .map_err(|e| format!("Unable to initialise track file {}: {e}", conf.name))
}

/// One process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// The name in /proc/PID/stat (comm); None for a zombie.
    pub comm: Option<String>,
    /// /proc/PID/cmdline: the words, each ended by NUL.
    pub cmdline: Vec<u8>,
}

/// Every process in /proc now (cmdline read only when `cmdline` is asked for).
pub fn read_procs(cmdline: bool) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| {
            let path = e.path();
            let stat = std::fs::read(path.join("stat")).ok()?;
            let cmdline = if cmdline {
                std::fs::read(path.join("cmdline")).unwrap_or_default()
            } else {
                Vec::new()
            };
            Some(Proc {
                comm: comm_of(&stat),
                cmdline,
            })
        })
        .collect()
}

/// The comm field of /proc/PID/stat (`PID (comm) S ...`), as keepalived cuts it (first `(`,
/// first `)` after it); None for a zombie (state Z).
fn comm_of(stat: &[u8]) -> Option<String> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = open + stat[open..].iter().position(|&b| b == b')')?;
    if stat.get(close + 2) == Some(&b'Z') {
        return None;
    }
    Some(String::from_utf8_lossy(&stat[open + 1..close]).into_owned())
}

/// Whether `proc` is one `conf` counts (keepalived `read_procs` / `check_params`).
pub fn matches(conf: &TrackProcessConf, proc: &Proc) -> bool {
    if !conf.full_command {
        return proc.comm.as_deref() == Some(conf.process.as_str());
    }
    let argv0_end = proc
        .cmdline
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(proc.cmdline.len());
    if proc.cmdline[..argv0_end] != *conf.process.as_bytes() {
        return false;
    }
    let params = proc.cmdline.get(argv0_end + 1..).unwrap_or_default();
    let wanted: Vec<u8> = conf
        .args
        .iter()
        .flat_map(|a| a.bytes().chain(std::iter::once(0)))
        .collect();
    match conf.param_match {
        ParamMatch::Any => true,
        ParamMatch::Exact => params == wanted.as_slice(),
        ParamMatch::Partial => params.starts_with(&wanted),
        // The last word wanted, without its NUL, may be a prefix of the process's.
        ParamMatch::Initial => wanted.is_empty() || params.starts_with(&wanted[..wanted.len() - 1]),
    }
}

/// Whether `conf` has its quorum among `procs`.
pub fn has_quorum(conf: &TrackProcessConf, procs: &[Proc]) -> bool {
    let count = procs.iter().filter(|p| matches(conf, p)).count();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    count >= conf.quorum && count <= conf.quorum_max.unwrap_or(u32::MAX)
}

/// What the loop learns from the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    File { name: String, value: i64 },
    Process { name: String, up: bool },
}

/// The values at a moment: files' numbers, processes' quorum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub files: HashMap<String, i64>,
    pub processes: HashMap<String, bool>,
}

/// Reads every tracked file and process now (at start and reload, as keepalived's init).
pub fn read_now(files: &[TrackFileConf], processes: &[TrackProcessConf]) -> Values {
    let mut values = Values::default();
    for f in files {
        values
            .files
            .insert(f.name.clone(), read_file_value(&f.file).unwrap_or(0));
    }
    if !processes.is_empty() {
        let procs = read_procs(processes.iter().any(|p| p.full_command));
        for p in processes {
            values
                .processes
                .insert(p.name.clone(), has_quorum(p, &procs));
        }
    }
    values
}

/// The polling task; stops when dropped.
pub struct Watcher {
    task: AbortHandle,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A process's quorum change waiting out its delay.
struct Waiting {
    up: bool,
    since: Instant,
}

impl Watcher {
    /// Polls `files` and `processes` from `start` on, sending each change (processes after
    /// `fork_delay` for a gain, `terminate_delay` for a loss, `delay` setting both).
    pub fn spawn(
        files: Vec<TrackFileConf>,
        processes: Vec<TrackProcessConf>,
        start: Values,
        generation: u64,
        tx: Sender<Event>,
    ) -> Self {
        let task = tokio::spawn(async move {
            let mut known = start;
            let mut waiting: HashMap<String, Waiting> = HashMap::new();
            let full = processes.iter().any(|p| p.full_command);
            loop {
                tokio::time::sleep(POLL).await;
                let mut changes = Vec::new();
                for f in &files {
                    let Some(value) = read_file_value(&f.file) else {
                        continue;
                    };
                    if known.files.insert(f.name.clone(), value) != Some(value) {
                        changes.push(Change::File {
                            name: f.name.clone(),
                            value,
                        });
                    }
                }
                if !processes.is_empty() {
                    let procs = read_procs(full);
                    let now = Instant::now();
                    for p in &processes {
                        let up = has_quorum(p, &procs);
                        let was = known.processes.get(&p.name).copied().unwrap_or(false);
                        if up == was {
                            waiting.remove(&p.name);
                            continue;
                        }
                        let delay = Duration::from_millis(if up {
                            p.fork_delay_ms.unwrap_or(p.delay_ms)
                        } else {
                            p.terminate_delay_ms.unwrap_or(p.delay_ms)
                        });
                        let since = match waiting.get(&p.name) {
                            Some(w) if w.up == up => w.since,
                            _ => {
                                waiting.insert(p.name.clone(), Waiting { up, since: now });
                                now
                            }
                        };
                        if now.duration_since(since) >= delay {
                            waiting.remove(&p.name);
                            known.processes.insert(p.name.clone(), up);
                            changes.push(Change::Process {
                                name: p.name.clone(),
                                up,
                            });
                        }
                    }
                }
                for change in changes {
                    if tx
                        .send(Event::Tracked { generation, change })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        Self {
            task: task.abort_handle(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input: file contents keepalived reads with strtol(buf, NULL, 0). Output: its numbers
    /// (0 when nothing numeric), None out of range.
    #[test]
    fn file_values_are_read_as_strtol_reads_them() {
        let cases: [(&[u8], Option<i64>); 10] = [
            (b"5\n", Some(5)),
            (b"  -12 rest", Some(-12)),
            (b"0x10", Some(16)),
            (b"010", Some(8)),
            (b"", Some(0)),
            (b"abc", Some(0)),
            (b"+7", Some(7)),
            (b"2147483648", Some(2_147_483_648)),
            (b"2147483649", None),
            (b"99999999999999999999999", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_strtol(text),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(read_file_value("/nonexistent/halab-track"), Some(0));
    }

    /// Input: init_file on a missing file, an existing one, and with overwrite. Output: the
    /// missing one created with the value, the existing one kept unless overwrite.
    #[test]
    fn init_file_creates_as_keepalived() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut conf = TrackFileConf {
            name: "f".into(),
            file: path.to_string_lossy().into_owned(),
            weight: 1,
            reverse: false,
            init: Some((3, false)),
        };
        init_file(&conf).expect("init");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "3\n");
        std::fs::write(&path, "9\n").expect("write");
        conf.init = Some((4, false));
        init_file(&conf).expect("init");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "9\n");
        conf.init = Some((4, true));
        init_file(&conf).expect("init");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "4\n");
        conf.file = dir.path().to_string_lossy().into_owned();
        assert!(init_file(&conf).is_err());
    }

    fn proc(comm: &str, cmdline: &[&str]) -> Proc {
        Proc {
            comm: Some(comm.into()),
            cmdline: cmdline
                .iter()
                .flat_map(|w| w.bytes().chain(std::iter::once(0)))
                .collect(),
        }
    }

    fn conf(process: &str, args: &[&str], how: ParamMatch, full: bool) -> TrackProcessConf {
        TrackProcessConf {
            name: "p".into(),
            process: process.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            param_match: how,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            delay_ms: 0,
            terminate_delay_ms: None,
            fork_delay_ms: None,
            full_command: full,
        }
    }

    /// Input: processes against keepalived's matching modes. Output: check_params' answers.
    #[test]
    fn processes_match_as_keepalived_matches_them() {
        let sshd = proc("sshd", &["/usr/sbin/sshd", "-D", "-p22"]);
        assert!(matches(&conf("sshd", &[], ParamMatch::Any, false), &sshd));
        assert!(!matches(
            &conf("/usr/sbin/sshd", &[], ParamMatch::Any, false),
            &sshd
        ));
        assert!(matches(
            &conf("/usr/sbin/sshd", &[], ParamMatch::Any, true),
            &sshd
        ));
        let exact = conf("/usr/sbin/sshd", &["-D", "-p22"], ParamMatch::Exact, true);
        assert!(matches(&exact, &sshd));
        assert!(!matches(
            &conf("/usr/sbin/sshd", &["-D"], ParamMatch::Exact, true),
            &sshd
        ));
        assert!(matches(
            &conf("/usr/sbin/sshd", &["-D"], ParamMatch::Partial, true),
            &sshd
        ));
        assert!(!matches(
            &conf("/usr/sbin/sshd", &["-D", "-p"], ParamMatch::Partial, true),
            &sshd
        ));
        assert!(matches(
            &conf("/usr/sbin/sshd", &["-D", "-p"], ParamMatch::Initial, true),
            &sshd
        ));
        // `param_match` with no arguments: exactly none.
        assert!(!matches(
            &conf("/usr/sbin/sshd", &[], ParamMatch::Exact, true),
            &sshd
        ));
        let zombie = Proc {
            comm: None,
            cmdline: Vec::new(),
        };
        assert!(!matches(
            &conf("sshd", &[], ParamMatch::Any, false),
            &zombie
        ));
        assert_eq!(comm_of(b"12 (my proc) S 1"), Some("my proc".into()));
        assert_eq!(comm_of(b"12 (dead) Z 1"), None);
    }

    /// Input: quorum 2..=3 against 1 to 4 matching processes. Output: quorum only for 2 and 3.
    #[test]
    fn quorum_counts_matching_processes() {
        let mut c = conf("w", &[], ParamMatch::Any, false);
        c.quorum = 2;
        c.quorum_max = Some(3);
        let procs: Vec<Proc> = (0..4).map(|_| proc("w", &["w"])).collect();
        let answers: Vec<bool> = (1..=4).map(|n| has_quorum(&c, &procs[..n])).collect();
        assert_eq!(answers, [false, true, true, false]);
    }

    /// Input: this test's own process, read from the real /proc. Output: found by its comm.
    #[test]
    fn the_real_proc_is_read() {
        let me = std::fs::read_to_string("/proc/self/comm").expect("comm");
        let c = conf(me.trim_end(), &[], ParamMatch::Any, false);
        assert!(has_quorum(&c, &read_procs(false)));
    }
}

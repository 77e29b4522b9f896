//! The scenario probe on the client host, `halab __probe` over ssh, read back here.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::PROBE_BIN;
use super::connection::Conn;
use crate::probe::sampling::Shared;

/// The probe on the client host: `halab __probe` streams one JSON line per request; `pause`
/// and `resume` on its stdin stop and restart it (it acknowledges with `paused`).
pub(super) fn remote_probe_loop(conn: &Conn, sh: &Shared, target: SocketAddr, t0: Instant) {
    let ctl = conn.session.control_socket();
    let mut cmd = Command::new("ssh");
    cmd.arg("-S")
        .arg(ctl)
        .args(["-o", "ControlMaster=no", "-T", "placeholder"]);
    let remote = format!("{PROBE_BIN} __probe --target {target}");
    if conn.root() {
        cmd.arg(remote);
    } else {
        cmd.arg(format!("sudo -n -- {remote}"));
    }
    let Ok(mut child) = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return;
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return;
    };
    sh.remote.fetch_add(1, Ordering::SeqCst);
    let mut offset = None::<u64>;
    let reader = {
        let (tx, rx) = std::sync::mpsc::channel::<Line>();
        let th = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let msg = if line == "paused" {
                    Line::Paused
                } else if line == "ready" {
                    Line::Ready
                } else if let Ok(s) = serde_json::from_str::<crate::probe::wire::WireSample>(&line)
                {
                    Line::Sample(s)
                } else {
                    continue;
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        (th, rx)
    };
    let (th, rx) = reader;
    let mut sent_pause = false;
    let started = Instant::now();
    while !sh.stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(15 * 60) {
        let want_pause = sh.paused.load(Ordering::SeqCst);
        if want_pause != sent_pause {
            let _ = stdin.write_all(if want_pause { b"pause\n" } else { b"resume\n" });
            let _ = stdin.flush();
            sent_pause = want_pause;
        }
        match rx.recv_timeout(Duration::from_millis(2)) {
            // The probe's clock starts at `ready`: its times are offsets from our receipt of it.
            Ok(Line::Ready) => offset = Some(u64::try_from(t0.elapsed().as_millis()).unwrap_or(0)),
            Ok(Line::Paused) => {
                sh.acked_pause.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Line::Sample(s)) => {
                let base = offset.unwrap_or(0);
                if let Ok(mut v) = sh.samples.lock() {
                    v.push(crate::probe::sampling::Sample {
                        t_ms: base + s.t,
                        took_ms: s.took,
                        backend: s.backend,
                        error: s.error,
                        vip: crate::probe::sampling::vip_of(target),
                    });
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = th.join();
}

pub(super) enum Line {
    Ready,
    Paused,
    Sample(crate::probe::wire::WireSample),
}

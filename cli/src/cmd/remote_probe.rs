//! `halab __get` and `halab __probe`: the probe run on a client host of an ssh lab (halab
//! puts its own binary there, /var/lib/halab/halab). The wire is JSON lines on stdout.
//!
//! `__probe` sends a GET through the target every 10 ms and prints one [`WireSample`] per
//! request (`t` in ms since it said `ready`); `pause` on stdin stops it after the request in
//! flight, acknowledged with `paused`; `resume` restarts it; end of stdin ends it. It stops by
//! itself after 15 minutes.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::probe;
use crate::probe::sampling::probe_once;
use crate::probe::wire::{WireReply, WireSample};

#[derive(Debug, Clone, clap::Args)]
pub struct GetArgs {
    #[arg(long)]
    pub target: SocketAddr,
    #[arg(long, default_value = "/")]
    pub path: String,
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// `Name: value`, repeatable.
    #[arg(long)]
    pub header: Vec<String>,
}

/// Prints `Ok(WireReply)` or `Err(message)` as one JSON line.
pub fn get_main(a: &GetArgs) -> i32 {
    let headers: Vec<(String, String)> = a
        .header
        .iter()
        .filter_map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let r: Result<WireReply, String> = probe::get_with(
        a.target,
        &a.path,
        Duration::from_millis(a.timeout_ms),
        None,
        &headers,
    )
    .map(|r| WireReply {
        status: r.status,
        served_by: r.served_by,
        headers: r.headers,
        body: r.body,
    })
    .map_err(|e| e.to_string());
    println!("{}", serde_json::to_string(&r).unwrap_or_default());
    0
}

#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    #[arg(long)]
    pub target: SocketAddr,
}

pub fn probe_main(a: &ProbeArgs) -> i32 {
    let paused = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let ack = Arc::new(AtomicBool::new(false));
    {
        let (paused, done, ack) = (paused.clone(), done.clone(), ack.clone());
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line.as_deref().map(str::trim) {
                    Ok("pause") => {
                        paused.store(true, Ordering::SeqCst);
                        ack.store(true, Ordering::SeqCst);
                    }
                    Ok("resume") => paused.store(false, Ordering::SeqCst),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            done.store(true, Ordering::SeqCst);
        });
    }
    let out = std::io::stdout();
    let say = |s: &str| {
        let mut o = out.lock();
        let _ = writeln!(o, "{s}");
        let _ = o.flush();
    };
    say("ready");
    let t0 = Instant::now();
    while !done.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(15 * 60) {
        let tick = Instant::now();
        // The request in flight (if any) is done: acknowledge a pause asked meanwhile.
        if ack.swap(false, Ordering::SeqCst) {
            say("paused");
        }
        if !paused.load(Ordering::SeqCst) {
            let s = probe_once(
                a.target,
                u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            say(&serde_json::to_string(&WireSample {
                t: s.t_ms,
                took: s.took_ms,
                backend: s.backend,
                error: s.error,
            })
            .unwrap_or_default());
        }
        if let Some(rest) = Duration::from_millis(10).checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    0
}

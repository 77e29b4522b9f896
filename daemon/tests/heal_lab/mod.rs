//! One split brain and heal in namespaces, measured as a client sees it: `lb1` (priority 150,
//! the winner) and `lb2` (100) run halabd or keepalived 2.2.7 with the same configuration
//! (VRRPv2 or v3, `advert_int 1`), a `client` pings the VIP every 10 ms. VRRP is cut both ways
//! with nftables (ARP still passes, as with any VRRP-only firewall rule), `lb2` takes over, and
//! 5.1 s later (after its `garp_master_delay` round, so the client was last told "lb2") the
//! cut heals in the given order. The result is the longest time between two ping replies from
//! the heal on, and where the client's ARP entry and the VIP are at the end.
//!
//! Used by `tests/heal.rs` and `benches/heal.rs` (both declare `mod support` at their root).

// The test uses some orders, the bench all of them.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};

use halab_netns::DropRule;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{Lab, VIP, instance_conf, master_down};

pub const WINNER: &str = "lb1";
pub const LOSER: &str = "lb2";
const CLIENT: &str = "client";
/// How long the client is watched after the first heal.
pub const WATCH: Duration = Duration::from_secs(10);
/// Between the loser taking the VIP and the heal: after its second gratuitous ARP round.
const HEAL_AFTER_TAKEOVER: Duration = Duration::from_millis(5_100);
const LOSS_TABLE: &str = "heal_loss";
/// How long the VRRP loss lasts after the heal.
const LOSS_FOR: Duration = Duration::from_secs(5);
/// Between the two directions of an uneven heal (the 1.5 s).
pub const UNEVEN: Duration = Duration::from_millis(1_500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Halabd,
    Keepalived,
}

/// In which order VRRP comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The loser hears the winner [`UNEVEN`] before the winner hears the loser.
    LoserHearsFirst,
    /// The winner hears the loser [`UNEVEN`] before the loser hears the winner.
    WinnerHearsFirst,
    /// Both directions at once.
    Together,
    /// Both at once, with 20% of VRRP dropped each way for 5 s from the heal.
    TogetherWithLoss,
}

impl Order {
    pub const ALL: [Self; 4] = [
        Self::LoserHearsFirst,
        Self::WinnerHearsFirst,
        Self::Together,
        Self::TogetherWithLoss,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Self::LoserHearsFirst => "loser hears first (+1.5 s)",
            Self::WinnerHearsFirst => "winner hears first (+1.5 s)",
            Self::Together => "both at once",
            Self::TogetherWithLoss => "both at once, 20% VRRP loss",
        }
    }
}

#[derive(Debug)]
pub struct Outcome {
    /// Longest time without a ping reply from the heal to the end of [`WATCH`].
    pub gap: Duration,
    /// The client's ARP entry for the VIP gives the winner's MAC at the end.
    pub client_on_winner: bool,
    /// Who holds the VIP at the end.
    pub holders: Vec<String>,
    /// The daemons' logs, for failure messages.
    pub logs: String,
}

/// A ping from the client, every 10 ms, with reply timestamps (`-D`).
struct Ping {
    child: Child,
    replies: Arc<Mutex<Vec<f64>>>,
}

impl Ping {
    fn start(lab: &Lab) -> Self {
        let mut child = lab
            .node(CLIENT)
            .netns_command("ping")
            .args(["-D", "-n", "-i", "0.01"])
            .arg(VIP.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ping");
        let stdout = child.stdout.take().expect("ping stdout");
        let replies = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&replies);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // [1733325000.123456] 64 bytes from 10.99.0.100: icmp_seq=1 ttl=64 time=0.1 ms
                let stamp = line
                    .strip_prefix('[')
                    .and_then(|rest| rest.split_once(']'))
                    .filter(|(_, rest)| rest.contains("bytes from"))
                    .and_then(|(stamp, _)| stamp.parse::<f64>().ok());
                if let Some(stamp) = stamp
                    && let Ok(mut replies) = sink.lock()
                {
                    replies.push(stamp);
                }
            }
        });
        Self { child, replies }
    }

    /// Longest time without a reply within [from, to] (seconds since the epoch).
    fn longest_gap(&self, from: f64, to: f64) -> Duration {
        let replies = self.replies.lock().map(|r| r.clone()).unwrap_or_default();
        let mut last = replies
            .iter()
            .rev()
            .find(|t| **t <= from)
            .copied()
            .unwrap_or(from);
        let mut worst: f64 = 0.0;
        for t in replies.iter().copied().filter(|t| *t > from && *t <= to) {
            worst = worst.max(t - last);
            last = t;
        }
        worst = worst.max(to - last);
        Duration::from_secs_f64(worst.max(0.0))
    }
}

impl Drop for Ping {
    fn drop(&mut self) {
        // Our own child, by PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn epoch_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `node`'s eth0 MAC, from `ip -o link` (`... link/ether MAC brd ...`).
fn mac(lab: &Lab, node: &str) -> String {
    let out = lab.exec(node, &["ip", "-o", "link", "show", "eth0"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

fn client_entry(lab: &Lab) -> String {
    let out = lab.exec(CLIENT, &["ip", "neigh", "show", &VIP.to_string()]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Drops `percent`% of the VRRP arriving at `node` (nftables, its own table).
fn vrrp_loss(lab: &Lab, node: &str, percent: u8) {
    let rule = DropRule {
        iifname: None,
        ip_protocol: Some(112),
        loss_percent: Some(percent),
    };
    lab.node(node)
        .drop_input(LOSS_TABLE, &rule)
        .unwrap_or_else(|e| panic!("VRRP loss on {node}: {e}"));
}

fn start(lab: &mut Lab, node: &str, engine: Engine, conf: &str) {
    match engine {
        Engine::Halabd => lab.start_halabd(node, conf),
        Engine::Keepalived => lab.start_keepalived(node, conf),
    };
}

/// One run: `winner` and `loser` engines, VRRP `version`, heal `order`.
pub fn split_and_heal(winner: Engine, loser: Engine, version: u8, order: Order) -> Outcome {
    let mut lab = Lab::new(&[WINNER, LOSER, CLIENT]);
    lab.halabd_log = "info";
    start(
        &mut lab,
        WINNER,
        winner,
        &instance_conf(150, version, "1", ""),
    );
    start(
        &mut lab,
        LOSER,
        loser,
        &instance_conf(100, version, "1", ""),
    );
    let converge = master_down(100, 1.0) + Duration::from_secs(3);
    assert!(
        lab.wait_single_holder(WINNER, converge, Duration::from_secs(1)),
        "{WINNER} never alone master\n{}",
        lab.logs()
    );
    let ping = Ping::start(&lab);
    std::thread::sleep(Duration::from_millis(500));
    lab.cut_vrrp(WINNER, "eth0");
    lab.cut_vrrp(LOSER, "eth0");
    let takeover = lab.wait_until(converge, || lab.holders(VIP).len() == 2);
    assert!(takeover.is_some(), "no split brain\n{}", lab.logs());
    std::thread::sleep(HEAL_AFTER_TAKEOVER);
    if order == Order::TogetherWithLoss {
        vrrp_loss(&lab, WINNER, 20);
        vrrp_loss(&lab, LOSER, 20);
    }
    let healed = epoch_secs();
    let started = Instant::now();
    match order {
        Order::LoserHearsFirst => {
            lab.heal_vrrp(LOSER, "eth0");
            std::thread::sleep(UNEVEN);
            lab.heal_vrrp(WINNER, "eth0");
        }
        Order::WinnerHearsFirst => {
            lab.heal_vrrp(WINNER, "eth0");
            std::thread::sleep(UNEVEN);
            lab.heal_vrrp(LOSER, "eth0");
        }
        Order::Together => {
            lab.heal_vrrp(LOSER, "eth0");
            lab.heal_vrrp(WINNER, "eth0");
        }
        Order::TogetherWithLoss => {
            lab.heal_vrrp(LOSER, "eth0");
            lab.heal_vrrp(WINNER, "eth0");
            // Loss during the heal, then none: the end state is VRRP's, not the dice's.
            std::thread::sleep(LOSS_FOR);
            for node in [WINNER, LOSER] {
                lab.node(node)
                    .remove_table(LOSS_TABLE)
                    .unwrap_or_else(|e| panic!("end of VRRP loss on {node}: {e}"));
            }
        }
    }
    std::thread::sleep(WATCH.saturating_sub(started.elapsed()));
    let gap = ping.longest_gap(healed, healed + WATCH.as_secs_f64());
    drop(ping);
    let entry = client_entry(&lab);
    let winner_mac = mac(&lab, WINNER);
    Outcome {
        gap,
        client_on_winner: !winner_mac.is_empty() && entry.contains(&winner_mac),
        holders: lab.holders(VIP),
        logs: format!("client: {entry}\n{}", lab.logs()),
    }
}

//! `halab status`: per node its role, addresses, services, the VRRP state of each instance
//! (from keepalived's or halabd's own report, cross-checked with the interfaces), who holds
//! each VIP, and where the client's ARP entry for it points.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::fleet::Fleet;
use crate::lab::Lab;
use crate::lab::model::{Engine, Role};
use crate::observe;
use crate::services::{self, Machine, Service};

#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub lab: String,
    pub nodes: Vec<NodeStatus>,
    pub vips: Vec<VipStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: Role,
    pub addresses: Vec<IpAddr>,
    pub services: Vec<ServiceStatus>,
    pub vrrp: Vec<InstanceState>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service: Service,
    pub running: bool,
    /// The node-local PID.
    pub pid: Option<i32>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InstanceState {
    pub instance: String,
    /// MASTER, BACKUP, FAULT, INIT as the engine reports it; STOPPED when it does not run.
    pub state: String,
    pub base_priority: Option<u8>,
    pub effective_priority: Option<u8>,
    /// Which report this came from: keepalived or halabd.
    pub source: &'static str,
    /// Whether the node's interfaces carry the instance's VIPs.
    pub holds_vips: bool,
    /// The report and the interfaces agree (MASTER holds the VIPs, others do not).
    pub consistent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VipStatus {
    pub vip: IpAddr,
    pub holders: Vec<String>,
    /// The client's ARP entry: the node its MAC belongs to, and the entry's state.
    pub client_arp: Option<(String, String)>,
}

pub fn status(lab: &Lab, fleet: &dyn Fleet) -> LabStatus {
    let holders = observe::vip_holders(lab, fleet);
    let macs = observe::macs(lab, fleet);
    let mut nodes = Vec::new();
    for n in &lab.nodes {
        let Ok(m) = fleet.machine(&n.name) else {
            continue;
        };
        let m = m.as_ref();
        let services = Service::for_node(n)
            .into_iter()
            .map(|s| {
                let pid = services::running_pid(m, s);
                ServiceStatus {
                    service: s,
                    running: pid.is_some(),
                    pid,
                }
            })
            .collect();
        let addresses = fleet.addresses(&n.name);
        let vrrp = match n.engine {
            Some(e) => vrrp_states(lab, m, e, &addresses),
            None => vec![],
        };
        nodes.push(NodeStatus {
            name: n.name.clone(),
            role: n.role,
            addresses,
            services,
            vrrp,
        });
    }
    let vips = holders
        .into_iter()
        .map(|(vip, holders)| {
            let client_arp = fleet
                .client_arp(lab, vip)
                .map(|(mac, st)| (macs.get(&mac).cloned().unwrap_or(mac), st));
            VipStatus {
                vip,
                holders,
                client_arp,
            }
        })
        .collect();
    LabStatus {
        lab: lab.name.clone(),
        nodes,
        vips,
    }
}

/// Each instance's state on an LB node, from its engine's own report.
pub fn vrrp_states(
    lab: &Lab,
    m: &dyn Machine,
    engine: Engine,
    addresses: &[IpAddr],
) -> Vec<InstanceState> {
    let reported: Vec<(String, String, Option<u8>, Option<u8>)> = match engine {
        Engine::Keepalived => keepalived_report(m),
        Engine::Halabd => halabd_report(m),
    };
    let source = match engine {
        Engine::Keepalived => "keepalived",
        Engine::Halabd => "halabd",
    };
    lab.vrrp
        .iter()
        .filter(|v| v.member(m.name()).is_some())
        .map(|v| {
            let holds_vips = v.vips.iter().any(|x| addresses.contains(&x.address));
            let (state, base, eff) = reported
                .iter()
                .find(|r| r.0 == v.name)
                .map_or(("STOPPED".to_string(), None, None), |r| {
                    (r.1.clone(), r.2, r.3)
                });
            let consistent = (state == "MASTER") == holds_vips;
            InstanceState {
                instance: v.name.clone(),
                state,
                base_priority: base,
                effective_priority: eff,
                source,
                holds_vips,
                consistent,
            }
        })
        .collect()
}

/// keepalived's JSON dump (signal 36 on Debian's build): /tmp/keepalived.json in the node,
/// one object per instance.
fn keepalived_dump(m: &dyn Machine) -> Vec<serde_json::Value> {
    if services::running_pid(m, Service::Keepalived).is_none() {
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

/// keepalived's instances from its JSON dump. Only names, states and priorities are kept:
/// the dump also holds auth_data.
fn keepalived_report(m: &dyn Machine) -> Vec<(String, String, Option<u8>, Option<u8>)> {
    keepalived_dump(m)
        .iter()
        .filter_map(|i| {
            let d = i.get("data")?;
            let state = match d.get("state")?.as_u64()? {
                0 => "INIT",
                1 => "BACKUP",
                2 => "MASTER",
                3 => "FAULT",
                _ => "UNKNOWN",
            };
            let prio = |k: &str| {
                d.get(k)
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|p| u8::try_from(p).ok())
            };
            Some((
                d.get("iname")?.as_str()?.to_string(),
                state.to_string(),
                prio("base_priority"),
                prio("effective_priority"),
            ))
        })
        .collect()
}

/// halabd's `GET /status` on the node's own loopback.
fn halabd_report(m: &dyn Machine) -> Vec<(String, String, Option<u8>, Option<u8>)> {
    let Some(st) = halabd_status(m) else {
        return vec![];
    };
    st.instances
        .into_iter()
        .map(|i| {
            (
                i.name,
                i.state.as_str().to_string(),
                Some(i.base_priority),
                Some(i.effective_priority),
            )
        })
        .collect()
}

pub fn halabd_status(m: &dyn Machine) -> Option<halab_api::Status> {
    // curl is not assumed on nodes; a tiny client in the node's netns is.
    let out = m.exec(&["bash", "-c", &format!("exec 3<>/dev/tcp/{}/{} && printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3", api_host(), api_port())]).ok()?;
    let body = out.stdout.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn api_host() -> String {
    services::HALABD_API
        .parse::<SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

fn api_port() -> u16 {
    services::HALABD_API
        .parse::<SocketAddr>()
        .map(|a| a.port())
        .unwrap_or(9406)
}

/// The terminal view.
pub fn print(s: &LabStatus) {
    println!("lab {}", s.lab);
    for n in &s.nodes {
        let addrs: Vec<String> = n
            .addresses
            .iter()
            .filter(|a| !a.is_loopback())
            .map(ToString::to_string)
            .collect();
        println!(
            "  {:<14} {:<6} {}",
            n.name,
            format!("{:?}", n.role).to_lowercase(),
            addrs.join(" ")
        );
        for svc in &n.services {
            match svc.pid {
                Some(p) => println!("      {:<11} running (pid {p})", svc.service.name()),
                None => println!("      {:<11} stopped", svc.service.name()),
            }
        }
        for v in &n.vrrp {
            let prio = match (v.base_priority, v.effective_priority) {
                (Some(b), Some(e)) if b != e => format!(" priority {b} (effective {e})"),
                (Some(b), _) => format!(" priority {b}"),
                _ => String::new(),
            };
            let flag = if v.consistent {
                ""
            } else {
                "  !! report and interfaces disagree"
            };
            println!(
                "      {} {:<8}{prio} [{}]{}{flag}",
                v.instance,
                v.state,
                v.source,
                if v.holds_vips { " holds VIP" } else { "" }
            );
        }
    }
    for v in &s.vips {
        // The client's neighbour entry: ARP for IPv4, NDP for IPv6.
        let kind = if v.vip.is_ipv6() { "NDP" } else { "ARP" };
        let arp = v
            .client_arp
            .as_ref()
            .map_or(format!("no {kind} entry"), |(n, st)| {
                format!("client {kind} -> {n} ({st})")
            });
        let holders = if v.holders.is_empty() {
            "nobody".to_string()
        } else {
            v.holders.join(", ")
        };
        let warn = if v.holders.len() > 1 {
            "  !! split brain"
        } else {
            ""
        };
        println!("  VIP {:<15} held by {holders}; {arp}{warn}", v.vip);
    }
}

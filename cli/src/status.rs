//! `halab status`: per node its role, addresses, services, the VRRP state of each instance
//! (from keepalived's or halabd's own report, cross-checked with the interfaces), who holds
//! each VIP, and where the client's ARP entry for it points.

use std::net::IpAddr;

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
/// keepalived's instances from its JSON dump. Only names, states and priorities are kept:
/// the dump also holds auth_data.
fn keepalived_report(m: &dyn Machine) -> Vec<(String, String, Option<u8>, Option<u8>)> {
    services::keepalived_dump(m)
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
    let Some(st) = services::halabd_status(m) else {
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

//! What each template sees. Templates get views built here, never the raw model, so that
//! secrets are exposed only where a file needs them and numbers print as the tools expect.

use std::collections::BTreeMap;
use std::net::IpAddr;

use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Serialize;

use crate::lab::model::{InitialState, Lab, Node, Notify, TrackScript, Vip, Web};

pub fn lab(lab: &Lab) -> Value {
    Value::from(Serde(lab))
}

pub fn node(lab: &Value, node: &Node) -> Value {
    context! { lab => lab, node => Value::from(Serde(node)) }
}

/// The haproxy context, and whether it carries a secret (a stats password).
pub fn haproxy(lab: &Lab, base: &Value) -> (Value, bool) {
    let stats_auth: BTreeMap<&str, String> = lab
        .haproxy
        .proxies
        .iter()
        .filter_map(|p| {
            p.stats
                .as_ref()?
                .auth
                .as_ref()
                .map(|(u, pw)| (p.name.as_str(), format!("{u}:{}", pw.expose())))
        })
        .collect();
    let secret = !stats_auth.is_empty();
    (
        context! { haproxy => Value::from(Serde(&lab.haproxy)), stats_auth => stats_auth, ..base.clone() },
        secret,
    )
}

pub fn web(base: &Value, web: &Web) -> Value {
    context! { web => Value::from(Serde(web)), ..base.clone() }
}

/// A number as keepalived.conf writes it: `2`, `0.5`.
fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

#[derive(Serialize)]
struct ScriptView<'a> {
    name: &'a str,
    script: &'a str,
    interval: String,
    timeout: Option<String>,
    weight: i32,
    rise: u32,
    fall: u32,
}

#[derive(Serialize)]
struct InstanceView<'a> {
    name: &'a str,
    state: &'static str,
    interface: &'a str,
    vrid: u8,
    version: u8,
    priority: u8,
    advert_int: String,
    preempt: bool,
    preempt_delay: Option<String>,
    auth_pass: Option<&'a str>,
    unicast: bool,
    address: IpAddr,
    peers: Vec<IpAddr>,
    vips: &'a [Vip],
    track_scripts: &'a [String],
    track_interfaces: &'a [String],
    garp_master_delay: Option<u32>,
    garp_master_repeat: Option<u32>,
    garp_master_refresh: Option<u32>,
    notify: &'a Notify,
}

#[derive(Serialize)]
struct SyncGroupView<'a> {
    name: &'a str,
    instances: Vec<&'a str>,
}

/// The track scripts the node's instances use, in name order.
pub fn scripts_for<'a>(lab: &'a Lab, node: &Node) -> Vec<&'a TrackScript> {
    let mut names: Vec<&str> = lab
        .vrrp
        .iter()
        .filter(|v| v.member(&node.name).is_some())
        .flat_map(|v| v.track_scripts.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().filter_map(|n| lab.script(n)).collect()
}

pub fn keepalived(lab: &Lab, node: &Node, base: &Value) -> Value {
    let scripts: Vec<ScriptView<'_>> = scripts_for(lab, node)
        .into_iter()
        .map(|s| ScriptView {
            name: &s.name,
            script: &s.script,
            interval: num(s.interval),
            timeout: s.timeout.map(num),
            weight: s.weight,
            rise: s.rise,
            fall: s.fall,
        })
        .collect();
    let mut instances = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in &lab.vrrp {
        let Some(me) = v.member(&node.name) else {
            continue;
        };
        if let Some(g) = &v.sync_group {
            groups.entry(g).or_default().push(&v.name);
        }
        instances.push(InstanceView {
            name: &v.name,
            state: if me.state == InitialState::Master {
                "MASTER"
            } else {
                "BACKUP"
            },
            interface: &me.interface,
            vrid: v.vrid,
            version: v.version.number(),
            priority: me.priority,
            advert_int: v.advert_int_secs(),
            preempt: v.preempt,
            preempt_delay: v.preempt_delay.map(num),
            auth_pass: v.auth.as_ref().map(|a| a.expose()),
            unicast: v.unicast,
            address: me.address,
            peers: v
                .members
                .iter()
                .filter(|m| m.node != node.name)
                .map(|m| m.address)
                .collect(),
            vips: &v.vips,
            track_scripts: &v.track_scripts,
            track_interfaces: &v.track_interfaces,
            garp_master_delay: v.garp_master_delay,
            garp_master_repeat: v.garp_master_repeat,
            garp_master_refresh: v.garp_master_refresh,
            notify: &v.notify,
        });
    }
    // keepalived ignores a sync group of one; validation rejects it, and a node that is in
    // only one of a group's instances gets no group either.
    let sync_groups: Vec<SyncGroupView<'_>> = groups
        .into_iter()
        .filter(|(_, i)| i.len() > 1)
        .map(|(name, instances)| SyncGroupView { name, instances })
        .collect();
    context! { scripts => Value::from(Serde(&scripts)), instances => Value::from(Serde(&instances)), sync_groups => Value::from(Serde(&sync_groups)), ..base.clone() }
}

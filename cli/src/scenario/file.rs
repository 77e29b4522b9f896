//! Scenario files: raw serde types, then validation against the lab into [`Scenario`].
//!
//! A scenario is a list of steps; each step is a map with one key, the step's kind:
//! actions (start, stop, kill, restart, reload, freeze, thaw, link_down, link_up, partition,
//! heal, loss, wait) and assertions (vip, distribution, http, stats, state, outage).
//! Errors name file, line, column and field, as lab file errors do.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::bound::{Bound, RawBound};
use crate::diag::{Diagnostics, did_you_mean};
use crate::lab::Lab;
use crate::lab::locate::Locator;
use crate::lab::model::Role;

/// The JSON Schema of scenario files, from the types that parse them (`halab schema scenario`).
pub fn json_schema() -> schemars::schema::RootSchema {
    schemars::schema_for!(RawScenario)
}

/// A scenario file: steps run in order against a running lab (docs/scenarios.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawStep {
    Start(RawSvc),
    Stop(RawSvc),
    Kill(RawSvc),
    Restart(RawSvc),
    Reload(RawSvc),
    Freeze(RawSvc),
    Thaw(RawSvc),
    LinkDown(RawLink),
    LinkUp(RawLink),
    Partition(RawPartition),
    Heal(RawHeal),
    Loss(RawLoss),
    Wait(String),
    Vip(RawVip),
    Distribution(RawDist),
    Http(RawHttp),
    Stats(RawStats),
    State(RawState),
    Outage(RawOutage),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSvc {
    node: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    services: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLink {
    node: String,
    #[serde(default)]
    interface: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPartition {
    a: Vec<String>,
    b: Vec<String>,
    /// both (default), a_to_b (A's packets do not reach B), b_to_a.
    #[serde(default)]
    direction: Option<String>,
    /// Only VRRP (IP protocol 112) is dropped; HTTP still flows.
    #[serde(default)]
    vrrp_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawHeal {
    /// After the heal, how long the client's ARP entry may still point at a node that no
    /// longer holds the VIP (what keepalived's split-brain heal can leave behind).
    /// `65s`, or per engine: `{keepalived: 65s, halabd: 1s}` (docs/scenarios.md).
    #[serde(default)]
    arp_grace: Option<RawBound>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLoss {
    /// Nodes whose incoming VRRP packets are dropped (default: every LB).
    #[serde(default)]
    nodes: Vec<String>,
    percent: u8,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawVip {
    /// The node that must hold the VIP, or `none`.
    #[serde(default)]
    holder: Option<String>,
    /// Split brain: exactly these nodes hold the VIP at once.
    #[serde(default)]
    holders: Option<Vec<String>>,
    #[serde(default)]
    vip: Option<String>,
    #[serde(default)]
    within: Option<String>,
    /// The VIP was held by these holders at every sample since the scenario started: it
    /// never moved (needs `vip:`).
    #[serde(default)]
    throughout: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawDist {
    #[serde(default)]
    requests: Option<u32>,
    /// Exactly these backends answer (web node names, or X-Served-By values).
    #[serde(default)]
    backends: Option<Vec<String>>,
    /// These never answer.
    #[serde(default)]
    absent: Vec<String>,
    /// roundrobin: the answers repeat in a fixed rotation; sticky: one backend answers every
    /// request (a persistence cookie, `balance source`); any (default): no order.
    #[serde(default)]
    order: Option<String>,
    /// Each backend's share within this many percent of an even split.
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    path: Option<String>,
    /// The status every answer must have (default: any 2xx or 3xx). The backend is still read
    /// from X-Served-By, so `status: 404` tells which web node answered a path it lacks.
    #[serde(default)]
    status: Option<u16>,
    /// Headers sent with every request, e.g. `Cookie: SERVERID=A`.
    #[serde(default)]
    request_headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    vip: Option<String>,
    /// Retry the whole batch until it holds (health checks take their time).
    #[serde(default)]
    within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    contains: Option<String>,
    /// Response headers the answer must carry, exactly (a value ending in `*` is a prefix:
    /// `Set-Cookie: SERVERID=*`).
    #[serde(default)]
    header: Option<std::collections::BTreeMap<String, String>>,
    /// Headers sent with the request, e.g. `Cookie: SERVERID=A`.
    #[serde(default)]
    request_headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    vip: Option<String>,
    #[serde(default)]
    within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStats {
    node: String,
    backend: String,
    server: String,
    status: String,
    #[serde(default)]
    within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawState {
    node: String,
    #[serde(default)]
    instance: Option<String>,
    state: String,
    #[serde(default)]
    within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawOutage {
    #[serde(default)]
    max_failed: Option<u64>,
    /// Longest time between two successful requests: `2s`, or per engine:
    /// `{keepalived: 65s, halabd: 2s}` (docs/scenarios.md).
    #[serde(default)]
    max_gap: Option<RawBound>,
    /// Expect the service to be down at the end (both LBs gone): no recovery wait.
    #[serde(default)]
    down: Option<bool>,
    /// The VIP measured (default: every VIP the probe goes through, each on its own).
    #[serde(default)]
    vip: Option<String>,
}

/// A service as scenarios name it: `vrrp` is whichever engine the node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcRef {
    Nginx,
    Haproxy,
    Vrrp,
    Keepalived,
    Halabd,
}

const SERVICES: &[&str] = &["nginx", "haproxy", "vrrp", "keepalived", "halabd"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcAction {
    Start,
    Stop,
    Kill,
    Restart,
    Reload,
    Freeze,
    Thaw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    AToB,
    BToA,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Any,
    RoundRobin,
    /// Every answer from the same backend.
    Sticky,
}

#[derive(Debug, Clone)]
pub enum Step {
    Service {
        action: SvcAction,
        node: String,
        services: Vec<SvcRef>,
    },
    Link {
        up: bool,
        node: String,
        interface: Option<String>,
    },
    Partition {
        a: Vec<String>,
        b: Vec<String>,
        direction: Direction,
        vrrp_only: bool,
    },
    Heal {
        arp_grace: Option<Bound>,
    },
    Loss {
        nodes: Vec<String>,
        percent: u8,
    },
    Wait(Duration),
    /// `holders` empty: no node holds it; two or more: a split brain.
    Vip {
        holders: Vec<String>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
        /// Since the scenario started, at every sample: the VIP never moved.
        throughout: bool,
    },
    Distribution {
        requests: u32,
        backends: Option<Vec<String>>,
        absent: Vec<String>,
        order: Order,
        tolerance: Option<f64>,
        path: String,
        status: Option<u16>,
        request_headers: Vec<(String, String)>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
    },
    Http {
        path: String,
        status: u16,
        contains: Option<String>,
        header: Vec<(String, String)>,
        request_headers: Vec<(String, String)>,
        vip: Option<IpAddr>,
        within: Option<Duration>,
    },
    Stats {
        node: String,
        backend: String,
        server: String,
        up: bool,
        within: Option<Duration>,
    },
    State {
        node: String,
        instance: Option<String>,
        state: String,
        within: Option<Duration>,
    },
    Outage {
        max_failed: Option<u64>,
        max_gap: Option<Bound>,
        down: bool,
        /// None: every probed VIP.
        vip: Option<IpAddr>,
    },
}

impl Step {
    pub fn is_assertion(&self) -> bool {
        matches!(
            self,
            Step::Vip { .. }
                | Step::Distribution { .. }
                | Step::Http { .. }
                | Step::Stats { .. }
                | Step::State { .. }
                | Step::Outage { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<Step>,
}

/// `2s`, `500ms`, `1.5` (seconds), `1m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0 && v.is_finite() && v * mult <= 3600.0).then(|| Duration::from_secs_f64(v * mult))
}

struct Cx<'a> {
    loc: &'a Locator,
    lab: &'a Lab,
    diags: Diagnostics,
}

impl Cx<'_> {
    fn bad(&mut self, path: &str, msg: impl Into<String>, hint: impl Into<String>) {
        let pos = self.loc.value(path);
        self.diags.push(path, pos, msg, Some(hint.into()));
    }

    fn node(&mut self, path: &str, name: &str, role: Option<Role>) -> String {
        match self.lab.node(name) {
            Some(n) if role.is_none_or(|r| r == n.role) => {}
            Some(n) => self.bad(
                path,
                format!("node `{name}` is a {:?} node", n.role).to_lowercase(),
                format!("this step needs a {:?} node", role.unwrap_or(Role::Lb)).to_lowercase(),
            ),
            None => {
                let names: Vec<&str> = self.lab.nodes.iter().map(|n| n.name.as_str()).collect();
                self.bad(
                    path,
                    format!("lab `{}` has no node `{name}`", self.lab.name),
                    did_you_mean(name, &names),
                );
            }
        }
        name.to_string()
    }

    fn duration(&mut self, path: &str, s: Option<&String>) -> Option<Duration> {
        let s = s?;
        let d = parse_duration(s);
        if d.is_none() {
            self.bad(
                path,
                format!("`{s}` is not a duration"),
                "write 500ms, 2s, 1.5 (seconds) or 1m",
            );
        }
        d
    }

    /// A bound for every engine or one per engine (`scenario::bound`).
    fn bound(&mut self, path: &str, b: Option<&RawBound>) -> Option<Bound> {
        match b? {
            RawBound::All(s) => self.duration(path, Some(s)).map(Bound::all),
            RawBound::PerEngine(per) => {
                let keepalived =
                    self.duration(&format!("{path}.keepalived"), Some(&per.keepalived));
                let halabd = self.duration(&format!("{path}.halabd"), Some(&per.halabd));
                Some(Bound {
                    keepalived: keepalived?,
                    halabd: halabd?,
                })
            }
        }
    }

    /// Request headers: a token for the name, no line breaks anywhere.
    fn headers(
        &mut self,
        path: &str,
        h: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Vec<(String, String)> {
        let Some(h) = h else { return vec![] };
        for (k, v) in h {
            let bad_name = k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
            if bad_name || v.contains(['\r', '\n']) {
                self.bad(
                    &format!("{path}.{k}"),
                    format!("`{k}: {v}` is not a header line"),
                    "a header name is letters, digits and -; the value one line",
                );
            }
        }
        h.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn vip(&mut self, path: &str, s: Option<&String>) -> Option<IpAddr> {
        let s = s?;
        let vips: Vec<IpAddr> = self
            .lab
            .vrrp
            .iter()
            .flat_map(|v| v.vips.iter().map(|x| x.address))
            .collect();
        match s.parse::<IpAddr>() {
            Ok(ip) if vips.contains(&ip) => Some(ip),
            _ => {
                self.bad(
                    path,
                    format!("`{s}` is no VIP of the lab"),
                    format!(
                        "the lab's VIPs: {}",
                        vips.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
        }
    }
}

/// Reads and validates a scenario file against the lab.
pub fn load(path: &Path, lab: &Lab) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: failed to read {}: {e}", path.display()))?;
    parse(path, &text, lab).map_err(|d| d.render(path, &text))
}

pub fn parse(path: &Path, text: &str, lab: &Lab) -> Result<Scenario, Diagnostics> {
    let loc = Locator::new(text);
    let raw: RawScenario = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(crate::lab::serde_error_diagnose(&e, text, &loc)),
    };
    let mut cx = Cx {
        loc: &loc,
        lab,
        diags: Diagnostics::default(),
    };
    let mut steps = Vec::new();
    if raw.steps.is_empty() {
        cx.bad(
            "steps",
            "the scenario has no steps",
            "add steps such as `- vip: {holder: lb1}`",
        );
    }
    for (i, s) in raw.steps.iter().enumerate() {
        if let Some(step) = step(&mut cx, &format!("steps[{i}]"), s) {
            steps.push(step);
        }
    }
    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    let name = raw.name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "scenario".into())
    });
    Ok(Scenario {
        name,
        description: raw.description,
        steps,
    })
}

fn step(cx: &mut Cx<'_>, path: &str, s: &RawStep) -> Option<Step> {
    Some(match s {
        RawStep::Start(v) => svc(cx, &format!("{path}.start"), SvcAction::Start, v),
        RawStep::Stop(v) => svc(cx, &format!("{path}.stop"), SvcAction::Stop, v),
        RawStep::Kill(v) => svc(cx, &format!("{path}.kill"), SvcAction::Kill, v),
        RawStep::Restart(v) => svc(cx, &format!("{path}.restart"), SvcAction::Restart, v),
        RawStep::Reload(v) => svc(cx, &format!("{path}.reload"), SvcAction::Reload, v),
        RawStep::Freeze(v) => svc(cx, &format!("{path}.freeze"), SvcAction::Freeze, v),
        RawStep::Thaw(v) => svc(cx, &format!("{path}.thaw"), SvcAction::Thaw, v),
        RawStep::LinkDown(l) | RawStep::LinkUp(l) => {
            let key = if matches!(s, RawStep::LinkDown(_)) {
                "link_down"
            } else {
                "link_up"
            };
            let node = cx.node(&format!("{path}.{key}.node"), &l.node, None);
            if let (Some(i), Some(n)) = (&l.interface, cx.lab.node(&l.node))
                && !n.interfaces.iter().any(|x| &x.name == i)
            {
                let names: Vec<&str> = n.interfaces.iter().map(|x| x.name.as_str()).collect();
                cx.bad(
                    &format!("{path}.{key}.interface"),
                    format!("node `{node}` has no interface `{i}`"),
                    did_you_mean(i, &names),
                );
            }
            Step::Link {
                up: key == "link_up",
                node,
                interface: l.interface.clone(),
            }
        }
        RawStep::Partition(p) => {
            let a =
                p.a.iter()
                    .enumerate()
                    .map(|(j, n)| cx.node(&format!("{path}.partition.a[{j}]"), n, None))
                    .collect();
            let b =
                p.b.iter()
                    .enumerate()
                    .map(|(j, n)| cx.node(&format!("{path}.partition.b[{j}]"), n, None))
                    .collect();
            let direction = match p.direction.as_deref() {
                None | Some("both") => Direction::Both,
                Some("a_to_b") => Direction::AToB,
                Some("b_to_a") => Direction::BToA,
                Some(o) => {
                    cx.bad(
                        &format!("{path}.partition.direction"),
                        format!("unknown direction `{o}`"),
                        did_you_mean(o, &["both", "a_to_b", "b_to_a"]),
                    );
                    Direction::Both
                }
            };
            Step::Partition {
                a,
                b,
                direction,
                vrrp_only: p.vrrp_only.unwrap_or(false),
            }
        }
        RawStep::Heal(h) => Step::Heal {
            arp_grace: cx.bound(&format!("{path}.heal.arp_grace"), h.arp_grace.as_ref()),
        },
        RawStep::Loss(l) => {
            if l.percent > 100 {
                cx.bad(
                    &format!("{path}.loss.percent"),
                    format!("{}% is more than 100%", l.percent),
                    "0 heals, 100 drops every VRRP packet",
                );
            }
            let nodes = l
                .nodes
                .iter()
                .enumerate()
                .map(|(j, n)| cx.node(&format!("{path}.loss.nodes[{j}]"), n, Some(Role::Lb)))
                .collect();
            Step::Loss {
                nodes,
                percent: l.percent,
            }
        }
        RawStep::Wait(d) => Step::Wait(cx.duration(&format!("{path}.wait"), Some(d))?),
        RawStep::Vip(v) => {
            let p = format!("{path}.vip");
            let holders = match (&v.holder, &v.holders) {
                (Some(h), None) if h == "none" => vec![],
                (Some(h), None) => vec![cx.node(&format!("{p}.holder"), h, Some(Role::Lb))],
                (None, Some(hs)) if !hs.is_empty() => hs
                    .iter()
                    .enumerate()
                    .map(|(j, h)| cx.node(&format!("{p}.holders[{j}]"), h, Some(Role::Lb)))
                    .collect(),
                _ => {
                    cx.bad(
                        &p,
                        "name exactly one of `holder` and `holders`",
                        "`holder: lb1`, `holder: none`, or `holders: [lb1, lb2]` for a split brain",
                    );
                    vec![]
                }
            };
            let throughout = v.throughout.unwrap_or(false);
            if throughout && v.vip.is_none() {
                cx.bad(
                    &format!("{p}.throughout"),
                    "`throughout` needs the VIP it is about",
                    "add `vip: ADDRESS`: the VIP that must never have moved",
                );
            }
            Step::Vip {
                holders,
                vip: cx.vip(&format!("{p}.vip"), v.vip.as_ref()),
                within: cx.duration(&format!("{p}.within"), v.within.as_ref()),
                throughout,
            }
        }
        RawStep::Distribution(d) => {
            let p = format!("{path}.distribution");
            let order = match d.order.as_deref() {
                None | Some("any") => Order::Any,
                Some("roundrobin") => Order::RoundRobin,
                Some("sticky") => Order::Sticky,
                Some(o) => {
                    cx.bad(
                        &format!("{p}.order"),
                        format!("unknown order `{o}`"),
                        did_you_mean(o, &["any", "roundrobin", "sticky"]),
                    );
                    Order::Any
                }
            };
            let requests = d.requests.unwrap_or(10);
            if !(1..=10_000).contains(&requests) {
                cx.bad(
                    &format!("{p}.requests"),
                    format!("{requests} requests is outside 1..10000"),
                    "a handful per backend is enough: 9 for 3 backends",
                );
            }
            Step::Distribution {
                requests,
                backends: d.backends.clone(),
                absent: d.absent.clone(),
                order,
                tolerance: d.tolerance,
                path: d.path.clone().unwrap_or_else(|| "/".into()),
                status: d.status,
                request_headers: cx
                    .headers(&format!("{p}.request_headers"), d.request_headers.as_ref()),
                vip: cx.vip(&format!("{p}.vip"), d.vip.as_ref()),
                within: cx.duration(&format!("{p}.within"), d.within.as_ref()),
            }
        }
        RawStep::Http(h) => {
            let p = format!("{path}.http");
            Step::Http {
                path: h.path.clone().unwrap_or_else(|| "/".into()),
                status: h.status.unwrap_or(200),
                contains: h.contains.clone(),
                header: h.header.clone().unwrap_or_default().into_iter().collect(),
                request_headers: cx
                    .headers(&format!("{p}.request_headers"), h.request_headers.as_ref()),
                vip: cx.vip(&format!("{p}.vip"), h.vip.as_ref()),
                within: cx.duration(&format!("{p}.within"), h.within.as_ref()),
            }
        }
        RawStep::Stats(st) => {
            let p = format!("{path}.stats");
            let node = cx.node(&format!("{p}.node"), &st.node, Some(Role::Lb));
            let up = match st.status.to_ascii_uppercase().as_str() {
                "UP" => true,
                "DOWN" => false,
                o => {
                    cx.bad(
                        &format!("{p}.status"),
                        format!("unknown server status `{o}`"),
                        "UP or DOWN, as the stats page shows",
                    );
                    true
                }
            };
            match cx.lab.haproxy.proxy(&st.backend) {
                Some(px) if !px.servers.iter().any(|s| s.name == st.server) => {
                    let names: Vec<&str> = px.servers.iter().map(|s| s.name.as_str()).collect();
                    cx.bad(
                        &format!("{p}.server"),
                        format!("backend `{}` has no server `{}`", st.backend, st.server),
                        did_you_mean(&st.server, &names),
                    );
                }
                Some(_) => {}
                None => {
                    let names: Vec<&str> = cx
                        .lab
                        .haproxy
                        .proxies
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect();
                    cx.bad(
                        &format!("{p}.backend"),
                        format!("haproxy has no backend `{}`", st.backend),
                        did_you_mean(&st.backend, &names),
                    );
                }
            }
            Step::Stats {
                node,
                backend: st.backend.clone(),
                server: st.server.clone(),
                up,
                within: cx.duration(&format!("{p}.within"), st.within.as_ref()),
            }
        }
        RawStep::State(st) => {
            let p = format!("{path}.state");
            let node = cx.node(&format!("{p}.node"), &st.node, Some(Role::Lb));
            let state = st.state.to_ascii_uppercase();
            if !["MASTER", "BACKUP", "FAULT", "STOPPED"].contains(&state.as_str()) {
                cx.bad(
                    &format!("{p}.state"),
                    format!("unknown VRRP state `{}`", st.state),
                    "MASTER, BACKUP, FAULT or STOPPED",
                );
            }
            if let Some(i) = &st.instance
                && !cx.lab.vrrp.iter().any(|v| &v.name == i)
            {
                let names: Vec<&str> = cx.lab.vrrp.iter().map(|v| v.name.as_str()).collect();
                cx.bad(
                    &format!("{p}.instance"),
                    format!("no VRRP instance `{i}`"),
                    did_you_mean(i, &names),
                );
            }
            Step::State {
                node,
                instance: st.instance.clone(),
                state,
                within: cx.duration(&format!("{p}.within"), st.within.as_ref()),
            }
        }
        RawStep::Outage(o) => Step::Outage {
            max_failed: o.max_failed,
            max_gap: cx.bound(&format!("{path}.outage.max_gap"), o.max_gap.as_ref()),
            down: o.down.unwrap_or(false),
            vip: cx.vip(&format!("{path}.outage.vip"), o.vip.as_ref()),
        },
    })
}

fn svc(cx: &mut Cx<'_>, path: &str, action: SvcAction, v: &RawSvc) -> Step {
    let node = cx.node(&format!("{path}.node"), &v.node, None);
    let names: Vec<&String> = match (&v.service, v.services.is_empty()) {
        (Some(s), true) => vec![s],
        (None, false) => v.services.iter().collect(),
        _ => {
            cx.bad(
                path,
                "name exactly one of `service` and `services`",
                "e.g. `service: nginx` or `services: [vrrp, haproxy]`",
            );
            vec![]
        }
    };
    let mut out = Vec::new();
    for (j, s) in names.into_iter().enumerate() {
        let sp = if v.service.is_some() {
            format!("{path}.service")
        } else {
            format!("{path}.services[{j}]")
        };
        let svc = match s.as_str() {
            "nginx" => SvcRef::Nginx,
            "haproxy" => SvcRef::Haproxy,
            "vrrp" => SvcRef::Vrrp,
            "keepalived" => SvcRef::Keepalived,
            "halabd" => SvcRef::Halabd,
            o => {
                cx.bad(
                    &sp,
                    format!("unknown service `{o}`"),
                    did_you_mean(o, SERVICES),
                );
                continue;
            }
        };
        if let Some(n) = cx.lab.node(&node) {
            let runs = match svc {
                SvcRef::Nginx => n.web.is_some(),
                SvcRef::Haproxy | SvcRef::Vrrp | SvcRef::Keepalived | SvcRef::Halabd => {
                    n.role == Role::Lb
                }
            };
            if !runs {
                cx.bad(
                    &sp,
                    format!("node `{node}` does not run {s}"),
                    "nginx runs on web nodes; haproxy and VRRP (`vrrp`) on LB nodes",
                );
            }
        }
        out.push(svc);
    }
    Step::Service {
        action,
        node,
        services: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed000() -> Lab {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/seed000/lab.yaml");
        crate::lab::load(&p).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn vip_holders_request_headers_status_and_sticky_parse() {
        // Input: a split-brain vip step, a distribution with a cookie, a status and sticky order.
        // Output: the steps with those fields.
        let text = "steps:\n  - vip: { holders: [loadbalance2, loadbalance1] }\n  - vip: { holder: none }\n  - distribution: { path: /api, status: 404, order: sticky, request_headers: { Cookie: SERVERID=A } }\n  - http: { request_headers: { Cookie: SERVERID=B }, header: { Set-Cookie: \"SERVERID=*\" } }\n";
        let s = parse(Path::new("t.yaml"), text, &seed000())
            .unwrap_or_else(|d| panic!("{}", d.render(Path::new("t.yaml"), text)));
        assert!(
            matches!(&s.steps[0], Step::Vip { holders, .. } if holders == &["loadbalance2", "loadbalance1"])
        );
        assert!(matches!(&s.steps[1], Step::Vip { holders, .. } if holders.is_empty()));
        let Step::Distribution {
            status,
            order,
            request_headers,
            path,
            ..
        } = &s.steps[2]
        else {
            panic!("not a distribution")
        };
        assert_eq!(
            (*status, *order, path.as_str()),
            (Some(404), Order::Sticky, "/api")
        );
        assert_eq!(
            request_headers,
            &[("Cookie".to_string(), "SERVERID=A".to_string())]
        );
        assert!(
            matches!(&s.steps[3], Step::Http { request_headers, .. } if request_headers.len() == 1)
        );
    }

    #[test]
    fn a_vip_step_names_one_of_holder_and_holders_and_headers_are_one_line() {
        // Input: both holder and holders; a header name with a space. Output: two diagnostics.
        let text = "steps:\n  - vip: { holder: loadbalance1, holders: [loadbalance2] }\n  - http: { request_headers: { \"Bad Name\": x } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted an invalid scenario")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(
            out.contains("exactly one of `holder` and `holders`"),
            "{out}"
        );
        assert!(out.contains("is not a header line"), "{out}");
    }

    #[test]
    fn bounds_are_one_duration_or_one_per_engine() {
        // Input: max_gap as one duration and per engine, arp_grace per engine. Output: the
        // bounds; the halabd one applies once any LB runs halabd.
        let text = "steps:\n  - heal: { arp_grace: { keepalived: 65s, halabd: 1s } }\n  - outage: { max_gap: 2s }\n  - outage: { max_gap: { keepalived: 65s, halabd: 1500ms } }\n";
        let mut lab = seed000();
        let s = parse(Path::new("t.yaml"), text, &lab)
            .unwrap_or_else(|d| panic!("{}", d.render(Path::new("t.yaml"), text)));
        let secs = Duration::from_secs;
        let Step::Heal {
            arp_grace: Some(grace),
        } = s.steps[0]
        else {
            panic!("not a heal with a grace")
        };
        assert_eq!(
            grace,
            Bound {
                keepalived: secs(65),
                halabd: secs(1)
            }
        );
        let Step::Outage {
            max_gap: Some(one), ..
        } = s.steps[1]
        else {
            panic!("not an outage")
        };
        assert_eq!(one, Bound::all(secs(2)));
        let Step::Outage {
            max_gap: Some(per), ..
        } = s.steps[2]
        else {
            panic!("not an outage")
        };
        assert_eq!(per.for_lab(&lab), secs(65), "every LB runs keepalived");
        let first = lab.lbs().next().map(|n| n.name.clone()).expect("an LB");
        for node in &mut lab.nodes {
            if node.name == first {
                node.engine = Some(crate::lab::model::Engine::Halabd);
            }
        }
        assert_eq!(per.for_lab(&lab), Duration::from_millis(1_500), "mixed");
    }

    #[test]
    fn a_per_engine_bound_needs_both_engines_and_durations() {
        // Input: a per-engine bound without halabd, one with a bad duration, one with an
        // unknown engine. Output: an error for each, naming the field.
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted a bound without halabd")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("halabd"), "{out}");
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s, halabd: soon } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted a bad duration")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("`soon` is not a duration"), "{out}");
        let text = "steps:\n  - outage: { max_gap: { keepalived: 65s, halabd: 1s, vrrpd: 2s } }\n";
        let Err(d) = parse(Path::new("t.yaml"), text, &seed000()) else {
            panic!("accepted an unknown engine")
        };
        let out = d.render(Path::new("t.yaml"), text);
        assert!(out.contains("vrrpd"), "{out}");
    }
}

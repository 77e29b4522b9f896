//! The scenario file's serde types: shape only (`deny_unknown_fields`); `super` validates.

use serde::Deserialize;

use crate::scenario::bound::RawBound;

/// A scenario file: steps run in order against a running lab (docs/scenarios.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawStep {
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
pub(super) struct RawSvc {
    pub(super) node: String,
    #[serde(default)]
    pub(super) service: Option<String>,
    #[serde(default)]
    pub(super) services: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub(super) node: String,
    #[serde(default)]
    pub(super) interface: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPartition {
    pub(super) a: Vec<String>,
    pub(super) b: Vec<String>,
    /// both (default), a_to_b (A's packets do not reach B), b_to_a.
    #[serde(default)]
    pub(super) direction: Option<String>,
    /// Only VRRP (IP protocol 112) is dropped; HTTP still flows.
    #[serde(default)]
    pub(super) vrrp_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeal {
    /// After the heal, how long the client's ARP entry may still point at a node that no
    /// longer holds the VIP (what keepalived's split-brain heal can leave behind).
    /// `65s`, or per engine: `{keepalived: 65s, halabd: 1s}` (docs/scenarios.md).
    #[serde(default)]
    pub(super) arp_grace: Option<RawBound>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoss {
    /// Nodes whose incoming VRRP packets are dropped (default: every LB).
    #[serde(default)]
    pub(super) nodes: Vec<String>,
    pub(super) percent: u8,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVip {
    /// The node that must hold the VIP, or `none`.
    #[serde(default)]
    pub(super) holder: Option<String>,
    /// Split brain: exactly these nodes hold the VIP at once.
    #[serde(default)]
    pub(super) holders: Option<Vec<String>>,
    #[serde(default)]
    pub(super) vip: Option<String>,
    #[serde(default)]
    pub(super) within: Option<String>,
    /// The VIP was held by these holders at every sample since the scenario started: it
    /// never moved (needs `vip:`).
    #[serde(default)]
    pub(super) throughout: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDist {
    #[serde(default)]
    pub(super) requests: Option<u32>,
    /// Exactly these backends answer (web node names, or X-Served-By values).
    #[serde(default)]
    pub(super) backends: Option<Vec<String>>,
    /// These never answer.
    #[serde(default)]
    pub(super) absent: Vec<String>,
    /// roundrobin: the answers repeat in a fixed rotation; sticky: one backend answers every
    /// request (a persistence cookie, `balance source`); any (default): no order.
    #[serde(default)]
    pub(super) order: Option<String>,
    /// Each backend's share within this many percent of an even split.
    #[serde(default)]
    pub(super) tolerance: Option<f64>,
    #[serde(default)]
    pub(super) path: Option<String>,
    /// The status every answer must have (default: any 2xx or 3xx). The backend is still read
    /// from X-Served-By, so `status: 404` tells which web node answered a path it lacks.
    #[serde(default)]
    pub(super) status: Option<u16>,
    /// Headers sent with every request, e.g. `Cookie: SERVERID=A`.
    #[serde(default)]
    pub(super) request_headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub(super) vip: Option<String>,
    /// Retry the whole batch until it holds (health checks take their time).
    #[serde(default)]
    pub(super) within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    #[serde(default)]
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) status: Option<u16>,
    #[serde(default)]
    pub(super) contains: Option<String>,
    /// Response headers the answer must carry, exactly (a value ending in `*` is a prefix:
    /// `Set-Cookie: SERVERID=*`).
    #[serde(default)]
    pub(super) header: Option<std::collections::BTreeMap<String, String>>,
    /// Headers sent with the request, e.g. `Cookie: SERVERID=A`.
    #[serde(default)]
    pub(super) request_headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub(super) vip: Option<String>,
    #[serde(default)]
    pub(super) within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStats {
    pub(super) node: String,
    pub(super) backend: String,
    pub(super) server: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) node: String,
    #[serde(default)]
    pub(super) instance: Option<String>,
    pub(super) state: String,
    #[serde(default)]
    pub(super) within: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutage {
    #[serde(default)]
    pub(super) max_failed: Option<u64>,
    /// Longest time between two successful requests: `2s`, or per engine:
    /// `{keepalived: 65s, halabd: 2s}` (docs/scenarios.md).
    #[serde(default)]
    pub(super) max_gap: Option<RawBound>,
    /// Expect the service to be down at the end (both LBs gone): no recovery wait.
    #[serde(default)]
    pub(super) down: Option<bool>,
    /// The VIP measured (default: every VIP the probe goes through, each on its own).
    #[serde(default)]
    pub(super) vip: Option<String>,
}

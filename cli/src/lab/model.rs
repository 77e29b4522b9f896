//! The validated lab: every default applied, every reference resolved, every rule checked.
//!
//! Only `validate.rs` builds these, so code downstream (render, providers, scenarios) never
//! re-checks: a node named by a backend exists and is a web node, a VIP lies in its
//! network, priorities are in range, and so on.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use halab_vrrp::Version;
use halab_vrrp::time::master_down_interval_us;
use serde::Serialize;

pub use super::raw::{CookieMethod, Engine, Mode, Provider, Role};

#[derive(Debug, Clone, Serialize)]
pub struct Lab {
    pub name: String,
    pub provider: Provider,
    pub description: Option<String>,
    /// The lab file this came from, and its directory (scenarios live beside it).
    pub file: PathBuf,
    pub networks: Vec<Network>,
    pub nodes: Vec<Node>,
    pub vrrp: Vec<VrrpInstance>,
    pub scripts: Vec<TrackScript>,
    pub haproxy: Haproxy,
    pub hosts: bool,
    pub ssh: SshDefaults,
}

impl Lab {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn lbs(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.role == Role::Lb)
    }

    pub fn webs(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.web.is_some())
    }

    pub fn client(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.role == Role::Client)
    }

    pub fn script(&self, name: &str) -> Option<&TrackScript> {
        self.scripts.iter().find(|s| s.name == name)
    }
}

/// The lab as JSON (`halab validate --json`); secrets print as `***`.
pub fn to_json(lab: &Lab) -> String {
    serde_json::to_string_pretty(lab).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) | !self.mask())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub name: String,
    pub cidr: Cidr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub hostname: String,
    pub role: Role,
    pub interfaces: Vec<Interface>,
    /// VRRP engine; Some on LB nodes only.
    pub engine: Option<Engine>,
    pub router_id: String,
    /// nginx; Some on web nodes and on LB nodes that also serve.
    pub web: Option<Web>,
    pub sysctl: BTreeMap<String, String>,
    pub ssh: Option<SshTarget>,
    /// The node's own files (`files:`), run unchanged; one at a rendered path replaces it.
    pub files: Vec<NodeFile>,
}

/// A file of the node's own, copied byte for byte.
#[derive(Debug, Clone, Serialize)]
pub struct NodeFile {
    /// Absolute path on the node.
    pub path: String,
    pub mode: u32,
    /// Where it was read from (None: `content:` in the lab file); messages name it.
    pub source: Option<PathBuf>,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl NodeFile {
    /// The name messages give it: its source file, else the path on the node.
    pub fn display_name(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| self.path.clone(), |p| p.display().to_string())
    }
}

impl Node {
    /// The node's own file at `path`, if it brings one.
    pub fn own_file(&self, path: &str) -> Option<&NodeFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The node's address on its first interface (every node has at least one).
    pub fn address(&self) -> Ipv4Addr {
        self.interfaces
            .first()
            .map_or(Ipv4Addr::UNSPECIFIED, |i| i.address)
    }

    pub fn interface_on(&self, network: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.network == network)
    }

    pub fn nonlocal_bind(&self) -> bool {
        self.sysctl
            .get("net.ipv4.ip_nonlocal_bind")
            .is_some_and(|v| v == "1")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    pub network: String,
    pub name: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct Web {
    pub port: u16,
    pub index: String,
    pub server_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SshDefaults {
    pub accept_new_host_keys: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SshTarget {
    pub host: String,
    pub user: String,
    pub port: u16,
    pub identity_file: Option<String>,
    pub jump: Option<String>,
}

/// A value that must never reach a log: Debug and Serialize print a placeholder.
/// Only renderers call [`Secret::expose`], to write it into a file of mode 0600.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrrpMember {
    pub node: String,
    pub priority: u8,
    pub state: InitialState,
    pub interface: String,
    pub address: Ipv4Addr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vip {
    pub address: Ipv4Addr,
    /// Prefix as written (`/24`); None renders as keepalived's default /32.
    pub prefix: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub vrid: u8,
    pub network: String,
    pub version: Version,
    /// Advert interval in centiseconds (VRRPv3's unit; v2 is a multiple of 100).
    pub advert_int_cs: u16,
    pub members: Vec<VrrpMember>,
    pub vips: Vec<Vip>,
    pub auth: Option<Secret>,
    pub preempt: bool,
    pub preempt_delay: Option<f64>,
    pub unicast: bool,
    pub track_scripts: Vec<String>,
    pub track_interfaces: Vec<String>,
    pub notify: Notify,
    pub garp_master_delay: Option<u32>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<u32>,
    pub sync_group: Option<String>,
}

impl VrrpInstance {
    pub fn member(&self, node: &str) -> Option<&VrrpMember> {
        self.members.iter().find(|m| m.node == node)
    }

    /// Seconds between adverts, as keepalived.conf writes it (`1`, `0.1`).
    pub fn advert_int_secs(&self) -> String {
        let cs = self.advert_int_cs;
        if cs.is_multiple_of(100) {
            (cs / 100).to_string()
        } else {
            format!("{}.{:02}", cs / 100, cs % 100)
                .trim_end_matches('0')
                .to_string()
        }
    }

    /// RFC 5798 6.1: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time, for the
    /// member with the lowest priority (the slowest to take over), in milliseconds (rounded up).
    pub fn master_down_ms(&self) -> u64 {
        let min_prio = self.members.iter().map(|m| m.priority).min().unwrap_or(100);
        master_down_interval_us(self.version, min_prio, u32::from(self.advert_int_cs))
            .div_ceil(1_000)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Notify {
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub any: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackScript {
    pub name: String,
    pub script: String,
    pub interval: f64,
    pub timeout: Option<f64>,
    pub weight: i32,
    pub rise: u32,
    pub fall: u32,
    pub file: Option<ScriptFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScriptFile {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Haproxy {
    pub maxconn: u32,
    pub nbthread: Option<u32>,
    /// `log` target for global (and `log global` in defaults); None: no logging.
    pub log: Option<String>,
    pub global_extra: Vec<String>,
    pub defaults: Defaults,
    pub proxies: Vec<Proxy>,
}

impl Haproxy {
    pub fn proxy(&self, name: &str) -> Option<&Proxy> {
        self.proxies.iter().find(|p| p.name == name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Defaults {
    pub mode: Mode,
    pub balance: Option<Balance>,
    pub options: Vec<String>,
    pub retries: u32,
    pub maxconn: Option<u32>,
    pub timeouts: Vec<(String, String)>,
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    Frontend,
    Backend,
    Listen,
}

impl fmt::Display for ProxyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub name: String,
    pub binds: Vec<Bind>,
    /// None: inherit from defaults.
    pub mode: Option<Mode>,
    pub balance: Option<Balance>,
    pub options: Vec<String>,
    pub acls: Vec<String>,
    pub use_backends: Vec<UseBackend>,
    pub default_backend: Option<String>,
    pub httpchk: Option<Httpchk>,
    pub cookie: Option<Cookie>,
    pub server_defaults: Option<ServerOpts>,
    pub servers: Vec<Server>,
    pub stats: Option<Stats>,
    pub maxconn: Option<u32>,
    pub timeouts: Vec<(String, String)>,
    pub extra: Vec<String>,
}

/// Serialises as haproxy writes it (`*:80`), which is what templates print.
#[derive(Debug, Clone)]
pub struct Bind {
    /// None is `*`.
    pub address: Option<Ipv4Addr>,
    pub port: u16,
}

impl Serialize for Bind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(a) => write!(f, "{a}:{}", self.port),
            None => write!(f, "*:{}", self.port),
        }
    }
}

/// A balance algorithm as haproxy.cfg spells it (`roundrobin`, `url_param userid`, `hdr(host)`).
#[derive(Debug, Clone, Serialize)]
pub struct Balance(pub String);

#[derive(Debug, Clone, Serialize)]
pub struct UseBackend {
    pub backend: String,
    /// `if COND` or `unless COND`, as haproxy.cfg writes it; None is unconditional.
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Httpchk {
    pub method: String,
    pub uri: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cookie {
    pub name: String,
    pub method: CookieMethod,
    pub indirect: bool,
    pub nocache: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerOpts {
    pub check: Option<bool>,
    pub inter: Option<String>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub weight: Option<u32>,
    pub maxconn: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub name: String,
    /// The web node behind it; None for an address outside the lab (`127.0.0.1:4331`).
    pub node: Option<String>,
    pub address: Ipv4Addr,
    pub port: u16,
    pub check: bool,
    pub inter: Option<String>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub weight: Option<u32>,
    pub maxconn: Option<u32>,
    pub backup: bool,
    pub cookie: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub uri: String,
    pub realm: Option<String>,
    pub auth: Option<(String, Secret)>,
    pub refresh: Option<String>,
    pub admin: bool,
    pub show_legends: bool,
    pub hide_version: bool,
}

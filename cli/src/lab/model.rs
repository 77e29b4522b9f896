//! The validated lab: every default applied, every reference resolved, every rule checked.
//!
//! Only `validate.rs` builds these, so code downstream (render, providers, scenarios) never
//! re-checks: a node named by a backend exists and is a web node, a VIP lies in its
//! network, priorities are in range, and so on.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

/// An IPv6 prefix, as in `fd00:30::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cidr6 {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Cidr6 {
    fn mask(&self) -> u128 {
        u128::MAX
            .checked_shl(128 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.network())
    }
}

impl fmt::Display for Cidr6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub name: String,
    pub cidr: Cidr,
    /// The IPv6 prefix beside the IPv4 cidr (dual stack).
    pub ipv6: Option<Cidr6>,
}

impl Network {
    /// Whether `ip` lies in the network, in the cidr of its family.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.cidr.contains(a),
            IpAddr::V6(a) => self.ipv6.is_some_and(|c| c.contains(a)),
        }
    }

    /// The network's prefix of `ip`'s family, as text (`10.0.0.0/24`, `fd00::/64`, `none`).
    pub fn prefix_of(&self, ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(_) => self.cidr.to_string(),
            IpAddr::V6(_) => self
                .ipv6
                .map_or_else(|| "no IPv6 prefix".to_string(), |c| c.to_string()),
        }
    }
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

    /// The node's IPv6 address on its first interface that has one.
    pub fn address6(&self) -> Option<Ipv6Addr> {
        self.interfaces.iter().find_map(|i| i.address6)
    }

    /// Every address of the node, IPv4 and IPv6.
    pub fn all_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.interfaces
            .iter()
            .flat_map(|i| std::iter::once(IpAddr::V4(i.address)).chain(i.address6.map(IpAddr::V6)))
    }

    /// Whether haproxy may bind an address of `ip`'s family that the node does not hold
    /// (`net.ipv4.ip_nonlocal_bind`, `net.ipv6.ip_nonlocal_bind`).
    pub fn nonlocal_bind(&self, ip: IpAddr) -> bool {
        self.sysctl
            .get(nonlocal_bind_sysctl(ip))
            .is_some_and(|v| v == "1")
    }
}

/// The sysctl that lets a process bind an address of `ip`'s family it does not hold.
pub fn nonlocal_bind_sysctl(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "net.ipv4.ip_nonlocal_bind"
    } else {
        "net.ipv6.ip_nonlocal_bind"
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    pub network: String,
    pub name: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    /// The IPv6 address beside the IPv4 one (dual stack), with the network's IPv6 prefix.
    pub address6: Option<Ipv6Addr>,
    pub prefix6: Option<u8>,
}

impl Interface {
    /// The interface's address of `ipv6`'s family.
    pub fn address_of(&self, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            self.address6.map(IpAddr::V6)
        } else {
            Some(IpAddr::V4(self.address))
        }
    }
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
    /// The member's address of the instance's family (unicast adverts go to it).
    pub address: IpAddr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vip {
    pub address: IpAddr,
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

    /// An IPv6 instance (VRRPv3 over IPv6): its VIPs are IPv6 (validation allows one family).
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.address.is_ipv6())
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

/// Serialises as haproxy writes it (`*:80`, `[::]:80`, `[fd00::100]:80`), which is what
/// templates print.
#[derive(Debug, Clone)]
pub struct Bind {
    /// None is `*` (every IPv4 address); `::` is every IPv6 address (and IPv4 too, with the
    /// kernel's default `net.ipv6.bindv6only = 0`).
    pub address: Option<IpAddr>,
    pub port: u16,
}

impl Bind {
    /// Whether a connection to `ip` on this bind's port reaches it.
    pub fn covers(&self, ip: IpAddr) -> bool {
        match self.address {
            None => ip.is_ipv4(),
            Some(IpAddr::V6(a)) if a.is_unspecified() => true,
            Some(a) => a == ip,
        }
    }
}

impl Serialize for Bind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
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
    pub address: IpAddr,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn binds_print_as_haproxy_writes_them_and_cover_their_family() {
        // Input: `*:80`, `[::]:80`, an IPv4 and an IPv6 VIP. Output: haproxy's spelling;
        // `*` covers IPv4 only, `[::]` both families (bindv6only 0), a VIP only itself.
        let any4 = Bind {
            address: None,
            port: 80,
        };
        let any6 = Bind {
            address: Some(ip("::")),
            port: 80,
        };
        let vip6 = Bind {
            address: Some(ip("fd00::100")),
            port: 8080,
        };
        let vip4 = Bind {
            address: Some(ip("10.0.0.100")),
            port: 80,
        };
        assert_eq!(any4.to_string(), "*:80");
        assert_eq!(any6.to_string(), "[::]:80");
        assert_eq!(vip6.to_string(), "[fd00::100]:8080");
        assert_eq!(vip4.to_string(), "10.0.0.100:80");
        assert!(any4.covers(ip("10.0.0.100")) && !any4.covers(ip("fd00::100")));
        assert!(any6.covers(ip("10.0.0.100")) && any6.covers(ip("fd00::100")));
        assert!(vip6.covers(ip("fd00::100")) && !vip6.covers(ip("fd00::101")));
        assert!(!vip4.covers(ip("fd00::100")));
    }

    #[test]
    fn an_ipv6_prefix_contains_its_addresses_only() {
        // Input: fd00:30::5/64 as written. Output: network fd00:30::, contains ::ffff of it,
        // not fd00:31::1.
        let c = Cidr6 {
            addr: "fd00:30::5".parse().expect("address"),
            prefix: 64,
        };
        assert_eq!(c.network().to_string(), "fd00:30::");
        assert!(c.contains("fd00:30::ffff".parse().expect("address")));
        assert!(!c.contains("fd00:31::1".parse().expect("address")));
    }
}

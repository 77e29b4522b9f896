//! The lab file exactly as written: serde types, nothing checked beyond shape.
//!
//! Every struct denies unknown fields, and nothing here is `untagged` or `flatten`:
//! those turn a typo into an unreadable error. Defaults and cross-field rules live in
//! `validate.rs`, which turns these into the [`super::model::Lab`] that cannot be invalid.
//! Field names are the lab file's keys (snake_case, as in keepalived.conf). A new nested
//! struct or enum also needs its place in `schema.rs`, which finds every unknown key at once.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLab {
    pub name: String,
    #[serde(default)]
    pub provider: Option<Provider>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default VRRP engine for LB nodes that do not name one.
    #[serde(default)]
    pub engine: Option<Engine>,
    pub networks: Vec<RawNetwork>,
    pub nodes: Vec<RawNode>,
    #[serde(default)]
    pub vrrp: Vec<RawVrrp>,
    #[serde(default)]
    pub scripts: BTreeMap<String, RawScript>,
    #[serde(default)]
    pub haproxy: Option<RawHaproxy>,
    /// Sysctls applied on every LB node (node-level `sysctl` adds to and overrides these).
    #[serde(default)]
    pub sysctl: BTreeMap<String, SysctlValue>,
    /// Write every lab node into each node's /etc/hosts (the seeds do it by hand).
    #[serde(default)]
    pub hosts: Option<bool>,
    #[serde(default)]
    pub ssh: Option<RawSshDefaults>,
}

#[derive(
    Debug, Clone, Copy, Deserialize, schemars::JsonSchema, serde::Serialize, PartialEq, Eq,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Netns,
    Ssh,
    Vagrant,
}

#[derive(
    Debug,
    Clone,
    Copy,
    Deserialize,
    schemars::JsonSchema,
    serde::Serialize,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Keepalived,
    Halabd,
}

#[derive(
    Debug, Clone, Copy, Deserialize, schemars::JsonSchema, serde::Serialize, PartialEq, Eq,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Lb,
    Web,
    Client,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub name: String,
    pub cidr: String,
    /// An IPv6 prefix beside the IPv4 cidr (dual stack), e.g. `fd00:30::/64`: nodes may then
    /// have an `address6` and instances IPv6 VIPs on this network.
    #[serde(default)]
    pub ipv6: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub name: String,
    pub role: Role,
    /// Address on the lab's first network (the common case: one network).
    #[serde(default)]
    pub address: Option<String>,
    /// IPv6 address on the lab's first network (which needs an `ipv6` prefix), beside `address`.
    #[serde(default)]
    pub address6: Option<String>,
    /// Addresses on several networks; exclusive with `address`.
    #[serde(default)]
    pub addresses: Vec<RawAttachment>,
    /// Interface name for `address` (default eth0).
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    /// VRRP engine on an LB node: keepalived (default) or halabd.
    #[serde(default)]
    pub engine: Option<Engine>,
    /// keepalived's global_defs router_id (default: the node name).
    #[serde(default)]
    pub router_id: Option<String>,
    /// nginx on this node (web nodes get it by default; an LB node may serve too, as in seed 002).
    #[serde(default)]
    pub web: Option<RawWeb>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, SysctlValue>,
    #[serde(default)]
    pub ssh: Option<RawSsh>,
    /// The node's own files, run unchanged: a keepalived.conf, haproxy.cfg or nginx.conf here
    /// replaces the one halab renders (docs/lab-file.md, "Your own files").
    #[serde(default)]
    pub files: Vec<RawFile>,
}

/// One file of the node's own, copied as is: from `source` (relative to the lab file) or
/// written out in `content`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Absolute path on the node (`/etc/keepalived/keepalived.conf`).
    pub path: String,
    /// The file to copy, relative to the lab file's directory; exclusive with `content`.
    #[serde(default)]
    pub source: Option<String>,
    /// The file's text; exclusive with `source`.
    #[serde(default)]
    pub content: Option<String>,
    /// Octal, as a string (`"0755"`); default 0644, 0600 for keepalived.conf.
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAttachment {
    pub network: String,
    pub address: String,
    /// IPv6 address on this network, beside `address` (dual stack).
    #[serde(default)]
    pub address6: Option<String>,
    #[serde(default)]
    pub interface: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    #[serde(default)]
    pub port: Option<u16>,
    /// The index page's content (default: `<h1>NODE</h1>`).
    #[serde(default)]
    pub index: Option<String>,
    #[serde(default)]
    pub server_name: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSshDefaults {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub identity_file: Option<String>,
    #[serde(default)]
    pub jump: Option<String>,
    #[serde(default)]
    pub accept_new_host_keys: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    pub host: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub identity_file: Option<String>,
    #[serde(default)]
    pub jump: Option<String>,
}

/// A sysctl value as written: `1`, `"1"` or `true` all mean 1.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "SysctlScalar")]
pub struct SysctlValue(pub String);

/// The schema of what is written (a number, a bool or a string), not of what it becomes.
impl schemars::JsonSchema for SysctlValue {
    fn schema_name() -> String {
        "SysctlValue".to_string()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        SysctlScalar::json_schema(generator)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum SysctlScalar {
    // The one `untagged` in the file: a scalar of three spellings; its error cannot mislead.
    Int(i64),
    Bool(bool),
    Str(String),
}

impl From<SysctlScalar> for SysctlValue {
    fn from(s: SysctlScalar) -> Self {
        SysctlValue(match s {
            SysctlScalar::Int(i) => i.to_string(),
            SysctlScalar::Bool(b) => u8::from(b).to_string(),
            SysctlScalar::Str(s) => s,
        })
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVrrp {
    /// keepalived's vrrp_instance name (default VI_1, VI_2, ...).
    #[serde(default)]
    pub name: Option<String>,
    pub vrid: i64,
    /// The lab network the instance runs on (default: the one holding its VIPs).
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub version: Option<u8>,
    /// Seconds between adverts (VRRPv2: whole seconds; VRRPv3: 0.01 s steps).
    #[serde(default)]
    pub advert_int: Option<f64>,
    /// Priority per LB node; LB nodes on the network that are not listed take part with
    /// descending defaults (100, 90, ...).
    #[serde(default)]
    pub priorities: BTreeMap<String, i64>,
    /// The node that starts as MASTER (default: the highest priority; none with nopreempt).
    #[serde(default)]
    pub master: Option<String>,
    /// IPv4 or IPv6 addresses, all of one family (keepalived: the first VIP's); IPv6 needs
    /// `version: 3`. Dual stack is one instance per family.
    pub vips: Vec<String>,
    #[serde(default)]
    pub auth: Option<RawAuth>,
    #[serde(default)]
    pub preempt: Option<bool>,
    #[serde(default)]
    pub preempt_delay: Option<f64>,
    /// Send adverts to the other members' addresses instead of multicast.
    #[serde(default)]
    pub unicast: Option<bool>,
    #[serde(default)]
    pub track_scripts: Vec<String>,
    #[serde(default)]
    pub track_interfaces: Vec<String>,
    #[serde(default)]
    pub notify: Option<RawNotify>,
    #[serde(default)]
    pub garp_master_delay: Option<u32>,
    #[serde(default)]
    pub garp_master_repeat: Option<u32>,
    #[serde(default)]
    pub garp_master_refresh: Option<u32>,
    /// Instances with the same sync group move together (keepalived's vrrp_sync_group).
    #[serde(default)]
    pub sync_group: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    #[serde(rename = "type", default)]
    pub kind: Option<AuthType>,
    /// At most 8 characters (the VRRPv2 field); `${ENV}` or `${ENV:-default}` allowed.
    pub pass: String,
}

#[derive(
    Debug, Clone, Copy, Deserialize, schemars::JsonSchema, serde::Serialize, PartialEq, Eq,
)]
pub enum AuthType {
    #[serde(rename = "PASS", alias = "pass")]
    Pass,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    #[serde(default)]
    pub master: Option<String>,
    #[serde(default)]
    pub backup: Option<String>,
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(default)]
    pub any: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScript {
    /// The command keepalived runs, as in `vrrp_script { script "..." }`.
    pub script: String,
    #[serde(default)]
    pub interval: Option<f64>,
    #[serde(default)]
    pub timeout: Option<f64>,
    #[serde(default)]
    pub weight: Option<i64>,
    #[serde(default)]
    pub rise: Option<i64>,
    #[serde(default)]
    pub fall: Option<i64>,
    /// When set, halab writes this file (mode 0755) on every LB node: the script's body.
    #[serde(default)]
    pub file: Option<RawScriptFile>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScriptFile {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHaproxy {
    #[serde(default)]
    pub global: Option<RawGlobal>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub frontends: Vec<RawProxy>,
    #[serde(default)]
    pub backends: Vec<RawProxy>,
    #[serde(default)]
    pub listens: Vec<RawProxy>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGlobal {
    #[serde(default)]
    pub maxconn: Option<u32>,
    #[serde(default)]
    pub nbthread: Option<u32>,
    /// haproxy's `log` target (default `127.0.0.1:514 local2`, as the seeds send it to
    /// rsyslog); `none` writes no log line.
    #[serde(default)]
    pub log: Option<String>,
    /// Extra lines copied verbatim into `global`.
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub balance: Option<String>,
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub maxconn: Option<u32>,
    #[serde(default)]
    pub timeouts: BTreeMap<String, String>,
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(
    Debug, Clone, Copy, Deserialize, schemars::JsonSchema, serde::Serialize, PartialEq, Eq,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Http,
    Tcp,
}

/// A frontend, backend or listen section; which fields a kind accepts is checked in validation.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    pub name: String,
    #[serde(default)]
    pub bind: Vec<String>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub balance: Option<String>,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub acls: Vec<String>,
    #[serde(default)]
    pub use_backends: Vec<RawUseBackend>,
    #[serde(default)]
    pub default_backend: Option<String>,
    #[serde(default)]
    pub httpchk: Option<RawHttpchk>,
    #[serde(default)]
    pub cookie: Option<RawCookie>,
    /// Servers; when absent in a backend or listen that has no default_backend, every web
    /// node is a server.
    #[serde(default)]
    pub servers: Option<Vec<RawServer>>,
    /// Defaults for this section's servers (`default-server`).
    #[serde(default)]
    pub server_defaults: Option<RawServerOpts>,
    #[serde(default)]
    pub stats: Option<RawStats>,
    #[serde(default)]
    pub maxconn: Option<u32>,
    #[serde(default)]
    pub timeouts: BTreeMap<String, String>,
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUseBackend {
    pub backend: String,
    #[serde(rename = "if", default)]
    pub if_cond: Option<String>,
    #[serde(default)]
    pub unless: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttpchk {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCookie {
    pub name: String,
    /// insert (default), rewrite or prefix.
    #[serde(default)]
    pub method: Option<CookieMethod>,
    #[serde(default)]
    pub indirect: Option<bool>,
    #[serde(default)]
    pub nocache: Option<bool>,
}

#[derive(
    Debug, Clone, Copy, Deserialize, schemars::JsonSchema, serde::Serialize, PartialEq, Eq,
)]
#[serde(rename_all = "lowercase")]
pub enum CookieMethod {
    Insert,
    Rewrite,
    Prefix,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServerOpts {
    #[serde(default)]
    pub check: Option<bool>,
    #[serde(default)]
    pub inter: Option<String>,
    #[serde(default)]
    pub rise: Option<u32>,
    #[serde(default)]
    pub fall: Option<u32>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub maxconn: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// A web node of the lab; its address and nginx port are used.
    #[serde(default)]
    pub node: Option<String>,
    /// Server name in haproxy.cfg (default: the node's name).
    #[serde(default)]
    pub name: Option<String>,
    /// An address outside the lab's web nodes (`127.0.0.1:4331`, `[fd00::5]:80`), exclusive
    /// with `node`.
    #[serde(default)]
    pub address: Option<String>,
    /// With `node`: reach the web node over its IPv6 address (`address6`) instead of IPv4.
    #[serde(default)]
    pub ipv6: Option<bool>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub check: Option<bool>,
    #[serde(default)]
    pub inter: Option<String>,
    #[serde(default)]
    pub rise: Option<u32>,
    #[serde(default)]
    pub fall: Option<u32>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub maxconn: Option<u32>,
    #[serde(default)]
    pub backup: Option<bool>,
    /// Cookie value for `cookie` stickiness (default: the server name).
    #[serde(default)]
    pub cookie: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStats {
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    /// `${ENV}` or `${ENV:-default}` allowed; never logged.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub refresh: Option<String>,
    #[serde(default)]
    pub admin: Option<bool>,
    #[serde(default)]
    pub show_legends: Option<bool>,
    #[serde(default)]
    pub hide_version: Option<bool>,
}

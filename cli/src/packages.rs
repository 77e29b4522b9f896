//! The package table: every tool halab runs, the program that shows it is there, and the
//! package that brings it (Debian's name on this machine, the name common to apt and dnf on
//! ssh hosts). `doctor`, the local check and the ssh provider's installs all read it.
//! scripts/setup installs the same list on a fresh machine.

use crate::lab::model::{Engine, Node, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// What `doctor` calls it.
    pub name: &'static str,
    /// The program whose presence shows the tool is there.
    pub program: &'static str,
    /// The command that prints its version (program, argument): pidof prints none, so
    /// procps' comes from `ps --version`.
    pub version: (&'static str, &'static str),
    /// Debian's package (this machine).
    pub debian: &'static str,
    /// The package on an ssh host (the name apt and dnf share).
    pub host: &'static str,
}

const fn tool(
    name: &'static str,
    program: &'static str,
    version_arg: &'static str,
    debian: &'static str,
    host: &'static str,
) -> Tool {
    Tool {
        name,
        program,
        version: (program, version_arg),
        debian,
        host,
    }
}

pub const IPROUTE2: Tool = tool("iproute2", "ip", "-V", "iproute2", "iproute2");
pub const UTIL_LINUX: Tool = tool(
    "util-linux (nsenter, unshare)",
    "nsenter",
    "--version",
    "util-linux",
    "util-linux",
);
pub const HAPROXY: Tool = tool("haproxy", "haproxy", "-v", "haproxy", "haproxy");
pub const NGINX: Tool = tool("nginx", "nginx", "-v", "nginx-light", "nginx");
pub const KEEPALIVED: Tool = tool("keepalived", "keepalived", "-v", "keepalived", "keepalived");
pub const NFTABLES: Tool = tool(
    "nftables (partitions, loss)",
    "nft",
    "--version",
    "nftables",
    "nftables",
);
pub const PSMISC: Tool = tool(
    "psmisc (killall for track scripts)",
    "killall",
    "-V",
    "psmisc",
    "psmisc",
);
pub const PROCPS: Tool = Tool {
    name: "procps (pidof, ps)",
    program: "pidof",
    version: ("ps", "--version"),
    debian: "procps",
    host: "procps",
};
pub const TCPDUMP: Tool = tool(
    "tcpdump (captures)",
    "tcpdump",
    "--version",
    "tcpdump",
    "tcpdump",
);
/// haproxy's admin socket, as the haproxy docs use it (and the stats assertion).
pub const SOCAT: Tool = tool("socat", "socat", "-V", "socat", "socat");

/// What this machine needs to run labs with the netns provider (`halab doctor`).
pub const LOCAL: [Tool; 9] = [
    IPROUTE2, UTIL_LINUX, HAPROXY, NGINX, KEEPALIVED, NFTABLES, PSMISC, PROCPS, TCPDUMP,
];

/// The host packages a node needs, by its role and engine.
pub fn for_node(n: &Node) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n.web.is_some() {
        out.push(NGINX.host);
    }
    if n.role == Role::Lb {
        out.extend([HAPROXY.host, SOCAT.host]);
        if n.engine == Some(Engine::Keepalived) {
            out.push(KEEPALIVED.host);
        }
    }
    out
}

//! Names of the lab's namespaces and links.
//!
//! A node's network namespace is `halab-<lab>.<node>`, the lab's switch namespace is
//! `halab-<lab>`. The dot separates lab and node: a lab part never holds a dot, so two labs can
//! never produce the same name (with `-` as separator, lab `a-b` node `c` and lab `a` node `b-c`
//! would collide, and a node called `sw` would collide with a `-sw` switch). Parts that are long
//! or hold other characters are cut and get a short hash of the full name, so names stay unique
//! and readable. Names in the switch namespace only need to be unique there: `b<k>` for the
//! bridge of network k, `n<i>i<j>` for the switch end of node i's interface j; they always fit
//! the kernel's 15 characters.

/// Every halab namespace name starts with this (what `halab doctor` looks for).
pub const PREFIX: &str = "halab-";

const LAB_PART_MAX: usize = 20;
const NODE_PART_MAX: usize = 24;

/// FNV-1a: a tiny stable hash, enough to keep cut names apart.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn part(name: &str, max: usize, allowed: impl Fn(char) -> bool) -> String {
    if !name.is_empty() && name.len() <= max && name.chars().all(&allowed) {
        return name.to_owned();
    }
    let keep: String = name
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(max - 7)
        .collect();
    format!("{keep}-{:06x}", fnv1a(name) & 0xff_ffff)
}

fn lab_part(lab: &str) -> String {
    part(lab, LAB_PART_MAX, |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_'
    })
}

/// The lab's switch namespace, holding one bridge per network.
pub fn switch_ns(lab: &str) -> String {
    format!("{PREFIX}{}", lab_part(lab))
}

pub fn node_ns(lab: &str, node: &str) -> String {
    let node = part(node, NODE_PART_MAX, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    });
    format!("{PREFIX}{}.{node}", lab_part(lab))
}

/// True for the lab's own namespaces (switch and nodes), and no other lab's.
pub fn belongs_to(lab: &str, ns: &str) -> bool {
    let switch = switch_ns(lab);
    ns == switch
        || ns
            .strip_prefix(&switch)
            .is_some_and(|rest| rest.starts_with('.'))
}

pub fn bridge(network_index: usize) -> String {
    format!("b{network_index}")
}

/// The switch end of a node's interface.
pub fn switch_port(node_index: usize, if_index: usize) -> String {
    format!("n{node_index}i{if_index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(switch_ns("web"), "halab-web");
        assert_eq!(node_ns("web", "lb1"), "halab-web.lb1");
        assert_eq!(node_ns("web-ha", "lb1.dc1"), "halab-web-ha.lb1.dc1");
    }

    #[test]
    fn separators_never_collide() {
        assert_ne!(node_ns("a-b", "c"), node_ns("a", "b-c"));
        assert_ne!(node_ns("a.b", "c"), node_ns("a", "b.c"));
        assert_ne!(node_ns("web", "sw"), switch_ns("web"));
        assert!(belongs_to("web", "halab-web.lb1"));
        assert!(belongs_to("web", "halab-web"));
        assert!(!belongs_to("web", "halab-web2.lb1"));
        assert!(!belongs_to("web", "halab-web-2"));
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let a = switch_ns("a-really-long-lab-name-for-the-staging-site");
        let b = switch_ns("a-really-long-lab-name-for-the-production-site");
        assert_ne!(a, b);
        assert!(a.len() <= PREFIX.len() + LAB_PART_MAX, "{a}");
        assert!(a.starts_with("halab-a-really-long-"), "{a}");
        let n = node_ns("x", &"n".repeat(100));
        assert!(n.len() <= PREFIX.len() + 2 + NODE_PART_MAX, "{n}");
    }

    #[test]
    fn switch_ports_fit_ifnamsiz() {
        assert!(switch_port(9999, 99).len() <= 15);
        assert!(bridge(99999).len() <= 15);
    }
}

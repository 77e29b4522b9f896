//! keepalived's nftables table (2.2.7 `vrrp_nftables.c`), built with the `nft` tool:
//!
//! - `no_accept` (and `vrrp_strict`'s default for a non-owner): while master, packets to the
//!   VIPs are dropped on input and packets from them on output (RFC 5798 6.4.3: a master not
//!   in Accept_Mode MUST NOT accept packets addressed to the virtual addresses). The VIPs are
//!   in set `vips`, added before the addresses go up, removed after they go down.
//! - `use_vmac`: IGMP reports a VMAC would send (with the virtual MAC as source, which would
//!   teach switches that the backup holds it) leave from the base interface instead
//!   (`dup to ... device oif map @vmac_map drop`).
//!
//! The table is keepalived's (`ip keepalived`, chains `in`/`out` at priority -1), so rules an
//! operator wrote against it keep working; it is recreated empty when halabd first needs it
//! and deleted when halabd stops.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// keepalived's default `nftables` table name (`DEFAULT_NFTABLES_TABLE`).
pub const FIREWALL_TABLE: &str = "keepalived";

/// Why `nft` failed.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("run nft: {0}")]
    Spawn(std::io::Error),
    #[error("nft refused the rules: {0}")]
    Refused(String),
}

/// The table and what halabd put in it.
#[derive(Debug)]
pub struct Firewall {
    table: String,
    created: bool,
    vips: BTreeSet<Ipv4Addr>,
    vmacs: BTreeSet<(String, String)>,
}

impl Default for Firewall {
    fn default() -> Self {
        Self::new(FIREWALL_TABLE)
    }
}

/// The script creating the table afresh (an old one, from a crashed run, is replaced).
pub fn create_script(table: &str) -> String {
    format!(
        "table ip {table} {{}}\n\
         delete table ip {table}\n\
         table ip {table} {{\n\
         \tset vips {{ type ipv4_addr; }}\n\
         \tmap vmac_map {{ type iface_index : iface_index; }}\n\
         \tchain in {{\n\
         \t\ttype filter hook input priority -1; policy accept;\n\
         \t\tip daddr @vips counter drop\n\
         \t}}\n\
         \tchain out {{\n\
         \t\ttype filter hook output priority -1; policy accept;\n\
         \t\tip saddr @vips counter drop\n\
         \t\tip protocol igmp meta oifkind \"macvlan\" counter dup to ip daddr device oif map @vmac_map drop\n\
         \t}}\n\
         }}\n"
    )
}

/// `add`/`delete` these VIPs to/from the drop set.
pub fn vips_script(table: &str, add: bool, vips: &[Ipv4Addr]) -> String {
    let verb = if add { "add" } else { "delete" };
    let list = vips
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("{verb} element ip {table} vips {{ {list} }}\n")
}

/// `add`/`delete` a VMAC's entry in the IGMP map.
pub fn vmac_script(table: &str, add: bool, vmac: &str, base: &str) -> String {
    let verb = if add { "add" } else { "delete" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{verb} element ip {table} vmac_map {{ \"{vmac}\" : \"{base}\" }}"
    );
    out
}

async fn run(script: &str) -> Result<(), FirewallError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(FirewallError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .await
            .map_err(FirewallError::Spawn)?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(FirewallError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FirewallError::Refused(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

impl Firewall {
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            created: false,
            vips: BTreeSet::new(),
            vmacs: BTreeSet::new(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn ensure(&mut self) -> Result<(), FirewallError> {
        if !self.created {
            run(&create_script(&self.table)).await?;
            self.created = true;
            tracing::info!("Created nftables table ip {}", self.table);
        }
        Ok(())
    }

    /// Drops traffic to and from `vips` (a master without accept mode, before adding them).
    pub async fn drop_vips(&mut self, vips: &[Ipv4Addr]) -> Result<(), FirewallError> {
        let new: Vec<Ipv4Addr> = vips
            .iter()
            .copied()
            .filter(|v| !self.vips.contains(v))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        self.ensure().await?;
        run(&vips_script(&self.table, true, &new)).await?;
        self.vips.extend(new);
        Ok(())
    }

    /// Lets traffic to and from `vips` through again (after removing them).
    pub async fn accept_vips(&mut self, vips: &[Ipv4Addr]) -> Result<(), FirewallError> {
        let held: Vec<Ipv4Addr> = vips
            .iter()
            .copied()
            .filter(|v| self.vips.contains(v))
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        run(&vips_script(&self.table, false, &held)).await?;
        for v in held {
            self.vips.remove(&v);
        }
        Ok(())
    }

    /// Sends `vmac`'s IGMP reports out of `base`.
    pub async fn add_vmac(&mut self, vmac: &str, base: &str) -> Result<(), FirewallError> {
        let key = (vmac.to_owned(), base.to_owned());
        if self.vmacs.contains(&key) {
            return Ok(());
        }
        self.ensure().await?;
        run(&vmac_script(&self.table, true, vmac, base)).await?;
        self.vmacs.insert(key);
        Ok(())
    }

    /// Forgets `vmac` (before its link is deleted).
    pub async fn remove_vmac(&mut self, vmac: &str) -> Result<(), FirewallError> {
        let Some(key) = self.vmacs.iter().find(|(v, _)| v == vmac).cloned() else {
            return Ok(());
        };
        self.vmacs.remove(&key);
        run(&vmac_script(&self.table, false, &key.0, &key.1)).await
    }

    /// Deletes the table (halabd stops), if it was created.
    pub async fn remove(&mut self) -> Result<(), FirewallError> {
        if !std::mem::take(&mut self.created) {
            return Ok(());
        }
        self.vips.clear();
        self.vmacs.clear();
        run(&format!("delete table ip {}\n", self.table)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_keepalived_s() {
        let script = create_script("keepalived");
        // Replaces an old table atomically.
        assert!(script.starts_with("table ip keepalived {}\ndelete table ip keepalived\n"));
        assert!(script.contains("type filter hook input priority -1; policy accept;"));
        assert!(script.contains("ip daddr @vips counter drop"));
        assert!(script.contains("ip saddr @vips counter drop"));
        assert!(script.contains("dup to ip daddr device oif map @vmac_map drop"));
    }

    #[test]
    fn elements_are_listed_in_one_statement() {
        let vips = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
        assert_eq!(
            vips_script("keepalived", true, &vips),
            "add element ip keepalived vips { 10.0.0.1, 10.0.0.2 }\n"
        );
        assert_eq!(
            vips_script("t", false, &vips[..1]),
            "delete element ip t vips { 10.0.0.1 }\n"
        );
        assert_eq!(
            vmac_script("t", true, "vrrp.51", "eth0"),
            "add element ip t vmac_map { \"vrrp.51\" : \"eth0\" }\n"
        );
    }

    /// Input: the scripts, checked by the real nft (`nft -c`: parsed and validated against the
    /// kernel, nothing committed). Output: accepted.
    #[test]
    fn nft_accepts_the_scripts() {
        let script = create_script("halabd_check")
            + &vips_script("halabd_check", true, &[Ipv4Addr::new(10, 0, 0, 1)]);
        let out = std::process::Command::new("unshare")
            .args(["--net", "nft", "-c", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(script.as_bytes())?;
                child.wait_with_output()
            })
            .expect("run unshare nft");
        assert!(
            out.status.success(),
            "nft -c refused:\n{script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

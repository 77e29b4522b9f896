//! What an instance's wire options ask of the host, around the core: its VMAC link
//! (`use_vmac`, `vmac_xmit_base`) and keepalived's nftables drops for a master without accept
//! mode (`no_accept`, `vrrp_strict`). The links and the table are [`crate::net`]'s; this is
//! when they are made and undone.

use std::net::Ipv4Addr;

use super::Daemon;
use crate::net::{Link, save_base_sysctls, virtual_mac, write_sysctl};

/// A VMAC link an instance created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacLink {
    pub name: String,
    pub index: u32,
    /// The interface it sits on (`interface`).
    pub base: String,
}

impl Daemon {
    /// keepalived `use_vmac`: the VMAC link of runner `index` on `base`, created if needed.
    /// None if the instance has no VMAC; Err(problem) if it cannot be made.
    pub(super) async fn vmac_for(
        &mut self,
        index: usize,
        base: &Link,
    ) -> Result<Option<Link>, String> {
        let runner = &self.runners[index];
        let Some(name) = runner.conf.wire.vmac_name(runner.conf.vrid) else {
            return Ok(None);
        };
        if let Some(vmac) = &runner.vmac
            && let Some(link) = self.links.get(&vmac.index)
            && link.name == vmac.name
        {
            return Ok(Some(link.clone()));
        }
        let iname = runner.conf.name.clone();
        let mac = virtual_mac(runner.conf.vrid);
        // The base's ARP settings as they were before its first VMAC, to restore.
        if !self.base_sysctls.contains_key(&base.name) {
            self.base_sysctls
                .insert(base.name.clone(), save_base_sysctls(&base.name));
        }
        for (path, value) in crate::net::base_sysctls(&base.name) {
            if let Err(e) = write_sysctl(&path, value) {
                tracing::warn!("({iname}) {e}");
            }
        }
        let vmac_index = self
            .netlink
            .add_vmac(&name, base.index, mac)
            .await
            .map_err(|e| format!("cannot create VMAC interface {name}: {e}"))?;
        tracing::info!(
            "({iname}) VMAC interface {name} created on {} with MAC {}",
            base.name,
            mac.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        );
        if let Err(e) = self.firewall.add_vmac(&name, &base.name).await {
            tracing::warn!("({iname}) IGMP of {name} not moved to {}: {e}", base.name);
        }
        let link = Link {
            index: vmac_index,
            name: name.clone(),
            up: base.up,
        };
        // Known before netlink reports it: VIPs and ARPs go there at once.
        self.links.insert(vmac_index, link.clone());
        self.runners[index].vmac = Some(VmacLink {
            name,
            index: vmac_index,
            base: base.name.clone(),
        });
        Ok(Some(link))
    }

    /// Deletes a stopped runner's VMAC link (keepalived removes its VMACs when it stops),
    /// restoring the base's ARP settings after its last VMAC.
    pub(super) async fn remove_vmac(&mut self, vmac: VmacLink) {
        if let Err(e) = self.firewall.remove_vmac(&vmac.name).await {
            tracing::warn!("{e}");
        }
        match self.netlink.del_link(vmac.index).await {
            Ok(()) => tracing::info!("VMAC interface {} removed", vmac.name),
            Err(e) => tracing::warn!("Failed to {e}"),
        }
        self.links.remove(&vmac.index);
        self.arp_listeners.remove(&vmac.index);
        self.link_targets.remove(&vmac.name);
        let base_in_use = self
            .runners
            .iter()
            .any(|r| r.vmac.as_ref().is_some_and(|v| v.base == vmac.base));
        if !base_in_use && let Some(saved) = self.base_sysctls.remove(&vmac.base) {
            for (path, value) in saved {
                if let Err(e) = write_sysctl(&path, &value) {
                    tracing::warn!("{e}");
                }
            }
        }
    }

    /// keepalived `vrrp_handle_accept_mode`: a master without accept mode (and not the address
    /// owner) drops traffic to its VIPs. Before the VIPs go up (`add`) or after they go down.
    pub(super) async fn accept_mode(&mut self, index: usize, vips: &[Ipv4Addr], add: bool) {
        let conf = &self.runners[index].conf;
        if conf.wire.accept_mode() || conf.priority == 255 {
            return;
        }
        let name = conf.name.clone();
        let result = if add {
            self.firewall.drop_vips(vips).await
        } else {
            self.firewall.accept_vips(vips).await
        };
        match result {
            Ok(()) => tracing::info!(
                "({name}) {} firewall drop rule",
                if add { "setting" } else { "removing" }
            ),
            Err(e) => {
                self.runners[index].counters.io_errors += 1;
                tracing::error!("({name}) failed to set accept mode: {e}");
            }
        }
    }
}

//! The ssh provider: existing hosts, reached with the system ssh client (the `openssh` crate,
//! one multiplexed master connection per host: known_hosts, the agent, ProxyJump and
//! ssh_config work as they do for `ssh`), files over SFTP. docs/ssh.md.
//!
//! `up` on every host, hosts in parallel: [`facts`] (OS, package manager, systemd, arch, libc)
//! -> [`packages`] -> upload the changed files into a staging dir and have each real tool check
//! the new config on the host ([`stage`]) -> only when every host passed: back up and move each
//! file in, sysctls, start or reload what changed ([`commit`]). A second `up` with nothing
//! changed touches nothing. What halab did on each host is in the lab's state dir
//! ([`record`]), so [`down`] stops exactly that and `down --purge` removes it.

pub mod commit;
pub mod connection;
pub mod down;
pub mod facts;
pub mod fleet;
pub mod halabd_deb;
pub mod host;
pub mod items;
pub mod machine;
pub mod packages;
pub mod parallel;
pub mod probe_client;
pub mod record;
pub mod stage;
pub mod target;
pub mod up;

/// Where halab keeps its own things on a host: the probe binary for client nodes.
pub const HALAB_DIR: &str = "/var/lib/halab";
const PROBE_BIN: &str = "/var/lib/halab/halab";

/// The ssh provider (and the vagrant one: VMs brought up first, then reached as ssh hosts).
pub struct Ssh;

impl crate::provider::Provider for Ssh {
    fn up(
        &self,
        lab: &crate::lab::Lab,
        opts: &mut crate::apply::UpOptions,
    ) -> Result<crate::apply::UpReport, crate::apply::UpError> {
        up::up(lab, opts)
    }

    fn down(
        &self,
        state_dir: &std::path::Path,
        purge: bool,
    ) -> Result<Option<crate::provider::DownReport>, crate::apply::UpError> {
        Ok(down::down(state_dir, purge)?.map(crate::provider::DownReport::Hosts))
    }

    fn is_up(&self, state_dir: &std::path::Path) -> bool {
        record::Record::path(state_dir).exists()
    }

    fn fleet(
        &self,
        lab: &crate::lab::Lab,
        state_dir: &std::path::Path,
    ) -> Result<std::sync::Arc<dyn crate::fleet::Fleet>, String> {
        Ok(std::sync::Arc::new(fleet::SshFleet::connect(
            lab, state_dir,
        )?))
    }
}

//! halabd: a keepalived-compatible VRRP daemon driving the sans-IO core in `halab-vrrp`.
//!
//! - [`conf`]: keepalived.conf into typed configuration (`halabd -t`): the `halab-kaconf`
//!   crate, re-exported.
//! - [`driver`]: the event loop: one core instance per `vrrp_instance`, real time, raw sockets,
//!   netlink, scripts, signals, sync groups, reload.
//! - [`net`]: the VRRP socket, gratuitous ARP, rtnetlink.
//! - [`api`]: the HTTP status API.
//! - [`pidfile`]: the `--pid-file`.

pub mod api;
pub use halab_kaconf as conf;
pub mod driver;
pub mod net;
pub mod pidfile;

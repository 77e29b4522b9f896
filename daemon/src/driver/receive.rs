//! Receiving adverts: one task per socket reads packets into the loop, which hands them to the
//! instance's core.

use std::sync::Arc;
use std::time::{Duration, Instant};

use halab_vrrp::Input;
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::AbortHandle;

use super::{Daemon, Event};
use crate::net::{VrrpSocket, packet_vrid};

impl Daemon {
    pub(super) async fn packet(&mut self, id: u64, packet: Vec<u8>) {
        let Some(index) = self.runners.iter().position(|r| r.id == id) else {
            return;
        };
        let now = self.now_ts(Instant::now());
        let runner = &mut self.runners[index];
        let Some(setup) = runner.setup.as_mut() else {
            return;
        };
        runner.counters.adverts_received += 1;
        let actions = setup.core.handle(now, Input::PacketReceived { packet });
        self.apply(index, actions).await;
    }
}

/// Reads `socket` until aborted, passing runner `id` the adverts for `vrid`.
pub(super) fn spawn_receiver(
    socket: Arc<VrrpSocket>,
    vrid: u8,
    id: u64,
    tx: Sender<Event>,
) -> AbortHandle {
    tokio::spawn(async move {
        loop {
            match socket.recv().await {
                Ok(packet) => {
                    // Other virtual routers share the wire: skip them before the core.
                    if packet_vrid(&packet) != Some(vrid) {
                        continue;
                    }
                    // A flood must not grow memory: past the queue's bound, drop packets
                    // (VRRP survives lost adverts; the loop is behind anyway).
                    match tx.try_send(Event::Packet { runner: id, packet }) {
                        Ok(()) | Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Closed(_)) => return,
                    }
                }
                Err(e) => {
                    tracing::warn!("VRRP socket receive failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
    .abort_handle()
}

//! Timers: the core's deadlines and the gratuitous ARP bursts and refreshes.

use std::time::{Duration, Instant};

use halab_vrrp::{Input, State};

use super::Daemon;

impl Daemon {
    pub(super) async fn timers(&mut self) {
        let now = Instant::now();
        let ts = self.now_ts(now);
        for index in 0..self.runners.len() {
            let runner = &mut self.runners[index];
            if let Some((timer, at)) = runner.deadline
                && at <= now
            {
                runner.deadline = None;
                if let Some(setup) = runner.setup.as_mut() {
                    let actions = setup.core.handle(ts, Input::TimerFired { timer });
                    self.apply(index, actions).await;
                }
            }
            let runner = &mut self.runners[index];
            if runner.garp_burst_at.is_some_and(|at| at <= now) {
                runner.garp_burst_at = None;
                if runner.state() == State::Master {
                    let repeat = runner.conf.garp_master_repeat;
                    self.send_garps(index, repeat);
                }
            }
            let runner = &mut self.runners[index];
            if runner.refresh_at.is_some_and(|at| at <= now) {
                runner.refresh_at = None;
                if runner.state() == State::Master && runner.conf.garp_master_refresh_s > 0 {
                    runner.refresh_at =
                        Some(now + Duration::from_secs(runner.conf.garp_master_refresh_s));
                    self.send_garps(index, 1);
                }
            }
        }
    }
}

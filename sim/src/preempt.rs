//! keepalived's `preempt_delay`, checked from outside the core: a backup that preempts a live
//! lower-priority master must have heard a lower priority at least the delay before.
//!
//! keepalived 2.2.7 `vrrp_state_backup` (and the core): the delay starts at the first advert
//! below our priority heard in BACKUP and stops at one at least as good; while it runs, lower
//! adverts are accepted. Every BACKUP period starts with no delay running (entering BACKUP, or
//! leaving MASTER, clears it). So whatever resets it, the delay that let a backup preempt
//! started no earlier than the first lower advert of the period: preempting at `t` needs one
//! heard by `t - delay`.

/// What one instance heard in its current BACKUP period, on its own clock (µs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heard {
    first_lower: Option<u64>,
    last_advert: Option<u64>,
    last_resign: Option<u64>,
}

impl Heard {
    /// An advert of `priority` reached the instance, in BACKUP at priority `own`, at `at`.
    pub fn advert(&mut self, at: u64, priority: u8, own: u8) {
        if priority == 0 {
            self.last_resign = Some(at);
            return;
        }
        self.last_advert = Some(at);
        if priority < own && self.first_lower.is_none() {
            self.first_lower = Some(at);
        }
    }

    /// The instance went from BACKUP to MASTER at `at` by its own timer (not moved by its sync
    /// group). A preemption, when a master was still advertising: its last advert came less
    /// than 3 × `interval_us` before (a master down waits Master_Down_Interval, more than
    /// that; a preempting backup takes over within one Master_Down_Interval of its last
    /// accepted advert, with a discarded one in between, or Skew_Time after a discarded one),
    /// and no priority 0 came since (that sets Skew_Time whatever the delay). Then the delay
    /// must have passed since the first lower advert; the broken rule otherwise.
    pub fn takeover(&self, at: u64, interval_us: u64, delay_us: u64) -> Result<(), String> {
        let Some(last) = self.last_advert else {
            return Ok(());
        };
        let resigned = self.last_resign.is_some_and(|z| z >= last);
        if resigned || at.saturating_sub(last) >= 3 * interval_us {
            return Ok(());
        }
        match self.first_lower {
            Some(first) if first.saturating_add(delay_us) <= at => Ok(()),
            Some(first) => Err(format!(
                "preempted {} us after the first lower advert, preempt_delay {delay_us} us",
                at - first
            )),
            None => Err(format!(
                "preempted a master {} us after its last advert without hearing a lower priority",
                at - last
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn a_preemption_before_the_delay_is_caught() {
        // Input: a backup at 100 hears 50 every second from 10 s; delay 4 s; it takes over at
        // 12.5 s, or later at 14.5 s. Output: the first breaks the delay.
        let mut heard = Heard::default();
        for t in 10..=12 {
            heard.advert(t * S, 50, 100);
        }
        assert!(heard.takeover(12 * S + S / 2, S, 4 * S).is_err());
        for t in 13..=14 {
            heard.advert(t * S, 50, 100);
        }
        assert_eq!(heard.takeover(14 * S + S / 2, S, 4 * S), Ok(()));
    }

    #[test]
    fn a_master_down_or_a_resignation_is_no_preemption() {
        // Input: the lower master's last advert at 10 s, then silence until 13.9 s; or a
        // priority 0 at 10.5 s and a takeover at 10.9 s. Output: no violation.
        let mut heard = Heard::default();
        heard.advert(10 * S, 50, 100);
        assert_eq!(heard.takeover(13 * S + 900_000, S, 4 * S), Ok(()));
        heard.advert(10 * S + S / 2, 0, 100);
        assert_eq!(heard.takeover(10 * S + 900_000, S, 4 * S), Ok(()));
    }
}

//! Time as the state machine sees it: a number the driver hands in, and the RFC timer maths.
//!
//! The core owns no clock. The driver picks an epoch (its start, say), passes
//! `Timestamp::from_duration(epoch.elapsed())` with every input, and turns each
//! `ArmTimer { at }` back into `epoch + at.to_duration()`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::Version;

/// A monotonic instant, in microseconds since an epoch the driver chooses.
///
/// Microseconds because keepalived computes timers in microseconds, and the skew times below
/// are then exactly keepalived's. Serialised as a plain number.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Self = Self(0);

    /// `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis.saturating_mul(1_000))
    }

    /// `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000_000))
    }

    /// The time elapsed since the epoch, truncated to microseconds (saturating after
    /// half a million years).
    pub fn from_duration(since_epoch: Duration) -> Self {
        Self(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX))
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time since the epoch.
    pub const fn to_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }

    /// `micros` microseconds later (saturating).
    #[must_use]
    pub const fn plus_micros(self, micros: u64) -> Self {
        Self(self.0.saturating_add(micros))
    }

    /// The first point of the grid {`offset` + k `step`} (microseconds from the epoch) strictly
    /// after `self`: between 1 and `step` microseconds later (1 microsecond if `step` is 0).
    #[must_use]
    pub const fn next_on_grid(self, step: u64, offset: u64) -> Self {
        self.plus_micros(1).align_up(step, offset)
    }

    /// The first point of the grid {`offset` + k `step`} (microseconds from the epoch) at or
    /// after `self` (`self` itself if `step` is 0).
    #[must_use]
    pub const fn align_up(self, step: u64, offset: u64) -> Self {
        if step == 0 {
            return self;
        }
        let offset = offset % step;
        if self.0 <= offset {
            return Self(offset);
        }
        Self(
            (self.0 - offset)
                .div_ceil(step)
                .saturating_mul(step)
                .saturating_add(offset),
        )
    }

    /// Microseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub const fn micros_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Microseconds in one centisecond.
pub(crate) const MICROS_PER_CS: u64 = 10_000;

/// Skew_Time in microseconds, as keepalived 2.2.7 computes it (`VRRP_TIMER_SKEW`).
///
/// RFC 3768 6.1: (256 - Priority) / 256 seconds.
/// RFC 5798 6.1: ((256 - Priority) * Master_Adver_Interval) / 256, computed in microseconds
/// (keepalived: `(256 - prio) * centis * 625 / 16`), truncated.
pub fn skew_time_us(version: Version, priority: u8, master_adver_int_cs: u32) -> u64 {
    let weight = 256 - u64::from(priority);
    match version {
        Version::V2 => weight * 1_000_000 / 256,
        Version::V3 => weight * u64::from(master_adver_int_cs) * 625 / 16,
    }
}

/// Master_Down_Interval in microseconds: (3 * Master_Adver_Interval) + Skew_Time
/// (RFC 5798 6.1, RFC 3768 6.1).
pub fn master_down_interval_us(version: Version, priority: u8, master_adver_int_cs: u32) -> u64 {
    3 * u64::from(master_adver_int_cs) * MICROS_PER_CS
        + skew_time_us(version, priority, master_adver_int_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_skew_is_a_fraction_of_a_second() {
        // RFC 3768 6.1 with priority 100: 156/256 s = 609375 us.
        assert_eq!(skew_time_us(Version::V2, 100, 100), 609_375);
        assert_eq!(master_down_interval_us(Version::V2, 100, 100), 3_609_375);
    }

    #[test]
    fn v3_skew_scales_with_the_master_interval() {
        // RFC 5798 6.1 with priority 100 and 1 s: 156 * 100 cs / 256 = 0.609375 s.
        assert_eq!(skew_time_us(Version::V3, 100, 100), 609_375);
        // Half the interval, half the skew.
        assert_eq!(skew_time_us(Version::V3, 100, 50), 304_687);
        assert_eq!(master_down_interval_us(Version::V3, 254, 100), 3_007_812);
    }

    #[test]
    fn timestamp_conversions() {
        assert_eq!(Timestamp::from_secs(2), Timestamp::from_millis(2_000));
        assert_eq!(
            Timestamp::from_duration(Duration::from_millis(3)).as_micros(),
            3_000
        );
        assert_eq!(
            Timestamp::from_secs(1).micros_since(Timestamp::from_secs(2)),
            0
        );
    }
}

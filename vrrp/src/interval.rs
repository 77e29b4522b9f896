//! Advertisement_Interval: what each version can carry. The one place these rules live; the
//! daemon's keepalived.conf parser, the lab validation and [`crate::InstanceConfig::validate`]
//! all ask here.

use crate::packet::{MAX_V3_INTERVAL_CS, Version};
use crate::time::MICROS_PER_CS;

/// Microseconds in one second.
const MICROS_PER_SEC: u64 = 1_000_000;

/// Why an interval cannot be advertised by a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdvertIntervalError {
    /// RFC 3768 5.3.7: VRRPv2 carries whole seconds.
    #[error("vrrp version 2 advertises whole seconds only")]
    NotWholeSeconds,
    /// RFC 5798 5.2.7: VRRPv3 carries centiseconds.
    #[error("the advert interval has a resolution of 0.01 s")]
    Resolution,
    /// RFC 3768 5.3.7: one byte of seconds, 0 excluded.
    #[error("vrrp version 2 advertises 1..=255 s")]
    V2Range,
    /// RFC 5798 5.2.7: 12 bits of centiseconds, 0 excluded.
    #[error("vrrp version 3 advertises 0.01..=40.95 s")]
    V3Range,
}

/// The interval in centiseconds for an interval of `micros` microseconds, if `version` can
/// advertise it. Checked in this order: unit (whole seconds for v2, centiseconds for v3), then
/// range.
pub fn advert_interval_cs(version: Version, micros: u64) -> Result<u16, AdvertIntervalError> {
    if version == Version::V2 && !micros.is_multiple_of(MICROS_PER_SEC) {
        return Err(AdvertIntervalError::NotWholeSeconds);
    }
    if !micros.is_multiple_of(MICROS_PER_CS) {
        return Err(AdvertIntervalError::Resolution);
    }
    let cs = u16::try_from(micros / MICROS_PER_CS).unwrap_or(u16::MAX);
    check_advert_interval_cs(version, cs).map(|()| cs)
}

/// Whether `version` can advertise `cs` centiseconds.
pub fn check_advert_interval_cs(version: Version, cs: u16) -> Result<(), AdvertIntervalError> {
    match version {
        // RFC 3768 5.3.7: one byte of seconds.
        Version::V2 if !cs.is_multiple_of(100) => Err(AdvertIntervalError::NotWholeSeconds),
        Version::V2 if cs == 0 || cs > 25_500 => Err(AdvertIntervalError::V2Range),
        // RFC 5798 5.2.7: 12 bits of centiseconds.
        Version::V3 if cs == 0 || cs > MAX_V3_INTERVAL_CS => Err(AdvertIntervalError::V3Range),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_carries_its_own_unit_and_range() {
        use AdvertIntervalError::*;
        let cases = [
            (Version::V2, 1_000_000, Ok(100)),
            (Version::V2, 255_000_000, Ok(25_500)),
            (Version::V2, 256_000_000, Err(V2Range)),
            (Version::V2, 0, Err(V2Range)),
            (Version::V2, 500_000, Err(NotWholeSeconds)),
            (Version::V3, 10_000, Ok(1)),
            (Version::V3, 40_950_000, Ok(4_095)),
            (Version::V3, 40_960_000, Err(V3Range)),
            (Version::V3, 0, Err(V3Range)),
            (Version::V3, 5_000, Err(Resolution)),
            (Version::V3, u64::MAX / 10_000 * 10_000, Err(V3Range)),
        ];
        for (version, micros, want) in cases {
            assert_eq!(
                advert_interval_cs(version, micros),
                want,
                "{version:?} {micros} us"
            );
        }
    }
}

//! Small text helpers every reporter shares: durations, timestamps, escaping, file names.

use std::fmt::Write as _;

/// Milliseconds as seconds with millisecond precision: `1.234s`.
pub fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// `lab/scenario [engine]`: how every reporter names a scenario run.
pub fn run_name(lab: &str, scenario: &str, engine: &str) -> String {
    format!("{lab}/{scenario} [{engine}]")
}

/// Unix milliseconds as RFC 3339 UTC (`2026-05-01T12:00:00.250Z`), without a date crate:
/// the days-to-civil conversion is Howard Hinnant's `civil_from_days`.
pub fn utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Escapes text for XML and HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0, even escaped; a probe's error
            // text may carry them.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` without control characters (shown as `�`): XML 1.0 forbids them even escaped, and
/// plotters escapes only markup. Backend names come from a response header.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A file-name-safe form of lab, scenario and engine: they come from files people wrote,
/// so anything outside `[A-Za-z0-9._-]` (slashes above all) becomes `_`.
pub fn slug(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let s: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A leading dot would hide the file; ".." alone would escape nothing but reads badly.
    s.trim_start_matches('.').to_string()
}

/// Shortens `s` to at most `max` characters, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_matches_known_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_767_225_599_250), "2025-12-31T23:59:59.250Z");
    }

    #[test]
    fn slug_keeps_names_inside_the_directory() {
        assert_eq!(
            slug(&["../lab", "fail over", "keepalived"]),
            "_lab-fail_over-keepalived"
        );
    }

    #[test]
    fn secs_and_truncate() {
        assert_eq!(secs(1234), "1.234s");
        assert_eq!(secs(5), "0.005s");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}

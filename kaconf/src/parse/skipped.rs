//! keepalived keywords halabd deliberately lacks, each with its reason.

/// Well-known keepalived keywords halabd deliberately lacks, and why.
pub(super) fn unsupported_reason(word: &str) -> Option<&'static str> {
    Some(match word {
        "virtual_server" | "virtual_server_group" | "real_server" => {
            "it belongs to keepalived's LVS checker, not to VRRP"
        }
        "vrrp_track_process" | "vrrp_track_file" | "track_process" | "track_file" | "track_bfd" => {
            "only vrrp_script and track_interface tracking are implemented"
        }
        "virtual_ipaddress_excluded" | "virtual_rules" | "static_ipaddress" | "static_routes" => {
            "not implemented"
        }
        "smtp_alert" => "e-mail alerts are not implemented",
        _ => return None,
    })
}

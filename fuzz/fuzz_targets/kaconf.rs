//! Fuzzes the keepalived.conf parser (lexer -> tree -> typed configuration): any text must
//! give a configuration or a list of diagnostics, never a panic or a hang; every diagnostic
//! names the file; and every configuration it accepts gives the protocol core a valid
//! instance configuration.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// A directory that does not exist: relative `include`s match nothing, so a run depends on
/// the input only.
const FILE: &str = "/nonexistent-halab-fuzz/keepalived.conf";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match halab_kaconf::parse_str(Path::new(FILE), &text) {
        Ok(parsed) => {
            for instance in &parsed.config.instances {
                assert!(instance.vrid >= 1, "vrid 0 accepted");
                assert!(!instance.interface.is_empty(), "instance without interface");
                let core = instance.core_config(instance.placeholder_primary());
                assert_eq!(core.vrid, instance.vrid);
                let _ = instance.family();
                let _ = instance.wire.vmac_name(instance.vrid);
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a diagnostic");
            for diagnostic in &errors.0 {
                assert!(!diagnostic.message.is_empty(), "an empty diagnostic");
                let _ = diagnostic.to_string();
            }
        }
    }
});

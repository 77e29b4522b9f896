//! RFC 5798 6.4.1 (Initialize), Startup and Shutdown, configuration checks.

mod common;

use common::*;
use halab_vrrp::{
    Action, ConfigError, ConfigWarning, IgnoreReason, InitialState, Input, Instance,
    InstanceConfig, Reason, State, Timer, Timestamp, Version, Vip,
};

#[test]
fn non_owner_starts_as_backup() {
    // Input: Startup, priority 100. Output: Backup, Master_Down_Timer = 3 s + (256-100)/256 s.
    let mut instance = instance(config(100));
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        actions,
        vec![
            Action::ArmTimer {
                timer: Timer::MasterDown,
                at: at_us(3_609_375)
            },
            Action::StateChanged {
                from: State::Initialize,
                to: State::Backup,
                reason: Reason::Startup
            },
        ]
    );
}

#[test]
fn owner_with_state_master_starts_as_master() {
    // Input: Startup, priority 255, state MASTER. Output: advert, VIPs, gratuitous ARP,
    // Adver_Timer, Master (RFC 5798 6.4.1).
    let mut config = config(255);
    config.initial_state = InitialState::Master;
    let mut instance = instance(config);
    let actions = instance.handle(at_ms(5), Input::Startup);
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert {
                advert: advert_v2(255)
            },
            Action::ArmTimer {
                timer: Timer::Advert,
                at: at_ms(1_005)
            },
            Action::AddVips { vips: vec![vip()] },
            Action::SendGratuitousArp { vips: vec![vip()] },
            Action::StateChanged {
                from: State::Initialize,
                to: State::Master,
                reason: Reason::Startup
            },
        ]
    );
}

#[test]
fn owner_with_state_backup_waits_like_keepalived() {
    // Input: Startup, priority 255, state BACKUP. Output: Backup with Master_Down_Interval
    // (keepalived 2.2.7 vrrp_init_state only fast-tracks owner + MASTER).
    let mut instance = instance(config(255));
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(3_003_906)));
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn state_master_without_priority_255_starts_as_backup() {
    // Input: Startup, priority 150, state MASTER. Output: Backup, 3 s + 106/256 s.
    let mut config = config(150);
    config.initial_state = InitialState::Master;
    let mut instance = instance(config);
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Backup, Reason::Startup))
    );
    assert_eq!(armed(&actions, Timer::MasterDown), Some(at_us(3_414_062)));
}

#[test]
fn startup_twice_and_shutdown_when_stopped_are_ignored() {
    // Input: Shutdown, Startup, Startup. Output: Ignored, Backup, Ignored.
    let mut instance = instance(config(100));
    assert_eq!(
        instance.handle(Timestamp::ZERO, Input::Shutdown),
        vec![Action::Ignored {
            reason: IgnoreReason::NotStarted
        }]
    );
    instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        instance.handle(Timestamp::ZERO, Input::Startup),
        vec![Action::Ignored {
            reason: IgnoreReason::AlreadyStarted
        }]
    );
}

#[test]
fn startup_with_interface_down_goes_to_fault() {
    // Input: InterfaceDown, Startup, InterfaceUp. Output: nothing, Fault, Backup.
    let mut instance = instance(config(100));
    assert!(
        instance
            .handle(Timestamp::ZERO, Input::InterfaceDown)
            .is_empty()
    );
    let actions = instance.handle(Timestamp::ZERO, Input::Startup);
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Fault, Reason::InterfaceDown))
    );
    let actions = instance.handle(at_ms(10), Input::InterfaceUp);
    assert_eq!(
        transition(&actions),
        Some((State::Fault, State::Backup, Reason::Recovered))
    );
    assert_eq!(
        armed(&actions, Timer::MasterDown),
        Some(at_us(10_000 + 3_609_375))
    );
}

#[test]
fn restart_after_shutdown() {
    // Input: Startup, Shutdown, Startup. Output: Backup, Initialize, Backup.
    let mut instance = instance(config(100));
    instance.handle(Timestamp::ZERO, Input::Startup);
    let actions = instance.handle(at_ms(1), Input::Shutdown);
    assert_eq!(
        actions,
        vec![
            Action::CancelTimer {
                timer: Timer::MasterDown
            },
            Action::StateChanged {
                from: State::Backup,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
        ]
    );
    let actions = instance.handle(at_ms(2), Input::Startup);
    assert_eq!(
        transition(&actions),
        Some((State::Initialize, State::Backup, Reason::Startup))
    );
}

#[test]
fn every_config_error_is_reported_at_once() {
    let mut config = InstanceConfig::new(0, US);
    config.priority = 0;
    config.advert_interval_cs = 150;
    config.auth = Some(halab_vrrp::Password::from_text("x").expect("short"));
    config.vips = vec![vip(), vip()];
    let errors = Instance::new(config).expect_err("invalid").0;
    assert_eq!(
        errors,
        vec![
            ConfigError::Vrid,
            ConfigError::Priority,
            ConfigError::V2Interval { cs: 150 },
            ConfigError::DuplicateVip {
                address: VIP.into()
            },
        ]
    );
    let mut v3 = common::config(100);
    v3.version = Version::V3;
    v3.advert_interval_cs = 4096;
    v3.auth = Some(halab_vrrp::Password::from_text("x").expect("short"));
    let errors = Instance::new(v3).expect_err("invalid");
    assert_eq!(
        errors.0,
        vec![
            ConfigError::V3Interval { cs: 4096 },
            ConfigError::AuthWithV3
        ]
    );
    assert_eq!(
        errors.to_string(),
        "invalid vrrp instance: vrrpv3 advert interval of 4096 cs is outside 1..=4095 cs; \
         vrrpv3 has no authentication, remove the password or use version 2"
    );
}

#[test]
fn keepalived_adjustments_are_warned() {
    let mut config = config(255);
    config.preempt = false;
    let instance = instance(config);
    assert_eq!(instance.warnings(), &[ConfigWarning::NopreemptWithOwner]);
    assert!(instance.config().preempt);

    let mut config = common::config(100);
    config.initial_state = InitialState::Master;
    config.preempt = false;
    config.preempt_delay_ms = 3_000;
    let instance = common::instance(config);
    assert_eq!(
        instance.warnings(),
        &[
            ConfigWarning::NopreemptWithMaster,
            ConfigWarning::PreemptDelayWithMaster
        ]
    );

    let mut config = common::config(100);
    config.preempt = false;
    config.preempt_delay_ms = 3_000;
    assert_eq!(
        common::instance(config).warnings(),
        &[ConfigWarning::PreemptDelayWithNopreempt]
    );
}

#[test]
fn config_json_uses_keepalived_defaults() {
    let json = r#"{"vrid": 10, "primary_address": "192.168.0.11", "vips": ["192.168.0.130/24", "10.0.0.1"]}"#;
    let config: InstanceConfig = serde_json::from_str(json).expect("valid");
    let mut expected = InstanceConfig::new(10, US);
    expected.vips = vec![
        vip(),
        Vip::new("10.0.0.1".parse::<std::net::IpAddr>().expect("address"), 32),
    ];
    assert_eq!(config, expected);
    let back: InstanceConfig =
        serde_json::from_str(&serde_json::to_string(&config).expect("json")).expect("json");
    assert_eq!(back, config);
    let typo = r#"{"vrid": 10, "primary_address": "192.168.0.11", "vips": [], "prioriy": 5}"#;
    assert!(serde_json::from_str::<InstanceConfig>(typo).is_err());
    assert!("192.168.0.130/33".parse::<Vip>().is_err());
}

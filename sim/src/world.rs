//! The simulation: every node's real [`Instance`]s on a simulated link and clock, driven the
//! way halabd's driver drives them (encoded adverts in, timers by deadline, sync groups
//! through [`sync_group::moves`]), events in (time, sequence) order so a seed replays exactly.
//!
//! Phases of a run: start-up; the schedule's faults until `faults_end_us`; the repair (link
//! healed, no loss, stopped or crashed nodes restarted, no FAULT); after the settle time the
//! convergence checks; then the current master of the first VRID stops gracefully and its
//! successor must take over within Skew_Time. Properties: [`crate::check`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

use halab_vrrp::ip::{VRRP_MULTICAST, VRRP_TTL, build_ipv4, parse_ipv4};
use halab_vrrp::sync_group::{self, Member};
use halab_vrrp::time::{master_down_interval_us, skew_time_us};
use halab_vrrp::{
    Action, Advert, Improvements, InitialState, Input, Instance, InstanceConfig, Reason, State,
    Timer, Timestamp, TrackStatus, UnicastSource, Vip,
};

use crate::check::{Property, Violation};
use crate::expect::{self, Candidate};
use crate::preempt::Heard;
use crate::rng::Rng;
use crate::schedule::{Fault, Schedule, Transport};
use crate::trace::{Trace, TraceLine};

/// One node's process: its instances (one per VRID), or none while it is down.
struct Node {
    instances: Vec<Instance>,
    up: bool,
    /// Bumped on crash, stop and restart: timers of an earlier life never fire.
    life: u64,
    /// Per instance: the armed timer's generation (bumped on every arm and cancel).
    timer_gen: Vec<u64>,
    /// Per instance: how many times it became master (for the delayed gratuitous ARPs).
    masterships: Vec<u64>,
    /// Per instance: the VIP is on the interface (a crash leaves it there; the driver clears
    /// leftovers when the node starts again).
    holds: Vec<bool>,
    /// Per instance: what it heard in its current BACKUP period (for `preempt_delay`).
    heard: Vec<Heard>,
    tracking: TrackStatus,
}

enum Event {
    Start {
        node: usize,
    },
    Fault(Fault),
    Repair,
    Deliver {
        to: usize,
        vrid: usize,
        packet: Vec<u8>,
    },
    Timer {
        node: usize,
        vrid: usize,
        life: u64,
        generation: u64,
        timer: Timer,
    },
    /// A gratuitous ARP (or an announcement at another's MAC) reaches router `to`.
    Claim {
        to: usize,
        vrid: usize,
    },
    /// An announcement at `mac` reaches the client (after resolving the MAC over ARP).
    Announce {
        vrid: usize,
        mac: usize,
    },
    /// The driver's `garp_master_delay` round, for one mastership (node life and count).
    DelayedGarp {
        node: usize,
        vrid: usize,
        life: u64,
        mastership: u64,
    },
    Check,
    StopMaster,
    End,
}

struct Queued {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The link's state, changed by faults.
#[derive(Debug, Clone, Default)]
struct Link {
    groups: Vec<u8>,
    loss: u8,
    duplicate: u8,
    jitter_us: u64,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    pub violations: Vec<Violation>,
    /// Events processed.
    pub events: u64,
    pub trace: Option<Trace>,
}

/// keepalived's default `garp_master_delay`.
const GARP_MASTER_DELAY_US: u64 = 5_000_000;

pub struct World {
    schedule: Schedule,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    now: u64,
    rng: Rng,
    link: Link,
    violations: Vec<Violation>,
    events: u64,
    trace: Option<Trace>,
    /// From then on, exactly one master per VRID, the right one (set after the repair).
    converged_after: Option<u64>,
    /// Per VRID: the node the client's ARP entry for its VIP points at.
    client_arp: Vec<Option<usize>>,
    /// From then on, the client must be on the master (its ARP entry follows the VRRP
    /// transitions a few link delays later).
    client_after: u64,
    /// A graceful stop of a master: (deadline, vrid index, the nodes one of which must take
    /// over).
    handover: Option<(u64, usize, Vec<usize>)>,
}

/// The VIP of VRID `vrid`.
fn vip(vrid: u8) -> Vip {
    Vip::new(Ipv4Addr::new(10, 0, 1, vrid), 24)
}

/// The primary address of node `i`.
pub fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, u8::try_from(i + 1).unwrap_or(255))
}

impl World {
    pub fn new(schedule: Schedule, traced: bool) -> Self {
        let nodes = (0..schedule.nodes.len())
            .map(|_| Node {
                instances: Vec::new(),
                up: false,
                life: 0,
                timer_gen: vec![0; schedule.vrids.len()],
                masterships: vec![0; schedule.vrids.len()],
                holds: vec![false; schedule.vrids.len()],
                heard: vec![Heard::default(); schedule.vrids.len()],
                tracking: TrackStatus::default(),
            })
            .collect();
        let rng = Rng::new(schedule.seed ^ 0x5eed);
        let n = schedule.nodes.len();
        let mut world = Self {
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0,
            rng,
            link: Link {
                groups: vec![0; n],
                ..Link::default()
            },
            violations: Vec::new(),
            events: 0,
            trace: traced.then(Trace::default),
            converged_after: None,
            handover: None,
            client_arp: vec![None; schedule.vrids.len()],
            client_after: u64::MAX,
            schedule,
        };
        for node in 0..n {
            let at = world.schedule.nodes[node].start_us;
            world.push(at, Event::Start { node });
        }
        for (at, fault) in world.schedule.faults.clone() {
            world.push(at, Event::Fault(fault));
        }
        let end = world.schedule.faults_end_us;
        world.push(end, Event::Repair);
        let settle = world.settle_us();
        world.push(end + settle, Event::Check);
        world.push(end + settle + 5_000_000, Event::StopMaster);
        world.push(end + 2 * settle + 10_000_000, Event::End);
        world
    }

    /// After the repair, how long the RFC gives the link to settle: a restarted node waits
    /// Master_Down_Interval, a preempting one as long, a sync group asks again after another
    /// one; plus two advert intervals and the link's delay; plus the longest `preempt_delay`
    /// (it starts at the first lower advert a backup hears, within an interval of the repair).
    pub fn settle_us(&self) -> u64 {
        let s = &self.schedule;
        let mdi = master_down_interval_us(s.version, 1, u32::from(s.interval_cs));
        let interval = u64::from(s.interval_cs) * 10_000;
        let preempt_delay = s.nodes.iter().map(expect::preempt_delay_us).max();
        3 * mdi + 2 * interval + 2 * s.delay_us + 2_000_000 + preempt_delay.unwrap_or(0)
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// Node `node`'s clock at simulation time `t`.
    fn local(&self, node: usize, t: u64) -> Timestamp {
        let spec = &self.schedule.nodes[node];
        let drifted = i128::from(t) + i128::from(t) * i128::from(spec.drift_ppm) / 1_000_000;
        let micros = i128::from(spec.clock_offset_us) + drifted;
        Timestamp::from_micros(u64::try_from(micros.max(0)).unwrap_or(0))
    }

    /// The simulation time at which node `node`'s clock reads `at` (not before).
    fn global(&self, node: usize, at: Timestamp) -> u64 {
        let spec = &self.schedule.nodes[node];
        let local = i128::from(at.as_micros()) - i128::from(spec.clock_offset_us);
        let rate = 1_000_000 + i128::from(spec.drift_ppm);
        let t = (local * 1_000_000 + rate - 1).div_euclid(rate);
        let mut t = u64::try_from(t.max(0)).unwrap_or(0);
        while self.local(node, t) < at {
            t += 1;
        }
        t
    }

    fn config(&self, node: usize, vrid: usize) -> InstanceConfig {
        let s = &self.schedule;
        let spec = &s.nodes[node];
        let mut config = InstanceConfig::new(s.vrids[vrid], address(node));
        config.version = s.version;
        config.advert_interval_cs = s.interval_cs;
        config.priority = spec.priority;
        config.preempt = spec.preempt;
        config.preempt_delay_ms = spec.preempt_delay_ms;
        if spec.state_master {
            config.initial_state = InitialState::Master;
        }
        config.sync_group = s.sync_group;
        config.vips = vec![vip(s.vrids[vrid])];
        if spec.keepalived {
            config.improvements = Improvements::none();
        }
        if let Transport::Unicast { check_src } = s.transport {
            // keepalived skips the TTL check with unicast peers.
            config.check_ttl = false;
            config.unicast_sources = check_src.then(|| {
                (0..s.nodes.len())
                    .filter(|&n| n != node)
                    .map(|n| UnicastSource::any_ttl(address(n).into()))
                    .collect()
            });
        }
        config
    }

    /// Processes every event before `t` (µs), so a caller can look at the world then
    /// ([`World::vip_holders`]): differential runs compare that with a real lab.
    pub fn run_until(&mut self, t: u64) {
        while self.queue.peek().is_some_and(|Reverse(q)| q.at < t) {
            let Some(Reverse(q)) = self.queue.pop() else {
                break;
            };
            self.now = q.at;
            self.events += 1;
            if matches!(q.event, Event::End) {
                break;
            }
            self.event(q.event);
            if self.converged_after.is_some_and(|t| self.now >= t) {
                self.check_masters();
            }
        }
    }

    /// The nodes whose interface holds the VIP of the `vrid`-th VRID (a crashed master's
    /// leftover included, as `ip addr` shows it).
    pub fn vip_holders(&self, vrid: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].holds.get(vrid).copied().unwrap_or(false))
            .collect()
    }

    /// Runs to the end; the violations found.
    pub fn run(mut self) -> Outcome {
        while let Some(Reverse(q)) = self.queue.pop() {
            self.now = q.at;
            self.events += 1;
            if matches!(q.event, Event::End) {
                break;
            }
            self.event(q.event);
            if self.converged_after.is_some_and(|t| self.now >= t) {
                self.check_masters();
            }
            if self.violations.len() > 8 {
                break;
            }
        }
        if let Some((deadline, vrid, _)) = self.handover.take() {
            self.violation(
                Property::PriorityZeroHandover,
                format!(
                    "vrid {}: nobody took over by {deadline} us",
                    self.schedule.vrids[vrid]
                ),
            );
        }
        Outcome {
            violations: self.violations,
            events: self.events,
            trace: self.trace,
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Start { node } => self.start(node),
            Event::Fault(fault) => {
                self.log(TraceLine::fault(self.now, &fault));
                self.fault(fault);
            }
            Event::Repair if !self.schedule.repair => {}
            Event::Repair => {
                self.log(TraceLine::note(self.now, "repair"));
                self.link = Link {
                    groups: vec![0; self.nodes.len()],
                    ..Link::default()
                };
                for node in 0..self.nodes.len() {
                    if !self.nodes[node].up {
                        self.start(node);
                    }
                    if self.nodes[node].tracking.fault {
                        let tracking = TrackStatus {
                            fault: false,
                            ..self.nodes[node].tracking
                        };
                        self.track(node, tracking);
                    }
                }
            }
            Event::Check => {
                self.log(TraceLine::note(self.now, "converged: checks start"));
                self.converged_after = Some(self.now);
                if self.handover.is_none() {
                    self.client_after = self.client_after.min(self.now);
                }
            }
            Event::StopMaster => self.stop_master(),
            Event::Deliver { to, vrid, packet } => {
                if self.nodes[to].up {
                    self.hear(to, vrid, &packet);
                    self.input(to, vrid, Input::PacketReceived { packet });
                }
            }
            Event::Timer {
                node,
                vrid,
                life,
                generation,
                timer,
            } => {
                let n = &self.nodes[node];
                if n.up && n.life == life && n.timer_gen[vrid] == generation {
                    self.input(node, vrid, Input::TimerFired { timer });
                }
            }
            Event::Claim { to, vrid } => {
                if self.nodes[to].up {
                    let address = vip(self.schedule.vrids[vrid]).address;
                    self.input(to, vrid, Input::VipClaimed { address });
                }
            }
            Event::Announce { vrid, mac } => self.garp(mac, vrid),
            Event::DelayedGarp {
                node,
                vrid,
                life,
                mastership,
            } => {
                let n = &self.nodes[node];
                if n.up
                    && n.life == life
                    && n.masterships[vrid] == mastership
                    && n.instances[vrid].state() == State::Master
                {
                    self.garp(node, vrid);
                }
            }
            Event::End => {}
        }
    }

    /// Gratuitous ARPs for `vrid`'s VIP at `mac`: the client follows; every other running
    /// router sees its VIP claimed (ARP is not VRRP: it crosses the partitions, which cut
    /// VRRP only).
    fn garp(&mut self, mac: usize, vrid: usize) {
        self.client_arp[vrid] = Some(mac);
        let at = self.now + self.schedule.delay_us;
        for to in (0..self.nodes.len()).filter(|&to| to != mac) {
            self.push(at, Event::Claim { to, vrid });
        }
    }

    fn start(&mut self, node: usize) {
        let instances = (0..self.schedule.vrids.len())
            .map(|vrid| Instance::new(self.config(node, vrid)))
            .collect::<Result<Vec<_>, _>>();
        let instances = match instances {
            Ok(i) => i,
            Err(e) => {
                return self.violation(Property::Config, format!("node {node}: {e}"));
            }
        };
        let n = &mut self.nodes[node];
        n.instances = instances;
        n.heard.iter_mut().for_each(|h| *h = Heard::default());
        // The driver removes a crashed predecessor's VIPs and hands their clients to whoever
        // holds them now (or keeps them if it becomes master at once: not at start-up).
        let leftovers: Vec<usize> = (0..n.holds.len()).filter(|&v| n.holds[v]).collect();
        n.holds.iter_mut().for_each(|h| *h = false);
        n.up = true;
        n.life += 1;
        let tracking = n.tracking;
        self.log(TraceLine::note(self.now, &format!("node {node} starts")));
        for vrid in 0..self.schedule.vrids.len() {
            if tracking != TrackStatus::default() {
                self.input(node, vrid, Input::TrackingChanged { tracking });
            }
            self.input(node, vrid, Input::Startup);
        }
        for vrid in leftovers {
            let holder = (0..self.nodes.len()).find(|&n| n != node && self.nodes[n].holds[vrid]);
            if let Some(mac) = holder {
                let at = self.now + 2 * self.schedule.delay_us;
                self.push(at, Event::Announce { vrid, mac });
            }
        }
    }

    fn fault(&mut self, fault: Fault) {
        match fault {
            Fault::Partition { groups } => self.link.groups = groups,
            Fault::Heal => self.link.groups = vec![0; self.nodes.len()],
            Fault::Loss { percent } => self.link.loss = percent,
            Fault::Duplicate { percent } => self.link.duplicate = percent,
            Fault::Jitter { us } => self.link.jitter_us = us,
            Fault::Crash { node } => {
                let n = &mut self.nodes[node];
                n.up = false;
                n.life += 1;
            }
            Fault::Stop { node } => self.stop(node),
            Fault::Restart { node } => {
                if !self.nodes[node].up {
                    self.start(node);
                }
            }
            Fault::Track {
                node,
                weight,
                fault,
            } => self.track(
                node,
                TrackStatus {
                    weight,
                    fault,
                    pending: false,
                },
            ),
        }
    }

    fn track(&mut self, node: usize, tracking: TrackStatus) {
        self.nodes[node].tracking = tracking;
        if self.nodes[node].up {
            for vrid in 0..self.schedule.vrids.len() {
                self.input(node, vrid, Input::TrackingChanged { tracking });
            }
        }
    }

    fn stop(&mut self, node: usize) {
        if !self.nodes[node].up {
            return;
        }
        for vrid in 0..self.schedule.vrids.len() {
            self.input(node, vrid, Input::Shutdown);
        }
        let n = &mut self.nodes[node];
        n.up = false;
        n.life += 1;
    }

    /// The graceful stop of the first VRID's master; its successor must be master within
    /// its Skew_Time (RFC 5798 6.4.2: priority 0 => Master_Down_Timer = Skew_Time).
    fn stop_master(&mut self) {
        let Some(master) = self.masters(0).first().copied() else {
            return;
        };
        self.converged_after = None;
        self.stop(master);
        // Every backup, nopreempt or not, arms Skew_Time: the best one's is the shortest.
        let next = expect::successors(&self.candidates(0));
        if let Some(&first) = next.first() {
            let inst = &self.nodes[first].instances[0];
            let skew = skew_time_us(
                self.schedule.version,
                inst.priority(),
                inst.master_adver_int_cs(),
            );
            let deadline = self.now + 2 * self.schedule.delay_us + skew + 1_000;
            // Two masters for a link delay when skews differ by less than it; then the loser
            // announces the winner (an ARP round trip).
            self.client_after = deadline + 6 * self.schedule.delay_us;
            self.handover = Some((deadline, 0, next));
            self.push(deadline, Event::Check);
        }
    }

    /// Notes an advert reaching a backup with a `preempt_delay`, before the core sees it.
    fn hear(&mut self, node: usize, vrid: usize, packet: &[u8]) {
        let instance = &self.nodes[node].instances[vrid];
        if instance.state() != State::Backup
            || expect::preempt_delay_us(&self.schedule.nodes[node]) == 0
        {
            return;
        }
        let Ok((ip, payload)) = parse_ipv4(packet) else {
            return;
        };
        let Ok(advert) = Advert::decode(payload, ip.src, ip.dst) else {
            return;
        };
        let own = instance.priority();
        let at = self.local(node, self.now).as_micros();
        self.nodes[node].heard[vrid].advert(at, advert.priority(), own);
    }

    /// Checks a state change of one instance against the properties of a single transition.
    fn transition(&mut self, node: usize, vrid: usize, from: State, to: State, reason: Reason) {
        let spec = &self.schedule.nodes[node];
        let name = self.schedule.vrids[vrid];
        let owner_at_once = expect::owner_at_once(spec, self.schedule.sync_group);
        let delay_us = expect::preempt_delay_us(spec);
        if owner_at_once && matches!(from, State::Initialize | State::Fault) && to == State::Backup
        {
            self.violation(
                Property::OwnerAtOnce,
                format!("node {node} vrid {name}: the address owner went {from:?} -> {to:?}"),
            );
        }
        if delay_us > 0
            && from == State::Backup
            && to == State::Master
            && reason != Reason::SyncGroup
        {
            let at = self.local(node, self.now).as_micros();
            let interval_us = u64::from(self.schedule.interval_cs) * 10_000;
            if let Err(e) = self.nodes[node].heard[vrid].takeover(at, interval_us, delay_us) {
                self.violation(
                    Property::PreemptDelay,
                    format!("node {node} vrid {name}: {e}"),
                );
            }
        }
        self.nodes[node].heard[vrid] = Heard::default();
    }

    /// Feeds `input` to one instance, carries out its actions, then its sync group's moves.
    fn input(&mut self, node: usize, vrid: usize, input: Input) {
        let now = self.local(node, self.now);
        self.log(TraceLine::input(self.now, node, vrid, &input));
        let actions = self.nodes[node].instances[vrid].handle(now, input);
        let forced = if self.schedule.sync_group {
            let members: Vec<Member> = self.nodes[node]
                .instances
                .iter()
                .map(|i| Member {
                    state: i.state(),
                    wants_master: i.wants_master(),
                })
                .collect();
            sync_group::moves(vrid, &members, &actions).inputs
        } else {
            Vec::new()
        };
        self.carry_out(node, vrid, actions);
        for (member, input) in forced {
            self.log(TraceLine::input(self.now, node, member, &input));
            let actions = self.nodes[node].instances[member].handle(now, input);
            self.carry_out(node, member, actions);
        }
    }

    fn carry_out(&mut self, node: usize, vrid: usize, actions: Vec<Action>) {
        self.log(TraceLine::actions(self.now, node, vrid, &actions));
        for action in actions {
            match action {
                Action::SendAdvert { advert } => {
                    let effective = self.nodes[node].instances[vrid].priority();
                    if advert.priority() != 0 && advert.priority() != effective {
                        self.violation(
                            Property::AdvertisedPriority,
                            format!(
                                "node {node} vrid {}: advertised {}, effective {effective}",
                                self.schedule.vrids[vrid],
                                advert.priority()
                            ),
                        );
                    }
                    self.send(node, vrid, &advert);
                }
                Action::ArmTimer { timer, at } => {
                    let n = &mut self.nodes[node];
                    n.timer_gen[vrid] += 1;
                    let (life, generation) = (n.life, n.timer_gen[vrid]);
                    let at = self.global(node, at).max(self.now);
                    self.push(
                        at,
                        Event::Timer {
                            node,
                            vrid,
                            life,
                            generation,
                            timer,
                        },
                    );
                }
                Action::CancelTimer { .. } => self.nodes[node].timer_gen[vrid] += 1,
                Action::SendGratuitousArp { .. } => self.garp(node, vrid),
                Action::AddVips { .. } => self.nodes[node].holds[vrid] = true,
                Action::RemoveVips { .. } => self.nodes[node].holds[vrid] = false,
                Action::AnnounceVipsAt { holder, .. } => {
                    // The driver resolves the holder's MAC over ARP: one round trip. The VIP
                    // itself as the holder: whoever else has it on its interface answers.
                    let mac = if holder == vip(self.schedule.vrids[vrid]).address {
                        (0..self.nodes.len()).find(|&n| n != node && self.nodes[n].holds[vrid])
                    } else {
                        (0..self.nodes.len()).find(|&n| address(n) == holder && self.nodes[n].up)
                    };
                    if let Some(mac) = mac {
                        let at = self.now + 2 * self.schedule.delay_us;
                        self.push(at, Event::Announce { vrid, mac });
                    }
                }
                Action::StateChanged { from, to, reason } => {
                    self.transition(node, vrid, from, to, reason);
                    if to != State::Master {
                        continue;
                    }
                    // halabd's and keepalived's drivers: another round after garp_master_delay.
                    let n = &mut self.nodes[node];
                    n.masterships[vrid] += 1;
                    let (life, mastership) = (n.life, n.masterships[vrid]);
                    // With the advert due then, on the node's own clock (`garp_round_at`).
                    let due = self.local(node, self.now).plus_micros(GARP_MASTER_DELAY_US);
                    let due = self.nodes[node].instances[vrid].garp_round_at(due);
                    let at = self.global(node, due).max(self.now);
                    self.push(
                        at,
                        Event::DelayedGarp {
                            node,
                            vrid,
                            life,
                            mastership,
                        },
                    );
                }
                _ => {}
            }
        }
    }

    /// Puts `advert` on the link: once to the multicast group, or once per unicast peer (each
    /// copy encoded for its destination, as the VRRPv3 checksum covers it).
    fn send(&mut self, from: usize, vrid: usize, advert: &Advert) {
        let src = address(from);
        let encode = |dst: Ipv4Addr| build_ipv4(src, dst, VRRP_TTL, 0, &advert.encode(src, dst));
        let multicast =
            (self.schedule.transport == Transport::Multicast).then(|| encode(VRRP_MULTICAST));
        for to in (0..self.nodes.len()).filter(|to| *to != from) {
            if self.link.groups.get(from) != self.link.groups.get(to) {
                continue;
            }
            let packet = multicast.clone().unwrap_or_else(|| encode(address(to)));
            let copies = if self.rng.percent(u64::from(self.link.duplicate)) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                if self.rng.percent(u64::from(self.link.loss)) {
                    continue;
                }
                let at = self.now + self.schedule.delay_us + self.rng.range(0, self.link.jitter_us);
                let packet = packet.clone();
                self.push(at, Event::Deliver { to, vrid, packet });
            }
        }
    }

    /// The nodes whose instance `vrid` is master now.
    fn masters(&self, vrid: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up && self.nodes[n].instances[vrid].state() == State::Master)
            .collect()
    }

    /// The running nodes' instances of `vrid`, for [`crate::expect`].
    fn candidates(&self, vrid: usize) -> Vec<Candidate> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].up)
            .map(|node| {
                let instance = &self.nodes[node].instances[vrid];
                Candidate {
                    node,
                    state: instance.state(),
                    priority: instance.priority(),
                    preempt: expect::preempts(&self.schedule.nodes[node]),
                }
            })
            .collect()
    }

    fn check_masters(&mut self) {
        for vrid in 0..self.schedule.vrids.len() {
            let masters = self.masters(vrid);
            let name = self.schedule.vrids[vrid];
            if masters.len() != 1 {
                self.violation(
                    Property::OneMaster,
                    format!("vrid {name}: masters {masters:?}"),
                );
                continue;
            }
            // halabd's split-brain heal: once settled, clients reach the master (keepalived
            // nodes may leave them on a loser, the blackout halabd fixes).
            let all_halabd = self.schedule.nodes.iter().all(|n| !n.keepalived);
            if all_halabd
                && self.now >= self.client_after
                && self.client_arp[vrid] != Some(masters[0])
            {
                self.violation(
                    Property::ClientOnMaster,
                    format!(
                        "vrid {name}: client ARP -> {:?}, master {}",
                        self.client_arp[vrid], masters[0]
                    ),
                );
            }
            let expected = expect::settled(&self.candidates(vrid));
            if !expected.contains(&masters[0]) {
                self.violation(
                    Property::RightMaster,
                    format!(
                        "vrid {name}: master {}, expected one of {expected:?}",
                        masters[0]
                    ),
                );
            }
        }
        if self.schedule.sync_group {
            let up: Vec<usize> = (0..self.nodes.len())
                .filter(|&n| self.nodes[n].up)
                .collect();
            for node in up {
                let states: Vec<State> = self.nodes[node]
                    .instances
                    .iter()
                    .map(Instance::state)
                    .collect();
                if states.windows(2).any(|w| w[0] != w[1]) {
                    self.violation(
                        Property::SyncGroupTogether,
                        format!("node {node}: members in {states:?}"),
                    );
                }
            }
        }
        if let Some((deadline, vrid, next)) = self.handover.take_if(|h| self.now >= h.0) {
            let masters = self.masters(vrid);
            if masters.len() != 1 || !next.contains(&masters[0]) {
                self.violation(
                    Property::PriorityZeroHandover,
                    format!(
                        "vrid {}: masters {masters:?} at the deadline {deadline} us, expected one of {next:?}",
                        self.schedule.vrids[vrid],
                    ),
                );
            }
            self.converged_after = Some(self.now);
        }
    }

    fn violation(&mut self, property: Property, detail: String) {
        // One report per property is enough to replay it.
        if self.violations.iter().any(|v| v.property == property) {
            return;
        }
        self.log(TraceLine::note(
            self.now,
            &format!("VIOLATION {property:?}: {detail}"),
        ));
        self.violations.push(Violation {
            seed: self.schedule.seed,
            at_us: self.now,
            property,
            detail,
        });
    }

    fn log(&mut self, line: TraceLine) {
        if let Some(trace) = self.trace.as_mut() {
            trace.lines.push(line);
        }
    }
}

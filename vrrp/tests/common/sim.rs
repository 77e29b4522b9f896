//! A tiny network of routers on one link, driven through the public API the way halabd's
//! driver will: adverts go out encoded, come back in as raw IPv4 packets, timers fire in time
//! order. One client on the link keeps an ARP entry for the VIP, updated by gratuitous ARPs.
//!
//! VRRP can be cut per direction (`blocked`) and lost at random (`loss_percent`, seeded), so a
//! heal can be uneven. ARP is separate: gratuitous ARPs reach the client always and the other
//! routers when `arp_between_routers` (as `Input::VipClaimed`, when the MAC is not theirs);
//! `Action::AnnounceVipsAt` asks who holds the VIP over ARP (one round trip) and announces it
//! there. A router's
//! MAC is its index. `garp_delay_us` is the drivers' `garp_master_delay` (a second round of
//! gratuitous ARPs that long after becoming master).

use halab_vrrp::ip::{VRRP_MULTICAST, VRRP_TTL, build_ipv4};
use halab_vrrp::{Action, Input, Instance, InstanceConfig, State, Timer, Timestamp};

pub struct Router {
    pub instance: Instance,
    pub timer: Option<(Timer, Timestamp)>,
    pub holds_vip: bool,
    pub actions: Vec<(Timestamp, Action)>,
    /// Counts state changes, so a delayed gratuitous ARP belongs to one mastership.
    generation: u64,
}

enum Event {
    Vrrp {
        from: usize,
        to: usize,
        packet: Vec<u8>,
    },
    /// A gratuitous ARP giving `mac` for `address` reaches router `to`.
    Claim {
        to: usize,
        mac: usize,
        address: std::net::IpAddr,
    },
    /// ARP resolution done: the client hears the announcement at `mac`.
    Announce { from: usize, mac: usize },
    /// The driver's `garp_master_delay` round.
    DelayedGarp { router: usize, generation: u64 },
}

pub struct Net {
    pub now: Timestamp,
    pub routers: Vec<Router>,
    /// Routers cut off from the others' VRRP traffic (the client always hears gratuitous
    /// ARPs).
    pub isolated: Vec<usize>,
    pub latency_us: u64,
    /// VRRP from the first router to the second is dropped.
    pub blocked: Vec<(usize, usize)>,
    /// Percentage of VRRP packets lost (seeded, see `seed`).
    pub loss_percent: u64,
    rng: u64,
    pub arp_between_routers: bool,
    pub garp_delay_us: Option<u64>,
    in_flight: Vec<(Timestamp, Event)>,
    /// The router the client's ARP entry for the VIP points at.
    pub client_arp: Option<usize>,
    /// Every change of the client's ARP entry.
    pub client_log: Vec<(Timestamp, usize)>,
    /// Every VRRP packet delivered: (time, from, to).
    pub delivered: Vec<(Timestamp, usize, usize)>,
}

impl Net {
    pub fn new(configs: Vec<InstanceConfig>) -> Self {
        let routers = configs
            .into_iter()
            .map(|c| Router {
                instance: Instance::new(c).expect("valid config"),
                timer: None,
                holds_vip: false,
                actions: Vec::new(),
                generation: 0,
            })
            .collect();
        Self {
            now: Timestamp::ZERO,
            routers,
            isolated: Vec::new(),
            latency_us: 200,
            blocked: Vec::new(),
            loss_percent: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            arp_between_routers: false,
            garp_delay_us: None,
            in_flight: Vec::new(),
            client_arp: None,
            client_log: Vec::new(),
            delivered: Vec::new(),
        }
    }

    /// Seeds the loss generator.
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    }

    /// xorshift64*: deterministic per seed.
    fn random_percent(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % 100
    }

    fn set_client(&mut self, mac: usize) {
        if self.client_arp != Some(mac) {
            self.client_log.push((self.now, mac));
        }
        self.client_arp = Some(mac);
    }

    /// A gratuitous ARP for `vips` at `mac`, sent by `from`.
    fn garp(&mut self, mac: usize, vips: &[halab_vrrp::Vip]) {
        self.set_client(mac);
        if !self.arp_between_routers {
            return;
        }
        let at = self.now.plus_micros(self.latency_us);
        for to in (0..self.routers.len()).filter(|to| *to != mac) {
            for vip in vips {
                let address = vip.address;
                self.in_flight.push((at, Event::Claim { to, mac, address }));
            }
        }
    }

    pub fn state(&self, router: usize) -> State {
        self.routers[router].instance.state()
    }

    /// The client reaches the VIP: its ARP entry points at a router that holds it.
    pub fn client_ok(&self) -> bool {
        self.client_arp.is_some_and(|r| self.routers[r].holds_vip)
    }

    pub fn input(&mut self, router: usize, input: Input) {
        let actions = self.routers[router].instance.handle(self.now, input);
        self.apply(router, actions);
    }

    fn apply(&mut self, router: usize, actions: Vec<Action>) {
        for action in actions {
            match &action {
                Action::SendAdvert { advert } => {
                    let std::net::IpAddr::V4(src) =
                        self.routers[router].instance.config().primary_address
                    else {
                        unreachable!("the sim's routers are IPv4")
                    };
                    let payload = advert.encode(src, VRRP_MULTICAST);
                    let packet = build_ipv4(src, VRRP_MULTICAST, VRRP_TTL, 0, &payload);
                    for to in (0..self.routers.len()).filter(|o| *o != router) {
                        let at = self.now.plus_micros(self.latency_us);
                        let packet = packet.clone();
                        self.in_flight.push((
                            at,
                            Event::Vrrp {
                                from: router,
                                to,
                                packet,
                            },
                        ));
                    }
                }
                Action::SendGratuitousArp { vips } => self.garp(router, vips),
                Action::AnnounceVipsAt { .. } => {
                    // "Who has the VIP?": another router holding it answers.
                    let mac =
                        (0..self.routers.len()).find(|&r| r != router && self.routers[r].holds_vip);
                    if let Some(mac) = mac.filter(|_| self.arp_between_routers) {
                        let at = self.now.plus_micros(2 * self.latency_us);
                        self.in_flight
                            .push((at, Event::Announce { from: router, mac }));
                    }
                }
                Action::StateChanged { to, .. } => {
                    self.routers[router].generation += 1;
                    if let (State::Master, Some(delay)) = (to, self.garp_delay_us) {
                        let due = self.now.plus_micros(delay);
                        let at = self.routers[router].instance.garp_round_at(due);
                        let generation = self.routers[router].generation;
                        self.in_flight
                            .push((at, Event::DelayedGarp { router, generation }));
                    }
                }
                Action::AddVips { .. } => self.routers[router].holds_vip = true,
                Action::RemoveVips { .. } => self.routers[router].holds_vip = false,
                Action::ArmTimer { timer, at } => self.routers[router].timer = Some((*timer, *at)),
                Action::CancelTimer { timer }
                    if self.routers[router].timer.is_some_and(|(t, _)| t == *timer) =>
                {
                    self.routers[router].timer = None;
                }
                _ => {}
            }
            self.routers[router].actions.push((self.now, action));
        }
    }

    /// The time of the next event, if any before `end`.
    fn next_event(&self, end: Timestamp) -> Option<Timestamp> {
        let deliveries = self.in_flight.iter().map(|(at, _)| *at);
        let timers = self
            .routers
            .iter()
            .filter_map(|r| r.timer.map(|(_, at)| at));
        deliveries.chain(timers).filter(|at| *at <= end).min()
    }

    /// Runs one event (deliveries before timers at the same instant). False when none is due
    /// by `end`.
    pub fn step(&mut self, end: Timestamp) -> bool {
        let Some(at) = self.next_event(end) else {
            self.now = self.now.max(end);
            return false;
        };
        self.now = at;
        if let Some(i) = self.in_flight.iter().position(|(t, _)| *t == at) {
            let (_, event) = self.in_flight.remove(i);
            self.deliver(event);
            return true;
        }
        if let Some(r) = self
            .routers
            .iter()
            .position(|r| r.timer.is_some_and(|(_, t)| t == at))
        {
            let (timer, _) = self.routers[r].timer.take().expect("due timer");
            self.input(r, Input::TimerFired { timer });
        }
        true
    }

    fn deliver(&mut self, event: Event) {
        match event {
            Event::Vrrp { from, to, packet } => {
                let cut = self.isolated.contains(&from)
                    || self.isolated.contains(&to)
                    || self.blocked.contains(&(from, to));
                if cut || (self.loss_percent > 0 && self.random_percent() < self.loss_percent) {
                    return;
                }
                self.delivered.push((self.now, from, to));
                self.input(to, Input::PacketReceived { packet });
            }
            Event::Claim { to, address, .. } => self.input(to, Input::VipClaimed { address }),
            Event::Announce { from, mac } => {
                let vips = self.routers[from].instance.config().vips.clone();
                self.garp(mac, &vips);
            }
            Event::DelayedGarp { router, generation } => {
                let r = &self.routers[router];
                if r.generation == generation && r.instance.state() == State::Master {
                    let vips = r.instance.config().vips.clone();
                    self.garp(router, &vips);
                }
            }
        }
    }

    pub fn run_until(&mut self, end: Timestamp) {
        while self.step(end) {}
    }

    /// Runs until `end`; returns how long the client could not reach the VIP, and whether it
    /// can at `end`.
    pub fn outage(&mut self, end: Timestamp) -> (u64, bool) {
        let mut down_since = (!self.client_ok()).then_some(self.now);
        let mut total = 0;
        while self.step(end) {
            match (down_since, self.client_ok()) {
                (None, false) => down_since = Some(self.now),
                (Some(since), true) => {
                    total += self.now.micros_since(since);
                    down_since = None;
                }
                _ => {}
            }
        }
        if let Some(since) = down_since {
            total += end.micros_since(since);
        }
        (total, down_since.is_none())
    }

    /// The next advert timer deadline of `router`.
    pub fn next_advert(&self, router: usize) -> Timestamp {
        match self.routers[router].timer {
            Some((Timer::Advert, at)) => at,
            other => panic!("router {router} has no advert timer: {other:?}"),
        }
    }
}

//! A tiny network of routers on one link, driven through the public API the way halabd's
//! driver will: adverts go out encoded, come back in as raw IPv4 packets, timers fire in time
//! order. One client on the link keeps an ARP entry for the VIP, updated by gratuitous ARPs.

use halab_vrrp::ip::{VRRP_MULTICAST, VRRP_TTL, build_ipv4};
use halab_vrrp::{Action, Input, Instance, InstanceConfig, State, Timer, Timestamp};

pub struct Router {
    pub instance: Instance,
    pub timer: Option<(Timer, Timestamp)>,
    pub holds_vip: bool,
    pub actions: Vec<(Timestamp, Action)>,
}

pub struct Net {
    pub now: Timestamp,
    pub routers: Vec<Router>,
    /// Routers cut off from the others' VRRP traffic (the client always hears gratuitous
    /// ARPs).
    pub isolated: Vec<usize>,
    pub latency_us: u64,
    /// (delivery time, from, to, packet)
    in_flight: Vec<(Timestamp, usize, usize, Vec<u8>)>,
    /// The router the client's ARP entry for the VIP points at.
    pub client_arp: Option<usize>,
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
            })
            .collect();
        Self {
            now: Timestamp::ZERO,
            routers,
            isolated: Vec::new(),
            latency_us: 200,
            in_flight: Vec::new(),
            client_arp: None,
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
                    let src = self.routers[router].instance.config().primary_address;
                    let payload = advert.encode(src, VRRP_MULTICAST);
                    let packet = build_ipv4(src, VRRP_MULTICAST, VRRP_TTL, 0, &payload);
                    for other in (0..self.routers.len()).filter(|o| *o != router) {
                        let at = self.now.plus_micros(self.latency_us);
                        self.in_flight.push((at, router, other, packet.clone()));
                    }
                }
                Action::SendGratuitousArp { .. } => self.client_arp = Some(router),
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
        let deliveries = self.in_flight.iter().map(|(at, _, _, _)| *at);
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
        if let Some(i) = self.in_flight.iter().position(|(t, _, _, _)| *t == at) {
            let (_, from, to, packet) = self.in_flight.remove(i);
            if !self.isolated.contains(&from) && !self.isolated.contains(&to) {
                self.input(to, Input::PacketReceived { packet });
            }
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

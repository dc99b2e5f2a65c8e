//! In-memory harness for the AMQP engine: a client and a hub [`Connection`] joined by byte
//! queues, a simulated clock, and optional re-chunking of the byte stream at arbitrary points.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::time::Duration;

use hubwire_amqp::engine::{
    ClientSasl, Connection, ConnectionConfig, Event, LinkId, LinkOptions, ProtocolError,
    ServerSasl, SessionId, SessionOptions,
};
use hubwire_amqp::{Bytes, DeliveryState, Message};

/// Deterministic xorshift generator for chunk sizes and test data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub(crate) struct Pair {
    pub(crate) client: Connection,
    pub(crate) hub: Connection,
    pub(crate) now: Duration,
    pub(crate) client_events: Vec<Event>,
    pub(crate) hub_events: Vec<Event>,
    /// When set, bytes are delivered in pieces of 1..=max_chunk bytes.
    chunking: Option<(Rng, usize)>,
    /// Drop everything the client sends (a dead client).
    pub(crate) client_muted: bool,
    /// Drop everything the hub sends.
    pub(crate) hub_muted: bool,
    pub(crate) client_error: Option<ProtocolError>,
    pub(crate) hub_error: Option<ProtocolError>,
    /// Bytes that went client → hub and hub → client.
    pub(crate) client_wire: Vec<u8>,
    pub(crate) hub_wire: Vec<u8>,
}

impl Pair {
    pub(crate) fn new(
        client_config: ConnectionConfig,
        client_sasl: ClientSasl,
        hub_config: ConnectionConfig,
        hub_sasl: ServerSasl,
    ) -> Self {
        let now = Duration::from_secs(1000);
        Self {
            client: Connection::client(now, client_config, client_sasl),
            hub: Connection::server(now, hub_config, hub_sasl),
            now,
            client_events: Vec::new(),
            hub_events: Vec::new(),
            chunking: None,
            client_muted: false,
            hub_muted: false,
            client_error: None,
            hub_error: None,
            client_wire: Vec::new(),
            hub_wire: Vec::new(),
        }
    }

    /// A device client without SASL against an IoT Hub style hub.
    pub(crate) fn iot(client_sasl: ClientSasl) -> Self {
        Self::new(
            ConnectionConfig::new("device-container"),
            client_sasl,
            ConnectionConfig::iot_hub("DeviceGateway_0123456789abcdef"),
            ServerSasl::iot_hub(),
        )
    }

    pub(crate) fn rechunk(&mut self, seed: u64, max_chunk: usize) {
        self.chunking = Some((Rng::new(seed), max_chunk.max(1)));
    }

    fn deliver(
        to: &mut Connection,
        now: Duration,
        bytes: &[u8],
        chunking: &mut Option<(Rng, usize)>,
        err: &mut Option<ProtocolError>,
    ) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = match chunking {
                Some((rng, max)) => 1 + rng.below(*max as u64) as usize,
                None => rest.len(),
            }
            .min(rest.len());
            let (piece, tail) = rest.split_at(n);
            if let Err(e) = to.handle_bytes(now, piece) {
                *err = Some(e);
            }
            rest = tail;
        }
    }

    /// Moves bytes both ways until neither side has anything to send; collects events.
    pub(crate) fn drive(&mut self) {
        for _ in 0..10_000 {
            let mut c2h = Vec::new();
            let n1 = self.client.poll_transmit(&mut c2h);
            if !self.client_muted && n1 > 0 {
                self.client_wire.extend_from_slice(&c2h);
                Self::deliver(
                    &mut self.hub,
                    self.now,
                    &c2h,
                    &mut self.chunking,
                    &mut self.hub_error,
                );
            }
            let mut h2c = Vec::new();
            let n2 = self.hub.poll_transmit(&mut h2c);
            if !self.hub_muted && n2 > 0 {
                self.hub_wire.extend_from_slice(&h2c);
                Self::deliver(
                    &mut self.client,
                    self.now,
                    &h2c,
                    &mut self.chunking,
                    &mut self.client_error,
                );
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.hub.poll_event() {
                self.hub_events.push(e);
            }
            if n1 == 0 && n2 == 0 {
                return;
            }
        }
        panic!("the pair did not settle");
    }

    /// Advances the clock to `now + by`, firing every timer that falls due on the way (and
    /// driving after each).
    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let next = [self.client.poll_timeout(), self.hub.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.client.handle_timeout(self.now);
                    self.hub.handle_timeout(self.now);
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = target;
        self.drive();
    }

    pub(crate) fn take_client_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.client_events)
    }

    pub(crate) fn take_hub_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.hub_events)
    }

    /// Drives, then accepts every link the client attached with `options` (name and termini
    /// mirrored); returns the hub's ids of those links, in order.
    pub(crate) fn hub_accept_attaches(&mut self, options: &LinkOptions) -> Vec<LinkId> {
        self.drive();
        let mut ids = Vec::new();
        let events = std::mem::take(&mut self.hub_events);
        for e in events {
            match e {
                Event::AttachRequested { link, .. } => {
                    self.hub
                        .accept_attach(self.now, link, options.clone())
                        .expect("accept");
                    ids.push(link);
                }
                other => self.hub_events.push(other),
            }
        }
        self.drive();
        ids
    }

    /// Handshake and one session; returns (client session, hub session).
    pub(crate) fn open_with_session(&mut self) -> (SessionId, SessionId) {
        let s = self
            .client
            .open_session(self.now, SessionOptions::default())
            .expect("session");
        self.drive();
        assert!(self.client.is_open(), "client open: {:?}", self.client);
        assert!(self.hub.is_open(), "hub open: {:?}", self.hub);
        let hub_session = self
            .hub_events
            .iter()
            .find_map(|e| match e {
                Event::SessionBegun {
                    session,
                    by_peer: true,
                    ..
                } => Some(*session),
                _ => None,
            })
            .expect("hub saw the session");
        (s, hub_session)
    }

    /// A client sender to `address` accepted by the hub with `hub_options`; returns (client
    /// link, hub link).
    pub(crate) fn sender_link(
        &mut self,
        session: SessionId,
        options: LinkOptions,
        hub_options: &LinkOptions,
    ) -> (LinkId, LinkId) {
        let link = self
            .client
            .attach_sender(self.now, session, options)
            .expect("attach");
        let hub_links = self.hub_accept_attaches(hub_options);
        assert_eq!(hub_links.len(), 1);
        (link, hub_links[0])
    }

    /// A client receiver accepted by the hub (the hub's end is a sender); returns (client
    /// link, hub link).
    pub(crate) fn receiver_link(
        &mut self,
        session: SessionId,
        options: LinkOptions,
        hub_options: &LinkOptions,
    ) -> (LinkId, LinkId) {
        let link = self
            .client
            .attach_receiver(self.now, session, options)
            .expect("attach");
        let hub_links = self.hub_accept_attaches(hub_options);
        assert_eq!(hub_links.len(), 1);
        (link, hub_links[0])
    }

    /// Settles every delivery the hub received with `state` (when unsettled); returns the
    /// deliveries' payloads.
    pub(crate) fn hub_settle_all(&mut self, state: DeliveryState) -> Vec<Bytes> {
        let mut out = Vec::new();
        let events = std::mem::take(&mut self.hub_events);
        for e in events {
            match e {
                Event::Delivery(d) => {
                    if !d.settled {
                        self.hub
                            .settle(self.now, d.link, d.delivery_id, Some(state.clone()))
                            .expect("settle");
                    }
                    out.push(d.payload);
                }
                other => self.hub_events.push(other),
            }
        }
        self.drive();
        out
    }
}

/// Events of one kind, as a vector of the matches.
#[macro_export]
macro_rules! events_of {
    ($events:expr, $pat:pat => $out:expr) => {
        $events
            .iter()
            .filter_map(|e| match e {
                $pat => Some($out),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

pub(crate) fn message(n: usize, rng: &mut Rng) -> Message {
    Message::with_data(Bytes::from(rng.bytes(n)))
}

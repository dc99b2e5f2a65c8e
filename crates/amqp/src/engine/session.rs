//! Sessions (AMQP 2.5) and links (AMQP 2.6): windows, credit, deliveries and settlement.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use super::vec_map::VecMap;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use super::config::{LinkOptions, SessionOptions};
use super::error::{CommandError, ProtocolError};
use super::event::{Delivery, Event};
use super::io::Io;
use super::{LinkId, SessionId};
use crate::definitions::{AmqpError, ErrorCondition, Role, SenderSettleMode};
use crate::messaging::DeliveryState;
use crate::performative::{Attach, Begin, Detach, Disposition, End, Flow, Transfer};
use crate::types::Str;

/// Serial-number differences at or above this are "negative" (RFC 1982, as AMQP 2.8.9 uses).
const SERIAL_HALF: u32 = 1 << 31;

/// What the session needs from its connection while handling a frame or command.
pub(super) struct Ctx<'a> {
    pub(super) io: &'a mut Io,
    pub(super) events: &'a mut VecDeque<Event>,
    /// The peer's max-frame-size (512 until its OPEN arrives).
    pub(super) peer_max_frame_size: u32,
    /// The connection-wide generation counter that keeps stale ids from matching new links.
    pub(super) next_gen: &'a mut u32,
}

impl Ctx<'_> {
    pub(super) fn fresh_gen(&mut self) -> u32 {
        *self.next_gen = self.next_gen.wrapping_add(1);
        *self.next_gen
    }
}

/// A peer violation found while handling a session's frame, and how far it reaches.
pub(super) enum Fault {
    /// Close the connection.
    Connection(ProtocolError),
    /// End the session with this error (AMQP 2.5.5: session errors).
    Session(ErrorCondition, &'static str),
}

/// Session states (AMQP 2.5.5). BEGIN_RCVD and END_RCVD are never observable: the engine
/// answers the peer's BEGIN and END at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SessionState {
    /// BEGIN_SENT: our BEGIN is out, the peer's has not arrived.
    BeginSent,
    /// MAPPED: both BEGINs exchanged.
    Mapped,
    /// END_SENT (or DISCARDING when ended with an error): frames other than END are ignored
    /// until the peer's END. `notified`: `SessionEnded` was already reported.
    EndSent { notified: bool },
}

/// Link states (AMQP 2.6.3, from one endpoint's view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkState {
    /// Our ATTACH is out, the peer's has not arrived.
    AttachSent,
    /// The peer's ATTACH arrived first; the host has not answered yet.
    AttachRcvd,
    /// Both ATTACHes exchanged.
    Attached,
    /// Our DETACH is out; frames other than DETACH are ignored until the peer's.
    /// `notified`: `LinkDetached` was already reported.
    DetachSent { notified: bool },
}

/// A message waiting for link credit.
struct Pending {
    tag: Bytes,
    payload: Bytes,
    settled: bool,
    format: u32,
}

/// A delivery that has its delivery-id and is being cut into transfer frames.
struct InFlight {
    handle: u32,
    delivery_id: u32,
    tag: Bytes,
    payload: Bytes,
    offset: usize,
    started: bool,
    settled: bool,
    format: u32,
}

/// An incoming delivery whose last frame has not arrived yet.
struct Partial {
    delivery_id: u32,
    tag: Bytes,
    settled: bool,
    format: u32,
    size: u64,
    /// The first frame's payload, kept zero-copy until a second frame makes a copy necessary.
    first: Bytes,
    rest: Option<BytesMut>,
}

impl Partial {
    fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        match &mut self.rest {
            Some(buf) => buf.extend_from_slice(&chunk),
            None if self.first.is_empty() => self.first = chunk,
            None => {
                let mut buf = BytesMut::with_capacity(self.first.len() + chunk.len());
                buf.extend_from_slice(&self.first);
                buf.extend_from_slice(&chunk);
                self.rest = Some(buf);
            }
        }
    }

    fn finish(self) -> Bytes {
        match self.rest {
            Some(buf) => buf.freeze(),
            None => self.first,
        }
    }
}

pub(super) struct Link {
    pub(super) gen: u32,
    name: Str,
    pub(super) role: Role,
    pub(super) state: LinkState,
    remote_handle: Option<u32>,
    /// The peer's ATTACH while the host decides (AttachRcvd).
    remote_attach: Option<Box<Attach>>,
    snd_settle_mode: SenderSettleMode,
    /// Our limit for incoming messages.
    max_message_size: Option<u64>,
    /// The peer's limit for our messages.
    peer_max_message_size: Option<u64>,
    delivery_count: u32,
    pub(super) credit: u32,
    drain: bool,
    credit_target: u32,
    auto_credit: bool,
    partial: Option<Partial>,
    queue: VecDeque<Pending>,
    next_tag: u64,
    /// Our DETACH's flags, reported when the peer answers.
    closed: bool,
    error: Option<AmqpError>,
    lost: Vec<Bytes>,
}

impl Link {
    fn new(gen: u32, name: Str, role: Role, state: LinkState) -> Self {
        Self {
            gen,
            name,
            role,
            state,
            remote_handle: None,
            remote_attach: None,
            snd_settle_mode: SenderSettleMode::Mixed,
            max_message_size: None,
            peer_max_message_size: None,
            delivery_count: 0,
            credit: 0,
            drain: false,
            credit_target: 0,
            auto_credit: false,
            partial: None,
            queue: VecDeque::new(),
            next_tag: 0,
            closed: false,
            error: None,
            lost: Vec::new(),
        }
    }

    fn apply(&mut self, opts: &LinkOptions) {
        self.max_message_size = opts.max_message_size.filter(|&m| m > 0);
        self.credit_target = opts.credit;
        self.auto_credit = opts.auto_credit;
    }

    pub(super) fn queued(&self) -> usize {
        self.queue.len()
    }
}

pub(super) struct Session {
    pub(super) gen: u32,
    pub(super) channel: u16,
    pub(super) state: SessionState,
    pub(super) remote_channel: Option<u16>,
    opts: SessionOptions,
    // Session flow state (AMQP 2.5.6).
    next_outgoing_id: u32,
    /// Known once the peer's BEGIN arrived.
    next_incoming_id: Option<u32>,
    incoming_window: u32,
    remote_incoming_window: u32,
    remote_outgoing_window: u32,
    remote_handle_max: u32,
    next_delivery_id: u32,
    pub(super) links: VecMap<u32, Link>,
    remote_handles: VecMap<u32, u32>,
    /// Deliveries being cut into frames, in delivery-id order (peers check the sequence).
    sending: VecDeque<InFlight>,
    /// Our unsettled sends: delivery-id → (handle, tag).
    out_unsettled: VecMap<u32, (u32, Bytes)>,
    /// Deliveries we received unsettled: delivery-id → handle.
    in_unsettled: VecMap<u32, u32>,
    pub(super) end_error: Option<AmqpError>,
}

/// How far `ours` is ahead of `theirs` in serial arithmetic (RFC 1982), or `None` when it is
/// behind (the peer claims to have seen more than was sent).
fn in_flight(ours: u32, theirs: u32) -> Option<u32> {
    let d = ours.wrapping_sub(theirs);
    (d < SERIAL_HALF).then_some(d)
}

/// Ids of `map` in the serial range `first..=last`.
fn range_ids<V>(map: &VecMap<u32, V>, first: u32, last: u32) -> Vec<u32> {
    if first <= last {
        map.keys_in(&first, &last).copied().collect()
    } else {
        map.keys_in(&first, &u32::MAX)
            .chain(map.keys_in(&0, &last))
            .copied()
            .collect()
    }
}

impl Session {
    pub(super) fn new(gen: u32, channel: u16, opts: SessionOptions) -> Self {
        Self {
            gen,
            channel,
            state: SessionState::BeginSent,
            remote_channel: None,
            incoming_window: opts.incoming_window,
            opts,
            next_outgoing_id: 0,
            next_incoming_id: None,
            remote_incoming_window: 0,
            remote_outgoing_window: 0,
            remote_handle_max: u32::MAX,
            next_delivery_id: 0,
            links: VecMap::new(),
            remote_handles: VecMap::new(),
            sending: VecDeque::new(),
            out_unsettled: VecMap::new(),
            in_unsettled: VecMap::new(),
            end_error: None,
        }
    }

    pub(super) fn id(&self) -> SessionId {
        SessionId {
            channel: self.channel,
            gen: self.gen,
        }
    }

    fn link_id(&self, handle: u32, gen: u32) -> LinkId {
        LinkId {
            channel: self.channel,
            session_gen: self.gen,
            handle,
            gen,
        }
    }

    pub(super) fn is_ending(&self) -> bool {
        matches!(self.state, SessionState::EndSent { .. })
    }

    /// Our BEGIN; `remote_channel` set when answering the peer's.
    pub(super) fn begin_frame(&self) -> Begin {
        Begin {
            remote_channel: self.remote_channel,
            next_outgoing_id: self.next_outgoing_id,
            incoming_window: self.incoming_window,
            outgoing_window: self.opts.outgoing_window,
            handle_max: self.opts.handle_max,
            properties: self.opts.properties.clone(),
            ..Begin::default()
        }
    }

    /// Takes in the peer's BEGIN.
    pub(super) fn on_begin(&mut self, remote_channel: u16, b: &Begin) {
        self.remote_channel = Some(remote_channel);
        self.state = SessionState::Mapped;
        self.next_incoming_id = Some(b.next_outgoing_id);
        self.remote_incoming_window = b.incoming_window;
        self.remote_outgoing_window = b.outgoing_window;
        self.remote_handle_max = b.handle_max;
    }

    fn flow_frame(&self, link: Option<(u32, &Link)>) -> Flow {
        let mut f = Flow {
            next_incoming_id: self.next_incoming_id,
            incoming_window: self.incoming_window,
            next_outgoing_id: self.next_outgoing_id,
            outgoing_window: self.opts.outgoing_window,
            ..Flow::default()
        };
        if let Some((handle, l)) = link {
            f.handle = Some(handle);
            f.delivery_count = Some(l.delivery_count);
            f.link_credit = Some(l.credit);
            f.drain = l.drain;
            if l.role == Role::Sender {
                f.available = Some(u32::try_from(l.queue.len()).unwrap_or(u32::MAX));
            }
        }
        f
    }

    fn write_link_flow(&self, cx: &mut Ctx<'_>, handle: u32) {
        if let Some(l) = self.links.get(&handle) {
            cx.io.perf(self.channel, self.flow_frame(Some((handle, l))));
        }
    }

    /// Smallest handle not in use that the peer accepts.
    fn free_handle(&self) -> Option<u32> {
        let mut want = 0u32;
        for &h in self.links.keys() {
            if h != want {
                break;
            }
            want = want.checked_add(1)?;
        }
        (want <= self.remote_handle_max).then_some(want)
    }

    // ---------------------------------------------------------------- commands

    pub(super) fn attach(
        &mut self,
        cx: &mut Ctx<'_>,
        role: Role,
        opts: &LinkOptions,
    ) -> Result<LinkId, CommandError> {
        if self.is_ending() {
            return Err(CommandError::SessionEnding);
        }
        let handle = self.free_handle().ok_or(CommandError::HandlesExhausted)?;
        let attach = Attach {
            name: opts.name.clone(),
            handle,
            role,
            snd_settle_mode: opts.snd_settle_mode.unwrap_or_default(),
            rcv_settle_mode: opts.rcv_settle_mode.unwrap_or_default(),
            source: opts.source.clone(),
            target: opts.target.clone(),
            initial_delivery_count: (role == Role::Sender).then_some(0),
            max_message_size: opts.max_message_size.filter(|&m| m > 0),
            offered_capabilities: opts.offered_capabilities.clone(),
            desired_capabilities: opts.desired_capabilities.clone(),
            properties: opts.properties.clone(),
            ..Attach::default()
        };
        check_encodes(&attach)?;
        let gen = cx.fresh_gen();
        let mut link = Link::new(gen, opts.name.clone(), role, LinkState::AttachSent);
        link.apply(opts);
        link.snd_settle_mode = attach.snd_settle_mode;
        self.links.insert(handle, link);
        cx.io.perf(self.channel, attach);
        Ok(self.link_id(handle, gen))
    }

    pub(super) fn accept_attach(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        opts: &LinkOptions,
    ) -> Result<(), CommandError> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Err(CommandError::UnknownLink);
        };
        if link.state != LinkState::AttachRcvd {
            return Err(CommandError::LinkState);
        }
        let Some(remote) = link.remote_attach.take() else {
            return Err(CommandError::LinkState);
        };
        let attach = Attach {
            name: remote.name.clone(),
            handle,
            role: link.role,
            snd_settle_mode: opts.snd_settle_mode.unwrap_or(remote.snd_settle_mode),
            rcv_settle_mode: opts.rcv_settle_mode.unwrap_or(remote.rcv_settle_mode),
            source: opts.source.clone().or_else(|| remote.source.clone()),
            target: opts.target.clone().or_else(|| remote.target.clone()),
            initial_delivery_count: (link.role == Role::Sender).then_some(0),
            max_message_size: opts.max_message_size.filter(|&m| m > 0),
            offered_capabilities: opts.offered_capabilities.clone(),
            desired_capabilities: opts.desired_capabilities.clone(),
            properties: opts.properties.clone(),
            ..Attach::default()
        };
        if let Err(e) = check_encodes(&attach) {
            link.remote_attach = Some(remote);
            return Err(e);
        }
        link.apply(opts);
        link.snd_settle_mode = attach.snd_settle_mode;
        link.peer_max_message_size = remote.max_message_size.filter(|&m| m > 0);
        link.state = LinkState::Attached;
        let grant = link.role == Role::Receiver && link.credit_target > 0;
        if grant {
            link.credit = link.credit_target;
        }
        cx.io.perf(self.channel, attach);
        if grant {
            self.write_link_flow(cx, handle);
        }
        Ok(())
    }

    /// Refuses the peer's attach (AMQP 2.6.3): an ATTACH with our terminus null, then a
    /// DETACH with the error.
    pub(super) fn refuse_attach(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        error: Option<AmqpError>,
    ) -> Result<(), CommandError> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Err(CommandError::UnknownLink);
        };
        if link.state != LinkState::AttachRcvd {
            return Err(CommandError::LinkState);
        }
        let remote = link.remote_attach.take();
        let (source, target) = match (link.role, &remote) {
            (Role::Receiver, Some(r)) => (r.source.clone(), None),
            (Role::Sender, Some(r)) => (None, r.target.clone()),
            _ => (None, None),
        };
        let attach = Attach {
            name: link.name.clone(),
            handle,
            role: link.role,
            source,
            target,
            initial_delivery_count: (link.role == Role::Sender).then_some(0),
            ..Attach::default()
        };
        link.state = LinkState::DetachSent { notified: false };
        link.closed = true;
        link.error = error.clone();
        cx.io.perf(self.channel, attach);
        cx.io.perf(
            self.channel,
            Detach {
                handle,
                closed: true,
                error,
            },
        );
        Ok(())
    }

    pub(super) fn send(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        payload: Bytes,
        settled: bool,
        tag: Option<Bytes>,
    ) -> Result<Bytes, CommandError> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Err(CommandError::UnknownLink);
        };
        if link.role != Role::Sender {
            return Err(CommandError::WrongRole);
        }
        if !matches!(link.state, LinkState::AttachSent | LinkState::Attached) {
            return Err(CommandError::LinkState);
        }
        match (link.snd_settle_mode, settled) {
            (SenderSettleMode::Settled, false) | (SenderSettleMode::Unsettled, true) => {
                return Err(CommandError::SettleMode { settled });
            }
            _ => {}
        }
        let size = payload.len() as u64;
        if let Some(max) = link.peer_max_message_size {
            if size > max {
                return Err(CommandError::MessageTooLarge { size, max });
            }
        }
        let tag = match tag {
            Some(t) if t.len() > 32 => return Err(CommandError::TagTooLong(t.len())),
            Some(t) => t,
            None => {
                let n = link.next_tag;
                link.next_tag = n.wrapping_add(1);
                Bytes::copy_from_slice(&n.to_be_bytes())
            }
        };
        link.queue.push_back(Pending {
            tag: tag.clone(),
            payload,
            settled,
            format: 0,
        });
        self.feed(handle);
        self.pump(cx);
        Ok(tag)
    }

    pub(super) fn grant_credit(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        credit: u32,
        drain: bool,
    ) -> Result<(), CommandError> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Err(CommandError::UnknownLink);
        };
        if link.role != Role::Receiver {
            return Err(CommandError::WrongRole);
        }
        if link.state != LinkState::Attached {
            return Err(CommandError::LinkState);
        }
        link.credit = credit;
        link.credit_target = credit;
        link.drain = drain;
        self.write_link_flow(cx, handle);
        Ok(())
    }

    /// A disposition for `first..=last` from this link's side. Every unsettled delivery in
    /// the range must belong to this link (dispositions address session-wide delivery-ids).
    pub(super) fn disposition(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        first: u32,
        last: u32,
        settled: bool,
        state: Option<DeliveryState>,
    ) -> Result<(), CommandError> {
        let Some(link) = self.links.get(&handle) else {
            return Err(CommandError::UnknownLink);
        };
        if !matches!(link.state, LinkState::Attached) {
            return Err(CommandError::LinkState);
        }
        let role = link.role;
        let ids = match role {
            Role::Receiver => {
                let ids = range_ids(&self.in_unsettled, first, last);
                if ids
                    .iter()
                    .any(|id| self.in_unsettled.get(id) != Some(&handle))
                {
                    return Err(CommandError::RangeSpansLinks);
                }
                ids
            }
            Role::Sender => {
                let ids = range_ids(&self.out_unsettled, first, last);
                if ids
                    .iter()
                    .any(|id| self.out_unsettled.get(id).map(|e| e.0) != Some(handle))
                {
                    return Err(CommandError::RangeSpansLinks);
                }
                ids
            }
        };
        if ids.is_empty() {
            return Err(CommandError::UnknownDelivery(first));
        }
        let d = Disposition {
            role,
            first,
            last: (last != first).then_some(last),
            settled,
            state,
            batchable: false,
        };
        check_encodes(&d)?;
        if settled {
            for id in ids {
                match role {
                    Role::Receiver => self.in_unsettled.remove(&id).map(drop),
                    Role::Sender => self.out_unsettled.remove(&id).map(drop),
                };
            }
        }
        cx.io.perf(self.channel, d);
        Ok(())
    }

    pub(super) fn detach(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        closed: bool,
        error: Option<AmqpError>,
    ) -> Result<(), CommandError> {
        let state = self
            .links
            .get(&handle)
            .map(|l| l.state)
            .ok_or(CommandError::UnknownLink)?;
        match state {
            LinkState::AttachRcvd => return self.refuse_attach(cx, handle, error),
            LinkState::DetachSent { .. } => return Err(CommandError::LinkState),
            LinkState::AttachSent | LinkState::Attached => {}
        }
        let d = Detach {
            handle,
            closed,
            error: error.clone(),
        };
        check_encodes(&d)?;
        let lost = self.take_lost(handle);
        if let Some(link) = self.links.get_mut(&handle) {
            link.state = LinkState::DetachSent { notified: false };
            link.closed = closed;
            link.error = error;
            link.lost = lost;
        }
        cx.io.perf(self.channel, d);
        Ok(())
    }

    // ---------------------------------------------------------------- outgoing transfers

    /// Gives queued messages of a sender their delivery-ids while it has credit.
    fn feed(&mut self, handle: u32) {
        let Some(link) = self.links.get_mut(&handle) else {
            return;
        };
        if link.state != LinkState::Attached {
            return;
        }
        while link.credit > 0 {
            let Some(p) = link.queue.pop_front() else {
                break;
            };
            // AMQP 2.6.7: each delivery consumes one credit and advances delivery-count.
            link.credit -= 1;
            link.delivery_count = link.delivery_count.wrapping_add(1);
            let delivery_id = self.next_delivery_id;
            self.next_delivery_id = delivery_id.wrapping_add(1);
            if !p.settled {
                self.out_unsettled
                    .insert(delivery_id, (handle, p.tag.clone()));
            }
            self.sending.push_back(InFlight {
                handle,
                delivery_id,
                tag: p.tag,
                payload: p.payload,
                offset: 0,
                started: false,
                settled: p.settled,
                format: p.format,
            });
        }
    }

    /// Writes transfer frames while the peer's incoming window allows, splitting each message
    /// to fit the peer's max-frame-size (`more=true` on all but the last frame).
    pub(super) fn pump(&mut self, cx: &mut Ctx<'_>) {
        if self.state != SessionState::Mapped {
            return;
        }
        while self.remote_incoming_window > 0 {
            let Some(d) = self.sending.front_mut() else {
                break;
            };
            let mut t = Transfer {
                handle: d.handle,
                more: true,
                ..Transfer::default()
            };
            if !d.started {
                t.delivery_id = Some(d.delivery_id);
                t.delivery_tag = Some(d.tag.clone());
                t.message_format = Some(d.format);
                if d.settled {
                    t.settled = Some(true);
                }
            }
            // The size with more=true bounds the size of the last frame's performative too.
            let overhead = cx.io.transfer_overhead(&t);
            let room = (cx.peer_max_frame_size as usize).saturating_sub(overhead);
            let remaining = d.payload.len().saturating_sub(d.offset);
            if room == 0 && remaining > 0 {
                // Unreachable with max-frame-size ≥ 512 and tags ≤ 32 bytes; never loop.
                self.sending.pop_front();
                continue;
            }
            let n = remaining.min(room);
            t.more = n < remaining;
            let end = d.offset.saturating_add(n);
            let chunk = d.payload.get(d.offset..end).unwrap_or_default();
            cx.io.transfer(self.channel, &t, chunk);
            d.offset = end;
            d.started = true;
            // AMQP 2.5.6: every transfer frame advances next-outgoing-id and uses one slot of
            // the peer's incoming window.
            self.next_outgoing_id = self.next_outgoing_id.wrapping_add(1);
            self.remote_incoming_window -= 1;
            if !t.more {
                self.sending.pop_front();
            }
        }
    }

    /// Removes everything outstanding of a link and returns the tags of sends that will now
    /// never get an outcome.
    fn take_lost(&mut self, handle: u32) -> Vec<Bytes> {
        let mut lost = Vec::new();
        self.sending.retain(|d| {
            if d.handle == handle {
                if !d.settled {
                    lost.push(d.tag.clone());
                }
                false
            } else {
                true
            }
        });
        let sent: Vec<u32> = self
            .out_unsettled
            .iter()
            .filter(|(_, (h, _))| *h == handle)
            .map(|(id, _)| *id)
            .collect();
        for id in sent {
            if let Some((_, tag)) = self.out_unsettled.remove(&id) {
                if !lost.contains(&tag) {
                    lost.push(tag);
                }
            }
        }
        self.in_unsettled.retain(|_, h| *h != handle);
        if let Some(link) = self.links.get_mut(&handle) {
            link.partial = None;
            lost.extend(link.queue.drain(..).map(|p| p.tag));
        }
        lost
    }

    /// Detaches a link because of the peer's misbehaviour (closed, with an error) and reports
    /// it at once.
    fn link_error(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        condition: ErrorCondition,
        description: &'static str,
    ) {
        let error = AmqpError::new(condition, Some(Str::from_static(description)));
        let lost = self.take_lost(handle);
        let Some(link) = self.links.get_mut(&handle) else {
            return;
        };
        if matches!(link.state, LinkState::DetachSent { .. }) {
            return;
        }
        link.state = LinkState::DetachSent { notified: true };
        let gen = link.gen;
        cx.io.perf(
            self.channel,
            Detach {
                handle,
                closed: true,
                error: Some(error.clone()),
            },
        );
        cx.events.push_back(Event::LinkDetached {
            link: self.link_id(handle, gen),
            closed: true,
            by_peer: false,
            error: Some(error),
            lost,
        });
    }

    /// Reports every link still open as detached (the session or connection is ending).
    pub(super) fn teardown(&mut self, cx: &mut Ctx<'_>) {
        let handles: Vec<u32> = self.links.keys().copied().collect();
        for handle in handles {
            let mut lost = self.take_lost(handle);
            let Some(link) = self.links.remove(&handle) else {
                continue;
            };
            if link.state == (LinkState::DetachSent { notified: true }) {
                continue;
            }
            let mut all = link.lost;
            all.append(&mut lost);
            cx.events.push_back(Event::LinkDetached {
                link: self.link_id(handle, link.gen),
                closed: link.closed,
                by_peer: false,
                error: link.error,
                lost: all,
            });
        }
        self.remote_handles.clear();
        self.sending.clear();
    }

    // ---------------------------------------------------------------- incoming frames

    pub(super) fn on_attach(&mut self, cx: &mut Ctx<'_>, a: Box<Attach>) -> Result<(), Fault> {
        if self.is_ending() {
            return Ok(());
        }
        if a.handle > self.opts.handle_max {
            return Err(Fault::Session(
                ErrorCondition::RESOURCE_LIMIT_EXCEEDED,
                "attach with a handle above handle-max",
            ));
        }
        if self.remote_handles.contains_key(&a.handle) {
            return Err(Fault::Session(
                ErrorCondition::HANDLE_IN_USE,
                "attach with a handle already in use",
            ));
        }
        // An answer to our ATTACH: same name, opposite role, and not yet answered.
        let ours = self
            .links
            .iter()
            .find(|(_, l)| {
                l.name == a.name
                    && l.role != a.role
                    && l.remote_handle.is_none()
                    && matches!(
                        l.state,
                        LinkState::AttachSent | LinkState::DetachSent { .. }
                    )
            })
            .map(|(h, _)| *h);
        if let Some(handle) = ours {
            self.remote_handles.insert(a.handle, handle);
            let Some(link) = self.links.get_mut(&handle) else {
                return Ok(());
            };
            link.remote_handle = Some(a.handle);
            if link.state != LinkState::AttachSent {
                // We detached before the answer came; its DETACH answer follows.
                return Ok(());
            }
            link.state = LinkState::Attached;
            let grant = match link.role {
                Role::Sender => {
                    link.peer_max_message_size = a.max_message_size.filter(|&m| m > 0);
                    false
                }
                Role::Receiver => {
                    link.delivery_count = a.initial_delivery_count.unwrap_or(0);
                    link.credit = link.credit_target;
                    link.credit_target > 0
                }
            };
            let gen = link.gen;
            let id = self.link_id(handle, gen);
            cx.events.push_back(Event::LinkAttached {
                link: id,
                remote: a,
            });
            if grant {
                self.write_link_flow(cx, handle);
            }
            return Ok(());
        }
        let Some(handle) = self.free_handle() else {
            return Err(Fault::Session(
                ErrorCondition::RESOURCE_LIMIT_EXCEEDED,
                "no free link handle",
            ));
        };
        let role = match a.role {
            Role::Sender => Role::Receiver,
            Role::Receiver => Role::Sender,
        };
        let gen = cx.fresh_gen();
        let mut link = Link::new(gen, a.name.clone(), role, LinkState::AttachRcvd);
        link.remote_handle = Some(a.handle);
        if role == Role::Receiver {
            link.delivery_count = a.initial_delivery_count.unwrap_or(0);
        }
        link.remote_attach = Some(a.clone());
        self.links.insert(handle, link);
        self.remote_handles.insert(a.handle, handle);
        cx.events.push_back(Event::AttachRequested {
            link: self.link_id(handle, gen),
            attach: a,
        });
        Ok(())
    }

    pub(super) fn on_flow(&mut self, cx: &mut Ctx<'_>, f: &Flow) -> Result<(), Fault> {
        if self.state != SessionState::Mapped {
            return Ok(());
        }
        // AMQP 2.5.6: remote-incoming-window = next-incoming-id(flow) + incoming-window(flow)
        // - next-outgoing-id(ours); before the peer saw any transfer of ours, next-incoming-id
        // is absent and our initial outgoing id (0) stands in.
        // Computed as window minus frames in flight, so that a window of 2^32-1 (the C SDK's)
        // does not wrap.
        let seen = f.next_incoming_id.unwrap_or(0);
        self.remote_incoming_window = match in_flight(self.next_outgoing_id, seen) {
            Some(n) => f.incoming_window.saturating_sub(n),
            None => 0,
        };
        self.remote_outgoing_window = f.outgoing_window;
        let Some(remote_handle) = f.handle else {
            if f.echo {
                cx.io.perf(self.channel, self.flow_frame(None));
            }
            self.pump(cx);
            return Ok(());
        };
        let Some(&handle) = self.remote_handles.get(&remote_handle) else {
            return Err(Fault::Session(
                ErrorCondition::UNATTACHED_HANDLE,
                "flow for a handle that is not attached",
            ));
        };
        let Some(link) = self.links.get_mut(&handle) else {
            return Ok(());
        };
        if !matches!(link.state, LinkState::Attached | LinkState::AttachRcvd) {
            return Ok(());
        }
        let mut answer = f.echo;
        match link.role {
            Role::Sender => {
                if let Some(lc) = f.link_credit {
                    // AMQP 2.6.7: link-credit(snd) = delivery-count(rcv) + link-credit(rcv)
                    // - delivery-count(snd).
                    let rcv_count = f.delivery_count.unwrap_or(0);
                    link.credit = match in_flight(link.delivery_count, rcv_count) {
                        Some(n) => lc.saturating_sub(n),
                        None => lc,
                    };
                }
                link.drain = f.drain;
                self.feed(handle);
                self.pump(cx);
                if let Some(link) = self.links.get_mut(&handle) {
                    if link.drain && link.credit > 0 && link.queue.is_empty() {
                        // Drain: use up the credit by advancing delivery-count, and say so.
                        link.delivery_count = link.delivery_count.wrapping_add(link.credit);
                        link.credit = 0;
                        answer = true;
                    }
                }
            }
            Role::Receiver => {
                if let Some(dc) = f.delivery_count {
                    // The sender may have advanced delivery-count (drain); the limit we
                    // granted stays where it was.
                    // (Transfers precede the flow on the wire, so they are counted already.)
                    if let Some(advance) = in_flight(dc, link.delivery_count) {
                        link.credit = link.credit.saturating_sub(advance);
                        link.delivery_count = dc;
                    }
                }
                if link.credit == 0 {
                    link.drain = false;
                }
            }
        }
        let Some(link) = self.links.get(&handle) else {
            return Ok(());
        };
        let ev = Event::LinkFlow {
            link: self.link_id(handle, link.gen),
            credit: link.credit,
            drain: f.drain,
        };
        if answer && link.state == LinkState::Attached {
            self.write_link_flow(cx, handle);
        }
        cx.events.push_back(ev);
        self.pump(cx);
        Ok(())
    }

    pub(super) fn on_transfer(
        &mut self,
        cx: &mut Ctx<'_>,
        t: Transfer,
        payload: Bytes,
    ) -> Result<(), Fault> {
        match self.state {
            SessionState::Mapped => {}
            SessionState::EndSent { .. } => return Ok(()),
            SessionState::BeginSent => {
                return Err(Fault::Connection(ProtocolError::illegal_state(
                    "transfer on a session the peer has not begun",
                )))
            }
        }
        // AMQP 2.5.6: a transfer beyond our incoming window is a session error.
        if self.incoming_window == 0 {
            return Err(Fault::Session(
                ErrorCondition::WINDOW_VIOLATION,
                "transfer beyond the incoming-window",
            ));
        }
        self.incoming_window -= 1;
        self.next_incoming_id = self.next_incoming_id.map(|n| n.wrapping_add(1));
        self.remote_outgoing_window = self.remote_outgoing_window.saturating_sub(1);
        let Some(&handle) = self.remote_handles.get(&t.handle) else {
            return Err(Fault::Session(
                ErrorCondition::UNATTACHED_HANDLE,
                "transfer for a handle that is not attached",
            ));
        };
        if let Err((condition, description)) = self.link_transfer(cx, handle, t, payload) {
            self.link_error(cx, handle, condition, description);
        }
        // Widen our window again once half of it is used.
        if self.incoming_window <= self.opts.incoming_window / 2 && !self.is_ending() {
            self.incoming_window = self.opts.incoming_window;
            cx.io.perf(self.channel, self.flow_frame(None));
        }
        Ok(())
    }

    fn link_transfer(
        &mut self,
        cx: &mut Ctx<'_>,
        handle: u32,
        t: Transfer,
        payload: Bytes,
    ) -> Result<(), (ErrorCondition, &'static str)> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Ok(());
        };
        match link.state {
            LinkState::Attached => {}
            LinkState::DetachSent { .. } => return Ok(()),
            LinkState::AttachSent | LinkState::AttachRcvd => {
                return Err((
                    ErrorCondition::TRANSFER_LIMIT_EXCEEDED,
                    "transfer before link credit was granted",
                ))
            }
        }
        if link.role != Role::Receiver {
            return Err((
                ErrorCondition::NOT_ALLOWED,
                "transfer on a link whose peer is the receiver",
            ));
        }
        match &link.partial {
            None => {
                let (Some(delivery_id), Some(tag)) = (t.delivery_id, t.delivery_tag.clone()) else {
                    return Err((
                        ErrorCondition::INVALID_FIELD,
                        "first transfer of a delivery without delivery-id or delivery-tag",
                    ));
                };
                if tag.len() > 32 {
                    return Err((ErrorCondition::INVALID_FIELD, "delivery-tag longer than 32"));
                }
                // AMQP 2.6.7: a sender must not send without credit.
                if link.credit == 0 {
                    return Err((
                        ErrorCondition::TRANSFER_LIMIT_EXCEEDED,
                        "transfer without link credit",
                    ));
                }
                link.credit -= 1;
                link.delivery_count = link.delivery_count.wrapping_add(1);
                link.partial = Some(Partial {
                    delivery_id,
                    tag,
                    settled: false,
                    format: t.message_format.unwrap_or(0),
                    size: 0,
                    first: Bytes::new(),
                    rest: None,
                });
            }
            Some(p) => {
                if t.delivery_id.is_some_and(|id| id != p.delivery_id) {
                    return Err((
                        ErrorCondition::INVALID_FIELD,
                        "delivery-id changed within a multi-frame delivery",
                    ));
                }
            }
        }
        let gen = link.gen;
        let Some(partial) = link.partial.as_mut() else {
            return Ok(());
        };
        if t.aborted {
            let delivery_id = partial.delivery_id;
            link.partial = None;
            cx.events.push_back(Event::DeliveryAborted {
                link: self.link_id(handle, gen),
                delivery_id,
            });
            return Ok(());
        }
        if t.settled == Some(true) {
            partial.settled = true;
        }
        partial.size = partial.size.saturating_add(payload.len() as u64);
        if link.max_message_size.is_some_and(|max| partial.size > max) {
            link.partial = None;
            return Err((
                ErrorCondition::MESSAGE_SIZE_EXCEEDED,
                "message larger than the link's max-message-size",
            ));
        }
        partial.push(payload);
        if t.more {
            return Ok(());
        }
        let Some(p) = link.partial.take() else {
            return Ok(());
        };
        let mut topped_up = false;
        if link.auto_credit && link.credit_target > 0 && link.credit <= link.credit_target / 2 {
            link.credit = link.credit_target;
            topped_up = true;
        }
        if !p.settled {
            self.in_unsettled.insert(p.delivery_id, handle);
        }
        cx.events.push_back(Event::Delivery(Delivery {
            link: self.link_id(handle, gen),
            delivery_id: p.delivery_id,
            tag: p.tag.clone(),
            settled: p.settled,
            message_format: p.format,
            payload: p.finish(),
        }));
        if topped_up {
            self.write_link_flow(cx, handle);
        }
        Ok(())
    }

    pub(super) fn on_disposition(&mut self, cx: &mut Ctx<'_>, d: Disposition) {
        if self.state != SessionState::Mapped {
            return;
        }
        let last = d.last.unwrap_or(d.first);
        match d.role {
            // The peer received: the range names our sends.
            Role::Receiver => {
                let terminal = d.state.as_ref().is_some_and(DeliveryState::is_outcome);
                if !d.settled && !terminal {
                    return;
                }
                let ids = range_ids(&self.out_unsettled, d.first, last);
                if ids.is_empty() {
                    return;
                }
                for id in &ids {
                    let Some((handle, tag)) = self.out_unsettled.remove(id) else {
                        continue;
                    };
                    let gen = self.links.get(&handle).map_or(0, |l| l.gen);
                    cx.events.push_back(Event::Outcome {
                        link: self.link_id(handle, gen),
                        delivery_id: *id,
                        tag,
                        state: d.state.clone(),
                    });
                }
                if !d.settled {
                    // A terminal outcome left unsettled (receiver settle mode second, or a
                    // receiver waiting for us): settle it so both sides can forget it.
                    cx.io.perf(
                        self.channel,
                        Disposition {
                            role: Role::Sender,
                            first: d.first,
                            last: d.last,
                            settled: true,
                            state: d.state,
                            batchable: false,
                        },
                    );
                }
            }
            // The peer sent: it settled deliveries we received.
            Role::Sender => {
                if d.settled {
                    for id in range_ids(&self.in_unsettled, d.first, last) {
                        self.in_unsettled.remove(&id);
                    }
                }
            }
        }
    }

    pub(super) fn on_detach(&mut self, cx: &mut Ctx<'_>, d: Detach) -> Result<(), Fault> {
        if self.is_ending() {
            return Ok(());
        }
        let Some(handle) = self.remote_handles.remove(&d.handle) else {
            return Err(Fault::Session(
                ErrorCondition::UNATTACHED_HANDLE,
                "detach for a handle that is not attached",
            ));
        };
        let mut lost = self.take_lost(handle);
        let Some(link) = self.links.remove(&handle) else {
            return Ok(());
        };
        let id = self.link_id(handle, link.gen);
        match link.state {
            LinkState::DetachSent { notified: true } => {}
            LinkState::DetachSent { notified: false } => {
                let mut all = link.lost;
                all.append(&mut lost);
                cx.events.push_back(Event::LinkDetached {
                    link: id,
                    closed: link.closed,
                    by_peer: false,
                    error: link.error,
                    lost: all,
                });
            }
            LinkState::AttachSent | LinkState::AttachRcvd | LinkState::Attached => {
                if link.state == LinkState::AttachRcvd {
                    // The peer gave up before we answered: answer the ATTACH, then the DETACH.
                    cx.io.perf(
                        self.channel,
                        Attach {
                            name: link.name.clone(),
                            handle,
                            role: link.role,
                            ..Attach::default()
                        },
                    );
                }
                cx.io.perf(
                    self.channel,
                    Detach {
                        handle,
                        closed: d.closed,
                        error: None,
                    },
                );
                cx.events.push_back(Event::LinkDetached {
                    link: id,
                    closed: d.closed,
                    by_peer: true,
                    error: d.error,
                    lost,
                });
            }
        }
        Ok(())
    }

    /// Our END frame.
    pub(super) fn end_frame(&self) -> End {
        End {
            error: self.end_error.clone(),
        }
    }

    pub(super) fn link(&self, handle: u32, gen: u32) -> Option<&Link> {
        self.links.get(&handle).filter(|l| l.gen == gen)
    }

    /// Sends queued or in flight on a link.
    pub(super) fn queued(&self, handle: u32) -> usize {
        let in_flight = self.sending.iter().filter(|d| d.handle == handle).count();
        self.links
            .get(&handle)
            .map_or(0, |l| l.queued().saturating_add(in_flight))
    }

    /// Unsettled sends of a link (outcome not yet known).
    pub(super) fn unsettled_sends(&self, handle: u32) -> usize {
        self.out_unsettled
            .values()
            .filter(|(h, _)| *h == handle)
            .count()
    }

    /// Deliveries received on a link and not yet settled.
    pub(super) fn unsettled_receipts(&self, handle: u32) -> usize {
        self.in_unsettled.values().filter(|h| **h == handle).count()
    }
}

/// Encodes a frame body the host supplied parts of, so that an unencodable one is refused as a
/// command error instead of silently dropped later.
fn check_encodes<T: crate::Encode>(v: &T) -> Result<(), CommandError> {
    let mut scratch = Vec::new();
    v.encode(&mut scratch)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic_wraps() {
        assert_eq!(in_flight(5, 3), Some(2));
        assert_eq!(in_flight(3, 5), None);
        assert_eq!(in_flight(1, u32::MAX), Some(2));
        assert_eq!(in_flight(7, 7), Some(0));
    }

    #[test]
    fn ranges_wrap_around_zero() {
        let mut m = VecMap::new();
        for k in [0u32, 1, 7, u32::MAX - 1, u32::MAX] {
            m.insert(k, ());
        }
        assert_eq!(range_ids(&m, 1, 7), alloc::vec![1, 7]);
        assert_eq!(
            range_ids(&m, u32::MAX - 1, 1),
            alloc::vec![u32::MAX - 1, u32::MAX, 0, 1]
        );
    }
}

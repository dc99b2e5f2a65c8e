//! The cloud pane: the live D2C feed from the service API and the C2D send form.

use std::rc::Rc;

use hubwire_iothub::message::Ack;
use yew::Reducible;

use super::draft::{Draft, DraftEdit};
use crate::types::EventRecord;

/// How many D2C events the feed keeps.
pub const MAX_EVENTS: usize = 200;
/// How many C2D send results the pane keeps.
pub const MAX_C2D_SENDS: usize = 20;

/// Acknowledgement choices offered by the C2D form, in display order.
pub const ACK_CHOICES: [Ack; 4] = [Ack::None, Ack::Positive, Ack::Negative, Ack::Full];

/// How the D2C feed is being received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FeedStatus {
    /// Not running (no devhub).
    #[default]
    Idle,
    /// Loading the backlog / opening the stream.
    Connecting,
    /// Server-Sent Events stream open.
    Live,
    /// The stream is unavailable; polling `/api/events?since=` instead.
    Polling {
        /// Why the stream was given up.
        reason: String,
    },
    /// Nothing works; the reason for the user.
    Failed(String),
}

/// How one C2D send ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum C2dOutcome {
    /// Request in flight.
    Pending,
    /// Queued by the hub.
    Queued {
        /// Message id the hub used.
        message_id: String,
        /// Queue sequence number.
        sequence_number: u64,
    },
    /// Refused or not sent.
    Failed(String),
}

/// One C2D send as listed in the pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct C2dRecord {
    /// Local id.
    pub id: u64,
    /// Target device.
    pub device_id: String,
    /// Result.
    pub outcome: C2dOutcome,
}

/// Everything the cloud pane shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudState {
    /// Feed status.
    pub feed: FeedStatus,
    /// D2C events, newest first.
    pub events: Vec<EventRecord>,
    /// Highest sequence number seen: the `since=` of the next poll.
    pub last_seq: u64,
    /// Events up to this sequence number were cleared by the user and stay hidden.
    pub cleared_through: u64,
    /// Target device of the C2D form.
    pub c2d_device: String,
    /// Requested feedback.
    pub c2d_ack: Ack,
    /// C2D composer.
    pub c2d_draft: Draft,
    /// Why the last C2D send was refused before it was made.
    pub c2d_error: Option<String>,
    /// C2D sends, newest first.
    pub c2d_sends: Vec<C2dRecord>,
}

impl Default for CloudState {
    fn default() -> Self {
        Self {
            feed: FeedStatus::Idle,
            events: Vec::new(),
            last_seq: 0,
            cleared_through: 0,
            c2d_device: String::new(),
            c2d_ack: Ack::None,
            c2d_draft: Draft::new("{\"command\": \"blink\"}", super::draft::JSON),
            c2d_error: None,
            c2d_sends: Vec::new(),
        }
    }
}

/// Everything that changes [`CloudState`].
#[derive(Clone, Debug, PartialEq)]
pub enum CloudAction {
    /// The hub changed: forget its events.
    Reset,
    /// Feed status changed.
    Feed(FeedStatus),
    /// Events arrived (backlog, stream or poll), oldest first.
    Events(Vec<EventRecord>),
    /// Empty the feed (new events keep arriving).
    ClearEvents,
    /// Choose the C2D target.
    SetDevice(String),
    /// Choose the feedback.
    SetAck(Ack),
    /// Edit the C2D composer.
    Draft(DraftEdit),
    /// Send was refused before the request.
    SendRejected(String),
    /// A C2D request was made.
    SendStarted {
        /// Local id.
        id: u64,
        /// Target device.
        device_id: String,
    },
    /// A C2D request finished.
    SendFinished {
        /// Local id.
        id: u64,
        /// Result (never `Pending`).
        outcome: C2dOutcome,
    },
}

impl CloudState {
    /// Applies one action.
    pub fn apply(&mut self, action: CloudAction) {
        match action {
            CloudAction::Reset => {
                self.feed = FeedStatus::Idle;
                self.events.clear();
                self.last_seq = 0;
                self.cleared_through = 0;
            }
            CloudAction::Feed(feed) => self.feed = feed,
            CloudAction::Events(batch) => {
                for event in batch {
                    // The backlog, the stream and polls overlap and may interleave: keep the
                    // list sorted by sequence number (newest first) and drop duplicates.
                    if event.seq <= self.cleared_through {
                        continue;
                    }
                    let seq = event.seq;
                    match self.events.binary_search_by(|e| seq.cmp(&e.seq)) {
                        Ok(_) => continue,
                        Err(position) => self.events.insert(position, event),
                    }
                    self.last_seq = self.last_seq.max(seq);
                }
                self.events.truncate(MAX_EVENTS);
            }
            CloudAction::ClearEvents => {
                self.events.clear();
                self.cleared_through = self.last_seq;
            }
            CloudAction::SetDevice(id) => {
                self.c2d_device = id;
                self.c2d_error = None;
            }
            CloudAction::SetAck(ack) => self.c2d_ack = ack,
            CloudAction::Draft(edit) => {
                self.c2d_draft.apply(edit);
                self.c2d_error = None;
            }
            CloudAction::SendRejected(reason) => self.c2d_error = Some(reason),
            CloudAction::SendStarted { id, device_id } => {
                self.c2d_error = None;
                self.c2d_sends.insert(
                    0,
                    C2dRecord {
                        id,
                        device_id,
                        outcome: C2dOutcome::Pending,
                    },
                );
                self.c2d_sends.truncate(MAX_C2D_SENDS);
            }
            CloudAction::SendFinished { id, outcome } => {
                if let Some(record) = self.c2d_sends.iter_mut().find(|r| r.id == id) {
                    record.outcome = outcome;
                }
            }
        }
    }
}

impl Reducible for CloudState {
    type Action = CloudAction;

    fn reduce(self: Rc<Self>, action: CloudAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, device: &str) -> EventRecord {
        EventRecord {
            seq,
            device_id: device.into(),
            protocol: "mqtt".into(),
            enqueued_time_utc: String::new(),
            body: Some(format!("body {seq}")),
            body_base64: None,
            system_properties: Vec::new(),
            properties: Vec::new(),
            wire_bytes: None,
        }
    }

    #[test]
    fn events_are_deduplicated_by_sequence_and_listed_newest_first() {
        let mut state = CloudState::default();
        state.apply(CloudAction::Events(vec![event(1, "a"), event(2, "b")]));
        // The stream repeats 2 and brings 3.
        state.apply(CloudAction::Events(vec![event(2, "b"), event(3, "a")]));
        let seqs: Vec<u64> = state.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 2, 1]);
        assert_eq!(state.last_seq, 3);
    }

    #[test]
    fn a_backlog_arriving_after_newer_stream_events_is_merged_in_order() {
        let mut state = CloudState::default();
        state.apply(CloudAction::Events(vec![event(10, "live")]));
        state.apply(CloudAction::Events(vec![
            event(8, "old"),
            event(9, "old"),
            event(10, "live"),
        ]));
        let seqs: Vec<u64> = state.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![10, 9, 8]);
        assert_eq!(state.last_seq, 10);
    }

    #[test]
    fn the_feed_is_bounded() {
        let mut state = CloudState::default();
        let batch: Vec<EventRecord> = (1..=(MAX_EVENTS as u64 + 50))
            .map(|s| event(s, "d"))
            .collect();
        state.apply(CloudAction::Events(batch));
        assert_eq!(state.events.len(), MAX_EVENTS);
        assert_eq!(state.events[0].seq, MAX_EVENTS as u64 + 50);
    }

    #[test]
    fn clearing_keeps_the_position_and_reset_forgets_it() {
        let mut state = CloudState::default();
        state.apply(CloudAction::Events(vec![event(5, "d")]));
        state.apply(CloudAction::ClearEvents);
        state.apply(CloudAction::Events(vec![event(5, "d")]));
        assert!(
            state.events.is_empty(),
            "a cleared event does not come back"
        );
        state.apply(CloudAction::Reset);
        assert_eq!(state.last_seq, 0);
        assert_eq!(state.feed, FeedStatus::Idle);
        state.apply(CloudAction::Events(vec![event(1, "other hub")]));
        assert_eq!(state.events.len(), 1);
    }

    #[test]
    fn c2d_sends_resolve_by_id() {
        let mut state = CloudState::default();
        state.apply(CloudAction::SendStarted {
            id: 1,
            device_id: "d1".into(),
        });
        state.apply(CloudAction::SendStarted {
            id: 2,
            device_id: "d2".into(),
        });
        state.apply(CloudAction::SendFinished {
            id: 1,
            outcome: C2dOutcome::Queued {
                message_id: "m".into(),
                sequence_number: 9,
            },
        });
        state.apply(CloudAction::SendFinished {
            id: 2,
            outcome: C2dOutcome::Failed("HTTP 403: queue full".into()),
        });
        assert_eq!(state.c2d_sends[0].device_id, "d2");
        assert_eq!(
            state.c2d_sends[0].outcome,
            C2dOutcome::Failed("HTTP 403: queue full".into())
        );
        assert_eq!(
            state.c2d_sends[1].outcome,
            C2dOutcome::Queued {
                message_id: "m".into(),
                sequence_number: 9
            }
        );
    }

    #[test]
    fn form_edits_clear_a_rejection() {
        let mut state = CloudState::default();
        state.apply(CloudAction::SendRejected("choose a device".into()));
        state.apply(CloudAction::SetDevice("d1".into()));
        assert_eq!(state.c2d_error, None);
        state.apply(CloudAction::SetAck(Ack::Full));
        assert_eq!(state.c2d_ack, Ack::Full);
    }
}

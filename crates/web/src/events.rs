//! Status and traffic counters shared between a client's background task and its API
//! handles, and the [`StatusEvents`] stream (MQTT and HTTPS alike).

use core::cell::RefCell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::StreamExt;
use hubwire_mqtt::Stats;

use crate::error::ClientError;
use crate::status::{ConnectionStatus, WireStats};

/// State shared between the background task and the API handles.
pub(crate) struct Shared {
    pub(crate) stats: WireStats,
    pub(crate) status: ConnectionStatus,
    listeners: Vec<mpsc::UnboundedSender<ConnectionStatus>>,
    /// MQTT packet counters of connections that have ended (the core resets per connection).
    #[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
    pub(crate) base: Stats,
}

impl Shared {
    pub(crate) fn new() -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Self {
            stats: WireStats::default(),
            status: ConnectionStatus::Connecting,
            listeners: Vec::new(),
            base: Stats::default(),
        }))
    }

    /// Records and announces a status.
    pub(crate) fn set_status(&mut self, status: ConnectionStatus) {
        self.listeners
            .retain(|l| l.unbounded_send(status.clone()).is_ok());
        self.status = status;
    }

    /// Ends the status streams (after a terminal status, which is the last one).
    pub(crate) fn close_listeners(&mut self) {
        self.listeners.clear();
    }

    /// A stream of status changes, starting with the current status.
    pub(crate) fn listen(&mut self) -> mpsc::UnboundedReceiver<ConnectionStatus> {
        let (tx, rx) = mpsc::unbounded();
        // Only fails if the receiver is gone, and it is right here.
        let _ = tx.unbounded_send(self.status.clone());
        if !self.status.is_terminal() {
            self.listeners.push(tx);
        }
        rx
    }

    /// The error a request gets once the task has stopped.
    pub(crate) fn final_error(&self) -> ClientError {
        match &self.status {
            ConnectionStatus::Failed { reason } => reason.clone(),
            _ => ClientError::Closed,
        }
    }
}

/// Stream of [`ConnectionStatus`] changes, starting with the status at subscription time and
/// ending after a terminal status (`Disconnected` or `Failed`).
#[derive(Debug)]
pub struct StatusEvents(mpsc::UnboundedReceiver<ConnectionStatus>);

impl StatusEvents {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ConnectionStatus>) -> Self {
        Self(rx)
    }
}

impl futures::Stream for StatusEvents {
    type Item = ConnectionStatus;

    fn poll_next(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<ConnectionStatus>> {
        self.0.poll_next_unpin(cx)
    }
}

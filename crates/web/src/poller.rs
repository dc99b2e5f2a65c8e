//! The HTTPS C2D poller: one task per client follows a [`PollSchedule`], drains the queue in
//! each cycle, hands messages to the client's stream, and answers `poll_now`, `start`,
//! `stop`, settlement and `close` requests, also while a cycle is in progress.

use core::cell::RefCell;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};

use crate::device::ReceivedMessage;
use crate::error::{ClientError, SettleError};
use crate::fetch::HttpCore;
use crate::https::Settle;
use crate::poll::{Drain, PollSchedule, Retry};
use crate::status::{ConnectionStatus, ReconnectReason};
use crate::sys;

/// Result of one requested cycle: the number of messages it received.
pub(crate) type PollResult = Result<u32, ClientError>;

/// A request to the poller task.
pub(crate) enum PollCmd {
    /// Run a cycle at once (after the current one).
    PollNow { reply: oneshot::Sender<PollResult> },
    /// The schedule was changed by the client handle (start, stop): re-arm the timer.
    Wake,
    /// Settle a received message.
    Settle {
        lock_token: String,
        op: Settle,
        reply: oneshot::Sender<Result<(), SettleError>>,
    },
    /// Stop the task; `reply` (if any) fires when it has stopped.
    Close { reply: Option<oneshot::Sender<()>> },
}

/// The task's side of the command channel, also handed to received messages so they can be
/// settled without holding the client.
pub(crate) type PollSender = mpsc::UnboundedSender<PollCmd>;

enum Flow {
    Go,
    Close,
}

struct Poller {
    core: Rc<HttpCore>,
    schedule: Rc<RefCell<PollSchedule>>,
    cmds: mpsc::UnboundedReceiver<PollCmd>,
    /// Given to each received message for its settlement.
    settler: PollSender,
    messages: mpsc::UnboundedSender<ReceivedMessage>,
    random: Rc<dyn Fn() -> f64>,
    /// Resolved once, by the first cycle.
    ready: Option<oneshot::Sender<Result<(), ClientError>>>,
    /// `poll_now` callers waiting for the next cycle.
    waiting: Vec<oneshot::Sender<PollResult>>,
    closing: Vec<oneshot::Sender<()>>,
}

/// Starts the poller and runs its first cycle; resolves when that cycle ended (its failure
/// is returned as is, like a refused first connection).
pub(crate) async fn start(
    core: Rc<HttpCore>,
    schedule: Rc<RefCell<PollSchedule>>,
    messages: mpsc::UnboundedSender<ReceivedMessage>,
    random: Rc<dyn Fn() -> f64>,
) -> Result<PollSender, ClientError> {
    let (tx, rx) = mpsc::unbounded();
    let (ready_tx, ready_rx) = oneshot::channel();
    let poller = Poller {
        core,
        schedule,
        cmds: rx,
        settler: tx.clone(),
        messages,
        random,
        ready: Some(ready_tx),
        waiting: Vec::new(),
        closing: Vec::new(),
    };
    wasm_bindgen_futures::spawn_local(poller.run());
    match ready_rx.await {
        Ok(Ok(())) => Ok(tx),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ClientError::Closed),
    }
}

impl Poller {
    async fn run(mut self) {
        self.schedule.borrow_mut().start(sys::now());
        loop {
            if self.core.shared().borrow().status.is_terminal() {
                break;
            }
            let due = self.schedule.borrow().is_due(sys::now());
            if due {
                match self.cycle().await {
                    Flow::Go => continue,
                    Flow::Close => break,
                }
            }
            let next = self.schedule.borrow().next_poll_at();
            let cmd = futures::select_biased! {
                c = self.cmds.next() => Some(c),
                () = sys::sleep_until(next).fuse() => None,
            };
            if let Some(cmd) = cmd {
                if let Flow::Close = self.command(cmd) {
                    break;
                }
            }
        }
        self.shutdown();
    }

    /// Handles a request; `Close` (or every sender gone) ends the task.
    fn command(&mut self, cmd: Option<PollCmd>) -> Flow {
        let now = sys::now();
        match cmd {
            None => return Flow::Close,
            Some(PollCmd::PollNow { reply }) => {
                self.waiting.push(reply);
                self.schedule.borrow_mut().poll_now(now);
            }
            Some(PollCmd::Wake) => {}
            Some(PollCmd::Settle {
                lock_token,
                op,
                reply,
            }) => {
                // Settlements run beside the poll, each as its own request.
                let core = Rc::clone(&self.core);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = reply.send(core.settle(&lock_token, op).await);
                });
            }
            Some(PollCmd::Close { reply }) => {
                self.closing.extend(reply);
                return Flow::Close;
            }
        }
        Flow::Go
    }

    /// One cycle: GET until `204` (or the per-cycle cap), then schedule the next one.
    async fn cycle(&mut self) -> Flow {
        self.schedule.borrow_mut().begin_cycle();
        let current = core::mem::take(&mut self.waiting);
        let outcome = loop {
            let core = Rc::clone(&self.core);
            let mut get = Box::pin(async move { core.receive().await }.fuse());
            let received = loop {
                let step = futures::select_biased! {
                    r = get => Ok(r),
                    c = self.cmds.next() => Err(c),
                };
                match step {
                    Ok(r) => break r,
                    Err(cmd) => {
                        if let Flow::Close = self.command(cmd) {
                            for reply in current {
                                let _ = reply.send(Err(ClientError::Closed));
                            }
                            return Flow::Close;
                        }
                    }
                }
            };
            match received {
                Ok(Some((message, lock_token))) => {
                    let handle = ReceivedMessage::http(message, lock_token, self.settler.clone());
                    // No receiver left means nobody reads messages; the lock expires and the
                    // hub delivers the message again later.
                    let _ = self.messages.unbounded_send(handle);
                    if self.schedule.borrow_mut().on_message() == Drain::Stop {
                        break Ok(());
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let now = sys::now();
        match outcome {
            Ok(()) => {
                let n = self.schedule.borrow_mut().cycle_done(now);
                for reply in current {
                    let _ = reply.send(Ok(n));
                }
                let mut sh = self.core.shared().borrow_mut();
                if let Some(ready) = self.ready.take() {
                    sh.stats.connects += 1;
                    sh.set_status(ConnectionStatus::Connected);
                    let _ = ready.send(Ok(()));
                } else if !matches!(sh.status, ConnectionStatus::Connected) {
                    sh.stats.connects += 1;
                    sh.set_status(ConnectionStatus::Connected);
                }
                Flow::Go
            }
            Err(e) => {
                // A `poll_now` that arrived during this cycle gets this failure too.
                for reply in current.into_iter().chain(self.waiting.drain(..)) {
                    let _ = reply.send(Err(e.clone()));
                }
                if let Some(ready) = self.ready.take() {
                    // The first cycle failed: report it to `connect()` instead of retrying.
                    self.fail(e.clone());
                    let _ = ready.send(Err(e));
                    return Flow::Close;
                }
                if !e.is_transient() {
                    self.fail(e);
                    return Flow::Close;
                }
                let retry_after = match &e {
                    ClientError::Http(h) => h.retry_after(),
                    _ => None,
                };
                let retry =
                    self.schedule
                        .borrow_mut()
                        .cycle_failed(now, retry_after, (self.random)());
                match retry {
                    Retry::After { attempt, delay } => {
                        let mut sh = self.core.shared().borrow_mut();
                        sh.stats.reconnect_attempts += 1;
                        sh.set_status(ConnectionStatus::Reconnecting {
                            attempt,
                            next_try_in: delay,
                            reason: ReconnectReason::ConnectionLost(e),
                        });
                        Flow::Go
                    }
                    Retry::GiveUp { attempts } => {
                        let enabled = self.schedule.borrow().backoff().enabled;
                        self.fail(if enabled {
                            ClientError::RetriesExhausted {
                                attempts,
                                last: Box::new(e),
                            }
                        } else {
                            e
                        });
                        Flow::Close
                    }
                    // Stopped: the failure went to the `poll_now` caller; nothing is scheduled.
                    _ => Flow::Go,
                }
            }
        }
    }

    fn fail(&self, reason: ClientError) {
        let mut sh = self.core.shared().borrow_mut();
        if !sh.status.is_terminal() {
            sh.set_status(ConnectionStatus::Failed { reason });
        }
    }

    /// After the loop: final status, then answer everything still waiting.
    fn shutdown(&mut self) {
        {
            let mut sh = self.core.shared().borrow_mut();
            if !sh.status.is_terminal() {
                sh.set_status(ConnectionStatus::Disconnected);
            }
            sh.close_listeners();
        }
        self.schedule.borrow_mut().stop();
        let error = self.core.shared().borrow().final_error();
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        for reply in self.waiting.drain(..) {
            let _ = reply.send(Err(error.clone()));
        }
        self.cmds.close();
        while let Ok(cmd) = self.cmds.try_recv() {
            match cmd {
                PollCmd::PollNow { reply } => {
                    let _ = reply.send(Err(error.clone()));
                }
                PollCmd::Settle { reply, .. } => {
                    let _ = reply.send(Err(SettleError::Closed));
                }
                PollCmd::Close { reply } => self.closing.extend(reply),
                PollCmd::Wake => {}
            }
        }
        for reply in self.closing.drain(..) {
            let _ = reply.send(());
        }
    }
}

//! Hooks that keep hub data and the D2C feed in step with the hub URL. Each effect is keyed on
//! the state it serves and tears down what it started.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::services::events::{self, EventStream, StreamSignal};
use crate::services::{devices, hub};
use crate::state::cloud::{CloudAction, CloudState, FeedStatus};
use crate::state::hub::{HubAction, HubState};
use crate::state::hub_url::HubUrl;

/// How often the device list is refreshed (connected flags, queued C2D counts).
const DEVICE_REFRESH_MS: u32 = 5_000;
/// Poll interval when the event stream is unavailable.
const POLL_MS: u32 = 1_000;

/// Loads `/api/hub` whenever the URL changes and `/api/devices` whenever the hub state asks for
/// it, and refreshes the device list periodically.
#[hook]
pub(crate) fn use_hub_loader(hub_state: &UseReducerHandle<HubState>) {
    let url = hub_state.url.clone();
    {
        let dispatch = hub_state.dispatcher();
        let epoch = hub_state.url_epoch;
        use_effect_with((url.clone(), epoch), move |(url, epoch)| {
            if let Some(url) = url.clone() {
                let epoch = *epoch;
                spawn_local(async move {
                    let result = hub::info(&url).await.map_err(|e| e.to_string());
                    dispatch.dispatch(HubAction::InfoLoaded { epoch, result });
                });
            }
        });
    }
    {
        let dispatch = hub_state.dispatcher();
        let epoch = hub_state.epoch;
        use_effect_with((url.clone(), epoch), move |(url, epoch)| {
            if let Some(url) = url.clone() {
                let epoch = *epoch;
                spawn_local(async move {
                    let result = devices::list(&url).await.map_err(|e| e.to_string());
                    dispatch.dispatch(HubAction::DevicesLoaded { epoch, result });
                });
            }
        });
    }
    {
        let dispatch = hub_state.dispatcher();
        use_effect_with(url, move |url| {
            let interval = url.is_some().then(|| {
                Interval::new(DEVICE_REFRESH_MS, move || {
                    dispatch.dispatch(HubAction::RefreshDevices)
                })
            });
            // Dropping the interval cancels it.
            move || drop(interval)
        });
    }
}

/// Keeps the cloud pane's D2C feed running while `url` is a devhub: the backlog from
/// `/api/events?since=`, then the SSE stream; polling if the stream cannot be used.
#[hook]
pub(crate) fn use_event_feed(
    url: Option<HubUrl>,
    enabled: bool,
    cloud: UseReducerDispatcher<CloudState>,
) {
    use_effect_with((url, enabled), move |(url, enabled)| {
        cloud.dispatch(CloudAction::Reset);
        let alive = Rc::new(Cell::new(true));
        let stream: Rc<RefCell<Option<EventStream>>> = Rc::new(RefCell::new(None));
        if let (Some(url), true) = (url.clone(), *enabled) {
            cloud.dispatch(CloudAction::Feed(FeedStatus::Connecting));
            let feed = Feed {
                url,
                alive: alive.clone(),
                since: Rc::new(Cell::new(0)),
                polling: Rc::new(Cell::new(false)),
                cloud: cloud.clone(),
            };
            match EventStream::open(&feed.url, feed.signal_handler()) {
                Ok(open) => *stream.borrow_mut() = Some(open),
                Err(e) => feed.start_polling(e.to_string()),
            }
        }
        move || {
            alive.set(false);
            // Closes the EventSource; the stream never drops itself from inside a callback.
            stream.borrow_mut().take();
        }
    });
}

/// The running feed's shared pieces.
#[derive(Clone)]
struct Feed {
    url: HubUrl,
    /// Cleared by the effect's teardown; background loops stop when they see it.
    alive: Rc<Cell<bool>>,
    /// Highest sequence number fetched so far.
    since: Rc<Cell<u64>>,
    polling: Rc<Cell<bool>>,
    cloud: UseReducerDispatcher<CloudState>,
}

impl Feed {
    fn signal_handler(&self) -> Callback<StreamSignal> {
        let feed = self.clone();
        Callback::from(move |signal| {
            if !feed.alive.get() || feed.polling.get() {
                return;
            }
            match signal {
                StreamSignal::Open => {
                    feed.cloud.dispatch(CloudAction::Feed(FeedStatus::Live));
                    // Events stored while the stream was not open arrive only this way.
                    let backlog = feed.clone();
                    spawn_local(async move {
                        let _ = backlog.fetch_backlog().await;
                    });
                }
                StreamSignal::Event(event) => {
                    feed.since.set(feed.since.get().max(event.seq));
                    feed.cloud.dispatch(CloudAction::Events(vec![*event]));
                }
                StreamSignal::Garbled(reason) => {
                    console_warn(&format!("unreadable stream event: {reason}"));
                }
                StreamSignal::Retrying => {
                    feed.cloud
                        .dispatch(CloudAction::Feed(FeedStatus::Connecting));
                }
                StreamSignal::Closed => feed.start_polling("the event stream closed".into()),
            }
        })
    }

    async fn fetch_backlog(&self) -> Result<(), String> {
        let batch = events::since(&self.url, self.since.get())
            .await
            .map_err(|e| e.to_string())?;
        if !self.alive.get() {
            return Ok(());
        }
        if let Some(max) = batch.iter().map(|e| e.seq).max() {
            self.since.set(self.since.get().max(max));
        }
        if !batch.is_empty() {
            self.cloud.dispatch(CloudAction::Events(batch));
        }
        Ok(())
    }

    fn start_polling(&self, reason: String) {
        if self.polling.replace(true) {
            return;
        }
        let feed = self.clone();
        spawn_local(async move {
            feed.cloud.dispatch(CloudAction::Feed(FeedStatus::Polling {
                reason: reason.clone(),
            }));
            let mut failing = false;
            while feed.alive.get() {
                match feed.fetch_backlog().await {
                    Ok(()) if failing => {
                        failing = false;
                        feed.cloud.dispatch(CloudAction::Feed(FeedStatus::Polling {
                            reason: reason.clone(),
                        }));
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        failing = true;
                        if feed.alive.get() {
                            feed.cloud
                                .dispatch(CloudAction::Feed(FeedStatus::Failed(e)));
                        }
                    }
                    Err(_) => {}
                }
                TimeoutFuture::new(POLL_MS).await;
            }
        });
    }
}

/// Writes a diagnostic line to the browser console.
fn console_warn(line: &str) {
    web_sys::console::warn_1(&line.into());
}

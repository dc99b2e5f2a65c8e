//! The metrics hook: owns the metrics reducer, batches incoming samples and moves its clock.
//!
//! Samples arrive one by one from device sessions and in batches from the field gateway; they
//! are buffered and handed to the reducer every [`FLUSH_MS`], so a burst of hundreds of
//! messages a second costs a few renders. A tick every second moves the reducer's clock so
//! the messages-per-second window slides even when nothing arrives.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::gateway::now_ms;
use crate::state::metrics::{MetricsAction, MetricsState, Sample};

/// How often buffered samples reach the reducer.
const FLUSH_MS: u32 = 250;
/// Flushes per clock tick (one tick a second).
const FLUSHES_PER_TICK: u32 = 4;

/// What [`use_metrics`] returns.
#[derive(Clone)]
pub(crate) struct MetricsHandle {
    /// The measurements.
    pub(crate) state: UseReducerHandle<MetricsState>,
    /// Records one acknowledged message (device sessions).
    pub(crate) on_sample: Callback<Sample>,
    /// Records a batch (the field gateway).
    pub(crate) on_samples: Callback<Vec<Sample>>,
    /// Forgets everything measured.
    pub(crate) on_clear: Callback<()>,
    /// C2D sends and arrivals to time (few, so not batched).
    pub(crate) on_c2d: Callback<MetricsAction>,
}

/// The metrics reducer with batching and a one-second clock.
#[hook]
pub(crate) fn use_metrics() -> MetricsHandle {
    let state = use_reducer(MetricsState::default);
    let buffer: Rc<RefCell<Vec<Sample>>> = use_mut_ref(Vec::new);
    {
        let dispatch = state.dispatcher();
        let buffer = buffer.clone();
        use_effect_with((), move |_| {
            let mut flushes = 0u32;
            let interval = Interval::new(FLUSH_MS, move || {
                let batch = core::mem::take(&mut *buffer.borrow_mut());
                if !batch.is_empty() {
                    dispatch.dispatch(MetricsAction::Record(batch));
                }
                flushes += 1;
                if flushes % FLUSHES_PER_TICK == 0 {
                    dispatch.dispatch(MetricsAction::Tick { now_ms: now_ms() });
                }
            });
            // Dropping the interval cancels it.
            move || drop(interval)
        });
    }
    // Callbacks made once, so props holding them never change.
    let callbacks = use_memo((), {
        let buffer = buffer.clone();
        let dispatch = state.dispatcher();
        move |_| {
            let one = {
                let buffer = buffer.clone();
                Callback::from(move |s: Sample| buffer.borrow_mut().push(s))
            };
            let many = {
                let buffer = buffer.clone();
                Callback::from(move |s: Vec<Sample>| buffer.borrow_mut().extend(s))
            };
            let c2d = {
                let dispatch = dispatch.clone();
                Callback::from(move |a: MetricsAction| dispatch.dispatch(a))
            };
            let clear = Callback::from(move |()| {
                buffer.borrow_mut().clear();
                dispatch.dispatch(MetricsAction::Clear);
            });
            (one, many, clear, c2d)
        }
    });
    MetricsHandle {
        state,
        on_sample: callbacks.0.clone(),
        on_samples: callbacks.1.clone(),
        on_clear: callbacks.2.clone(),
        on_c2d: callbacks.3.clone(),
    }
}

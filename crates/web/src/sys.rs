//! Browser clock, randomness and timers.

use core::time::Duration;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // `performance` is a global in windows and workers alike, so no `window()` lookup.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Monotonic time since the page started (`performance.now()`), the clock of the protocol
/// cores.
pub(crate) fn now() -> Duration {
    let ms = performance_now();
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

/// Wall-clock Unix time in whole seconds (`Date.now()`), for SAS token expiry.
pub(crate) fn unix_secs() -> u64 {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        // Truncation to whole seconds is intended.
        (ms / 1000.0) as u64
    } else {
        0
    }
}

/// Uniform in `[0, 1)` from `Math.random()`.
pub(crate) fn random() -> f64 {
    js_sys::Math::random()
}

/// Longest single timer. `setTimeout` overflows above 2^31-1 ms; callers re-check their
/// deadline after waking, so a capped sleep is harmless.
const MAX_SLEEP_MS: u32 = 3_600_000;

/// Sleeps for `d` (capped at one hour; the caller loops).
pub(crate) fn sleep(d: Duration) -> gloo_timers::future::TimeoutFuture {
    let ms = u32::try_from(d.as_millis())
        .unwrap_or(MAX_SLEEP_MS)
        .min(MAX_SLEEP_MS);
    gloo_timers::future::TimeoutFuture::new(ms)
}

/// Sleeps until the monotonic `deadline` (or about an hour when there is none).
pub(crate) fn sleep_until(deadline: Option<Duration>) -> gloo_timers::future::TimeoutFuture {
    match deadline {
        Some(at) => {
            // Round up so the timer never fires just before the deadline and spins.
            let left = at
                .saturating_sub(now())
                .saturating_add(Duration::from_millis(1));
            sleep(left)
        }
        None => sleep(Duration::from_millis(MAX_SLEEP_MS.into())),
    }
}

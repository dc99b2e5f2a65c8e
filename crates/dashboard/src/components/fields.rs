//! Event helpers shared by the views.

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::{Callback, Event, InputEvent, SubmitEvent, TargetCast};

/// An element id: the pane's prefix and a suffix. A plain concatenation, not `format!`: the
/// views build dozens of ids, and each `format!` call site costs more code than this call.
pub(crate) fn id(prefix: &str, suffix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + suffix.len());
    id.push_str(prefix);
    id.push_str(suffix);
    id
}

/// The current value of the input, textarea or select an event came from.
fn value_of<E: TargetCast>(event: &E) -> Option<String> {
    if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
        return Some(input.value());
    }
    if let Some(area) = event.target_dyn_into::<HtmlTextAreaElement>() {
        return Some(area.value());
    }
    event
        .target_dyn_into::<HtmlSelectElement>()
        .map(|select| select.value())
}

/// `oninput` handler that forwards the field's new text.
pub(crate) fn on_text(callback: Callback<String>) -> Callback<InputEvent> {
    Callback::from(move |event: InputEvent| {
        if let Some(value) = value_of(&event) {
            callback.emit(value);
        }
    })
}

/// `onchange` handler (selects, radios) that forwards the element's value.
pub(crate) fn on_change(callback: Callback<String>) -> Callback<Event> {
    Callback::from(move |event: Event| {
        if let Some(value) = value_of(&event) {
            callback.emit(value);
        }
    })
}

/// `onsubmit` handler that keeps the page from navigating and runs `callback`.
pub(crate) fn on_submit(callback: Callback<()>) -> Callback<SubmitEvent> {
    Callback::from(move |event: SubmitEvent| {
        event.prevent_default();
        callback.emit(());
    })
}

/// `onchange` handler for a checkbox that forwards whether it is checked.
pub(crate) fn on_check(callback: Callback<bool>) -> Callback<Event> {
    Callback::from(move |event: Event| {
        if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
            callback.emit(input.checked());
        }
    })
}

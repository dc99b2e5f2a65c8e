//! The page's `localStorage`: read and write the settings text. Storage may be missing
//! (private mode, disabled, a sandboxed frame) or full; both only mean nothing is kept.

use crate::state::settings::STORAGE_KEY;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored settings text, if any.
pub(crate) fn load() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok().flatten()
}

/// Stores the settings text (failures are ignored: the page works without storage).
pub(crate) fn save(text: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(STORAGE_KEY, text);
    }
}

//! Entry point Trunk builds: mounts the dashboard.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
fn main() {
    hubwire_dashboard::run();
}

/// The dashboard only runs in a browser; a native build exists so `cargo test` covers the
/// state and views.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("hubwire-dashboard runs in the browser: build it with `trunk build --release`");
}

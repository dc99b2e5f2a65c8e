//! hubwire-dashboard
#![forbid(unsafe_code)]

//! hubwire-web
#![forbid(unsafe_code)]

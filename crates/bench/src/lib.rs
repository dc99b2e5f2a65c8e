//! hubwire-bench
#![forbid(unsafe_code)]

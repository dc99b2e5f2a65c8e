//! hubwire-iothub
#![forbid(unsafe_code)]

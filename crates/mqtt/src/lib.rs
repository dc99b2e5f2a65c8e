//! hubwire-mqtt
#![forbid(unsafe_code)]

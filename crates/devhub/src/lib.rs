//! devhub: a local Azure IoT Hub emulator.
#![forbid(unsafe_code)]

pub mod c2d;

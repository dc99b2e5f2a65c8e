//! devhub
#![forbid(unsafe_code)]

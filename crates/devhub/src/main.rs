//! The `devhub` command.
#![forbid(unsafe_code)]

fn main() {}

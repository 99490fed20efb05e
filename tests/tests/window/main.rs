//! End-to-end tests of the review window's contracts (issue 19), one test binary: the layout
//! `tessera screenshot --json` reports for many cameras at small and large window sizes, and
//! the labelled boxes drawn over a picture against `tessera hypertable query`.

#![allow(clippy::unwrap_used)]

mod boxes;
mod layout;

//! Tessera: review hundreds of hours of camera footage — the window and the command line.
//! Everything else (worker threads, timeline logic, trajectory projection, the export, frame
//! and timeline-image bodies) is the `tessera_engine` crate (app/engine), which both stand on
//! and which cannot reach back up into this one.
//!
//! - [`alloc_count`]: the counting allocator the benchmarks read.
//! - [`cli`]: the command line (argument parsing and printing; one module per subcommand group).
//! - [`demo`]: synthetic demo archives with real H.264.
//! - [`ui`]: the egui application.

pub mod alloc_count;
pub mod cli;
pub mod demo;
pub mod ui;

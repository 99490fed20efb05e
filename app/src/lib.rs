//! Tessera: review hundreds of hours of camera footage.
//!
//! - [`alloc_count`]: the counting allocator the benchmarks read.
//! - [`cli`]: the command line (one module per subcommand group).
//! - [`demo`]: synthetic demo archives with real H.264.
//! - [`sky`]: sky-facing cameras: the camera file, aircraft positions, projection.
//! - [`ui`]: the egui application.

pub mod alloc_count;
pub mod cli;
pub mod demo;
pub mod engine;
pub mod output;
pub mod sky;
pub mod timeline;
pub mod ui;

//! End-to-end tests of issue 17's trust boundaries, one test binary (each binary links the
//! whole app, so one link instead of five): hostile names, overlapping imports, manifests and
//! read-only catalogs, failed populations, damaged feder day files.

mod catalog;
mod import;
mod names;
mod populate;
mod traj;

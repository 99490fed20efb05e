//! Non-UI work on named worker threads, talked to through bounded channels.
//!
//! - [`tile_feed`]: answers tile requests from the event database for the timeline.

pub mod tile_feed;

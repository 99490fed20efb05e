//! Storage-budget sweeper: over 99 % of the budget, delete the globally oldest closed logical
//! file (every track's index and packets) until at or below 98 %. The live file of a stream
//! is never deleted, and neither is a stream directory (cyclops' `RemoveAll` bug).

use super::{Archive, FsvError};
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub deleted: Vec<PathBuf>,
}

/// Sweep `archive` to `budget_bytes`. `live` names `(stream, start_ms)` files being written;
/// the latest file of every stream is also treated as live when `latest_is_live`.
pub fn sweep(
    archive: &mut Archive,
    budget_bytes: u64,
    live: &HashSet<(String, i64)>,
    latest_is_live: bool,
) -> Result<SweepReport, FsvError> {
    let total: u64 = archive.streams.values().map(|s| s.bytes()).sum();
    let mut report = SweepReport { bytes_before: total, bytes_after: total, deleted: Vec::new() };
    if budget_bytes == 0 || u128::from(total) * 100 <= u128::from(budget_bytes) * 99 {
        return Ok(report);
    }
    let target = u128::from(budget_bytes) * 98;
    while u128::from(report.bytes_after) * 100 > target {
        // The globally oldest deletable file across all streams.
        let oldest = archive
            .streams
            .values()
            .flat_map(|s| {
                let last = s.files.len().saturating_sub(1);
                let deletable = move |(i, f): &(usize, &super::FileInfo)| {
                    let is_live = (latest_is_live && *i == last) || live.contains(&(s.name.clone(), f.start_ms));
                    !is_live
                };
                s.files.iter().enumerate().filter(deletable).map(move |(i, f)| (f.start_ms, s.name.clone(), i))
            })
            .min();
        let Some((_, name, i)) = oldest else { break };
        let Some(stream) = archive.streams.get_mut(&name) else { break };
        let file = stream.files.remove(i);
        for path in file.paths(&stream.dir) {
            match std::fs::remove_file(&path) {
                Ok(()) => report.deleted.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FsvError::io(path, e)),
            }
        }
        report.bytes_after -= file.bytes;
        if let Some(first) = stream.files.first() {
            stream.start_us = first.start_ms * 1000;
        } else {
            archive.streams.remove(&name);
        }
    }
    Ok(report)
}

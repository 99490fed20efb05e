//! `tessera bench follow`: what following an idle archive costs — the window's follow path
//! (the `archive-follow` thread, and a player per stream as the grid would hold them, each
//! looking at its stream) on an archive nothing writes, as CPU time of this process over wall
//! time. The target is under 1 % of a core for 64 streams.

use serde::Serialize;
use std::time::{Duration, Instant};
use tessera_engine::archive_loader::ArchiveFollower;
use tessera_engine::player::Player;
use tessera_storage::fsv::Archive;

#[derive(clap::Args, Debug)]
pub struct FollowBenchArgs {
    #[arg(long)]
    pub archive: std::path::PathBuf,
    /// Seconds to measure.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Players (one per stream, in name order; the window holds up to nine).
    #[arg(long, default_value_t = 9)]
    pub players: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Debug)]
pub struct FollowReport {
    pub streams: usize,
    pub players: usize,
    pub seconds: f64,
    /// CPU time of the process (every thread) over wall time, percent of one core.
    pub cpu_percent_of_a_core: f64,
}

pub fn run(args: &FollowBenchArgs) -> anyhow::Result<()> {
    let archive = Archive::open(&args.archive)?;
    let names: Vec<String> = archive.streams.keys().take(args.players).cloned().collect();
    let follower = ArchiveFollower::start(args.archive.clone(), || {})?;
    let players: Vec<Player> =
        names.iter().map(|s| Player::start(args.archive.clone(), s.clone())).collect::<Result<_, _>>()?;
    // Let the threads open their streams before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let (cpu0, wall0) = (cpu_seconds()?, Instant::now());
    let end = wall0 + Duration::from_secs(args.seconds.max(1));
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
        // Take the answers as the window does each frame (nothing should come: nothing writes).
        let _ = follower.answers().count();
        for p in &players {
            let _ = p.answers().count();
        }
    }
    let (cpu, wall) = (cpu_seconds()? - cpu0, wall0.elapsed().as_secs_f64());
    let report = FollowReport {
        streams: archive.streams.len(),
        players: players.len(),
        seconds: wall,
        cpu_percent_of_a_core: (cpu / wall * 1e4).round() / 100.0,
    };
    if args.json {
        return super::print_json(&report);
    }
    crate::cli::out!("{report:#?}")?;
    Ok(())
}

/// User + system CPU time of this process so far (`/proc/self/stat`, clock ticks of 1/100 s).
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces, inside parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    Ok((ticks(11) + ticks(12)) as f64 / 100.0)
}

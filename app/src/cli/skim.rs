//! `tessera skim --archive DIR --camera C[,C…] --from T --to T [--classes a,b] [--speed 1]
//! [--quiet-speed 32] [--pre-roll 2s] [--json]`: the skim plan of a range — where events of
//! those cameras and classes are (widened by the pre-roll before them) at `--speed`, the rest
//! at `--quiet-speed` — as `{"segments": [{"from_us", "to_us", "speed"}], "review_s": S}`.
//! The body is [`tessera_engine::skim`]; the GUI's Skim mode plays the same plan.
//!
//! A camera without events (or unknown to the archive) simply has none: its plan is quiet
//! throughout, as a camera whose events all lie elsewhere.

use std::collections::BTreeSet;
use std::path::PathBuf;
use tessera_engine::skim::{SkimSpec, plan};
use tessera_storage::{EventDb, UnixMicros};

#[derive(clap::Args, Debug)]
pub struct SkimArgs {
    #[arg(long)]
    pub archive: PathBuf,
    /// Cameras whose events count, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub camera: Vec<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub from: UnixMicros,
    #[arg(long, allow_hyphen_values = true)]
    pub to: UnixMicros,
    /// Classes whose events count, comma-separated (every class when omitted).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// Speed of the spans with events.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub speed: f64,
    /// Speed of the spans without.
    #[arg(long, default_value_t = 32.0, allow_hyphen_values = true)]
    pub quiet_speed: f64,
    /// Played before each event: `2s`, `500ms`, `1.5s`, `1m`, `0`.
    #[arg(long, default_value = "2s", value_parser = parse_duration_us)]
    pub pre_roll: i64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SkimArgs) -> anyhow::Result<()> {
    for camera in &args.camera {
        tessera_storage::names::check_name("--camera", camera).map_err(anyhow::Error::msg)?;
    }
    for class in args.classes.iter().flatten() {
        tessera_storage::names::check_name("--classes", class).map_err(anyhow::Error::msg)?;
    }
    let spec = SkimSpec {
        cameras: args.camera,
        from_us: args.from.0,
        to_us: args.to.0,
        classes: args.classes.map(|c| c.into_iter().collect::<BTreeSet<_>>()),
        speed: args.speed,
        quiet_speed: args.quiet_speed,
        preroll_us: args.pre_roll,
    };
    spec.check()?; // before opening anything: a bad spec names its field, whatever the archive
    let db = EventDb::open_read(&args.archive)?;
    let plan = plan(&db, &spec)?;
    if args.json {
        return crate::cli::print_json(&plan);
    }
    for s in &plan.segments {
        crate::cli::out!("{} → {}  {}×", UnixMicros(s.from_us), UnixMicros(s.to_us), s.speed)?;
    }
    crate::cli::out!("review {:.1} s", plan.review_s)?;
    Ok(())
}

/// A duration in microseconds with its unit (`2s`, `500ms`; `0` alone needs none).
pub fn parse_duration_us(text: &str) -> Result<i64, String> {
    super::duration::parse_us(text, false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration_us("2s"), Ok(2_000_000));
        assert_eq!(parse_duration_us("500ms"), Ok(500_000));
        assert_eq!(parse_duration_us("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration_us("0"), Ok(0));
        assert_eq!(parse_duration_us("0s"), Ok(0));
        assert_eq!(parse_duration_us("250us"), Ok(250));
        assert_eq!(parse_duration_us("1m"), Ok(60_000_000));
        assert_eq!(parse_duration_us("1h"), Ok(3_600_000_000));
        for bad in ["", "2", "s", "-2s", "2 s", "2x", "1e3s", "..s", "1.2.3s", "99999999999999999999h"] {
            assert!(parse_duration_us(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whole numbers of each unit round-trip; nothing panics on any text.
        #[test]
        fn durations_round_trip_and_never_panic(n in 0i64..1_000_000, unit in 0usize..4, junk in ".{0,12}") {
            let (suffix, scale) = [("us", 1), ("ms", 1_000), ("s", 1_000_000), ("m", 60_000_000)][unit];
            prop_assert_eq!(parse_duration_us(&format!("{n}{suffix}")), Ok(n * scale));
            let _ = parse_duration_us(&junk);
        }
    }
}

//! Import of an Annex-B H.264 or H.265 elementary stream into an archive stream (track
//! `video`).
//!
//! Access unit `k` gets `rel_ns = floor(k·1e9/fps)` after `--start`; the first file's time base
//! is the start. Input is read in 8 MiB chunks, so files of any size import in bounded memory.
//! Output goes through [`StreamWriter`], so a failed import leaves no archive file behind.
//!
//! The rate is 1/3600 … 1000 fps, and an import never shares time with a file already in its
//! stream (refused, naming that file): reads would have to pick one picture per time.
//!
//! [`Pace::Realtime`] (`import --realtime`) is a recorder instead: each access unit is written
//! when its time comes on the wall clock (the import's start is the stream's `--start`), into
//! files under their final names as cyclops writes them ([`StreamWriter::recording`]), so
//! readers follow the stream as it grows. It stops, keeping what it wrote, before it would
//! reach a file already in the stream.

use super::{AccessUnit, FsvError, StreamWriter};
use crate::codec::{self, AccessUnitSplitter, Codec, NalRole, ParameterSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How an import writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pace {
    /// As fast as it reads, published when complete (nothing left behind by a failure).
    #[default]
    AtOnce,
    /// Each access unit at `started + (its time − start)`, readable once written.
    Realtime { started: Instant },
}

/// A frame rate as an exact ratio (`25`, `29.97` → 2997/100, `30000/1001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    pub num: u64,
    pub den: u64,
}

/// The slowest and fastest `--fps` import accepts (see [`FrameRate::check`]).
const MIN_FPS: &str = "1/3600";
const MAX_FPS: &str = "1000";

impl FrameRate {
    /// `F` (at most 9 decimals) or `N/D`, within 1/3600 … 1000 fps.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("frame rate {text:?} is not a positive number or N/D");
        let (num, den) = if let Some((n, d)) = text.split_once('/') {
            (n.trim().parse::<u64>().map_err(|_| bad())?, d.trim().parse::<u64>().map_err(|_| bad())?)
        } else {
            let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) || (int.is_empty() && frac.is_empty()) {
                return Err(bad());
            }
            let den = 10u64.pow(frac.len() as u32);
            let int: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
            let frac: u64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
            (int.checked_mul(den).and_then(|v| v.checked_add(frac)).ok_or_else(bad)?, den)
        };
        if num == 0 || den == 0 {
            return Err(bad());
        }
        let rate = Self { num, den };
        rate.check().map_err(|e| format!("frame rate {text:?} {e}"))?;
        Ok(rate)
    }

    /// Cameras record between one frame an hour and 1000 fps: outside that, frame times
    /// collapse onto one tick or spread one file per frame over centuries.
    pub fn check(&self) -> Result<(), String> {
        let (num, den) = (u128::from(self.num), u128::from(self.den));
        if den == 0 || num * 3600 < den || num > den * 1000 {
            return Err(format!("is outside {MIN_FPS} … {MAX_FPS} fps"));
        }
        Ok(())
    }

    /// `floor(k · 1e9 / fps)`.
    pub fn offset_ns(&self, k: u64) -> i64 {
        (u128::from(k) * 1_000_000_000 * u128::from(self.den) / u128::from(self.num)) as i64
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub input_bytes: u64,
    pub access_units: u64,
    pub nalus: u64,
    pub files: usize,
    pub width: u32,
    pub height: u32,
}

const CHUNK: usize = 8 << 20;

/// Import H.264 `input` (named `input_name` in errors) into stream `stream` of the archive at `root`.
pub fn import_h264(
    root: &Path,
    stream: &str,
    start_us: i64,
    fps: FrameRate,
    input: &mut dyn Read,
    input_name: &Path,
) -> Result<ImportSummary, FsvError> {
    import_annex_b(root, stream, Codec::H264, start_us, fps, input, input_name)
}

/// Import an Annex-B stream of `codec`: the same timing and layout rules for both codecs.
pub fn import_annex_b(
    root: &Path,
    stream: &str,
    codec: Codec,
    start_us: i64,
    fps: FrameRate,
    input: &mut dyn Read,
    input_name: &Path,
) -> Result<ImportSummary, FsvError> {
    import_paced(root, stream, codec, start_us, fps, input, input_name, Pace::AtOnce)
}

/// [`import_annex_b`] at `pace`.
#[allow(clippy::too_many_arguments)]
pub fn import_paced(
    root: &Path,
    stream: &str,
    codec: Codec,
    start_us: i64,
    fps: FrameRate,
    input: &mut dyn Read,
    input_name: &Path,
    pace: Pace,
) -> Result<ImportSummary, FsvError> {
    if start_us < 1000 {
        // File names carry the start in ms, and a prefix of 0 (or less) is ignored by readers.
        return Err(FsvError::invalid(input_name, format!("start {start_us} µs is before 1970-01-01T00:00:00.001Z")));
    }
    fps.check().map_err(|e| FsvError::invalid(input_name, format!("--fps {}/{} {e}", fps.num, fps.den)))?;
    // Refuse early when the start is inside a file already there (the end is known last).
    let dir = root.join("fsv").join(stream);
    refuse_overlap(&dir, stream, start_us, start_us, input_name)?;
    let mut state = ImportState::new(codec, fps, i128::from(start_us) * 1000);
    let mut writer = match pace {
        Pace::AtOnce => StreamWriter::new(root, stream, codec)?,
        Pace::Realtime { started } => {
            let before = super::archive::next_file_start(&dir, start_us)?;
            state.clock = Some(Clock { started, start_us, before });
            StreamWriter::recording(root, stream, codec)?
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + (1 << 20));
    let mut seen_start = false;
    let mut eof = false;
    while !eof {
        let old = buf.len();
        buf.resize(old + CHUNK, 0);
        let n = read_full(input, &mut buf[old..]).map_err(|e| FsvError::io(input_name, e))?;
        buf.truncate(old + n);
        state.summary.input_bytes += n as u64;
        eof = n == 0;
        let starts: Vec<usize> = memchr::memmem::find_iter(&buf, &[0u8, 0, 1]).collect();
        if !seen_start {
            let Some(&first) = starts.first() else {
                if eof || buf.len() > 4096 {
                    return Err(FsvError::invalid(
                        input_name,
                        "not an Annex-B H.264 stream: no start code (00 00 01) found",
                    ));
                }
                continue;
            };
            if buf[..first].iter().any(|&b| b != 0) {
                return Err(FsvError::invalid(
                    input_name,
                    format!("not an Annex-B stream: {first} bytes of garbage before the first start code"),
                ));
            }
            seen_start = true;
        }
        // Every NALU followed by another start code is complete; at EOF the last one is too.
        let complete = if eof { starts.len() } else { starts.len().saturating_sub(1) };
        for k in 0..complete {
            let end = starts.get(k + 1).copied().unwrap_or(buf.len());
            let nalu = codec::trim_trailing_zeros(&buf[starts[k] + 3..end]);
            state.nalu(nalu, &mut writer, input_name)?;
        }
        if let Some(&keep) = starts.get(complete) {
            buf.drain(..keep);
        } else {
            buf.clear();
        }
    }
    state.finish_unit(&mut writer, input_name)?;
    if state.size.is_none() {
        return Err(FsvError::invalid(
            input_name,
            format!("no SPS found: not an {} stream (or one without parameter sets)", codec.name()),
        ));
    }
    let last_ns = state.start_ns + i128::from(fps.offset_ns(state.summary.access_units.saturating_sub(1)));
    let last_us = i64::try_from(last_ns.div_euclid(1000)).unwrap_or(i64::MAX);
    if pace == Pace::AtOnce {
        // (A recorder checked each unit against the next file as it wrote.)
        refuse_overlap(&dir, stream, start_us, last_us, input_name)?;
    }
    let files = writer.finish()?;
    state.summary.files = files.len() / 2;
    Ok(state.summary)
}

/// An import never shares time with a file of its stream: reads would have to pick one
/// picture per time (see `Stream::gop_at`), so one of them could not be reached by time.
fn refuse_overlap(dir: &Path, stream: &str, from_us: i64, to_us: i64, input: &Path) -> Result<(), FsvError> {
    let Some((file, a, b)) = super::archive::overlapping_file(dir, from_us, to_us)? else { return Ok(()) };
    let t = crate::UnixMicros;
    let ours = if from_us == to_us {
        format!("its start {} is inside", t(from_us))
    } else {
        format!("its frames ({} … {}) overlap", t(from_us), t(to_us))
    };
    Err(FsvError::invalid(
        input,
        format!(
            "{ours} {} ({} … {}) already in stream {stream}: refused (import into a gap or another stream)",
            file.display(),
            t(a),
            t(b)
        ),
    ))
}

/// A recorder's clock: when the import started, the stream time that is, and the next file
/// already in the stream (its start and index), which no unit may reach.
struct Clock {
    started: Instant,
    start_us: i64,
    before: Option<(i64, PathBuf)>,
}

impl Clock {
    /// Wait for the unit at `time_ns`'s moment; refuse it when it would reach the next file.
    fn wait_for(&self, time_ns: i64, input: &Path) -> Result<(), FsvError> {
        let time_us = time_ns.div_euclid(1000);
        if let Some((next_us, file)) = self.before.as_ref().filter(|(next_us, _)| time_us >= *next_us) {
            return Err(FsvError::invalid(
                input,
                format!(
                    "the frame at {} would reach {} (from {}) already in the stream: stopped there, the video \
                     before it is kept",
                    crate::UnixMicros(time_us),
                    file.display(),
                    crate::UnixMicros(*next_us)
                ),
            ));
        }
        let after = Duration::from_micros(u64::try_from(time_us - self.start_us).unwrap_or(0));
        let due = self.started + after;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        Ok(())
    }
}

struct ImportState {
    /// A recorder's pace (`None`: as fast as it reads).
    clock: Option<Clock>,
    fps: FrameRate,
    codec: Codec,
    start_ns: i128,
    splitter: AccessUnitSplitter,
    unit: AccessUnit,
    /// Access units before the first SPS: the file header needs its size first.
    pending: Vec<AccessUnit>,
    size: Option<(u16, u16)>,
    summary: ImportSummary,
}

impl Default for FrameRate {
    fn default() -> Self {
        Self { num: 1, den: 1 }
    }
}

impl ImportState {
    fn new(codec: Codec, fps: FrameRate, start_ns: i128) -> Self {
        Self {
            clock: None,
            fps,
            codec,
            start_ns,
            splitter: AccessUnitSplitter::new(codec),
            unit: AccessUnit::default(),
            pending: Vec::new(),
            size: None,
            summary: ImportSummary::default(),
        }
    }

    fn nalu(&mut self, nalu: &[u8], writer: &mut StreamWriter, input: &Path) -> Result<(), FsvError> {
        if nalu.is_empty() {
            return Ok(());
        }
        if nalu[0] & 0x80 != 0 {
            return Err(FsvError::invalid(
                input,
                format!("NALU {} has forbidden_zero_bit set: not H.264/H.265 (or corrupt)", self.summary.nalus),
            ));
        }
        if self.splitter.begins_new_unit(nalu) {
            self.finish_unit(writer, input)?;
        }
        if self.codec.nal_role(nalu) == NalRole::ParameterSet(ParameterSet::Sps) {
            let (width, height) = self
                .codec
                .sps_size(nalu)
                .map_err(|e| FsvError::invalid(input, format!("SPS in NALU {}: {e}", self.summary.nalus)))?;
            let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
                return Err(FsvError::invalid(input, format!("SPS size {width}x{height} does not fit the rf1 header")));
            };
            if self.size.is_none() {
                self.summary.width = width;
                self.summary.height = height;
            }
            self.size = Some((w, h));
        }
        self.unit.push(nalu, self.codec.rf1_flags(nalu));
        self.summary.nalus += 1;
        Ok(())
    }

    fn finish_unit(&mut self, writer: &mut StreamWriter, input: &Path) -> Result<(), FsvError> {
        if self.unit.nalus.is_empty() {
            return Ok(());
        }
        let fps = self.fps;
        let time_ns = self.start_ns + i128::from(fps.offset_ns(self.summary.access_units));
        let time_ns =
            i64::try_from(time_ns).map_err(|_| FsvError::invalid(input, "timestamps overflow (start too late?)"))?;
        let mut unit = std::mem::take(&mut self.unit);
        unit.time_ns = time_ns;
        self.summary.access_units += 1;
        let Some((w, h)) = self.size else {
            self.pending.push(unit);
            if self.pending.len() > 10_000 {
                return Err(FsvError::invalid(input, "no SPS in the first 10000 access units"));
            }
            return Ok(());
        };
        writer.set_size(w, h)?;
        for p in self.pending.drain(..) {
            if let Some(clock) = &self.clock {
                clock.wait_for(p.time_ns, input)?;
            }
            writer.write(p)?;
        }
        if let Some(clock) = &self.clock {
            clock.wait_for(unit.time_ns, input)?;
        }
        writer.write(unit)
    }
}

fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::FrameRate;

    #[test]
    fn frame_rates() {
        assert_eq!(FrameRate::parse("25"), Ok(FrameRate { num: 25, den: 1 }));
        assert_eq!(FrameRate::parse("29.97"), Ok(FrameRate { num: 2997, den: 100 }));
        assert_eq!(FrameRate::parse("30000/1001"), Ok(FrameRate { num: 30000, den: 1001 }));
        for bad in ["0", "abc", "1/0", "-5", "", "1.2.3"] {
            assert!(FrameRate::parse(bad).is_err(), "{bad}");
        }
        // Cameras: one frame an hour … 1000 fps (exact ratios, so no rounding at the bounds).
        for ok in ["1/3600", "1000", "1000/1", "0.0003", "2/7200", "1000.000000000"] {
            assert!(FrameRate::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["4294967296", "0.0000001", "1000.000000001", "1001", "1/3601", "18446744073709551615/1"] {
            let e = FrameRate::parse(bad).err().unwrap_or_default();
            assert!(e.contains("outside 1/3600"), "{bad}: {e}");
        }
        let f = FrameRate::parse("30").unwrap_or_default();
        assert_eq!(f.offset_ns(1), 33_333_333);
        assert_eq!(f.offset_ns(3), 100_000_000);
    }

    proptest::proptest! {
        /// N/D parses exactly when 1/3600 ≤ N/D ≤ 1000, and then to N/D.
        #[test]
        fn ratios_parse_within_the_bounds(num in 0u64..5_000_000, den in 0u64..20_000_000_000) {
            let within = num > 0 && den > 0 && u128::from(num) * 3600 >= u128::from(den) && num <= den * 1000;
            let parsed = FrameRate::parse(&format!("{num}/{den}"));
            proptest::prop_assert_eq!(parsed.is_ok(), within, "{:?}", parsed);
            if within {
                proptest::prop_assert_eq!(parsed, Ok(FrameRate { num, den }));
            }
        }

        /// Decimals parse within the bounds, exactly, and never panic.
        #[test]
        fn decimals_parse_exactly(int in 0u64..5000, frac in "[0-9]{0,9}") {
            let text = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
            if let Ok(rate) = FrameRate::parse(&text) {
                let den = 10u64.pow(frac.len() as u32);
                proptest::prop_assert_eq!(u128::from(rate.num) * u128::from(den), u128::from(int * den + frac.parse::<u64>().unwrap_or(0)) * u128::from(rate.den));
                proptest::prop_assert!(rate.check().is_ok());
            } else {
                proptest::prop_assert!(int == 0 || int >= 1000, "{} refused", text);
            }
        }
    }
}

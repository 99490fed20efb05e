//! A range of a stream as a file others can play (`tessera export`, the GUI's clip export),
//! without re-encoding: the access units with times in `[from, to)`, starting at the keyframe at or before `from` so the first picture decodes.
//!
//! `.mp4` (or `.mov`, `.m4v`) is an ISO BMFF file written by the `mp4` crate (H.264; H.265 is
//! refused with a clear error until the muxer writes a complete `hvcC`): one video track,
//! 90 kHz timescale, each access unit a sample of length-prefixed NALUs (parameter sets kept
//! in-band as well as in `avcC`, so the file plays even when the stream changes them),
//! keyframes marked as sync samples. Anything else is raw Annex-B (`.h264`, `.h265`) — the
//! stored NALUs as they are. Written to a temporary name, then renamed.

use anyhow::Context;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::codec::{Codec, NalRole, ParameterSet, strip_start_code};
use tessera_storage::fsv::{Archive, TimedPacket};

/// What to export: `[from_us, to_us)` of `stream` in `archive`, to `out` (`.mp4` / `.mov` /
/// `.m4v`: an MP4 file; anything else: raw Annex-B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipSpec {
    pub archive: PathBuf,
    pub stream: String,
    pub from_us: i64,
    pub to_us: i64,
    pub out: PathBuf,
}

/// MP4 sample times are in 90 kHz ticks (the video convention; exact for µs multiples of 100/9).
const TIMESCALE: u64 = 90_000;

/// One access unit: its time and NALUs (each with its start code, as stored).
struct Unit<'a> {
    time_us: i64,
    nalus: Vec<&'a [u8]>,
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    pub frames: usize,
    pub bytes: usize,
    pub codec: &'static str,
    pub container: &'static str,
    pub first_us: i64,
    pub last_us: i64,
}

/// The export failed because `progress` asked it to stop.
#[derive(Debug, thiserror::Error)]
#[error("export cancelled")]
pub struct Cancelled;

/// Export the clip `spec` names (see the module docs). `progress` hears the share done (0..=1)
/// now and then and stops the export ([`Cancelled`]) by returning `false`; nothing is left
/// under `spec.out` then. The GUI's export job and `tessera export` share this.
pub fn export_clip(spec: &ClipSpec, progress: &dyn Fn(f32) -> bool) -> anyhow::Result<ExportSummary> {
    let ClipSpec { archive, stream: stream_name, from_us, to_us, out } = spec;
    let (from_us, to_us) = (*from_us, *to_us);
    if to_us <= from_us {
        anyhow::bail!("--to {} is not after --from {}", UnixMicros(to_us), UnixMicros(from_us));
    }
    let archive = Archive::open(archive)?;
    let stream = archive.stream(stream_name)?;
    let codec = stream.codec().with_context(|| format!("stream {stream_name}: no video track"))?;
    // `read_range` is inclusive of its end (in the track's ticks); the export is not.
    let mut packets = stream.read_range(from_us, to_us, true)?;
    packets.retain(|p| p.time_us < to_us);
    if !progress(0.3) {
        return Err(Cancelled.into());
    }
    let units = access_units(&packets);
    if units.is_empty() {
        anyhow::bail!("stream {stream_name}: no video between {} and {}", UnixMicros(from_us), UnixMicros(to_us));
    }
    let (width, height) = stream
        .open_track(stream.files_in_range(units[0].time_us, units[0].time_us).start)
        .map(|t| (t.header.width, t.header.height))
        .unwrap_or((0, 0));
    let mp4 = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["mp4", "mov", "m4v"].contains(&e.to_ascii_lowercase().as_str()));
    let bytes = if mp4 { mp4_file(&units, codec, width, height, progress)? } else { annex_b(&units) };
    if !progress(0.95) {
        return Err(Cancelled.into());
    }
    crate::output::write_atomically(out, &bytes)?;
    progress(1.0);
    Ok(ExportSummary {
        frames: units.len(),
        bytes: bytes.len(),
        codec: codec.name(),
        container: if mp4 { "mp4" } else { "annex-b" },
        first_us: units[0].time_us,
        last_us: units[units.len() - 1].time_us,
    })
}

/// Packets grouped into access units (consecutive packets with one time). Reads return times
/// in order (overlapping files included); a packet going back in time all the same (a file
/// whose header contradicts its name) is left out, so sample times never run backwards.
fn access_units(packets: &[TimedPacket]) -> Vec<Unit<'_>> {
    let mut units: Vec<Unit<'_>> = Vec::new();
    for p in packets {
        match units.last_mut() {
            Some(u) if u.time_us == p.time_us => u.nalus.push(&p.packet.data),
            Some(u) if p.time_us < u.time_us => {}
            _ => units.push(Unit { time_us: p.time_us, nalus: vec![&p.packet.data] }),
        }
    }
    units
}

/// Whether an access unit is a sync sample: a random access point (IDR, or an H.265 IRAP picture).
fn is_sync(codec: Codec, unit: &Unit<'_>) -> bool {
    unit.nalus.iter().any(|n| matches!(codec.nal_role(strip_start_code(n)), NalRole::Slice(s) if s.random_access()))
}

fn annex_b(units: &[Unit<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.iter().flat_map(|u| &u.nalus).map(|n| n.len()).sum());
    for n in units.iter().flat_map(|u| &u.nalus) {
        out.extend_from_slice(n);
    }
    out
}

fn mp4_file(
    units: &[Unit<'_>],
    codec: Codec,
    width: u16,
    height: u16,
    progress: &dyn Fn(f32) -> bool,
) -> anyhow::Result<Vec<u8>> {
    let find = |set: ParameterSet| {
        units
            .iter()
            .flat_map(|u| &u.nalus)
            .map(|n| strip_start_code(n))
            .find(|n| codec.nal_role(n) == NalRole::ParameterSet(set))
            .map(<[u8]>::to_vec)
    };
    let media = match codec {
        Codec::H264 => mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            width,
            height,
            seq_param_set: find(ParameterSet::Sps).context("no SPS in the exported range")?,
            pic_param_set: find(ParameterSet::Pps).context("no PPS in the exported range")?,
        }),
        // The `mp4` crate writes an `hvcC` without the profile and parameter-set arrays, which
        // FFmpeg rejects: refuse rather than write a file that does not play.
        Codec::H265 => anyhow::bail!(
            "H.265 to MP4 is not supported yet (the muxer cannot write a complete hvcC); export raw Annex-B with --out clip.h265"
        ),
    };
    let brand = |s: &str| s.parse::<mp4::FourCC>().map_err(|e| anyhow::anyhow!("{e}"));
    let config = mp4::Mp4Config {
        major_brand: brand("isom")?,
        minor_version: 512,
        compatible_brands: vec![brand("isom")?, brand("iso2")?, brand("avc1")?, brand("mp41")?],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(std::io::Cursor::new(Vec::new()), &config)?;
    writer.add_track(&mp4::TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale: TIMESCALE as u32,
        language: "und".into(),
        media_conf: media,
    })?;
    let ticks = |us: i64| ((us - units[0].time_us).max(0) as u64 * TIMESCALE).div_ceil(1_000_000);
    let mut last_duration = (TIMESCALE / 25) as u32;
    for (k, unit) in units.iter().enumerate() {
        if k % 256 == 255 && !progress(0.3 + 0.65 * k as f32 / units.len() as f32) {
            return Err(Cancelled.into());
        }
        let start = ticks(unit.time_us);
        let duration = match units.get(k + 1) {
            Some(next) => (ticks(next.time_us) - start) as u32,
            None => last_duration,
        };
        last_duration = duration.max(1);
        let mut bytes = Vec::with_capacity(unit.nalus.iter().map(|n| n.len() + 4).sum());
        for n in &unit.nalus {
            let body = strip_start_code(n);
            bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
            bytes.extend_from_slice(body);
        }
        writer.write_sample(
            1,
            &mp4::Mp4Sample {
                start_time: start,
                duration: duration.max(1),
                rendering_offset: 0,
                is_sync: is_sync(codec, unit),
                bytes: mp4::Bytes::from(bytes),
            },
        )?;
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}

//! `tessera demo --live`: after writing the demo archive, camera 1 keeps recording — its
//! clips from where the archive ends, each picture written when its time comes (as a recorder
//! does: [`StreamWriter::recording`]), and each clip's detections ingested as the clip ends —
//! for as long as the window is open. It is how a new user sees the window follow a live
//! archive (the Live button, the streams tree and timeline growing).

use super::{encode, scene, schedule};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tessera_storage::EventDb;
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{AccessUnit, StreamWriter};
use tessera_storage::rf1::Codec;

/// The recording camera.
const CAMERA: usize = 1;

/// Record camera 1 from `from_us` (the archive's end, a clip boundary) until `stop` is set.
pub fn record(dir: &Path, from_us: i64, stop: &AtomicBool) -> anyhow::Result<()> {
    let mut clips: BTreeMap<(scene::ClipKind, bool), Vec<encode::EncodedFrame>> = BTreeMap::new();
    let mut writer = StreamWriter::recording(dir, &format!("cam-{CAMERA}-HD"), Codec::H264)?;
    writer.set_size(scene::WIDTH as u16, scene::HEIGHT as u16)?;
    let db = EventDb::open_write(dir)?;
    let clip_us = i64::from(scene::CLIP_SECS) * 1_000_000;
    let frame_ns = 1_000_000_000 / i64::from(scene::FPS);
    // The wall clock is the recording's clock (the archive ended a moment ago).
    let (wall, wall_us) = (Instant::now(), UnixMicros::now().0);
    let due = |t_us: i64| wall + Duration::from_micros(u64::try_from(t_us - wall_us).unwrap_or(0));
    let mut slot_us = from_us;
    while !stop.load(Ordering::Relaxed) {
        if slot_us.rem_euclid(1_000_000_000) == 0 {
            writer.roll_over()?; // files start on 1000 s boundaries, as the demo's do
        }
        let plan = schedule::slot(CAMERA, slot_us);
        let frames = match clips.entry((plan.kind, plan.night)) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(encode::encode_clip(plan.kind, CAMERA, plan.night)?)
            }
        };
        for (i, frame) in frames.iter().enumerate() {
            let time_ns = slot_us * 1000 + i as i64 * frame_ns;
            while Instant::now() < due(time_ns / 1000) {
                if stop.load(Ordering::Relaxed) {
                    writer.finish()?;
                    return Ok(());
                }
                std::thread::sleep(
                    due(time_ns / 1000).saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
                );
            }
            let mut unit = AccessUnit { time_ns, nalus: Vec::with_capacity(frame.len()) };
            for nalu in frame {
                unit.push_h264(nalu);
            }
            writer.write(unit)?;
        }
        // The clip's detections, as a detector reports them when the clip ends.
        let events = super::demo_events(CAMERA, slot_us, slot_us + clip_us);
        if !events.is_empty() {
            db.insert_events(&events, UnixMicros::now().secs_floor())?;
        }
        slot_us += clip_us;
    }
    writer.finish()?;
    Ok(())
}

/// Start [`record`] on the `demo-live` thread; setting the returned flag stops it.
pub fn start(
    dir: &Path,
    from_us: i64,
) -> anyhow::Result<(Arc<AtomicBool>, std::thread::JoinHandle<anyhow::Result<()>>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, dir) = (stop.clone(), dir.to_owned());
    let handle = std::thread::Builder::new().name("demo-live".into()).spawn(move || record(&dir, from_us, &flag))?;
    Ok((stop, handle))
}

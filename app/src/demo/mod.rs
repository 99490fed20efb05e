//! `tessera demo`: a synthetic archive of real H.264 — several cameras, a day each — written
//! in seconds, then opened in the GUI.
//!
//! Encoding a day of video would take minutes, so each camera gets a handful of 20-second
//! clips (empty street, a person, a car, both; by day and by night) encoded once with openh264,
//! and a seeded schedule strings them together over the day with shifted timestamps. The same
//! schedule says which objects are on screen when, so later issues derive matching events.

pub mod encode;
pub mod live;
pub mod scene;
pub mod schedule;

use anyhow::Context;
use scene::ClipKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_storage::EventDb;
use tessera_storage::events::{BoxAt, NewEvent};
use tessera_storage::fsv::{AccessUnit, StreamWriter};
use tessera_storage::rf1::Codec;

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where to write the archive (default: <temp dir>/tessera-demo). An existing demo there is replaced.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Hours of video per camera.
    #[arg(long, default_value_t = 24.0)]
    pub hours: f64,
    /// Number of cameras (streams `cam-N-HD`).
    #[arg(long, default_value_t = 3)]
    pub cameras: usize,
    /// End of the recording: RFC 3339 or unix µs (default: now).
    #[arg(long)]
    pub end: Option<tessera_storage::UnixMicros>,
    /// Days of detection events per camera (the last hours match the video exactly; older
    /// events are as if their video had been swept by the storage budget).
    #[arg(long, default_value_t = 14.0)]
    pub event_days: f64,
    /// Write the archive only; do not open the GUI.
    #[arg(long)]
    pub no_gui: bool,
    /// No air traffic and no sky camera (`cam-1-HD` is tied to one by default).
    #[arg(long)]
    pub no_sky: bool,
    /// No labelling catalog (`<dir>/labels` holds one by default).
    #[arg(long)]
    pub no_labels: bool,
}

/// Marker file that makes a directory safe to replace.
const MARKER: &str = "tessera-demo.json";

/// `tessera demo`: the demo's arguments and `--live`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoCommand {
    #[command(flatten)]
    pub args: DemoArgs,
    /// Keep camera 1 recording (and detecting) in real time while the window is open.
    #[arg(long, conflicts_with = "no_gui")]
    pub live: bool,
}

pub fn run(DemoCommand { args, live }: DemoCommand) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(|| std::env::temp_dir().join("tessera-demo"));
    let started = Instant::now();
    let summary = write_demo(&dir, &args)?;
    eprintln!(
        "demo archive: {} ({} streams, {:.1} h each, {} events, {} MB) written in {:.1} s",
        dir.display(),
        summary.streams,
        args.hours,
        summary.events,
        summary.bytes / 1_000_000,
        started.elapsed().as_secs_f64()
    );
    if args.no_gui {
        return Ok(());
    }
    if !live {
        return crate::ui::run(Some(dir));
    }
    let (stop, recorder) = live::start(&dir, summary.end_us)?;
    let shown = crate::ui::run(Some(dir));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    match recorder.join() {
        Ok(Err(e)) => eprintln!("warning: the live camera stopped: {}", crate::cli::error_line(&e)),
        Err(_) => eprintln!("warning: the live camera's thread panicked"),
        Ok(Ok(())) => {}
    }
    shown
}

#[derive(Debug, Default)]
pub struct DemoSummary {
    pub streams: usize,
    pub bytes: u64,
    pub start_us: i64,
    pub end_us: i64,
    pub events: usize,
}

/// Write the demo archive into `dir` (replacing an earlier demo there).
pub fn write_demo(dir: &Path, args: &DemoArgs) -> anyhow::Result<DemoSummary> {
    prepare_dir(dir)?;
    let end_us = args.end.map_or_else(|| tessera_storage::UnixMicros::now().0, |t| t.0);
    let clip_us = i64::from(scene::CLIP_SECS) * 1_000_000;
    let slots = ((args.hours * 3600.0 * 1e6) as i64 / clip_us).max(1);
    // Align slots so files start on 1000 s boundaries (50 clips of 20 s).
    let end_slot = end_us.div_euclid(clip_us);
    let start_us = (end_slot - slots) * clip_us;
    let cameras: Vec<usize> = (1..=args.cameras).collect();
    let results: Vec<anyhow::Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = cameras
            .iter()
            .map(|&cam| {
                std::thread::Builder::new()
                    .name(format!("demo-cam-{cam}"))
                    .spawn_scoped(s, move || write_camera(dir, cam, start_us, slots))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("demo writer thread panicked"))),
                Err(e) => Err(anyhow::anyhow!("cannot start a demo writer thread: {e}")),
            })
            .collect()
    });
    let mut bytes = 0;
    for r in results {
        bytes += r?;
    }
    let events = write_events(dir, args, start_us + slots * clip_us)?;
    if !args.no_sky {
        write_sky(dir, start_us, start_us + slots * clip_us)?;
    }
    if !args.no_labels {
        write_labels(dir, args.cameras, start_us + slots * clip_us)?;
    }
    std::fs::write(
        dir.join(MARKER),
        format!("{{\"start_us\":{start_us},\"end_us\":{}}}\n", start_us + slots * clip_us),
    )
    .with_context(|| format!("{}: cannot write", dir.join(MARKER).display()))?;
    Ok(DemoSummary { streams: args.cameras, bytes, start_us, end_us: start_us + slots * clip_us, events })
}

/// The detections of `camera` over `[from_us, to_us)`: one track per object of every
/// scheduled clip, with a box per second, exactly where the clip draws it.
pub fn demo_events(camera: usize, from_us: i64, to_us: i64) -> Vec<NewEvent> {
    let clip_us = i64::from(scene::CLIP_SECS) * 1_000_000;
    let mut events = Vec::new();
    let mut slot_us = from_us.div_euclid(clip_us) * clip_us;
    while slot_us < to_us {
        let plan = schedule::slot(camera, slot_us);
        for obj in scene::clip_objects(plan.kind, camera) {
            let ms = |s: f64| slot_us / 1000 + (s * 1000.0) as i64;
            let boxes = (0..)
                .map(|i| obj.enter_s + f64::from(i))
                .take_while(|&t| t <= obj.exit_s)
                .filter_map(|t| obj.box_at(t).map(|b| (t, b)))
                .map(|(t, b)| BoxAt {
                    t_ms: ms(t),
                    x1: b[0].round(),
                    y1: b[1].round(),
                    x2: b[2].round(),
                    y2: b[3].round(),
                })
                .collect();
            let jitter = (schedule::mix(slot_us as u64 ^ camera as u64) % 20) as f64 / 100.0;
            events.push(NewEvent {
                camera: format!("cam-{camera}"),
                class: obj.class.to_owned(),
                first_ms: ms(obj.enter_s),
                last_ms: ms(obj.exit_s),
                confidence: Some(0.78 + jitter),
                boxes,
            });
        }
        slot_us += clip_us;
    }
    events
}

fn write_events(dir: &Path, args: &DemoArgs, end_us: i64) -> anyhow::Result<usize> {
    let from_us = end_us - (args.event_days.max(args.hours / 24.0) * 86_400e6) as i64;
    let events: Vec<NewEvent> = (1..=args.cameras).flat_map(|cam| demo_events(cam, from_us, end_us)).collect();
    let db = EventDb::open_write(dir)?;
    db.insert_events(&events, tessera_storage::UnixMicros::now().secs_floor())?;
    Ok(events.len())
}

/// Departures per day of the demo's synthetic air traffic (a few aircraft in the sky camera's
/// view at most moments).
pub const DEMO_FLIGHTS_PER_DAY: usize = 3000;
/// The demo's feder store and sky camera file, inside the demo archive.
pub const DEMO_STORE: &str = "flights";
pub const DEMO_CAMERA_FILE: &str = "sky-camera.toml";

/// Synthetic traffic over the recording in feder's format (`<dir>/flights`, sidecar index
/// built), and `cam-1-HD` tied to a sky-facing camera over Boston, so the player draws
/// aircraft on first start.
fn write_sky(dir: &Path, start_us: i64, end_us: i64) -> anyhow::Result<()> {
    use tessera_storage::feder;
    let root = dir.join(DEMO_STORE);
    std::fs::create_dir_all(&root).with_context(|| format!("{}: cannot create", root.display()))?;
    let store = feder::FederStore::open(&root)?;
    // From the day before (flights still airborne after midnight) to the last day.
    for day in start_us.div_euclid(86_400_000_000) - 1..=end_us.div_euclid(86_400_000_000) {
        let mut traffic = feder::synth::day_of_traffic(day, DEMO_FLIGHTS_PER_DAY, 1);
        // Only flights airborne during the recording.
        let (from_s, to_s) = (start_us / 1_000_000, end_us / 1_000_000);
        traffic.retain(|t| {
            t.points.first().is_some_and(|p| i64::from(p.time) <= to_s)
                && t.points.last().is_some_and(|p| i64::from(p.time) >= from_s)
        });
        feder::writer::write(&store, &traffic)?;
    }
    feder::sidecar::build(&store, |_| {})?;
    let camera = dir.join(DEMO_CAMERA_FILE);
    std::fs::write(&camera, tessera_engine::trajectories::projection::DEMO_CAMERA_TOML)
        .with_context(|| format!("{}: cannot write", camera.display()))?;
    let db = EventDb::open_write(dir)?;
    let link = tessera_storage::db::SkyLinkText {
        camera_toml: tessera_engine::trajectories::projection::DEMO_CAMERA_TOML.to_string(),
        store: root.canonicalize()?,
    };
    db.set_sky_link("cam-1-HD", &link)?;
    Ok(())
}

/// Clips labelled per project of the demo's catalog.
const LABELLED_CLIPS: usize = 8;

/// A labelling catalog in `<dir>/labels`: project 1 labels the last clips of `cam-1-HD` that
/// show someone (frames files whose boxes follow the drawn objects, plus one image from its
/// dyn_attrs) and is populated at the video's 5 fps, so the player draws its boxes at once;
/// project 2 (`cam-2-HD`, when there is one) is left pending for the Projects panel's
/// Populate button.
fn write_labels(dir: &Path, cameras: usize, end_us: i64) -> anyhow::Result<()> {
    use tessera_storage::observations::{
        Catalog, FrameObject, FrameRecord, FramesHeader, Manifest, ObservationStore, Rate, write_frames,
    };
    let labels_dir = dir.join(tessera_engine::archive_loader::LABELS_DIR);
    let frames_dir = labels_dir.join("frames");
    std::fs::create_dir_all(&frames_dir).with_context(|| format!("{}: cannot create", frames_dir.display()))?;
    let clip_us = i64::from(scene::CLIP_SECS) * 1_000_000;
    let frame_us = 1_000_000 / i64::from(scene::FPS);
    let label_names = ["person", "car"];
    let mut projects = Vec::new();
    for camera in 1..=cameras.min(2) {
        let project = camera as i64;
        let mut classifications = Vec::new();
        let mut slot_us = (end_us.div_euclid(clip_us) - 1) * clip_us;
        while classifications.len() < LABELLED_CLIPS && slot_us >= end_us - 2 * 86_400_000_000 {
            let objects = scene::clip_objects(schedule::slot(camera, slot_us).kind, camera);
            if !objects.is_empty() {
                let id = project * 1000 + classifications.len() as i64 + 1;
                let mut header = FramesHeader::new(
                    id,
                    id,
                    scene::WIDTH as u32,
                    scene::HEIGHT as u32,
                    label_names.map(String::from).to_vec(),
                );
                let n = scene::CLIP_SECS * scene::FPS;
                (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) = (scene::FPS, 1, slot_us, n);
                let records: Vec<FrameRecord> = (0..n)
                    .map(|i| {
                        let t = f64::from(i) / f64::from(scene::FPS);
                        let o = objects
                            .iter()
                            .enumerate()
                            .filter_map(|(k, obj)| {
                                let [x1, y1, x2, y2] = obj.box_at(t)?;
                                Some(FrameObject {
                                    tid: Some(id * 10 + k as i64),
                                    c: label_names.iter().position(|l| *l == obj.class).unwrap_or(0) as u16,
                                    s: None,
                                    b: [x1 as f32, y1 as f32, (x2 - x1) as f32, (y2 - y1) as f32],
                                    f: 0,
                                    a: None,
                                })
                            })
                            .collect();
                        FrameRecord { i, t_us: i64::from(i) * frame_us, o }
                    })
                    .collect();
                let file = format!("frames/{id}.msgpack");
                write_frames(&labels_dir.join(&file), &header, &records)?;
                classifications.push(serde_json::json!({
                    "id": id, "kind": "video", "frames": file, "stream": format!("cam-{camera}-HD"),
                }));
            }
            slot_us -= clip_us;
        }
        // A still, kept as dyn_attrs only (its frames file is rebuilt by populate/rebuild-msgpacks).
        classifications.push(serde_json::json!({
            "id": project * 1000 + 999, "kind": "image", "frames": format!("frames/{project}-still.msgpack"),
            "dyn_attrs": {"width": scene::WIDTH, "height": scene::HEIGHT, "objects": [
                {"label": "car", "bbox": [300, 240, 110, 50], "confidence": null, "track_id": null}]},
        }));
        projects.push(serde_json::json!({
            "id": project, "name": format!("cam-{camera} street labels"), "classifications": classifications,
        }));
    }
    let manifest: Manifest = serde_json::from_value(serde_json::json!({ "projects": projects }))?;
    std::fs::write(
        labels_dir.join("manifest.json"),
        serde_json::to_string_pretty(&serde_json::json!({ "projects": projects }))?,
    )
    .with_context(|| format!("{}: cannot write", labels_dir.display()))?;
    let mut catalog = Catalog::open(&labels_dir, true)?;
    catalog.import(&manifest, &labels_dir)?;
    let mut store = ObservationStore::open(&labels_dir, None)?;
    let fps: Rate = scene::FPS.to_string().parse().map_err(anyhow::Error::msg)?;
    store.claim(&mut catalog, &[1], fps, false)?;
    store.populate(&catalog, 1, fps, |_, _| {})?;
    Ok(())
}

fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.join(MARKER).exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("{}: cannot remove the previous demo", dir.display()))?;
    } else if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{}: directory is not empty and holds no earlier demo; choose another --dir", dir.display());
    }
    std::fs::create_dir_all(dir.join("fsv")).with_context(|| format!("{}: cannot create", dir.display()))
}

/// Encode a camera's clips and lay them over `slots` clip slots from `start_us`.
fn write_camera(dir: &Path, camera: usize, start_us: i64, slots: i64) -> anyhow::Result<u64> {
    let mut clips: BTreeMap<(ClipKind, bool), Vec<encode::EncodedFrame>> = BTreeMap::new();
    for kind in ClipKind::ALL {
        for night in [false, true] {
            clips.insert((kind, night), encode::encode_clip(kind, camera, night)?);
        }
    }
    let stream = format!("cam-{camera}-HD");
    let mut writer = StreamWriter::new(dir, &stream, Codec::H264)?;
    writer.set_size(scene::WIDTH as u16, scene::HEIGHT as u16)?;
    let clip_us = i64::from(scene::CLIP_SECS) * 1_000_000;
    let frame_ns = 1_000_000_000 / i64::from(scene::FPS);
    let mut bytes = 0u64;
    for slot in 0..slots {
        let slot_start_us = start_us + slot * clip_us;
        if slot > 0 && slot_start_us.rem_euclid(1_000_000_000) == 0 {
            writer.roll_over()?;
        }
        let plan = schedule::slot(camera, slot_start_us);
        let frames = clips.get(&(plan.kind, plan.night)).context("clip missing")?;
        for (i, frame) in frames.iter().enumerate() {
            let mut unit = AccessUnit {
                time_ns: slot_start_us * 1000 + i as i64 * frame_ns,
                nalus: Vec::with_capacity(frame.len()),
            };
            for nalu in frame {
                unit.push_h264(nalu);
            }
            bytes += unit.bytes();
            writer.write(unit)?;
        }
    }
    writer.finish()?;
    Ok(bytes)
}

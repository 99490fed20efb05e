//! Frames msgpack files (`classification_<id>.frames.msgpack`): a stream of msgpack maps, one
//! header then one record per source frame, read one value at a time (a file is never loaded
//! whole) and written with string keys (`rmp_serde::encode::write_named`). Unknown keys are
//! ignored; integers are accepted wherever a float is expected (serde's float visitors take
//! them). A bad file is an error naming the file and the byte offset of the bad value.

use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The newest format version this reader understands.
pub const FRAMES_VERSION: u32 = 1;

/// The most objects one frame may hold: a row's `obj_index` is 16 bits (and a label index is
/// too), so more would collide in the table's key.
pub const MAX_OBJECTS_PER_FRAME: usize = 65_535;

/// `Err` naming frame `i` when it holds more objects than [`MAX_OBJECTS_PER_FRAME`].
pub fn check_objects(i: u32, objects: usize) -> Result<(), String> {
    if objects > MAX_OBJECTS_PER_FRAME {
        return Err(format!("frame {i}: {objects} objects, more than the {MAX_OBJECTS_PER_FRAME} a frame may hold"));
    }
    Ok(())
}

/// The first value of a frames file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FramesHeader {
    pub schema: String,
    pub v: u32,
    pub classification_id: i64,
    pub video_id: i64,
    pub width: u32,
    pub height: u32,
    pub fps_num: u32,
    pub fps_den: u32,
    /// UTC of frame 0, µs since the epoch.
    pub start_utc_us: i64,
    pub frame_count: u32,
    /// Box convention: `xywh_px`.
    pub bbox: String,
    /// Label table; objects refer to it by index.
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,
}

impl FramesHeader {
    /// A v1 header with the given identity and label table.
    pub fn new(classification_id: i64, video_id: i64, width: u32, height: u32, labels: Vec<String>) -> Self {
        FramesHeader {
            schema: "frames".into(),
            v: FRAMES_VERSION,
            classification_id,
            video_id,
            width,
            height,
            fps_num: 0,
            fps_den: 1,
            start_utc_us: 0,
            frame_count: 0,
            bbox: "xywh_px".into(),
            labels,
            source_digest: None,
        }
    }
}

/// One source frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// Source frame index, 0-based.
    pub i: u32,
    /// µs since the video start.
    pub t_us: i64,
    #[serde(default)]
    pub o: Vec<FrameObject>,
}

/// One object in a frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameObject {
    /// Track id, stable across frames.
    #[serde(default)]
    pub tid: Option<i64>,
    /// Index into the header's `labels`.
    pub c: u16,
    /// Confidence 0–1.
    #[serde(default)]
    pub s: Option<f32>,
    /// `x, y, w, h` in pixels of the header's frame size.
    pub b: [f32; 4],
    /// Bit 0 occluded, bit 1 interpolated, bit 2 truncated.
    #[serde(default)]
    pub f: u8,
    /// Free-form attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A frames file that cannot be read, naming the file and where.
#[derive(Debug, thiserror::Error)]
pub enum FramesError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: at byte {offset}: {problem}")]
    Bad { path: PathBuf, offset: u64, problem: String },
}

/// Counts the bytes read, for error offsets.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A frames file being read: the header, then records on demand.
pub struct FramesReader {
    path: PathBuf,
    de: rmp_serde::Deserializer<rmp_serde::decode::ReadReader<Counting<BufReader<std::fs::File>>>>,
    pub header: FramesHeader,
    /// Byte offset where the next value starts.
    value_start: u64,
    /// Records read so far (checked against the header's `frame_count` at the end).
    records: u64,
}

impl std::fmt::Debug for FramesReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramesReader").field("path", &self.path).field("header", &self.header).finish()
    }
}

impl FramesReader {
    /// Open a frames file and read its header (checked: schema `frames`, a known version,
    /// box convention `xywh_px`).
    /// Only a regular file is read: a directory, FIFO or device is refused (opened
    /// non-blocking, so a FIFO cannot hang the reader).
    pub fn open(path: &Path) -> Result<Self, FramesError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |error| FramesError::Io { path: path.to_path_buf(), error };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
            .map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(FramesError::Bad { path: path.to_path_buf(), offset: 0, problem: "not a regular file".into() });
        }
        let counting = Counting { inner: BufReader::with_capacity(1 << 16, file), read: 0 };
        let mut de = rmp_serde::Deserializer::new(counting);
        let bad = |offset: u64, problem: String| FramesError::Bad { path: path.to_path_buf(), offset, problem };
        let header = match FramesHeader::deserialize(&mut de) {
            Ok(h) => h,
            Err(e) if is_eof(&e) => return Err(bad(0, "empty file (no header)".into())),
            Err(e) => return Err(bad(0, format!("header: {e}"))),
        };
        if header.schema != "frames" {
            return Err(bad(0, format!("schema is {:?}, not \"frames\"", header.schema)));
        }
        if header.v > FRAMES_VERSION || header.v == 0 {
            return Err(bad(0, format!("format version {} (this Tessera reads 1 … {FRAMES_VERSION})", header.v)));
        }
        if header.bbox != "xywh_px" {
            return Err(bad(0, format!("box convention {:?} (expected \"xywh_px\")", header.bbox)));
        }
        // Labels are drawn over the video and stored in every observation row: names.
        for (i, label) in header.labels.iter().enumerate() {
            crate::names::check_name(&format!("labels[{i}]"), label).map_err(|p| bad(0, format!("header: {p}")))?;
        }
        let value_start = de.get_ref().read;
        Ok(FramesReader { path: path.to_path_buf(), de, header, value_start, records: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.value_start
    }

    /// The next frame record; `None` at a clean end of file. A record whose object names a
    /// label the table does not have, or that holds more than [`MAX_OBJECTS_PER_FRAME`]
    /// objects, is an error, and so is an end of file before (or after) the header's
    /// `frame_count` records: a file cut at a record boundary is not a shorter video.
    pub fn next_record(&mut self) -> Result<Option<FrameRecord>, FramesError> {
        let offset = self.value_start;
        let record = match FrameRecord::deserialize(&mut self.de) {
            Ok(r) => r,
            Err(e) if is_eof(&e) && self.de.get_ref().read == offset => {
                if self.records != u64::from(self.header.frame_count) {
                    return Err(FramesError::Bad {
                        path: self.path.clone(),
                        offset,
                        problem: format!(
                            "the file ends after {} frame records but its header's frame_count is {} (cut short?)",
                            self.records, self.header.frame_count
                        ),
                    });
                }
                return Ok(None);
            }
            Err(e) => {
                return Err(FramesError::Bad {
                    path: self.path.clone(),
                    offset,
                    problem: format!("frame record: {e}"),
                });
            }
        };
        self.value_start = self.de.get_ref().read;
        self.records += 1;
        check_objects(record.i, record.o.len()).map_err(|problem| FramesError::Bad {
            path: self.path.clone(),
            offset,
            problem,
        })?;
        if let Some(o) = record.o.iter().find(|o| usize::from(o.c) >= self.header.labels.len()) {
            return Err(FramesError::Bad {
                path: self.path.clone(),
                offset,
                problem: format!(
                    "frame {}: label index {} outside the {}-label table",
                    record.i,
                    o.c,
                    self.header.labels.len()
                ),
            });
        }
        Ok(Some(record))
    }
}

fn is_eof(e: &rmp_serde::decode::Error) -> bool {
    use rmp_serde::decode::Error as E;
    match e {
        E::InvalidMarkerRead(io) | E::InvalidDataRead(io) => io.kind() == std::io::ErrorKind::UnexpectedEof,
        _ => false,
    }
}

/// Write a frames file: to a temporary file in the same directory, fsync, then rename over
/// `path`, so a crash never leaves a half-written file. A new file gets the umask's mode; a
/// replaced regular file keeps its mode. (The rename replaces a symlink at `path` itself,
/// never its target; callers decide whether `path` may be written at all.)
pub fn write_frames(path: &Path, header: &FramesHeader, records: &[FrameRecord]) -> Result<(), FramesError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |error| FramesError::Io { path: path.to_path_buf(), error };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o666)) // less the umask, as any new file
        .tempfile_in(dir)
        .map_err(io)?;
    if let Some(old) = std::fs::symlink_metadata(path).ok().filter(|m| m.is_file()) {
        tmp.as_file().set_permissions(old.permissions()).map_err(io)?;
    }
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        let encode = |e: rmp_serde::encode::Error| FramesError::Bad {
            path: path.to_path_buf(),
            offset: 0,
            problem: e.to_string(),
        };
        rmp_serde::encode::write_named(&mut out, header).map_err(encode)?;
        for r in records {
            rmp_serde::encode::write_named(&mut out, r).map_err(encode)?;
        }
        out.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The index of `label` in a header's `labels`, appended when it is new (labels keep their
/// order of first appearance); an error past 65,536 labels.
pub fn label_index(labels: &mut Vec<String>, label: String) -> Result<u16, String> {
    let c = match labels.iter().position(|l| *l == label) {
        Some(c) => c,
        None => {
            labels.push(label);
            labels.len() - 1
        }
    };
    u16::try_from(c).map_err(|_| "more than 65,536 labels".to_string())
}

/// Append `object` to the frame `(i, t_us)`: the last record when it is that frame (rows come
/// in frame order), else a new record.
pub fn push_object(frames: &mut Vec<FrameRecord>, i: u32, t_us: i64, object: FrameObject) {
    match frames.last_mut() {
        Some(last) if last.i == i && last.t_us == t_us => last.o.push(object),
        _ => frames.push(FrameRecord { i, t_us, o: vec![object] }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> (FramesHeader, Vec<FrameRecord>) {
        let mut header = FramesHeader::new(7, 3, 1920, 1080, vec!["aircraft".into(), "bird".into()]);
        (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) =
            (30000, 1001, 1_747_944_000_000_000, 5);
        let records = [0, 33367, 66733, 100100, 133467]
            .iter()
            .enumerate()
            .map(|(i, &t_us)| FrameRecord {
                i: i as u32,
                t_us,
                o: vec![FrameObject { tid: Some(1), c: 0, s: Some(0.9), b: [10.0, 20.0, 30.5, 40.0], f: 0, a: None }],
            })
            .collect();
        (header, records)
    }

    #[test]
    fn round_trips_with_string_keys_and_stops_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.frames.msgpack");
        let (header, records) = sample();
        write_frames(&path, &header, &records).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.windows(6).any(|w| w == b"schema"), "maps with string keys");
        let mut r = FramesReader::open(&path).unwrap();
        assert_eq!(r.header, header);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push(rec);
        }
        assert_eq!(got, records);
    }

    #[test]
    fn unknown_keys_are_ignored_and_integers_read_as_floats() {
        #[derive(Serialize)]
        struct Extra<'a> {
            i: u32,
            t_us: i64,
            o: Vec<serde_json::Value>,
            note: &'a str,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.msgpack");
        let (mut header, _) = sample();
        header.frame_count = 1;
        let mut bytes = rmp_serde::to_vec_named(&header).unwrap();
        let obj = serde_json::json!({"tid": null, "c": 1, "s": 1, "b": [1, 2, 3, 4], "zz": "ignored"});
        bytes.extend(rmp_serde::to_vec_named(&Extra { i: 0, t_us: 0, o: vec![obj], note: "x" }).unwrap());
        std::fs::write(&path, bytes).unwrap();
        let mut r = FramesReader::open(&path).unwrap();
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.o[0].b, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(rec.o[0].s, Some(1.0));
        assert!(r.next_record().unwrap().is_none());
    }

    /// Every record read, or the first error.
    fn read_all(path: &Path) -> Result<Vec<FrameRecord>, FramesError> {
        let mut r = FramesReader::open(path)?;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        Ok(out)
    }

    #[test]
    fn a_file_cut_at_a_record_boundary_is_refused_by_its_frame_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.msgpack");
        let (header, records) = sample();
        write_frames(&path, &header, &records[..3]).unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(
            err.contains("cut.msgpack") && err.contains("after 3 frame records") && err.contains("frame_count is 5"),
            "{err}"
        );
        let mut more = records.clone();
        more.push(FrameRecord { i: 5, t_us: 166_833, o: Vec::new() });
        write_frames(&path, &header, &more).unwrap();
        assert!(read_all(&path).unwrap_err().to_string().contains("after 6 frame records"));
        write_frames(&path, &header, &records).unwrap();
        assert_eq!(read_all(&path).unwrap().len(), 5);
    }

    #[test]
    fn a_frame_of_more_than_65535_objects_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crowd.msgpack");
        let (mut header, _) = sample();
        header.frame_count = 1;
        let object = FrameObject { tid: None, c: 0, s: None, b: [0.0; 4], f: 0, a: None };
        let mut record = FrameRecord { i: 0, t_us: 0, o: vec![object; MAX_OBJECTS_PER_FRAME] };
        write_frames(&path, &header, std::slice::from_ref(&record)).unwrap();
        assert_eq!(read_all(&path).unwrap()[0].o.len(), 65_535, "the limit itself is fine");
        record.o.push(record.o[0].clone());
        write_frames(&path, &header, &[record]).unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains("crowd.msgpack") && err.contains("frame 0: 65536 objects, more than the 65535"), "{err}");
    }

    #[test]
    fn bad_files_name_the_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.msgpack");
        let (header, records) = sample();
        let mut bytes = rmp_serde::to_vec_named(&header).unwrap();
        let header_len = bytes.len();
        bytes.extend(rmp_serde::to_vec_named(&records[0]).unwrap());
        bytes.extend([0xc1, 0x00]); // 0xc1 is never used in msgpack
        std::fs::write(&path, &bytes).unwrap();
        let mut r = FramesReader::open(&path).unwrap();
        r.next_record().unwrap().unwrap();
        let err = r.next_record().unwrap_err().to_string();
        assert!(err.contains("bad.msgpack") && err.contains("at byte"), "{err}");
        assert!(header_len > 0);

        let mut wrong = header.clone();
        wrong.schema = "tiles".into();
        std::fs::write(&path, rmp_serde::to_vec_named(&wrong).unwrap()).unwrap();
        assert!(FramesReader::open(&path).unwrap_err().to_string().contains("not \"frames\""));
        let mut long_label = header.clone();
        long_label.labels.push("l".repeat(100_000));
        std::fs::write(&path, rmp_serde::to_vec_named(&long_label).unwrap()).unwrap();
        let err = FramesReader::open(&path).unwrap_err().to_string();
        assert!(err.contains("bad.msgpack") && err.contains("labels[2] is 100000 bytes, longer than"), "{err}");
        let mut newer = header;
        newer.v = 2;
        std::fs::write(&path, rmp_serde::to_vec_named(&newer).unwrap()).unwrap();
        assert!(FramesReader::open(&path).unwrap_err().to_string().contains("format version 2"));
        std::fs::write(&path, b"").unwrap();
        assert!(FramesReader::open(&path).unwrap_err().to_string().contains("empty file"));
    }
}

//! Procedurally drawn demo scenes: a per-camera street view with people and cars moving
//! through it. Object paths are plain functions of time, so the same description draws the
//! video and (later) produces the detection events that match it.

/// Picture size of the demo streams. 360 lines are coded as 368 (23 macroblock rows) and
/// cropped, which exercises the SPS crop formula end to end.
pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 360;
/// Frames per second of the demo streams.
pub const FPS: u32 = 5;
/// One clip is 20 s; a day is a sequence of clips chosen by a seeded schedule.
pub const CLIP_SECS: u32 = 20;
/// Keyframe interval in frames (4 s): every clip starts on a keyframe.
pub const GOP_FRAMES: u32 = 20;

/// What a clip shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClipKind {
    Empty,
    Person,
    Car,
    PersonAndCar,
}

impl ClipKind {
    pub const ALL: [ClipKind; 4] = [Self::Empty, Self::Person, Self::Car, Self::PersonAndCar];
}

/// An object crossing the picture in a straight line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SceneObject {
    pub class: &'static str,
    /// Visible from `enter_s` to `exit_s` seconds into the clip.
    pub enter_s: f64,
    pub exit_s: f64,
    /// Box top-left at enter and at exit, and the box size, in pixels.
    pub from: (f64, f64),
    pub to: (f64, f64),
    pub size: (f64, f64),
    /// Fill colour as (Y, U, V).
    pub yuv: (u8, u8, u8),
}

impl SceneObject {
    /// The box `[x1, y1, x2, y2]` at `t` seconds into the clip, if visible.
    pub fn box_at(&self, t: f64) -> Option<[f64; 4]> {
        if t < self.enter_s || t > self.exit_s {
            return None;
        }
        let a = (t - self.enter_s) / (self.exit_s - self.enter_s);
        let x = self.from.0 + a * (self.to.0 - self.from.0);
        let y = self.from.1 + a * (self.to.1 - self.from.1);
        Some([x, y, x + self.size.0, y + self.size.1])
    }
}

/// The objects of a clip kind on a camera (cameras differ in where their street is).
pub fn clip_objects(kind: ClipKind, camera: usize) -> Vec<SceneObject> {
    let street_y = 220.0 + 25.0 * (camera % 3) as f64;
    let person = SceneObject {
        class: "person",
        enter_s: 2.0,
        exit_s: 17.0,
        from: (40.0, street_y - 70.0),
        to: (560.0, street_y - 60.0),
        size: (26.0, 70.0),
        yuv: (90, 110, 190),
    };
    let car = SceneObject {
        class: "car",
        enter_s: 6.0,
        exit_s: 13.0,
        from: (520.0, street_y + 10.0),
        to: (20.0, street_y + 14.0),
        size: (110.0, 50.0),
        yuv: (140, 90, 70),
    };
    match kind {
        ClipKind::Empty => vec![],
        ClipKind::Person => vec![person],
        ClipKind::Car => vec![car],
        ClipKind::PersonAndCar => vec![person, car],
    }
}

/// I420 planes of one picture.
#[derive(Clone, Debug)]
pub struct Picture {
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Picture {
    pub fn new() -> Self {
        Self { y: vec![0; WIDTH * HEIGHT], u: vec![128; WIDTH * HEIGHT / 4], v: vec![128; WIDTH * HEIGHT / 4] }
    }

    fn fill_rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, (y, u, v): (u8, u8, u8)) {
        let clamp_x = |x: f64| (x.round().max(0.0) as usize).min(WIDTH);
        let clamp_y = |v: f64| (v.round().max(0.0) as usize).min(HEIGHT);
        let (xa, xb, ya, yb) = (clamp_x(x0), clamp_x(x1), clamp_y(y0), clamp_y(y1));
        for row in ya..yb {
            self.y[row * WIDTH + xa..row * WIDTH + xb].fill(y);
        }
        for row in ya / 2..yb.div_ceil(2).min(HEIGHT / 2) {
            let w = WIDTH / 2;
            self.u[row * w + xa / 2..row * w + xb.div_ceil(2).min(w)].fill(u);
            self.v[row * w + xa / 2..row * w + xb.div_ceil(2).min(w)].fill(v);
        }
    }
}

impl Default for Picture {
    fn default() -> Self {
        Self::new()
    }
}

/// Draw frame `t` seconds into a clip of `objects` on `camera`, by day or night.
pub fn draw(pic: &mut Picture, camera: usize, night: bool, t: f64, objects: &[SceneObject]) {
    let dim = |y: u8| if night { y / 3 + 8 } else { y };
    // Sky gradient, ground, and a few buildings that differ per camera.
    for row in 0..HEIGHT {
        let shade = if row < 180 { 200 - (row as u32 * 60 / 180) as u8 } else { 110 };
        pic.y[row * WIDTH..(row + 1) * WIDTH].fill(dim(shade));
    }
    pic.u.fill(if night { 140 } else { 150 });
    pic.v.fill(if night { 120 } else { 110 });
    pic.fill_rect(0.0, 180.0, WIDTH as f64, HEIGHT as f64, (dim(100), 120, 125));
    for b in 0..4 {
        let x = 30.0 + 150.0 * b as f64 + 20.0 * camera as f64;
        let h = 60.0 + 25.0 * ((b + camera) % 3) as f64;
        pic.fill_rect(x, 180.0 - h, x + 90.0, 180.0, (dim(150 - 20 * b as u8), 125, 135));
        if night {
            // Lit windows at night.
            for w in 0..3 {
                pic.fill_rect(
                    x + 12.0 + 25.0 * w as f64,
                    180.0 - h + 15.0,
                    x + 24.0 + 25.0 * w as f64,
                    180.0 - h + 27.0,
                    (200, 100, 150),
                );
            }
        }
    }
    for obj in objects {
        if let Some([x1, y1, x2, y2]) = obj.box_at(t) {
            let (y, u, v) = obj.yuv;
            pic.fill_rect(x1, y1, x2, y2, (if night { y / 2 + 20 } else { y }, u, v));
        }
    }
}

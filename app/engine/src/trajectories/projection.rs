//! Cameras that look at the sky: the camera file, aircraft positions at an instant and their
//! projection into the picture.
//!
//! Geometry (the contract of `tessera traj project`): WGS-84 geodetic → ECEF → ENU at the
//! camera. In ENU the optical axis is f = (sin ψ cos θ, cos ψ cos θ, sin θ) for yaw ψ
//! (clockwise from true north) and pitch θ (above the horizontal); right r₀ = (cos ψ, −sin ψ, 0),
//! up u₀ = r₀ × f, and roll φ (clockwise as seen from behind) turns them:
//! r = r₀ cos φ − u₀ sin φ, u = u₀ cos φ + r₀ sin φ. Camera coordinates x = d·r, y = −d·u,
//! z = d·f; OpenCV's Brown–Conrady distortion on (x/z, y/z); pixel (fx·x′ + cx, fy·y′ + cy).
//! The ENU rotation and the camera axes are folded into one ECEF → camera matrix up front,
//! so a projection is one geodetic conversion, a matrix product and the polynomial.

use serde::Deserialize;
use std::path::Path;
use tessera_storage::feder::Point;

/// WGS-84 semi-major axis (m) and first eccentricity squared.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_141_316e-3;

/// A camera file (TOML).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Height above the WGS-84 ellipsoid.
    pub height_m: f64,
    /// Heading of the optical axis, clockwise from true north.
    pub yaw_deg: f64,
    /// Elevation of the optical axis above the local horizontal.
    pub pitch_deg: f64,
    /// Positive: the camera turned clockwise as seen from behind it.
    #[serde(default)]
    pub roll_deg: f64,
    pub width: u32,
    pub height: u32,
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    #[serde(default)]
    pub k1: f64,
    #[serde(default)]
    pub k2: f64,
    #[serde(default)]
    pub p1: f64,
    #[serde(default)]
    pub p2: f64,
    #[serde(default)]
    pub k3: f64,
    /// UTC = video time + this (the camera clock's error).
    #[serde(default)]
    pub clock_offset_s: f64,
    /// Aircraft farther than this are not reported.
    pub max_range_m: f64,
}

impl Camera {
    /// Read and check a camera file; errors name the file and the field.
    pub fn load(path: &Path) -> anyhow::Result<Camera> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Camera> {
        let camera: Camera =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().replace('\n', " ")))?;
        camera.check()?;
        Ok(camera)
    }

    fn check(&self) -> anyhow::Result<()> {
        let finite = [
            ("lat_deg", self.lat_deg),
            ("lon_deg", self.lon_deg),
            ("height_m", self.height_m),
            ("yaw_deg", self.yaw_deg),
            ("pitch_deg", self.pitch_deg),
            ("roll_deg", self.roll_deg),
            ("fx", self.fx),
            ("fy", self.fy),
            ("cx", self.cx),
            ("cy", self.cy),
            ("k1", self.k1),
            ("k2", self.k2),
            ("p1", self.p1),
            ("p2", self.p2),
            ("k3", self.k3),
            ("clock_offset_s", self.clock_offset_s),
        ];
        if let Some((name, _)) = finite.iter().find(|(_, v)| !v.is_finite()) {
            anyhow::bail!("{name} is not a finite number");
        }
        if !(-90.0..=90.0).contains(&self.lat_deg) {
            anyhow::bail!("lat_deg {} is outside -90 … 90", self.lat_deg);
        }
        if self.fx <= 0.0 || self.fy <= 0.0 {
            anyhow::bail!("fx and fy must be positive");
        }
        if self.width == 0 || self.height == 0 {
            anyhow::bail!("width and height must be positive");
        }
        if self.max_range_m.is_nan() || self.max_range_m <= 0.0 {
            anyhow::bail!("max_range_m must be positive");
        }
        Ok(())
    }
}

/// The demo's sky camera: on a Boston rooftop, looking south-west down the New York corridor
/// at 25° elevation, a 1920×1080 wide lens.
pub const DEMO_CAMERA_TOML: &str = "\
# A sky-facing camera (Tessera demo). Angles in degrees, heights in metres (WGS-84).
lat_deg = 42.3601
lon_deg = -71.0589
height_m = 60.0
yaw_deg = 240.0
pitch_deg = 25.0
roll_deg = 0.0
width = 1920
height = 1080
fx = 1100.0
fy = 1100.0
cx = 960.0
cy = 540.0
k1 = -0.12
k2 = 0.03
p1 = 0.0
p2 = 0.0
k3 = 0.0
clock_offset_s = 0.0
max_range_m = 60000.0
";

/// [`DEMO_CAMERA_TOML`], parsed.
pub fn demo_camera() -> Camera {
    Camera::parse(DEMO_CAMERA_TOML).expect("the demo camera file is valid")
}

/// ECEF coordinates of a geodetic position (degrees, metres above the ellipsoid).
pub fn ecef(lat_deg: f64, lon_deg: f64, height_m: f64) -> [f64; 3] {
    let (sin_lat, cos_lat) = lat_deg.to_radians().sin_cos();
    let (sin_lon, cos_lon) = lon_deg.to_radians().sin_cos();
    let n = WGS84_A / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
    [
        (n + height_m) * cos_lat * cos_lon,
        (n + height_m) * cos_lat * sin_lon,
        (n * (1.0 - WGS84_E2) + height_m) * sin_lat,
    ]
}

/// Where an aircraft appears.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    /// Straight-line distance from the camera.
    pub range_m: f64,
    pub in_front: bool,
    /// Pixel, when in front (it may lie outside the picture).
    pub pixel: Option<(f64, f64)>,
    /// In front and inside `0 ≤ u < width`, `0 ≤ v < height`.
    pub in_frame: bool,
}

/// A camera ready to project: its ECEF origin and ECEF → camera rotation.
#[derive(Clone, Debug)]
pub struct Projector {
    camera: Camera,
    origin: [f64; 3],
    /// Rows: r, −u, f expressed in ECEF.
    rows: [[f64; 3]; 3],
}

impl Projector {
    pub fn new(camera: &Camera) -> Self {
        let (sin_lat, cos_lat) = camera.lat_deg.to_radians().sin_cos();
        let (sin_lon, cos_lon) = camera.lon_deg.to_radians().sin_cos();
        // ENU unit vectors in ECEF.
        let east = [-sin_lon, cos_lon, 0.0];
        let north = [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat];
        let up = [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat];
        let (sin_yaw, cos_yaw) = camera.yaw_deg.to_radians().sin_cos();
        let (sin_pitch, cos_pitch) = camera.pitch_deg.to_radians().sin_cos();
        let (sin_roll, cos_roll) = camera.roll_deg.to_radians().sin_cos();
        let f = [sin_yaw * cos_pitch, cos_yaw * cos_pitch, sin_pitch];
        let r0 = [cos_yaw, -sin_yaw, 0.0];
        let u0 = cross(r0, f);
        let r: [f64; 3] = std::array::from_fn(|i| r0[i] * cos_roll - u0[i] * sin_roll);
        let u: [f64; 3] = std::array::from_fn(|i| u0[i] * cos_roll + r0[i] * sin_roll);
        let to_ecef =
            |v: [f64; 3]| -> [f64; 3] { std::array::from_fn(|i| v[0] * east[i] + v[1] * north[i] + v[2] * up[i]) };
        let down = to_ecef(u).map(|c| -c);
        Projector {
            camera: camera.clone(),
            origin: ecef(camera.lat_deg, camera.lon_deg, camera.height_m),
            rows: [to_ecef(r), down, to_ecef(f)],
        }
    }

    pub fn camera(&self) -> &Camera {
        &self.camera
    }

    /// Where a trajectory's aircraft is at `t` (unix seconds) and where it appears: `None`
    /// when the trajectory does not span `t`, has no height there, or is beyond `max_range_m`.
    pub fn place(&self, points: &[Point], t: f64) -> Option<(Position, Projection)> {
        let position = position_at(points, t)?;
        let projection = self.project(position.lat, position.lon, position.height_m);
        (projection.range_m <= self.camera.max_range_m).then_some((position, projection))
    }

    /// Project a geodetic position (degrees, metres above the ellipsoid).
    #[inline]
    pub fn project(&self, lat_deg: f64, lon_deg: f64, height_m: f64) -> Projection {
        let p = ecef(lat_deg, lon_deg, height_m);
        let d = [p[0] - self.origin[0], p[1] - self.origin[1], p[2] - self.origin[2]];
        let [x, y, z] = self.rows.map(|row| row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
        let range_m = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        if z <= 0.0 {
            return Projection { range_m, in_front: false, pixel: None, in_frame: false };
        }
        let c = &self.camera;
        let (xn, yn) = (x / z, y / z);
        let r2 = xn * xn + yn * yn;
        let radial = 1.0 + r2 * (c.k1 + r2 * (c.k2 + r2 * c.k3));
        let xd = xn * radial + 2.0 * c.p1 * xn * yn + c.p2 * (r2 + 2.0 * xn * xn);
        let yd = yn * radial + c.p1 * (r2 + 2.0 * yn * yn) + 2.0 * c.p2 * xn * yn;
        let (u, v) = (c.fx * xd + c.cx, c.fy * yd + c.cy);
        let in_frame = (0.0..f64::from(c.width)).contains(&u) && (0.0..f64::from(c.height)).contains(&v);
        Projection { range_m, in_front: true, pixel: Some((u, v)), in_frame }
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// An aircraft's position at an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    pub height_m: f64,
}

/// The position at `t` (unix seconds), linearly interpolated in latitude, longitude and height
/// between the two points that bracket it (a point at exactly `t` is used as is). `None` when
/// the trajectory does not span `t` (no extrapolation) or a bracketing point has no height.
/// `points` are time-ordered.
pub fn position_at(points: &[Point], t: f64) -> Option<Position> {
    let (first, last) = (points.first()?, points.last()?);
    if t < f64::from(first.time) || t > f64::from(last.time) {
        return None;
    }
    let after = points.partition_point(|p| f64::from(p.time) <= t);
    let a = &points[after - 1]; // after ≥ 1: first.time ≤ t
    if f64::from(a.time) == t || after == points.len() {
        return Some(Position { lat: a.lat, lon: a.lon, height_m: a.height_m()? });
    }
    let b = &points[after];
    let (ha, hb) = (a.height_m()?, b.height_m()?);
    let w = (t - f64::from(a.time)) / f64::from(b.time - a.time);
    let lerp = |x: f64, y: f64| x + (y - x) * w;
    Some(Position { lat: lerp(a.lat, b.lat), lon: lerp(a.lon, b.lon), height_m: lerp(ha, hb) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tessera_storage::feder::MISSING;

    fn camera() -> Camera {
        Camera::parse(
            "lat_deg = 42.36\nlon_deg = -71.06\nheight_m = 20.0\nyaw_deg = 90.0\npitch_deg = 0.0\n\
             width = 1000\nheight = 800\nfx = 500.0\nfy = 500.0\ncx = 500.0\ncy = 400.0\nmax_range_m = 50000.0\n",
        )
        .unwrap()
    }

    #[test]
    fn an_aircraft_straight_ahead_is_at_the_principal_point() {
        let cam = camera();
        let proj = Projector::new(&cam);
        // Due east, at the camera's height above the ellipsoid plus the curvature drop.
        let p = proj.project(42.36, -71.0, 20.0 + 25.0);
        let (u, v) = p.pixel.unwrap();
        assert!((u - 500.0).abs() < 0.5, "{u}");
        assert!(v < 400.0, "above the horizon line appears higher: {v}");
        assert!(p.in_front && p.in_frame);
        let behind = proj.project(42.36, -71.2, 1000.0);
        assert!(!behind.in_front && behind.pixel.is_none() && !behind.in_frame);
    }

    #[test]
    fn bad_camera_files_name_the_field() {
        let err = Camera::parse("lat_deg = 1.0").unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
        let polar = DEMO_CAMERA_TOML.replace("lat_deg = 42.3601", "lat_deg = 95.0");
        let err = Camera::parse(&polar).unwrap_err().to_string();
        assert!(err.contains("lat_deg"), "{err}");
        let err = Camera::parse("lat_deg = 1.0\nbogus = 2").unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn positions_interpolate_and_never_extrapolate() {
        let p = |time: u32, lat: f64, alt: f64, alt_gnss: f64| Point {
            time,
            lon: -71.0,
            lat,
            alt,
            alt_gnss,
            heading: MISSING,
            on_ground: false,
        };
        let pts = [p(100, 42.0, 1000.0, MISSING), p(110, 43.0, 2000.0, 3000.0), p(130, 44.0, MISSING, MISSING)];
        let at = |t| position_at(&pts, t);
        assert_eq!(at(99.9), None);
        assert_eq!(at(100.0), Some(Position { lat: 42.0, lon: -71.0, height_m: 1000.0 * 0.3048 }));
        let mid = at(105.0).unwrap();
        assert!((mid.lat - 42.5).abs() < 1e-12 && (mid.height_m - 2000.0 * 0.3048).abs() < 1e-9);
        assert_eq!(at(110.0).unwrap().height_m, 3000.0 * 0.3048); // alt_gnss wins
        assert_eq!(at(120.0), None, "a bracketing point without height drops the aircraft");
        assert_eq!(at(130.5), None);
    }
}

/// Against `tests/fixtures/projection/golden.json`, computed independently by
/// `scripts/projection_golden.py` (pyproj for ECEF, an Euler-angle rotation matrix and
/// OpenCV's `projectPoints` for the lens).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod golden {
    use super::*;

    #[test]
    fn projection_matches_an_independent_implementation_to_a_hundredth_of_a_pixel() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/projection");
        let text = std::fs::read_to_string(dir.join("golden.json")).unwrap();
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert!(cases.len() >= 100);
        let mut in_frame = 0;
        for case in &cases {
            let camera = Camera::load(&dir.join(case["camera"].as_str().unwrap())).unwrap();
            let f = |k: &str| case[k].as_f64().unwrap();
            let p = Projector::new(&camera).project(f("lat"), f("lon"), f("height_m"));
            assert!((p.range_m - f("range_m")).abs() < 1e-6 * f("range_m").max(1.0), "{case}");
            assert_eq!(p.in_front, case["in_front"].as_bool().unwrap(), "{case}");
            match p.pixel {
                None => assert!(case["u"].is_null() && case["v"].is_null(), "{case}"),
                Some((u, v)) => {
                    // 0.01 px, or relative for the far-off-image points the polynomial throws
                    // to 1e15 px (float rounding scales with the value there).
                    let close = |a: f64, b: f64| (a - b).abs() <= 0.01_f64.max(1e-9 * b.abs());
                    assert!(close(u, f("u")) && close(v, f("v")), "({u}, {v}) vs {case}");
                    in_frame += usize::from(p.in_frame);
                }
            }
        }
        assert!(in_frame >= 30, "the goldens exercise the picture: {in_frame}");
    }
}

//! Synthetic air traffic in feder's format: flights along great circles between real
//! airports (a third of them through Boston), climbing, cruising and descending, sampled every
//! 10–60 s like FlightAware and Spire feeds, with their quirks (Spire has no heading, some
//! points lack `alt_gnss` or `alt`, the odd duplicate time). Deterministic for a seed. Used by
//! the demo, `tessera traj synth` (benchmark data) and tests.

use super::points::{MISSING, Point};
use super::writer::NewTrajectory;

/// ICAO code, latitude, longitude.
const AIRPORTS: &[(&str, f64, f64)] = &[
    ("KBOS", 42.3656, -71.0096),
    ("KJFK", 40.6413, -73.7781),
    ("KLGA", 40.7769, -73.8740),
    ("KEWR", 40.6895, -74.1745),
    ("KPHL", 39.8744, -75.2424),
    ("KDCA", 38.8512, -77.0402),
    ("KIAD", 38.9531, -77.4565),
    ("KBWI", 39.1774, -76.6684),
    ("KPVD", 41.7240, -71.4283),
    ("KBDL", 41.9389, -72.6832),
    ("KPWM", 43.6462, -70.3093),
    ("KMHT", 42.9326, -71.4357),
    ("KBTV", 44.4720, -73.1533),
    ("KALB", 42.7483, -73.8017),
    ("KBUF", 42.9397, -78.7295),
    ("CYUL", 45.4706, -73.7408),
    ("CYYZ", 43.6777, -79.6248),
    ("CYHZ", 44.8808, -63.5086),
    ("KORD", 41.9742, -87.9073),
    ("KATL", 33.6407, -84.4277),
    ("KCLT", 35.2144, -80.9473),
    ("KMCO", 28.4312, -81.3081),
    ("KMIA", 25.7959, -80.2870),
    ("KDFW", 32.8998, -97.0403),
    ("KDEN", 39.8561, -104.6737),
    ("KLAX", 33.9416, -118.4085),
    ("KSFO", 37.6213, -122.3790),
    ("KSEA", 47.4502, -122.3088),
    ("KDTW", 42.2162, -83.3554),
    ("KMSP", 44.8848, -93.2223),
    ("EGLL", 51.4700, -0.4543),
    ("EIDW", 53.4264, -6.2499),
    ("LFPG", 49.0097, 2.5479),
    ("EDDF", 50.0379, 8.5622),
    ("BIKF", 63.9850, -22.6056),
];
const AIRLINES: &[&str] = &["DAL", "AAL", "UAL", "JBU", "SWA", "ACA", "BAW", "AFR", "DLH", "NKS", "ASA", "FFT"];
const TYPES: &[&str] = &["A320", "B738", "A321", "E75L", "B739", "A20N", "B77W", "A333", "CRJ9", "B38M"];
const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// splitmix64: small, fast and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// `flights` flights departing during a UTC day (days since 1970-01-01).
pub fn day_of_traffic(day: i64, flights: usize, seed: u64) -> Vec<NewTrajectory> {
    let mut rng = Rng::new(seed ^ (day as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    (0..flights)
        .map(|i| {
            let from = if rng.unit() < 0.35 { 0 } else { rng.below(AIRPORTS.len()) };
            let mut to = rng.below(AIRPORTS.len());
            while to == from {
                to = rng.below(AIRPORTS.len());
            }
            let (from, to) = if rng.unit() < 0.5 { (from, to) } else { (to, from) };
            let departs = day * 86_400 + rng.below(86_400) as i64;
            flight(&mut rng, day, i, AIRPORTS[from], AIRPORTS[to], departs)
        })
        .collect()
}

/// One flight between two airports departing at `departs` (unix seconds).
pub fn flight(
    rng: &mut Rng,
    day: i64,
    serial: usize,
    from: (&str, f64, f64),
    to: (&str, f64, f64),
    departs: i64,
) -> NewTrajectory {
    let (a, b) = ((from.1.to_radians(), from.2.to_radians()), (to.1.to_radians(), to.2.to_radians()));
    let angle = central_angle(a, b);
    let distance = angle * EARTH_RADIUS_M;
    let speed = rng.range(200.0, 250.0); // m/s
    let duration = (distance / speed + 900.0) as i64;
    let cruise_ft = (rng.range(280.0, 390.0) as i64 * 100) as f64;
    let spire = rng.unit() < 0.3;
    let step_lo = if spire { 10.0 } else { 30.0 };
    let step_hi = if spire { 30.0 } else { 60.0 };
    let gnss_offset = rng.range(100.0, 600.0);
    let no_gnss = rng.unit() < 0.3;
    let airline = AIRLINES[rng.below(AIRLINES.len())];
    let mut points: Vec<Point> = Vec::new();
    let mut t = departs;
    let mut previous: Option<(f64, f64)> = None;
    while t <= departs + duration {
        let f = (t - departs) as f64 / duration as f64;
        let (lat, lon) = slerp(a, b, angle, f);
        let (lat, lon) = (lat.to_degrees(), lon.to_degrees());
        let since = (t - departs) as f64;
        let until = (departs + duration - t) as f64;
        // 2 000 ft/min up, 1 500 ft/min down, cruise between.
        let alt = (since / 60.0 * 2000.0).min(until / 60.0 * 1500.0).min(cruise_ft).max(0.0);
        let heading = match previous {
            Some((plat, plon)) if !spire => bearing(plat, plon, lat, lon),
            _ if spire => MISSING,
            _ => bearing(lat, lon, to.1, to.2),
        };
        let on_ground = !spire && alt < 50.0;
        let point = Point {
            time: t as u32,
            lon,
            lat,
            alt: if rng.unit() < 0.02 { MISSING } else { alt.round() },
            alt_gnss: if no_gnss { MISSING } else { (alt + gnss_offset).round() },
            heading,
            on_ground,
        };
        points.push(point);
        if rng.unit() < 0.005 {
            points.push(Point { lat: lat + 0.01, ..point }); // a duplicate time: readers keep the first
        }
        previous = Some((lat, lon));
        t += rng.range(step_lo, step_hi) as i64;
        if points.len() >= usize::from(u16::MAX) - 1 {
            break;
        }
    }
    let number = 100 + rng.below(8900);
    NewTrajectory {
        source: if spire { 2 } else { 1 },
        source_id: format!("{}{number}-{}-{serial}", airline, super::store::day_name(day)),
        transponder_id: Some(format!("{:06x}", rng.next_u64() & 0xff_ffff)),
        orig: Some(from.0.to_string()),
        dest: Some(to.0.to_string()),
        callsign: format!("{airline}{number}"),
        aircraft_type: Some(TYPES[rng.below(TYPES.len())].to_string()),
        points,
    }
}

fn central_angle((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin()
}

/// The point a fraction `f` along the great circle from `a` to `b` (radians).
fn slerp((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64), angle: f64, f: f64) -> (f64, f64) {
    if angle < 1e-12 {
        return (lat1, lon1);
    }
    let (wa, wb) = (((1.0 - f) * angle).sin() / angle.sin(), (f * angle).sin() / angle.sin());
    let x = wa * lat1.cos() * lon1.cos() + wb * lat2.cos() * lon2.cos();
    let y = wa * lat1.cos() * lon1.sin() + wb * lat2.cos() * lon2.sin();
    let z = wa * lat1.sin() + wb * lat2.sin();
    (z.atan2((x * x + y * y).sqrt()), y.atan2(x))
}

/// Initial bearing in degrees from one point to another (degrees in).
fn bearing(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2, dl) = (lat1.to_radians(), lat2.to_radians(), (lon2 - lon1).to_radians());
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

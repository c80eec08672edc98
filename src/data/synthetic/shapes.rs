//! "Shapes": images of one simple shape (circle, square, triangle, cross, ring) on a textured
//! background (stripes, checkerboard or noise), labelled by the shape (or, with
//! `Fill::Surface` or `Fill::Tiled`, by the pattern on the object, whatever its shape). The object covers only
//! part of the image (random position, scale and rotation) and its pixel mask comes with every
//! sample, so attention maps can be scored as segmentations.
//!
//! Sample `i` depends only on `(seed, i)`: the dataset has any length without being stored, and
//! labels cycle through the shapes (`i % 5`), so every class has the same count (±1).

use crate::data::batch::ImageDataset;
use crate::data::image_u8::ImageU8;
use crate::data::synthetic::{next_f64, unit_vector};
use crate::error::{Error, Result};
use crate::model::config::CrateConfig;
use crate::rng::{fnv1a64, SplitMix64};

/// The classes, in label order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Cross,
    Ring,
}

impl Shape {
    /// All shapes; `ALL[label]` is the shape of label `label`.
    pub const ALL: [Shape; 5] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Cross,
        Shape::Ring,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
            Shape::Cross => "cross",
            Shape::Ring => "ring",
        }
    }

    /// Whether the point (u, v), in units of the shape's radius around its centre (already
    /// rotated into the shape's frame), is inside. Every shape fits in the unit disc.
    pub fn contains(self, u: f64, v: f64) -> bool {
        let r2 = u * u + v * v;
        match self {
            Shape::Circle => r2 <= 1.0,
            Shape::Ring => (0.3..=1.0).contains(&r2),
            Shape::Square => u.abs() <= 0.7 && v.abs() <= 0.7,
            Shape::Cross => {
                (u.abs() <= 0.3 && v.abs() <= 0.95) || (v.abs() <= 0.3 && u.abs() <= 0.95)
            }
            // Equilateral, circumradius 1 (inradius 1/2): inside all three edges, whose outward
            // normals point at −90°, 30° and 150°.
            Shape::Triangle => {
                let h = 3f64.sqrt() / 2.0;
                -v <= 0.5 && h * u + 0.5 * v <= 0.5 && -h * u + 0.5 * v <= 0.5
            }
        }
    }
}

/// Background textures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Texture {
    Stripes,
    Checker,
    Noise,
}

impl Texture {
    pub const ALL: [Texture; 3] = [Texture::Stripes, Texture::Checker, Texture::Noise];
}

/// What fills the object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fill {
    /// One flat colour (with a little per-pixel jitter): the class is only in the outline.
    #[default]
    Flat,
    /// A two-colour pattern of the class's own kind (circle: stripes, square: checker,
    /// triangle: noise, cross: dots, ring: grid lines), at a random angle, period and phase,
    /// on the object's side of mid-gray: the class is in the surface as well as the outline,
    /// as for most things in photographs (a zebra's stripes, a leopard's spots).
    Class,
    /// The class is the surface alone: one of five patterns no background has (dots, grid,
    /// speckle, blobs, rings around the object's centre), drawn like `Class`'s, on a shape
    /// chosen at random. Labels name the pattern (`Surface::ALL`), not the shape.
    Surface,
    /// The class is the surface alone, as with `Surface`, but every pattern (dots, grid, blobs,
    /// crosses, frames: `Surface::TILED`) repeats every 4 or 8 pixels along the image's axes,
    /// so every patch of a model with patches of 8 (or 4, 16, …) that lies inside the object
    /// shows the same piece of it, as the inside of a flat object does.
    Tiled,
}

impl Fill {
    pub const ALL: [Fill; 4] = [Fill::Flat, Fill::Class, Fill::Surface, Fill::Tiled];

    /// The fill named `name` (as `name` writes it, the CLI's `--object-fill` values).
    pub fn from_name(name: &str) -> Option<Fill> {
        Fill::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The pattern classes when the pattern alone is the class (`Surface`, `Tiled`), in label
    /// order; `None` when the shape is.
    pub fn surface_classes(self) -> Option<[Surface; 5]> {
        match self {
            Fill::Surface => Some(Surface::ALL),
            Fill::Tiled => Some(Surface::TILED),
            Fill::Flat | Fill::Class => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fill::Flat => "flat",
            Fill::Class => "class",
            Fill::Surface => "surface",
            Fill::Tiled => "tiled",
        }
    }
}

/// The object patterns: `Fill::Class` gives each shape one of the first five, `Fill::Surface`
/// makes five others the classes (`Surface::ALL`), `Fill::Tiled` five tiled ones
/// (`Surface::TILED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Surface {
    Stripes,
    Checker,
    Noise,
    /// 2×2 dots on a square lattice.
    Dots,
    /// One-pixel grid lines.
    Grid,
    /// Sparse single pixels (about one in seven).
    Speckle,
    /// 3×3 blocks on a square lattice, spaced wider than the dots.
    Blobs,
    /// Rings around the object's centre.
    Rings,
    /// Plus signs three pixels across, eight pixels apart (`Fill::Tiled` only).
    Crosses,
    /// Hollow four-pixel squares, eight pixels apart (`Fill::Tiled` only).
    Frames,
}

impl Surface {
    /// The classes of `Fill::Surface`, in label order: none is a background texture.
    pub const ALL: [Surface; 5] = [
        Surface::Dots,
        Surface::Grid,
        Surface::Speckle,
        Surface::Blobs,
        Surface::Rings,
    ];

    /// The classes of `Fill::Tiled`, in label order.
    pub const TILED: [Surface; 5] = [
        Surface::Dots,
        Surface::Grid,
        Surface::Blobs,
        Surface::Crosses,
        Surface::Frames,
    ];

    /// A shape's pattern under `Fill::Class`.
    fn of_shape(shape: Shape) -> Self {
        match shape {
            Shape::Circle => Surface::Stripes,
            Shape::Square => Surface::Checker,
            Shape::Triangle => Surface::Noise,
            Shape::Cross => Surface::Dots,
            Shape::Ring => Surface::Grid,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Surface::Stripes => "stripes",
            Surface::Checker => "checker",
            Surface::Noise => "noise",
            Surface::Dots => "dots",
            Surface::Grid => "grid",
            Surface::Speckle => "speckle",
            Surface::Blobs => "blobs",
            Surface::Rings => "rings",
            Surface::Crosses => "crosses",
            Surface::Frames => "frames",
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapesConfig {
    /// Image size [h, w].
    pub size: [usize; 2],
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Number of samples.
    pub len: usize,
    pub seed: u64,
    /// Range of the shape's radius as a fraction of half the shorter side.
    pub min_scale: f32,
    pub max_scale: f32,
    /// What fills the object.
    pub fill: Fill,
}

impl Default for ShapesConfig {
    /// 10,000 RGB 32×32 images (the `crate-c32` preset's input).
    fn default() -> Self {
        Self {
            size: [32, 32],
            channels: 3,
            len: 10_000,
            seed: 0,
            min_scale: 0.3,
            max_scale: 0.6,
            fill: Fill::Flat,
        }
    }
}

impl ShapesConfig {
    /// The same with the object radius drawn from `[min, max]` (fractions of half the shorter
    /// side; `None` keeps the default 0.3 to 0.6). Larger objects are easier to classify and
    /// cover more of the patch grid.
    pub fn with_scale(self, scale: Option<[f32; 2]>) -> Self {
        match scale {
            Some([min_scale, max_scale]) => Self {
                min_scale,
                max_scale,
                ..self
            },
            None => self,
        }
    }

    /// The same with the objects filled by `fill`.
    pub fn with_fill(self, fill: Fill) -> Self {
        Self { fill, ..self }
    }

    /// Images at a model's input size and channels.
    pub fn for_model(cfg: &CrateConfig, len: usize, seed: u64) -> Self {
        Self {
            size: cfg.image,
            channels: cfg.channels,
            len,
            seed,
            ..Self::default()
        }
    }
}

/// One generated image and its ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeSample {
    pub image: ImageU8,
    /// `h * w` values, 1 where the object is, 0 for background.
    pub mask: Vec<u8>,
    pub label: usize,
    pub shape: Shape,
    pub texture: Texture,
    /// Centre (y, x) in pixels and radius in pixels.
    pub center: (f32, f32),
    pub radius: f32,
}

impl ShapeSample {
    /// Fraction of the image the object covers.
    pub fn coverage(&self) -> f32 {
        self.mask.iter().map(|&m| m as usize).sum::<usize>() as f32 / self.mask.len().max(1) as f32
    }

    /// Fraction of each `patch`×`patch` patch the object covers, row-major over the patch grid
    /// (partial patches at the right and bottom edges are left out, as the model does).
    pub fn patch_mask(&self, patch: usize) -> Vec<f32> {
        let (h, w) = (self.image.height, self.image.width);
        let patch = patch.max(1);
        let (gh, gw) = (h / patch, w / patch);
        let mut out = vec![0.0f32; gh * gw];
        for (g, o) in out.iter_mut().enumerate() {
            let (py, px) = (g / gw, g % gw);
            let mut n = 0usize;
            for y in py * patch..(py + 1) * patch {
                for x in px * patch..(px + 1) * patch {
                    n += self.mask[y * w + x] as usize;
                }
            }
            *o = n as f32 / (patch * patch) as f32;
        }
        out
    }
}

/// The shapes dataset: samples generated on demand from `(seed, index)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapesDataset {
    pub config: ShapesConfig,
}

impl ShapesDataset {
    pub fn new(config: ShapesConfig) -> Result<Self> {
        let c = &config;
        let bad = |m: String| Err(Error::Dataset(format!("shapes: {m}")));
        if c.channels != 1 && c.channels != 3 {
            return bad(format!("channels must be 1 or 3, not {}", c.channels));
        }
        if c.size[0] < 8 || c.size[1] < 8 || c.size[0] > 4096 || c.size[1] > 4096 {
            return bad(format!(
                "image size {}x{} is outside 8..=4096",
                c.size[1], c.size[0]
            ));
        }
        if !(c.min_scale > 0.0 && c.min_scale <= c.max_scale && c.max_scale <= 1.0) {
            return bad(format!(
                "scales must satisfy 0 < min_scale <= max_scale <= 1 (got {} and {})",
                c.min_scale, c.max_scale
            ));
        }
        Ok(Self { config })
    }

    /// Number of classes (5).
    pub fn classes(&self) -> usize {
        Shape::ALL.len()
    }

    /// The class names, in label order: the shapes, or the patterns where they are the class.
    pub fn class_names(&self) -> Vec<String> {
        match self.config.fill.surface_classes() {
            Some(classes) => classes.iter().map(|s| s.name().to_string()).collect(),
            None => Shape::ALL.iter().map(|s| s.name().to_string()).collect(),
        }
    }

    /// Sample `i` (any `i`; indices past `len` continue the same sequence).
    pub fn sample(&self, i: usize) -> ShapeSample {
        let c = &self.config;
        let (h, w, ch) = (c.size[0], c.size[1], c.channels);
        let base = SplitMix64::new(c.seed ^ fnv1a64("shapes")).next_u64();
        let mut rng = SplitMix64::new(base ^ i as u64);
        let label = i % Shape::ALL.len();
        // The pattern and (for surface classes) the shape draw from streams of their own, so
        // that flat objects are the same images whatever the fill options.
        let (shape, surface) = match (c.fill, c.fill.surface_classes()) {
            (_, Some(classes)) => {
                let mut pick = SplitMix64::new(base ^ i as u64 ^ fnv1a64("shapes surface shape"));
                (
                    Shape::ALL[pick.below(Shape::ALL.len())],
                    Some(classes[label]),
                )
            }
            (Fill::Class, None) => (
                Shape::ALL[label],
                Some(Surface::of_shape(Shape::ALL[label])),
            ),
            _ => (Shape::ALL[label], None),
        };

        // Geometry: radius, centre (the shape stays inside the image), rotation.
        let half = h.min(w) as f64 / 2.0;
        let scale = c.min_scale as f64 + (c.max_scale - c.min_scale) as f64 * next_f64(&mut rng);
        let r = (scale * half).max(1.5);
        let place = |side: usize, rng: &mut SplitMix64| {
            let room = side as f64 - 2.0 * r;
            if room > 0.0 {
                r + room * next_f64(rng)
            } else {
                side as f64 / 2.0
            }
        };
        let cy = place(h, &mut rng);
        let cx = place(w, &mut rng);
        let (cos, sin) = unit_vector(&mut rng);

        // Colours: object and background on opposite sides of mid-gray, in every channel.
        let bright = rng.below(2) == 1;
        let mut colour = |hi: bool| -> Vec<u8> {
            (0..ch)
                .map(|_| {
                    if hi {
                        (150 + rng.below(106)) as u8
                    } else {
                        rng.below(106) as u8
                    }
                })
                .collect()
        };
        let obj = colour(bright);
        let bg_a = colour(!bright);
        let bg_b = colour(!bright);

        // Background texture.
        let texture = Texture::ALL[rng.below(Texture::ALL.len())];
        let (sc, ss) = unit_vector(&mut rng);
        let period = 3.0 + rng.below(6) as f64;
        let phase = next_f64(&mut rng);
        let cell = 2 + rng.below(5);
        let (ox, oy) = (rng.below(cell), rng.below(cell));
        let pattern = surface.map(|kind| {
            let mut fill_rng = SplitMix64::new(base ^ i as u64 ^ fnv1a64("shapes fill"));
            let pattern = Pattern::draw(kind, &obj, bright, (cx, cy), &mut fill_rng);
            if c.fill == Fill::Tiled {
                pattern.tiled()
            } else {
                pattern
            }
        });

        let mut image = ImageU8::zeros(h, w, ch);
        let mut mask = vec![0u8; h * w];
        for y in 0..h {
            for x in 0..w {
                let (py, px) = (y as f64 + 0.5, x as f64 + 0.5);
                let (dy, dx) = ((py - cy) / r, (px - cx) / r);
                let (u, v) = (cos * dx + sin * dy, -sin * dx + cos * dy);
                let inside = shape.contains(u, v);
                // Draw the per-pixel randomness whatever the pixel shows, so that the stream does
                // not depend on the shape.
                let t = rng.below(256);
                let jitter = rng.below(25) as i32 - 12;
                let o = (y * w + x) * ch;
                if inside {
                    mask[y * w + x] = 1;
                    let colour = match &pattern {
                        Some(p) => p.colour(x, y, t),
                        None => &obj,
                    };
                    for (dst, &c) in image.pixels[o..o + ch].iter_mut().zip(colour) {
                        *dst = (c as i32 + jitter).clamp(0, 255) as u8;
                    }
                    continue;
                }
                for k in 0..ch {
                    let (a, b) = (bg_a[k] as usize, bg_b[k] as usize);
                    image.pixels[o + k] = match texture {
                        Texture::Stripes => {
                            if stripe(px, py, (sc, ss), period, phase) {
                                b as u8
                            } else {
                                a as u8
                            }
                        }
                        Texture::Checker => {
                            if checker(x, y, cell, (ox, oy)) {
                                b as u8
                            } else {
                                a as u8
                            }
                        }
                        Texture::Noise => ((a * (255 - t) + b * t) / 255) as u8,
                    };
                }
            }
        }
        ShapeSample {
            image,
            mask,
            label,
            shape,
            texture,
            center: (cy as f32, cx as f32),
            radius: r as f32,
        }
    }
}

/// Whether `coord` (pixels) lies on the second colour of bands `period` pixels a pair, shifted
/// by `phase` bands: stripes across a direction, rings around a centre.
fn band(coord: f64, period: f64, phase: f64) -> bool {
    ((coord / (period / 2.0) + phase).floor() as i64).rem_euclid(2) == 1
}

/// Whether pixel centre (px, py) lies on the second colour of stripes across direction `dir`
/// (cos, sin), `period` pixels a pair, shifted by `phase` stripes (backgrounds and patterns).
fn stripe(px: f64, py: f64, dir: (f64, f64), period: f64, phase: f64) -> bool {
    band(px * dir.0 + py * dir.1, period, phase)
}

/// Whether pixel (x, y) lies on the second colour of a checkerboard of `cell`-pixel squares
/// shifted by `offset` (backgrounds and patterns).
fn checker(x: usize, y: usize, cell: usize, offset: (usize, usize)) -> bool {
    !((x + offset.0) / cell + (y + offset.1) / cell).is_multiple_of(2)
}

/// Whether pixel (x, y) lies in one of the `size`×`size` squares of a lattice `spacing` pixels
/// apart, shifted by `offset` (dots and blobs).
fn lattice(x: usize, y: usize, size: usize, spacing: usize, offset: (usize, usize)) -> bool {
    (x + offset.0) % spacing < size && (y + offset.1) % spacing < size
}

/// The second colour of an object's pattern: 50 from `first` in every channel, inside the same
/// half of the range as a bright ([150, 255]) or dark ([0, 105]) object, so the pattern shows in
/// every channel and the object stays on its side of mid-gray.
pub fn partner_colour(first: &[u8], bright: bool) -> Vec<u8> {
    let mid = if bright { 202 } else { 52 };
    first
        .iter()
        .map(|&c| {
            if c < mid {
                c.saturating_add(50)
            } else {
                c - 50
            }
        })
        .collect()
}

/// Whether pixel (x, y) of an image shows the second colour of the tiled pattern `kind`
/// (`Fill::Tiled`, `Surface::TILED`; false for the others): 2×2 dots and one-pixel grid lines
/// every 4 pixels, 3×3 blobs, three-pixel plus signs and hollow 4×4 frames every 8, from the
/// image's corner. The drawing pad's pattern brushes paint the same tiles.
pub fn tiled_second(kind: Surface, x: usize, y: usize) -> bool {
    let (x, y) = (x % 8, y % 8);
    match kind {
        Surface::Dots => x % 4 < 2 && y % 4 < 2,
        Surface::Grid => x % 4 == 0 || y % 4 == 0,
        Surface::Blobs => x < 3 && y < 3,
        Surface::Crosses => (x == 1 && y < 3) || (y == 1 && x < 3),
        Surface::Frames => x < 4 && y < 4 && (x % 3 == 0 || y % 3 == 0),
        _ => false,
    }
}

/// An object's surface pattern (`Fill::Class`, `Fill::Surface`, `Fill::Tiled`): two colours on
/// the object's side of mid-gray.
struct Pattern {
    kind: Surface,
    a: Vec<u8>,
    b: Vec<u8>,
    /// Direction (cos, sin) and period of the stripes (pixels).
    dir: (f64, f64),
    period: f64,
    /// Checker cell; dot, blob and grid spacing (pixels).
    cell: usize,
    spacing: usize,
    phase: f64,
    offset: (usize, usize),
    /// The object's centre (x, y) in pixels, for rings.
    center: (f64, f64),
    /// Repeats every 4 or 8 pixels along the axes (`Fill::Tiled`).
    tiled: bool,
}

impl Pattern {
    fn draw(
        kind: Surface,
        obj: &[u8],
        bright: bool,
        center: (f64, f64),
        rng: &mut SplitMix64,
    ) -> Self {
        let b = partner_colour(obj, bright);
        let dir = unit_vector(rng);
        let period = 3.0 + rng.below(4) as f64;
        let cell = 2 + rng.below(3);
        let spacing = 4 + rng.below(3);
        let phase = next_f64(rng);
        let offset = (rng.below(spacing), rng.below(spacing));
        Self {
            kind,
            a: obj.to_vec(),
            b,
            dir,
            period,
            cell,
            spacing,
            phase,
            offset,
            center,
            tiled: false,
        }
    }

    /// The same kind of pattern fixed to the image's 8-pixel grid ([`tiled_second`]).
    fn tiled(self) -> Self {
        Self {
            tiled: true,
            ..self
        }
    }

    /// The colour at pixel (x, y); `t` is the pixel's noise draw (0..256).
    fn colour(&self, x: usize, y: usize, t: usize) -> &[u8] {
        let s = self.spacing;
        let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
        let second = match self.kind {
            _ if self.tiled => tiled_second(self.kind, x, y),
            Surface::Crosses | Surface::Frames => tiled_second(self.kind, x, y),
            Surface::Stripes => stripe(px, py, self.dir, self.period, self.phase),
            Surface::Checker => checker(x, y, self.cell, self.offset),
            Surface::Noise => t >= 128,
            Surface::Dots => lattice(x, y, 2, s, self.offset),
            Surface::Grid => {
                (x + self.offset.0).is_multiple_of(s) || (y + self.offset.1).is_multiple_of(s)
            }
            Surface::Speckle => t >= 220,
            Surface::Blobs => lattice(x, y, 3, s + 3, self.offset),
            Surface::Rings => band(
                (px - self.center.0).hypot(py - self.center.1),
                self.period,
                self.phase,
            ),
        };
        if second {
            &self.b
        } else {
            &self.a
        }
    }
}

impl ImageDataset for ShapesDataset {
    fn len(&self) -> usize {
        self.config.len
    }
    fn image(&self, i: usize) -> ImageU8 {
        self.sample(i).image
    }
    fn label(&self, i: usize) -> usize {
        i % Shape::ALL.len()
    }
    fn class_names(&self) -> Vec<String> {
        ShapesDataset::class_names(self)
    }
    fn mask(&self, i: usize) -> Option<Vec<bool>> {
        Some(self.sample(i).mask.iter().map(|&m| m != 0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_fit_in_the_unit_disc_and_contain_points() {
        for s in Shape::ALL {
            let mut inside = 0;
            for i in 0..100 {
                for j in 0..100 {
                    let (u, v) = (i as f64 / 40.0 - 1.25, j as f64 / 40.0 - 1.25);
                    if s.contains(u, v) {
                        assert!(u * u + v * v <= 1.0 + 1e-9, "{s:?} at {u},{v}");
                        inside += 1;
                    }
                }
            }
            assert!(inside > 500, "{s:?}: {inside}");
        }
    }

    /// `len` 64×64 images of objects at the bundled model's scale (0.5–0.9).
    fn large_objects(len: usize, seed: u64) -> ShapesConfig {
        ShapesConfig {
            size: [64, 64],
            len,
            seed,
            min_scale: 0.5,
            max_scale: 0.9,
            ..Default::default()
        }
    }

    /// Which of a pattern's two colours an object pixel `b` shows (0: the flat object's colour
    /// `a`, 1: its partner 50 away), once both are checked to stay on the object's side of
    /// mid-gray (jitter of ±12 aside), so the object still differs from the background in
    /// brightness.
    fn pattern_level(a: &[u8], b: &[u8], image: usize) -> usize {
        let bright = a[0] >= 128;
        for &v in b {
            assert!(
                if bright { v >= 138 } else { v <= 117 },
                "image {image}: {v}"
            );
        }
        usize::from((b[0] as i32 - a[0] as i32).abs() > 25)
    }

    #[test]
    fn class_fill_patterns_the_object_and_nothing_else() {
        let cfg = large_objects(50, 7);
        let flat = ShapesDataset::new(cfg.clone()).unwrap();
        let class = ShapesDataset::new(cfg.with_fill(Fill::Class)).unwrap();
        for i in 0..50 {
            let (f, c) = (flat.sample(i), class.sample(i));
            // The same geometry, mask, label and background: only the object's pixels change.
            assert_eq!((f.label, f.center, f.radius), (c.label, c.center, c.radius));
            assert_eq!(f.mask, c.mask, "image {i}");
            let mut changed = 0;
            let mut levels = [0usize; 2];
            for (p, &m) in f.mask.iter().enumerate() {
                let (a, b) = (
                    &f.image.pixels[p * 3..p * 3 + 3],
                    &c.image.pixels[p * 3..p * 3 + 3],
                );
                if m == 0 {
                    assert_eq!(a, b, "image {i}: background pixel {p} changed");
                    continue;
                }
                changed += usize::from(a != b);
                levels[pattern_level(a, b, i)] += 1;
            }
            let inside = f.mask.iter().filter(|&&m| m == 1).count();
            assert!(
                changed * 12 > inside,
                "image {i}: {changed} of {inside} changed"
            );
            assert!(
                levels[0] * 12 > inside && levels[1] * 12 > inside,
                "{i}: {levels:?}"
            );
        }
    }

    #[test]
    fn surface_fill_names_the_pattern_on_any_shape() {
        let cfg = large_objects(100, 3);
        let flat = ShapesDataset::new(cfg.clone()).unwrap();
        let surface = ShapesDataset::new(cfg.with_fill(Fill::Surface)).unwrap();
        assert_eq!(
            surface.class_names(),
            ["dots", "grid", "speckle", "blobs", "rings"]
        );
        assert_eq!(flat.class_names()[0], "circle");
        let mut shapes = [[0usize; 5]; 5];
        for i in 0..100 {
            let (f, s) = (flat.sample(i), surface.sample(i));
            assert_eq!(s.label, i % 5);
            shapes[s.label][Shape::ALL.iter().position(|&x| x == s.shape).unwrap()] += 1;
            // The same place, size and background; the mask is the drawn shape's.
            assert_eq!(
                (f.center, f.radius, f.texture),
                (s.center, s.radius, s.texture)
            );
            let mut inside = 0;
            let mut levels = [0usize; 2];
            for (p, (&fm, &sm)) in f.mask.iter().zip(&s.mask).enumerate() {
                let (a, b) = (
                    &f.image.pixels[p * 3..p * 3 + 3],
                    &s.image.pixels[p * 3..p * 3 + 3],
                );
                if fm == 0 && sm == 0 {
                    assert_eq!(a, b, "image {i}: background pixel {p} changed");
                }
                if sm == 1 && fm == 1 {
                    inside += 1;
                    levels[pattern_level(a, b, i)] += 1;
                }
            }
            assert!(
                levels[0] * 3 > inside && levels[1] * 40 > inside,
                "image {i}: {levels:?} of {inside}"
            );
        }
        every_class_on_several_shapes(&shapes);
    }

    #[test]
    fn tiled_fill_repeats_the_class_tile_on_the_image_grid() {
        let cfg = large_objects(60, 5);
        let flat = ShapesDataset::new(cfg.clone()).unwrap();
        let surface = ShapesDataset::new(cfg.clone().with_fill(Fill::Surface)).unwrap();
        let tiled = ShapesDataset::new(cfg.with_fill(Fill::Tiled)).unwrap();
        assert_eq!(
            tiled.class_names(),
            ["dots", "grid", "blobs", "crosses", "frames"]
        );
        // Each class's second colour, by pixel position in its 8×8 tile (written out here
        // independently of `Pattern::colour`).
        let tile = |label: usize, x: usize, y: usize| -> usize {
            let (x, y) = (x % 8, y % 8);
            usize::from(match label {
                0 => x % 4 < 2 && y % 4 < 2,
                1 => x % 4 == 0 || y % 4 == 0,
                2 => x < 3 && y < 3,
                3 => (x == 1 && y < 3) || (y == 1 && x < 3),
                _ => x < 4 && y < 4 && (x == 0 || x == 3 || y == 0 || y == 3),
            })
        };
        let mut shapes = [[0usize; 5]; 5];
        for i in 0..60 {
            let (f, s, t) = (flat.sample(i), surface.sample(i), tiled.sample(i));
            assert_eq!(t.label, i % 5);
            shapes[t.label][Shape::ALL.iter().position(|&x| x == t.shape).unwrap()] += 1;
            // The surface classes' shape, place, size and background.
            assert_eq!(
                (s.shape, s.center, s.radius, s.texture, &s.mask),
                (t.shape, t.center, t.radius, t.texture, &t.mask)
            );
            let mut inside = 0;
            for (p, (&fm, &tm)) in f.mask.iter().zip(&t.mask).enumerate() {
                let (a, b) = (
                    &f.image.pixels[p * 3..p * 3 + 3],
                    &t.image.pixels[p * 3..p * 3 + 3],
                );
                if tm == 0 {
                    assert_eq!(&s.image.pixels[p * 3..p * 3 + 3], b, "image {i}: {p}");
                }
                if fm == 1 && tm == 1 {
                    inside += 1;
                    let (x, y) = (p % 64, p / 64);
                    assert_eq!(
                        pattern_level(a, b, i),
                        tile(t.label, x, y),
                        "image {i}: pixel ({x}, {y})"
                    );
                }
            }
            assert!(inside > 100, "image {i}: {inside}");
        }
        every_class_on_several_shapes(&shapes);
    }

    /// Every class came on at least three of the five shapes (`counts[label][shape]`), so the
    /// outline says nothing about it.
    fn every_class_on_several_shapes(counts: &[[usize; 5]; 5]) {
        for (label, counts) in counts.iter().enumerate() {
            assert!(
                counts.iter().filter(|&&n| n > 0).count() >= 3,
                "{label}: {counts:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_configs() {
        let e = ShapesDataset::new(ShapesConfig {
            channels: 2,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("channels"), "{e}");
    }
}

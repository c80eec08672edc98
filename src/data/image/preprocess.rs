//! Preprocessing: [`DecodedImage`] → normalised (C, H, W) tensor, and back to pixels for display.

use std::fmt;
use std::str::FromStr;

use ::image::imageops::{self, FilterType};
use ::image::{ImageBuffer, Luma, Pixel, Rgb};

use super::decode::{decode_image, DecodeLimits, DecodedImage};
use crate::budget::{limits, Budget};
use crate::data::image_u8::ImageU8;
use crate::error::{Error, Result};
use crate::model::CrateConfig;
use crate::tensor::Tensor;

/// The resampling filter of every resize here: `image`'s Triangle filter, i.e. bilinear
/// interpolation whose support widens with the scale factor when shrinking (antialiased), the
/// same scheme as PIL's `BILINEAR` that torchvision's `Resize` uses on PIL images. Values can
/// differ from PIL's by a grey level or so (different fixed-point rounding), not more.
const FILTER: FilterType = FilterType::Triangle;

/// How an image of any size is brought to the model's input size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Resize {
    /// ImageNet evaluation: resize so that the shorter side is `256/224` of the target's
    /// (torchvision `Resize(256)` for a 224 target), keeping the aspect ratio, then take the
    /// centre crop of the target size (`CenterCrop(224)`).
    #[default]
    Imagenet,
    /// Resize to exactly the target size, ignoring the aspect ratio.
    Stretch,
    /// No resizing: the image's own size is the input size; both sides must be multiples of the
    /// patch size.
    None,
}

impl Resize {
    pub const ALL: [Resize; 3] = [Resize::Imagenet, Resize::Stretch, Resize::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Resize::Imagenet => "imagenet",
            Resize::Stretch => "stretch",
            Resize::None => "none",
        }
    }
}

impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Resize::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::Input(format!(
                    "unknown resize mode `{s}`; expected imagenet, stretch or none"
                ))
            })
    }
}

/// The geometry of [`Resize::Imagenet`] for an image of `image` = (h, w) and a target of
/// `target` = (h, w): the intermediate size and the crop offsets, all in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagenetGeometry {
    /// Size (h, w) the whole image is resized to.
    pub resized: [usize; 2],
    /// Top-left corner (top, left) of the crop in the resized image.
    pub offset: [usize; 2],
}

/// Python's `round` (ties to even), which torchvision's size and crop arithmetic uses.
fn py_round(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

/// [`Resize::Imagenet`]'s geometry.
///
/// Each target side `t` asks for `round(t * 256 / 224)` pixels (256 for 224, 37 for 32, 32 for
/// 28); the image is scaled by the larger of the two ratios so that it covers both, with the
/// side that set the scale exact and the other `floor(side * scale)` (torchvision's `int()`).
/// For a square target this is exactly torchvision's `Resize(round(t * 256/224))`: the shorter
/// side becomes that size. The crop offset is torchvision's `CenterCrop`:
/// `top = int(round((H - h) / 2))`, `left = int(round((W - w) / 2))`, with Python's
/// ties-to-even rounding.
pub fn imagenet_geometry(image: [usize; 2], target: [usize; 2]) -> ImagenetGeometry {
    let [ih, iw] = image.map(|v| v.max(1));
    let [rh, rw] = target.map(|t| py_round(t as f64 * 256.0 / 224.0).max(t));
    // Scale by height when rh/ih >= rw/iw.
    let resized = if rh * iw >= rw * ih {
        [rh, (iw * rh / ih).max(rw)]
    } else {
        [(ih * rw / iw).max(rh), rw]
    };
    let offset = [0, 1].map(|i| py_round((resized[i] - target[i]) as f64 / 2.0));
    ImagenetGeometry { resized, offset }
}

/// ITU-R 601 luma with PIL's fixed-point arithmetic (`convert("L")`):
/// `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`; a gray pixel keeps its value.
fn luma(p: &[u8]) -> u8 {
    ((p[0] as u32 * 19595 + p[1] as u32 * 38470 + p[2] as u32 * 7471 + 0x8000) >> 16) as u8
}

fn check_cfg(cfg: &CrateConfig) -> Result<()> {
    if cfg.channels != 1 && cfg.channels != 3 {
        return Err(Error::Input(format!(
            "images can feed models with 1 or 3 channels, not {}",
            cfg.channels
        )));
    }
    if cfg.mean.len() != cfg.channels || cfg.std.len() != cfg.channels {
        return Err(Error::Config(format!(
            "mean and std need one value per channel ({} channels; got {} and {})",
            cfg.channels,
            cfg.mean.len(),
            cfg.std.len()
        )));
    }
    Ok(())
}

/// Pixels (interleaved, `c` channels, values 0..=255) → normalised (C, H, W) tensor.
fn normalise(pixels: &[u8], c: usize, h: usize, w: usize, cfg: &CrateConfig) -> Tensor {
    let n = h * w;
    let mut data = vec![0.0f32; cfg.channels * n];
    for (ch, plane) in data.chunks_exact_mut(n).enumerate() {
        let (mean, std) = (cfg.mean[ch], cfg.std[ch]);
        let src = if c == 1 { 0 } else { ch };
        for (i, v) in plane.iter_mut().enumerate() {
            *v = (pixels[i * c + src] as f32 / 255.0 - mean) / std;
        }
    }
    Tensor {
        shape: vec![cfg.channels, h, w],
        data,
    }
}

/// The largest input side `preprocess` resizes to.
pub const MAX_INPUT_SIDE: usize = 8192;

/// Turns a decoded image into the model's input: a (C, H, W) tensor, `C = cfg.channels`.
///
/// `size` is the target (h, w), a multiple of `cfg.patch` in both sides (usually `cfg.image`);
/// it is ignored by [`Resize::None`], which keeps the image's own size and requires it to be a
/// multiple of the patch size. The image is first converted to the model's channels (RGB → gray
/// with ITU-R 601 luma as PIL's `convert("L")`; gray stays gray, RGB stays RGB), then resized
/// (see [`Resize`]; filter: bilinear with antialiasing, `image`'s Triangle), then scaled to
/// [0, 1] and normalised per channel with `cfg.mean` and `cfg.std`.
pub fn preprocess(
    img: &DecodedImage,
    cfg: &CrateConfig,
    size: [usize; 2],
    resize: Resize,
) -> Result<Tensor> {
    check_cfg(cfg)?;
    let (iw, ih) = (img.width as usize, img.height as usize);
    let p = cfg.patch.max(1);
    if resize == Resize::None {
        if !iw.is_multiple_of(p) || !ih.is_multiple_of(p) || iw == 0 || ih == 0 {
            return Err(Error::Input(format!(
                "{}: image is {iw}x{ih}, not a multiple of the patch size {p} in both sides; \
                 use --resize imagenet or --resize stretch to bring it to the model's size",
                img.name
            )));
        }
    } else if size[0] == 0
        || size[1] == 0
        || !size[0].is_multiple_of(p)
        || !size[1].is_multiple_of(p)
    {
        return Err(Error::Input(format!(
            "target size {}x{} (width x height) is not a positive multiple of the patch size {p}",
            size[1], size[0]
        )));
    }

    if resize != Resize::None && (size[0] > MAX_INPUT_SIDE || size[1] > MAX_INPUT_SIDE) {
        return Err(Error::Input(format!(
            "target size {}x{} (width x height) is larger than the {MAX_INPUT_SIDE} pixel limit per side",
            size[1], size[0]
        )));
    }

    let (pixels, h, w) = fit_core(img, cfg.channels, size, resize, 4)?;
    Ok(normalise(&pixels, cfg.channels, h, w, cfg))
}

/// A decoded image brought to `channels` (1: ITU-R 601 luma, 3: RGB) and to `size` = (h, w) as
/// `resize` says, as 8-bit pixels: the same pixels [`preprocess`] normalises, for datasets that
/// keep their items as [`ImageU8`] (own images). [`Resize::None`] keeps the image's own size.
pub fn fit_to_u8(
    img: &DecodedImage,
    channels: usize,
    size: [usize; 2],
    resize: Resize,
) -> Result<ImageU8> {
    if channels != 1 && channels != 3 {
        return Err(Error::Input(format!(
            "images can be fitted to 1 or 3 channels, not {channels}"
        )));
    }
    if resize != Resize::None
        && (size[0] == 0 || size[1] == 0 || size[0] > MAX_INPUT_SIDE || size[1] > MAX_INPUT_SIDE)
    {
        return Err(Error::Input(format!(
            "target size {}x{} (width x height) must be 1 to {MAX_INPUT_SIDE} pixels per side",
            size[1], size[0]
        )));
    }
    let (pixels, height, width) = fit_core(img, channels, size, resize, 0)?;
    Ok(ImageU8 {
        height,
        width,
        channels,
        pixels,
    })
}

/// The budgeted channel conversion and resize shared by [`preprocess`] and [`fit_to_u8`]:
/// (pixels, h, w). `float_bytes` per output value is charged too (the caller's float tensor;
/// 0 for none), so that the whole preparation fits one budget.
fn fit_core(
    img: &DecodedImage,
    channels: usize,
    size: [usize; 2],
    resize: Resize,
    float_bytes: u64,
) -> Result<(Vec<u8>, usize, usize)> {
    let (iw, ih) = (img.width as usize, img.height as usize);
    // Everything this function allocates grows with the image and the target: bound it first
    // (a 1x16384 image fitted ImageNet-style to 224 would need a 256x4194304 intermediate).
    let c = channels as u64;
    let (th, tw) = (size[0] as u32, size[1] as u32);
    let mut budget = Budget::new(&img.name, "preparing the image", limits::PREPROCESS);
    if channels == 1 {
        budget.charge("its grayscale copy", iw as u64 * ih as u64)?;
    }
    let (out_h, out_w) = match resize {
        Resize::None => (ih as u64, iw as u64),
        _ => (size[0] as u64, size[1] as u64),
    };
    let geometry = (resize == Resize::Imagenet).then(|| imagenet_geometry([ih, iw], size));
    let inter = match (resize, geometry) {
        (Resize::Imagenet, Some(g)) => Some((g.resized[0] as u64, g.resized[1] as u64)),
        (Resize::Stretch, _) if (img.width, img.height) != (tw, th) => Some((out_h, out_w)),
        _ => None,
    };
    if let Some((rh, rw)) = inter {
        budget
            .charge_items(
                format!(
                    "the {rw}x{rh} (width x height) resized image of the `{resize}` fit to {}x{}",
                    size[1], size[0]
                ),
                rh.saturating_mul(rw),
                c,
            )
            .map_err(|e| Error::Input(format!("{e}; try --resize stretch")))?;
    }
    if float_bytes > 0 {
        budget.charge_items(
            format!("the {out_w}x{out_h} float input"),
            out_h.saturating_mul(out_w),
            float_bytes * c,
        )?;
    }

    // Borrowed views of the decoded pixels: the RGB buffer is not copied.
    let pixels: Vec<u8> = if channels == 1 {
        let gray: Vec<u8> = img.rgb.chunks_exact(3).map(luma).collect();
        let view = ImageBuffer::<Luma<u8>, &[u8]>::from_raw(img.width, img.height, &gray[..])
            .ok_or_else(|| Error::Image(format!("{}: pixel buffer size", img.name)))?;
        fit(&view, resize, geometry, th, tw)
    } else {
        let view = ImageBuffer::<Rgb<u8>, &[u8]>::from_raw(img.width, img.height, &img.rgb[..])
            .ok_or_else(|| Error::Image(format!("{}: pixel buffer size", img.name)))?;
        fit(&view, resize, geometry, th, tw)
    };
    Ok((pixels, out_h as usize, out_w as usize))
}

/// The pixels of `img` brought to the target (th, tw) as `resize` says (the same calls as
/// `DynamicImage::resize_exact` and `crop_imm` make), interleaved.
fn fit<P>(
    img: &ImageBuffer<P, &[u8]>,
    resize: Resize,
    geometry: Option<ImagenetGeometry>,
    th: u32,
    tw: u32,
) -> Vec<u8>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    match (resize, geometry) {
        (Resize::Imagenet, Some(g)) => {
            let resized = imageops::resize(img, g.resized[1] as u32, g.resized[0] as u32, FILTER);
            imageops::crop_imm(&resized, g.offset[1] as u32, g.offset[0] as u32, tw, th)
                .to_image()
                .into_raw()
        }
        (Resize::Stretch, _) if img.dimensions() != (tw, th) => {
            imageops::resize(img, tw, th, FILTER).into_raw()
        }
        _ => img.as_raw().to_vec(),
    }
}

/// A grayscale image already at the model's size (a 28×28 Fashion-MNIST sample, row-major,
/// `h * w` bytes) → (C, h, w) tensor: scaled by 1/255 and normalised. A 3-channel model gets the
/// gray value in every channel.
pub fn preprocess_gray_u8(pixels: &[u8], h: usize, w: usize, cfg: &CrateConfig) -> Result<Tensor> {
    check_cfg(cfg)?;
    if pixels.len() != h * w {
        return Err(Error::Input(format!(
            "{} gray pixels for a {w}x{h} image (expected {})",
            pixels.len(),
            h * w
        )));
    }
    Ok(normalise(pixels, 1, h, w, cfg))
}

/// [`decode_image`] with [`DecodeLimits::default`], then [`preprocess`].
pub fn load_input(
    bytes: &[u8],
    name: &str,
    cfg: &CrateConfig,
    size: [usize; 2],
    resize: Resize,
) -> Result<Tensor> {
    let img = decode_image(bytes, name, &DecodeLimits::default())?;
    preprocess(&img, cfg, size, resize)
}

/// A copy no larger than `max_side` pixels on its longer side (aspect ratio kept, each side at
/// least 1 pixel; bilinear with antialiasing). An image that already fits is returned as is.
pub fn thumbnail(img: &DecodedImage, max_side: u32) -> DecodedImage {
    let max_side = max_side.max(1);
    let (w, h) = (img.width, img.height);
    if w.max(h) <= max_side {
        return img.clone();
    }
    let scale = |side: u32, long: u32| {
        ((side as u64 * max_side as u64 + long as u64 / 2) / long as u64).max(1) as u32
    };
    let (nw, nh) = if w >= h {
        (max_side, scale(h, w))
    } else {
        (scale(w, h), max_side)
    };
    let small = ::image::imageops::resize(&img.to_rgb_image(), nw, nh, FILTER);
    DecodedImage {
        width: nw,
        height: nh,
        rgb: small.into_raw(),
        ..img.clone()
    }
}

/// RGBA pixels (row-major, 4 bytes per pixel, alpha 255) for a canvas or a PNG encoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgba8Image {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// The image as opaque RGBA, shrunk with [`thumbnail`] to at most `max_side` on its longer side.
pub fn to_rgba8(img: &DecodedImage, max_side: u32) -> Rgba8Image {
    let t = thumbnail(img, max_side);
    let mut data = Vec::with_capacity(t.rgb.len() / 3 * 4);
    for p in t.rgb.chunks_exact(3) {
        data.extend_from_slice(&[p[0], p[1], p[2], 255]);
    }
    Rgba8Image {
        width: t.width,
        height: t.height,
        data,
    }
}

/// What the model saw: a normalised (C, H, W) tensor (or (1, C, H, W)) back to RGB bytes
/// (row-major, 3 per pixel; a 1-channel input is repeated in R, G and B), undoing `cfg`'s
/// normalisation and clamping to [0, 255].
pub fn denormalise_to_rgb8(t: &Tensor, cfg: &CrateConfig) -> Result<Vec<u8>> {
    check_cfg(cfg)?;
    let shape: &[usize] = match t.shape.as_slice() {
        [1, rest @ ..] if rest.len() == 3 => rest,
        s => s,
    };
    let &[c, h, w] = shape else {
        return Err(Error::Input(format!(
            "expected a (C, H, W) image tensor, got shape {}",
            t.shape_str()
        )));
    };
    if c != cfg.channels || t.data.len() != c * h * w {
        return Err(Error::Input(format!(
            "image tensor of shape {} does not match the model's {} channels",
            t.shape_str(),
            cfg.channels
        )));
    }
    let n = h * w;
    let mut out = vec![0u8; n * 3];
    for (i, px) in out.chunks_exact_mut(3).enumerate() {
        for (k, v) in px.iter_mut().enumerate() {
            let ch = if c == 1 { 0 } else { k };
            let x = t.data[ch * n + i] * cfg.std[ch] + cfg.mean[ch];
            *v = (x.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_parses_and_prints() {
        for r in Resize::ALL {
            assert_eq!(r.to_string().parse::<Resize>().unwrap(), r);
        }
        assert_eq!("ImageNet".parse::<Resize>().unwrap(), Resize::Imagenet);
        let e = "crop".parse::<Resize>().unwrap_err().to_string();
        assert!(
            e.contains("`crop`") && e.contains("imagenet, stretch or none"),
            "{e}"
        );
    }

    #[test]
    fn geometry_matches_torchvision() {
        // Resize(256) + CenterCrop(224) on a 500x375 (w x h) image: 341x256, crop at (16, 58).
        let g = imagenet_geometry([375, 500], [224, 224]);
        assert_eq!(g.resized, [256, 341]);
        assert_eq!(g.offset, [16, 58]);
        // Portrait.
        let g = imagenet_geometry([640, 480], [224, 224]);
        assert_eq!(g.resized, [341, 256]);
        assert_eq!(g.offset, [58, 16]);
        // Square, small models: 32 → 37 (crop offset round(2.5) = 2), 28 → 32.
        let g = imagenet_geometry([100, 100], [32, 32]);
        assert_eq!((g.resized, g.offset), ([37, 37], [2, 2]));
        let g = imagenet_geometry([10, 10], [28, 28]);
        assert_eq!((g.resized, g.offset), ([32, 32], [2, 2]));
        // Ties to even: (227 - 224) / 2 = 1.5 → 2.
        assert_eq!(py_round(1.5), 2);
        assert_eq!(py_round(0.5), 0);
        // A wide target on a square image: the image must cover both sides.
        let g = imagenet_geometry([100, 100], [224, 448]);
        assert_eq!(g.resized, [512, 512]);
        assert_eq!(g.offset, [144, 32]);
    }

    #[test]
    fn luma_matches_pil() {
        // PIL: Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))
        assert_eq!(luma(&[255, 0, 0]), 76);
        assert_eq!(luma(&[0, 255, 0]), 150);
        assert_eq!(luma(&[0, 0, 255]), 29);
        assert_eq!(luma(&[10, 200, 30]), 124);
        for v in [0, 1, 127, 128, 254, 255] {
            assert_eq!(luma(&[v, v, v]), v);
        }
    }

    #[test]
    fn denormalise_round_trips() {
        let cfg = CrateConfig::preset("crate-c32").unwrap();
        let rgb: Vec<u8> = (0..4 * 4 * 3).map(|i| (i * 5) as u8).collect();
        let img = DecodedImage::from_rgb8("x", 4, 4, rgb.clone()).unwrap();
        let mut cfg4 = cfg.clone();
        cfg4.patch = 4;
        let t = preprocess(&img, &cfg4, [4, 4], Resize::None).unwrap();
        assert_eq!(t.shape, vec![3, 4, 4]);
        assert_eq!(denormalise_to_rgb8(&t, &cfg4).unwrap(), rgb);
        let batched = Tensor::new(vec![1, 3, 4, 4], t.data.clone()).unwrap();
        assert_eq!(denormalise_to_rgb8(&batched, &cfg4).unwrap(), rgb);
        let bad = Tensor::zeros(&[1, 4, 4]);
        assert!(denormalise_to_rgb8(&bad, &cfg4).is_err());
    }

    #[test]
    fn thumbnail_keeps_aspect() {
        let img = DecodedImage::from_rgb8("x", 300, 100, vec![9; 300 * 100 * 3]).unwrap();
        let t = thumbnail(&img, 64);
        assert_eq!((t.width, t.height), (64, 21));
        assert!(t.rgb.iter().all(|&v| v == 9));
        let r = to_rgba8(&img, 30);
        assert_eq!((r.width, r.height, r.data.len()), (30, 10, 30 * 10 * 4));
        assert_eq!(&r.data[..4], &[9, 9, 9, 255]);
        assert_eq!(thumbnail(&img, 1000), img);
    }
}

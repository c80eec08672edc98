//! A picked image made ready for the page: decoded, fitted to the input size and normalised
//! (the model's input), and the pictures the views draw on (what the model saw, upscaled to
//! about [`DISPLAY_SIDE`] pixels, and its half-size thumbnail). The inference worker runs this
//! for the page (at 448×448 it is a few hundred milliseconds of unoptimised WebAssembly); the
//! page runs the same function when inference runs on its main thread, so both give the same
//! numbers.

use crate::data::image::{denormalise_to_rgb8, load_input, Resize, Rgba8Image};
use crate::error::Result;
use crate::model::CrateConfig;
use crate::tensor::Tensor;
use crate::viz::{half, upscale};

/// Images are shown at least this many pixels on a side (small inputs are upscaled crisply).
pub const DISPLAY_SIDE: usize = 224;

/// The pictures of an input: `base` (what the model saw, upscaled by a whole factor) and
/// `thumb` (half of it, for the small per-head maps).
#[derive(Clone, Debug, PartialEq)]
pub struct Display {
    pub base: Rgba8Image,
    pub thumb: Rgba8Image,
}

/// The model input of an image file and, when asked, its [`Display`].
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub input: Tensor,
    pub display: Option<Display>,
}

/// What the model saw (`input`, (C, H, W)), upscaled by a whole factor to about
/// [`DISPLAY_SIDE`] pixels, and its thumbnail.
pub fn display_of(input: &Tensor, cfg: &CrateConfig) -> Result<Display> {
    let (h, w) = (input.shape[1], input.shape[2]);
    let rgb = denormalise_to_rgb8(input, cfg)?;
    let factor = (DISPLAY_SIDE / h.max(w)).max(1);
    let base = upscale(&rgb, w, h, factor);
    let thumb = half(&base);
    Ok(Display { base, thumb })
}

/// [`load_input`] (the model's input, as the CLI makes it) and, with `display`, [`display_of`].
pub fn prepare(
    bytes: &[u8],
    name: &str,
    cfg: &CrateConfig,
    size: [usize; 2],
    fit: Resize,
    display: bool,
) -> Result<Prepared> {
    let input = load_input(bytes, name, cfg, size, fit)?;
    let display = display.then(|| display_of(&input, cfg)).transpose()?;
    Ok(Prepared { input, display })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::image::{decode_image, preprocess, DecodeLimits};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn prepare_is_decode_preprocess_and_the_upscaled_picture() {
        let cfg = CrateConfig::preset("crate-t").unwrap();
        let bytes = png(40, 30);
        let p = prepare(&bytes, "a.png", &cfg, [32, 32], Resize::Imagenet, true).unwrap();
        let img = decode_image(&bytes, "a.png", &DecodeLimits::default()).unwrap();
        assert_eq!(
            p.input,
            preprocess(&img, &cfg, [32, 32], Resize::Imagenet).unwrap()
        );
        let d = p.display.unwrap();
        // 224 / 32 = 7 pixels per input pixel; the thumbnail is half of that.
        assert_eq!((d.base.width, d.base.height), (224, 224));
        assert_eq!((d.thumb.width, d.thumb.height), (112, 112));
        let rgb = denormalise_to_rgb8(&p.input, &cfg).unwrap();
        assert_eq!(d.base, upscale(&rgb, 32, 32, 7));
        assert_eq!(d.thumb, half(&d.base));
        let bare = prepare(&bytes, "a.png", &cfg, [32, 32], Resize::Imagenet, false).unwrap();
        assert_eq!(bare.input, p.input);
        assert!(bare.display.is_none());
        // Larger than DISPLAY_SIDE: shown as it is.
        let big = prepare(&bytes, "a.png", &cfg, [448, 448], Resize::Stretch, true).unwrap();
        assert_eq!(big.display.unwrap().base.width, 448);
        assert!(prepare(
            b"not an image",
            "x.png",
            &cfg,
            [32, 32],
            Resize::Imagenet,
            true
        )
        .is_err());
    }
}

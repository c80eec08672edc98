//! Decoding: bytes → [`DecodedImage`] (8-bit RGB), with limits against huge images.

use std::io::Cursor;

use ::image::error::LimitErrorKind;
use ::image::metadata::Orientation;
use ::image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// The formats [`decode_image`] accepts, as named in error messages.
pub const SUPPORTED_FORMATS: &str = "PNG, JPEG, WebP, GIF, BMP";

const MIB: u64 = 1024 * 1024;

/// Bounds on what [`decode_image`] will decode. An image over a bound is refused before its
/// pixels are decoded, so a small file that claims a huge size (a decompression bomb) costs
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest amount of memory, in bytes, the decoder may allocate (the decoded buffer counts).
    pub max_alloc: u64,
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
}

impl Default for DecodeLimits {
    /// 16384 pixels per side, 512 MiB of decoder memory, 64 MiB of file.
    fn default() -> Self {
        Self {
            max_width: 16384,
            max_height: 16384,
            max_alloc: 512 * MIB,
            max_file_bytes: 64 * MIB,
        }
    }
}

/// A decoded image: 8-bit RGB, row-major, 3 bytes per pixel, in the file's own (sRGB) values.
///
/// The EXIF orientation, where the file has one, is already applied (the pixels are as a viewer
/// shows them), and any alpha channel is composited over white. Grayscale files are stored with
/// the gray value repeated in R, G and B (`was_gray` says so). 16-bit files are rounded to 8 bits,
/// the precision PIL-based pipelines work at.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedImage {
    /// The name the image was loaded under (a file name), used in messages.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes, RGB, row-major.
    pub rgb: Vec<u8>,
    /// The container format: "PNG", "JPEG", "WebP", "GIF", "BMP", or "raw" for
    /// [`DecodedImage::from_rgb8`].
    pub format: &'static str,
    /// Whether the source had no colour (grayscale, with or without alpha).
    pub was_gray: bool,
    /// Whether the source had an alpha channel (now composited over white).
    pub had_alpha: bool,
    /// Whether an EXIF orientation other than "as stored" was applied.
    pub reoriented: bool,
}

impl DecodedImage {
    /// An image from RGB bytes already in memory (a dataset sample, a generated pattern).
    pub fn from_rgb8(name: &str, width: u32, height: u32, rgb: Vec<u8>) -> Result<Self> {
        let expected = width as usize * height as usize * 3;
        if rgb.len() != expected {
            return Err(Error::Image(format!(
                "{name}: {} bytes of RGB for a {width}x{height} image (expected {expected})",
                rgb.len()
            )));
        }
        Ok(Self {
            name: name.to_string(),
            width,
            height,
            rgb,
            format: "raw",
            was_gray: false,
            had_alpha: false,
            reoriented: false,
        })
    }

    /// The pixel at column `x`, row `y`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    pub(crate) fn to_rgb_image(&self) -> ::image::RgbImage {
        ::image::RgbImage::from_raw(self.width, self.height, self.rgb.clone())
            .expect("DecodedImage holds width*height*3 bytes")
    }
}

fn format_name(f: ImageFormat) -> Option<&'static str> {
    Some(match f {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        _ => return None,
    })
}

fn fmt_mib(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

/// Decodes a PNG, JPEG, WebP, GIF (first frame) or BMP file held in `bytes`.
///
/// The format is read from the content, not from `name`; `name` (a file name) only labels the
/// messages. Refuses, with an [`Error::Image`] naming the file: data that is none of those
/// formats, corrupt or truncated data, and anything over `limits` (file size, width, height,
/// decoder memory). The result is 8-bit RGB with the EXIF orientation applied and alpha
/// composited over white; see [`DecodedImage`].
pub fn decode_image(bytes: &[u8], name: &str, limits: &DecodeLimits) -> Result<DecodedImage> {
    let err = |m: String| Error::Image(format!("{name}: {m}"));
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(err(format!(
            "file is {}, larger than the {} limit",
            fmt_mib(bytes.len() as u64),
            fmt_mib(limits.max_file_bytes)
        )));
    }
    if bytes.is_empty() {
        return Err(err("empty file".into()));
    }
    let not_supported = || err(format!("not a supported image ({SUPPORTED_FORMATS})"));
    let format = ::image::guess_format(bytes).map_err(|_| not_supported())?;
    let Some(fmt) = format_name(format) else {
        let kind = format
            .extensions_str()
            .first()
            .map(|e| e.to_uppercase())
            .unwrap_or_else(|| format!("{format:?}"));
        return Err(err(format!(
            "{kind} images are not supported (supported: {SUPPORTED_FORMATS})"
        )));
    };
    let decode_err = |e: ImageError| -> Error {
        match &e {
            ImageError::Limits(l) => match l.kind() {
                LimitErrorKind::InsufficientMemory => err(format!(
                    "decoding this {fmt} needs more memory than the {} limit",
                    fmt_mib(limits.max_alloc)
                )),
                _ => err(format!(
                    "{fmt} is over the decoding limits ({}x{} pixels, {}): {e}",
                    limits.max_width,
                    limits.max_height,
                    fmt_mib(limits.max_alloc)
                )),
            },
            ImageError::Unsupported(_) => err(format!("unsupported kind of {fmt}: {e}")),
            _ => err(format!("corrupt or truncated {fmt} file: {e}")),
        }
    };

    // Only the memory bound goes to the decoder at first: the size is checked here, so that the
    // message can say both the image's size and the limit.
    let mut alloc_only = Limits::default();
    alloc_only.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(alloc_only);
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (w, h) = decoder.dimensions();
    if w > limits.max_width || h > limits.max_height {
        return Err(err(format!(
            "image is {w}x{h}, larger than the {}x{} limit",
            limits.max_width, limits.max_height
        )));
    }
    if w == 0 || h == 0 {
        return Err(err(format!("image is {w}x{h}, which has no pixels")));
    }
    // The decoder's buffer plus the 8-bit copies made from it: none for RGB8, the RGB composite
    // for RGBA8, an RGBA8 conversion and then the composite for other kinds with alpha.
    let px = w as u64 * h as u64;
    let ct = decoder.color_type();
    let convert = match ct {
        ::image::ColorType::Rgb8 => 0,
        ::image::ColorType::Rgba8 => px * 3,
        c if c.has_alpha() => px * 4 + px * 3,
        _ => px * 3,
    };
    // Two decoders hold a second full-size image while decoding, measured as twice the output's
    // peak (tests/suite/hostile.rs, "within the limits" cases): zune-jpeg its component planes,
    // image-webp an RGBA canvas. Neither can decode at a reduced scale, so an image whose
    // decoding would pass the budget is refused before any pixel is decoded.
    let internal = match format {
        ImageFormat::Jpeg => decoder.total_bytes(),
        ImageFormat::WebP => px * 4,
        _ => 0,
    };
    let need = decoder
        .total_bytes()
        .saturating_add(convert)
        .saturating_add(internal);
    if need > limits.max_alloc {
        return Err(err(format!(
            "decoding this {w}x{h} {fmt} needs {}, more than the {} limit",
            fmt_mib(need),
            fmt_mib(limits.max_alloc)
        )));
    }
    let mut full = Limits::default();
    full.max_image_width = Some(limits.max_width);
    full.max_image_height = Some(limits.max_height);
    full.max_alloc = Some(limits.max_alloc);
    decoder.set_limits(full).map_err(decode_err)?;
    // A file whose metadata cannot be read still has pixels worth showing: no rotation then.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if format == ImageFormat::Jpeg {
        check_jpeg_complete(bytes).map_err(err)?;
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);

    let color = img.color();
    let (was_gray, had_alpha) = (!color.has_color(), color.has_alpha());
    let (width, height) = (img.width(), img.height());
    let rgb = if had_alpha {
        let rgba = img.into_rgba8().into_raw();
        composite_over_white(&rgba)
    } else {
        img.into_rgb8().into_raw()
    };
    Ok(DecodedImage {
        name: name.to_string(),
        width,
        height,
        rgb,
        format: fmt,
        was_gray,
        had_alpha,
        reoriented: orientation != Orientation::NoTransforms,
    })
}

/// JPEG decoders fill a truncated scan with gray and carry on; a file cut short is refused
/// here instead. The end-of-image marker (FF D9) must follow the last start-of-scan (FF DA):
/// entropy-coded data cannot contain either (an FF there is followed by 00 or a restart
/// marker), and an EXIF thumbnail's own markers come before the main image's scans.
fn check_jpeg_complete(bytes: &[u8]) -> std::result::Result<(), String> {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xff, 0xda]);
    let eoi_after = last_sos.is_some_and(|s| bytes[s..].windows(2).any(|w| w == [0xff, 0xd9]));
    if eoi_after {
        Ok(())
    } else {
        Err(format!(
            "truncated JPEG file: no end-of-image marker after its {} ({} bytes; the file was \
             cut short?)",
            if last_sos.is_some() {
                "last scan"
            } else {
                "headers (it has no scan)"
            },
            bytes.len()
        ))
    }
}

/// Reads an image file (native only) within `limits.max_file_bytes`, refusing a larger file by
/// its size before reading it (a device such as `/dev/zero` after that many bytes).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_image_file(path: &std::path::Path, limits: &DecodeLimits) -> Result<Vec<u8>> {
    crate::budget::read_file_capped(path, limits.max_file_bytes, "image file", |_| Ok(())).map_err(
        |e| match e {
            Error::Budget(m) => Error::Image(m),
            other => other,
        },
    )
}

/// RGBA → RGB over a white background: `c * a + 255 * (1 - a)`, rounded.
fn composite_over_white(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for p in rgba.chunks_exact(4) {
        let a = p[3] as u32;
        for &c in &p[..3] {
            out.push(((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_extremes_and_middle() {
        let out = composite_over_white(&[10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128]);
        assert_eq!(out, vec![10, 20, 30, 255, 255, 255, 127, 127, 127]);
    }

    #[test]
    fn file_size_cap_names_file_and_limit() {
        let limits = DecodeLimits {
            max_file_bytes: 2 * MIB,
            ..DecodeLimits::default()
        };
        let bytes = vec![0u8; 3 * MIB as usize];
        let e = decode_image(&bytes, "big.png", &limits)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("big.png") && e.contains("3 MiB") && e.contains("2 MiB"),
            "{e}"
        );
    }

    #[test]
    fn empty_and_unknown_bytes() {
        let l = DecodeLimits::default();
        let e = decode_image(&[], "a.png", &l).unwrap_err().to_string();
        assert!(e.contains("a.png: empty file"), "{e}");
        let e = decode_image(b"II*\0xxxxxxxxxxxxxxxx", "scan.tif", &l)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("scan.tif: TIF") && e.contains("not supported"),
            "{e}"
        );
    }

    #[test]
    fn from_rgb8_checks_length() {
        assert!(DecodedImage::from_rgb8("x", 2, 2, vec![0; 12]).is_ok());
        let e = DecodedImage::from_rgb8("x", 2, 2, vec![0; 11]).unwrap_err();
        assert!(e.to_string().contains("expected 12"), "{e}");
    }
}

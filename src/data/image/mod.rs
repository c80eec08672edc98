//! Image decoding and preprocessing: bytes of a PNG, JPEG, WebP, GIF or BMP file become a
//! normalised (C, H, W) [`Tensor`](crate::tensor::Tensor) the model takes, and back again for
//! display.
//!
//! Everything works on byte slices (no file system, no threads), so the same code runs natively
//! and in the browser (wasm32).
//!
//! - [`decode_image`]: bytes → [`DecodedImage`] (8-bit RGB, EXIF orientation applied, alpha
//!   composited over white), refusing oversized images and decompression bombs ([`DecodeLimits`]).
//! - [`preprocess`]: [`DecodedImage`] → normalised tensor at the model's input size, resized as
//!   [`Resize`] says; [`preprocess_gray_u8`] for dataset images already at model size;
//!   [`load_input`] does both steps.
//! - [`thumbnail`], [`to_rgba8`], [`denormalise_to_rgb8`]: pixels for the page and the CLI.

mod decode;
mod preprocess;

#[cfg(not(target_arch = "wasm32"))]
pub use decode::read_image_file;
pub use decode::{decode_image, DecodeLimits, DecodedImage, SUPPORTED_FORMATS};
pub use preprocess::{
    denormalise_to_rgb8, fit_to_u8, imagenet_geometry, load_input, preprocess, preprocess_gray_u8,
    thumbnail, to_rgba8, ImagenetGeometry, Resize, Rgba8Image, MAX_INPUT_SIDE,
};

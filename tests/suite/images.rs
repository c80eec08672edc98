//! Image decoding and preprocessing: formats, orientation, alpha, limits, errors, geometry.

use std::io::Cursor;
use std::path::PathBuf;

use image::codecs::gif::GifEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, Frame, ImageFormat, RgbImage, Rgba, RgbaImage};
use whitebox::data::image::{
    decode_image, denormalise_to_rgb8, imagenet_geometry, load_input, preprocess,
    preprocess_gray_u8, DecodeLimits, DecodedImage, Resize,
};
use whitebox::CrateConfig;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// 8x6 image, four flat quadrants (so that lossy JPEG keeps them recognisable).
fn quadrants() -> RgbImage {
    RgbImage::from_fn(8, 6, |x, y| match (x < 4, y < 3) {
        (true, true) => image::Rgb([255, 0, 0]),
        (false, true) => image::Rgb([0, 255, 0]),
        (true, false) => image::Rgb([0, 0, 255]),
        (false, false) => image::Rgb([255, 255, 255]),
    })
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (x as i32 - y as i32).abs() <= tol)
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

#[test]
fn each_format_decodes() {
    let src = quadrants();
    let dynimg = DynamicImage::ImageRgb8(src.clone());
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .encode(src.as_raw(), 8, 6, image::ExtendedColorType::Rgb8)
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, i32)> = vec![
        ("PNG", encode(&dynimg, ImageFormat::Png), 0),
        ("JPEG", encode(&dynimg, ImageFormat::Jpeg), 40),
        ("WebP", webp, 0),
        (
            "GIF",
            encode(
                &DynamicImage::ImageRgba8(dynimg.to_rgba8()),
                ImageFormat::Gif,
            ),
            0,
        ),
        ("BMP", encode(&dynimg, ImageFormat::Bmp), 0),
    ];
    for (fmt, bytes, tol) in cases {
        let img = decode_image(&bytes, "x", &limits()).unwrap_or_else(|e| panic!("{fmt}: {e}"));
        assert_eq!(img.format, fmt);
        assert_eq!((img.width, img.height), (8, 6), "{fmt}");
        assert_eq!(img.rgb.len(), 8 * 6 * 3);
        // Pixels away from the quadrant borders (JPEG blurs those).
        for (x, y) in [(0, 0), (7, 0), (0, 5), (7, 5)] {
            let want = src.get_pixel(x, y).0;
            assert!(
                close(img.pixel(x, y), want, tol),
                "{fmt} at ({x},{y}): {:?} vs {want:?}",
                img.pixel(x, y)
            );
        }
    }
}

#[test]
fn format_comes_from_content_not_name() {
    let bytes = encode(&DynamicImage::ImageRgb8(quadrants()), ImageFormat::Png);
    let img = decode_image(&bytes, "holiday.jpg", &limits()).unwrap();
    assert_eq!(img.format, "PNG");
}

#[test]
fn gif_uses_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        for c in [[255, 0, 0, 255], [0, 0, 255, 255]] {
            enc.encode_frame(Frame::new(RgbaImage::from_pixel(4, 4, Rgba(c))))
                .unwrap();
        }
    }
    let img = decode_image(&bytes, "anim.gif", &limits()).unwrap();
    assert_eq!(img.pixel(2, 2), [255, 0, 0]);
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 16 wide x 8 high, left half red, right half blue, EXIF orientation 6 (rotate 90°
    // clockwise): shown 8 wide x 16 high, red on top.
    let img = decode_image(&fixture("orient6.jpg"), "orient6.jpg", &limits()).unwrap();
    assert!(img.reoriented);
    assert_eq!((img.width, img.height), (8, 16));
    assert!(
        close(img.pixel(4, 3), [255, 0, 0], 30),
        "{:?}",
        img.pixel(4, 3)
    );
    assert!(
        close(img.pixel(4, 12), [0, 0, 255], 30),
        "{:?}",
        img.pixel(4, 12)
    );
}

#[test]
fn alpha_is_composited_over_white() {
    let mut rgba = RgbaImage::from_pixel(4, 4, Rgba([0, 0, 0, 255]));
    rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
    rgba.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
    let bytes = encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
    let img = decode_image(&bytes, "a.png", &limits()).unwrap();
    assert!(img.had_alpha);
    assert_eq!(img.pixel(0, 0), [255, 255, 255]);
    assert_eq!(img.pixel(1, 0), [127, 127, 127]);
    assert_eq!(img.pixel(2, 0), [0, 0, 0]);

    let mut cfg = CrateConfig::preset("crate-c32").unwrap();
    cfg.patch = 4;
    let t = preprocess(&img, &cfg, [4, 4], Resize::None).unwrap();
    for c in 0..3 {
        let white = t.data[c * 16];
        let want = (1.0 - cfg.mean[c]) / cfg.std[c];
        assert!(
            (white - want).abs() < 1e-6,
            "channel {c}: {white} vs {want}"
        );
        let black = t.data[c * 16 + 2];
        assert!((black - (-cfg.mean[c] / cfg.std[c])).abs() < 1e-6);
    }
}

/// PNG chunk with its CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A few hundred bytes that claim a `w`x`h` 8-bit RGB image.
fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // A zlib stream of a few zero bytes (stored block); real bombs have megabytes of zeros.
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x01,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn decompression_bomb_is_refused_by_size() {
    let e = decode_image(&bomb_png(100_000, 100_000), "bomb.png", &limits())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bomb.png: image is 100000x100000, larger than the 16384x16384 limit"),
        "{e}"
    );
    // Within the side limit but over the memory limit: 16000 x 16000 x 3 bytes = 732 MiB.
    let e = decode_image(&bomb_png(16_000, 16_000), "wide.png", &limits())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wide.png") && e.contains("needs 732.4 MiB") && e.contains("512 MiB limit"),
        "{e}"
    );
    // A custom, smaller memory bound.
    let small = DecodeLimits {
        max_alloc: 1 << 20,
        ..limits()
    };
    let bytes = encode(
        &DynamicImage::ImageRgb8(RgbImage::new(1024, 1024)),
        ImageFormat::Png,
    );
    let e = decode_image(&bytes, "mid.png", &small)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mid.png") && e.contains("3 MiB, more than the 1 MiB limit"),
        "{e}"
    );
}

#[test]
fn truncated_and_non_images_are_clear_errors() {
    let noisy = RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8])
    });
    let bytes = encode(&DynamicImage::ImageRgb8(noisy), ImageFormat::Png);
    let e = decode_image(&bytes[..bytes.len() / 2], "cut.png", &limits())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.png: corrupt or truncated PNG file"), "{e}");

    let e = decode_image(b"shopping list: milk, eggs\n", "notes.txt", &limits())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "image: notes.txt: not a supported image (PNG, JPEG, WebP, GIF, BMP)"
    );

    // A JPEG signature followed by garbage.
    let e = decode_image(
        b"\xff\xd8\xff\xe0garbage garbage garbage",
        "bad.jpg",
        &limits(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bad.jpg") && e.contains("JPEG"), "{e}");
}

#[test]
fn resize_none_needs_patch_multiples() {
    let cfg = CrateConfig::preset("crate-t").unwrap();
    let img = DecodedImage::from_rgb8("odd.png", 30, 20, vec![0; 30 * 20 * 3]).unwrap();
    let e = preprocess(&img, &cfg, [224, 224], Resize::None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("odd.png: image is 30x20")
            && e.contains("patch size 16")
            && e.contains("--resize imagenet"),
        "{e}"
    );
    // A multiple of the patch keeps its own size, whatever the target.
    let img = DecodedImage::from_rgb8("ok.png", 48, 32, vec![0; 48 * 32 * 3]).unwrap();
    let t = preprocess(&img, &cfg, [224, 224], Resize::None).unwrap();
    assert_eq!(t.shape, vec![3, 32, 48]);
    // Targets must be patch multiples too.
    let e = preprocess(&img, &cfg, [100, 224], Resize::Stretch)
        .unwrap_err()
        .to_string();
    assert!(e.contains("patch size 16"), "{e}");
}

/// R encodes the column, G the row: linear ramps survive bilinear resizing, so the output says
/// which source position each pixel came from.
fn ramps(w: u32, h: u32) -> DecodedImage {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as f32 * 255.0 / (w - 1) as f32).round() as u8,
            (y as f32 * 255.0 / (h - 1) as f32).round() as u8,
            0,
        ])
    });
    DecodedImage::from_rgb8("ramps", w, h, img.into_raw()).unwrap()
}

#[test]
fn imagenet_crop_geometry() {
    let cfg = CrateConfig::preset("crate-t").unwrap();
    let (w, h) = (300u32, 200u32);
    let img = ramps(w, h);
    let g = imagenet_geometry([200, 300], [224, 224]);
    assert_eq!(g.resized, [256, 384]);
    assert_eq!(g.offset, [16, 80]);
    let t = preprocess(&img, &cfg, [224, 224], Resize::Imagenet).unwrap();
    assert_eq!(t.shape, vec![3, 224, 224]);
    let rgb = denormalise_to_rgb8(&t, &cfg).unwrap();
    let at = |i: usize, j: usize, c: usize| rgb[(i * 224 + j) * 3 + c] as f32;
    // Output pixel (i, j) is resized pixel (16 + i, 80 + j), i.e. source coordinate
    // (X + 0.5) * scale - 0.5.
    let src = |resized: f32, scale: f32| (resized + 0.5) * scale - 0.5;
    for &(i, j) in &[(0usize, 0usize), (112, 112), (223, 223), (50, 200)] {
        let x = src((80 + j) as f32, w as f32 / 384.0);
        let y = src((16 + i) as f32, h as f32 / 256.0);
        let want_r = x * 255.0 / (w - 1) as f32;
        let want_g = y * 255.0 / (h - 1) as f32;
        assert!(
            (at(i, j, 0) - want_r).abs() <= 1.5,
            "R at ({i},{j}): {} vs {want_r}",
            at(i, j, 0)
        );
        assert!(
            (at(i, j, 1) - want_g).abs() <= 1.5,
            "G at ({i},{j}): {} vs {want_g}",
            at(i, j, 1)
        );
    }
    // The centre stays the centre.
    assert!((at(112, 112, 0) - 127.5).abs() <= 1.5 && (at(112, 112, 1) - 127.5).abs() <= 1.5);
}

#[test]
fn stretch_fills_the_target() {
    let cfg = CrateConfig::preset("crate-c32").unwrap();
    let t = preprocess(&ramps(100, 50), &cfg, [32, 32], Resize::Stretch).unwrap();
    assert_eq!(t.shape, vec![3, 32, 32]);
    let rgb = denormalise_to_rgb8(&t, &cfg).unwrap();
    // Output (i, j) samples source ((j + 0.5) * 100/32 - 0.5, (i + 0.5) * 50/32 - 0.5).
    for &(i, j) in &[(4usize, 4usize), (16, 16), (27, 27), (8, 24)] {
        let x = (j as f32 + 0.5) * 100.0 / 32.0 - 0.5;
        let y = (i as f32 + 0.5) * 50.0 / 32.0 - 0.5;
        let (r, g) = (
            rgb[(i * 32 + j) * 3] as f32,
            rgb[(i * 32 + j) * 3 + 1] as f32,
        );
        assert!((r - x * 255.0 / 99.0).abs() <= 1.5, "R at ({i},{j}): {r}");
        assert!((g - y * 255.0 / 49.0).abs() <= 1.5, "G at ({i},{j}): {g}");
    }
}

#[test]
fn grayscale_conversion() {
    let cfg = CrateConfig::preset("crate-fmnist").unwrap();
    // RGB (10, 200, 30) → PIL convert("L") = 124.
    let img = DecodedImage::from_rgb8("c", 28, 28, [10u8, 200, 30].repeat(28 * 28)).unwrap();
    let t = preprocess(&img, &cfg, [28, 28], Resize::Stretch).unwrap();
    assert_eq!(t.shape, vec![1, 28, 28]);
    let want = (124.0 / 255.0 - cfg.mean[0]) / cfg.std[0];
    assert!(
        t.data.iter().all(|v| (v - want).abs() < 1e-6),
        "{} vs {want}",
        t.data[0]
    );

    // A gray PNG into an RGB model: the value repeats in every channel.
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(32, 32, image::Luma([200])));
    let img = decode_image(&encode(&gray, ImageFormat::Png), "g.png", &limits()).unwrap();
    assert!(img.was_gray);
    let rgb_cfg = CrateConfig::preset("crate-c32").unwrap();
    let t = preprocess(&img, &rgb_cfg, [32, 32], Resize::None).unwrap();
    for c in 0..3 {
        let want = (200.0 / 255.0 - rgb_cfg.mean[c]) / rgb_cfg.std[c];
        assert!((t.data[c * 1024] - want).abs() < 1e-6);
    }

    // Dataset pixels already at model size.
    let px: Vec<u8> = (0..28 * 28).map(|i| (i % 256) as u8).collect();
    let t = preprocess_gray_u8(&px, 28, 28, &cfg).unwrap();
    assert_eq!(t.shape, vec![1, 28, 28]);
    assert!((t.data[255] - (1.0 - cfg.mean[0]) / cfg.std[0]).abs() < 1e-6);
    assert!((t.data[0] - (-cfg.mean[0] / cfg.std[0])).abs() < 1e-6);
    assert!(preprocess_gray_u8(&px, 28, 27, &cfg).is_err());
}

#[test]
fn bundled_photos_load() {
    let t224 = CrateConfig::preset("crate-t").unwrap();
    let c32 = CrateConfig::preset("crate-c32").unwrap();
    for name in ["astronaut", "chelsea", "coffee"] {
        let f = format!("{name}_224.png");
        let bytes = fixture(&f);
        let t = load_input(&bytes, &f, &t224, [224, 224], Resize::Imagenet).unwrap();
        assert_eq!(t.shape, vec![3, 224, 224]);
        assert!(t.data.iter().all(|v| v.is_finite()));
        // At model size with no resizing, what the model sees is exactly the file's pixels.
        let img = decode_image(&bytes, &f, &limits()).unwrap();
        let t = preprocess(&img, &t224, [224, 224], Resize::None).unwrap();
        assert_eq!(denormalise_to_rgb8(&t, &t224).unwrap(), img.rgb, "{f}");

        let f = format!("{name}_32.png");
        let t = load_input(&fixture(&f), &f, &c32, [32, 32], Resize::None).unwrap();
        assert_eq!(t.shape, vec![3, 32, 32]);
    }
}

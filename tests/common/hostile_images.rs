//! Small image files for the hostile-input tests and the fuzz smoke test's seeds: valid files
//! (a few bytes each) whose headers claim huge sizes — decompression bombs — and plain ones.
//! Generated at test time, so no blob is committed.

pub fn png_gray(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(w, h, image::Luma([90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg_gray(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x * 7 + y * 13) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A small colour JPEG whose frame header claims `side`×`side` pixels.
pub fn jpeg_claiming(side: u16) -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 9, y as u8 * 5, 77]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let mut j = out.into_inner();
    let sof = j
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline SOF0");
    // FF C0, length (2), precision (1), height (2), width (2)
    j[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
    j[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    j
}

/// An 8-bit RLE BMP of `side`×`side` pixels whose data is just "end of bitmap".
pub fn bmp_rle(side: i32) -> Vec<u8> {
    let palette = 256 * 4;
    let data = [0u8, 1];
    let off = 14 + 40 + palette;
    let mut b = Vec::new();
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&((off + data.len()) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(off as u32).to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&side.to_le_bytes());
    b.extend_from_slice(&side.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // BI_RLE8
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&256u32.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    for i in 0..256u32 {
        b.extend_from_slice(&[i as u8, i as u8, i as u8, 0]);
    }
    b.extend_from_slice(&data);
    b
}

/// A GIF with a `side`×`side` logical screen and one 1×1 frame.
pub fn gif_screen(side: u16) -> Vec<u8> {
    let mut g = Vec::new();
    g.extend_from_slice(b"GIF89a");
    g.extend_from_slice(&side.to_le_bytes());
    g.extend_from_slice(&side.to_le_bytes());
    g.extend_from_slice(&[0x80, 0, 0]); // global colour table of 2 entries
    g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    g.push(0x2c);
    g.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0, 0]);
    g.extend_from_slice(&[2, 2, 0x4c, 0x01, 0]); // LZW min code 2, one pixel
    g.push(0x3b);
    g
}

/// A lossless WebP (VP8L) of `side`×`side` pixels of one colour, in 34 bytes whatever the
/// size: every prefix code has a single symbol, so each pixel costs zero bits. Decoded, it is
/// `side² × 4` bytes (1 GiB at 16384, the format's largest side).
pub fn webp_uniform(side: u32, rgb: [u8; 3]) -> Vec<u8> {
    assert!((1..=16384).contains(&side));
    let mut w = BitWriter::default();
    w.put(0x2f, 8); // VP8L signature
    w.put(side - 1, 14);
    w.put(side - 1, 14);
    w.put(0, 1); // alpha not used
    w.put(0, 3); // version 0
    w.put(0, 1); // no transform
    w.put(0, 1); // no colour cache
    w.put(0, 1); // one prefix-code group for the whole image
                 // Green (+ lengths), red, blue, alpha, distance: each a "simple" code of one 8-bit symbol.
    for sym in [rgb[1], rgb[0], rgb[2], 255, 0] {
        w.put(1, 1); // simple code
        w.put(0, 1); // one symbol
        w.put(1, 1); // an 8-bit symbol
        w.put(sym as u32, 8);
    }
    let mut data = w.finish();
    if data.len() % 2 == 1 {
        data.push(0);
    }
    let mut f = Vec::new();
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&(4 + 8 + data.len() as u32).to_le_bytes());
    f.extend_from_slice(b"WEBPVP8L");
    f.extend_from_slice(&(data.len() as u32).to_le_bytes());
    f.extend_from_slice(&data);
    f
}

/// Least-significant-bit-first bit packing, as VP8L reads it.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, v: u32, bits: u32) {
        self.acc |= (v as u64 & ((1u64 << bits) - 1)) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

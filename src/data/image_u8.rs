//! [`ImageU8`], the 8-bit image (channels interleaved) that datasets hand out and that
//! [`super::augment`] and [`super::batch`] both work on.

/// An 8-bit image: `height * width * channels` bytes, row-major, channels interleaved (HWC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageU8 {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

impl ImageU8 {
    /// An all-zero image.
    pub fn zeros(height: usize, width: usize, channels: usize) -> Self {
        Self {
            height,
            width,
            channels,
            pixels: vec![0; height * width * channels],
        }
    }

    /// The value at row `y`, column `x`, channel `c`.
    pub fn at(&self, y: usize, x: usize, c: usize) -> u8 {
        self.pixels[(y * self.width + x) * self.channels + c]
    }
}

//! The patch grid laid over a picture's pixels, one axis at a time: the cell of each pixel
//! column (or row), its bilinear sampling weights, and the other cells within a few pixels (for
//! outlines). Tabulated once per picture, so that the per-pixel loops of [`super::render`] do
//! lookups where they divided: the page draws these pictures on its main thread, in
//! unoptimised builds too, and a 448×448 map has 200,704 pixels.

/// One axis of `px` pixels over `cells` grid cells.
pub(crate) struct Axis {
    /// The cell of each pixel (the cell whose span holds the pixel's left or top edge).
    pub cell: Vec<usize>,
}

/// What lies within a few pixels of one pixel along an axis.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Near {
    /// A pixel within reach is off the picture.
    pub off: bool,
    /// The cells other than the pixel's own that pixels within reach fall in.
    pub others: Vec<usize>,
}

impl Axis {
    pub fn new(px: usize, cells: usize) -> Self {
        Self {
            cell: (0..px).map(|i| (i * cells / px).min(cells - 1)).collect(),
        }
    }

    /// Per pixel, the bilinear sampling at cell centres (as `F.interpolate(...,
    /// mode="bilinear", align_corners=False)` does): the two cells and the second one's weight.
    pub fn lerp(px: usize, cells: usize) -> Vec<(usize, usize, f32)> {
        (0..px)
            .map(|i| {
                let f = ((i as f32 + 0.5) * cells as f32 / px as f32 - 0.5)
                    .clamp(0.0, (cells - 1) as f32);
                let i0 = f.floor() as usize;
                (i0, (i0 + 1).min(cells - 1), f - i0 as f32)
            })
            .collect()
    }

    /// Per pixel, what lies within `reach` pixels of it (either side).
    pub fn near(&self, reach: usize) -> Vec<Near> {
        let n = self.cell.len();
        (0..n)
            .map(|i| {
                let mut near = Near {
                    off: i < reach || i + reach >= n,
                    others: Vec::new(),
                };
                for j in i.saturating_sub(reach)..(i + reach + 1).min(n) {
                    let c = self.cell[j];
                    if c != self.cell[i] && !near.others.contains(&c) {
                        near.others.push(c);
                    }
                }
                near
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_neighbours() {
        // 6 pixels over 3 cells: two pixels each.
        let a = Axis::new(6, 3);
        assert_eq!(a.cell, vec![0, 0, 1, 1, 2, 2]);
        let near = a.near(1);
        assert_eq!(
            near[0],
            Near {
                off: true,
                others: vec![]
            }
        );
        assert_eq!(
            near[1],
            Near {
                off: false,
                others: vec![1]
            }
        );
        assert_eq!(near[2].others, vec![0]);
        assert!(near[5].off);
        // One pixel per cell, reach 2: two cells each side.
        let b = Axis::new(5, 5);
        assert_eq!(b.near(2)[2].others, vec![0, 1, 3, 4]);
        let l = Axis::lerp(4, 2);
        assert_eq!(l[0], (0, 1, 0.0));
        assert_eq!(l[1], (0, 1, 0.25));
        assert_eq!(l[3], (1, 1, 0.0));
    }
}

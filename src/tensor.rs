//! A minimal dense f32 tensor: a shape and row-major data. Everything the model reads, computes
//! and writes is one of these; engines keep their own device-side representations.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// Tensors of one shape stacked along a new first axis (C, H, W images → a (B, C, H, W)
    /// batch). `items` must not be empty and must share one shape.
    pub fn stack(items: &[Tensor]) -> Self {
        let mut shape = vec![items.len()];
        shape.extend_from_slice(&items[0].shape);
        debug_assert!(items.iter().all(|t| t.shape == items[0].shape));
        Self {
            shape,
            data: items.iter().flat_map(|t| t.data.iter().copied()).collect(),
        }
    }

    /// A tensor from a shape and data; `None` when the element count does not match.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Option<Self> {
        (shape.iter().product::<usize>() == data.len()).then_some(Self { shape, data })
    }

    pub fn zeros(shape: &[usize]) -> Self {
        Self {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Human-readable shape, as used in error messages: `[384, 384]`.
    pub fn shape_str(&self) -> String {
        shape_str(&self.shape)
    }
}

/// The transpose of a row-major (rows, cols) matrix, as a row-major (cols, rows) one.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(
        m.len(),
        rows * cols,
        "transpose: {rows}x{cols} from {} values",
        m.len()
    );
    let mut t = vec![0.0; rows * cols];
    for (i, row) in m.chunks_exact(cols).enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j * rows + i] = *v;
        }
    }
    t
}

pub fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}

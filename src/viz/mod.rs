//! Pixels for the views: colour maps, attention overlays with mask outlines, PCA maps and
//! sparsity heatmaps, as plain RGBA buffers. No browser types, so every picture the page shows
//! is tested natively.

pub mod axis;
pub mod colormap;
mod grid_px;
pub mod render;
#[cfg(test)]
mod render_reference;

pub use colormap::inferno;
pub use render::{
    half, heads_overlay, heatmap, heatmap_rows, heatmap_scale, masked, outlined, overlay,
    pca_image, upscale, OverlayStyle, TRUTH_OUTLINE,
};

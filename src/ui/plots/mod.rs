//! Reusable canvas plots: [`ScatterPlot`] (2-D or rotating 3-D), [`Heatmap`] (with a colour bar
//! and a reference tick), [`BarChart`] (stacked, grouped, sorted by the caller), [`Histogram`]
//! and [`LinePlot`] (linear or log). Each is crisp on high-DPI screens, shows values on hover in
//! a readout line under the canvas, and draws with the shared helpers of [`canvas`].
//!
//! Data comes in through signals of `Arc`s, so a view that recomputes nothing (a layer or head
//! change read from a cache) only clones pointers.

pub mod bars;
pub mod canvas;
pub mod heatmap;
pub mod histogram;
pub mod lines;
pub mod scatter;

pub use bars::{Bar, BarChart, Parts};
pub use heatmap::{Heatmap, Matrix};
pub use histogram::Histogram;
pub use lines::{Line, LinePlot};
pub use scatter::{Points, ScatterPlot};

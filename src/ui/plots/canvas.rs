//! What every canvas plot shares: a crisp high-DPI drawing surface, linear and log scales, axes
//! with round ticks, the pointer position in CSS pixels and what the pointer is over
//! ([`Hover`]).
//!
//! Why canvas: the Subspaces view draws hundreds of points and cells per panel and redraws them
//! every animation frame; SVG nodes (as in [`crate::ui::chart`]) would be slow. The look follows
//! `LayerChart`: thin grey axes, small tick labels, the figure's title in a `figcaption`.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, MouseEvent};

pub use crate::viz::axis::tick_label;
use crate::viz::axis::ticks;

/// Axis lines and tick labels (readable on the light and the dark theme).
pub const AXIS: &str = "#8a9096";
/// Grid lines.
pub const GRID: &str = "rgba(138,144,150,0.22)";
/// The highlight outline of a hovered or selected item.
pub const HIGHLIGHT: &str = "#00b8d4";
pub const FONT: &str = "11px system-ui, sans-serif";
pub const LABEL_FONT: &str = "12px system-ui, sans-serif";

/// The plotting rectangle inside a canvas, in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Area {
    /// The area of a `width` × `height` canvas with margins for the axes' labels.
    pub fn with_margins(width: f64, height: f64, [top, right, bottom, left]: [f64; 4]) -> Self {
        Self {
            left,
            top,
            right: width - right,
            bottom: height - bottom,
        }
    }
    pub fn width(&self) -> f64 {
        self.right - self.left
    }
    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.left && x <= self.right && y >= self.top && y <= self.bottom
    }
}

/// A map from data values to pixels, linear or log10.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    /// The pixels `lo` and `hi` land on (`from > to` for a y axis pointing up).
    pub from: f64,
    pub to: f64,
    pub log: bool,
}

impl Scale {
    pub fn linear(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        let (lo, hi) = nonempty(lo, hi);
        Self {
            lo,
            hi,
            from,
            to,
            log: false,
        }
    }

    /// A log10 scale; `lo` and `hi` must be positive (they are clamped to 1e-300).
    pub fn log(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        let (lo, hi) = (lo.max(1e-300), hi.max(1e-300));
        let (lo, hi) = if hi <= lo { (lo, lo * 10.0) } else { (lo, hi) };
        Self {
            lo,
            hi,
            from,
            to,
            log: true,
        }
    }

    fn t(&self, v: f64) -> f64 {
        if self.log {
            (v.max(1e-300).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The pixel of a value.
    pub fn map(&self, v: f64) -> f64 {
        self.from + (self.to - self.from) * self.t(v)
    }

    /// The value at a pixel.
    pub fn invert(&self, p: f64) -> f64 {
        let t = (p - self.from) / (self.to - self.from);
        if self.log {
            10f64.powf(self.lo.log10() + t * (self.hi.log10() - self.lo.log10()))
        } else {
            self.lo + t * (self.hi - self.lo)
        }
    }

    /// Round tick values: [`ticks`] on a linear scale, powers of ten on a log scale.
    pub fn ticks(&self) -> Vec<f64> {
        if !self.log {
            return ticks(self.lo, self.hi);
        }
        let (a, b) = (
            self.lo.log10().ceil() as i32,
            self.hi.log10().floor() as i32,
        );
        let step = ((b - a) / 6 + 1).max(1);
        (a..=b)
            .step_by(step as usize)
            .map(|e| 10f64.powi(e))
            .collect()
    }
}

/// `[lo, hi]` widened when empty or degenerate, so that a constant series still draws.
pub fn nonempty(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        let pad = (lo.abs() * 0.05).max(1e-9);
        (lo - pad, hi + pad)
    }
}

/// The smallest and largest finite values, widened by `pad` of the span on each side.
pub fn extent(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let (lo, hi) = nonempty(lo, hi);
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

/// Sizes `canvas` to `width` × `height` CSS pixels at the screen's device-pixel ratio (so lines
/// and text stay sharp on high-DPI screens), clears it, and returns a context that draws in CSS
/// pixels.
pub fn surface(
    canvas: &HtmlCanvasElement,
    width: f64,
    height: f64,
) -> Option<CanvasRenderingContext2d> {
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 4.0);
    let (pw, ph) = ((width * dpr).round() as u32, (height * dpr).round() as u32);
    if canvas.width() != pw || canvas.height() != ph {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    let style = web_sys::HtmlElement::style(canvas);
    let _ = style.set_property("width", &format!("{width}px"));
    let _ = style.set_property("height", &format!("{height}px"));
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()?
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, width, height);
    Some(ctx)
}

/// Text at (x, y) with the given alignment (`left|center|right`, `top|middle|bottom|alphabetic`).
pub fn text(ctx: &CanvasRenderingContext2d, s: &str, x: f64, y: f64, align: &str, base: &str) {
    ctx.set_text_align(align);
    ctx.set_text_baseline(base);
    let _ = ctx.fill_text(s, x, y);
}

/// A straight line.
pub fn line(ctx: &CanvasRenderingContext2d, x0: f64, y0: f64, x1: f64, y1: f64) {
    ctx.begin_path();
    ctx.move_to(x0, y0);
    ctx.line_to(x1, y1);
    ctx.stroke();
}

/// The x and y axes of `area` with grid lines and tick labels (either scale may be absent, e.g.
/// for categorical bars), and the axis labels.
pub fn axes(
    ctx: &CanvasRenderingContext2d,
    area: &Area,
    x: Option<&Scale>,
    y: Option<&Scale>,
    x_label: &str,
    y_label: &str,
) {
    ctx.set_line_width(1.0);
    ctx.set_font(FONT);
    if let Some(y) = y {
        for t in y.ticks() {
            let py = y.map(t).round() + 0.5;
            ctx.set_stroke_style_str(GRID);
            line(ctx, area.left, py, area.right, py);
            ctx.set_fill_style_str(AXIS);
            text(ctx, &tick_label(t), area.left - 5.0, py, "right", "middle");
        }
    }
    if let Some(x) = x {
        for t in x.ticks() {
            let px = x.map(t).round() + 0.5;
            ctx.set_stroke_style_str(GRID);
            line(ctx, px, area.top, px, area.bottom);
            ctx.set_fill_style_str(AXIS);
            text(ctx, &tick_label(t), px, area.bottom + 4.0, "center", "top");
        }
    }
    ctx.set_stroke_style_str(AXIS);
    line(ctx, area.left + 0.5, area.top, area.left + 0.5, area.bottom);
    line(
        ctx,
        area.left,
        area.bottom + 0.5,
        area.right,
        area.bottom + 0.5,
    );
    ctx.set_font(LABEL_FONT);
    ctx.set_fill_style_str(AXIS);
    if !x_label.is_empty() {
        text(
            ctx,
            x_label,
            (area.left + area.right) / 2.0,
            area.bottom + 20.0,
            "center",
            "top",
        );
    }
    if !y_label.is_empty() {
        ctx.save();
        let _ = ctx.translate(12.0, (area.top + area.bottom) / 2.0);
        let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
        text(ctx, y_label, 0.0, 0.0, "center", "middle");
        ctx.restore();
    }
}

/// The pointer's position over the event's target, in CSS pixels.
pub fn pointer(ev: &MouseEvent) -> (f64, f64) {
    (ev.offset_x() as f64, ev.offset_y() as f64)
}

/// CSS `rgb()` / `rgba()` of a colour.
pub fn rgba(c: [u8; 3], alpha: f64) -> String {
    if alpha >= 1.0 {
        format!("rgb({},{},{})", c[0], c[1], c[2])
    } else {
        format!("rgba({},{},{},{alpha:.3})", c[0], c[1], c[2])
    }
}

/// The item a plot's pointer is over — an index, or richer (a bar and its stacked part) — kept in
/// a signal the drawing and the readout follow. A plot's `on_hover` hears the item's index each
/// time it changes, and `None` when the pointer leaves.
#[derive(Clone, Copy)]
pub struct Hover<T: Send + Sync + 'static> {
    current: RwSignal<Option<T>>,
    on_hover: Option<Callback<Option<usize>>>,
    index: fn(&T) -> usize,
}

impl<T: Copy + PartialEq + Send + Sync + 'static> Hover<T> {
    /// Nothing hovered yet; `index` names an item for `on_hover`.
    pub fn new(on_hover: Option<Callback<Option<usize>>>, index: fn(&T) -> usize) -> Self {
        Self {
            current: RwSignal::new(None),
            on_hover,
            index,
        }
    }

    pub fn get(&self) -> Option<T> {
        self.current.get()
    }

    pub fn get_untracked(&self) -> Option<T> {
        self.current.get_untracked()
    }

    pub fn track(&self) {
        self.current.track();
    }

    /// The pointer is now over `hit` (`None`: over nothing).
    pub fn set(&self, hit: Option<T>) {
        let was = self.current.get_untracked();
        if hit == was {
            return;
        }
        self.current.set(hit);
        let (now, before) = (hit.as_ref().map(self.index), was.as_ref().map(self.index));
        if let (true, Some(cb)) = (now != before, self.on_hover) {
            cb.run(now);
        }
    }

    /// The pointer left the plot.
    pub fn leave(&self) {
        self.set(None);
    }
}

/// [`Hover::new`]'s `index` for plots whose items are plain indices.
pub fn same(i: &usize) -> usize {
    *i
}

//! A heatmap on a canvas: a matrix in a colour map with a colour bar (optionally a reference tick
//! on it, e.g. the value expected by chance), square cells, hover values, click and highlight.

use std::sync::Arc;

use leptos::prelude::*;

use super::canvas::{self, rgba, Area, Scale, AXIS, HIGHLIGHT};
use crate::viz::axis::format_value;
use crate::viz::colormap::inferno;

/// A row-major matrix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        debug_assert_eq!(rows * cols, data.len());
        Self { rows, cols, data }
    }

    /// From rows of equal length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let cols = rows.first().map_or(0, Vec::len);
        Self::new(rows.len(), cols, rows.concat())
    }

    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }
}

/// Width of the colour bar and its labels.
const BAR: f64 = 58.0;

/// A heatmap.
///
/// - `matrix`: the values; cell (r, c) is drawn at row r from the top, column c from the left.
/// - `range`: the values at the ends of the colour map (default: the matrix's min and max).
/// - `reference`: a value and its name, marked with a tick on the colour bar.
/// - `unit`: the colour bar's label.
/// - `row_names` / `col_names`: tick labels (default: indices when there are at most 16).
/// - `highlight`: a cell index `r * cols + c`, outlined.
/// - `on_hover` / `on_click`: the cell index under the pointer.
/// - `describe`: the hover readout for (row, column, value) (default: "row r, column c: v").
/// - `colormap`: t in [0, 1] → colour (default inferno).
/// - `show_values`: write each value in its cell (for small matrices).
/// - `width` / `height`: the canvas's size in CSS pixels (default 300 × 260).
#[component]
pub fn Heatmap(
    #[prop(into)] matrix: Signal<Arc<Matrix>>,
    #[prop(into)] title: String,
    #[prop(optional, into)] range: MaybeProp<[f64; 2]>,
    #[prop(optional, into)] reference: MaybeProp<(f64, String)>,
    #[prop(optional, into)] unit: String,
    #[prop(optional, into)] x_label: String,
    #[prop(optional, into)] y_label: String,
    #[prop(optional, into)] row_names: MaybeProp<Vec<String>>,
    #[prop(optional, into)] col_names: MaybeProp<Vec<String>>,
    #[prop(optional, into)] highlight: MaybeProp<usize>,
    #[prop(optional)] on_hover: Option<Callback<Option<usize>>>,
    #[prop(optional)] on_click: Option<Callback<usize>>,
    #[prop(optional)] describe: Option<Callback<(usize, usize, f64), String>>,
    #[prop(optional)] colormap: Option<fn(f32) -> [u8; 3]>,
    #[prop(optional)] show_values: bool,
    #[prop(optional)] width: Option<f64>,
    #[prop(optional)] height: Option<f64>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let (w, h) = (width.unwrap_or(300.0), height.unwrap_or(260.0));
    let cmap = colormap.unwrap_or(inferno);
    let node = NodeRef::<leptos::html::Canvas>::new();
    let hovered = canvas::Hover::new(on_hover, canvas::same);
    // The drawn grid: origin and cell size, for the pointer.
    let geom = StoredValue::new((0.0f64, 0.0f64, 1.0f64));
    let labels = StoredValue::new((x_label, y_label, unit));
    let bounds = move |m: &Matrix| -> (f64, f64) {
        match range.get_untracked() {
            Some([a, b]) => canvas::nonempty(a, b),
            None => canvas::extent(m.data.iter().copied(), 0.0),
        }
    };

    Effect::new(move |_| {
        let m = matrix.get();
        let (Some(el), lit) = (node.get(), hovered.get().or(highlight.get())) else {
            return;
        };
        range.track();
        reference.track();
        row_names.track();
        col_names.track();
        let Some(ctx) = canvas::surface(&el, w, h) else {
            return;
        };
        let area = Area::with_margins(w, h, [8.0, BAR + 8.0, 34.0, 46.0]);
        if m.rows == 0 || m.cols == 0 {
            return;
        }
        let cell = (area.width() / m.cols as f64).min(area.height() / m.rows as f64);
        let (x0, y0) = (area.left, area.top);
        geom.set_value((x0, y0, cell));
        let (lo, hi) = bounds(&m);
        let t = |v: f64| ((v - lo) / (hi - lo)) as f32;
        for r in 0..m.rows {
            for c in 0..m.cols {
                let v = m.get(r, c);
                ctx.set_fill_style_str(&rgba(cmap(t(v)), 1.0));
                // Overlap by a hair so no seams show between cells.
                ctx.fill_rect(
                    x0 + c as f64 * cell,
                    y0 + r as f64 * cell,
                    cell + 0.5,
                    cell + 0.5,
                );
                if show_values && cell >= 22.0 {
                    ctx.set_font(canvas::FONT);
                    ctx.set_fill_style_str(if t(v) > 0.6 { "#111" } else { "#eee" });
                    canvas::text(
                        &ctx,
                        &format!("{v:.2}"),
                        x0 + (c as f64 + 0.5) * cell,
                        y0 + (r as f64 + 0.5) * cell,
                        "center",
                        "middle",
                    );
                }
            }
        }
        // Tick labels: names, or indices for small matrices.
        ctx.set_font(canvas::FONT);
        ctx.set_fill_style_str(AXIS);
        let names = |given: Option<Vec<String>>, n: usize| -> Vec<String> {
            given.unwrap_or_else(|| {
                let step = n.div_ceil(12).max(1);
                (0..n)
                    .map(|i| {
                        if i % step == 0 {
                            i.to_string()
                        } else {
                            String::new()
                        }
                    })
                    .collect()
            })
        };
        for (c, s) in names(col_names.get_untracked(), m.cols).iter().enumerate() {
            let x = x0 + (c as f64 + 0.5) * cell;
            canvas::text(&ctx, s, x, y0 + m.rows as f64 * cell + 3.0, "center", "top");
        }
        for (r, s) in names(row_names.get_untracked(), m.rows).iter().enumerate() {
            let y = y0 + (r as f64 + 0.5) * cell;
            canvas::text(&ctx, s, x0 - 4.0, y, "right", "middle");
        }
        let grid_bottom = y0 + m.rows as f64 * cell;
        labels.with_value(|(xl, yl, unit)| {
            ctx.set_font(canvas::LABEL_FONT);
            if !xl.is_empty() {
                canvas::text(
                    &ctx,
                    xl,
                    x0 + m.cols as f64 * cell / 2.0,
                    grid_bottom + 18.0,
                    "center",
                    "top",
                );
            }
            if !yl.is_empty() {
                ctx.save();
                let _ = ctx.translate(12.0, y0 + m.rows as f64 * cell / 2.0);
                let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
                canvas::text(&ctx, yl, 0.0, 0.0, "center", "middle");
                ctx.restore();
            }
            // The colour bar, with its ticks and the reference.
            let bx = x0 + m.cols as f64 * cell + 12.0;
            let bar = Scale::linear(lo, hi, grid_bottom, y0);
            let steps = 64;
            for i in 0..steps {
                let v0 = lo + (hi - lo) * i as f64 / steps as f64;
                let (ya, yb) = (bar.map(v0), bar.map(v0 + (hi - lo) / steps as f64));
                ctx.set_fill_style_str(&rgba(cmap(t(v0)), 1.0));
                ctx.fill_rect(bx, yb, 12.0, ya - yb + 0.5);
            }
            ctx.set_stroke_style_str(AXIS);
            ctx.set_line_width(1.0);
            ctx.stroke_rect(bx + 0.5, y0 + 0.5, 12.0, grid_bottom - y0);
            ctx.set_font(canvas::FONT);
            ctx.set_fill_style_str(AXIS);
            for tk in bar.ticks() {
                canvas::text(
                    &ctx,
                    &canvas::tick_label(tk),
                    bx + 15.0,
                    bar.map(tk),
                    "left",
                    "middle",
                );
            }
            if let Some((v, name)) = reference.get_untracked() {
                let y = bar.map(v.clamp(lo, hi));
                ctx.set_stroke_style_str(HIGHLIGHT);
                ctx.set_line_width(2.5);
                canvas::line(&ctx, bx - 4.0, y, bx + 16.0, y);
                ctx.set_fill_style_str(HIGHLIGHT);
                canvas::text(&ctx, name.as_str(), bx - 5.0, y, "right", "middle");
            }
            if !unit.is_empty() {
                ctx.set_fill_style_str(AXIS);
                canvas::text(&ctx, unit, bx, grid_bottom + 18.0, "left", "top");
            }
        });
        if let Some(i) = lit.filter(|&i| i < m.rows * m.cols) {
            let (r, c) = (i / m.cols, i % m.cols);
            ctx.set_stroke_style_str(HIGHLIGHT);
            ctx.set_line_width(2.5);
            ctx.stroke_rect(x0 + c as f64 * cell, y0 + r as f64 * cell, cell, cell);
        }
    });

    let cell_at = move |ev: &web_sys::MouseEvent| -> Option<usize> {
        let (x, y) = canvas::pointer(ev);
        let (x0, y0, cell) = geom.get_value();
        let m = matrix.get_untracked();
        let (c, r) = ((x - x0) / cell, (y - y0) / cell);
        (c >= 0.0 && r >= 0.0 && (c as usize) < m.cols && (r as usize) < m.rows)
            .then(|| r as usize * m.cols + c as usize)
    };
    let on_move = move |ev: web_sys::MouseEvent| hovered.set(cell_at(&ev));
    let on_leave = move |_| hovered.leave();
    let readout = move || {
        let i = hovered.get().or(highlight.get())?;
        let m = matrix.get();
        (i < m.rows * m.cols).then(|| {
            let (r, c) = (i / m.cols, i % m.cols);
            let v = m.get(r, c);
            match describe {
                Some(d) => d.run((r, c, v)),
                None => format!("row {r}, column {c}: {}", format_value(v)),
            }
        })
    };
    view! {
        <figure class="plot heatmap-plot" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title.clone()}</figcaption>
            <canvas
                node_ref=node
                role="img"
                aria-label=title.clone()
                class:clickable=on_click.is_some()
                on:mousemove=on_move
                on:mouseleave=on_leave
                on:click=move |ev: web_sys::MouseEvent| {
                    if let (Some(cb), Some(i)) = (on_click, cell_at(&ev)) {
                        cb.run(i);
                    }
                }
            ></canvas>
            <p class="readout">{readout}</p>
        </figure>
    }
}

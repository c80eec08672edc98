//! A line plot on a canvas over an index axis (1, 2, …): several series, linear or log values,
//! dashed or emphasised lines, and on hover every series' value at the nearest index.

use std::sync::Arc;

use leptos::prelude::*;

use super::canvas::{self, rgba, Area, Scale, HIGHLIGHT};
use crate::viz::axis::format_value;

/// One line: value i is drawn at x = i + 1.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub name: String,
    pub color: [u8; 3],
    pub values: Vec<f64>,
    pub dashed: bool,
    /// Drawn thicker, on top.
    pub emphasis: bool,
}

/// A line plot.
///
/// - `lines`: the series (any lengths).
/// - `log_y`: values on a log10 scale (values ≤ 0 are left out); `y_floor`: the lowest value
///   shown on a log scale (default: the smallest positive value).
/// - `legend`: name every line in the caption (default true).
/// - `width` / `height`: CSS pixels (default 420 × 240).
#[component]
pub fn LinePlot(
    #[prop(into)] lines: Signal<Arc<Vec<Line>>>,
    #[prop(into)] title: String,
    #[prop(optional, into)] x_label: String,
    #[prop(optional, into)] y_label: String,
    #[prop(optional)] log_y: bool,
    #[prop(optional)] y_floor: Option<f64>,
    #[prop(optional)] legend: Option<bool>,
    #[prop(optional)] width: Option<f64>,
    #[prop(optional)] height: Option<f64>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let (w, h) = (width.unwrap_or(420.0), height.unwrap_or(240.0));
    let node = NodeRef::<leptos::html::Canvas>::new();
    let hovered = canvas::Hover::new(None, canvas::same);
    let geom = StoredValue::new(None::<Scale>);
    let labels = StoredValue::new((x_label, y_label));

    Effect::new(move |_| {
        let all = lines.get();
        let lit = hovered.get();
        let Some(el) = node.get() else { return };
        let Some(ctx) = canvas::surface(&el, w, h) else {
            return;
        };
        let area = Area::with_margins(w, h, [10.0, 12.0, 36.0, 56.0]);
        let n = all.iter().map(|l| l.values.len()).max().unwrap_or(0).max(1);
        let xs = Scale::linear(1.0, n as f64, area.left, area.right);
        let vals = all.iter().flat_map(|l| l.values.iter().copied());
        let ys = if log_y {
            let pos: Vec<f64> = vals.filter(|v| *v > 0.0 && v.is_finite()).collect();
            let lo = y_floor.unwrap_or_else(|| pos.iter().copied().fold(f64::INFINITY, f64::min));
            let hi = pos.iter().copied().fold(0.0, f64::max);
            Scale::log(lo, hi * 1.2, area.bottom, area.top)
        } else {
            let (lo, hi) = canvas::extent(vals, 0.05);
            Scale::linear(lo, hi, area.bottom, area.top)
        };
        labels.with_value(|(xl, yl)| canvas::axes(&ctx, &area, Some(&xs), Some(&ys), xl, yl));
        ctx.save();
        ctx.begin_path();
        ctx.rect(area.left, area.top - 2.0, area.width(), area.height() + 4.0);
        ctx.clip();
        let mut order: Vec<&Line> = all.iter().collect();
        order.sort_by_key(|l| l.emphasis);
        for l in order {
            ctx.set_stroke_style_str(&rgba(l.color, if l.emphasis { 1.0 } else { 0.75 }));
            ctx.set_line_width(if l.emphasis { 2.6 } else { 1.4 });
            let dash = js_sys::Array::new();
            if l.dashed {
                dash.push(&5.0.into());
                dash.push(&4.0.into());
            }
            let _ = ctx.set_line_dash(&dash);
            ctx.begin_path();
            let mut pen = false;
            for (i, &v) in l.values.iter().enumerate() {
                if !v.is_finite() || (log_y && v <= 0.0) || (log_y && v < ys.lo) {
                    pen = false;
                    continue;
                }
                let (x, y) = (xs.map(i as f64 + 1.0), ys.map(v));
                if pen {
                    ctx.line_to(x, y);
                } else {
                    ctx.move_to(x, y);
                    pen = true;
                }
            }
            ctx.stroke();
        }
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        ctx.restore();
        if let Some(i) = lit {
            let x = xs.map(i as f64 + 1.0);
            ctx.set_stroke_style_str(HIGHLIGHT);
            ctx.set_line_width(1.0);
            canvas::line(&ctx, x, area.top, x, area.bottom);
        }
        geom.set_value(Some(xs));
    });

    let on_move = move |ev: web_sys::MouseEvent| {
        let (x, _) = canvas::pointer(&ev);
        let n = lines.with_untracked(|l| l.iter().map(|l| l.values.len()).max().unwrap_or(0));
        let i = geom
            .get_value()
            .map(|xs| xs.invert(x).round() as isize - 1)
            .filter(|&i| i >= 0 && (i as usize) < n)
            .map(|i| i as usize);
        hovered.set(i);
    };
    let readout = move || {
        let i = hovered.get()?;
        let parts: Vec<String> = lines.with(|ls| {
            ls.iter()
                .filter_map(|l| {
                    l.values
                        .get(i)
                        .map(|v| format!("{} {}", l.name, format_value(*v)))
                })
                .collect()
        });
        Some(format!("#{}: {}", i + 1, parts.join(" · ")))
    };
    let legend_view = move || {
        legend.unwrap_or(true).then(|| {
            lines
                .get()
                .iter()
                .map(|l| {
                    let kind = if l.dashed { "dashed" } else { "solid" };
                    let style = format!("border-top:2px {kind} {}", rgba(l.color, 1.0));
                    view! {
                        <span class="legend-item">
                            <span class="swatch line" style=style></span>
                            {l.name.clone()}
                        </span>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="plot lines" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title.clone()}<span class="legend">{legend_view}</span></figcaption>
            <canvas
                node_ref=node
                role="img"
                aria-label=title.clone()
                on:mousemove=on_move
                on:mouseleave=move |_| hovered.leave()
            ></canvas>
            <p class="readout">{readout}</p>
        </figure>
    }
}

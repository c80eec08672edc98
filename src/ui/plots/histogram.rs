//! A histogram on a canvas: counts over equal bins of [lo, hi), linear or log counts, hover
//! values.

use std::sync::Arc;

use leptos::prelude::*;

use super::canvas::{self, rgba, Area, Scale, HIGHLIGHT};
use crate::viz::axis::format_value;

/// A histogram.
///
/// - `counts`: one count per bin; `range`: `[lo, hi]`, split into `counts.len()` equal bins.
/// - `log_y`: counts on a log scale (empty bins are not drawn).
/// - `color`: the bars' colour; `note`: a line under the chart (e.g. what was left out).
/// - `width` / `height`: CSS pixels (default 360 × 220).
#[component]
pub fn Histogram(
    #[prop(into)] counts: Signal<Arc<Vec<usize>>>,
    #[prop(into)] range: Signal<[f64; 2]>,
    #[prop(into)] title: String,
    #[prop(optional, into)] x_label: String,
    #[prop(optional, into)] y_label: String,
    #[prop(optional)] log_y: bool,
    #[prop(optional)] color: Option<[u8; 3]>,
    #[prop(optional, into)] note: MaybeProp<String>,
    #[prop(optional)] width: Option<f64>,
    #[prop(optional)] height: Option<f64>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let (w, h) = (width.unwrap_or(360.0), height.unwrap_or(220.0));
    let color = color.unwrap_or([46, 139, 87]);
    let node = NodeRef::<leptos::html::Canvas>::new();
    let hovered = canvas::Hover::new(None, canvas::same);
    let geom = StoredValue::new(None::<Scale>);
    let labels = StoredValue::new((x_label, y_label));

    Effect::new(move |_| {
        let c = counts.get();
        let [lo, hi] = range.get();
        let lit = hovered.get();
        let Some(el) = node.get() else { return };
        let Some(ctx) = canvas::surface(&el, w, h) else {
            return;
        };
        let area = Area::with_margins(w, h, [10.0, 12.0, 36.0, 56.0]);
        let xs = Scale::linear(lo, hi, area.left, area.right);
        let top = c.iter().copied().max().unwrap_or(0).max(1) as f64;
        let ys = if log_y {
            Scale::log(0.8, top * 1.3, area.bottom, area.top)
        } else {
            Scale::linear(0.0, top * 1.05, area.bottom, area.top)
        };
        labels.with_value(|(xl, yl)| canvas::axes(&ctx, &area, Some(&xs), Some(&ys), xl, yl));
        let n = c.len().max(1);
        let bw = (xs.hi - xs.lo) / n as f64;
        for (i, &v) in c.iter().enumerate() {
            if v == 0 {
                continue;
            }
            let (x0, x1) = (
                xs.map(xs.lo + i as f64 * bw),
                xs.map(xs.lo + (i + 1) as f64 * bw),
            );
            let y = ys.map(v as f64);
            let base = if log_y { area.bottom } else { ys.map(0.0) };
            ctx.set_fill_style_str(&rgba(
                if lit == Some(i) { [0, 184, 212] } else { color },
                0.9,
            ));
            ctx.fill_rect(x0 + 0.5, y, (x1 - x0 - 1.0).max(0.5), base - y);
        }
        if let Some(i) = lit {
            let (x0, x1) = (
                xs.map(xs.lo + i as f64 * bw),
                xs.map(xs.lo + (i + 1) as f64 * bw),
            );
            ctx.set_stroke_style_str(HIGHLIGHT);
            ctx.stroke_rect(x0, area.top, x1 - x0, area.height());
        }
        geom.set_value(Some(xs));
    });

    let on_move = move |ev: web_sys::MouseEvent| {
        let (x, _) = canvas::pointer(&ev);
        let n = counts.with_untracked(|c| c.len());
        let i = geom.get_value().and_then(|xs| {
            let t = (xs.invert(x) - xs.lo) / (xs.hi - xs.lo);
            (0.0..1.0).contains(&t).then_some((t * n as f64) as usize)
        });
        hovered.set(i);
    };
    let readout = move || {
        let i = hovered.get()?;
        let [lo, hi] = range.get();
        let c = counts.get();
        let bw = (hi - lo) / c.len().max(1) as f64;
        Some(format!(
            "[{}, {}): {} values",
            format_value(lo + i as f64 * bw),
            format_value(lo + (i + 1) as f64 * bw),
            c.get(i).copied().unwrap_or(0)
        ))
    };
    view! {
        <figure class="plot histogram" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title.clone()}</figcaption>
            <canvas
                node_ref=node
                role="img"
                aria-label=title.clone()
                on:mousemove=on_move
                on:mouseleave=move |_| hovered.leave()
            ></canvas>
            <p class="readout">{move || readout().or_else(|| note.get())}</p>
        </figure>
    }
}

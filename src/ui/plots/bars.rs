//! A bar chart on a canvas: one bar per item, optionally stacked from several parts (a legend
//! names them), optionally gathered in groups with a gap between them; hover values, click and a
//! selected bar. Sort the bars before passing them for a sorted chart.

use std::sync::Arc;

use leptos::prelude::*;

use super::canvas::{self, rgba, Area, Scale, AXIS, HIGHLIGHT};
use crate::viz::axis::format_value;

/// One bar: its label (under the axis, thinned when crowded) and its stacked parts, bottom
/// first (one part for a plain bar).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bar {
    pub label: String,
    pub parts: Vec<f64>,
}

impl Bar {
    pub fn total(&self) -> f64 {
        self.parts.iter().sum()
    }
}

/// The name and colour of each stacked part.
pub type Parts = Vec<(String, [u8; 3])>;

/// A bar chart.
///
/// - `bars`: the bars in drawing order, left to right.
/// - `parts`: name and colour of each stacked part (bottom first); drawn as a legend when there
///   are several.
/// - `group`: bars per group; a gap separates groups (e.g. 2: "before, after" per layer).
/// - `y_range`: the value axis (default 0 to the largest total).
/// - `selected`: a bar drawn outlined; `on_click` / `on_hover`: the bar under the pointer.
/// - `describe`: the hover readout for (bar, part under the pointer if any).
/// - `width` / `height`: CSS pixels (default 520 × 230).
#[component]
pub fn BarChart(
    #[prop(into)] bars: Signal<Arc<Vec<Bar>>>,
    #[prop(into)] parts: Signal<Parts>,
    #[prop(into)] title: String,
    #[prop(optional, into)] x_label: String,
    #[prop(optional, into)] y_label: String,
    #[prop(optional)] group: Option<usize>,
    #[prop(optional, into)] y_range: MaybeProp<[f64; 2]>,
    #[prop(optional, into)] selected: MaybeProp<usize>,
    #[prop(optional)] on_click: Option<Callback<usize>>,
    #[prop(optional)] on_hover: Option<Callback<Option<usize>>>,
    #[prop(optional)] describe: Option<Callback<(usize, Option<usize>), String>>,
    #[prop(optional)] width: Option<f64>,
    #[prop(optional)] height: Option<f64>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let (w, h) = (width.unwrap_or(520.0), height.unwrap_or(230.0));
    let group = group.unwrap_or(1).max(1);
    let node = NodeRef::<leptos::html::Canvas>::new();
    let hovered = canvas::Hover::new(on_hover, |h: &(usize, Option<usize>)| h.0);
    // Per bar: left x, width; and the value scale, for the pointer.
    let geom = StoredValue::new((Vec::<(f64, f64)>::new(), None::<Scale>));
    let labels = StoredValue::new((x_label, y_label));

    Effect::new(move |_| {
        let b = bars.get();
        let parts_now = parts.get();
        let lit = hovered.get().map(|h| h.0).or(selected.get());
        y_range.track();
        let Some(el) = node.get() else { return };
        let Some(ctx) = canvas::surface(&el, w, h) else {
            return;
        };
        let area = Area::with_margins(w, h, [10.0, 10.0, 36.0, 56.0]);
        let (lo, hi) = match y_range.get_untracked() {
            Some([a, b]) => (a, b),
            None => (
                0.0f64.min(b.iter().map(Bar::total).fold(0.0, f64::min)),
                b.iter().map(Bar::total).fold(0.0, f64::max) * 1.05,
            ),
        };
        let ys = Scale::linear(lo, hi, area.bottom, area.top);
        labels.with_value(|(xl, yl)| canvas::axes(&ctx, &area, None, Some(&ys), xl, yl));
        let n = b.len();
        if n == 0 {
            return;
        }
        let groups = n.div_ceil(group);
        // Slots: one per bar plus half a slot between groups.
        let slots = n as f64
            + if groups > 1 {
                0.5 * (groups - 1) as f64
            } else {
                0.0
            };
        let slot = area.width() / slots.max(1.0);
        let bw = (slot * 0.82).max(1.0);
        let label_every = ((n as f64 * 34.0 / area.width()).ceil() as usize).max(1);
        let mut spans = Vec::with_capacity(n);
        ctx.set_font(canvas::FONT);
        for (i, bar) in b.iter().enumerate() {
            let x = area.left + (i as f64 + 0.5 * (i / group) as f64) * slot + (slot - bw) / 2.0;
            spans.push((x, bw));
            let mut base = 0.0;
            for (k, v) in bar.parts.iter().enumerate() {
                let col = parts_now.get(k).map_or([128; 3], |p| p.1);
                let (y0, y1) = (ys.map(base), ys.map(base + v));
                ctx.set_fill_style_str(&rgba(col, 0.92));
                ctx.fill_rect(x, y1.min(y0), bw, (y0 - y1).abs());
                base += v;
            }
            if i % label_every == 0 && !bar.label.is_empty() {
                ctx.set_fill_style_str(AXIS);
                canvas::text(
                    &ctx,
                    &bar.label,
                    x + bw / 2.0,
                    area.bottom + 4.0,
                    "center",
                    "top",
                );
            }
        }
        if let Some(&(x, bw)) = lit.and_then(|i| spans.get(i)) {
            let top = ys.map(b[lit.unwrap_or(0)].total());
            ctx.set_stroke_style_str(HIGHLIGHT);
            ctx.set_line_width(2.0);
            ctx.stroke_rect(x - 1.0, top - 1.0, bw + 2.0, area.bottom - top + 1.0);
        }
        geom.set_value((spans, Some(ys)));
    });

    let at = move |ev: &web_sys::MouseEvent| -> Option<(usize, Option<usize>)> {
        let (x, y) = canvas::pointer(ev);
        geom.with_value(|(spans, ys)| {
            let i = spans
                .iter()
                .position(|&(x0, bw)| x >= x0 - 1.0 && x <= x0 + bw + 1.0)?;
            let v = ys.as_ref()?.invert(y);
            let part = bars.with_untracked(|b| {
                let mut base = 0.0;
                b[i].parts.iter().position(|p| {
                    base += p;
                    v <= base && v >= 0.0
                })
            });
            Some((i, part))
        })
    };
    let on_move = move |ev: web_sys::MouseEvent| hovered.set(at(&ev));
    let on_leave = move |_| hovered.leave();
    let readout = move || {
        let (i, part) = hovered.get().or(selected.get().map(|i| (i, None)))?;
        Some(match describe {
            Some(d) => d.run((i, part)),
            None => bars.with(|b| {
                b.get(i)
                    .map(|bar| format!("{}: {}", bar.label, format_value(bar.total())))
                    .unwrap_or_default()
            }),
        })
    };
    let legend = move || {
        let p = parts.get();
        (p.len() > 1).then(|| {
            p.into_iter()
                .map(|(name, c)| {
                    view! {
                        <span class="legend-item">
                            <span class="swatch" style=format!("background:{}", rgba(c, 1.0))></span>
                            {name}
                        </span>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="plot bars" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title.clone()}<span class="legend">{legend}</span></figcaption>
            <canvas
                node_ref=node
                role="img"
                aria-label=title.clone()
                class:clickable=on_click.is_some()
                on:mousemove=on_move
                on:mouseleave=on_leave
                on:click=move |ev: web_sys::MouseEvent| {
                    if let (Some(cb), Some((i, _))) = (on_click, at(&ev)) {
                        cb.run(i);
                    }
                }
            ></canvas>
            <p class="readout">{readout}</p>
        </figure>
    }
}

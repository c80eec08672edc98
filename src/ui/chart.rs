//! A per-layer line chart in SVG: axes with ticks, one line per series, optional mean ± std
//! bars, values on hover (SVG titles), the chosen layer highlighted, click to choose a layer.

use leptos::prelude::*;

use crate::viz::axis::{format_value as fmt, ticks};

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
    /// A standard deviation per value, drawn as error bars.
    pub spread: Option<Vec<f64>>,
}

const W: f64 = 520.0;
const H: f64 = 230.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

#[component]
pub fn LayerChart(
    #[prop(into)] title: String,
    #[prop(into)] y_label: String,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into)] selected: Signal<usize>,
    on_select: Callback<usize>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let title2 = title.clone();
    let body = move || {
        let all = series.get();
        let n = all.iter().map(|s| s.values.len()).max().unwrap_or(0);
        if n == 0 {
            return view! { <g></g> }.into_any();
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in &all {
            for (i, v) in s.values.iter().enumerate() {
                let e = s.spread.as_ref().map_or(0.0, |sp| sp[i]);
                lo = lo.min(v - e);
                hi = hi.max(v + e);
            }
        }
        let pad = ((hi - lo) * 0.08).max(hi.abs() * 1e-3).max(1e-9);
        let (lo, hi) = (lo - pad, hi + pad);
        let x = move |i: usize| {
            if n == 1 {
                LEFT + (W - LEFT - RIGHT) / 2.0
            } else {
                LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
            }
        };
        let y = move |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
        let sel = selected.get().min(n - 1);
        let yt = ticks(lo, hi)
            .into_iter()
            .map(|t| {
                view! {
                    <line class="grid" x1=LEFT x2=W - RIGHT y1=y(t) y2=y(t)></line>
                    <text class="tick" x=LEFT - 6.0 y=y(t) text-anchor="end" dominant-baseline="middle">{fmt(t)}</text>
                }
            })
            .collect_view();
        let xt = (0..n)
            .map(|i| {
                view! {
                    <text class="tick" x=x(i) y=H - BOTTOM + 16.0 text-anchor="middle">{i.to_string()}</text>
                }
            })
            .collect_view();
        let lines = all
            .iter()
            .map(|s| {
                let pts = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let color = s.color;
                let bars = s.spread.clone().map(|sp| {
                    s.values
                        .iter()
                        .zip(sp)
                        .enumerate()
                        .map(|(i, (&v, e))| {
                            view! {
                                <line class="errbar" x1=x(i) x2=x(i) y1=y(v - e) y2=y(v + e) stroke=color></line>
                            }
                        })
                        .collect_view()
                });
                let dots = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let tip = match &s.spread {
                            Some(sp) => format!("layer {i}: {} = {} ± {}", s.name, fmt(v), fmt(sp[i])),
                            None => format!("layer {i}: {} = {}", s.name, fmt(v)),
                        };
                        view! {
                            <circle
                                cx=x(i)
                                cy=y(v)
                                r=if i == sel { 5.5 } else { 4.0 }
                                fill=color
                                class="dot"
                                on:click=move |_| on_select.run(i)
                            >
                                <title>{tip}</title>
                            </circle>
                        }
                    })
                    .collect_view();
                view! {
                    <g>
                        {bars}
                        <polyline points=pts fill="none" stroke=color stroke-width="2"></polyline>
                        {dots}
                    </g>
                }
            })
            .collect_view();
        view! {
            <g>
                {yt}
                {xt}
                <line class="sel" x1=x(sel) x2=x(sel) y1=TOP y2=H - BOTTOM></line>
                <line class="axis" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM></line>
                <line class="axis" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM></line>
                {lines}
            </g>
        }
        .into_any()
    };
    let legend = move || {
        series
            .get()
            .into_iter()
            .map(|s| {
                view! {
                    <span class="legend-item">
                        <span class="swatch" style=format!("background:{}", s.color)></span>
                        {s.name}
                    </span>
                }
            })
            .collect_view()
    };
    view! {
        <figure class="chart" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title}<span class="legend">{legend}</span></figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title2>
                {body}
                <text class="label" x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle">"layer"</text>
                <text class="label" transform=format!("translate(14,{}) rotate(-90)", (TOP + H - BOTTOM) / 2.0) text-anchor="middle">{y_label}</text>
            </svg>
        </figure>
    }
}

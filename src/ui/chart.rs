//! A per-layer line chart in SVG: axes with ticks, one line per series, optional mean ± std
//! bars, values on hover (SVG titles), the chosen layer highlighted, click to choose a layer.

use leptos::prelude::*;

use super::chart_frame::{ChartFigure, Frame};
use crate::viz::axis::format_value as fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
    /// A standard deviation per value, drawn as error bars.
    pub spread: Option<Vec<f64>>,
}

const FRAME: Frame = Frame {
    w: 520.0,
    h: 230.0,
    left: 62.0,
    right: 14.0,
    top: 14.0,
    bottom: 40.0,
};
const W: f64 = FRAME.w;
const H: f64 = FRAME.h;
const LEFT: f64 = FRAME.left;
const RIGHT: f64 = FRAME.right;
const TOP: f64 = FRAME.top;
const BOTTOM: f64 = FRAME.bottom;

#[component]
pub fn LayerChart(
    #[prop(into)] title: String,
    #[prop(into)] y_label: String,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into)] selected: Signal<usize>,
    on_select: Callback<usize>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
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
        let y = FRAME.y_of(lo, hi);
        let sel = selected.get().min(n - 1);
        let yt = FRAME.value_grid(lo, hi);
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
                {FRAME.axes()}
                {lines}
            </g>
        }
        .into_any()
    };
    let legend = Signal::derive(move || {
        series
            .get()
            .into_iter()
            .map(|s| (s.name, s.color))
            .collect::<Vec<_>>()
    });
    view! {
        <ChartFigure frame=FRAME title=title x_label="layer" y_label=y_label legend=legend id=(!id.is_empty()).then_some(id)>
            {body}
        </ChartFigure>
    }
}

//! The Train view's curves over training steps in SVG (axes, ticks, units, values on hover):
//! the x axis is the step, with held-out points only at the steps evaluated, which the shared
//! [`crate::ui::plots::LinePlot`] (one value per index) does not draw. The heatmap and the
//! confusion matrix use [`crate::ui::plots::Heatmap`].

use leptos::prelude::*;

use crate::viz::axis::{format_value as fmt, ticks};

/// One curve: (step, value) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub name: String,
    pub color: &'static str,
    /// Drawn thin and faint (a noisy per-batch curve, or a reference).
    pub faint: bool,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 520.0;
const H: f64 = 210.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 38.0;
/// Hover targets per curve at most (the DOM stays small however long the run).
const MAX_DOTS: usize = 40;

#[component]
pub fn StepChart(
    #[prop(into)] title: String,
    #[prop(into)] y_label: String,
    #[prop(into)] curves: Signal<Vec<Curve>>,
    #[prop(into)] id: String,
) -> impl IntoView {
    let aria = title.clone();
    let body = move || {
        let all = curves.get();
        let pts = all.iter().flat_map(|c| c.points.iter().copied());
        let (mut x0, mut x1, mut lo, mut hi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in pts {
            if x.is_finite() && y.is_finite() {
                x0 = x0.min(x);
                x1 = x1.max(x);
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        if !x0.is_finite() {
            return view! { <text class="label" x=W / 2.0 y=H / 2.0 text-anchor="middle">"no steps yet"</text> }
                .into_any();
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let pad = ((hi - lo) * 0.08).max(1e-6);
        let (lo, hi) = (lo - pad, hi + pad);
        let x = move |v: f64| LEFT + (W - LEFT - RIGHT) * (v - x0) / (x1 - x0);
        let y = move |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
        let yt = ticks(lo, hi)
            .into_iter()
            .map(|t| {
                view! {
                    <line class="grid" x1=LEFT x2=W - RIGHT y1=y(t) y2=y(t)></line>
                    <text class="tick" x=LEFT - 6.0 y=y(t) text-anchor="end" dominant-baseline="middle">{fmt(t)}</text>
                }
            })
            .collect_view();
        let xt = ticks(x0, x1)
            .into_iter()
            .filter(|t| t.fract() == 0.0)
            .map(|t| view! { <text class="tick" x=x(t) y=H - BOTTOM + 15.0 text-anchor="middle">{format!("{t:.0}")}</text> })
            .collect_view();
        let lines = all
            .into_iter()
            .map(|c| {
                let line = c
                    .points
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|&(a, b)| format!("{:.1},{:.1}", x(a), y(b)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let every = c.points.len().div_ceil(MAX_DOTS).max(1);
                let name = c.name.clone();
                let dots = c
                    .points
                    .iter()
                    .enumerate()
                    .filter(|(i, p)| {
                        (i % every == 0 || *i + 1 == c.points.len()) && p.1.is_finite()
                    })
                    .map(|(_, &(a, b))| {
                        view! {
                            <circle class="hover" cx=x(a) cy=y(b) r="5" fill=c.color>
                                <title>{format!("step {a}: {name} = {}", fmt(b))}</title>
                            </circle>
                        }
                    })
                    .collect_view();
                view! {
                    <g class=if c.faint { "curve faint" } else { "curve" }>
                        <polyline points=line fill="none" stroke=c.color></polyline>
                        {dots}
                    </g>
                }
            })
            .collect_view();
        view! {
            <g>
                {yt}
                {xt}
                <line class="axis" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM></line>
                <line class="axis" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM></line>
                {lines}
            </g>
        }
        .into_any()
    };
    let legend = move || {
        curves
            .get()
            .into_iter()
            .map(|c| {
                view! {
                    <span class="legend-item">
                        <span class="swatch" style=format!("background:{}", c.color)></span>
                        {c.name}
                    </span>
                }
            })
            .collect_view()
    };
    view! {
        <figure class="chart" id=id>
            <figcaption>{title}<span class="legend">{legend}</span></figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=aria>
                {body}
                <text class="label" x=(LEFT + W - RIGHT) / 2.0 y=H - 4.0 text-anchor="middle">"training step"</text>
                <text class="label" transform=format!("translate(13,{}) rotate(-90)", (TOP + H - BOTTOM) / 2.0) text-anchor="middle">{y_label}</text>
            </svg>
        </figure>
    }
}

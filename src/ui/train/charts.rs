//! The Train view's curves over training steps in SVG (axes, ticks, units, values on hover):
//! the x axis is the step, with held-out points only at the steps evaluated, which the shared
//! [`crate::ui::plots::LinePlot`] (one value per index) does not draw. The heatmap and the
//! confusion matrix use [`crate::ui::plots::Heatmap`].

use leptos::prelude::*;

use crate::ui::chart_frame::{ChartFigure, Frame};
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

const FRAME: Frame = Frame {
    w: 520.0,
    h: 210.0,
    left: 58.0,
    right: 12.0,
    top: 12.0,
    bottom: 38.0,
};
const W: f64 = FRAME.w;
const H: f64 = FRAME.h;
const LEFT: f64 = FRAME.left;
const RIGHT: f64 = FRAME.right;
const BOTTOM: f64 = FRAME.bottom;
/// Hover targets per curve at most (the DOM stays small however long the run).
const MAX_DOTS: usize = 40;

#[component]
pub fn StepChart(
    #[prop(into)] title: String,
    #[prop(into)] y_label: String,
    #[prop(into)] curves: Signal<Vec<Curve>>,
    #[prop(into)] id: String,
) -> impl IntoView {
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
        let y = FRAME.y_of(lo, hi);
        let yt = FRAME.value_grid(lo, hi);
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
                {FRAME.axes()}
                {lines}
            </g>
        }
        .into_any()
    };
    let legend = Signal::derive(move || {
        curves
            .get()
            .into_iter()
            .map(|c| (c.name, c.color))
            .collect::<Vec<_>>()
    });
    view! {
        <ChartFigure frame=FRAME title=title x_label="training step" y_label=y_label legend=legend id=id>
            {body}
        </ChartFigure>
    }
}

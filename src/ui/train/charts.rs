//! The Train view's charts in SVG: curves over training steps (axes, ticks, units, values on
//! hover), the layer × probe-step heatmap of a per-layer measure, and the confusion matrix.

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

/// Rows = layers, columns = probes; `values[probe][layer]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Heat {
    pub steps: Vec<u64>,
    pub values: Vec<Vec<f64>>,
    pub measure: String,
}

/// A blue-to-yellow ramp (viridis-like) for t in [0, 1].
fn ramp(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let f = t * (stops.len() - 1) as f64;
    let i = (f.floor() as usize).min(stops.len() - 2);
    let u = f - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let c = |p: f64, q: f64| (p + (q - p) * u).round() as u8;
    format!("rgb({},{},{})", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
}

#[component]
pub fn Heatmap(#[prop(into)] heat: Signal<Heat>) -> impl IntoView {
    const HW: f64 = 520.0;
    const HH: f64 = 200.0;
    const HL: f64 = 58.0;
    const HB: f64 = 30.0;
    let body = move || {
        let h = heat.get();
        let cols = h.values.len();
        let rows = h.values.first().map_or(0, |v| v.len());
        if cols == 0 || rows == 0 {
            return view! { <text class="label" x=HW / 2.0 y=HH / 2.0 text-anchor="middle">"no probe yet"</text> }
                .into_any();
        }
        let (lo, hi) = h
            .values
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = (hi - lo).max(1e-12);
        let cw = (HW - HL - 70.0) / cols as f64;
        let rh = (HH - 8.0 - HB) / rows as f64;
        let cells = h
            .values
            .iter()
            .enumerate()
            .flat_map(|(c, col)| {
                let step = h.steps.get(c).copied().unwrap_or(0);
                let measure = h.measure.clone();
                col.iter().enumerate().map(move |(r, &v)| {
                    view! {
                        <rect x=HL + c as f64 * cw y=8.0 + r as f64 * rh width=cw + 0.5 height=rh + 0.5 fill=ramp((v - lo) / span)>
                            <title>{format!("layer {r}, step {step}: {measure} = {}", fmt(v))}</title>
                        </rect>
                    }
                })
            })
            .collect_view();
        let ylabels = (0..rows)
            .map(|r| view! { <text class="tick" x=HL - 6.0 y=8.0 + (r as f64 + 0.5) * rh text-anchor="end" dominant-baseline="middle">{r.to_string()}</text> })
            .collect_view();
        let first = h.steps.first().copied().unwrap_or(0);
        let last = h.steps.last().copied().unwrap_or(0);
        let scale = (0..=4)
            .map(|i| {
                let t = i as f64 / 4.0;
                view! {
                    <rect x=HW - 56.0 y=8.0 + (1.0 - t) * (HH - 8.0 - HB - 14.0) width="12" height="14" fill=ramp(t)></rect>
                    <text class="tick" x=HW - 40.0 y=15.0 + (1.0 - t) * (HH - 8.0 - HB - 14.0) dominant-baseline="middle">{fmt(lo + t * span)}</text>
                }
            })
            .collect_view();
        view! {
            <g>
                {cells}
                {ylabels}
                {scale}
                <text class="tick" x=HL y=HH - HB + 14.0 text-anchor="start">{format!("step {first}")}</text>
                <text class="tick" x=HW - 70.0 y=HH - HB + 14.0 text-anchor="end">{format!("step {last}")}</text>
            </g>
        }
        .into_any()
    };
    view! {
        <figure class="chart" id="train-heatmap">
            <figcaption>{move || format!("{} per layer over training (probe batch)", heat.with(|h| h.measure.clone()))}</figcaption>
            <svg viewBox=format!("0 0 {HW} {HH}") role="img" aria-label="per-layer measure over training">
                {body}
                <text class="label" x=(HL + HW - 70.0) / 2.0 y=HH - 4.0 text-anchor="middle">"training step (probe)"</text>
                <text class="label" transform=format!("translate(13,{}) rotate(-90)", (HH - HB) / 2.0) text-anchor="middle">"layer"</text>
            </svg>
        </figure>
    }
}

/// The confusion matrix (rows: true class, columns: predicted) with per-class accuracy.
#[component]
pub fn Confusion(
    #[prop(into)] matrix: Signal<Vec<Vec<u64>>>,
    #[prop(into)] names: Signal<Vec<String>>,
) -> impl IntoView {
    move || {
        let m = matrix.get();
        let names = names.get();
        if m.is_empty() {
            return view! { <p class="muted">"The confusion matrix appears after the first held-out evaluation."</p> }.into_any();
        }
        let max = m.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
        let head = names
            .iter()
            .map(|n| view! { <th scope="col">{n.clone()}</th> })
            .collect_view();
        let rows = m
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let n: u64 = row.iter().sum();
                let acc = if n > 0 { format!("{:.1} %", 100.0 * row[r] as f64 / n as f64) } else { "–".into() };
                let name = names.get(r).cloned().unwrap_or_else(|| r.to_string());
                let cells = row
                    .iter()
                    .enumerate()
                    .map(|(c, &v)| {
                        let a = v as f64 / max;
                        let style = format!("background: rgba(31,119,180,{a:.2}); color: {}", if a > 0.5 { "#fff" } else { "inherit" });
                        let tip = format!("true {}, predicted {}: {v}", name, names.get(c).cloned().unwrap_or_default());
                        view! { <td style=style title=tip>{v}</td> }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{name.clone()}</th>{cells}<td class="acc">{acc}</td></tr> }
            })
            .collect_view();
        view! {
            <table class="confusion" id="train-confusion">
                <caption>"Held-out confusion matrix (rows: true class, columns: predicted) and per-class accuracy"</caption>
                <thead><tr><th></th>{head}<th scope="col">"accuracy"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    }
}

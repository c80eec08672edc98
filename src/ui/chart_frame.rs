//! What the SVG line charts share ([`super::chart::LayerChart`] over layers,
//! [`super::train::charts::StepChart`] over training steps): the plot area's geometry, the value
//! grid with its ticks, the two axes, and the figure around the SVG (title, legend, axis labels).

use leptos::prelude::*;

use crate::viz::axis::{format_value as fmt, ticks};

/// An SVG chart's size and the margins around its plot area, in viewBox units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// Maps a value in `lo..hi` to its y coordinate (`hi` at the top).
    pub fn y_of(self, lo: f64, hi: f64) -> impl Fn(f64) -> f64 + Copy {
        move |v| self.top + (self.h - self.top - self.bottom) * (1.0 - (v - lo) / (hi - lo))
    }

    /// Horizontal grid lines with their values at the axis, for the range `lo..hi`.
    pub fn value_grid(self, lo: f64, hi: f64) -> impl IntoView {
        let y = self.y_of(lo, hi);
        ticks(lo, hi)
            .into_iter()
            .map(|t| {
                view! {
                    <line class="grid" x1=self.left x2=self.w - self.right y1=y(t) y2=y(t)></line>
                    <text class="tick" x=self.left - 6.0 y=y(t) text-anchor="end" dominant-baseline="middle">{fmt(t)}</text>
                }
            })
            .collect_view()
    }

    /// The y and x axes along the plot area's left and bottom edges.
    pub fn axes(self) -> impl IntoView {
        let (bottom, right) = (self.h - self.bottom, self.w - self.right);
        view! {
            <line class="axis" x1=self.left x2=self.left y1=self.top y2=bottom></line>
            <line class="axis" x1=self.left x2=right y1=bottom y2=bottom></line>
        }
    }
}

/// The `<figure>` around a chart: its title and a legend of (name, colour) swatches in the caption,
/// the SVG with `children` inside, and the axis labels.
#[component]
pub fn ChartFigure(
    frame: Frame,
    #[prop(into)] title: String,
    #[prop(into)] x_label: String,
    #[prop(into)] y_label: String,
    #[prop(into)] legend: Signal<Vec<(String, &'static str)>>,
    #[prop(into)] id: Option<String>,
    children: Children,
) -> impl IntoView {
    let Frame {
        w,
        h,
        left,
        right,
        top,
        bottom,
    } = frame;
    let items = move || {
        legend
            .get()
            .into_iter()
            .map(|(name, color)| {
                view! {
                    <span class="legend-item">
                        <span class="swatch" style=format!("background:{color}")></span>
                        {name}
                    </span>
                }
            })
            .collect_view()
    };
    view! {
        <figure class="chart" id=id>
            <figcaption>{title.clone()}<span class="legend">{items}</span></figcaption>
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label=title>
                {children()}
                <text class="label" x=(left + w - right) / 2.0 y=h - 5.0 text-anchor="middle">{x_label}</text>
                <text class="label" transform=format!("translate(14,{}) rotate(-90)", (top + h - bottom) / 2.0) text-anchor="middle">{y_label}</text>
            </svg>
        </figure>
    }
}

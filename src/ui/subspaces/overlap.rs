//! Panel 4: how incoherent the heads' subspaces are: the K×K overlap with the random baseline on
//! the colour bar, and the singular values of [U_1 … U_K].

use std::sync::Arc;

use leptos::prelude::*;

use super::{explain, Panel, Shared, Stage};
use crate::ui::plots::{Heatmap, Line, LinePlot, Matrix};
use crate::viz::axis::format_value;

#[component]
pub fn OverlapPanel() -> impl IntoView {
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Overlap);
    let matrix = Signal::derive(move || {
        rep.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| Matrix::from_rows(&r.overlap.matrix))
                    .unwrap_or_default(),
            )
        })
    });
    let reference = Signal::derive(move || {
        shared
            .report
            .with(|r| r.as_ref().map(|r| (r.overlap.random, "random".to_string())))
    });
    let names = Signal::derive(move || {
        let k = rep.with(|r| r.as_ref().map_or(0, |r| r.heads));
        Some((0..k).map(|k| k.to_string()).collect::<Vec<_>>())
    });
    let sv = Signal::derive(move || {
        rep.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| {
                        vec![Line {
                            name: "[U₁ … U_K]".into(),
                            color: [47, 111, 179],
                            values: r.overlap.union_sv.clone(),
                            dashed: false,
                            emphasis: true,
                        }]
                    })
                    .unwrap_or_default(),
            )
        })
    });
    let describe = Callback::new(|(i, j, v): (usize, usize, f64)| {
        format!("heads {i} and {j}: overlap {}", format_value(v))
    });
    let summary = move || {
        rep.with(|r| {
            r.as_ref().map(|r| {
                format!(
                    "Layer {}: off-diagonal overlap (RMS) {} against {} for random subspaces of dimension {} in ℝ^{}.",
                    r.layer,
                    format_value(r.overlap.offdiag_rms),
                    format_value(r.overlap.random),
                    r.head_dim,
                    r.head_dim * r.heads
                )
            })
        })
    };
    view! {
        <Panel title="4 · How incoherent the subspaces are" explain=explain::OVERLAP id="panel-overlap">
            <Heatmap matrix=matrix title="Overlap ‖QᵢᵀQⱼ‖_F / √p" range=[0.0, 1.0] reference=reference unit="overlap"
                x_label="head j" y_label="head i" row_names=names col_names=names show_values=true describe=describe width=330.0 height=290.0 id="overlap-heatmap" />
            <LinePlot lines=sv title="Singular values of [U₁ … U_K]" x_label="index" y_label="σ" legend=false id="overlap-sv" />
            <p class="small" id="overlap-summary">{summary}</p>
        </Panel>
    }
}

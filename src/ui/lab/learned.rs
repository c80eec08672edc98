//! The learned-CRATE panel: one click trains the lab's CRATE on the mixture in the training
//! worker ([`super::recover_client`]), then shows the mean principal angle between the learned
//! heads and the true subspaces over the steps, the learned and true overlap matrices side by
//! side, and R^c per layer on held-out tokens.

use std::sync::Arc;

use leptos::prelude::*;

use super::recover_client::{start, RecoverUi};
use crate::analysis::lab::recover::RecoverConfig;
use crate::analysis::lab::LabConfig;
use crate::ui::plots::{Heatmap, Line, LinePlot, Matrix};
use crate::viz::colormap::categorical;

#[component]
pub fn Learned(cfg: RwSignal<LabConfig>, ui: RecoverUi) -> impl IntoView {
    let busy = move || matches!(ui.state.get(), "loading" | "running");
    let train = move |_| {
        if busy() {
            return;
        }
        let c = cfg.get_untracked();
        let query = c.to_query();
        start(ui, RecoverConfig::new(c), query);
    };
    // The run shown belongs to the settings it was started with.
    let stale = move || {
        let q = ui.query.get();
        !q.is_empty() && cfg.with(|c| c.to_query()) != q
    };
    let lines = Signal::derive(move || {
        let pts = ui.points.get();
        let angle: Vec<f64> = pts.iter().map(|p| p.mean_angle).collect();
        let ten = vec![10.0; angle.len()];
        Arc::new(vec![
            Line {
                name: "mean principal angle (°)".into(),
                color: categorical(0),
                values: angle,
                dashed: false,
                emphasis: true,
            },
            Line {
                name: "10°".into(),
                color: categorical(3),
                values: ten,
                dashed: true,
                emphasis: false,
            },
        ])
    });
    let matrix = move |learned: bool| {
        Signal::derive(move || {
            Arc::new(ui.report.with(|r| {
                r.as_ref().map_or_else(
                    || Matrix::new(0, 0, Vec::new()),
                    |r| {
                        Matrix::from_rows(if learned {
                            &r.learned_angles
                        } else {
                            &r.true_angles
                        })
                    },
                )
            }))
        })
    };
    let status = move || {
        let every = ui.config.with(|c| c.as_ref().map_or(0, |c| c.every));
        let steps = ui.config.with(|c| c.as_ref().map_or(0, |c| c.steps));
        match ui.state.get() {
            "idle" => "Not trained yet.".to_string(),
            "loading" => "Starting the training worker…".into(),
            "error" => format!(
                "Failed: {}",
                ui.error.get().unwrap_or_else(|| "unknown error".into())
            ),
            state => {
                let pts = ui.points.get();
                let last = pts.last();
                let mut s = format!(
                    "step {} of {steps} (measured every {every}), {:.1} s: mean principal angle {:.2}°",
                    last.map_or(0, |p| p.step),
                    last.map_or(0.0, |p| p.seconds),
                    last.map_or(f64::NAN, |p| p.mean_angle),
                );
                if state == "done" {
                    ui.report.with(|r| {
                        if let Some(r) = r {
                            s += &format!(
                                ". Done in {:.1} s: heads {:?} matched to subspaces 0…{}, angles \
                                 {:.2}° mean; under 10° {}; held-out accuracy {:.3}; R^c per \
                                 layer on held-out tokens {:?}.",
                                ui.wall_ms.get() / 1000.0,
                                r.matching.learned,
                                r.matching.learned.len().saturating_sub(1),
                                r.matching.mean_angle,
                                r.under_10_at
                                    .map_or("never".to_string(), |s| format!("from step {s}")),
                                r.test_accuracy,
                                r.rc_heldout
                                    .iter()
                                    .map(|v| (v * 1000.0).round() / 1000.0)
                                    .collect::<Vec<_>>(),
                            );
                        }
                    });
                }
                s
            }
        }
    };

    view! {
        <div class="lab-learned" data-recover=move || ui.state.get() data-recover-query=move || ui.query.get()>
            <div class="lab-play">
                <button id="wb-lab-train" on:click=train prop:disabled=busy>
                    "train a CRATE on these tokens"
                </button>
            </div>
            <p class="lab-note" id="wb-lab-train-status">{status}</p>
            {move || stale().then(|| view! {
                <p class="lab-note">"These results are for other settings: train again to update them."</p>
            })}
            <LinePlot
                lines=lines
                title="learned heads vs true subspaces: mean principal angle"
                x_label=format!(
                    "measurement (every {} steps)",
                    RecoverConfig::new(cfg.get_untracked()).every
                )
                y_label="degrees"
                id="wb-lab-learned-plot"
            />
            <div class="lab-matrices">
                <Heatmap
                    matrix=matrix(true)
                    title="learned heads: mean principal angles"
                    range=[0.0, 90.0]
                    unit="°"
                    show_values=true
                    id="wb-lab-learned-angles"
                />
                <Heatmap
                    matrix=matrix(false)
                    title="true subspaces: mean principal angles"
                    range=[0.0, 90.0]
                    unit="°"
                    show_values=true
                    id="wb-lab-true-angles"
                />
            </div>
        </div>
    }
}

//! The lab's plots, each beside its explanation (the formula and the prediction): SNR per
//! subspace with the geometric line, R^c, the ISTA non-zero fraction, the animated scatter (and
//! the 3-D view for d = 3), the true subspaces' principal angles, the coding-length curve.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::explain;
use super::learned::Learned;
use super::recover_client::RecoverUi;
use crate::analysis::lab::{LabConfig, LabReport};
use crate::ui::plots::{Heatmap, Line, LinePlot, Matrix, Points, ScatterPlot};
use crate::ui::web::sleep;
use crate::viz::colormap::categorical;

/// A panel: the plot, and beside it the explanation (MathML).
#[component]
fn Panel(id: &'static str, text: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="lab-panel" id=id>
            <div class="lab-plot">{children()}</div>
            <div class="lab-explain" inner_html=text></div>
        </div>
    }
}

fn line(name: String, k: usize, values: Vec<f64>, dashed: bool) -> Line {
    Line {
        name,
        color: categorical(k),
        values,
        dashed,
        emphasis: !dashed,
    }
}

#[component]
pub fn Panels(
    report: RwSignal<Option<Arc<LabReport>>>,
    cfg: RwSignal<LabConfig>,
    recover: RecoverUi,
) -> impl IntoView {
    let with = move |f: fn(&LabReport) -> Vec<Line>| {
        Signal::derive(move || Arc::new(report.with(|r| r.as_deref().map(f).unwrap_or_default())))
    };
    let snr = with(|r| {
        let k = r.config.k;
        let mut out = Vec::new();
        for j in 0..k {
            let col = |m: &Vec<Vec<f64>>| m.iter().map(|row| row[j]).collect::<Vec<_>>();
            out.push(line(format!("SNR {j}"), j, col(&r.snr), false));
            out.push(line(format!("(1+η)^ℓ line {j}"), j, col(&r.theory), true));
        }
        out
    });
    let rc = with(|r| vec![line("R^c(Z | U)".into(), 0, r.rc.clone(), false)]);
    let sparsity = with(|r| {
        // Layer 0 is the input: no ISTA step yet.
        let mut v = vec![f64::NAN];
        v.extend(&r.nonzero);
        vec![line("non-zero fraction".into(), 1, v, false)]
    });
    let coding = with(|r| {
        let c = &r.coding;
        vec![
            line("greedy segmentation".into(), 0, c.greedy.clone(), false),
            line("one group".into(), 1, c.one_group.clone(), true),
            line("true segmentation".into(), 2, c.truth.clone(), true),
        ]
    });
    let coding_note = move || {
        report.with(|r| {
            r.as_deref().map(|r| {
                let c = &r.coding;
                // The ε of the grid nearest the true noise, in index units of the plot.
                let near = c
                    .eps
                    .iter()
                    .enumerate()
                    .min_by(|a, b| {
                        let d = |e: f64| (e.ln() - c.noise.max(1e-12).ln()).abs();
                        d(*a.1).total_cmp(&d(*b.1))
                    })
                    .map_or(0, |(i, _)| i + 1);
                let groups: Vec<String> = c.groups.iter().map(|g| g.to_string()).collect();
                format!(
                    "x = ε index: ε = 10^(−3 + 4(x−1)/24), 10⁻³ … 10. True noise σ = {} ≈ x = {near}. \
                     Groups found per ε: {}.",
                    c.noise,
                    groups.join(" ")
                )
            })
        })
    };

    // The scatter's layer, animated by "play".
    let layer = RwSignal::new(0usize);
    let playing = RwSignal::new(false);
    let layers = move || report.with(|r| r.as_ref().map_or(0, |r| r.snr.len()));
    Effect::new(move |_| {
        // New data: show the last layer.
        let n = layers();
        layer.set(n.saturating_sub(1));
    });
    let play = move |_| {
        if playing.get_untracked() {
            playing.set(false);
            return;
        }
        playing.set(true);
        spawn_local(async move {
            layer.set(0);
            loop {
                sleep(600).await;
                if !playing.get_untracked() {
                    break;
                }
                let n = layers();
                let next = layer.get_untracked() + 1;
                if next >= n {
                    playing.set(false);
                    break;
                }
                layer.set(next);
            }
        });
    };
    let pick = |r: &LabReport, l: usize, three: bool| -> Vec<Vec<f64>> {
        let set = if three { &r.raw3 } else { &r.scatter };
        set.get(l.min(set.len().saturating_sub(1)))
            .map(|rows| {
                rows.iter()
                    .map(|x| {
                        let mut v = x.clone();
                        v.resize(if three { 3 } else { 2 }, 0.0);
                        v.truncate(if three { 3 } else { 2 });
                        v
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let points = Signal::derive(move || -> Points {
        let l = layer.get();
        Arc::new(report.with(|r| r.as_deref().map(|r| pick(r, l, false)).unwrap_or_default()))
    });
    let points3 = Signal::derive(move || -> Points {
        let l = layer.get();
        Arc::new(report.with(|r| r.as_deref().map(|r| pick(r, l, true)).unwrap_or_default()))
    });
    let colors = Signal::derive(move || -> Arc<Vec<[u8; 3]>> {
        Arc::new(report.with(|r| {
            r.as_ref()
                .map(|r| r.labels.iter().map(|&k| categorical(k)).collect())
                .unwrap_or_default()
        }))
    });
    // One radius for all layers, so that growth shows as growth.
    let radius_of = move |three: bool| {
        Signal::derive(move || {
            report.with(|r| {
                r.as_deref().map_or(1.0, |r| {
                    let set = if three { &r.raw3 } else { &r.scatter };
                    set.iter()
                        .flatten()
                        .flat_map(|x| x.iter().take(if three { 3 } else { 2 }))
                        .fold(1e-9f64, |m, v| m.max(v.abs()))
                        * 1.05
                })
            })
        })
    };
    let is_3d = move || cfg.with(|c| c.d == 3);
    let angles = Signal::derive(move || {
        Arc::new(report.with(|r| {
            r.as_ref().map_or_else(
                || Matrix::new(0, 0, Vec::new()),
                |r| Matrix::from_rows(&r.true_angles),
            )
        }))
    });

    view! {
        <div class="lab-panels">
            <Panel id="wb-lab-data" text=explain::DATA>
                <p class="lab-summary">
                    {move || report.with(|r| r.as_ref().map(|r| format!(
                        "Tokens per subspace: {:?}. Smallest principal angle between subspaces: {:.1}°.",
                        r.counts, r.min_angle
                    )))}
                </p>
            </Panel>
            <Panel id="wb-lab-snr" text=explain::SNR>
                <LinePlot
                    lines=snr
                    title="SNR per subspace (log), dashed: (1+η)^ℓ"
                    x_label="layer ℓ + 1"
                    y_label="SNR"
                    log_y=true
                    id="wb-lab-snr-plot"
                />
            </Panel>
            <Panel id="wb-lab-rc" text=explain::RC>
                <LinePlot lines=rc title="R^c(Z | U)" x_label="layer ℓ + 1" y_label="nats" id="wb-lab-rc-plot" />
            </Panel>
            <Panel id="wb-lab-sparsity" text=explain::SPARSITY>
                {move || (!cfg.with(|c| c.ista)).then(|| view! {
                    <p class="lab-note">"Turn the ISTA step on to see the codes' sparsity."</p>
                })}
                <LinePlot
                    lines=sparsity
                    title="ISTA codes: non-zero fraction"
                    x_label="layer ℓ + 1"
                    y_label="fraction"
                    id="wb-lab-sparsity-plot"
                />
            </Panel>
            <Panel id="wb-lab-scatter" text=explain::SCATTER>
                <div class="lab-play">
                    <button id="wb-lab-play" on:click=play>
                        {move || if playing.get() { "pause" } else { "play" }}
                    </button>
                    <input
                        type="range"
                        id="wb-lab-layer"
                        min="0"
                        max=move || layers().saturating_sub(1)
                        prop:value=move || layer.get().to_string()
                        on:input=move |ev| {
                            if let Ok(l) = event_target_value(&ev).parse() {
                                layer.set(l);
                            }
                        }
                    />
                    <span>
                        {move || format!("layer {}, subspace {}", layer.get(), cfg.with(|c| c.focus))}
                    </span>
                </div>
                <ScatterPlot
                    points=points
                    colors=colors
                    radius=radius_of(false)
                    title="the tokens in the chosen subspace's coordinates"
                    x_label="u₁"
                    y_label="u₂"
                    id="wb-lab-scatter-plot"
                />
                {move || is_3d().then(|| view! {
                    <ScatterPlot
                        points=points3
                        colors=colors
                        radius=radius_of(true)
                        title="the tokens in ℝ³ (drag to rotate)"
                        three_d=true
                        id="wb-lab-scatter3-plot"
                    />
                })}
            </Panel>
            <Panel id="wb-lab-angles" text=explain::ANGLES>
                <Heatmap
                    matrix=angles
                    title="mean principal angle between true subspaces"
                    range=[0.0, 90.0]
                    unit="°"
                    show_values=true
                    id="wb-lab-angles-plot"
                />
            </Panel>
            <Panel id="wb-lab-coding" text=explain::CODING>
                <LinePlot
                    lines=coding
                    title="coding length (bits, log) over ε"
                    x_label="ε index"
                    y_label="bits"
                    log_y=true
                    id="wb-lab-coding-plot"
                />
                <p class="lab-note" id="wb-lab-coding-note">{coding_note}</p>
            </Panel>
            <Panel id="wb-lab-learned" text=explain::LEARNED>
                <Learned cfg=cfg ui=recover />
            </Panel>
        </div>
    }
}

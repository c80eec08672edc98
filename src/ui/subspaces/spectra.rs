//! Panel 6: low rank, layer by layer: the normalised singular values of the tokens at every
//! layer (log scale), and each head's projection at the chosen layer against them.

use std::sync::Arc;

use leptos::prelude::*;

use super::{explain, Panel, Shared, Stage};
use crate::ui::plots::{Line, LinePlot};
use crate::viz::colormap::{categorical, inferno};

#[component]
pub fn SpectraPanel() -> impl IntoView {
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Spectra);
    let layers = Signal::derive(move || {
        let l = shared.layer.get();
        rep.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| {
                        let n = r.spectra.tokens.len();
                        r.spectra
                            .tokens
                            .iter()
                            .enumerate()
                            .map(|(i, s)| Line {
                                name: if i + 1 == n {
                                    format!("Z{} (output)", i)
                                } else {
                                    format!("Z{i}")
                                },
                                color: inferno(0.1 + 0.75 * i as f32 / n.max(2) as f32 - 0.0),
                                values: s.normalised.clone(),
                                dashed: false,
                                emphasis: i == l,
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        })
    });
    let heads = Signal::derive(move || {
        let (l, k0) = (shared.layer.get(), shared.head.get());
        rep.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| {
                        let mut v: Vec<Line> = r.spectra.heads[l]
                            .iter()
                            .enumerate()
                            .map(|(k, s)| Line {
                                name: format!("head {k}"),
                                color: categorical(k),
                                values: s.normalised.clone(),
                                dashed: false,
                                emphasis: k == k0,
                            })
                            .collect();
                        v.push(Line {
                            name: "all tokens".into(),
                            color: [120, 120, 120],
                            values: r.spectra.tokens[l].normalised.clone(),
                            dashed: true,
                            emphasis: false,
                        });
                        v
                    })
                    .unwrap_or_default(),
            )
        })
    });
    let ranks = move || {
        rep.with(|r| {
            r.as_ref().map(|r| {
                let v: Vec<String> = r
                    .spectra
                    .tokens
                    .iter()
                    .map(|s| s.rank90.to_string())
                    .collect();
                format!(
                    "Directions holding 90 % of the energy (σ²), layer by layer: {}.",
                    v.join(" → ")
                )
            })
        })
    };
    view! {
        <Panel title="6 · Low rank, layer by layer" explain=explain::SPECTRA id="panel-spectra">
            <LinePlot lines=layers title="Spectrum of the tokens Zˡ (dark: early, bright: late; thick: chosen layer)"
                x_label="rank r" y_label="σᵣ / σ₁" log_y=true y_floor=1e-4 legend=false width=460.0 id="spectra-layers" />
            <LinePlot lines=heads title="Each head's projection at the chosen layer" x_label="rank r" y_label="σᵣ / σ₁" log_y=true y_floor=1e-4 width=460.0 id="spectra-heads" />
            <p class="small" id="spectra-ranks">{ranks}</p>
        </Panel>
    }
}

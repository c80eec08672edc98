//! The layers view: per-layer R^c before and after each MSSA step and the ISTA non-zero
//! fraction for the image on show, a token × channel heatmap of Z^{l+1} at the chosen layer,
//! and the same measures as mean ± std over the whole gallery (the paper's layer-wise figure).

use leptos::prelude::*;

use super::actions::run_batch;
use super::chart::{LayerChart, Series};
use super::controls::LayerSlider;
use super::deferred::deferred_bands;
use super::light::light_note;
use super::picture::Picture;
use super::state::AppState;
use crate::viz::axis::superscript;
use crate::viz::{heatmap_rows, heatmap_scale};

const BLUE: &str = "#2f6fb3";
const ORANGE: &str = "#d9731a";
const GREEN: &str = "#2e8b57";

#[component]
pub fn LayersView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let layer = Signal::derive(move || app.layer_now());
    let select = Callback::new(move |l: usize| app.layer.set(l));

    let stats = move |f: fn(&crate::analysis::LayerStats) -> f64| {
        app.current.with(|c| {
            c.as_ref()
                .map(|c| c.report.layers.iter().map(f).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let rc = Signal::derive(move || {
        vec![
            Series {
                name: "Rᶜ at the MSSA input".into(),
                color: BLUE,
                values: stats(|s| s.rc_in),
                spread: None,
            },
            Series {
                name: "Rᶜ after the MSSA step".into(),
                color: ORANGE,
                values: stats(|s| s.rc_out),
                spread: None,
            },
        ]
    });
    let sparsity = Signal::derive(move || {
        vec![Series {
            name: "non-zero fraction of Zˡ⁺¹".into(),
            color: GREEN,
            values: stats(|s| s.sparsity),
            spread: None,
        }]
    });
    // Drawn in bands, a task each (see `deferred_bands`): the map is tokens × channels pixels.
    let heat = deferred_bands(
        app,
        move || {
            let l = layer.get();
            app.current.with(|c| {
                c.as_ref()
                    .filter(|c| !c.report.is_light())
                    .map(|c| (c.report.clone(), l))
            })
        },
        |(r, l)| {
            let scale = heatmap_scale(&r.zout[l]);
            let (w, h) = (r.dim, r.tokens);
            ((r, l, scale), w, h)
        },
        |(r, l, scale), rows, out| heatmap_rows(&r.zout[*l], r.dim, *scale, rows, out),
    );
    let heat_caption = move || {
        if let Some(why) = light_note(app) {
            return Some(format!("No token states for this image. {why}."));
        }
        let l = layer.get();
        app.current.with(|c| {
            c.as_ref().map(|c| {
                let r = &c.report;
                format!(
                    "Z{} at layer {l}: {} tokens (rows, CLS first) × {} channels; {:.1} % non-zero.",
                    superscript(l + 1),
                    r.tokens,
                    r.dim,
                    100.0 * r.layers[l].sparsity
                )
            })
        })
    };

    let batch_rc = Signal::derive(move || {
        app.batch.with(|b| {
            b.as_ref()
                .map(|b| {
                    let col = |f: fn(&crate::analysis::LayerSummary) -> (f64, f64)| {
                        let v: Vec<(f64, f64)> = b.layers.iter().map(f).collect();
                        (
                            v.iter().map(|p| p.0).collect::<Vec<_>>(),
                            v.iter().map(|p| p.1).collect::<Vec<_>>(),
                        )
                    };
                    let (a, sa) = col(|s| s.rc_in);
                    let (o, so) = col(|s| s.rc_out);
                    vec![
                        Series {
                            name: "Rᶜ at the MSSA input".into(),
                            color: BLUE,
                            values: a,
                            spread: Some(sa),
                        },
                        Series {
                            name: "Rᶜ after the MSSA step".into(),
                            color: ORANGE,
                            values: o,
                            spread: Some(so),
                        },
                    ]
                })
                .unwrap_or_default()
        })
    });
    let batch_sp = Signal::derive(move || {
        app.batch.with(|b| {
            b.as_ref()
                .map(|b| {
                    vec![Series {
                        name: "non-zero fraction".into(),
                        color: GREEN,
                        values: b.layers.iter().map(|s| s.sparsity.0).collect(),
                        spread: Some(b.layers.iter().map(|s| s.sparsity.1).collect()),
                    }]
                })
                .unwrap_or_default()
        })
    });
    let batch_images = move || app.batch.with(|b| b.as_ref().map_or(0, |b| b.images));
    // How the figure was computed, and its numbers for the browser tests.
    let batch_note = move || {
        app.batch.with(|b| {
            b.as_ref().map_or(String::new(), |b| {
                let on = match b.workers {
                    1 => "one worker".to_string(),
                    k => format!("{k} workers, each taking the next few images"),
                };
                format!("{} images in {:.0} ms on {on}.", b.images, b.ms)
            })
        })
    };
    let batch_json = move || {
        app.batch.with(|b| {
            b.as_ref().map_or(String::new(), |b| {
                serde_json::json!({"images": b.images, "workers": b.workers, "ms": b.ms, "layers": b.layers})
                    .to_string()
            })
        })
    };

    view! {
        <div class="view layers" id="view-layers">
            <div class="controls"><LayerSlider /></div>
            <div class="charts">
                <LayerChart title="Compression: coding rate Rᶜ per layer" y_label="Rᶜ" series=rc selected=layer on_select=select id="chart-rc" />
                <LayerChart title="Sparsity: non-zero fraction of the ISTA output" y_label="non-zero fraction" series=sparsity selected=layer on_select=select id="chart-sparsity" />
            </div>
            <figure class="heatmap">
                <Picture image=heat id="zout-heatmap" class="pixelated" label=Signal::derive(move || heat_caption().unwrap_or_default()) />
                <figcaption>{heat_caption}</figcaption>
            </figure>
            <section class="batch" aria-label="Gallery statistics">
                <h3>"Over the whole gallery"</h3>
                <p>
                    <button id="run-batch" on:click=move |_| run_batch(app) disabled=move || app.samples.with(Vec::is_empty)>
                        "Run all gallery images"
                    </button>
                    <span class="muted small">" mean ± std per layer, as in the paper's layer-wise figures"</span>
                </p>
                <Show when=move || app.batch.with(Option::is_some)>
                    <p class="muted small" id="batch-note">{batch_note}</p>
                    <pre id="wb-batch" hidden>{batch_json}</pre>
                    <div class="charts" id="batch-charts">
                        <LayerChart title=format!("Rᶜ over {} images (mean ± std)", batch_images()) y_label="Rᶜ" series=batch_rc selected=layer on_select=select />
                        <LayerChart title="Non-zero fraction (mean ± std)" y_label="non-zero fraction" series=batch_sp selected=layer on_select=select />
                    </div>
                </Show>
            </section>
        </div>
    }
}

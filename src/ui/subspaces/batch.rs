//! Panel 7: batch mode: every gallery image through the model at once, the chosen head's
//! projection with points coloured by class, and per-class spectra.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{explain, legend, Panel, Shared};
use crate::analysis::subspaces::{batch_report, BatchReport, SubspaceOptions};
use crate::data::image::{decode_image, preprocess, DecodeLimits};
use crate::engine::Trace;
use crate::page::engine_choice::active_engine;
use crate::page::model_choice::input_size;
use crate::ui::plots::{Line, LinePlot, Points, ScatterPlot};
use crate::ui::state::{AppState, Busy};
use crate::ui::web::{fetch_bytes, sleep};
use crate::viz::colormap::categorical;

/// The gallery's traced forward and each image's class (index into `names`).
#[derive(Clone)]
struct Gallery {
    trace: Arc<Trace>,
    labels: Vec<usize>,
    names: Vec<String>,
}

fn busy(app: AppState, what: String, p: f64) {
    app.busy.set(Some(Busy {
        what,
        progress: Some(p),
    }));
}

/// Fetches and prepares every gallery image, then one traced forward of them all.
async fn run(app: AppState) -> Result<Gallery, String> {
    let samples = app.samples.get_untracked();
    let mut names: Vec<String> = Vec::new();
    let mut labels = Vec::new();
    let lock = app.runtime.get_value();
    let mut guard = lock.lock().await;
    let rt = guard.as_mut().ok_or("no model is loaded")?;
    let cfg = rt.model.config.clone();
    let size = input_size(&cfg, app.input_side.get_untracked());
    let tokens = cfg.tokens_at(size);
    if let Some(why) = crate::analysis::plan::light_reason(&cfg, tokens) {
        return Err(format!(
            "the gallery's traced forward is unavailable at this size. {why}"
        ));
    }
    let mut inputs = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        busy(
            app,
            format!("preparing gallery images ({}/{})…", i + 1, samples.len()),
            0.5 * i as f64 / samples.len() as f64,
        );
        sleep(0).await;
        let bytes = fetch_bytes(&format!("samples/{}", s.file))
            .await
            .map_err(|e| e.to_string())?;
        let img =
            decode_image(&bytes, &s.file, &DecodeLimits::default()).map_err(|e| e.to_string())?;
        inputs.push(
            preprocess(&img, &cfg, size, app.fit.get_untracked()).map_err(|e| e.to_string())?,
        );
        let c = names.iter().position(|n| *n == s.label).unwrap_or_else(|| {
            names.push(s.label.clone());
            names.len() - 1
        });
        labels.push(c);
    }
    let which = active_engine(
        app.engine_pref.get_untracked(),
        app.engine.with_untracked(|e| e.active),
        rt.has_gpu(),
    );
    busy(
        app,
        format!("running {} images on {}…", inputs.len(), which.label()),
        0.6,
    );
    sleep(0).await;
    let trace = rt
        .trace_batch(&inputs, which)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Gallery {
        trace: Arc::new(trace),
        labels,
        names,
    })
}

#[component]
pub fn BatchPanel() -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let gallery = RwSignal::new(None::<Gallery>);
    let report = RwSignal::new(None::<Arc<BatchReport>>);
    let error = RwSignal::new(None::<String>);
    // The model changed: the gallery's trace no longer applies.
    Effect::new(move |_| {
        app.model.track();
        gallery.set(None);
        report.set(None);
    });
    // Layer or head changed: recompute the batch report (a yield first, so the click paints).
    Effect::new(move |_| {
        let (l, k) = (shared.layer.get(), shared.head.get());
        let Some(g) = gallery.get() else { return };
        spawn_local(async move {
            sleep(0).await;
            let lock = app.runtime.get_value();
            let guard = lock.lock().await;
            let Some(rt) = guard.as_ref() else { return };
            let opts = SubspaceOptions::default();
            match batch_report(
                &rt.model.params,
                &rt.model.config,
                &g.trace,
                l,
                k,
                &g.labels,
                &opts,
            ) {
                Ok(r) => {
                    error.set(None);
                    report.set(Some(Arc::new(r)));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    let start = move |_| {
        spawn_local(async move {
            match run(app).await {
                Ok(g) => gallery.set(Some(g)),
                Err(e) => error.set(Some(format!("The batch run failed: {e}"))),
            }
            app.busy.set(None);
        });
    };
    let colors = Signal::derive(move || {
        report.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| {
                        (0..r.images * r.tokens)
                            .map(|i| categorical(r.labels[i / r.tokens]))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        })
    });
    let points = move |after: bool| {
        Signal::derive(move || -> Points {
            report.with(|r| {
                Arc::new(
                    r.as_ref()
                        .map(|r| {
                            if after {
                                r.scatter.after.clone()
                            } else {
                                r.scatter.before.clone()
                            }
                        })
                        .unwrap_or_default(),
                )
            })
        })
    };
    let radius = Signal::derive(move || {
        report.with(|r| {
            r.as_ref().map_or(1.0, |r| {
                r.scatter
                    .before
                    .iter()
                    .chain(&r.scatter.after)
                    .flat_map(|p| p.iter().map(|v| v.abs()))
                    .fold(1e-9, f64::max)
                    * 1.08
            })
        })
    });
    let marked = Signal::derive(move || {
        report.with(|r| {
            r.as_ref()
                .map(|r| (0..r.images).map(|i| i * r.tokens).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let class_name = move |c: usize| {
        gallery.with(|g| {
            g.as_ref()
                .and_then(|g| g.names.get(c).cloned())
                .unwrap_or_else(|| format!("class {c}"))
        })
    };
    let spectra = Signal::derive(move || {
        let l = shared.layer.get();
        report.with(|r| {
            Arc::new(
                r.as_ref()
                    .map(|r| {
                        r.classes
                            .iter()
                            .map(|c| Line {
                                name: format!("{} ({})", class_name(c.class), c.images.len()),
                                color: categorical(c.class),
                                values: c.spectra[l].normalised.clone(),
                                dashed: false,
                                emphasis: false,
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        })
    });
    let classes = move || {
        gallery.with(|g| {
            g.as_ref().map(|g| {
                legend(
                    g.names
                        .iter()
                        .enumerate()
                        .map(|(c, n)| (n.clone(), categorical(c)))
                        .collect(),
                )
            })
        })
    };
    view! {
        <Panel title="7 · Batch mode: the whole gallery" explain=explain::BATCH id="panel-batch">
            <p>
                <button id="subspace-batch" on:click=start disabled=move || app.samples.with(Vec::is_empty)>"Run all gallery images"</button>
                <span class="legend">{classes}</span>
            </p>
            <Show when=move || error.with(Option::is_some)>
                <p class="error small" role="alert">{move || error.get()}</p>
            </Show>
            <Show when=move || report.with(Option::is_some)>
                <div class="scatter-row">
                    <ScatterPlot points=points(false) colors=colors radius=radius title="All images, before MSSA" x_label="PC1" y_label="PC2" marked=marked id="batch-before" />
                    <ScatterPlot points=points(true) colors=colors radius=radius title="All images, after MSSA" x_label="PC1" y_label="PC2" marked=marked id="batch-after" />
                    <LinePlot lines=spectra title="Per-class spectra of Zˡ" x_label="rank r" y_label="σᵣ / σ₁" log_y=true y_floor=1e-4 id="batch-spectra" />
                </div>
            </Show>
        </Panel>
    }
}

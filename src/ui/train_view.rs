//! The Train view: CRATE learning live in a Web Worker. Settings and controls, speed and
//! engine, training and held-out curves, per-layer R^c (before/after MSSA) and sparsity on a
//! fixed probe batch (a layer × step heatmap and the current per-layer curves, the first
//! epoch's faint beside them), the confusion matrix, checkpoints in IndexedDB, export. The
//! worker trains ([`super::train::worker`]); this thread only draws.

use leptos::prelude::*;
use serde_json::{json, Value};

use super::chart::{LayerChart, Series};
use super::plots::{Bar, BarChart, Heatmap, Matrix};
use super::state::{AppState, View};
use super::train::charts::{Curve, StepChart};
use super::train::client::{self, TrainUi};
use crate::model::config::BROWSER_PRESETS;
use crate::model::CrateConfig;
use crate::page::train_protocol::{
    settings_from_url, settings_to_url, DataChoice, ToWorker, IN_USE,
};
use crate::train::OptimizerKind;

/// The Train view's state, made once by the app (so the worker outlives view switches).
pub fn train_ui(app: &AppState) -> TrainUi {
    let s = app.train_url.get_untracked();
    let ui = TrainUi::new(
        s.as_deref().map(settings_from_url).unwrap_or_default(),
        *app,
    );
    ui.engine_pref
        .set(app.engine_pref.get_untracked().key().into());
    ui
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn series_of(r: &Value, key: &str) -> Vec<f64> {
    r["history"][key]
        .as_array()
        .map(|a| a.iter().map(|v| num(v).unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

/// The mean of each run of `w` consecutive values (the batch curves are noisy).
fn smooth(xs: &[f64], ys: &[f64], w: usize) -> Vec<(f64, f64)> {
    xs.chunks(w)
        .zip(ys.chunks(w))
        .map(|(a, b)| {
            (
                a[a.len() - 1],
                b.iter().sum::<f64>() / b.len().max(1) as f64,
            )
        })
        .collect()
}

fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        "–".into()
    } else if s < 90.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    }
}

const DATA_NOTE_SUBSPACES: &str = "Subspaces: tokens drawn from a few random low-dimensional \
    subspaces of R^32 with noise, labelled by subspace — the data model CRATE is derived from, \
    so its layers should learn to compress each class onto its own subspace.";
const DATA_NOTE_SHAPES: &str = "Shapes: synthetic objects on textured backgrounds (with masks), \
    images a small CRATE can learn in minutes; its attention maps can then be checked against \
    the true object masks.";

const DATA_NOTE_FMNIST: &str = "Fashion-MNIST: photos of clothes, 28×28 grey, 10 classes — \
    real images small enough to learn in a browser (a subset of 10,000 training and 2,000 test \
    images, fetched only when chosen).";

const DATA_NOTE_OWN: &str = "Your own images: choose a folder (or a .zip) with one sub-folder \
    per class, or pick files per class. They are kept in this browser for resuming after a \
    reload. Each image is fitted to the model's input, 15 % of each class is held out for \
    testing, and files that cannot be read are skipped and listed. Nothing leaves this browser.";

#[component]
pub fn TrainView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let ui = expect_context::<TrainUi>();
    client::ensure_worker(ui);
    // The engine preference (`engine=` in the URL) goes to the worker.
    Effect::new(move |_| {
        let pref = app.engine_pref.get();
        ui.engine_pref.set(pref.key().into());
        if ui.worker_ready.get() {
            client::send(&client::engine_message(pref.key()), None);
        }
    });
    // The settings live in the URL.
    Effect::new(move |_| {
        let s = ui.settings.get();
        app.train_url.set(Some(settings_to_url(&s)));
    });

    let report = move || ui.report.get();
    let skipped_files = move || -> Vec<(String, String)> {
        report()
            .and_then(|r| {
                r["skipped_files"].as_array().map(|a| {
                    a.iter()
                        .map(|f| {
                            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
                            (s("path"), s("reason"))
                        })
                        .collect()
                })
            })
            .unwrap_or_default()
    };
    let run_settings = move || {
        report().and_then(|r| {
            serde_json::from_value::<crate::page::train_protocol::SessionSettings>(
                r["settings"].clone(),
            )
            .ok()
        })
    };
    let changed = move || {
        run_settings().is_some_and(|r| {
            let mut f = ui.settings.get();
            f.lr = r.lr;
            // The form says "the model in use"; the run carries its name.
            if f.init.is_some() {
                f.init.clone_from(&r.init);
            }
            f != r
        })
    };

    let set = move |f: Box<dyn Fn(&mut crate::page::train_protocol::SessionSettings)>| {
        ui.settings.update(|s| f(s));
    };
    let data_key = move || ui.settings.with(|s| s.data.key());
    let on_data = move |ev| {
        let v = event_target_value(&ev);
        ui.settings.update(|s| {
            if let Some(d) = DataChoice::from_key(&v, s.seed) {
                if d.needs_bytes() && s.init.is_none() {
                    // Fashion-MNIST is 28×28 grey: the model that fits it.
                    s.preset = "crate-fmnist".into();
                }
                s.data = d;
                if matches!(s.data, DataChoice::Subspaces { .. }) {
                    s.augment = false;
                }
            }
        });
    };
    // A folder picker: `webkitdirectory` has no typed attribute in the view macro.
    let folder_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = folder_input.get() {
            let _ = i.set_attribute("webkitdirectory", "");
        }
    });
    let on_files = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let input = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(list) = input.as_ref().and_then(|i| i.files()) {
            client::own_files(ui, list);
        }
    };
    let on_model = move |ev| {
        let v = event_target_value(&ev);
        ui.settings.update(|s| {
            if v == IN_USE {
                s.init = Some(client::model_label(app));
            } else {
                s.init = None;
                s.preset = v;
            }
        });
    };
    // The model the page has loaded, offered for continued training.
    let in_use_label = move || {
        app.model.with(|m| match m {
            Some(m) => format!(
                "continue the model in use: {} ({} classes)",
                m.name, m.config.classes
            ),
            None => "continue the model in use (none loaded yet)".into(),
        })
    };
    // Files picked per class: rows of (name, files), read when "Train on these classes" is
    // pressed.
    let class_rows = RwSignal::new(1usize);
    let use_classes = move |_| {
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let input = |id: String| {
            doc.get_element_by_id(&id)
                .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        };
        let classes = (0..class_rows.get_untracked())
            .filter_map(|i| {
                let name = input(format!("train-class-name-{i}"))?.value();
                let files = input(format!("train-class-files-{i}"))?.files()?;
                Some((name, files))
            })
            .collect();
        client::class_files(ui, classes);
    };
    let on_lr = move |ev| {
        if let Ok(lr) = event_target_value(&ev).parse::<f32>() {
            if lr > 0.0 && lr <= 10.0 {
                ui.settings.update(|s| s.lr = lr);
                client::send(&ToWorker::SetLr { lr }, None);
            }
        }
    };
    let knob = move |label: &'static str,
                     id: &'static str,
                     get: fn(&DataChoice) -> String,
                     put: fn(&mut DataChoice, &str)| {
        view! {
            <label>{label}
                <input id=id type="number" step="any"
                    prop:value=move || ui.settings.with(|s| get(&s.data))
                    on:change=move |ev| { let v = event_target_value(&ev); ui.settings.update(|s| put(&mut s.data, &v)); } />
            </label>
        }
    };
    let sub_knobs = move || {
        matches!(ui.settings.with(|s| s.data.clone()), DataChoice::Subspaces { .. }).then(|| {
            view! {
                <div class="train-knobs" id="train-subspace-knobs">
                    {knob("subspaces K", "train-k", |d| match d { DataChoice::Subspaces { subspaces, .. } => subspaces.to_string(), _ => String::new() },
                        |d, v| if let (DataChoice::Subspaces { subspaces, .. }, Ok(x)) = (d, v.parse()) { *subspaces = x })}
                    {knob("dimension p", "train-p", |d| match d { DataChoice::Subspaces { sub_dim, .. } => sub_dim.to_string(), _ => String::new() },
                        |d, v| if let (DataChoice::Subspaces { sub_dim, .. }, Ok(x)) = (d, v.parse()) { *sub_dim = x })}
                    {knob("noise σ", "train-noise", |d| match d { DataChoice::Subspaces { noise, .. } => noise.to_string(), _ => String::new() },
                        |d, v| if let (DataChoice::Subspaces { noise, .. }, Ok(x)) = (d, v.parse()) { *noise = x })}
                    {knob("tokens per sample", "train-tokens", |d| match d { DataChoice::Subspaces { tokens, .. } => tokens.to_string(), _ => String::new() },
                        |d, v| if let (DataChoice::Subspaces { tokens, .. }, Ok(x)) = (d, v.parse()) { *tokens = x })}
                    {knob("data seed", "train-data-seed", |d| match d { DataChoice::Subspaces { seed, .. } | DataChoice::Shapes { seed } | DataChoice::Own { seed } => seed.to_string(), DataChoice::Fmnist => String::new() },
                        |d, v| if let Ok(x) = v.parse() { match d { DataChoice::Subspaces { seed, .. } | DataChoice::Shapes { seed } | DataChoice::Own { seed } => *seed = x, DataChoice::Fmnist => {} } })}
                </div>
            }
        })
    };
    let int_input =
        move |label: &'static str,
              id: &'static str,
              get: fn(&crate::page::train_protocol::SessionSettings) -> u64,
              put: fn(&mut crate::page::train_protocol::SessionSettings, u64)| {
            view! {
                <label>{label}
                    <input id=id type="number" min="1" step="1"
                        prop:value=move || ui.settings.with(|s| get(s).to_string())
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u64>() { ui.settings.update(|s| put(s, v)); } } />
                </label>
            }
        };

    let reset = move |_| {
        ui.error.set(None);
        client::send(
            &client::engine_message(&ui.engine_pref.get_untracked()),
            None,
        );
        client::new_run(ui);
    };
    let open_in = move |v: View| {
        if let Some(b) = client::exported_bytes() {
            let step = ui.exported.get_untracked().unwrap_or(0);
            let data = ui.settings.with_untracked(|s| s.data.key());
            let name = format!("trained in the page ({data}, step {step})");
            // Listed in the page's model menu, to come back to after another model.
            ui.trained.update(|t| {
                if !t.iter().any(|(n, _)| *n == name) {
                    t.push((name.clone(), std::sync::Arc::new(b.clone())));
                }
            });
            super::actions::load_model_from_bytes(app, name, b);
            app.view.set(v);
        }
    };

    // Curves.
    let loss_curves = Signal::derive(move || {
        let Some(r) = report() else { return vec![] };
        let steps = series_of(&r, "steps");
        let loss = series_of(&r, "loss");
        let w = (steps.len() / 100).max(1);
        let held: Vec<(f64, f64)> = r["evals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| Some((num(&e["step"])?, num(&e["loss"])?)))
                    .collect()
            })
            .unwrap_or_default();
        let batch = Curve {
            name: "training (batch)".into(),
            color: "#1f77b4",
            faint: w > 1,
            points: steps.iter().copied().zip(loss.iter().copied()).collect(),
        };
        let held = Curve {
            name: "held-out".into(),
            color: "#d62728",
            faint: false,
            points: held,
        };
        if w == 1 {
            return vec![batch, held];
        }
        let mean = Curve {
            name: format!("training (mean of {w} batches)"),
            color: "#1f77b4",
            faint: false,
            points: smooth(&steps, &loss, w),
        };
        vec![batch, mean, held]
    });
    let acc_curves = Signal::derive(move || {
        let Some(r) = report() else { return vec![] };
        let steps = series_of(&r, "steps");
        let acc = series_of(&r, "accuracy");
        let w = (steps.len() / 100).max(1);
        let held: Vec<(f64, f64)> = r["evals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| Some((num(&e["step"])?, num(&e["accuracy"])?)))
                    .collect()
            })
            .unwrap_or_default();
        vec![
            Curve {
                name: if w > 1 {
                    format!("training (mean of {w} batches)")
                } else {
                    "training (batch)".into()
                },
                color: "#1f77b4",
                faint: false,
                points: smooth(&steps, &acc, w),
            },
            Curve {
                name: "held-out".into(),
                color: "#d62728",
                faint: false,
                points: held,
            },
        ]
    });
    let measure = RwSignal::new("rc_out".to_string());
    let measure_name = |m: &str| match m {
        "rc_in" => "R^c before MSSA",
        "rc_out" => "R^c after MSSA",
        _ => "ISTA sparsity (fraction of zeros)",
    };
    // Rows = layers, columns = probes (with the step of each).
    let probe_steps = Signal::derive(move || -> Vec<u64> {
        report()
            .and_then(|r| {
                r["probes"]
                    .as_array()
                    .map(|a| a.iter().map(|p| p["step"].as_u64().unwrap_or(0)).collect())
            })
            .unwrap_or_default()
    });
    let heat = Signal::derive(move || {
        let m = measure.get();
        let probes = report()
            .and_then(|r| r["probes"].as_array().cloned())
            .unwrap_or_default();
        let cols: Vec<Vec<f64>> = probes
            .iter()
            .map(|p| {
                p[m.as_str()]
                    .as_array()
                    .map(|a| a.iter().map(|v| num(v).unwrap_or(f64::NAN)).collect())
                    .unwrap_or_default()
            })
            .collect();
        let layers = cols.first().map_or(0, Vec::len);
        let rows: Vec<Vec<f64>> = (0..layers)
            .map(|l| {
                cols.iter()
                    .map(|c| c.get(l).copied().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        std::sync::Arc::new(Matrix::new(
            layers,
            cols.len(),
            rows.into_iter().flatten().collect(),
        ))
    });
    let heat_describe = Callback::new(move |(l, c, v): (usize, usize, f64)| {
        let step = probe_steps.with_untracked(|s| s.get(c).copied().unwrap_or(0));
        format!(
            "layer {l}, step {step}: {} = {}",
            measure_name(&measure.get_untracked()),
            crate::viz::axis::format_value(v)
        )
    });
    let step_names = Signal::derive(move || {
        probe_steps
            .get()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    });
    // The per-layer curves now, and at the end of the first epoch (faint) for comparison.
    let layer_series =
        move |keys: &'static [(&'static str, &'static str, &'static str, &'static str)]| {
            Signal::derive(move || {
                let Some(r) = report() else { return vec![] };
                let probes = r["probes"].as_array().cloned().unwrap_or_default();
                let Some(last) = probes.last() else {
                    return vec![];
                };
                let first_epoch = probes.iter().rev().find(|p| p["epoch"].as_u64() == Some(0));
                let vals = |p: &Value, k: &str| {
                    p[k].as_array()
                        .map(|a| a.iter().map(|v| num(v).unwrap_or(f64::NAN)).collect())
                        .unwrap_or_default()
                };
                let mut out = vec![];
                for &(k, name, color, faint) in keys {
                    if last["epoch"].as_u64() != Some(0) {
                        if let Some(f) = first_epoch {
                            out.push(Series {
                                name: format!("{name}, end of epoch 1 (step {})", f["step"]),
                                color: faint,
                                values: vals(f, k),
                                spread: None,
                            });
                        }
                    }
                    out.push(Series {
                        name: format!("{name}, step {}", last["step"]),
                        color,
                        values: vals(last, k),
                        spread: None,
                    });
                }
                out
            })
        };
    let rc_series = layer_series(&[
        (
            "rc_in",
            "R^c before MSSA",
            "#1f77b4",
            "rgba(31,119,180,0.3)",
        ),
        ("rc_out", "R^c after MSSA", "#d62728", "rgba(214,39,40,0.3)"),
    ]);
    let sparsity_series =
        layer_series(&[("sparsity", "sparsity", "#2ca02c", "rgba(44,160,44,0.3)")]);
    let confusion = Signal::derive(move || {
        let m = report()
            .and_then(|r| serde_json::from_value::<Vec<Vec<f64>>>(r["confusion"].clone()).ok())
            .unwrap_or_default();
        std::sync::Arc::new(Matrix::from_rows(&m))
    });
    let per_class = Signal::derive(move || {
        let Some(r) = report() else {
            return std::sync::Arc::new(Vec::new());
        };
        let names = r["class_names"].as_array().cloned().unwrap_or_default();
        let acc = r["per_class"].as_array().cloned().unwrap_or_default();
        std::sync::Arc::new(
            acc.iter()
                .enumerate()
                .map(|(i, a)| Bar {
                    label: names
                        .get(i)
                        .and_then(|n| n.as_str())
                        .map_or_else(|| i.to_string(), String::from),
                    parts: vec![num(a).unwrap_or(0.0)],
                })
                .collect::<Vec<_>>(),
        )
    });
    let class_names = Signal::derive(move || {
        report()
            .and_then(|r| serde_json::from_value::<Vec<String>>(r["class_names"].clone()).ok())
            .unwrap_or_default()
    });

    let report_json = move || {
        let mut v = report().map_or_else(|| json!({}), |r| (*r).clone());
        v["engine"] = ui.engine.get().into();
        v["engine_reason"] = ui.engine_reason.get().into();
        v["workers"] = ui.workers.get().into();
        v["playing"] = ui.playing.get().into();
        v["worker_ready"] = ui.worker_ready.get().into();
        v["checkpoint_step"] = ui.checkpoint_step.get().into();
        v["saved_step"] = ui.saved.get().into();
        v["exported_step"] = ui.exported.get().into();
        v["download"] = ui.download.get().map(|(_, d, t)| json!([d, t])).into();
        v["data_credit"] = ui.data_credit.get().into();
        v["longest_report_gap_ms"] = ui.longest_gap_ms.get().into();
        v["error"] = ui.error.get().into();
        v.to_string()
    };

    let status = move || {
        let Some(r) = report() else {
            return if ui.worker_ready.get() {
                "Preparing the run…".to_string()
            } else {
                "Starting the training worker…".to_string()
            };
        };
        let step = r["step"].as_u64().unwrap_or(0);
        let total = r["total_steps"].as_u64().unwrap_or(0);
        let epoch = r["epoch"].as_u64().unwrap_or(0);
        let epochs = r["epochs"].as_u64().unwrap_or(0);
        let ips = num(&r["images_per_s"]).unwrap_or(0.0);
        let left = num(&r["time_left_s"]).unwrap_or(f64::NAN);
        format!(
            "step {step} / {total} · epoch {} / {epochs} · {ips:.0} images/s ({}) · {} left · lr {:.2e}",
            (epoch + 1).min(epochs.max(1)),
            {
                let per_step = if ips > 0.0 {
                    let batch = r["settings"]["batch"].as_f64().unwrap_or(0.0);
                    format!("{:.0} ms per step", 1000.0 * batch / ips)
                } else {
                    "– ms per step".to_string()
                };
                match ui.workers.get() {
                    n if n > 1 && ui.engine.get() == "cpu" => format!("{per_step}, {n} workers"),
                    _ => per_step,
                }
            },
            fmt_secs(left),
            num(&r["lr"]).unwrap_or(0.0)
        )
    };
    let figures = move || {
        let r = report()?;
        let f = |v: &Value| num(v).map_or("–".to_string(), |x| format!("{x:.4}"));
        Some(format!(
            "training loss {} · accuracy {} · held-out loss {} · accuracy {}{}",
            f(&r["train"]["loss"]),
            f(&r["train"]["accuracy"]),
            f(&r["heldout"]["loss"]),
            f(&r["heldout"]["accuracy"]),
            r["heldout"]["step"]
                .as_u64()
                .map_or(String::new(), |s| format!(" (step {s})"))
        ))
    };
    let model_line = move || {
        let r = report()?;
        let m = &r["model"];
        if let Some(origin) = m["origin"].as_str() {
            return Some(format!(
                "Model: {origin} ({} layers, width {}, {} heads, {:.0} k parameters)",
                m["depth"],
                m["dim"],
                m["heads"],
                m["params"].as_f64().unwrap_or(0.0) / 1e3
            ));
        }
        Some(format!(
            "Model: fresh seeded {} ({} layers, width {}, {} heads, {:.0} k parameters)",
            m["preset"].as_str().unwrap_or("?"),
            m["depth"],
            m["dim"],
            m["heads"],
            m["params"].as_f64().unwrap_or(0.0) / 1e3
        ))
    };

    view! {
        <section class="train-view" id="train-view">
            <p class="lede">
                "Watch CRATE learn. Training runs in a Web Worker, so this page stays responsive; \
                 every few seconds and on pause the whole run is saved in this browser, so a reload \
                 loses nothing."
            </p>
            <div class="train-controls">
                <label>"Data"
                    <select id="train-dataset" on:change=on_data prop:value=data_key>
                        <option value="subspaces" selected=move || data_key() == "subspaces">"subspaces (synthetic)"</option>
                        <option value="shapes" selected=move || data_key() == "shapes">"shapes (synthetic images)"</option>
                        <option value="fmnist" selected=move || data_key() == "fmnist">"Fashion-MNIST (12,000 images, 4.9 MB)"</option>
                        <option value="own" selected=move || data_key() == "own">"your own images"</option>
                    </select>
                </label>
                <label>"Model"
                    <select id="train-preset" on:change=on_model>
                        {BROWSER_PRESETS.iter().map(|&p| view! {
                            <option value=p title=CrateConfig::preset_description(p).unwrap_or("")
                                selected=move || ui.settings.with(|s| s.init.is_none() && s.preset == p)>{format!("fresh {p}")}</option>
                        }).collect_view()}
                        <option value=IN_USE selected=move || ui.settings.with(|s| s.init.is_some())>{in_use_label}</option>
                    </select>
                </label>
                <label>"Optimiser"
                    <select id="train-optimizer" on:change=move |ev| { let v = event_target_value(&ev); if let Ok(k) = OptimizerKind::parse(&v) { set(Box::new(move |s| s.optimizer = k)); } }>
                        <option value="adamw" selected=move || ui.settings.with(|s| s.optimizer == OptimizerKind::AdamW)>"AdamW"</option>
                        <option value="lion" selected=move || ui.settings.with(|s| s.optimizer == OptimizerKind::Lion)>"Lion"</option>
                    </select>
                </label>
                <label>"Learning rate"
                    <input id="train-lr" type="number" step="any" min="0" prop:value=move || ui.settings.with(|s| s.lr.to_string()) on:change=on_lr />
                </label>
                {int_input("Batch", "train-batch", |s| s.batch as u64, |s, v| s.batch = v as usize)}
                {int_input("Epochs", "train-epochs", |s| s.epochs, |s, v| s.epochs = v)}
                {int_input("Seed", "train-seed", |s| s.seed, |s, v| {
                    // As `whitebox train --seed`: the data follows the run's seed (its own knob can differ).
                    s.seed = v;
                    match &mut s.data {
                        DataChoice::Subspaces { seed, .. } | DataChoice::Shapes { seed } | DataChoice::Own { seed } => *seed = v,
                        DataChoice::Fmnist => {}
                    }
                })}
                <label class="check">
                    <input id="train-augment" type="checkbox"
                        prop:checked=move || ui.settings.with(|s| s.augment)
                        prop:disabled=move || data_key() == "subspaces"
                        on:change=move |ev| { let on = event_target_checked(&ev); ui.settings.update(|s| s.augment = on); } />
                    "augment (crop, flip)"
                </label>
                <label class="files" title="A folder with one sub-folder of images per class">
                    "Own images: a folder"
                    <input id="train-files" type="file" multiple node_ref=folder_input on:change=on_files />
                </label>
                <label class="files" title="A .zip with one folder of images per class">
                    "or a .zip"
                    <input id="train-archive" type="file" accept=".zip,application/zip" on:change=on_files />
                </label>
            </div>
            <details class="train-classes" id="train-classes">
                <summary>"Own images: or pick files per class"</summary>
                {move || (0..class_rows.get()).map(|i| view! {
                    <div class="train-class-row">
                        <input id=format!("train-class-name-{i}") type="text" placeholder=format!("class {}", i + 1) />
                        <input id=format!("train-class-files-{i}") type="file" multiple accept="image/*" />
                    </div>
                }).collect_view()}
                <button id="train-add-class" on:click=move |_| class_rows.update(|n| *n += 1)>"+ class"</button>
                <button id="train-use-classes" on:click=use_classes>"Train on these classes"</button>
            </details>
            {sub_knobs}
            <p class="muted data-note">{move || match data_key() { "subspaces" => DATA_NOTE_SUBSPACES, "fmnist" => DATA_NOTE_FMNIST, "own" => DATA_NOTE_OWN, _ => DATA_NOTE_SHAPES }}</p>
            <Show when=move || !skipped_files().is_empty()>
                <div class="train-skipped">
                    <p>{move || { let n = skipped_files().len(); format!("{n} file{} skipped (never fatal):", if n == 1 { "" } else { "s" }) }}</p>
                    <ul id="train-skipped">
                        {move || skipped_files().into_iter().map(|(p, r)| view! { <li><code>{p}</code>": "{r}</li> }).collect_view()}
                    </ul>
                </div>
            </Show>
            <Show when=move || data_key() == "fmnist" && ui.data_credit.get().is_some()>
                <p class="muted data-credit" id="train-data-credit">{move || ui.data_credit.get()}</p>
            </Show>
            <Show when=move || ui.download.get().is_some()>
                <label class="train-download">
                    {move || ui.download.get().map(|(w, d, t)| format!("{w}: {:.1} of {:.1} MB", d as f64 / 1e6, t as f64 / 1e6))}
                    <progress id="train-download" max=move || ui.download.get().map_or(1, |(_, _, t)| t.max(1)) value=move || ui.download.get().map_or(0, |(_, d, _)| d) />
                </label>
            </Show>
            <div class="train-buttons">
                <button id="train-play" prop:disabled=move || ui.playing.get() || report().is_none() on:click=move |_| client::send(&ToWorker::Play, None)>"▶ Play"</button>
                <button id="train-pause" prop:disabled=move || !ui.playing.get() on:click=move |_| client::send(&ToWorker::Pause, None)>"❚❚ Pause"</button>
                <button id="train-step" prop:disabled=move || report().is_none() on:click=move |_| client::send(&ToWorker::Step, None)>"Step"</button>
                <button id="train-reset" prop:disabled=move || !ui.worker_ready.get() on:click=reset>"Reset"</button>
                <button id="train-export" prop:disabled=move || report().is_none() on:click=move |_| client::send(&ToWorker::Export, None)>"Export .safetensors"</button>
                <Show when=move || ui.saved.get().is_some()>
                    <button id="train-resume" class="primary" on:click=move |_| client::resume(ui)>
                        {move || format!("Resume the saved run (step {})", ui.saved.get().unwrap_or(0))}
                    </button>
                </Show>
                <Show when=move || ui.exported.get().is_some() && data_key() != "subspaces">
                    <button id="train-open-attention" on:click=move |_| open_in(View::Attention)>"Open in Attention"</button>
                    <button id="train-open-layers" on:click=move |_| open_in(View::Layers)>"Open in Layers"</button>
                </Show>
            </div>
            <Show when=move || changed()>
                <p class="notice" id="train-changed">"Settings changed: Reset starts a run with them (the learning rate applies at once)."</p>
            </Show>
            <Show when=move || ui.error.get().is_some()>
                <p class="error" id="train-error" role="alert">{move || ui.error.get()}</p>
            </Show>
            <Show when=move || ui.hidden_note.get().is_some()>
                <p class="notice" id="train-hidden">{move || ui.hidden_note.get()}</p>
            </Show>
            <p class="train-status" id="train-status" role="status">{status}</p>
            <p class="train-figures" id="train-figures">{figures}</p>
            <p class="muted" id="train-engine">
                {move || format!("Engine: {} — {}", ui.engine.get(), ui.engine_reason.get())}
                {move || ui.checkpoint_step.get().map(|s| format!(" · saved in this browser at step {s}"))}
                {move || ui.exported.get().map(|s| format!(" · exported at step {s}"))}
            </p>
            <p class="muted">{model_line}</p>
            <div class="charts train-charts">
                <StepChart title="Loss" y_label="cross-entropy (nats)" curves=loss_curves id="train-loss-chart" />
                <StepChart title="Accuracy" y_label="accuracy (fraction)" curves=acc_curves id="train-accuracy-chart" />
            </div>
            <h3>"Do the layers optimise their objectives while CRATE trains?"</h3>
            <p class="muted">
                "Every few steps the worker runs a fixed probe batch of held-out samples through the model \
                 and measures, per layer, the coding rate R^c of the tokens in each head's subspace before \
                 and after MSSA (MSSA should lower it: compression) and the fraction of zeros after ISTA \
                 (sparsity)."
            </p>
            <label>"Heatmap of "
                <select id="train-measure" on:change=move |ev| measure.set(event_target_value(&ev))>
                    <option value="rc_out" selected=true>"R^c after MSSA"</option>
                    <option value="rc_in">"R^c before MSSA"</option>
                    <option value="sparsity">"sparsity"</option>
                </select>
            </label>
            <div class="charts train-charts">
                <Heatmap matrix=heat title="The chosen measure per layer over training (probe batch)"
                    x_label="training step (probe)" y_label="layer" unit="nats (R^c) or fraction (sparsity)"
                    col_names=step_names describe=heat_describe width=520.0 height=220.0 id="train-heatmap" />
                <LayerChart title="R^c per layer (probe batch)" y_label="R^c (nats)" series=rc_series selected=Signal::derive(|| usize::MAX) on_select=Callback::new(|_| {}) id="train-rc-chart" />
                <LayerChart title="Sparsity per layer (probe batch)" y_label="fraction of zeros" series=sparsity_series selected=Signal::derive(|| usize::MAX) on_select=Callback::new(|_| {}) id="train-sparsity-chart" />
            </div>
            <Show when=move || confusion.with(|m| m.rows > 0)
                fallback=|| view! { <p class="muted">"The confusion matrix appears after the first held-out evaluation."</p> }>
                <div class="train-charts">
                    <Heatmap matrix=confusion title="Held-out confusion matrix (rows: true class, columns: predicted)"
                        x_label="predicted class" y_label="true class" unit="images"
                        row_names=class_names col_names=class_names show_values=true
                        describe=Callback::new(move |(t, p, v): (usize, usize, f64)| {
                            let n = class_names.get_untracked();
                            let name = |i: usize| n.get(i).cloned().unwrap_or_else(|| i.to_string());
                            format!("true {}, predicted {}: {v} images", name(t), name(p))
                        })
                        width=420.0 height=360.0 id="train-confusion" />
                    <BarChart bars=per_class parts=Signal::derive(|| vec![("accuracy".to_string(), [31, 119, 180])])
                        title="Held-out accuracy per class" x_label="class" y_label="accuracy" y_range=[0.0, 1.0]
                        describe=Callback::new(move |(i, _): (usize, Option<usize>)| {
                            per_class.with_untracked(|b| b.get(i).map(|b| format!("{}: {:.1} %", b.label, 100.0 * b.parts[0])).unwrap_or_default())
                        })
                        id="train-per-class" />
                </div>
            </Show>
            <pre id="wb-train-report" hidden>{report_json}</pre>
        </section>
    }
}

//! The Subspaces view's panels, one per file, and what they share: the chosen layer, head and
//! atom, the report assembled from the cache, the hovered token, the image with its patches, and
//! the `#wb-subspace-report` hook.

pub mod batch;
pub mod codes;
pub mod compression;
pub mod explain;
pub mod heads;
pub mod overlap;
pub mod spectra;
pub mod tokens;

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::plots::canvas::rgba;
use super::plots::Matrix;
use super::state::AppState;
use super::web::{paint, sleep};
use crate::analysis::subspaces::{SubspaceCache, SubspaceReport};
use crate::data::image::Rgba8Image;

/// The panels, in the order they receive a new report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Tokens,
    Heads,
    Overlap,
    Codes,
    Spectra,
    Hook,
}

const STAGES: usize = 6;

/// The view's state, passed to the panels through context. All fields are `Copy`.
#[derive(Clone, Copy)]
pub struct Shared {
    pub cache: RwSignal<Option<Arc<SubspaceCache>>>,
    pub layer: Signal<usize>,
    pub head: Signal<usize>,
    /// The atom whose activation map is shown (`None`: the most used).
    pub atom: RwSignal<Option<usize>>,
    /// The report of the chosen layer, head and atom (read from the cache: no recomputation).
    pub report: Memo<Option<Arc<SubspaceReport>>>,
    /// The same report handed to each panel in turn, one browser task apart: a layer or head
    /// change redraws one panel per task, so none blocks the page for long.
    stages: [RwSignal<Option<Arc<SubspaceReport>>>; STAGES],
    /// The token under the pointer (0 = CLS, then the patches row-major), in any panel.
    pub token: RwSignal<Option<usize>>,
}

impl Shared {
    pub fn new(
        cache: RwSignal<Option<Arc<SubspaceCache>>>,
        layer: Signal<usize>,
        head: Signal<usize>,
        atom: RwSignal<Option<usize>>,
    ) -> Self {
        let report = Memo::new(move |_| {
            let c = cache.get()?;
            let (l, k, a) = (layer.get(), head.get(), atom.get());
            // An atom from another model's dictionary falls back to the most used one.
            c.report(l, k, a)
                .or_else(|_| c.report(l, k, None))
                .ok()
                .map(Arc::new)
        });
        let stages: [RwSignal<Option<Arc<SubspaceReport>>>; STAGES] =
            std::array::from_fn(|_| RwSignal::new(None));
        let generation = StoredValue::new(0u64);
        Effect::new(move |_| {
            let r = report.get();
            generation.update_value(|g| *g += 1);
            let gen = generation.get_value();
            spawn_local(async move {
                for stage in stages {
                    // A newer report, or the view is gone: stop handing this one out.
                    if generation.try_get_value() != Some(gen) {
                        return;
                    }
                    stage.set(r.clone());
                    sleep(0).await;
                }
            });
        });
        Self {
            cache,
            layer,
            head,
            atom,
            report,
            stages,
            token: RwSignal::new(None),
        }
    }

    /// The report as the panel `stage` shows it.
    pub fn at(&self, stage: Stage) -> RwSignal<Option<Arc<SubspaceReport>>> {
        self.stages[stage as usize]
    }
}

/// The `#wb-subspace-report` JSON: the report as plotted, the image and engine it came from, and
/// the Layers view's per-layer totals (the per-head R^c must sum to them).
#[derive(Serialize)]
pub struct Hook<'a> {
    #[serde(flatten)]
    pub report: &'a SubspaceReport,
    pub engine: Option<&'a str>,
    pub image_name: Option<String>,
    pub layers_view: Option<serde_json::Value>,
}

/// The patch grid (rows, columns) of the image on show.
pub fn grid(app: &AppState) -> [usize; 2] {
    app.current
        .with(|c| c.as_ref().map_or([1, 1], |c| c.report.grid))
}

/// Per-token values (CLS first) as a matrix on the patch grid, CLS left out.
pub fn patch_matrix(values: &[f64], grid: [usize; 2]) -> Matrix {
    let patches = grid[0] * grid[1];
    let data = values
        .iter()
        .skip(1)
        .take(patches)
        .copied()
        .collect::<Vec<_>>();
    if data.len() == patches {
        Matrix::new(grid[0], grid[1], data)
    } else {
        Matrix::default()
    }
}

/// A panel: a title, a short explanation with its formula (MathML), then the plots.
#[component]
pub fn Panel(
    #[prop(into)] title: String,
    /// HTML with MathML, from [`explain`].
    explain: &'static str,
    #[prop(into)] id: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="subspace-panel" id=id>
            <h3>{title}</h3>
            <div class="subspace-explain" inner_html=explain></div>
            <div class="subspace-plots">{children()}</div>
        </section>
    }
}

/// The image the model saw, optionally tinted per patch (a colour per patch, grid row-major, at
/// opacity `alpha`), with the hovered patch outlined; hovering a patch sets [`Shared::token`].
#[component]
pub fn PatchImage(
    #[prop(into)] image: Signal<Option<Arc<Rgba8Image>>>,
    #[prop(into)] tints: Signal<Arc<Vec<[u8; 3]>>>,
    alpha: f64,
    #[prop(into)] label: String,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let node = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let (Some(c), Some(img)) = (node.get(), image.get()) else {
            return;
        };
        let colors = tints.get();
        paint(&c, &img);
        let [rows, cols] = grid(&app);
        let Some(ctx) = c.get_context("2d").ok().flatten().and_then(|x| {
            wasm_bindgen::JsCast::dyn_into::<web_sys::CanvasRenderingContext2d>(x).ok()
        }) else {
            return;
        };
        // Drawn over the pixels on the canvas: a few hundred rectangles, not a pass per pixel.
        let (cw, ch) = (
            img.width as f64 / cols as f64,
            img.height as f64 / rows as f64,
        );
        for (p, &col) in colors.iter().enumerate().take(rows * cols) {
            let (r, k) = (p / cols, p % cols);
            ctx.set_fill_style_str(&rgba(col, alpha));
            ctx.fill_rect(k as f64 * cw, r as f64 * ch, cw, ch);
        }
    });
    let on_move = move |ev: web_sys::MouseEvent| {
        let Some(c) = node.get_untracked() else {
            return;
        };
        let [rows, cols] = grid(&app);
        let (w, h) = (c.client_width() as f64, c.client_height() as f64);
        let (x, y) = (ev.offset_x() as f64 / w, ev.offset_y() as f64 / h);
        let t = ((0.0..1.0).contains(&x) && (0.0..1.0).contains(&y))
            .then(|| 1 + (y * rows as f64) as usize * cols + (x * cols as f64) as usize);
        if t != shared.token.get_untracked() {
            shared.token.set(t);
        }
    };
    let outline = move || {
        let [rows, cols] = grid(&app);
        let t = shared.token.get().filter(|&t| t >= 1 && t <= rows * cols)?;
        let (r, c) = ((t - 1) / cols, (t - 1) % cols);
        Some(format!(
            "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
            100.0 * c as f64 / cols as f64,
            100.0 * r as f64 / rows as f64,
            100.0 / cols as f64,
            100.0 / rows as f64
        ))
    };
    view! {
        <div class="patch-image" id=(!id.is_empty()).then_some(id)>
            <canvas
                node_ref=node
                class="pixelated"
                role="img"
                aria-label=label.clone()
                title=label
                on:mousemove=on_move
                on:mouseleave=move |_| shared.token.set(None)
            ></canvas>
            {move || outline().map(|s| view! { <div class="patch-box" style=s></div> })}
        </div>
    }
}

/// A legend of named colours.
pub fn legend(items: Vec<(String, [u8; 3])>) -> impl IntoView {
    items
        .into_iter()
        .map(|(name, c)| {
            view! {
                <span class="legend-item">
                    <span class="swatch" style=format!("background:{}", rgba(c, 1.0))></span>
                    {name}
                </span>
            }
        })
        .collect_view()
}

/// "CLS" or "patch (r, c)" for a token index.
pub fn token_name(t: usize, grid: [usize; 2]) -> String {
    if t == 0 {
        "CLS".into()
    } else {
        let p = t - 1;
        format!("patch ({}, {})", p / grid[1].max(1), p % grid[1].max(1))
    }
}

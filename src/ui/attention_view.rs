//! The attention view: for the chosen layer and head (or the mean), the CLS attention map over
//! the image, the mass-threshold mask with its outline, the PCA map, every head at a glance,
//! and the top-5 predictions.

use std::sync::Arc;

use leptos::prelude::*;

use super::controls::{LayerSlider, Slider};
use super::picture::Picture;
use super::state::AppState;
use crate::analysis::{mass_mask, pca_rgb};
use crate::viz::axis::superscript;
use crate::viz::{masked, overlay, pca_image, OverlayStyle};

#[component]
pub fn AttentionView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let layer = Signal::derive(move || app.layer_now());
    let heads = move || app.model.with(|m| m.as_ref().map_or(0, |m| m.config.heads));

    // The chosen map and its mask.
    let chosen = Memo::new(move |_| {
        let (l, h, t) = (layer.get(), app.head.get(), app.threshold.get());
        app.current.with(|c| {
            c.as_ref().map(|c| {
                let map = c.report.map(l, h);
                let mask = mass_mask(&map, t);
                (map, mask)
            })
        })
    });
    let style = move || OverlayStyle {
        opacity: app.opacity.get(),
        smooth: true,
    };
    let main_image = Signal::derive(move || {
        let (map, mask) = chosen.get()?;
        let s = style();
        app.current.with(|c| {
            c.as_ref()
                .map(|c| Arc::new(overlay(&c.base, &map, c.report.grid, Some(&mask), s)))
        })
    });
    let cutout = Signal::derive(move || {
        let (_, mask) = chosen.get()?;
        app.current.with(|c| {
            c.as_ref()
                .map(|c| Arc::new(masked(&c.base, c.report.grid, &mask)))
        })
    });
    let pca = Signal::derive(move || {
        let l = layer.get();
        app.current.with(|c| {
            c.as_ref().map(|c| {
                let r = &c.report;
                let colors = pca_rgb(&r.zout[l], r.tokens, r.dim);
                let cell = (c.base.width as usize / r.grid[1]).max(1);
                Arc::new(pca_image(&colors, r.grid, cell))
            })
        })
    });
    let mask_text = move || {
        chosen.get().map(|(_, mask)| {
            let on = mask.iter().filter(|&&m| m).count();
            format!(
                "The mask keeps {on} of {} patches ({:.0} %): the fewest that hold {:.0} % of the attention.",
                mask.len(),
                100.0 * on as f64 / mask.len().max(1) as f64,
                100.0 * app.threshold.get()
            )
        })
    };
    let which = move || match app.head.get() {
        Some(k) => format!("head {k}"),
        None => "mean over heads".into(),
    };

    // Every head (and the mean) as a small picture; click or Enter to choose it.
    let head_grid = move || {
        let k = heads();
        (0..=k)
            .map(|i| {
                let head = (i < k).then_some(i);
                let label = head.map_or("mean".to_string(), |h| format!("head {h}"));
                let img = Signal::derive(move || {
                    let (l, s) = (layer.get(), style());
                    app.current.with(|c| {
                        c.as_ref().map(|c| {
                            let map = c.report.map(l, head);
                            Arc::new(overlay(&c.thumb, &map, c.report.grid, None, s))
                        })
                    })
                });
                let label2 = label.clone();
                view! {
                    <li>
                        <button
                            class="head"
                            aria-pressed=move || (app.head.get() == head).to_string()
                            on:click=move |_| app.head.set(head)
                        >
                            <Picture image=img label=Signal::derive(move || format!("CLS attention, {label2}")) />
                            <span>{label}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };

    let top5 = move || {
        app.current.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.report
                        .top5
                        .iter()
                        .map(|p| {
                            let pct = 100.0 * p.prob;
                            view! {
                                <li>
                                    <span class="name">{p.name.clone()}</span>
                                    <span class="bar"><span style=format!("width:{pct:.1}%")></span></span>
                                    <span class="prob">{format!("{pct:.1} %")}</span>
                                </li>
                            }
                        })
                        .collect_view()
                })
        })
    };

    view! {
        <div class="view attention" id="view-attention">
            <div class="controls">
                <LayerSlider />
                <Slider label="Overlay opacity" id="opacity" min=0.0 max=1.0 step=0.05 value=app.opacity percent=true />
                <Slider label="Mask: attention mass" id="threshold" min=0.05 max=1.0 step=0.05 value=app.threshold percent=true />
            </div>
            <div class="figures">
                <figure>
                    <Picture
                        image=main_image
                        id="attention-map"
                        class="big"
                        label=Signal::derive(move || format!("CLS attention map, layer {}, {}", layer.get(), which()))
                    />
                    <figcaption>{move || format!("Layer {}, {}: CLS attention, mask outlined", layer.get(), which())}</figcaption>
                </figure>
                <figure>
                    <Picture image=cutout id="mask-map" class="big" label=Signal::derive(move || "the image inside the mask".to_string()) />
                    <figcaption>{mask_text}</figcaption>
                </figure>
                <figure>
                    <Picture image=pca id="pca-map" class="big pixelated" label=Signal::derive(move || format!("PCA of the ISTA output, layer {}", layer.get())) />
                    <figcaption>{move || format!("PCA of Z{} (the ISTA output) as RGB", superscript(layer.get() + 1))}</figcaption>
                </figure>
                <section class="top5" aria-label="Top-5 predictions">
                    <h3>"Top 5"</h3>
                    <ol id="top5">{top5}</ol>
                    <p class="muted small">{move || app.current.with(|c| c.as_ref().map(|c| format!("{} on {} in {:.1} ms", c.label, c.engine.label(), c.ms)))}</p>
                </section>
            </div>
            <h3>"All heads at this layer"</h3>
            <ul class="heads" id="heads">{head_grid}</ul>
        </div>
    }
}

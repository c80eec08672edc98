//! The attention view: for the chosen layer and head (or the mean), the CLS attention map over
//! the image, the mass-threshold mask with its outline, the PCA map, every head at a glance,
//! and the top-5 predictions.

use std::sync::Arc;

use leptos::prelude::*;

use super::controls::{LayerSlider, Slider};
use super::deferred::deferred;
use super::light::light_note;
use super::picture::Picture;
use super::runtime::pca_colors as pca_colors_of;
use super::state::{AppState, MapKind};
use crate::analysis::segment::iou;
use crate::analysis::{head_masks, mass_mask, winning_heads};
use crate::viz::axis::superscript;
use crate::viz::colormap::{categorical, css};
use crate::viz::{
    heads_overlay, masked, outlined, overlay, pca_image, OverlayStyle, TRUTH_OUTLINE,
};

#[component]
pub fn AttentionView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let layer = Signal::derive(move || app.layer_now());
    let heads = move || app.model.with(|m| m.as_ref().map_or(0, |m| m.config.heads));

    // The chosen map and its mask: the CLS row (one head or the mean), the rollout up to the
    // layer, or, for the heads in colour, the union of the heads' masks (the map stays the mean).
    let kind = move || app.map_kind.get();
    let chosen = Memo::new(move |_| {
        let (l, h, t, k) = (layer.get(), app.head.get(), app.threshold.get(), kind());
        app.current.with(|c| {
            c.as_ref().and_then(|c| {
                let map = match k {
                    MapKind::Rollout => c.report.rollout.get(l).filter(|r| !r.is_empty())?.clone(),
                    MapKind::Cls => c.report.map(l, h),
                    MapKind::Heads => c.report.map(l, None),
                };
                let mask = match k {
                    MapKind::Heads => {
                        let masks = head_masks(&c.report.cls[l], t);
                        (0..map.len()).map(|i| masks.iter().any(|m| m[i])).collect()
                    }
                    _ => mass_mask(&map, t),
                };
                Some((map, mask))
            })
        })
    });
    // Per patch, the head whose mask claims it (the heads-in-colour map).
    let winners = Memo::new(move |_| {
        if kind() != MapKind::Heads {
            return None;
        }
        let (l, t) = (layer.get(), app.threshold.get());
        app.current.with(|c| {
            c.as_ref().map(|c| {
                let rows = &c.report.cls[l];
                winning_heads(rows, &head_masks(rows, t))
            })
        })
    });
    let style = move || OverlayStyle {
        opacity: app.opacity.get(),
        smooth: true,
    };
    // The pictures are drawn in tasks of their own (see `deferred`): at 448×448 each is tens
    // of milliseconds of pixel work in an unoptimised build.
    let main_image = deferred(
        app,
        move || {
            let (map, mask) = chosen.get()?;
            let (s, win) = (style(), winners.get());
            let show_truth = app.show_truth.get();
            app.current.with(|c| {
                c.as_ref().map(|c| {
                    let truth = c
                        .truth
                        .as_ref()
                        .filter(|_| show_truth)
                        .map(|t| t.majority.clone());
                    (c.base.clone(), c.report.grid, map, mask, s, win, truth)
                })
            })
        },
        |(base, grid, map, mask, s, win, truth)| {
            let img = match &win {
                Some(w) => heads_overlay(&base, grid, w, categorical, s.opacity),
                None => overlay(&base, &map, grid, Some(&mask), s),
            };
            match truth {
                Some(t) => outlined(&img, grid, &t, TRUTH_OUTLINE),
                None => img,
            }
        },
    );
    let legend = move || {
        winners.get().map(|w| {
            (0..heads())
                .map(|k| {
                    let n = w.iter().filter(|&&x| x == Some(k)).count();
                    view! {
                        <li>
                            <span class="swatch" style=format!("background:{}", css(categorical(k)))></span>
                            {format!("head {k}: {n} patches")}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let kind_note = move || {
        match kind() {
        MapKind::Cls => None,
        MapKind::Heads => Some(
            "Each head's mass mask (the threshold below) in its own colour; a patch in several              masks goes to the head that gives it the largest share of its attention. The              cut-out is the union of the masks."
                .to_string(),
        ),
        MapKind::Rollout => Some(match (chosen.get(), light_note(app)) {
            (None, Some(why)) => format!("The attention rollout needs every layer's full attention. {why}."),
            (Some(_), _) => "Attention rollout: the CLS row of ½(mean-head A + I) multiplied from this                         layer down to layer 0 — how much each patch can reach the CLS token                         through attention and the residual. It ignores the value and output                         projections and the ISTA blocks, and the ½/½ split is a convention."
                .to_string(),
            (None, None) => "For a model this large the rollout is kept for the last layer only:                      choose the last layer."
                .to_string(),
        }),
    }
    };
    let cutout = deferred(
        app,
        move || {
            let (_, mask) = chosen.get()?;
            app.current
                .with(|c| c.as_ref().map(|c| (c.base.clone(), c.report.grid, mask)))
        },
        |(base, grid, mask)| masked(&base, grid, &mask),
    );
    // The PCA of a layer's tokens is seconds of work for a large model: the inference worker
    // computes it for the layer on show; the map appears when it arrives.
    let pca_colors = RwSignal::new(None::<(usize, usize, Arc<Vec<[f32; 3]>>)>);
    Effect::new(move |_| {
        let l = layer.get();
        let Some(report) = app.current.with(|c| {
            c.as_ref()
                .filter(|c| !c.report.is_light())
                .map(|c| c.report.clone())
        }) else {
            return;
        };
        let key = Arc::as_ptr(&report) as usize;
        if pca_colors.with_untracked(|p| matches!(p, Some((k, pl, _)) if *k == key && *pl == l)) {
            return;
        }
        leptos::task::spawn_local(async move {
            let Some(tokens) = report.zout.get(l) else {
                return;
            };
            match pca_colors_of(tokens, report.tokens, report.dim).await {
                Ok(colors) => pca_colors.set(Some((key, l, Arc::new(colors)))),
                Err(e) => app.fail(format!("The PCA map failed: {e}")),
            }
        });
    });
    let pca = Signal::derive(move || {
        let l = layer.get();
        app.current.with(|c| {
            let c = c.as_ref().filter(|c| !c.report.is_light())?;
            let r = &c.report;
            let key = Arc::as_ptr(r) as usize;
            pca_colors.with(|p| match p {
                Some((k, pl, colors)) if *k == key && *pl == l => {
                    let cell = (c.base.width as usize / r.grid[1]).max(1);
                    Some(Arc::new(pca_image(colors, r.grid, cell)))
                }
                _ => None,
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
    // The shown mask against the image's true mask (gallery shapes), as `segment` scores it.
    let has_truth = move || {
        app.current
            .with(|c| c.as_ref().is_some_and(|c| c.truth.is_some()))
    };
    // (IoU with the filled mask, IoU with its outline.)
    let truth_iou = move || {
        let (_, mask) = chosen.get()?;
        app.current.with(|c| {
            c.as_ref()
                .and_then(|c| c.truth.as_deref())
                .filter(|t| t.majority.len() == mask.len())
                .map(|t| (iou(&mask, &t.majority), iou(&mask, &t.outline)))
        })
    };
    let which = move || match (kind(), app.head.get()) {
        (MapKind::Rollout, _) => "attention rollout".into(),
        (MapKind::Heads, _) => "every head in colour".into(),
        (MapKind::Cls, Some(k)) => format!("head {k}"),
        (MapKind::Cls, None) => "mean over heads".into(),
    };

    // Every head (and the mean) as a small picture; click or Enter to choose it.
    let head_grid = move || {
        let k = heads();
        (0..=k)
            .map(|i| {
                let head = (i < k).then_some(i);
                let label = head.map_or("mean".to_string(), |h| format!("head {h}"));
                let img = deferred(
                    app,
                    move || {
                        let (l, s) = (layer.get(), style());
                        app.current.with(|c| {
                            c.as_ref()
                                .map(|c| (c.thumb.clone(), c.report.map(l, head), c.report.grid, s))
                        })
                    },
                    |(thumb, map, grid, s)| overlay(&thumb, &map, grid, None, s),
                );
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
                <label>
                    "Map "
                    <select id="map-kind" on:change=move |ev| {
                        if let Some(k) = MapKind::parse(&event_target_value(&ev)) {
                            app.map_kind.set(k);
                        }
                    }>
                        {MapKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.key() selected=move || app.map_kind.get() == k>{k.title()}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            <Show when=move || kind_note().is_some()>
                <p class="small muted" id="map-note">{kind_note}</p>
            </Show>
            <ul class="legend" id="heads-legend">{legend}</ul>
            <div class="figures">
                <figure>
                    <Picture
                        image=main_image
                        id="attention-map"
                        class="big"
                        label=Signal::derive(move || format!("CLS attention map, layer {}, {}", layer.get(), which()))
                    />
                    <figcaption>{move || match kind() {
                        MapKind::Heads => format!("Layer {}: each head's mask in its colour, outlined", layer.get()),
                        MapKind::Rollout => format!("Rollout to layer {}, mask outlined", layer.get()),
                        MapKind::Cls => format!("Layer {}, {}: CLS attention, mask outlined", layer.get(), which()),
                    }}</figcaption>
                </figure>
                <figure>
                    <Picture image=cutout id="mask-map" class="big" label=Signal::derive(move || "the image inside the mask".to_string()) />
                    <figcaption>{mask_text}</figcaption>
                    <Show when=has_truth>
                        <p class="truth">
                            <span id="mask-iou">{move || truth_iou().map(|(v, o)| format!("IoU with the true mask: {v:.3}; with its outline: {o:.3}"))}</span>
                            " "
                            <label>
                                <input
                                    type="checkbox"
                                    id="show-truth"
                                    prop:checked=move || app.show_truth.get()
                                    on:change=move |ev| app.show_truth.set(event_target_checked(&ev))
                                />
                                " draw the true outline (green)"
                            </label>
                        </p>
                        <p class="small muted">"Intersection over union of the mask above and the object's true mask on the patch grid (a patch is object when more than half of its pixels are): 1 is a perfect segmentation. The outline is the patches the object's edge crosses: heads that trace a shape's edge, as the shapes model's middle layers do, score high there and low on the filled mask; heads that fill the object, as the tiles model's do, the other way round. "<code>"whitebox segment --pairs [--truth outline]"</code>" prints the same for every layer and head."</p>
                    </Show>
                </figure>
                <figure>
                    <Picture image=pca id="pca-map" class="big pixelated" label=Signal::derive(move || format!("PCA of the ISTA output, layer {}", layer.get())) />
                    <figcaption>{move || light_note(app).map_or_else(|| format!("PCA of Z{} (the ISTA output) as RGB", superscript(layer.get() + 1)), |why| format!("No PCA map: no token states for this image. {why}."))}</figcaption>
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

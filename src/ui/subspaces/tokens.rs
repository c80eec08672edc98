//! Panel 1: the tokens in the chosen head's subspace, before and after the MSSA step (and the
//! next layer's input), on shared principal axes; coloured by region or by patch position; hover
//! links points and patches; play steps through the layers.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{explain, grid, legend, token_name, Panel, PatchImage, Shared, Stage};
use crate::analysis::maps::mass_mask;
use crate::ui::plots::{Points, ScatterPlot};
use crate::ui::state::AppState;
use crate::ui::web::sleep;
use crate::viz::axis::format_value;
use crate::viz::colormap::wheel;

const CLS: [u8; 3] = [25, 25, 25];
const FOREGROUND: [u8; 3] = [217, 115, 26];
const BACKGROUND: [u8; 3] = [47, 111, 179];
/// Milliseconds per layer when playing.
const PLAY_MS: i32 = 1100;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Colouring {
    /// The patches in the CLS attention's mass mask at this layer against the others.
    Region,
    /// A colour wheel over the patch's position.
    Position,
}

#[component]
pub fn TokensPanel() -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Tokens);
    let colouring = RwSignal::new(Colouring::Region);
    let solid = RwSignal::new(false);
    let show_next = RwSignal::new(false);
    let playing = RwSignal::new(false);
    let rotation = RwSignal::new([0.6, 0.35]);

    let colors = Memo::new(move |_| {
        let [rows, cols] = grid(&app);
        let mut out = vec![CLS];
        match colouring.get() {
            Colouring::Position => {
                for p in 0..rows * cols {
                    let (r, c) = (p / cols, p % cols);
                    out.push(wheel(
                        (c as f64 + 0.5) / cols as f64,
                        (r as f64 + 0.5) / rows as f64,
                    ));
                }
            }
            Colouring::Region => {
                let l = shared.layer.get();
                let t = app.threshold.get();
                let mask = app.current.with(|c| {
                    c.as_ref()
                        .map(|c| mass_mask(&c.report.mean_map(l.min(c.report.cls.len() - 1)), t))
                        .unwrap_or_default()
                });
                out.extend(
                    mask.iter()
                        .map(|&m| if m { FOREGROUND } else { BACKGROUND }),
                );
            }
        }
        Arc::new(out)
    });
    let set = move |f: fn(&crate::analysis::subspaces::Scatter) -> &Vec<Vec<f64>>| {
        Signal::derive(move || -> Points {
            rep.with(|r| {
                Arc::new(
                    r.as_ref()
                        .map(|r| f(&r.scatter).clone())
                        .unwrap_or_default(),
                )
            })
        })
    };
    let before = set(|s| &s.before);
    let after = set(|s| &s.after);
    let next = set(|s| &s.next);
    let radius = Signal::derive(move || {
        let with_next = show_next.get();
        rep.with(|r| {
            r.as_ref().map_or(1.0, |r| {
                let s = &r.scatter;
                let sets: Vec<&Vec<Vec<f64>>> = if with_next {
                    vec![&s.before, &s.after, &s.next]
                } else {
                    vec![&s.before, &s.after]
                };
                sets.iter()
                    .flat_map(|v| v.iter().flat_map(|p| p.iter().map(|x| x.abs())))
                    .fold(1e-9, f64::max)
                    * 1.08
            })
        })
    });
    let describe = move |which: Signal<Points>| {
        Callback::new(move |i: usize| {
            let g = grid(&app);
            which.with(|p| {
                let c: Vec<String> = p
                    .get(i)
                    .map(|row| row.iter().map(|&v| format_value(v)).collect())
                    .unwrap_or_default();
                format!("{}: ({})", token_name(i, g), c.join(", "))
            })
        })
    };
    let hover = Callback::new(move |t: Option<usize>| shared.token.set(t));
    let base = Signal::derive(move || app.current.with(|c| c.as_ref().map(|c| c.base.clone())));
    let patch_colors = Signal::derive(move || Arc::new(colors.get()[1..].to_vec()));
    let variance = move || {
        rep.with(|r| {
            r.as_ref().map(|r| {
                let e: Vec<String> = r
                    .scatter
                    .fit
                    .explained
                    .iter()
                    .map(|v| format!("{:.0} %", 100.0 * v))
                    .collect();
                format!(
                    "Layer {}, head {} ({} dimensions): the axes hold {} of the before-set's variance.",
                    r.layer,
                    r.head,
                    r.head_dim,
                    e.join(" + ")
                )
            })
        })
    };
    let play = move |_| {
        if playing.get_untracked() {
            playing.set(false);
            return;
        }
        playing.set(true);
        spawn_local(async move {
            let depth = shared
                .cache
                .with_untracked(|c| c.as_ref().map_or(0, |c| c.depth()));
            for l in 0..depth {
                // Stopped, or the view is gone (its signals disposed).
                if playing.try_get_untracked() != Some(true) {
                    return;
                }
                app.layer.set(l);
                sleep(PLAY_MS).await;
            }
            playing.set(false);
        });
    };
    let legend_items = move || match colouring.get() {
        Colouring::Region => legend(vec![
            ("CLS (diamond)".into(), CLS),
            ("patches the CLS attends to (mass mask)".into(), FOREGROUND),
            ("the other patches".into(), BACKGROUND),
        ])
        .into_any(),
        Colouring::Position => legend(vec![("CLS (diamond)".into(), CLS)]).into_any(),
    };

    view! {
        <Panel title="1 · Tokens in the head's subspace" explain=explain::TOKENS id="panel-tokens">
            <div class="subspace-options">
                <button id="subspace-play" on:click=play>{move || if playing.get() { "■ Stop" } else { "▶ Play layers" }}</button>
                <label><input type="checkbox" id="subspace-3d" prop:checked=move || solid.get() on:change=move |ev| solid.set(event_target_checked(&ev)) />" 3-D"</label>
                <label><input type="checkbox" id="subspace-next" prop:checked=move || show_next.get() on:change=move |ev| show_next.set(event_target_checked(&ev)) />" next layer"</label>
                <label>"Colour: "
                    <select id="subspace-colouring" on:change=move |ev| {
                        colouring.set(if event_target_value(&ev) == "position" { Colouring::Position } else { Colouring::Region })
                    }>
                        <option value="region" selected=true>"CLS attention mask"</option>
                        <option value="position">"patch position"</option>
                    </select>
                </label>
                <span class="legend">{legend_items}</span>
            </div>
            <div class="scatter-row">
                <ScatterPlot points=before colors=colors radius=radius title="Before MSSA: LN(Zˡ)" x_label="PC1" y_label="PC2"
                    three_d=solid rotation=rotation marked=vec![0usize] highlight=shared.token on_hover=hover describe=describe(before) id="scatter-before" />
                <ScatterPlot points=after colors=colors radius=radius title="After MSSA: LN(Zˡ⁺½)" x_label="PC1" y_label="PC2"
                    three_d=solid rotation=rotation marked=vec![0usize] highlight=shared.token on_hover=hover describe=describe(after) id="scatter-after" />
                <Show when=move || show_next.get()>
                    <ScatterPlot points=next colors=colors radius=radius title="Next layer's input: LN(Zˡ⁺¹)" x_label="PC1" y_label="PC2"
                        three_d=solid rotation=rotation marked=vec![0usize] highlight=shared.token on_hover=hover describe=describe(next) id="scatter-next" />
                </Show>
                <figure class="plot">
                    <figcaption>"The image (hover a patch)"</figcaption>
                    <PatchImage image=base tints=patch_colors alpha=0.45 label="The image, coloured as the points" id="tokens-image" />
                </figure>
            </div>
            <p class="muted small">{variance}</p>
        </Panel>
    }
}

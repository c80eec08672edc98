//! Panel 2: which head claims which patch: each head's share of every patch's energy on the
//! patch grid, and the image coloured by the winning head.

use std::sync::Arc;

use leptos::prelude::*;

use super::{explain, grid, legend, patch_matrix, token_name, Panel, PatchImage, Shared, Stage};
use crate::ui::plots::Heatmap;
use crate::ui::state::AppState;
use crate::viz::axis::format_value;
use crate::viz::colormap::categorical;

#[component]
pub fn HeadsPanel() -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Heads);
    let heads = move || rep.with(|r| r.as_ref().map_or(0, |r| r.heads));
    let hover = Callback::new(move |c: Option<usize>| shared.token.set(c.map(|c| c + 1)));
    let lit = Signal::derive(move || shared.token.get().and_then(|t| t.checked_sub(1)));
    let maps = move || {
        (0..heads())
            .map(|k| {
                let m = Signal::derive(move || {
                    let g = grid(&app);
                    rep.with(|r| {
                        Arc::new(
                            r.as_ref()
                                .and_then(|r| r.energy.share.get(k))
                                .map(|s| patch_matrix(s, g))
                                .unwrap_or_default(),
                        )
                    })
                });
                let describe = Callback::new(move |(r, c, v): (usize, usize, f64)| {
                    let g = grid(&app);
                    format!("{}: head {k} holds {} of the energy", token_name(1 + r * g[1] + c, g), format_value(v))
                });
                view! {
                    <Heatmap matrix=m title=format!("head {k}") range=[0.0, 1.0] unit="share"
                        width=190.0 height=170.0 highlight=lit on_hover=hover describe=describe id=format!("energy-head-{k}") />
                }
            })
            .collect_view()
    };
    let base = Signal::derive(move || app.current.with(|c| c.as_ref().map(|c| c.base.clone())));
    let winners = Signal::derive(move || {
        Arc::new(rep.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.energy
                        .winner
                        .iter()
                        .skip(1)
                        .map(|&k| categorical(k))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }))
    });
    let counts = move || {
        rep.with(|r| {
            r.as_ref().map(|r| {
                let mut n = vec![0usize; r.heads];
                for &k in r.energy.winner.iter().skip(1) {
                    n[k] += 1;
                }
                legend(
                    n.iter()
                        .enumerate()
                        .map(|(k, c)| (format!("head {k}: {c} patches"), categorical(k)))
                        .collect(),
                )
            })
        })
    };
    let hovered = move || {
        let t = shared.token.get()?;
        rep.with(|r| {
            let r = r.as_ref()?;
            let shares: Vec<String> = (0..r.heads)
                .map(|k| {
                    format!(
                        "{k}: {:.0} %",
                        100.0 * r.energy.share[k].get(t).copied().unwrap_or(0.0)
                    )
                })
                .collect();
            Some(format!(
                "{} — {}",
                token_name(t, grid(&app)),
                shares.join(" · ")
            ))
        })
    };
    view! {
        <Panel title="2 · Which head claims which patch" explain=explain::HEADS id="panel-heads">
            <div class="small-multiples">{maps}</div>
            <div class="winner-row">
                <figure class="plot">
                    <figcaption>"Winning head per patch"</figcaption>
                    <PatchImage image=base tints=winners alpha=0.6 label="The image coloured by the head with the largest share of each patch" id="winner-image" />
                </figure>
                <div class="legend column" id="winner-legend">{counts}</div>
            </div>
            <p class="readout">{hovered}</p>
        </Panel>
    }
}

//! Panel 5: the sparse codes Z^{l+1}: histogram of the activations, non-zeros per patch, atom
//! usage (sorted; click an atom) and the chosen atom's activation map.

use std::sync::Arc;

use leptos::prelude::*;

use super::{explain, grid, patch_matrix, token_name, Panel, Shared, Stage};
use crate::ui::plots::{Bar, BarChart, Heatmap, Histogram};
use crate::ui::state::AppState;
use crate::viz::axis::format_value;

#[component]
pub fn CodesPanel() -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Codes);
    let codes = Memo::new(move |_| rep.with(|r| r.as_ref().map(|r| r.codes.clone())));
    let counts = Signal::derive(move || {
        Arc::new(codes.with(|c| {
            c.as_ref()
                .map(|c| c.histogram.counts.clone())
                .unwrap_or_default()
        }))
    });
    let range = Signal::derive(move || {
        [
            0.0,
            codes.with(|c| c.as_ref().map_or(1.0, |c| c.histogram.max)),
        ]
    });
    let note = Signal::derive(move || {
        codes.with(|c| {
            c.as_ref().map(|c| {
                format!(
                    "{} of {} entries are exactly zero ({:.1} %); {} above the last bin.",
                    c.zeros,
                    c.total,
                    100.0 * c.zeros as f64 / c.total.max(1) as f64,
                    c.histogram.overflow
                )
            })
        })
    });
    let lit = Signal::derive(move || shared.token.get().and_then(|t| t.checked_sub(1)));
    let hover = Callback::new(move |c: Option<usize>| shared.token.set(c.map(|c| c + 1)));
    let nnz = Signal::derive(move || {
        let g = grid(&app);
        let v: Vec<f64> = codes.with(|c| {
            c.as_ref()
                .map(|c| c.nnz.iter().map(|&n| n as f64).collect())
                .unwrap_or_default()
        });
        Arc::new(patch_matrix(&v, g))
    });
    let usage = Signal::derive(move || {
        Arc::new(codes.with(|c| {
            c.as_ref()
                .map(|c| {
                    c.order
                        .iter()
                        .map(|&j| Bar {
                            label: j.to_string(),
                            parts: vec![c.usage[j] as f64],
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }))
    });
    let selected = Signal::derive(move || {
        codes.with(|c| {
            c.as_ref()
                .and_then(|c| c.order.iter().position(|&j| j == c.atom))
        })
    });
    let pick = Callback::new(move |i: usize| {
        if let Some(j) = codes.with_untracked(|c| c.as_ref().and_then(|c| c.order.get(i).copied()))
        {
            shared.atom.set(Some(j));
        }
    });
    let describe_bar = Callback::new(move |(i, _): (usize, Option<usize>)| {
        codes.with(|c| {
            c.as_ref()
                .and_then(|c| {
                    let j = *c.order.get(i)?;
                    Some(format!(
                        "atom {j}: used by {} of {} tokens (total activation {})",
                        c.usage[j],
                        c.nnz.len(),
                        format_value(c.mass[j])
                    ))
                })
                .unwrap_or_default()
        })
    });
    let atom_map = Signal::derive(move || {
        let g = grid(&app);
        Arc::new(codes.with(|c| {
            c.as_ref()
                .map(|c| patch_matrix(&c.atom_map, g))
                .unwrap_or_default()
        }))
    });
    let atom_title = move || {
        codes.with(|c| {
            c.as_ref().map_or(String::new(), |c| {
                format!("Atom {}'s activation per patch", c.atom)
            })
        })
    };
    let describe_nnz = Callback::new(move |(r, c, v): (usize, usize, f64)| {
        let g = grid(&app);
        format!(
            "{}: {} non-zero coefficients",
            token_name(1 + r * g[1] + c, g),
            v
        )
    });
    let describe_atom = Callback::new(move |(r, c, v): (usize, usize, f64)| {
        let g = grid(&app);
        format!(
            "{}: activation {}",
            token_name(1 + r * g[1] + c, g),
            format_value(v)
        )
    });
    view! {
        <Panel title="5 · Sparse codes" explain=explain::CODES id="panel-codes">
            <Histogram counts=counts range=range title="Non-zero activations of Zˡ⁺¹" x_label="activation" y_label="count" log_y=true note=note id="codes-histogram" />
            <Heatmap matrix=nnz title="Non-zeros per patch" unit="atoms" highlight=lit on_hover=hover describe=describe_nnz width=260.0 height=230.0 id="codes-nnz" />
            <BarChart bars=usage parts=Signal::derive(|| vec![("tokens using the atom".to_string(), [46u8, 139, 87])])
                title="Atom usage (most used first; click an atom)" x_label="atom" y_label="tokens" selected=selected on_click=pick describe=describe_bar width=640.0 id="codes-usage" />
            <Heatmap matrix=atom_map title="The chosen atom's activation per patch" unit="activation" highlight=lit on_hover=hover describe=describe_atom width=260.0 height=230.0 id="codes-atom" />
            <p class="small" id="codes-atom-caption">{atom_title}</p>
        </Panel>
    }
}

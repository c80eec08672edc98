//! Panel 3: per-head compression: R^c stacked by head, per layer, before and after the MSSA
//! step; the totals are the Layers view's.

use std::sync::Arc;

use leptos::prelude::*;

use super::{explain, Panel, Shared, Stage};
use crate::ui::plots::{Bar, BarChart};
use crate::ui::state::AppState;
use crate::viz::axis::format_value;
use crate::viz::colormap::categorical;

#[component]
pub fn CompressionPanel() -> impl IntoView {
    let app = expect_context::<AppState>();
    let shared = expect_context::<Shared>();
    let rep = shared.at(Stage::Heads);
    let rates = Memo::new(move |_| {
        shared
            .cache
            .with(|c| c.as_ref().map(|c| c.compression()))
            .unwrap_or_default()
    });
    let bars = Signal::derive(move || {
        Arc::new(
            rates
                .get()
                .iter()
                .enumerate()
                .flat_map(|(l, r)| {
                    [
                        Bar {
                            label: l.to_string(),
                            parts: r.rc_in.clone(),
                        },
                        Bar {
                            label: String::new(),
                            parts: r.rc_out.clone(),
                        },
                    ]
                })
                .collect::<Vec<_>>(),
        )
    });
    let parts = Signal::derive(move || {
        let k = rep.with(|r| r.as_ref().map_or(0, |r| r.heads));
        (0..k)
            .map(|k| (format!("head {k}"), categorical(k)))
            .collect::<Vec<_>>()
    });
    let totals = move |l: usize| {
        app.current.with(|c| {
            c.as_ref()
                .and_then(|c| c.report.layers.get(l).map(|s| (s.rc_in, s.rc_out)))
        })
    };
    let describe = Callback::new(move |(i, part): (usize, Option<usize>)| {
        let (l, after) = (i / 2, i % 2 == 1);
        let r = rates.with(|r| r.get(l).cloned()).unwrap_or_default();
        let v = if after { &r.rc_out } else { &r.rc_in };
        let sum: f64 = v.iter().sum();
        let when = if after {
            "after MSSA"
        } else {
            "at the MSSA input"
        };
        match part {
            Some(k) => format!(
                "layer {l}, {when}: head {k} Rᶜ = {} of {}",
                format_value(v[k]),
                format_value(sum)
            ),
            None => format!("layer {l}, {when}: Rᶜ = {}", format_value(sum)),
        }
    });
    let select = Callback::new(move |i: usize| app.layer.set(i / 2));
    let selected = Signal::derive(move || 2 * shared.layer.get());
    let check = move || {
        let l = shared.layer.get();
        let r = rates.with(|r| r.get(l).cloned())?;
        let (a, b) = (r.rc_in.iter().sum::<f64>(), r.rc_out.iter().sum::<f64>());
        let (ta, tb) = totals(l)?;
        let by_head: Vec<String> = r
            .rc_in
            .iter()
            .zip(&r.rc_out)
            .enumerate()
            .map(|(k, (x, y))| format!("head {k}: {} → {}", format_value(*x), format_value(*y)))
            .collect();
        Some(format!(
            "Layer {l}: Σₖ Rᶜₖ = {} → {} (the Layers view: {} → {}). {}",
            format_value(a),
            format_value(b),
            format_value(ta),
            format_value(tb),
            by_head.join(" · ")
        ))
    };
    view! {
        <Panel title="3 · Per-head compression" explain=explain::COMPRESSION id="panel-compression">
            <BarChart bars=bars parts=parts title="Rᶜ per layer, stacked by head (each pair: input, after MSSA)"
                x_label="layer" y_label="Rᶜ (nats)" group=2 selected=selected on_click=select describe=describe width=640.0 id="compression-bars" />
            <p class="small" id="compression-check">{check}</p>
        </Panel>
    }
}

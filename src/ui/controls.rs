//! Labelled sliders (keyboard accessible: they are native range inputs).

use leptos::prelude::*;

use super::state::AppState;

#[component]
pub fn Slider(
    label: &'static str,
    id: &'static str,
    min: f32,
    max: f32,
    step: f32,
    value: RwSignal<f32>,
    #[prop(optional)] percent: bool,
) -> impl IntoView {
    let shown = move || {
        let v = value.get();
        if percent {
            format!("{:.0} %", v * 100.0)
        } else {
            format!("{v}")
        }
    };
    view! {
        <label class="slider" for=id>
            <span>{label}</span>
            <input
                id=id
                type="range"
                min=min
                max=max
                step=step
                prop:value=move || value.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                        value.set(v.clamp(min, max));
                    }
                }
            />
            <output>{shown}</output>
        </label>
    }
}

/// The layer on show, shared by the views.
#[component]
pub fn LayerSlider() -> impl IntoView {
    let app = expect_context::<AppState>();
    let depth = move || app.model.with(|m| m.as_ref().map_or(1, |m| m.config.depth));
    view! {
        <label class="slider" for="layer">
            <span>"Layer"</span>
            <input
                id="layer"
                type="range"
                min="0"
                max=move || depth() - 1
                step="1"
                prop:value=move || app.layer_now().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                        app.layer.set(v);
                    }
                }
            />
            // Layers count from 0, as in the charts: "1 (0–1)" for the last of two.
            <output>{move || format!("{} (0–{})", app.layer_now(), depth() - 1)}</output>
        </label>
    }
}

//! The lab's settings: a slider or toggle per setting (ids `wb-lab-<key>`, the URL keys), and the
//! presets, each a button with its "You could try…" sentence that sets everything and scrolls to
//! the plot showing the effect.

use leptos::prelude::*;

use crate::analysis::lab::config::{presets, MAX_D, MAX_HEADS, MAX_K, MAX_LAYERS, MAX_N, MAX_P};
use crate::analysis::lab::LabConfig;

/// Applies `key=value`, then makes the dependent settings consistent; an invalid value is ignored.
fn apply(cfg: RwSignal<LabConfig>, key: &str, value: &str) {
    let mut c = cfg.get_untracked();
    if c.set(key, value).is_ok() {
        c.repair();
        if c.validate().is_ok() && c != cfg.get_untracked() {
            cfg.set(c);
        }
    }
}

/// The current value of `key` as the URL writes it.
fn value_of(c: &LabConfig, key: &str) -> String {
    c.to_pairs()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[component]
fn Slider(
    cfg: RwSignal<LabConfig>,
    key: &'static str,
    label: &'static str,
    min: f64,
    #[prop(into)] max: Signal<f64>,
    step: f64,
) -> impl IntoView {
    let value = move || cfg.with(|c| value_of(c, key));
    view! {
        <label class="lab-slider">
            <span>{label}</span>
            <input
                type="range"
                id=format!("wb-lab-{key}")
                min=min
                max=move || max.get()
                step=step
                prop:value=value
                on:input=move |ev| apply(cfg, key, &event_target_value(&ev))
            />
            <output>{value}</output>
        </label>
    }
}

#[component]
fn Toggle(cfg: RwSignal<LabConfig>, key: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <label class="lab-toggle">
            <input
                type="checkbox"
                id=format!("wb-lab-{key}")
                prop:checked=move || cfg.with(|c| value_of(c, key) == "1")
                on:change=move |ev| {
                    apply(cfg, key, if event_target_checked(&ev) { "1" } else { "0" })
                }
            />
            {label}
        </label>
    }
}

#[component]
fn Choice(
    cfg: RwSignal<LabConfig>,
    key: &'static str,
    label: &'static str,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label class="lab-choice">
            <span>{label}</span>
            <select
                id=format!("wb-lab-{key}")
                prop:value=move || cfg.with(|c| value_of(c, key))
                on:change=move |ev| apply(cfg, key, &event_target_value(&ev))
            >
                {options
                    .iter()
                    .map(|(v, t)| view! { <option value=*v>{*t}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// Scrolls the plot with this id into view.
fn scroll_to(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        el.scroll_into_view();
    }
}

#[component]
pub fn Controls(cfg: RwSignal<LabConfig>) -> impl IntoView {
    let p_max = Signal::derive(move || cfg.with(|c| c.p as f64));
    let k_max = Signal::derive(move || cfg.with(|c| (c.k - 1) as f64));
    let fixed = |v: usize| Signal::derive(move || v as f64);
    let buttons = presets()
        .into_iter()
        .map(|p| {
            let c = p.config.clone();
            let plot = p.plot;
            view! {
                <li>
                    <button
                        id=format!("wb-lab-preset-{}", p.name)
                        on:click=move |_| {
                            cfg.set(c.clone());
                            scroll_to(plot);
                        }
                    >
                        {p.name}
                    </button>
                    <span>{p.sentence}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="lab-controls">
            <fieldset>
                <legend>"Data"</legend>
                <Slider cfg key="k" label="K subspaces" min=1.0 max=fixed(MAX_K) step=1.0 />
                <Slider cfg key="p" label="p dimension" min=1.0 max=fixed(MAX_P) step=1.0 />
                <Slider cfg key="d" label="d ambient" min=2.0 max=fixed(MAX_D) step=1.0 />
                <Slider cfg key="n" label="N tokens" min=8.0 max=fixed(MAX_N) step=8.0 />
                <Slider cfg key="delta" label="δ other subspaces" min=0.0 max=fixed(2) step=0.05 />
                <Slider cfg key="noise" label="σ noise" min=0.0 max=fixed(1) step=0.01 />
                <Slider cfg key="seed" label="seed" min=0.0 max=fixed(99) step=1.0 />
                <Toggle cfg key="orth" label="orthogonal subspaces" />
            </fieldset>
            <fieldset>
                <legend>"Operators"</legend>
                <Slider cfg key="layers" label="L layers" min=0.0 max=fixed(MAX_LAYERS) step=1.0 />
                <Slider cfg key="eta" label="η step" min=0.0 max=fixed(2) step=0.05 />
                <Choice
                    cfg
                    key="phi"
                    label="φ"
                    options=&[("threshold", "hard threshold"), ("softmax", "softmax")]
                />
                <Slider cfg key="theta" label="θ threshold" min=0.0 max=fixed(6) step=0.1 />
                <Slider cfg key="heads" label="H heads" min=1.0 max=fixed(MAX_HEADS) step=1.0 />
                <Slider cfg key="q" label="q head dim" min=1.0 max=p_max step=1.0 />
                <Toggle cfg key="ista" label="ISTA step" />
                <Choice
                    cfg
                    key="dict"
                    label="dictionary"
                    options=&[("bases", "true bases ±"), ("identity", "identity")]
                />
                <Slider cfg key="lambda" label="λ sparsity" min=0.0 max=fixed(2) step=0.05 />
            </fieldset>
            <fieldset>
                <legend>"Views"</legend>
                <Slider cfg key="focus" label="scatter subspace" min=0.0 max=k_max step=1.0 />
                <Slider cfg key="cnoise" label="σ clustering" min=0.0 max=fixed(1) step=0.01 />
            </fieldset>
            <div class="lab-presets">
                <h3>"Presets"</h3>
                <ul>{buttons}</ul>
            </div>
        </div>
    }
}

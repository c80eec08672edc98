//! The Model view's panel on the official CRATE checkpoints (issue 13 item 5): which released
//! files the page reads, the head count to give for each, and which input sizes keep every
//! view (computed from the presets with `analysis::plan`, not written by hand).

use leptos::prelude::*;

use crate::analysis::plan::{full_detail_bytes, keeps_full_detail};
use crate::model::CrateConfig;

/// (name, preset, what it was trained on, a note on its file).
const OFFICIAL: [(&str, &str, &str, &str); 6] = [
    ("CRATE-T", "crate-t", "ImageNet-1k", ""),
    ("CRATE-S", "crate-s", "ImageNet-1k", ""),
    (
        "CRATE-B",
        "crate-b",
        "ImageNet-1k",
        "same width as B/8, different head count",
    ),
    ("CRATE-L", "crate-l", "ImageNet-1k", ""),
    (
        "CRATE-B/8 (segmentation demo)",
        "crate-b8-demo",
        "ImageNet-21k",
        "its head is Linear(768, 768) then Linear(768, 21,842) (read from the file)",
    ),
    ("CRATE-S/8", "crate-s8-21k", "ImageNet-21k", ""),
];

/// The input sides the panel reports on: the training size and twice it.
const SIDES: [usize; 2] = [224, 448];

fn sizes(cfg: &CrateConfig) -> String {
    SIDES
        .iter()
        .map(|&s| {
            let tokens = cfg.tokens_at([s, s]);
            let what = if keeps_full_detail(cfg, tokens) {
                "every view".to_string()
            } else {
                format!(
                    "predictions, measures and CLS maps only ({:.1} GiB of token states and \
                     attention would not fit)",
                    full_detail_bytes(cfg, tokens) as f64 / (1u64 << 30) as f64
                )
            };
            format!("{s}×{s}: {tokens} tokens, {what}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[component]
pub fn OfficialPanel() -> impl IntoView {
    let rows = OFFICIAL
        .iter()
        .filter_map(|&(name, preset, data, note)| {
            let c = CrateConfig::preset(preset).ok()?;
            let shape = format!(
                "d={}, {} layers, patch {}, {}×{} input, {} classes",
                c.dim, c.depth, c.patch, c.image[0], c.image[1], c.classes
            );
            let note =
                (!note.is_empty()).then(|| view! { <br /><span class="small muted">{note}</span> });
            Some(view! {
                <tr data-preset=preset>
                    <th scope="row">{name}<br /><span class="small muted">{data}</span></th>
                    <td>{shape}{note}</td>
                    <td class="heads">{c.heads}</td>
                    <td class="small">{sizes(&c)}</td>
                </tr>
            })
        })
        .collect_view();
    view! {
        <section id="official-panel">
            <h3>"Official CRATE checkpoints"</h3>
            <p class="small">
                "The page reads the PyTorch checkpoints released with the CRATE papers (the "
                <code>"Ma-Lab-Berkeley/CRATE"</code>
                " repository on GitHub): a " <code>".pth"</code> " or " <code>".pth.tar"</code>
                " file, a bare state dict or one under " <code>"state_dict"</code>
                ", with or without DataParallel's " <code>"module."</code>
                " prefix, in float32. Choose it with the file button above; nothing is uploaded."
            </p>
            <table class="kv" id="official-models">
                <thead>
                    <tr><th>"Model"</th><th>"Shape"</th><th>"Heads"</th><th>"Input sizes"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="small">
                "Heads: a checkpoint's " <code>"qkv"</code>
                " weight is d×d for any head count, so the file cannot say. The page assumes the \
                 count of the table's model with the same width and patch, says so under \
                 \u{201c}Assumed while loading\u{201d} and offers a field to change it; for a width \
                 no model here has, it asks for the count before loading. Enter the number in the \
                 Heads column: CRATE-B/8 has 6 heads where CRATE-B has 12."
            </p>
            <p class="small">
                "Input: the models were trained at 224×224 with ImageNet's resize-and-centre-crop \
                 (the default fit). Other sizes (Input, above) interpolate the position \
                 embeddings; at 448×448 the 8×8-patch models give a finer map, but the page then \
                 keeps only what the CLS maps need (the Layers heat map, the PCA map, the rollout \
                 and the Subspaces view say so). The ImageNet-21k models' files carry no class \
                 names: predictions show class indices."
            </p>
        </section>
    }
}

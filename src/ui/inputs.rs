//! Getting images and models in: the sample gallery, a file picker, drag and drop, and paste.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::actions::{analyse_file, analyse_sample, load_model_file};
use super::state::AppState;

/// The first file of a drop, if any.
fn dropped_file(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    ev.data_transfer()
        .and_then(|d| d.files())
        .and_then(|l| l.get(0))
}

/// The file chosen in an `<input type=file>`; the input is cleared so that choosing the same
/// file again fires again.
fn picked_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let f = input.files().and_then(|l| l.get(0));
    input.set_value("");
    f
}

/// Model files go to the model loader, anything else to the image analyser.
fn is_model_file(f: &web_sys::File) -> bool {
    crate::page::model_choice::is_model_file(&f.name())
}

#[component]
pub fn Gallery() -> impl IntoView {
    let app = expect_context::<AppState>();
    let items = move || {
        app.samples
            .get()
            .into_iter()
            .map(|s| {
                let file = s.file.clone();
                let pressed = move || app.sample.get().as_deref() == Some(file.as_str());
                let small = matches!(s.kind.as_str(), "fashion-mnist" | "shapes" | "tiles");
                let s2 = s.clone();
                view! {
                    <li>
                        <button
                            class="thumb"
                            aria-pressed=move || pressed().to_string()
                            title=format!("{} — {}", s.label, s.credit)
                            data-file=s.file.clone()
                            on:click=move |_| analyse_sample(app, s2.clone())
                        >
                            <img
                                src=format!("samples/{}", s.file)
                                alt=s.label.clone()
                                class:pixelated=small
                                width="56"
                                height="56"
                            />
                            <span>{s.label.clone()}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="gallery" aria-label="Sample images">
            <h2>"Samples"</h2>
            <ul>{items}</ul>
            <p class="credit">"Fashion-MNIST test images (Zalando Research, MIT). Shapes and tiles: synthetic, with true masks. Photos: scikit-image data (CC0 / public domain); hover for credits."</p>
        </section>
    }
}

/// A drop target with a file picker: `on_file` gets the file dropped or picked.
#[component]
fn DropZone(
    /// What the zone is for (screen readers).
    label: &'static str,
    /// The picker's id and the file types it offers.
    input_id: &'static str,
    accept: &'static str,
    /// The picker's button text.
    choose: &'static str,
    on_file: Callback<web_sys::File>,
    children: Children,
) -> impl IntoView {
    let over = RwSignal::new(false);
    view! {
        <section
            class="dropzone"
            class:over=move || over.get()
            aria-label=label
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                over.set(true);
            }
            on:dragleave=move |_| over.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                over.set(false);
                if let Some(f) = dropped_file(&ev) {
                    on_file.run(f)
                }
            }
        >
            {children()}
            <label class="button">
                {choose}
                <input
                    id=input_id
                    class="visually-hidden"
                    type="file"
                    accept=accept
                    on:change=move |ev| {
                        if let Some(f) = picked_file(&ev) {
                            on_file.run(f)
                        }
                    }
                />
            </label>
        </section>
    }
}

/// Image upload: a picker and a drop zone (paste works anywhere on the page, see
/// [`listen_for_paste`]). A model file dropped here goes to the model loader.
#[component]
pub fn ImageInput() -> impl IntoView {
    let app = expect_context::<AppState>();
    let on_file = Callback::new(move |f: web_sys::File| {
        if is_model_file(&f) {
            load_model_file(app, f)
        } else {
            analyse_file(app, f)
        }
    });
    view! {
        <DropZone
            label="Your own image"
            input_id="image-file"
            accept="image/*,.png,.jpg,.jpeg,.webp,.gif,.bmp"
            choose="choose an image"
            on_file=on_file
        >
            <h2>"Your image"</h2>
            <p>"Drop an image (or a model file) here, paste one, or"</p>
        </DropZone>
        <p class="muted small">"PNG, JPEG, WebP, GIF or BMP; large images are scaled down. Nothing leaves this page."</p>
    }
}

/// Model upload: safetensors or an official PyTorch checkpoint.
#[component]
pub fn ModelInput() -> impl IntoView {
    let app = expect_context::<AppState>();
    let on_file = Callback::new(move |f: web_sys::File| load_model_file(app, f));
    view! {
        <DropZone
            label="Your own model"
            input_id="model-file"
            accept=".safetensors,.pth,.pt,.tar,.bin,.ckpt"
            choose="choose a model file"
            on_file=on_file
        >
            <p>"Drop a CRATE model here, or"</p>
        </DropZone>
        <p class="muted small">"safetensors, or an official PyTorch checkpoint (.pth / .pth.tar, e.g. the released CRATE-T/S/B/L)."</p>
    }
}

/// Paste anywhere: an image from the clipboard is analysed.
pub fn listen_for_paste(app: AppState) {
    let handle = window_event_listener(leptos::ev::paste, move |ev: web_sys::ClipboardEvent| {
        let file = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0));
        if let Some(f) = file {
            ev.prevent_default();
            if is_model_file(&f) {
                load_model_file(app, f)
            } else {
                analyse_file(app, f)
            }
        }
    });
    // The listener lives as long as the page.
    std::mem::forget(handle);
}

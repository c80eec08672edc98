//! A canvas that shows an RGBA picture and repaints when it changes.

use std::sync::Arc;

use leptos::prelude::*;

use super::web::paint;
use crate::data::image::Rgba8Image;

#[component]
pub fn Picture(
    #[prop(into)] image: Signal<Option<Arc<Rgba8Image>>>,
    /// What the picture shows, for screen readers.
    #[prop(into)]
    label: Signal<String>,
    #[prop(optional, into)] class: String,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let img = image.get();
        if let (Some(canvas), Some(img)) = (node.get(), img) {
            let t0 = super::web::now_ms();
            paint(&canvas, &img);
            super::web::note_section("paint", t0);
        }
    });
    view! {
        <canvas
            node_ref=node
            class=class
            id=(!id.is_empty()).then_some(id)
            role="img"
            aria-label=move || label.get()
            title=move || label.get()
        ></canvas>
    }
}

//! Pictures drawn in browser tasks of their own. A view's pictures all change when a new
//! analysis arrives; drawn in the reactive update that delivers it, they made one main-thread
//! task of hundreds of milliseconds for a large input (a 448×448 map, its cut-out and seven
//! thumbnails, pixel by pixel in an unoptimised build). Here each picture reads its inputs in
//! the update (cheap: shared pictures and patch-grid vectors) and is drawn in a later task, so
//! that the page stays responsive between them; a picture whose inputs changed again before it
//! was drawn is skipped. The page counts pending pictures in [`AppState::tasks`], so that it
//! reads "busy" until they are on screen.

use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use super::state::AppState;
use super::web::sleep;
use crate::data::image::Rgba8Image;

/// The picture `draw(inputs)`, drawn in a task of its own whenever `inputs` change (`None`: no
/// picture; the canvas keeps what it shows).
pub fn deferred<I: 'static>(
    app: AppState,
    inputs: impl Fn() -> Option<I> + 'static,
    draw: impl Fn(I) -> Rgba8Image + 'static,
) -> Signal<Option<Arc<Rgba8Image>>> {
    let out = RwSignal::new(None::<Arc<Rgba8Image>>);
    let latest = StoredValue::new(0u64);
    let draw = Rc::new(draw);
    Effect::new(move |_| {
        let Some(i) = inputs() else {
            return;
        };
        latest.update_value(|g| *g += 1);
        let mine = latest.get_value();
        let draw = draw.clone();
        app.tasks.update(|n| *n += 1);
        leptos::task::spawn_local(async move {
            sleep(0).await;
            if latest.get_value() == mine {
                let t0 = super::web::now_ms();
                let img = draw(i);
                super::web::note_section("draw", t0);
                out.set(Some(Arc::new(img)));
            }
            app.tasks.update(|n| *n = n.saturating_sub(1));
        });
    });
    out.into()
}

/// Pixels per band of [`deferred_bands`] (a few milliseconds of colour mapping in an
/// unoptimised build).
const BAND_PIXELS: usize = 1 << 16;

/// Like [`deferred`], for a picture too large to draw in one task (the Layers view's token ×
/// channel map: 785 × 768 pixels for a B/8 model at 224, 3,137 × 768 at 448): `prepare(inputs)`
/// runs in one task and gives what the bands need with the picture's width and height, then
/// `band(&prepared, rows, out)` appends the RGBA pixels of a few rows at a time, each band in a
/// task of its own.
pub fn deferred_bands<I: 'static, P: 'static>(
    app: AppState,
    inputs: impl Fn() -> Option<I> + 'static,
    prepare: impl Fn(I) -> (P, usize, usize) + 'static,
    band: impl Fn(&P, Range<usize>, &mut Vec<u8>) + 'static,
) -> Signal<Option<Arc<Rgba8Image>>> {
    let out = RwSignal::new(None::<Arc<Rgba8Image>>);
    let latest = StoredValue::new(0u64);
    let (prepare, band) = (Rc::new(prepare), Rc::new(band));
    Effect::new(move |_| {
        let Some(i) = inputs() else {
            return;
        };
        latest.update_value(|g| *g += 1);
        let mine = latest.get_value();
        let (prepare, band) = (prepare.clone(), band.clone());
        app.tasks.update(|n| *n += 1);
        leptos::task::spawn_local(async move {
            sleep(0).await;
            let current = || latest.get_value() == mine;
            if current() {
                let (p, width, height) = prepare(i);
                let rows = (BAND_PIXELS / width.max(1)).max(1);
                let mut data = Vec::with_capacity(width * height * 4);
                let mut r0 = 0;
                while r0 < height && current() {
                    sleep(0).await;
                    let t0 = super::web::now_ms();
                    let r1 = (r0 + rows).min(height);
                    band(&p, r0..r1, &mut data);
                    super::web::note_section("draw band", t0);
                    r0 = r1;
                }
                if current() {
                    out.set(Some(Arc::new(Rgba8Image {
                        width: width as u32,
                        height: height as u32,
                        data,
                    })));
                }
            }
            app.tasks.update(|n| *n = n.saturating_sub(1));
        });
    });
    out.into()
}

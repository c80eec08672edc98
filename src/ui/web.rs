//! Small bridges to the browser: fetch, timers, files read in chunks, canvases, the clipboard.

use js_sys::Uint8Array;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::data::image::Rgba8Image;
use crate::error::{Error, Result};

fn js_err(what: &str, e: JsValue) -> Error {
    let msg = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    Error::Input(format!("{what}: {msg}"))
}

/// The bytes at a URL relative to the page.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>> {
    let window = web_sys::window().ok_or_else(|| Error::Input("no window".into()))?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| js_err(url, e))?
        .dyn_into()
        .map_err(|e| js_err(url, e))?;
    if !resp.ok() {
        return Err(Error::Input(format!("{url}: HTTP {}", resp.status())));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_err(url, e))?)
        .await
        .map_err(|e| js_err(url, e))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// The text at a URL relative to the page.
pub async fn fetch_text(url: &str) -> Result<String> {
    String::from_utf8(fetch_bytes(url).await?)
        .map_err(|_| Error::Input(format!("{url}: not UTF-8 text")))
}

/// Milliseconds since the Unix epoch on the high-resolution clock (`performance.timeOrigin +
/// performance.now()`): comparable between the page and its workers, whose `now_ms` count
/// from different origins.
pub fn epoch_ms() -> f64 {
    let g: JsValue = js_sys::global().into();
    let origin = js_sys::Reflect::get(&g, &JsValue::from_str("performance"))
        .and_then(|p| js_sys::Reflect::get(&p, &JsValue::from_str("timeOrigin")))
        .ok()
        .and_then(|o| o.as_f64())
        .unwrap_or(0.0);
    origin + now_ms()
}

/// Milliseconds since the page started (monotonic).
pub fn now_ms() -> f64 {
    // `self.performance`, in the page and in a worker alike.
    let g: JsValue = js_sys::global().into();
    js_sys::Reflect::get(&g, &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| {
            let f = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
            f.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or(0.0)
}

/// Waits `ms` milliseconds without blocking: lets the browser paint between steps of work.
pub async fn sleep(ms: i32) {
    // `self.setTimeout`, in the page and in a worker alike.
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let g: JsValue = js_sys::global().into();
        if let Ok(f) = js_sys::Reflect::get(&g, &JsValue::from_str("setTimeout"))
            .and_then(|f| f.dyn_into::<js_sys::Function>())
        {
            let _ = f.call2(&g, &resolve, &JsValue::from(ms));
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Reads a file in chunks of `chunk` bytes, yielding to the browser between chunks and
/// reporting the fraction read, so that a model of hundreds of MB loads with a live progress bar.
pub async fn read_file(
    file: &web_sys::File,
    chunk: usize,
    mut progress: impl FnMut(f64),
) -> Result<Vec<u8>> {
    let name = file.name();
    let size = file.size() as usize;
    let mut out = Vec::new();
    out.try_reserve_exact(size).map_err(|_| {
        Error::Input(format!(
            "{name}: {} MB do not fit in this page's memory",
            size >> 20
        ))
    })?;
    let mut start = 0usize;
    while start < size {
        let end = (start + chunk).min(size);
        let blob = file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| js_err(&name, e))?;
        let buf = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| js_err(&name, e))?;
        let arr = Uint8Array::new(&buf);
        let at = out.len();
        out.resize(at + arr.length() as usize, 0);
        arr.copy_to(&mut out[at..]);
        start = end;
        progress(start as f64 / size.max(1) as f64);
    }
    Ok(out)
}

/// Draws RGBA pixels into a canvas at their own size (CSS scales the element).
pub fn paint(canvas: &web_sys::HtmlCanvasElement, img: &Rgba8Image) {
    if canvas.width() != img.width || canvas.height() != img.height {
        canvas.set_width(img.width);
        canvas.set_height(img.height);
    }
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if let Ok(data) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&img.data),
        img.width,
        img.height,
    ) {
        let _ = ctx.put_image_data(&data, 0.0, 0.0);
    }
}

/// A JavaScript exception's message (or the value's text), for a sentence.
pub fn js_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// `navigator.hardwareConcurrency` in a page or a worker (1 when the browser does not say).
pub fn cores() -> usize {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"hardwareConcurrency".into()))
        .ok()
        .and_then(|c| c.as_f64())
        .map_or(1, |c| c.max(1.0) as usize)
}

/// Whether `window[name]` is set to something true (the browser tests' hooks).
pub fn flag(name: &str) -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &name.into()).ok())
        .is_some_and(|v| v.is_truthy())
}

/// The page's query string, without the `?`.
pub fn query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
        .trim_start_matches('?')
        .to_string()
}

/// Replaces the address bar's query string (no reload, no history entry).
pub fn set_query(q: &str) {
    let Some(w) = web_sys::window() else { return };
    let path = w.location().pathname().unwrap_or_default();
    let url = if q.is_empty() {
        path
    } else {
        format!("{path}?{q}")
    };
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Whether this browser exposes WebGPU at all (`navigator.gpu`).
pub fn has_webgpu() -> bool {
    navigator()
        .and_then(|nav| js_sys::Reflect::get(&nav, &JsValue::from_str("gpu")).ok())
        .is_some_and(|g| !g.is_undefined() && !g.is_null())
}

/// `self.navigator`: the window's or a worker's.
fn navigator() -> Option<JsValue> {
    let g: JsValue = js_sys::global().into();
    js_sys::Reflect::get(&g, &JsValue::from_str("navigator"))
        .ok()
        .filter(|n| !n.is_undefined() && !n.is_null())
}

/// The WebGPU adapter as the browser describes it (`adapter.info`: vendor, architecture,
/// description) and whether it is a fallback (software) adapter. wgpu's web backend leaves
/// its own adapter name empty, so the page asks the browser directly.
pub async fn webgpu_adapter_info() -> Option<(String, bool)> {
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &JsValue::from_str(k)).ok();
    let nav = navigator()?;
    let gpu = get(&nav, "gpu").filter(|g| !g.is_undefined() && !g.is_null())?;
    let request = get(&gpu, "requestAdapter")?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = request
        .call0(&gpu)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let adapter = JsFuture::from(promise)
        .await
        .ok()
        .filter(|a| !a.is_null() && !a.is_undefined())?;
    let info = get(&adapter, "info").unwrap_or(JsValue::UNDEFINED);
    let text = |k: &str| {
        get(&info, k)
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let fallback = get(&info, "isFallbackAdapter")
        .and_then(|v| v.as_bool())
        .or_else(|| get(&adapter, "isFallbackAdapter").and_then(|v| v.as_bool()))
        .unwrap_or(false);
    let parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|k| text(k))
        .collect();
    Some((parts.join(" "), fallback))
}

/// Records a section of main-thread work that took 10 ms or more in `window.__wbSections`
/// (`[what, start ms, ms]`), beside the long tasks the page's observer lists: the browser
/// tests print both to tell who runs a long task.
pub fn note_section(what: &str, t0: f64) {
    let ms = now_ms() - t0;
    if ms < 10.0 {
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let list = js_sys::Reflect::get(&w, &"__wbSections".into())
        .ok()
        .and_then(|l| l.dyn_into::<js_sys::Array>().ok())
        .unwrap_or_else(|| {
            let l = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&w, &"__wbSections".into(), &l);
            l
        });
    let entry = js_sys::Array::of3(
        &what.into(),
        &JsValue::from(t0.round()),
        &JsValue::from(ms.round()),
    );
    list.push(&entry);
}

//! The arrays of [`crate::page::infer_protocol`] in and out of an `ArrayBuffer`, one typed-array
//! copy per array (never value by value: the page's crate is built unoptimised in debug builds,
//! and a trace holds tens of millions of numbers).

use js_sys::{Array, ArrayBuffer, Float32Array, Float64Array, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};
use crate::page::infer_protocol::{ArrayLens, Arrays, Offsets};
use crate::ui::web::sleep;

/// A message event's `data` as both ends post it: the JSON text alone, or `[text, ArrayBuffer]`
/// when arrays travel with it. `None` for anything else.
pub fn message_parts(ev: &JsValue) -> Option<(String, Option<ArrayBuffer>)> {
    let data = Reflect::get(ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(s) = data.as_string() {
        Some((s, None))
    } else {
        data.dyn_ref::<Array>().map(|a| {
            (
                a.get(0).as_string().unwrap_or_default(),
                a.get(1).dyn_into::<ArrayBuffer>().ok(),
            )
        })
    }
}

/// A fresh buffer holding `a` in the layout of [`ArrayLens::offsets`].
pub fn arrays_to_buffer(a: &Arrays) -> Result<ArrayBuffer> {
    let Offsets {
        f64: o64,
        f32: o32,
        u8: o8,
        total,
    } = a.lens().offsets()?;
    let total =
        u32::try_from(total).map_err(|_| Error::Input("a message's arrays pass 4 GB".into()))?;
    let buf = ArrayBuffer::new(total);
    for (v, o) in a.f64.iter().zip(o64) {
        if !v.is_empty() {
            Float64Array::new_with_byte_offset_and_length(&buf, o as u32, v.len() as u32)
                .copy_from(v);
        }
    }
    for (v, o) in a.f32.iter().zip(o32) {
        if !v.is_empty() {
            Float32Array::new_with_byte_offset_and_length(&buf, o as u32, v.len() as u32)
                .copy_from(v);
        }
    }
    for (v, o) in a.u8.iter().zip(o8) {
        if !v.is_empty() {
            Uint8Array::new_with_byte_offset_and_length(&buf, o as u32, v.len() as u32)
                .copy_from(v);
        }
    }
    Ok(buf)
}

/// The arrays in `buf`. With `yield_bytes`, yields to the browser each time about that many
/// bytes were copied, so that a large trace reaches the page in tasks of a few milliseconds.
pub async fn arrays_from_buffer(
    lens: &ArrayLens,
    buf: &ArrayBuffer,
    yield_bytes: Option<usize>,
) -> Result<Arrays> {
    let Offsets {
        f64: o64,
        f32: o32,
        u8: o8,
        ..
    } = lens.offsets_for(buf.byte_length() as usize)?;
    let mut since = 0usize;
    let mut out = Arrays::default();
    for (&n, o) in lens.f64.iter().zip(o64) {
        let mut v = vec![0.0f64; n];
        if n > 0 {
            Float64Array::new_with_byte_offset_and_length(buf, o as u32, n as u32).copy_to(&mut v);
        }
        out.f64.push(v);
        since += 8 * n;
    }
    for (&n, o) in lens.f32.iter().zip(o32) {
        if let Some(every) = yield_bytes {
            if since >= every {
                sleep(0).await;
                since = 0;
            }
        }
        let mut v = vec![0.0f32; n];
        if n > 0 {
            Float32Array::new_with_byte_offset_and_length(buf, o as u32, n as u32).copy_to(&mut v);
        }
        out.f32.push(v);
        since += 4 * n;
    }
    for (&n, o) in lens.u8.iter().zip(o8) {
        if let Some(every) = yield_bytes {
            if since >= every {
                sleep(0).await;
                since = 0;
            }
        }
        let mut v = vec![0u8; n];
        if n > 0 {
            Uint8Array::new_with_byte_offset_and_length(buf, o as u32, n as u32).copy_to(&mut v);
        }
        out.u8.push(v);
        since += n;
    }
    Ok(out)
}

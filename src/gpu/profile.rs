//! Per-kernel GPU times from timestamp queries (where the adapter has `TIMESTAMP_QUERY`).
//!
//! When profiling is on, [`super::Recorder::finish`] gives every dispatch its own compute pass
//! with begin/end timestamp writes, resolves the query set and copies it to a staging buffer in
//! the same encoder (still one submit); [`super::Gpu::take_kernel_times`] maps it afterwards.
//! Separate passes cost a little, so these figures are for finding hot kernels, not totals.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};

/// WebGPU's (and wgpu's) largest query set; one dispatch takes two queries.
pub const MAX_QUERIES: u32 = 4096;

/// Timestamps recorded by the last profiled submission, waiting to be read.
pub struct Pending {
    pub staging: wgpu::Buffer,
    pub labels: Vec<String>,
}

/// Time spent in one kernel label over the profiled submissions read so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KernelTime {
    pub label: String,
    pub dispatches: usize,
    pub total_ms: f64,
}

/// Reads a [`Pending`] set of timestamps (after its submission completed) and returns the
/// per-dispatch durations in ms, in recording order.
pub async fn read(ctx: &super::GpuContext, p: &Pending) -> Result<Vec<(String, f64)>> {
    let n = p.labels.len();
    let bytes = (n * 16) as u64;
    let (tx, rx) = futures_channel::oneshot::channel();
    p.staging
        .slice(..bytes)
        .map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    rx.await
        .map_err(|_| Error::Gpu("timestamp read-back cancelled".into()))?
        .map_err(|e| Error::Gpu(format!("timestamp read-back failed: {e}")))?;
    let ticks: Vec<u64> = {
        let view = p
            .staging
            .slice(..bytes)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("timestamp mapping: {e}")))?;
        bytemuck::cast_slice::<u8, u64>(&view).to_vec()
    };
    p.staging.unmap();
    let period = ctx.queue.get_timestamp_period() as f64;
    Ok(p.labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let dt = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period;
            (l.clone(), dt * 1e-6)
        })
        .collect())
}

/// Sums per-dispatch durations by label, largest total first.
pub fn by_label(times: &[(String, f64)]) -> Vec<KernelTime> {
    let mut m: BTreeMap<&str, KernelTime> = BTreeMap::new();
    for (l, ms) in times {
        let e = m.entry(l).or_insert_with(|| KernelTime {
            label: l.clone(),
            ..Default::default()
        });
        e.dispatches += 1;
        e.total_ms += ms;
    }
    let mut v: Vec<KernelTime> = m.into_values().collect();
    v.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    v
}

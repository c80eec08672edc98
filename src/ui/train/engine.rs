//! The worker's engines: the WGSL trainer opened for a run, and the calibration that times one
//! forward and backward on each engine (as the page's inference chooses its engine).

use crate::gpu::train::GpuTrainer;
use crate::gpu::GpuContext;
use crate::train::Trainer;

use super::worker::now_ms;

/// The WGSL trainer for `t`'s state, and the adapter's name.
pub async fn open_gpu(t: &Trainer) -> Result<(GpuTrainer, String), String> {
    let ctx = GpuContext::new()
        .await
        .map_err(|e| format!("WebGPU is not available in this worker ({e})"))?;
    // wgpu's web backend leaves the adapter's name empty.
    let adapter = match ctx.info.name.as_str() {
        "" => "WebGPU".to_string(),
        n => n.to_string(),
    };
    let g = GpuTrainer::for_trainer(ctx, t)
        .map_err(|e| format!("the WGSL trainer could not start ({e})"))?;
    Ok((g, adapter))
}

/// Images timed on each engine by the calibration.
pub const CALIBRATION_IMAGES: usize = 16;

/// How the CPU trainer is named in the engine line.
pub fn cpu_trainer(workers: usize) -> String {
    match workers {
        1 => "CPU trainer (wasm SIMD, one worker)".into(),
        n => format!("CPU trainer (wasm SIMD, {n} workers: each computes part of every batch)"),
    }
}

/// Times `t`'s forward and backward on the CPU and on WebGPU on the same images: the GPU's
/// trainer when it is faster, and the reason shown either way. The CPU's time is one worker's;
/// with `workers` sharing each batch a step takes about that time divided by `workers`.
pub async fn calibrate_engines(
    t: &Trainer,
    images: &[f32],
    labels: &[usize],
    workers: usize,
) -> (Option<GpuTrainer>, String) {
    let (mut gpu, adapter) = match open_gpu(t).await {
        Ok(g) => g,
        Err(why) => return (None, format!("{}: {why}", cpu_trainer(workers))),
    };
    // One forward + backward on each engine on the same few images of the first batch (nothing
    // is updated); a two-image call first compiles the GPU's pipelines, untimed.
    let n = labels.len();
    let per = images.len() / n.max(1);
    let two = 2.min(n);
    if let Err(e) = gpu
        .loss_and_grads_async(&images[..two * per], &labels[..two])
        .await
    {
        return (
            None,
            format!("CPU trainer: the WGSL trainer failed on {adapter} ({e})"),
        );
    }
    let t0 = now_ms();
    let cpu = crate::grad::loss_and_grads(&t.config, &t.params, images, labels, 0.0);
    let cpu_ms = (now_ms() - t0) / workers.max(1) as f64;
    let t0 = now_ms();
    let gpu_ms = match gpu.loss_and_grads_async(images, labels).await {
        Ok(_) => now_ms() - t0,
        Err(_) => f64::INFINITY,
    };
    if cpu.is_err() || gpu_ms < cpu_ms {
        (
            Some(gpu),
            format!("WGSL trainer on {adapter}: calibrated on {n} images, WebGPU {gpu_ms:.0} ms vs CPU {cpu_ms:.0} ms"),
        )
    } else {
        (
            None,
            format!("{}: calibrated on {n} images, CPU {cpu_ms:.0} ms vs WebGPU ({adapter}) {gpu_ms:.0} ms", cpu_trainer(workers)),
        )
    }
}

//! The GPU the GPU tests run on (lavapipe in CI). There is no skipping: without an adapter
//! these helpers panic and the test fails.

use whitebox::gpu::{Gpu, GpuContext};

pub fn ctx() -> GpuContext {
    GpuContext::new_blocking().expect("a GPU adapter (lavapipe in CI)")
}

/// A [`Gpu`] on [`ctx`]; the adapter is printed (shown with `--nocapture`).
pub fn gpu() -> Gpu {
    let ctx = ctx();
    eprintln!(
        "adapter: {} ({:?}), features {:?}",
        ctx.info.name, ctx.info.backend, ctx.features
    );
    Gpu::new(ctx)
}

// LayerNorm's row statistics, shared by layernorm.wgsl and layernorm_backward.wgsl so that the
// backward recomputes exactly the forward's values: the mean, then 1/sqrt(var + eps) from the
// squared deviations (two passes, biased variance, as the CPU engine). The row is x[xi ..] of
// p.dim floats: both shaders bind `x` and have `dim` and `eps` in their Params.

//! include common/reduce.wgsl

// One 64-invocation workgroup per row: (mean, 1/sqrt(var + eps)) in every invocation.
fn row_stats(xi: u32, li: u32) -> vec2<f32> {
    let n = f32(p.dim);
    var s = 0.0;
    for (var c = li; c < p.dim; c += WG) {
        s += x[xi + c];
    }
    let mean = reduce_sum(s, li) / n;
    var q = 0.0;
    for (var c = li; c < p.dim; c += WG) {
        let t = x[xi + c] - mean;
        q += t * t;
    }
    return vec2<f32>(mean, 1.0 / sqrt(reduce_sum(q, li) / n + p.eps));
}

// One invocation per row (the CPU-adapter path: no workgroup memory or barriers).
fn row_stats_serial(xi: u32) -> vec2<f32> {
    let n = f32(p.dim);
    var s = 0.0;
    for (var c = 0u; c < p.dim; c++) {
        s += x[xi + c];
    }
    let mean = s / n;
    var q = 0.0;
    for (var c = 0u; c < p.dim; c++) {
        let t = x[xi + c] - mean;
        q += t * t;
    }
    return vec2<f32>(mean, 1.0 / sqrt(q / n + p.eps));
}

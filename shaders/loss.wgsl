// Softmax cross-entropy with label smoothing (PyTorch's F.cross_entropy(..., label_smoothing)),
// one thread per image: target t = (1 - s) onehot + s / C, loss_b = sum_c t_c (lse - z_c),
// dlogits = (softmax(z) - t) / B. `rows` gets loss_b at [b] and 1.0 at [B + b] when the argmax
// (first on ties) equals the label. Labels arrive as f32 (exact for any class count here).

struct Params {
    b: u32, classes: u32, smoothing: f32, pad0: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(3) var<storage, read_write> rows: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

//! include common/index.wgsl

@compute @workgroup_size(64, 1, 1)
fn cross_entropy(@builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let bi = flat_index(wid, nwg, li);
    if (bi >= p.b) {
        return;
    }
    let nc = p.classes;
    let o = bi * nc;
    let label = u32(labels[bi]);
    var mx = logits[o];
    var arg = 0u;
    for (var c = 1u; c < nc; c++) {
        let v = logits[o + c];
        if (v > mx) {
            mx = v;
            arg = c;
        }
    }
    var s = 0.0;
    for (var c = 0u; c < nc; c++) {
        s += exp(logits[o + c] - mx);
    }
    let lse = mx + log(s);
    let off = p.smoothing / f32(nc);
    let on = 1.0 - p.smoothing + off;
    let bt = f32(p.b);
    var total = 0.0;
    for (var c = 0u; c < nc; c++) {
        let v = logits[o + c];
        let t = select(off, on, c == label);
        total += t * (lse - v);
        dlogits[o + c] = (exp(v - mx) / s - t) / bt;
    }
    rows[bi] = total;
    rows[p.b + bi] = select(0.0, 1.0, arg == label);
}

// Analysis: per (image, head) Gram matrix X_k^T X_k (dh × dh) of head k's projection with every
// token (row) scaled to unit L2 norm, for R^c (CRATE-SPEC.md "Measures"; the dh×dh logdet runs
// on the CPU). w is (B*N, d); head k is columns k*dh .. (k+1)*dh. The Gram is symmetric: only
// tiles on or above the diagonal run, and only the upper triangle is written, packed row by row
// (entry (i, j), i <= j, at i*(2*dh - i + 1)/2 + j - i), so the read-back is dh(dh+1)/2 per head.
// One 16×16 workgroup per (output tile, head, image).

struct Params {
    nt: u32, d: u32, dh: u32, heads: u32,
    tiles: u32, out_off: u32, pad0: u32, batch: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

//! include common/index.wgsl

const T: u32 = 16u;
const WG: u32 = 256u;
var<workgroup> inv: array<f32, 2048>;
// [token][column], tokens of the current chunk, already scaled by their inverse norm.
var<workgroup> xa: array<array<f32, 16>, 16>;
var<workgroup> xb: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let ti = wid.x / p.tiles;
    let tj = wid.x % p.tiles;
    // Below-diagonal tiles mirror the ones above (uniform per workgroup: no barrier skipped
    // by only some invocations).
    if (ti > tj) {
        return;
    }
    let k = wid.y;
    let bi = wid.z;
    let nt = p.nt;
    let dh = p.dh;
    let base = bi * nt * p.d + k * dh;
    for (var t = li; t < nt; t += WG) {
        var s = 0.0;
        let row = base + t * p.d;
        for (var c = 0u; c < dh; c++) {
            let v = w[row + c];
            s = fma(v, v, s);
        }
        // A zero token stays zero (as the CPU measure and torch's F.normalize).
        inv[t] = 1.0 / max(sqrt(s), 1e-12);
    }
    workgroupBarrier();
    let ca = ti * T + lid.x;
    let cb = tj * T + lid.x;
    var acc = 0.0;
    for (var t0 = 0u; t0 < nt; t0 += T) {
        let t = t0 + lid.y;
        var va = 0.0;
        var vb = 0.0;
        if (t < nt) {
            let row = base + t * p.d;
            if (ca < dh) {
                va = w[row + ca] * inv[t];
            }
            if (cb < dh) {
                vb = w[row + cb] * inv[t];
            }
        }
        xa[lid.y][lid.x] = va;
        xb[lid.y][lid.x] = vb;
        workgroupBarrier();
        for (var s = 0u; s < T; s++) {
            acc = fma(xa[s][lid.y], xb[s][lid.x], acc);
        }
        workgroupBarrier();
    }
    let i = ti * T + lid.y;
    let j = tj * T + lid.x;
    if (i < dh && j < dh && i <= j) {
        let tri = dh * (dh + 1u) / 2u;
        let idx = i * (2u * dh - i + 1u) / 2u + j - i;
        g[p.out_off + (bi * p.heads + k) * tri + idx] = acc;
    }
}

// For CPU-emulated adapters (no workgroup memory or barriers), the Grams run on the matmul
// kernel: `normalise_t` writes each head's unit-normalised projection transposed, X̂_k^T
// (B, K, dh, ld) with ld = tiles (N rounded up to 4, zero padded), one invocation per
// (token, head, image); the matmul forms X̂_k^T X̂_k (B, K, dh, dh); `pack` copies its upper
// triangles to the packed layout above, one invocation per entry.
@compute @workgroup_size(64, 1, 1)
fn normalise_t(@builtin(global_invocation_id) gid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let ld = p.tiles;
    let idx = flat_global(gid, nwg);
    if (idx >= ld * p.heads * p.batch) {
        return;
    }
    let t = idx % ld;
    let k = (idx / ld) % p.heads;
    let bi = idx / (ld * p.heads);
    let dh = p.dh;
    let out = (bi * p.heads + k) * dh * ld + t;
    if (t >= p.nt) {
        for (var c = 0u; c < dh; c++) {
            g[out + c * ld] = 0.0;
        }
        return;
    }
    let row = bi * p.nt * p.d + k * dh + t * p.d;
    var s = 0.0;
    for (var c = 0u; c < dh; c++) {
        let v = w[row + c];
        s = fma(v, v, s);
    }
    let inv = 1.0 / max(sqrt(s), 1e-12);
    for (var c = 0u; c < dh; c++) {
        g[out + c * ld] = w[row + c] * inv;
    }
}

// w here is the full (B, K, dh, dh) Gram; the packed upper triangles go to g at out_off.
@compute @workgroup_size(64, 1, 1)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let dh = p.dh;
    let idx = flat_global(gid, nwg);
    if (idx >= dh * dh * p.heads * p.batch) {
        return;
    }
    let j = idx % dh;
    let i = (idx / dh) % dh;
    let bk = idx / (dh * dh);
    if (i <= j) {
        let tri = dh * (dh + 1u) / 2u;
        g[p.out_off + bk * tri + i * (2u * dh - i + 1u) / 2u + j - i] = w[idx];
    }
}

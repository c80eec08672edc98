// What every matmul kernel shares (matmul.wgsl, and matmul_sg.wgsl for adapters with
// subgroups): the specialisation constants, the parameters, the bindings and the fused epilogue.
// See matmul.wgsl for what they mean.

override TRANS_B: bool = true;
override HAS_BIAS: bool = false;
override HAS_EXTRA: bool = false;
override RELU: bool = false;
override VEC4: bool = false;
// The register-blocked kernels (common/matmul_block.wgsl and its subgroup form): whether A's
// rows start on vec4 boundaries (else A is read four scalars at a time, which on the
// CPU-emulated adapters they are for costs the same: they gather vec4 loads lane by lane too).
override A_ROWS4: bool = true;

struct Params {
    m: u32, n: u32, k: u32, batch_inner: u32,
    lda: u32, ldb: u32, ldc: u32, lde: u32,
    a_off: u32, b_off: u32, c_off: u32, e_off: u32,
    a_so: u32, a_si: u32, b_so: u32, b_si: u32,
    c_so: u32, c_si: u32, e_so: u32, e_si: u32,
    alpha: f32, shift: f32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> extra: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// Where batch entry z (workgroup z = outer * batch_inner + inner) of A, B, C and extra starts.
struct Bases {
    a: u32, b: u32, c: u32, e: u32,
}

fn bases(z: u32) -> Bases {
    let outer = z / p.batch_inner;
    let inner = z % p.batch_inner;
    return Bases(
        p.a_off + outer * p.a_so + inner * p.a_si,
        p.b_off + outer * p.b_so + inner * p.b_si,
        p.c_off + outer * p.c_so + inner * p.c_si,
        p.e_off + outer * p.e_so + inner * p.e_si,
    );
}

// Four consecutive values of A from float offset f (see A_ROWS4).
fn load_a4(f: u32) -> vec4<f32> {
    if (A_ROWS4) {
        return a4[f / 4u];
    }
    return vec4<f32>(a[f], a[f + 1u], a[f + 2u], a[f + 3u]);
}

// The fused epilogue for one output; outside the matrix it does nothing.
fn store(c0: u32, e0: u32, row: u32, col: u32, acc: f32) {
    if (row >= p.m || col >= p.n) {
        return;
    }
    var v = p.alpha * acc;
    if (HAS_BIAS) {
        v += bias[col];
    }
    if (HAS_EXTRA) {
        v += extra[e0 + row * p.lde + col];
    }
    v -= p.shift;
    if (RELU) {
        // Keeps a NaN a NaN, as the CPU engine does.
        v = select(v, 0.0, v < 0.0);
    }
    c[c0 + row * p.ldc + col] = v;
}

fn store4(c0: u32, e0: u32, row: u32, col: u32, acc: vec4<f32>) {
    store(c0, e0, row, col, acc.x);
    store(c0, e0, row, col + 1u, acc.y);
    store(c0, e0, row, col + 2u, acc.z);
    store(c0, e0, row, col + 3u, acc.w);
}

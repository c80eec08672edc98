// The rows of k that `tn`'s workgroup wid.z sums (kb..ke) and where its product goes (c0): all
// of k into C, or with split-K (ksplit > 0) rows z·ksplit.. into the z-th partial product after
// C, which the host then adds up (matmul_backward.wgsl's `tn`, `tn_reg`, `tn_sg*`).
var kb = 0u;
var ke = p.k;
var c0 = p.c_off;
if (p.ksplit > 0u) {
    kb = wid.z * p.ksplit;
    ke = min(p.k, kb + p.ksplit);
    c0 += wid.z * p.m * p.n;
}

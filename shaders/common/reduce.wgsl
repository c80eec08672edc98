// Workgroup tree reductions over the WG = 64 invocations of a workgroup, through `red` (the
// llm.c pattern: the reduction is defined once and each kernel calls it). Every invocation must
// call them (they hold barriers) and every invocation gets the result. The pairing (li with
// li + s, s halving) fixes the summation order, so results are the same on every adapter.

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;

fn reduce_sum(v: f32, li: u32) -> f32 {
    red[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red[li] += red[li + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_max(v: f32, li: u32) -> f32 {
    red[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            red[li] = max(red[li], red[li + s]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

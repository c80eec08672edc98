// The parameters and bindings of the MSSA backward's register kernels (mssa_backward_reg.wgsl,
// and mssa_backward_sg.wgsl for adapters with subgroups of 8): see mssa_backward_reg.wgsl.

struct Params {
    nt: u32, d: u32, dh: u32, heads: u32,
    scale: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> dout4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

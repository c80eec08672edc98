//! The recording of a training step's forward (every activation kept), loss and backward,
//! op by op as [`crate::grad::backward`] does it on the CPU.

use std::collections::BTreeMap;

use super::acts::Acts;
use crate::error::Result;
use crate::gpu::backward::layernorm::{layer_norm_backward, LnBackParams, LnGradSlots};
use crate::gpu::backward::matmul::{linear_backward, tn_split, ColSum};
use crate::gpu::backward::{embed as bembed, head as bhead, ista as bista, loss, mssa as bmssa};
use crate::gpu::layernorm::{layer_norm, LnParams};
use crate::gpu::matmul::{linear, Matmul, MatmulParams};
use crate::gpu::{embed, mssa, Recorder};
use crate::model::params::layer_key;
use crate::model::CrateConfig;

/// Parameter buffers and gradient offsets by key.
pub(super) struct Lookup<'a> {
    pub params: &'a [wgpu::Buffer],
    pub index: &'a BTreeMap<String, usize>,
    pub offs: &'a [usize],
}

impl Lookup<'_> {
    fn p(&self, key: &str) -> &wgpu::Buffer {
        &self.params[self.index[key]]
    }
    fn o(&self, key: &str) -> usize {
        self.offs[self.index[key]]
    }
    fn ln(&self, w: &str, b: &str) -> LnGradSlots {
        LnGradSlots {
            gamma: self.o(w),
            beta: self.o(b),
        }
    }
}

/// The training forward (every activation kept), the loss and, with `backward`, the backward.
pub(super) fn record_fb(
    rec: &mut Recorder,
    cfg: &CrateConfig,
    x: &Acts,
    k: &Lookup,
    grads: &wgpu::Buffer,
    smoothing: f32,
    backward: bool,
) -> Result<()> {
    let (d, heads, pl, p) = (cfg.dim, cfg.heads, cfg.patch_len(), cfg.patch);
    let [h, w] = cfg.image;
    let b = x.b;
    let n = cfg.tokens() - 1;
    let nt = n + 1;
    let rows = b * nt;
    let out1 = cfg.pre_head_dim.unwrap_or(cfg.classes);
    let lk = |l: usize, r: &str| layer_key(l, r);

    // ---- forward ----
    embed::patchify(rec, &x.img, &x.patches, b, cfg.channels, h, w, p);
    layer_norm(
        rec,
        &x.patches,
        k.p("to_patch_embedding.1.weight"),
        k.p("to_patch_embedding.1.bias"),
        &x.lnp,
        LnParams::rows(b * n, pl),
    );
    linear(
        rec,
        &x.lnp,
        k.p("to_patch_embedding.2.weight"),
        Some(k.p("to_patch_embedding.2.bias")),
        &x.e,
        b * n,
        d,
        pl,
    );
    layer_norm(
        rec,
        &x.e,
        k.p("to_patch_embedding.3.weight"),
        k.p("to_patch_embedding.3.bias"),
        &x.e2,
        LnParams::rows(b * n, d),
    );
    embed::assemble(
        rec,
        &x.e2,
        k.p("cls_token"),
        k.p("pos_embedding"),
        &x.z[0],
        b,
        n,
        d,
    );
    let ln = LnParams::rows(rows, d);
    for l in 0..cfg.depth {
        let (z, zh, zout) = (&x.z[l], &x.zh[l], &x.z[l + 1]);
        let dict = k.p(&lk(l, "1.fn.weight"));
        layer_norm(
            rec,
            z,
            k.p(&lk(l, "0.norm.weight")),
            k.p(&lk(l, "0.norm.bias")),
            &x.a[l],
            ln,
        );
        linear(
            rec,
            &x.a[l],
            k.p(&lk(l, "0.fn.qkv.weight")),
            None,
            &x.w[l],
            rows,
            d,
            d,
        );
        mssa::attention(rec, &x.w[l], &x.o[l], Some(&x.probs[l]), b, nt, d, heads)?;
        Matmul {
            a: &x.o[l],
            b: k.p(&lk(l, "0.fn.to_out.0.weight")),
            c: zh,
            bias: Some(k.p(&lk(l, "0.fn.to_out.0.bias"))),
            extra: Some(z),
            trans_b: true,
            relu: false,
            batch: 1,
            params: MatmulParams::dense(rows, d, d, true),
        }
        .record(rec);
        layer_norm(
            rec,
            zh,
            k.p(&lk(l, "1.norm.weight")),
            k.p(&lk(l, "1.norm.bias")),
            &x.y[l],
            ln,
        );
        Matmul {
            a: &x.y[l],
            b: dict,
            c: &x.r[l],
            bias: None,
            extra: Some(&x.y[l]),
            trans_b: true,
            relu: false,
            batch: 1,
            params: MatmulParams {
                alpha: -1.0,
                ..MatmulParams::dense(rows, d, d, true)
            },
        }
        .record(rec);
        Matmul {
            a: &x.r[l],
            b: dict,
            c: zout,
            bias: None,
            extra: Some(&x.y[l]),
            trans_b: false,
            relu: true,
            batch: 1,
            params: MatmulParams {
                alpha: cfg.eta,
                shift: cfg.eta * cfg.lambda,
                ..MatmulParams::dense(rows, d, d, false)
            },
        }
        .record(rec);
    }
    let zl = &x.z[cfg.depth];
    layer_norm(
        rec,
        zl,
        k.p("mlp_head.0.weight"),
        k.p("mlp_head.0.bias"),
        &x.hcls,
        LnParams {
            in_stride: (nt * d) as u32,
            ..LnParams::rows(b, d)
        },
    );
    let extra = cfg.pre_head_dim.is_some();
    let h1 = if extra { &x.h1 } else { &x.logits };
    linear(
        rec,
        &x.hcls,
        k.p("mlp_head.1.weight"),
        Some(k.p("mlp_head.1.bias")),
        h1,
        b,
        out1,
        d,
    );
    if extra {
        linear(
            rec,
            &x.h1,
            k.p("head.weight"),
            Some(k.p("head.bias")),
            &x.logits,
            b,
            cfg.classes,
            out1,
        );
    }

    // ---- loss ----
    loss::cross_entropy(
        rec,
        &x.logits,
        &x.labels,
        &x.dlogits,
        &x.rows,
        b,
        cfg.classes,
        smoothing,
    );
    if !backward {
        return Ok(());
    }

    // ---- backward: head ----
    let dh1 = if extra {
        linear_backward(
            rec,
            &x.h1,
            k.p("head.weight"),
            &x.dlogits,
            Some(&x.dh1),
            grads,
            k.o("head.weight"),
            Some(k.o("head.bias")),
            b,
            cfg.classes,
            out1,
            Some(&x.part),
        );
        &x.dh1
    } else {
        &x.dlogits
    };
    linear_backward(
        rec,
        &x.hcls,
        k.p("mlp_head.1.weight"),
        dh1,
        Some(&x.dyh),
        grads,
        k.o("mlp_head.1.weight"),
        Some(k.o("mlp_head.1.bias")),
        b,
        out1,
        d,
        Some(&x.part),
    );
    layer_norm_backward(
        rec,
        zl,
        k.p("mlp_head.0.weight"),
        &x.dyh,
        None,
        Some(&x.dcls),
        &x.xhat,
        grads,
        k.ln("mlp_head.0.weight", "mlp_head.0.bias"),
        LnBackParams {
            x_stride: (nt * d) as u32,
            ..LnBackParams::rows(b, d)
        },
        Some(&x.part),
    );
    bhead::scatter_cls(rec, &x.dcls, &x.dz, b, nt, d);

    // ---- backward: layers ----
    let total = rows * d;
    for l in (0..cfg.depth).rev() {
        let dict = k.p(&lk(l, "1.fn.weight"));
        let o_dict = k.o(&lk(l, "1.fn.weight"));
        // ISTA: g = dZout ⊙ mask; dr = eta g D^T; dD = eta r^T g - dr^T y; dy = g + dr - dr D.
        bista::relu_mask(rec, &x.dz, &x.z[l + 1], &x.gm, total);
        Matmul {
            a: &x.gm,
            b: dict,
            c: &x.dr,
            bias: None,
            extra: None,
            trans_b: true,
            relu: false,
            batch: 1,
            params: MatmulParams {
                alpha: cfg.eta,
                ..MatmulParams::dense(rows, d, d, true)
            },
        }
        .record(rec);
        tn_split(
            rec, &x.r[l], &x.gm, grads, o_dict, d, d, rows, cfg.eta, false, &x.part,
        );
        tn_split(
            rec, &x.dr, &x.y[l], grads, o_dict, d, d, rows, -1.0, true, &x.part,
        );
        bista::add(rec, &x.gm, &x.dr, &x.gdr, total);
        Matmul {
            a: &x.dr,
            b: dict,
            c: &x.dy,
            bias: None,
            extra: Some(&x.gdr),
            trans_b: false,
            relu: false,
            batch: 1,
            params: MatmulParams {
                alpha: -1.0,
                ..MatmulParams::dense(rows, d, d, false)
            },
        }
        .record(rec);
        layer_norm_backward(
            rec,
            &x.zh[l],
            k.p(&lk(l, "1.norm.weight")),
            &x.dy,
            None,
            Some(&x.dzh),
            &x.xhat,
            grads,
            k.ln(&lk(l, "1.norm.weight"), &lk(l, "1.norm.bias")),
            LnBackParams::rows(rows, d),
            Some(&x.part),
        );
        // MSSA: do = dZhalf W_o; dw (three paths); dU = dw^T a; da = dw U; dZ = LN^T(da) + dZhalf.
        linear_backward(
            rec,
            &x.o[l],
            k.p(&lk(l, "0.fn.to_out.0.weight")),
            &x.dzh,
            Some(&x.dout),
            grads,
            k.o(&lk(l, "0.fn.to_out.0.weight")),
            Some(k.o(&lk(l, "0.fn.to_out.0.bias"))),
            rows,
            d,
            d,
            Some(&x.part),
        );
        bmssa::attention_backward(
            rec,
            &x.w[l],
            &x.probs[l],
            &x.dout,
            &x.ds,
            &x.dw,
            b,
            nt,
            d,
            heads,
        )?;
        linear_backward(
            rec,
            &x.a[l],
            k.p(&lk(l, "0.fn.qkv.weight")),
            &x.dw,
            Some(&x.da),
            grads,
            k.o(&lk(l, "0.fn.qkv.weight")),
            None,
            rows,
            d,
            d,
            Some(&x.part),
        );
        layer_norm_backward(
            rec,
            &x.z[l],
            k.p(&lk(l, "0.norm.weight")),
            &x.da,
            Some(&x.dzh),
            Some(&x.dz),
            &x.xhat,
            grads,
            k.ln(&lk(l, "0.norm.weight"), &lk(l, "0.norm.bias")),
            LnBackParams::rows(rows, d),
            Some(&x.part),
        );
    }

    // ---- backward: embedding ----
    for (key, cols) in [("cls_token", d), ("pos_embedding", nt * d)] {
        ColSum {
            a: &x.dz,
            a_off: 0,
            ld: nt * d,
            b: None,
            out: grads,
            out_off: k.o(key),
            rows: b,
            cols,
            alpha: 1.0,
            accum: false,
            scratch: Some(&x.part),
        }
        .record(rec);
    }
    bembed::drop_cls(rec, &x.dz, &x.de2, b, n, d);
    layer_norm_backward(
        rec,
        &x.e,
        k.p("to_patch_embedding.3.weight"),
        &x.de2,
        None,
        Some(&x.de),
        &x.xhat,
        grads,
        k.ln("to_patch_embedding.3.weight", "to_patch_embedding.3.bias"),
        LnBackParams::rows(b * n, d),
        Some(&x.part),
    );
    linear_backward(
        rec,
        &x.lnp,
        k.p("to_patch_embedding.2.weight"),
        &x.de,
        Some(&x.dlnp),
        grads,
        k.o("to_patch_embedding.2.weight"),
        Some(k.o("to_patch_embedding.2.bias")),
        b * n,
        d,
        pl,
        Some(&x.part),
    );
    layer_norm_backward(
        rec,
        &x.patches,
        k.p("to_patch_embedding.1.weight"),
        &x.dlnp,
        None,
        None,
        &x.xhat,
        grads,
        k.ln("to_patch_embedding.1.weight", "to_patch_embedding.1.bias"),
        LnBackParams::rows(b * n, pl),
        Some(&x.part),
    );
    Ok(())
}

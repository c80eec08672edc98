//! The recording of a training step's forward (every activation kept), loss and backward,
//! op by op as [`crate::grad::backward`] does it on the CPU.

use super::acts::Acts;
use crate::error::Result;
use crate::gpu::backward::layernorm::{LnBackParams, LnBackward, LnGradSlots};
use crate::gpu::backward::matmul::{ColSum, LinearBackward, Tn};
use crate::gpu::backward::{embed as bembed, head as bhead, ista as bista, loss, mssa as bmssa};
use crate::gpu::head::{head, HeadBuffers};
use crate::gpu::layer::{record_embed, record_layer, EmbedBuffers, LayerBuffers};
use crate::gpu::matmul::{Matmul, MatmulParams};
use crate::gpu::Recorder;
use crate::model::{CrateConfig, Dims, Weights};

/// The parameters on the device and where each one's gradient goes in the flat buffer.
pub(super) struct Lookup<'a> {
    pub params: &'a Weights<wgpu::Buffer>,
    pub offs: &'a Weights<usize>,
}

fn ln_slots(gamma: &usize, beta: &usize) -> LnGradSlots {
    LnGradSlots {
        gamma: *gamma,
        beta: *beta,
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
    let (d, pl) = (cfg.dim, cfg.patch_len());
    let [h, w] = cfg.image;
    let b = x.b;
    let n = cfg.tokens() - 1;
    let nt = n + 1;
    let rows = b * nt;
    let out1 = cfg.pre_head_dim.unwrap_or(cfg.classes);
    let dims = Dims::new(cfg, b, nt);
    let (wt, offs) = (k.params, k.offs);

    // ---- forward: the sequence GpuEngine records, each layer into its own buffers ----
    let eb = EmbedBuffers {
        img: &x.img,
        patches: &x.patches,
        lnp: &x.lnp,
        e: &x.e,
        e2: &x.e2,
        z: &x.z[0],
    };
    let image = [cfg.channels, h, w, cfg.patch];
    record_embed(rec, &wt.embed, &wt.embed.pos, &eb, image, dims);
    for (l, lw) in wt.layers.iter().enumerate() {
        let lb = LayerBuffers {
            z: &x.z[l],
            a: &x.a[l],
            proj: &x.w[l],
            o: &x.o[l],
            zhalf: &x.zh[l],
            y: &x.y[l],
            r: &x.r[l],
            // The dictionary changes every step: the two-matmul form, whose `r` the backward reads.
            ista_op: None,
            zout: &x.z[l + 1],
            probs: Some(&x.probs[l]),
            cls: None,
        };
        record_layer(rec, lw, &lb, dims, [cfg.eta, cfg.lambda])?;
    }
    let zl = &x.z[cfg.depth];
    let extra = cfg.pre_head_dim.is_some();
    let hb = HeadBuffers {
        cls: &x.hcls,
        h1: if extra { &x.h1 } else { &x.logits },
        logits: &x.logits,
        out1,
        classes: cfg.classes,
    };
    head(rec, &wt.head, zl, hb, dims);

    // ---- loss ----
    loss::cross_entropy(
        rec,
        &x.logits,
        &x.labels,
        [&x.dlogits, &x.rows],
        [b, cfg.classes],
        smoothing,
    );
    if !backward {
        return Ok(());
    }

    // ---- backward: head ----
    let (hw, ho) = (&wt.head, &offs.head);
    let dh1 = if let (Some((w2, _)), Some((o_w2, o_b2))) = (&hw.w2, &ho.w2) {
        LinearBackward {
            x: &x.h1,
            w: w2,
            dy: &x.dlogits,
            dx: Some(&x.dh1),
            grads,
            w_off: *o_w2,
            b_off: Some(*o_b2),
            shape: [b, cfg.classes, out1],
            scratch: Some(&x.part),
        }
        .record(rec);
        &x.dh1
    } else {
        &x.dlogits
    };
    LinearBackward {
        x: &x.hcls,
        w: &hw.w1,
        dy: dh1,
        dx: Some(&x.dyh),
        grads,
        w_off: ho.w1,
        b_off: Some(ho.b1),
        shape: [b, out1, d],
        scratch: Some(&x.part),
    }
    .record(rec);
    LnBackward {
        x: zl,
        gamma: &hw.ln_w,
        dy: &x.dyh,
        resid: None,
        dx: Some(&x.dcls),
        xhat: &x.xhat,
        grads,
        slots: ln_slots(&ho.ln_w, &ho.ln_b),
        params: LnBackParams {
            x_stride: (nt * d) as u32,
            ..LnBackParams::rows(b, d)
        },
        scratch: Some(&x.part),
    }
    .record(rec);
    bhead::scatter_cls(rec, &x.dcls, &x.dz, b, nt, d);

    // ---- backward: layers ----
    let total = rows * d;
    for l in (0..cfg.depth).rev() {
        let (lw, lo) = (&wt.layers[l], &offs.layers[l]);
        let dict = &lw.ista.dict;
        let o_dict = lo.ista.dict;
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
        Tn {
            a: &x.r[l],
            b: &x.gm,
            c: grads,
            c_off: o_dict,
            m: d,
            n: d,
            k: rows,
            alpha: cfg.eta,
            accum: false,
        }
        .record_split(rec, &x.part);
        Tn {
            a: &x.dr,
            b: &x.y[l],
            c: grads,
            c_off: o_dict,
            m: d,
            n: d,
            k: rows,
            alpha: -1.0,
            accum: true,
        }
        .record_split(rec, &x.part);
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
        LnBackward {
            x: &x.zh[l],
            gamma: &lw.ista.norm_w,
            dy: &x.dy,
            resid: None,
            dx: Some(&x.dzh),
            xhat: &x.xhat,
            grads,
            slots: ln_slots(&lo.ista.norm_w, &lo.ista.norm_b),
            params: LnBackParams::rows(rows, d),
            scratch: Some(&x.part),
        }
        .record(rec);
        // MSSA: do = dZhalf W_o; dw (three paths); dU = dw^T a; da = dw U; dZ = LN^T(da) + dZhalf.
        LinearBackward {
            x: &x.o[l],
            w: &lw.mssa.out_w,
            dy: &x.dzh,
            dx: Some(&x.dout),
            grads,
            w_off: lo.mssa.out_w,
            b_off: Some(lo.mssa.out_b),
            shape: [rows, d, d],
            scratch: Some(&x.part),
        }
        .record(rec);
        bmssa::attention_backward(rec, &x.w[l], &x.probs[l], &x.dout, &x.ds, &x.dw, dims)?;
        LinearBackward {
            x: &x.a[l],
            w: &lw.mssa.qkv,
            dy: &x.dw,
            dx: Some(&x.da),
            grads,
            w_off: lo.mssa.qkv,
            b_off: None,
            shape: [rows, d, d],
            scratch: Some(&x.part),
        }
        .record(rec);
        LnBackward {
            x: &x.z[l],
            gamma: &lw.mssa.norm_w,
            dy: &x.da,
            resid: Some(&x.dzh),
            dx: Some(&x.dz),
            xhat: &x.xhat,
            grads,
            slots: ln_slots(&lo.mssa.norm_w, &lo.mssa.norm_b),
            params: LnBackParams::rows(rows, d),
            scratch: Some(&x.part),
        }
        .record(rec);
    }

    // ---- backward: embedding ----
    let (ew, eo) = (&wt.embed, &offs.embed);
    for (off, cols) in [(eo.cls, d), (eo.pos, nt * d)] {
        ColSum {
            a: &x.dz,
            a_off: 0,
            ld: nt * d,
            b: None,
            out: grads,
            out_off: off,
            rows: b,
            cols,
            alpha: 1.0,
            accum: false,
            scratch: Some(&x.part),
        }
        .record(rec);
    }
    bembed::drop_cls(rec, &x.dz, &x.de2, b, n, d);
    LnBackward {
        x: &x.e,
        gamma: &ew.ln2_w,
        dy: &x.de2,
        resid: None,
        dx: Some(&x.de),
        xhat: &x.xhat,
        grads,
        slots: ln_slots(&eo.ln2_w, &eo.ln2_b),
        params: LnBackParams::rows(b * n, d),
        scratch: Some(&x.part),
    }
    .record(rec);
    LinearBackward {
        x: &x.lnp,
        w: &ew.w,
        dy: &x.de,
        dx: Some(&x.dlnp),
        grads,
        w_off: eo.w,
        b_off: Some(eo.b),
        shape: [b * n, d, pl],
        scratch: Some(&x.part),
    }
    .record(rec);
    LnBackward {
        x: &x.patches,
        gamma: &ew.ln1_w,
        dy: &x.dlnp,
        resid: None,
        dx: None,
        xhat: &x.xhat,
        grads,
        slots: ln_slots(&eo.ln1_w, &eo.ln1_b),
        params: LnBackParams::rows(b * n, pl),
        scratch: Some(&x.part),
    }
    .record(rec);
    Ok(())
}

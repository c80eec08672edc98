//! The buffers of a training step for one batch size: every activation the backward needs
//! (saved by the training forward) and the backward's scratch, all from the pool.

use crate::error::{Error, Result};
use crate::gpu::backward::matmul::MAX_SPLITS;
use crate::gpu::Gpu;
use crate::model::CrateConfig;

/// Activations (saved for the backward) and backward scratch for one batch size.
pub(super) struct Acts {
    pub(super) b: usize,
    pub(super) img: wgpu::Buffer,
    pub(super) labels: wgpu::Buffer,
    pub(super) patches: wgpu::Buffer,
    pub(super) lnp: wgpu::Buffer,
    pub(super) e: wgpu::Buffer,
    pub(super) e2: wgpu::Buffer,
    /// Z^1 .. Z^{L+1}.
    pub(super) z: Vec<wgpu::Buffer>,
    /// Per layer: LN0 output a, projection w, probabilities, head outputs o, Z^{l+1/2},
    /// LN1 output y, r = y - y D^T.
    pub(super) a: Vec<wgpu::Buffer>,
    pub(super) w: Vec<wgpu::Buffer>,
    pub(super) probs: Vec<wgpu::Buffer>,
    pub(super) o: Vec<wgpu::Buffer>,
    pub(super) zh: Vec<wgpu::Buffer>,
    pub(super) y: Vec<wgpu::Buffer>,
    pub(super) r: Vec<wgpu::Buffer>,
    pub(super) hcls: wgpu::Buffer,
    pub(super) h1: wgpu::Buffer,
    pub(super) logits: wgpu::Buffer,
    pub(super) dlogits: wgpu::Buffer,
    pub(super) rows: wgpu::Buffer,
    pub(super) dh1: wgpu::Buffer,
    pub(super) dyh: wgpu::Buffer,
    pub(super) dcls: wgpu::Buffer,
    pub(super) xhat: wgpu::Buffer,
    pub(super) dz: wgpu::Buffer,
    pub(super) dzh: wgpu::Buffer,
    pub(super) gm: wgpu::Buffer,
    pub(super) dr: wgpu::Buffer,
    pub(super) gdr: wgpu::Buffer,
    pub(super) dy: wgpu::Buffer,
    pub(super) dout: wgpu::Buffer,
    pub(super) dw: wgpu::Buffer,
    pub(super) da: wgpu::Buffer,
    pub(super) ds: wgpu::Buffer,
    pub(super) de2: wgpu::Buffer,
    pub(super) de: wgpu::Buffer,
    pub(super) dlnp: wgpu::Buffer,
    /// Partial sums of the split weight gradients and two-pass column sums.
    pub(super) part: wgpu::Buffer,
}

impl Acts {
    /// Allocates everything for batch `b` from the pool.
    pub(super) fn new(gpu: &mut Gpu, cfg: &CrateConfig, b: usize) -> Result<Self> {
        let (d, heads, pl, depth) = (cfg.dim, cfg.heads, cfg.patch_len(), cfg.depth);
        let n = cfg.tokens() - 1;
        let nt = n + 1;
        let rows = b * nt;
        let out1 = cfg.pre_head_dim.unwrap_or(cfg.classes);
        let [h, w] = cfg.image;
        let biggest = [b * n * pl, rows * d, b * heads * nt * nt]
            .into_iter()
            .max()
            .unwrap_or(0) as u64
            * 4;
        if biggest > gpu.ctx.max_binding() {
            return Err(Error::Gpu(format!(
                "training batch {b} needs a {biggest}-byte buffer, more than the adapter's {} \
             per binding; use a smaller batch",
                gpu.ctx.max_binding()
            )));
        }
        let g = gpu;
        let many = |g: &mut Gpu, len: usize, k: usize| (0..k).map(|_| g.alloc(len)).collect();
        let acts = Acts {
            b,
            img: g.alloc(b * cfg.channels * h * w),
            labels: g.alloc(b),
            patches: g.alloc(b * n * pl),
            lnp: g.alloc(b * n * pl),
            e: g.alloc(b * n * d),
            e2: g.alloc(b * n * d),
            z: many(g, rows * d, depth + 1),
            a: many(g, rows * d, depth),
            w: many(g, rows * d, depth),
            probs: many(g, b * heads * nt * nt, depth),
            o: many(g, rows * d, depth),
            zh: many(g, rows * d, depth),
            y: many(g, rows * d, depth),
            r: many(g, rows * d, depth),
            hcls: g.alloc(b * d),
            h1: g.alloc(b * out1),
            logits: g.alloc(b * cfg.classes),
            dlogits: g.alloc(b * cfg.classes),
            rows: g.alloc(2 * b),
            dh1: g.alloc(b * out1),
            dyh: g.alloc(b * d),
            dcls: g.alloc(b * d),
            xhat: g.alloc((rows * d).max(b * n * pl)),
            dz: g.alloc(rows * d),
            dzh: g.alloc(rows * d),
            gm: g.alloc(rows * d),
            dr: g.alloc(rows * d),
            gdr: g.alloc(rows * d),
            dy: g.alloc(rows * d),
            dout: g.alloc(rows * d),
            dw: g.alloc(rows * d),
            da: g.alloc(rows * d),
            ds: g.alloc(b * heads * nt * nt),
            de2: g.alloc(b * n * d),
            de: g.alloc(b * n * d),
            dlnp: g.alloc(b * n * pl),
            part: g.alloc(
                MAX_SPLITS
                    * [d * d, d * pl, d * out1, out1 * cfg.classes, d.max(pl)]
                        .into_iter()
                        .max()
                        .unwrap_or(d),
            ),
        };
        Ok(acts)
    }

    pub(super) fn all(&self) -> Vec<wgpu::Buffer> {
        let mut v = vec![
            self.img.clone(),
            self.labels.clone(),
            self.patches.clone(),
            self.lnp.clone(),
            self.e.clone(),
            self.e2.clone(),
            self.hcls.clone(),
            self.h1.clone(),
            self.logits.clone(),
            self.dlogits.clone(),
            self.rows.clone(),
            self.dh1.clone(),
            self.dyh.clone(),
            self.dcls.clone(),
            self.xhat.clone(),
            self.dz.clone(),
            self.dzh.clone(),
            self.gm.clone(),
            self.dr.clone(),
            self.gdr.clone(),
            self.dy.clone(),
            self.dout.clone(),
            self.dw.clone(),
            self.da.clone(),
            self.ds.clone(),
            self.de2.clone(),
            self.de.clone(),
            self.dlnp.clone(),
            self.part.clone(),
        ];
        for l in [
            &self.z,
            &self.a,
            &self.w,
            &self.probs,
            &self.o,
            &self.zh,
            &self.y,
            &self.r,
        ] {
            v.extend(l.iter().cloned());
        }
        v
    }
}

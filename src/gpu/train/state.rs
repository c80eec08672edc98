//! Moving a run's state in and out of the device: parameters, optimiser moments and step count,
//! and the optimiser applied to given gradients (for the update-kernel tests).

use std::collections::BTreeMap;

use super::{pset, record_optimiser, GpuTrainer, OptimBuffers, ParamBuffers, Scal};
use crate::error::{Error, Result};
use crate::grad::ParamSet;
use crate::train::Optimizer;

impl GpuTrainer {
    /// Replaces the parameters on the device.
    pub fn set_params(&mut self, params: &ParamSet<f32>) -> Result<()> {
        params.check(&self.cfg)?;
        for (k, b) in self.keys.iter().zip(&self.params) {
            self.gpu
                .ctx
                .queue
                .write_buffer(b, 0, bytemuck::cast_slice(params.get(k)));
        }
        Ok(())
    }

    /// Replaces the optimiser state (moments, step count) on the device and zeroes the
    /// running totals.
    pub fn set_optimizer(&mut self, o: &Optimizer) -> Result<()> {
        if o.config.kind != self.step_cfg.optim.kind {
            return Err(Error::Config(
                "the optimiser state is for another optimiser".into(),
            ));
        }
        let q = &self.gpu.ctx.queue;
        for (i, k) in self.keys.iter().enumerate() {
            let m =
                o.m.tensors
                    .get(k)
                    .ok_or_else(|| Error::MissingKey(format!("m/{k}")))?;
            q.write_buffer(&self.m[i], 0, bytemuck::cast_slice(&m.data));
            if let Some(vb) = self.v.get(i) {
                let v =
                    o.v.tensors
                        .get(k)
                        .ok_or_else(|| Error::MissingKey(format!("v/{k}")))?;
                q.write_buffer(vb, 0, bytemuck::cast_slice(&v.data));
            }
        }
        let c = o.config;
        let t = o.steps as i32;
        let mut s = [0f32; 16];
        s[Scal::STEPS] = o.steps as f32;
        s[Scal::BETA1_T] = c.beta1.powi(t);
        s[Scal::BETA2_T] = c.beta2.powi(t);
        s[Scal::FINITE] = 1.0;
        s[3] = 1.0;
        q.write_buffer(&self.scal, 0, bytemuck::cast_slice(&s));
        Ok(())
    }

    /// The optimiser alone on given gradients (clipping and the finite check included), one
    /// submit: for checking the update kernels against [`Optimizer::step`].
    pub async fn apply_grads_async(&mut self, grads: &ParamSet<f32>, lr: f32) -> Result<()> {
        grads.check(&self.cfg)?;
        let mut flat = vec![0f32; self.total];
        for ((k, &o), s) in self.keys.iter().zip(&self.offs).zip(&self.shapes) {
            flat[o..o + s.iter().product::<usize>()].copy_from_slice(grads.get(k));
        }
        self.gpu
            .ctx
            .queue
            .write_buffer(&self.grads, 0, bytemuck::cast_slice(&flat));
        // No loss rows here (b = 0); a read-only binding may alias the gradients.
        let rows = self.grads.clone();
        let ubuf = {
            let Self {
                gpu,
                step_cfg,
                keys,
                shapes,
                offs,
                params,
                m,
                v,
                grads,
                total,
                scal,
                spare,
                ..
            } = self;
            let mut rec = gpu.recorder();
            let ob = OptimBuffers {
                rows: &rows,
                grads,
                scal,
                spare: [&spare[0], &spare[1], &spare[2]],
            };
            let pb = ParamBuffers {
                keys,
                shapes,
                offs,
                params,
                m,
                v,
            };
            record_optimiser(&mut rec, &ob, step_cfg, &pb, *total, 0, lr);
            rec.finish()
        };
        self.stats_async().await?;
        self.gpu.pool.release(ubuf);
        Ok(())
    }

    /// Parameters and optimiser state, read back: (params, optimiser with moments and steps).
    pub async fn download_async(&mut self) -> Result<(ParamSet<f32>, Optimizer)> {
        let sizes: Vec<usize> = self.shapes.iter().map(|s| s.iter().product()).collect();
        let mut srcs: Vec<(wgpu::Buffer, usize)> = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            srcs.push((self.params[i].clone(), n));
            srcs.push((self.m[i].clone(), n));
            if let Some(v) = self.v.get(i) {
                srcs.push((v.clone(), n));
            }
        }
        srcs.push((self.scal.clone(), 16));
        let staged: Vec<(wgpu::Buffer, usize)> =
            srcs.iter().map(|(_, n)| (self.staging(*n), *n)).collect();
        let ubuf = {
            let mut rec = self.gpu.recorder();
            for ((src, n), (dst, _)) in srcs.iter().zip(&staged) {
                rec.copy(src, dst, (*n * 4) as u64);
            }
            rec.finish()
        };
        let mut out = self.read(staged, ubuf).await?.into_iter();
        let adamw = !self.v.is_empty();
        let (mut p, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for _ in &sizes {
            p.push(out.next().unwrap_or_default());
            m.push(out.next().unwrap_or_default());
            if adamw {
                v.push(out.next().unwrap_or_default());
            }
        }
        let scal = out.next().unwrap_or_default();
        let steps = scal.get(Scal::STEPS).copied().unwrap_or(0.0) as u64;
        let params = pset(&self.keys, &self.shapes, p);
        let mset = pset(&self.keys, &self.shapes, m);
        let vset = if adamw {
            pset(&self.keys, &self.shapes, v)
        } else {
            ParamSet {
                tensors: BTreeMap::new(),
            }
        };
        let o = Optimizer::restore(self.step_cfg.optim, &params, mset, vset, steps)?;
        Ok((params, o))
    }
}

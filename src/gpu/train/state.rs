//! Moving a run's state in and out of the device: parameters, optimiser moments and step count,
//! and the optimiser applied to given gradients (for the update-kernel tests).

use std::collections::BTreeMap;

use super::{record_optimiser, GpuTrainer, OptimBuffers, ParamBuffers, Scal};
use crate::error::{Error, Result};
use crate::grad::ParamSet;
use crate::model::Weights;
use crate::train::Optimizer;

impl GpuTrainer {
    /// Replaces the parameters on the device.
    pub fn set_params(&mut self, params: &ParamSet<f32>) -> Result<()> {
        params.check(&self.cfg)?;
        for (data, b) in params.weights(&self.cfg).iter().zip(self.params.iter()) {
            self.gpu
                .ctx
                .queue
                .write_buffer(b, 0, bytemuck::cast_slice(data));
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
        let moment = |set: &ParamSet<f32>, prefix: &str, buf: &wgpu::Buffer, key: &str| {
            let t = set
                .tensors
                .get(key)
                .ok_or_else(|| Error::MissingKey(format!("{prefix}/{key}")))?;
            q.write_buffer(buf, 0, bytemuck::cast_slice(&t.data));
            Ok::<(), Error>(())
        };
        let mut vs = self.v.as_ref().map(|v| v.iter());
        for (slot, mb) in self.spec.iter().zip(self.m.iter()) {
            moment(&o.m, "m", mb, &slot.key)?;
            if let Some(vb) = vs.as_mut().and_then(|it| it.next()) {
                moment(&o.v, "v", vb, &slot.key)?;
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
        for (g, &o) in grads.weights(&self.cfg).iter().zip(self.offs.iter()) {
            flat[o..o + g.len()].copy_from_slice(g);
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
                spec,
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
                spec,
                offs,
                params,
                m,
                v: v.as_ref(),
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
        let mut srcs: Vec<(wgpu::Buffer, usize)> = Vec::new();
        let mut vs = self.v.as_ref().map(|v| v.iter());
        for ((slot, p), m) in self.spec.iter().zip(self.params.iter()).zip(self.m.iter()) {
            let n = slot.numel();
            srcs.push((p.clone(), n));
            srcs.push((m.clone(), n));
            if let Some(v) = vs.as_mut().and_then(|it| it.next()) {
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
        let adamw = self.v.is_some();
        let (mut p, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for _ in self.spec.iter() {
            p.push(out.next().unwrap_or_default());
            m.push(out.next().unwrap_or_default());
            if adamw {
                v.push(out.next().unwrap_or_default());
            }
        }
        let scal = out.next().unwrap_or_default();
        let steps = scal.get(Scal::STEPS).copied().unwrap_or(0.0) as u64;
        let cfg = &self.cfg;
        let set = |vals: Vec<Vec<f32>>| {
            let w = Weights::from_vec(cfg.depth, cfg.pre_head_dim.is_some(), vals)
                .expect("one tensor per parameter");
            ParamSet::from_weights(cfg, w)
        };
        let params = set(p);
        let mset = set(m);
        let vset = if adamw {
            set(v)
        } else {
            ParamSet {
                tensors: BTreeMap::new(),
            }
        };
        let o = Optimizer::restore(self.step_cfg.optim, &params, mset, vset, steps)?;
        Ok((params, o))
    }
}

//! CPU engine properties the golden fixtures do not cover: batching, the segmentation demo's
//! extra head, and input checks.

use crate::common;

use common::*;
use whitebox::cpu::CpuEngine;
use whitebox::model::init::init_params;
use whitebox::{CrateConfig, Engine, ForwardOptions, Model, Tensor};

fn small() -> CrateConfig {
    CrateConfig::preset("crate-fmnist").unwrap()
}

#[test]
fn a_batch_equals_its_images_run_alone() {
    let cfg = small();
    let model = Model::new(cfg.clone(), golden_params(&cfg, 9)).unwrap();
    let mut e = CpuEngine::new(model);
    let x = golden_input(4, &[3, 1, 28, 28]);
    let all = e
        .forward(
            &x,
            ForwardOptions {
                trace: true,
                attention: true,
                ..Default::default()
            },
        )
        .unwrap();
    for b in 0..3 {
        let one = Tensor {
            shape: vec![1, 1, 28, 28],
            data: x.data[b * 784..(b + 1) * 784].to_vec(),
        };
        let out = e
            .forward(
                &one,
                ForwardOptions {
                    trace: true,
                    attention: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_close(
            "logits",
            &out.logits.data,
            &all.logits.data[b * 10..(b + 1) * 10],
            1e-6,
        );
        let (lt1, lta) = (
            &out.trace.as_ref().unwrap().layers[5],
            &all.trace.as_ref().unwrap().layers[5],
        );
        let per = lt1.zout.numel();
        assert_close(
            "zout",
            &lt1.zout.data,
            &lta.zout.data[b * per..(b + 1) * per],
            1e-6,
        );
    }
    // Without a trace the logits are the same and no trace is returned.
    let plain = e.forward(&x, ForwardOptions::default()).unwrap();
    assert!(plain.trace.is_none());
    assert_eq!(plain.logits, all.logits);
}

#[test]
fn segmentation_demo_head_applies_the_extra_linear() {
    let mut cfg = small();
    cfg.pre_head_dim = Some(16);
    cfg.classes = 7;
    cfg.class_names = None;
    let params = init_params(&cfg, 1).unwrap();
    let model = Model::new(cfg.clone(), params.clone()).unwrap();
    let x = golden_input(2, &[1, 1, 28, 28]);
    let logits = CpuEngine::new(model)
        .forward(&x, ForwardOptions::default())
        .unwrap()
        .logits;
    assert_eq!(logits.shape, vec![1, 7]);

    // The same model with `head` folded away: mlp_head.1 alone, then `head` applied by hand.
    let mut cfg2 = cfg.clone();
    cfg2.pre_head_dim = None;
    cfg2.classes = 16;
    let mut p2 = params.clone();
    p2.tensors.remove("head.weight");
    p2.tensors.remove("head.bias");
    let hidden = CpuEngine::new(Model::new(cfg2, p2).unwrap())
        .forward(&x, ForwardOptions::default())
        .unwrap()
        .logits;
    let (hw, hb) = (
        params.get("head.weight").unwrap(),
        params.get("head.bias").unwrap(),
    );
    let want: Vec<f32> = (0..7)
        .map(|c| {
            hb.data[c]
                + (0..16)
                    .map(|j| hw.data[c * 16 + j] * hidden.data[j])
                    .sum::<f32>()
        })
        .collect();
    assert_close("demo head", &logits.data, &want, 1e-5);
}

#[test]
fn bad_inputs_are_refused_with_reasons() {
    let cfg = small();
    let mut e = CpuEngine::new(Model::new(cfg.clone(), init_params(&cfg, 0).unwrap()).unwrap());
    let mut err = |shape: &[usize]| e_err(&mut e, shape);
    assert!(err(&[1, 3, 28, 28]).contains("3 channels"));
    assert!(err(&[1, 1, 30, 28]).contains("multiple of the patch"));
    assert!(err(&[1, 28, 28]).contains("(B, C, H, W)"));
    assert!(err(&[0, 1, 28, 28]).contains("batch 0"));
    // 1024x1024 at patch 4 is 65537 tokens: the attention maps alone would need 64 GiB.
    assert!(err(&[1, 1, 1024, 1024]).contains("MiB limit"));
}

fn e_err(e: &mut CpuEngine, shape: &[usize]) -> String {
    let x = Tensor::zeros(shape);
    e.forward(&x, ForwardOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn other_input_sizes_interpolate_position_embeddings() {
    let cfg = small();
    let mut e = CpuEngine::new(Model::new(cfg.clone(), golden_params(&cfg, 1)).unwrap());
    let x = golden_input(3, &[1, 1, 40, 24]);
    let out = e
        .forward(
            &x,
            ForwardOptions {
                trace: true,
                attention: true,
                ..Default::default()
            },
        )
        .unwrap();
    let lt = &out.trace.unwrap().layers[0];
    assert_eq!(lt.z.shape, vec![1, 10 * 6 + 1, 128]);
    assert_eq!(lt.attn.as_ref().unwrap().shape, vec![1, 4, 61, 61]);
    assert!(out.logits.data.iter().all(|v| v.is_finite()));
}

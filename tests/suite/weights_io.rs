//! Weight-file I/O against real `torch.save` checkpoints and safetensors files written by the
//! Python packages (tests/fixtures/pth/, made by tools/make_pth_fixtures.py).

use std::collections::BTreeMap;

use whitebox::model::io::{
    load_model, model_to_safetensors, read_pth, read_safetensors, write_tensors,
};
use whitebox::{Error, Tensor};

fn fixture(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/pth/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn twin(name: &str) -> BTreeMap<String, Tensor> {
    read_safetensors(&fixture(name), name).unwrap().tensors
}

#[test]
fn bare_state_dict_equals_safetensors_twin() {
    let got = read_pth(&fixture("tiny_bare.pth"), "tiny_bare.pth").unwrap();
    assert_eq!(got.len(), 8 + 2 * 8 + 4);
    assert_eq!(got, twin("tiny.safetensors"));
}

#[test]
fn training_checkpoint_equals_safetensors_twin() {
    // {'epoch', 'arch', 'state_dict': {'module.' + k: v}, 'best_acc1', 'optimizer', 'scheduler'}
    let got = read_pth(&fixture("tiny_train.pth.tar"), "tiny_train.pth.tar").unwrap();
    assert_eq!(got, twin("tiny.safetensors"));
}

#[test]
fn loads_tiny_crate_model_with_notes() {
    // dim 8 is no preset's width: the head count must be given.
    let e = load_model(&fixture("tiny_train.pth.tar"), "tiny_train.pth.tar", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tiny_train.pth.tar") && e.contains("--heads"),
        "{e}"
    );
    let l = load_model(
        &fixture("tiny_train.pth.tar"),
        "tiny_train.pth.tar",
        Some(2),
    )
    .unwrap();
    assert_eq!(l.format, "pytorch");
    let c = &l.model.config;
    assert_eq!(
        (c.dim, c.depth, c.heads, c.patch, c.channels, c.image, c.classes),
        (8, 2, 2, 2, 1, [4, 4], 3)
    );

    let l = load_model(&fixture("tiny_bare.pth"), "tiny_bare.pth", Some(2)).unwrap();
    assert!(l.notes.iter().any(|n| n.contains("eta")), "{:?}", l.notes);
    assert!(
        l.notes.iter().any(|n| n.contains("mean/std")),
        "{:?}",
        l.notes
    );

    // Export and reload: same model, no assumptions left.
    let bytes = model_to_safetensors(&l.model).unwrap();
    let back = load_model(&bytes, "tiny.safetensors", None).unwrap();
    assert_eq!(back.format, "safetensors");
    assert_eq!(back.model, l.model);
    assert!(back.notes.is_empty(), "{:?}", back.notes);

    // The python-written twin loads to the same parameters.
    let st = load_model(&fixture("tiny.safetensors"), "tiny.safetensors", Some(2)).unwrap();
    assert_eq!(st.model, l.model);
}

#[test]
fn half_and_bfloat16_checkpoints_match_their_twins() {
    let h = read_pth(&fixture("tiny_f16.pth"), "tiny_f16.pth").unwrap();
    assert_eq!(h, twin("tiny_f16.safetensors"));
    let b = read_pth(&fixture("tiny_bf16.pth"), "tiny_bf16.pth").unwrap();
    assert_eq!(b, twin("tiny_bf16.safetensors"));
    // And they are close to the f32 originals.
    let f = twin("tiny.safetensors");
    for (k, t) in &h {
        for (a, b) in t.data.iter().zip(&f[k].data) {
            assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{k}: {a} vs {b}");
        }
    }
}

#[test]
fn strided_offset_and_shared_storage_views() {
    let got = read_pth(&fixture("views.pth"), "views.pth").unwrap();
    let want = twin("views_expected.safetensors");
    assert_eq!(got, want);
    assert_eq!(got["transposed"].shape, vec![6, 4]);
    assert_eq!(got["sliced"].data, vec![8.0, 9.0, 10.0, 14.0, 15.0, 16.0]);
    assert_eq!(got["offset"].data, vec![5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
}

#[test]
fn malicious_pickle_is_refused_without_running() {
    let e = read_pth(&fixture("malicious.pth"), "malicious.pth").unwrap_err();
    assert!(matches!(e, Error::Unsafe(_)), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("malicious.pth") && m.contains("`posix.system`") && m.contains("refused"),
        "{m}"
    );
    let m = load_model(&fixture("malicious.pth"), "malicious.pth", Some(2))
        .unwrap_err()
        .to_string();
    assert!(m.contains("`posix.system`"), "{m}");
}

#[test]
fn truncated_checkpoints_give_clear_errors() {
    let bytes = fixture("tiny_train.pth.tar");
    for cut in [10, 100, bytes.len() / 2, bytes.len() - 30, bytes.len() - 1] {
        let e = read_pth(&bytes[..cut], "cut.pth").unwrap_err().to_string();
        assert!(e.starts_with("cut.pth: "), "cut {cut}: {e}");
        assert!(
            e.contains("truncated") || e.contains("corrupt"),
            "cut {cut}: {e}"
        );
    }
    // Never a panic, whatever the cut.
    for cut in (0..bytes.len()).step_by(97) {
        assert!(load_model(&bytes[..cut], "cut.pth", Some(2)).is_err());
    }
}

#[test]
fn corrupted_checkpoints_never_panic() {
    // Flip bytes across the archive (pickle, storages, directory); errors or (for storage
    // bytes) different values are fine, panics are not.
    let bytes = fixture("tiny_bare.pth");
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = load_model(&b, "flip.pth", Some(2));
    }
}

#[test]
fn safetensors_truncation_and_round_trip() {
    let bytes = fixture("tiny.safetensors");
    let e = read_safetensors(&bytes[..bytes.len() - 4], "tiny.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tiny.safetensors") && e.contains("truncated"),
        "{e}"
    );
    let t = twin("tiny.safetensors");
    let again = write_tensors(&t, &BTreeMap::new()).unwrap();
    assert_eq!(read_safetensors(&again, "x").unwrap().tensors, t);
}

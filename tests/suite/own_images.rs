//! Own images (`whitebox::data::own`): class folders → a labelled, split dataset fitted to the
//! model; bad files skipped and listed; .zip entries under budgets; `train --dataset folder`.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use whitebox::data::own::{
    read_path, zip_files, zip_files_with, InputFit, OwnImages, OwnLimits, DEFAULT_HOLDOUT,
};
use whitebox::data::ImageDataset;
use whitebox::CrateConfig;

use crate::common::cli::{fails, whitebox};

/// A `w`×`h` PNG of one colour.
fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Three classes of ten images (each class its own colour, sizes varying), inside a wrapping
/// folder `set/`, plus a corrupt PNG, a text file outside any class folder, and macOS clutter.
fn files() -> Vec<(String, Vec<u8>)> {
    let mut f = Vec::new();
    for (class, colour) in [
        ("cat", [200, 30, 30]),
        ("dog", [30, 200, 30]),
        ("fox", [30, 30, 200]),
    ] {
        for i in 0..10 {
            f.push((
                format!("set/{class}/{i:02}.png"),
                png(20 + i, 40 - i, colour),
            ));
        }
    }
    let mut bad = png(30, 30, [1, 2, 3]);
    bad.truncate(bad.len() / 2);
    f.push(("set/dog/broken.png".into(), bad));
    f.push(("set/notes.txt".into(), b"not an image".to_vec()));
    f.push(("set/.DS_Store".into(), vec![0; 10]));
    f.push(("__MACOSX/set/cat/._00.png".into(), vec![0; 10]));
    f
}

fn fit() -> InputFit {
    InputFit::for_model(&CrateConfig::preset("crate-fmnist").unwrap()).unwrap()
}

#[test]
fn class_folders_become_a_split_dataset() {
    let s = OwnImages::from_files(files(), &fit(), DEFAULT_HOLDOUT, 3).unwrap();
    assert_eq!(s.classes, ["cat", "dog", "fox"]);
    // round(10 · 0.15) = 2 held out per class.
    assert_eq!(s.train.class_counts(), [8, 8, 8]);
    assert_eq!(s.test.class_counts(), [2, 2, 2]);
    assert_eq!(s.train.class_names(), s.classes);
    let mut why: Vec<(String, String)> = s
        .skipped
        .iter()
        .map(|k| (k.path.clone(), k.reason.clone()))
        .collect();
    why.sort();
    let paths: Vec<&str> = why.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "__MACOSX/set/cat/._00.png",
            "set/.DS_Store",
            "set/dog/broken.png",
            "set/notes.txt"
        ]
    );
    assert!(why[2].1.contains("corrupt or truncated PNG"), "{why:?}");
    assert!(why[3].1.contains("not inside a class folder"), "{why:?}");
    assert!(why[1].1.contains("hidden"), "{why:?}");
    // Every item is fitted to 28×28 grey: a uniform colour stays uniform, at its ITU-R 601 luma.
    for ds in [&s.train, &s.test] {
        for i in 0..ds.len() {
            let img = ds.image(i);
            assert_eq!((img.height, img.width, img.channels), (28, 28, 1));
            let want = match ds.label(i) {
                0 => (200 * 19595 + 30 * 38470 + 30 * 7471 + 0x8000) >> 16,
                1 => (30 * 19595 + 200 * 38470 + 30 * 7471 + 0x8000) >> 16,
                _ => (30 * 19595 + 30 * 38470 + 200 * 7471 + 0x8000) >> 16,
            } as u8;
            assert!(img.pixels.iter().all(|&p| p == want), "{}", ds.path(i));
            assert!(ds.path(i).contains(&s.classes[ds.label(i)]));
        }
    }
    // An RGB model gets RGB.
    let rgb = InputFit::for_model(&CrateConfig::preset("crate-c32").unwrap()).unwrap();
    let s3 = OwnImages::from_files(files(), &rgb, DEFAULT_HOLDOUT, 3).unwrap();
    let img = s3.train.image(0);
    assert_eq!((img.height, img.width, img.channels), (32, 32, 3));
    assert_eq!(&img.pixels[..3], &[200, 30, 30]);
}

#[test]
fn the_split_is_seeded_and_ignores_file_order() {
    let a = OwnImages::from_files(files(), &fit(), DEFAULT_HOLDOUT, 11).unwrap();
    let mut rev = files();
    rev.reverse();
    let b = OwnImages::from_files(rev, &fit(), DEFAULT_HOLDOUT, 11).unwrap();
    assert_eq!(a.train, b.train);
    assert_eq!(a.test, b.test);
    let held = |s: &whitebox::data::OwnSplit| -> Vec<String> {
        (0..s.test.len())
            .map(|i| s.test.path(i).to_string())
            .collect()
    };
    let c = OwnImages::from_files(files(), &fit(), DEFAULT_HOLDOUT, 12).unwrap();
    assert_ne!(held(&a), held(&c), "another seed holds out other files");
    // Train and test never share a file.
    for p in held(&a) {
        assert!((0..a.train.len()).all(|i| a.train.path(i) != p));
    }
}

#[test]
fn unusable_sets_are_clear_errors() {
    let one: Vec<_> = files()
        .into_iter()
        .filter(|(p, _)| p.starts_with("set/cat/"))
        .collect();
    let e = OwnImages::from_files(one, &fit(), DEFAULT_HOLDOUT, 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("at least two classes") && e.contains("`cat`"),
        "{e}"
    );
    let junk = vec![
        ("a/x.png".to_string(), b"nope".to_vec()),
        ("b/y.jpg".to_string(), vec![0xff, 0xd8, 0xff]),
    ];
    let e = OwnImages::from_files(junk, &fit(), DEFAULT_HOLDOUT, 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no usable image among 2 file(s)") && e.contains("a/x.png"),
        "{e}"
    );
    let e = OwnImages::from_files(Vec::new(), &fit(), DEFAULT_HOLDOUT, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no usable image among 0"), "{e}");
    for h in [1.0, -0.1, f32::NAN] {
        let e = OwnImages::from_files(files(), &fit(), h, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("held-out share"), "{e}");
    }
    let subspace = CrateConfig {
        channels: 32,
        ..CrateConfig::preset("crate-fmnist").unwrap()
    };
    assert!(InputFit::for_model(&subspace).is_err());
    // The fitted pixels are budgeted.
    let lim = OwnLimits {
        pixels: 28 * 28 * 5,
        ..OwnLimits::default()
    };
    let e = OwnImages::from_files_with(files(), &fit(), DEFAULT_HOLDOUT, 0, &lim)
        .unwrap_err()
        .to_string();
    assert!(e.contains("6 fitted images") && e.contains("limit"), "{e}");
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opt = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.add_directory("set/", opt).unwrap();
    for (p, b) in files {
        w.start_file(p.as_str(), opt).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_gives_the_same_dataset() {
    let z = zip_of(&files());
    let from_zip = OwnImages::from_zip(&z, &fit(), DEFAULT_HOLDOUT, 5).unwrap();
    let direct = OwnImages::from_files(files(), &fit(), DEFAULT_HOLDOUT, 5).unwrap();
    assert_eq!(from_zip, direct);
    let e = zip_files(b"PK\x03\x04 not really").unwrap_err().to_string();
    assert!(e.contains("not a readable .zip"), "{e}");
}

/// Offsets of the 4-byte little-endian `sig` in `b`.
fn find_all(b: &[u8], sig: u32) -> Vec<usize> {
    let s = sig.to_le_bytes();
    (0..b.len().saturating_sub(3))
        .filter(|&i| b[i..i + 4] == s)
        .collect()
}

#[test]
fn zip_bombs_are_bounded() {
    let lim = OwnLimits {
        files: 8,
        file_bytes: 1 << 20,
        total_bytes: 3 << 20,
        pixels: 1 << 30,
    };
    // An entry that inflates past the per-file limit is skipped, the others kept.
    let big = vec![
        ("a/zeros.png".to_string(), vec![0u8; 2 << 20]),
        ("a/ok.png".to_string(), png(4, 4, [9, 9, 9])),
    ];
    let out = zip_files_with(&zip_of(&big), &lim).unwrap();
    assert_eq!(out.files.len(), 1);
    assert_eq!(out.skipped[0].path, "a/zeros.png");
    assert!(
        out.skipped[0].reason.contains("1 MiB limit per file"),
        "{out:?}"
    );
    // The same entry lying about its size (headers say 100 bytes): still never more than the
    // limit is inflated.
    let mut z = zip_of(&big[..1]);
    for (sig, off) in [(0x0403_4b50u32, 22), (0x0201_4b50, 24)] {
        for at in find_all(&z, sig) {
            z[at + off..at + off + 4].copy_from_slice(&100u32.to_le_bytes());
        }
    }
    let out = zip_files_with(&z, &lim).unwrap();
    assert!(out.files.is_empty());
    assert_eq!(out.skipped.len(), 1);
    assert!(
        out.skipped[0].reason.contains("1 MiB limit per file"),
        "{out:?}"
    );
    // Many entries, each under the limit, that inflate past the total: refused.
    let many: Vec<_> = (0..4)
        .map(|i| (format!("a/{i}.png"), vec![0u8; 900 << 10]))
        .collect();
    let e = zip_files_with(&zip_of(&many), &lim)
        .unwrap_err()
        .to_string();
    assert!(e.contains("the .zip") && e.contains("3 MiB"), "{e}");
    // Too many entries: refused before inflating anything.
    let lots: Vec<_> = (0..9).map(|i| (format!("a/{i}.png"), vec![1])).collect();
    let e = zip_files_with(&zip_of(&lots), &lim)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than the 8"), "{e}");
}

fn write_tree(root: &Path, files: &[(String, Vec<u8>)]) {
    for (p, b) in files {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wb-own-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_directory_reads_like_the_files() {
    let d = tmp("dir");
    write_tree(&d, &files());
    let read = read_path(&d).unwrap();
    assert!(read.skipped.is_empty());
    let a = OwnImages::from_files(read.files, &fit(), DEFAULT_HOLDOUT, 1).unwrap();
    let b = OwnImages::from_files(files(), &fit(), DEFAULT_HOLDOUT, 1).unwrap();
    assert_eq!((a.train, a.test), (b.train, b.test));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn cli_trains_on_a_folder_and_a_zip_and_lists_skipped_files() {
    let d = tmp("cli");
    let data = d.join("set");
    let only: Vec<_> = files()
        .into_iter()
        .filter(|(p, _)| p.starts_with("set/"))
        .collect();
    write_tree(&d, &only);
    let zip = d.join("set.zip");
    std::fs::write(&zip, zip_of(&files())).unwrap();
    for (src, out) in [(&data, d.join("run-dir")), (&zip, d.join("run-zip"))] {
        let o = whitebox(&[
            "train",
            "--dataset",
            "folder",
            "--data",
            src.to_str().unwrap(),
            "--epochs",
            "1",
            "--batch",
            "8",
            "--stats-images",
            "4",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(
            err.contains("skipped dog/broken.png: corrupt or truncated PNG")
                || err.contains("skipped set/dog/broken.png: corrupt or truncated PNG"),
            "{err}"
        );
        assert!(
            err.contains("3 classes (cat, dog, fox), 24 training and 6 held-out"),
            "{err}"
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        let epoch: serde_json::Value = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .find(|v: &serde_json::Value| v["kind"] == "epoch")
            .unwrap_or_else(|| panic!("no epoch line in {stdout}"));
        assert_eq!(epoch["test_images"], 6, "{epoch}");
        let meta = whitebox(&["info", out.join("model.safetensors").to_str().unwrap()]);
        let info = String::from_utf8_lossy(&meta.stdout);
        assert!(info.contains("classes 3 (named)"), "{info}");
    }
    // Resuming needs the seed that split the data.
    let run = d.join("run-dir");
    let (data_s, run_s) = (data.to_str().unwrap(), run.to_str().unwrap());
    let e = fails(&[
        "train",
        "--dataset",
        "folder",
        "--data",
        data_s,
        "--resume",
        run_s,
        "--seed",
        "3",
    ]);
    assert!(
        e.contains("--seed 0") && e.contains("--dataset folder"),
        "{e}"
    );
    let o = whitebox(&[
        "train",
        "--dataset",
        "folder",
        "--data",
        data_s,
        "--resume",
        run_s,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("done: 3 steps"), "{err}");
    let e = fails(&["train", "--dataset", "folder", "--out", "x"]);
    assert!(e.contains("--dataset folder needs --data"), "{e}");
    let e = fails(&[
        "train",
        "--dataset",
        "folder",
        "--data",
        d.join("set.zip").join("nope").to_str().unwrap(),
        "--out",
        "x",
    ]);
    assert!(e.contains("nope"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

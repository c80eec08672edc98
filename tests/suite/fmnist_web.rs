//! The Fashion-MNIST subset bundled under `web/datasets/fashion-mnist/`: it is the first 10,000
//! training and 2,000 test images of the installed package, the tool rewrites it byte for byte,
//! and damaged downloads are named as such.

use std::path::{Path, PathBuf};

use whitebox::data::fmnist_web::{WebIndex, INDEX_FILE, WEB_TEST, WEB_TRAIN};
use whitebox::data::{FashionMnist, Split};

use crate::common::cli::ok;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/datasets/fashion-mnist")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(web_dir().join(name)).unwrap()
}

fn index() -> WebIndex {
    WebIndex::from_json(&read(INDEX_FILE)).unwrap()
}

fn bundled(split: Split) -> FashionMnist {
    let ix = index();
    let s = ix.split(split).unwrap();
    let (images, labels) = (read(&s.images_file.name), read(&s.labels_file.name));
    ix.load_split(split, &images, &labels).unwrap()
}

#[test]
fn the_subset_is_the_first_images_of_the_package() {
    for (split, n) in [(Split::Train, WEB_TRAIN), (Split::Test, WEB_TEST)] {
        let full = FashionMnist::load(None, split)
            .expect("Fashion-MNIST must be installed (apt-get install dataset-fashion-mnist)");
        let sub = bundled(split);
        assert_eq!(sub.len(), n);
        assert_eq!(index().split(split).unwrap().images, n);
        assert_eq!(sub, full.first(n));
        // The folder also reads as a Fashion-MNIST directory (train --data web/datasets/...).
        assert_eq!(FashionMnist::load_dir(&web_dir(), split).unwrap(), sub);
    }
    let ix = index();
    assert!(ix.licence.contains("Zalando") && ix.licence.contains("MIT"));
    assert_eq!(ix.classes.len(), 10);
    // Every class is there, in both splits.
    for split in [Split::Train, Split::Test] {
        assert!(bundled(split).class_counts().iter().all(|&c| c > 100));
    }
}

#[test]
fn the_tool_rewrites_the_committed_files() {
    let out = std::env::temp_dir().join(format!("wb-fmnist-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let printed = ok(&["dataset", "fmnist-web", "--out", out.to_str().unwrap()]);
    assert!(printed.contains("index.json"), "{printed}");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        INDEX_FILE,
        "README.md",
    ] {
        assert!(
            std::fs::read(out.join(name)).unwrap() == read(name),
            "{name} differs from the committed copy: rerun `whitebox dataset fmnist-web`"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn damaged_downloads_give_clear_errors() {
    let ix = index();
    let name = "t10k-images-idx3-ubyte.gz";
    let images = read(name);
    let labels = read("t10k-labels-idx1-ubyte.gz");
    // Truncated: the index check names it, and the parser does too.
    let cut = &images[..images.len() / 2];
    let e = ix.check(name, cut).unwrap_err().to_string();
    assert!(e.contains(name) && e.contains("truncated"), "{e}");
    let e = ix
        .load_split(Split::Test, cut, &labels)
        .unwrap_err()
        .to_string();
    assert!(e.contains(name) && e.contains("truncated"), "{e}");
    let e = FashionMnist::from_gz_bytes(Split::Test, cut, &labels)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(name) && e.contains("corrupt or truncated gzip"),
        "{e}"
    );
    // A flipped byte in the compressed data: same length, other checksum; the gzip CRC (or the
    // deflate stream) refuses it.
    let mut bad = images.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let e = ix.check(name, &bad).unwrap_err().to_string();
    assert!(e.contains("SHA-256"), "{e}");
    let e = FashionMnist::from_gz_bytes(Split::Test, &bad, &labels)
        .unwrap_err()
        .to_string();
    assert!(e.contains(name) && e.contains("corrupt"), "{e}");
    // Images and labels swapped.
    let e = FashionMnist::from_gz_bytes(Split::Test, &labels, &images)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wrong magic") && e.contains("labels file"),
        "{e}"
    );
    // A label count that does not match.
    let train_labels = read("train-labels-idx1-ubyte.gz");
    let e = FashionMnist::from_gz_bytes(Split::Test, &images, &train_labels)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2000 images") && e.contains("10000 labels"),
        "{e}"
    );
    let e = WebIndex::from_json(b"{\"dataset\": 1}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("index.json"), "{e}");
}

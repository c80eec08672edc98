//! Turning bytes into model inputs: images, datasets.
//!
//! - [`image`]: decoding and preprocessing single images;
//! - [`fmnist`]: the Fashion-MNIST reader (IDX, gzip or raw, from bytes or a directory);
//! - [`batch`]: 8-bit images and the [`ImageDataset`] trait → normalised (B, C, H, W) batches;
//! - [`augment`]: random crop with zero padding and horizontal flip;
//! - [`shuffle`]: the seeded, resumable epoch order;
//! - [`synthetic`]: the "subspaces" and "shapes" datasets with known ground truth.

pub mod augment;
pub mod batch;
pub mod fmnist;
pub mod image;
pub mod shuffle;
pub mod synthetic;

pub use augment::Augment;
pub use batch::{make_batch, AugmentPlan, Batch, ImageDataset, ImageU8};
pub use fmnist::{FashionMnist, Split};
pub use shuffle::{Shuffler, ShufflerState};

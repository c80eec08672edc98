//! Turning bytes into model inputs: images, datasets.
//!
//! - [`fmnist_web`]: the Fashion-MNIST subset bundled with the page (build, index, checks);
//! - [`image`]: decoding and preprocessing single images;
//! - [`fmnist`]: the Fashion-MNIST reader (IDX, gzip or raw, from bytes or a directory);
//! - [`image_u8`]: [`ImageU8`], the 8-bit image datasets hand out;
//! - [`batch`]: the [`ImageDataset`] trait → normalised (B, C, H, W) batches;
//! - [`augment`]: random crop with zero padding and horizontal flip;
//! - [`shuffle`]: the seeded, resumable epoch order;
//! - [`own`]: the user's own images, one sub-folder per class (a folder or a .zip);
//! - [`synthetic`]: the "subspaces" and "shapes" datasets with known ground truth.

pub mod augment;
pub mod batch;
pub mod fmnist;
pub mod fmnist_web;
pub mod image;
pub mod image_u8;
pub mod own;
pub mod shuffle;
pub mod synthetic;

pub use augment::{Augment, Hide};
pub use batch::{make_batch, AugmentPlan, Batch, ImageDataset};
pub use fmnist::{FashionMnist, Split};
pub use image_u8::ImageU8;
pub use own::{InputFit, OwnImages, OwnSplit, Skipped};
pub use shuffle::{Shuffler, ShufflerState};

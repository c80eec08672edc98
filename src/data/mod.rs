//! Turning bytes into model inputs: images, datasets.

pub mod image;

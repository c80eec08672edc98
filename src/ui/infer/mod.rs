//! Inference off the main thread: the worker that owns the models and engines, the page's
//! connection to it, the engines themselves ([`local::LocalRuntime`], also the page's fallback)
//! and the typed-array copies between them. The views use [`super::runtime::Runtime`].

pub mod client;
pub mod local;
pub mod wire;
pub mod worker;

use crate::error::{Error, Result};

/// [`crate::analysis::pca_rgb`] with its preconditions checked (at least two patches).
pub fn pca_colors(tokens: &[f32], nt: usize, d: usize) -> Result<Vec<[f32; 3]>> {
    if nt < 2 || d == 0 || tokens.len() != nt * d {
        return Err(Error::Input(
            "PCA needs the tokens of at least two patches".into(),
        ));
    }
    Ok(crate::analysis::pca_rgb(tokens, nt, d))
}

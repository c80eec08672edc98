//! Inference off the main thread: the worker that owns the models and engines, the page's
//! connection to it, the engines themselves ([`local::LocalRuntime`], also the page's fallback)
//! and the typed-array copies between them. The views use [`super::runtime::Runtime`].

pub mod client;
pub mod local;
pub mod wire;
pub mod worker;

use std::cell::RefCell;

use crate::error::{Error, Result};

/// At most this many timings wait for the worker's next reply (the main-thread fallback never
/// sends them).
const MAX_MARKS: usize = 64;

thread_local! {
    static MARKS: RefCell<Vec<(String, f64)>> = const { RefCell::new(Vec::new()) };
}

/// Notes when a step of the start-up happened ([`crate::ui::web::epoch_ms`]); the worker's
/// next reply carries the notes to the page.
pub fn mark(what: impl Into<String>) {
    let at = crate::ui::web::epoch_ms();
    MARKS.with_borrow_mut(|m| {
        if m.len() < MAX_MARKS {
            m.push((what.into(), at));
        }
    });
}

/// The timings noted since the last call.
pub fn take_marks() -> Vec<(String, f64)> {
    MARKS.with_borrow_mut(std::mem::take)
}

/// [`crate::analysis::pca_rgb`] with its preconditions checked (at least two patches).
pub fn pca_colors(tokens: &[f32], nt: usize, d: usize) -> Result<Vec<[f32; 3]>> {
    if nt < 2 || d == 0 || tokens.len() != nt * d {
        return Err(Error::Input(
            "PCA needs the tokens of at least two patches".into(),
        ));
    }
    Ok(crate::analysis::pca_rgb(tokens, nt, d))
}

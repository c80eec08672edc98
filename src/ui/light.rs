//! The note the views show when the image on show was analysed without token states or full
//! attention (a large input: `analysis::plan`).

use leptos::prelude::*;

use super::state::AppState;
use crate::analysis::plan::light_reason;

/// Why the token maps, the rollout and the subspaces are unavailable for the image on show;
/// None when they are there. Reactive: reads the current image and the model.
pub fn light_note(app: AppState) -> Option<String> {
    let tokens = app.current.with(|c| {
        c.as_ref()
            .filter(|c| c.report.is_light())
            .map(|c| c.report.tokens)
    })?;
    app.model
        .with(|m| m.as_ref().and_then(|m| light_reason(&m.config, tokens)))
}

//! What the page asks an engine for, by the size of the input (issue 13 item 5).
//!
//! The views read every layer's token states (the Layers view's heat map, the PCA map, the
//! Subspaces view) and the full attention (the rollout). Their size grows with N tokens and N²:
//! a CRATE-B/8 at 448×448 (3,137 tokens) has 12 × 6 × 3137² attention probabilities (2.8 GB in
//! float32) and a 0.6 GB trace, beyond what a WebAssembly tab can hold beside the model. Above
//! [`FULL_DETAIL_BUDGET`] the page asks for what the engines compute without them (the CLI's
//! path: per-layer measures and the CLS rows of the attention), and the views that need more
//! say why they are unavailable.

use crate::engine::ForwardOptions;
use crate::model::CrateConfig;

/// Bytes of one image's trace and full attention above which the page asks only for the
/// measures and CLS rows. CRATE-B/8 at 224 (785 tokens, 0.31 GiB) stays under it.
pub const FULL_DETAIL_BUDGET: u64 = 512 << 20;

/// One image's trace (five (N, d) tensors per layer) and full attention (K N² per layer), in
/// bytes, at `tokens` tokens (CLS included).
pub fn full_detail_bytes(cfg: &CrateConfig, tokens: usize) -> u64 {
    let (n, d, k, l) = (
        tokens as u64,
        cfg.dim as u64,
        cfg.heads as u64,
        cfg.depth as u64,
    );
    l * (5 * n * d + k * n * n) * 4
}

/// True when the page keeps the trace and the full attention of an image of `tokens` tokens.
pub fn keeps_full_detail(cfg: &CrateConfig, tokens: usize) -> bool {
    full_detail_bytes(cfg, tokens) <= FULL_DETAIL_BUDGET
}

/// The forward options of one page analysis: the trace and full attention when they fit the
/// budget, otherwise the measures and CLS rows only.
pub fn page_options(cfg: &CrateConfig, tokens: usize) -> ForwardOptions {
    if keeps_full_detail(cfg, tokens) {
        ForwardOptions {
            trace: true,
            attention: true,
            ..ForwardOptions::default()
        }
    } else {
        ForwardOptions {
            stats: true,
            cls: true,
            ..ForwardOptions::default()
        }
    }
}

/// How many images of `tokens` tokens to run at once in a measures-only batch, at most `most`:
/// the CPU engine holds one layer's attention (K N² per image) at a time, kept here under
/// [`FULL_DETAIL_BUDGET`].
pub fn batch_chunk(cfg: &CrateConfig, tokens: usize, most: usize) -> usize {
    let per = cfg.heads as u64 * (tokens as u64).pow(2) * 4;
    ((FULL_DETAIL_BUDGET / per.max(1)) as usize).clamp(1, most.max(1))
}

/// Why the token states, the rollout and the subspace analysis are unavailable for an image
/// of `tokens` tokens (None when they are kept).
pub fn light_reason(cfg: &CrateConfig, tokens: usize) -> Option<String> {
    (!keeps_full_detail(cfg, tokens)).then(|| {
        format!(
            "At {tokens} tokens every layer's token states and full attention would take {:.1} GiB \
             (a browser tab's WebAssembly memory holds at most 4 GiB, the model included), so the \
             page keeps only the per-layer measures and each head's CLS attention row; choose a \
             smaller input size (Model view) for the token maps, the rollout and the subspaces",
            full_detail_bytes(cfg, tokens) as f64 / (1u64 << 30) as f64
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b8_demo_keeps_detail_at_224_not_448() {
        let cfg = CrateConfig::preset("crate-b8-demo").unwrap();
        // 224/8 = 28 → 785 tokens; 448/8 = 56 → 3,137.
        assert!(keeps_full_detail(&cfg, 785));
        assert!(!keeps_full_detail(&cfg, 3137));
        let full = page_options(&cfg, 785);
        assert!(full.trace && full.attention && !full.cls);
        let light = page_options(&cfg, 3137);
        assert!(light.cls && light.stats && !light.trace && !light.attention);
        // 12 × (5 × 3137 × 768 + 6 × 3137²) × 4 bytes.
        assert_eq!(
            full_detail_bytes(&cfg, 3137),
            12 * (5 * 3137 * 768 + 6 * 3137 * 3137) * 4
        );
        assert!(light_reason(&cfg, 3137).unwrap().contains("3137 tokens"));
        assert!(light_reason(&cfg, 785).is_none());
        // One layer's attention at 448 is 236 MB per image: two at a time; four at 224.
        assert_eq!(batch_chunk(&cfg, 3137, 4), 2);
        assert_eq!(batch_chunk(&cfg, 785, 4), 4);
        // The bundled Fashion-MNIST model keeps everything at any size the page offers.
        let small = CrateConfig::preset("crate-fmnist").unwrap();
        assert!(keeps_full_detail(&small, 8 * 8 + 1));
    }
}

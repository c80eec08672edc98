//! How many inference workers the gallery batch uses: the measures of each image are
//! independent, so on a machine with two or more cores a second worker (the page's worker
//! binary again, with its own copy of the model) takes every other chunk of images. Starting it
//! and loading the model into it costs a few hundred milliseconds, so small batches stay on one.

use super::Which;

/// The least work (multiply-adds ×2 over the whole batch) worth a second worker: about half
/// a second of the wasm CPU engine at 50 GFLOP/s, which is what a fresh worker takes to start
/// and load a model of a few MB.
pub const SPLIT_MIN_FLOP: f64 = 25e9;

/// How many workers run a measures batch of `chunks` chunks and `flop` work in all on engine
/// `which`: two when the CPU engine runs it, the browser reports two or more `cores`, there
/// are two chunks to share, and either the work pays for the second worker's start or
/// `workers=2` ([`super::UrlState::workers`], `wanted`) asks for two; one otherwise, and always with `workers=1` (WebGPU is
/// one device, shared by whoever uses it).
pub fn batch_workers(
    which: Which,
    cores: usize,
    wanted: Option<usize>,
    chunks: usize,
    flop: f64,
) -> usize {
    let pays = match wanted {
        None | Some(0) => flop >= SPLIT_MIN_FLOP,
        Some(1) => false,
        Some(_) => true,
    };
    if which == Which::Cpu && cores >= 2 && chunks >= 2 && pays {
        2
    } else {
        1
    }
}

/// Images per chunk for `n` images on `workers` workers, at most `most` per chunk: as few
/// chunks as `most` allows, their count rounded up to a multiple of `workers` and the images
/// spread evenly over them, so that the workers finish together (18 images, at most 4, on two
/// workers: six chunks of 3, rather than 4, 4, 4, 4, 2, which leaves one worker 10 images).
pub fn chunk_len(n: usize, most: usize, workers: usize) -> usize {
    let (most, workers) = (most.max(1), workers.max(1));
    let rounds = n.div_ceil(most * workers).max(1);
    n.div_ceil(rounds * workers).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_workers_only_where_they_pay() {
        let big = SPLIT_MIN_FLOP * 2.0;
        assert_eq!(batch_workers(Which::Cpu, 2, None, 5, big), 2);
        assert_eq!(batch_workers(Which::Cpu, 16, Some(0), 5, big), 2);
        assert_eq!(batch_workers(Which::Cpu, 16, Some(8), 5, big), 2);
        // One core, one chunk, small work, WebGPU, or the URL asking for one.
        assert_eq!(batch_workers(Which::Cpu, 1, None, 5, big), 1);
        assert_eq!(batch_workers(Which::Cpu, 2, None, 1, big), 1);
        assert_eq!(
            batch_workers(Which::Cpu, 2, None, 5, SPLIT_MIN_FLOP / 2.0),
            1
        );
        assert_eq!(batch_workers(Which::Gpu, 2, None, 5, big), 1);
        assert_eq!(batch_workers(Which::Cpu, 2, Some(1), 5, big), 1);
        // `workers=2` asks for two whatever the work, where there are two cores and chunks.
        assert_eq!(batch_workers(Which::Cpu, 2, Some(2), 5, 1.0), 2);
        assert_eq!(batch_workers(Which::Cpu, 1, Some(2), 5, big), 1);
        assert_eq!(batch_workers(Which::Cpu, 2, Some(2), 1, big), 1);
        assert_eq!(batch_workers(Which::Gpu, 2, Some(2), 5, big), 1);
    }

    #[test]
    fn chunks_share_the_images_evenly() {
        assert_eq!(chunk_len(18, 4, 1), 4);
        assert_eq!(chunk_len(18, 4, 2), 3);
        assert_eq!(chunk_len(16, 4, 2), 4);
        assert_eq!(chunk_len(5, 4, 2), 3);
        assert_eq!(chunk_len(18, 1, 2), 1);
        assert_eq!(chunk_len(0, 4, 2), 1);
        for n in 1..60 {
            for most in 1..6 {
                for w in 1..3 {
                    let len = chunk_len(n, most, w);
                    assert!((1..=most).contains(&len), "{n} {most} {w}: {len}");
                    // Never more chunks than `most` needs, rounded up to the workers.
                    let chunks = n.div_ceil(len);
                    assert!(
                        chunks <= n.div_ceil(most).div_ceil(w) * w,
                        "{n} {most} {w}: {chunks} chunks"
                    );
                }
            }
        }
    }
}

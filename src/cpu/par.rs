//! Data parallelism that is rayon natively and a plain loop on wasm (single-threaded there).

/// Runs `f` on one of the pool's threads (natively; on wasm, here). A forward makes some fifty
/// parallel regions (every product and the attention of every layer); entered from a thread
/// outside the pool, each of them would hand its work to the pool and put the caller to sleep
/// until it is done, a wake-up and a sleep per region. Inside the pool they split the work with
/// the thread already running.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    {
        rayon::scope(|_| f())
    }
    #[cfg(target_arch = "wasm32")]
    {
        f()
    }
}

/// Runs `f(i, chunk)` over `data.chunks_mut(chunk)`, in parallel where threads exist.
pub fn for_each_chunk<T: Send, F>(data: &mut [T], chunk: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Send + Sync,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(target_arch = "wasm32")]
    {
        data.chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// Runs `f(i, a_chunk, b_chunk)` over two buffers chunked in step.
pub fn for_each_chunk2<A: Send, B: Send, F>(a: &mut [A], ca: usize, b: &mut [B], cb: usize, f: F)
where
    F: Fn(usize, &mut [A], &mut [B]) + Send + Sync,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        a.par_chunks_mut(ca)
            .zip(b.par_chunks_mut(cb))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
    #[cfg(target_arch = "wasm32")]
    {
        a.chunks_mut(ca)
            .zip(b.chunks_mut(cb))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
    }
}

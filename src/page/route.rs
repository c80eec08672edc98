//! Which page a query string asks for: the app, the benchmark (`?bench=PRESET[&batch=1,8]
//! [&iters=3][&engine=gpu][&matmul=1][&kernels=reg|tiled][&block=8|16|32][&subgroups=0]`, read by
//! `scripts/bench-wasm.sh`) or the self-test (`?selftest`, `&engine=gpu` for WebGPU).

/// A `?bench=` request.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRequest {
    pub preset: String,
    /// Batch sizes, each positive (default: 1).
    pub batches: Vec<usize>,
    /// Timed repetitions per batch, 1..=50 (default 3).
    pub iters: usize,
    pub gpu: bool,
    /// Time single matrix products (the preset's shapes and 1024³) rather than forwards.
    pub matmul: bool,
    /// WebGPU only: force the kernel family (`reg`: the one for CPU-emulated adapters; `tiled`),
    /// where the adapter would choose.
    pub reg_kernels: Option<bool>,
    /// WebGPU only, with the register-blocked family: rows per invocation of the matmul block
    /// (8, 16 or 32; by default picked by each product's shape).
    pub block: Option<u32>,
    /// WebGPU only, with the register-blocked family: `subgroups=0` turns the subgroup forms
    /// of the matmuls off (they are on where the adapter has subgroups).
    pub subgroups: bool,
}

impl BenchRequest {
    /// The request in `search` (with or without `?`), or `None` without a `bench=` preset.
    pub fn from_query(search: &str) -> Option<Self> {
        let mut req = BenchRequest {
            preset: String::new(),
            batches: vec![1],
            iters: 3,
            gpu: false,
            matmul: false,
            reg_kernels: None,
            block: None,
            subgroups: true,
        };
        for pair in search.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "bench" => req.preset = v.to_string(),
                "batch" => {
                    req.batches = v
                        .split(',')
                        .filter_map(|b| b.parse().ok())
                        .filter(|&b| b > 0)
                        .collect()
                }
                "iters" => req.iters = v.parse().unwrap_or(3).clamp(1, 50),
                "engine" => req.gpu = v == "gpu",
                "matmul" => req.matmul = v == "1",
                "kernels" => {
                    req.reg_kernels = match v {
                        "reg" => Some(true),
                        "tiled" => Some(false),
                        _ => None,
                    }
                }
                "block" => req.block = v.parse().ok().filter(|b| [8, 16, 32].contains(b)),
                "subgroups" => req.subgroups = v != "0",
                _ => {}
            }
        }
        (!req.preset.is_empty()).then_some(req)
    }
}

/// The page a query string asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    Bench(BenchRequest),
    Selftest { gpu: bool },
    App,
}

impl Route {
    pub fn from_query(search: &str) -> Self {
        if let Some(req) = BenchRequest::from_query(search) {
            return Route::Bench(req);
        }
        let params: Vec<&str> = search.trim_start_matches('?').split('&').collect();
        if params.contains(&"selftest") {
            Route::Selftest {
                gpu: params.contains(&"engine=gpu"),
            }
        } else {
            Route::App
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_requests_parse_with_defaults_and_limits() {
        assert_eq!(
            BenchRequest::from_query("?bench=crate-t"),
            Some(BenchRequest {
                preset: "crate-t".into(),
                batches: vec![1],
                iters: 3,
                gpu: false,
                matmul: false,
                reg_kernels: None,
                block: None,
                subgroups: true,
            })
        );
        let r = BenchRequest::from_query("bench=crate-fmnist&batch=1,0,x,8&iters=999&engine=gpu")
            .unwrap();
        assert_eq!(r.batches, vec![1, 8]);
        assert_eq!(r.iters, 50);
        assert!(r.gpu);
        let r = BenchRequest::from_query("bench=p&iters=0&engine=cpu").unwrap();
        assert_eq!((r.iters, r.gpu), (1, false));
        assert_eq!(
            BenchRequest::from_query("bench=p&iters=-2").unwrap().iters,
            3
        );
        let r = BenchRequest::from_query("bench=crate-t&matmul=1&kernels=reg&block=8").unwrap();
        assert_eq!(
            (r.matmul, r.reg_kernels, r.block),
            (true, Some(true), Some(8))
        );
        let r = BenchRequest::from_query("bench=crate-t&block=32").unwrap();
        assert_eq!(r.block, Some(32));
        let r = BenchRequest::from_query("bench=crate-t&matmul=0&kernels=x&block=12").unwrap();
        assert_eq!((r.matmul, r.reg_kernels, r.block), (false, None, None));
        let r = BenchRequest::from_query("bench=crate-t&kernels=tiled").unwrap();
        assert_eq!(r.reg_kernels, Some(false));
        let r = BenchRequest::from_query("bench=crate-t&engine=gpu&subgroups=0").unwrap();
        assert!(!r.subgroups);
        assert_eq!(BenchRequest::from_query("bench=&batch=2"), None);
        assert_eq!(BenchRequest::from_query("view=layers"), None);
    }

    #[test]
    fn routes() {
        assert!(matches!(
            Route::from_query("?bench=crate-t"),
            Route::Bench(_)
        ));
        assert_eq!(
            Route::from_query("?selftest"),
            Route::Selftest { gpu: false }
        );
        assert_eq!(
            Route::from_query("?selftest&engine=gpu"),
            Route::Selftest { gpu: true }
        );
        assert_eq!(Route::from_query("?view=layers&engine=gpu"), Route::App);
        assert_eq!(Route::from_query(""), Route::App);
        assert_eq!(Route::from_query("?selftests"), Route::App);
    }
}

//! Which engine runs the page's forwards: the user's preference, what WebGPU offers here, and
//! the calibration that times both engines and, in Auto mode, keeps the faster (a software
//! WebGPU adapter can be far slower than the CPU engine in WebAssembly). Every sentence the
//! engine panel shows about that choice is written here.

use std::fmt::Display;

/// Which engine runs a forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    Cpu,
    Gpu,
}

impl Which {
    /// The name shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            Which::Cpu => "CPU (wasm)",
            Which::Gpu => "WebGPU",
        }
    }

    /// The name in reports read by scripts ("cpu", "gpu").
    pub fn key(self) -> &'static str {
        match self {
            Which::Cpu => "cpu",
            Which::Gpu => "gpu",
        }
    }
}

/// Which engine the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnginePref {
    /// Whichever a quick calibration found faster.
    Auto,
    Gpu,
    Cpu,
}

impl EnginePref {
    pub const ALL: [EnginePref; 3] = [EnginePref::Auto, EnginePref::Gpu, EnginePref::Cpu];

    pub fn key(self) -> &'static str {
        match self {
            EnginePref::Auto => "auto",
            EnginePref::Gpu => "gpu",
            EnginePref::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == s)
    }
}

/// What we know about WebGPU in this browser.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuState {
    /// Ready: the adapter's name and whether it is a software (fallback) adapter.
    Ready { adapter: String, software: bool },
    /// Not usable, and why.
    Unavailable(String),
    /// Being opened in the background (adapter, device, weights): the CPU engine answers
    /// meanwhile, so that the first map does not wait for WebGPU.
    Starting,
}

/// What the engine panel says while WebGPU opens and the CPU engine answers.
pub const CPU_WHILE_GPU_STARTS: &str =
    "Using the CPU engine while WebGPU starts; WebGPU takes over when it is ready.";

impl GpuState {
    /// A ready adapter, named by wgpu or else by the browser (`GPUAdapterInfo.description` and
    /// `isFallbackAdapter`), and whether it is a CPU rasteriser (SwiftShader, llvmpipe, WARP)
    /// rather than a GPU.
    pub fn ready(
        name: &str,
        device_type: wgpu::DeviceType,
        backend: wgpu::Backend,
        browser: Option<(String, bool)>,
    ) -> Self {
        let adapter = match &browser {
            _ if !name.is_empty() => name.to_string(),
            Some((desc, _)) if !desc.is_empty() => desc.clone(),
            _ => format!("{backend:?} adapter"),
        };
        let software_name = |n: &str| {
            let n = n.to_lowercase();
            ["swiftshader", "llvmpipe", "lavapipe", "warp", "software"]
                .iter()
                .any(|s| n.contains(s))
        };
        let software = device_type == wgpu::DeviceType::Cpu
            || software_name(name)
            || browser
                .as_ref()
                .is_some_and(|(desc, fallback)| *fallback || software_name(desc));
        GpuState::Ready { adapter, software }
    }

    /// What the engine panel says about WebGPU, and whether it works.
    pub fn describe(&self) -> (String, bool) {
        match self {
            GpuState::Ready { adapter, software } => (
                if *software {
                    format!("{adapter} (a software renderer, not a GPU)")
                } else {
                    adapter.clone()
                },
                true,
            ),
            GpuState::Unavailable(why) => (why.clone(), false),
            GpuState::Starting => ("starting…".into(), false),
        }
    }
}

/// How the engine was chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineInfo {
    /// The engine analyses run on now.
    pub active: Which,
    /// A sentence saying which engine and why (shown to the user).
    pub reason: String,
    /// The WebGPU adapter, or why there is none.
    pub gpu: String,
    pub gpu_ok: bool,
    /// Calibration: ms per image on each engine (None: not measured).
    pub cpu_ms: Option<f64>,
    pub gpu_ms: Option<f64>,
}

impl Default for EngineInfo {
    fn default() -> Self {
        Self {
            active: Which::Cpu,
            reason: "starting…".into(),
            gpu: "not checked yet".into(),
            gpu_ok: false,
            cpu_ms: None,
            gpu_ms: None,
        }
    }
}

/// What to do with the page's notice line after a look at WebGPU.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Keep,
    Clear,
    Show(String),
}

impl EngineInfo {
    /// Takes in the latest WebGPU state; when WebGPU stopped working under the GPU engine, the
    /// CPU engine takes over and the reason says so.
    pub fn observe_gpu(&mut self, state: &GpuState) {
        let (gpu, ok) = state.describe();
        if *state == GpuState::Starting {
            self.active = Which::Cpu;
            self.reason = CPU_WHILE_GPU_STARTS.into();
        } else if !ok && self.active == Which::Gpu {
            self.active = Which::Cpu;
            self.reason = format!("WebGPU stopped working ({gpu}); the CPU engine took over.");
        }
        self.gpu = gpu;
        self.gpu_ok = ok;
    }

    /// The calibration's outcome when there is no WebGPU engine to time.
    pub fn without_gpu(&mut self) {
        self.active = Which::Cpu;
        self.reason = format!(
            "Using the CPU engine: WebGPU is not available ({}).",
            self.gpu
        );
    }

    /// The calibration's outcome from one timed run per engine (ms per image, or why the run
    /// failed). In Auto mode the faster engine wins, WebGPU on a tie; a failed or non-numeric
    /// WebGPU time never wins. A failure on either engine leaves the CPU engine in charge.
    pub fn calibrated<E: Display>(
        pref: EnginePref,
        cpu_ms: Result<f64, E>,
        gpu_ms: Result<f64, E>,
        adapter: String,
    ) -> Self {
        match (cpu_ms, gpu_ms) {
            (Ok(c), Ok(g)) => {
                let faster = if g <= c { Which::Gpu } else { Which::Cpu };
                let active = match pref {
                    EnginePref::Auto => faster,
                    EnginePref::Gpu => Which::Gpu,
                    EnginePref::Cpu => Which::Cpu,
                };
                let reason = match (pref, faster) {
                    (EnginePref::Auto, Which::Gpu) => format!(
                        "Using WebGPU ({adapter}): {g:.1} ms per image against {c:.1} ms on the \
                         CPU engine."
                    ),
                    (EnginePref::Auto, Which::Cpu) => format!(
                        "Using the CPU engine: WebGPU ({adapter}) took {g:.1} ms per image \
                         against {c:.1} ms on the CPU."
                    ),
                    (_, _) => format!(
                        "Using {} as asked (WebGPU {g:.1} ms, CPU {c:.1} ms per image).",
                        active.label()
                    ),
                };
                EngineInfo {
                    active,
                    reason,
                    gpu: adapter,
                    gpu_ok: true,
                    cpu_ms: Some(c),
                    gpu_ms: Some(g),
                }
            }
            (c, g) => EngineInfo {
                active: Which::Cpu,
                reason: format!(
                    "Using the CPU engine: {}",
                    g.err()
                        .or(c.err())
                        .map_or("calibration failed".into(), |e| e.to_string())
                ),
                gpu: adapter,
                gpu_ok: false,
                cpu_ms: None,
                gpu_ms: None,
            },
        }
    }
}

/// The engine to use now: the user's choice, or the calibrated one; the CPU when WebGPU is gone.
pub fn active_engine(pref: EnginePref, calibrated: Which, has_gpu: bool) -> Which {
    let want = match pref {
        EnginePref::Cpu => Which::Cpu,
        EnginePref::Gpu => Which::Gpu,
        EnginePref::Auto => calibrated,
    };
    if want == Which::Gpu && !has_gpu {
        Which::Cpu
    } else {
        want
    }
}

/// The notice after a look at WebGPU: a CPU fallback the user did not ask for is announced,
/// a working WebGPU clears it, and with the CPU engine chosen nothing changes.
pub fn gpu_notice(pref: EnginePref, state: &GpuState) -> Notice {
    let (gpu, ok) = state.describe();
    if ok {
        Notice::Clear
    } else if *state == GpuState::Starting {
        Notice::Keep
    } else if pref != EnginePref::Cpu {
        Notice::Show(format!(
            "WebGPU is not available here ({gpu}). The CPU engine runs instead: same numbers, \
             computed in WebAssembly."
        ))
    } else {
        Notice::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(pref: EnginePref, c: Result<f64, &str>, g: Result<f64, &str>) -> EngineInfo {
        EngineInfo::calibrated(pref, c, g, "Test GPU".into())
    }

    #[test]
    fn auto_keeps_the_faster_engine_and_says_why() {
        let i = cal(EnginePref::Auto, Ok(20.0), Ok(5.0));
        assert_eq!(i.active, Which::Gpu);
        assert_eq!(
            i.reason,
            "Using WebGPU (Test GPU): 5.0 ms per image against 20.0 ms on the CPU engine."
        );
        assert_eq!(
            (i.cpu_ms, i.gpu_ms, i.gpu_ok),
            (Some(20.0), Some(5.0), true)
        );
        let i = cal(EnginePref::Auto, Ok(5.0), Ok(20.0));
        assert_eq!(i.active, Which::Cpu);
        assert!(i
            .reason
            .starts_with("Using the CPU engine: WebGPU (Test GPU) took 20.0 ms"));
    }

    #[test]
    fn a_tie_goes_to_webgpu_and_a_nan_time_never_wins() {
        assert_eq!(cal(EnginePref::Auto, Ok(7.0), Ok(7.0)).active, Which::Gpu);
        assert_eq!(
            cal(EnginePref::Auto, Ok(7.0), Ok(f64::NAN)).active,
            Which::Cpu
        );
        assert_eq!(cal(EnginePref::Auto, Ok(0.0), Ok(0.0)).active, Which::Gpu);
    }

    #[test]
    fn an_explicit_choice_wins_over_the_timings() {
        let i = cal(EnginePref::Gpu, Ok(1.0), Ok(100.0));
        assert_eq!(i.active, Which::Gpu);
        assert_eq!(
            i.reason,
            "Using WebGPU as asked (WebGPU 100.0 ms, CPU 1.0 ms per image)."
        );
        let i = cal(EnginePref::Cpu, Ok(100.0), Ok(1.0));
        assert_eq!(i.active, Which::Cpu);
        assert!(i.reason.starts_with("Using CPU (wasm) as asked"));
    }

    #[test]
    fn a_failed_run_leaves_the_cpu_in_charge_and_names_the_failure() {
        for pref in EnginePref::ALL {
            let i = cal(pref, Ok(3.0), Err("device lost"));
            assert_eq!(i.active, Which::Cpu, "{pref:?}");
            assert_eq!(i.reason, "Using the CPU engine: device lost");
            assert!(!i.gpu_ok);
            assert_eq!((i.cpu_ms, i.gpu_ms), (None, None));
        }
        let i = cal(EnginePref::Auto, Err("cpu broke"), Ok(1.0));
        assert_eq!(i.reason, "Using the CPU engine: cpu broke");
        // Both failed: the WebGPU failure is the one worth reading.
        let i = cal(EnginePref::Auto, Err("cpu broke"), Err("gpu broke"));
        assert_eq!(i.reason, "Using the CPU engine: gpu broke");
    }

    #[test]
    fn the_active_engine_falls_back_to_the_cpu_without_webgpu() {
        use EnginePref::*;
        assert_eq!(active_engine(Auto, Which::Gpu, true), Which::Gpu);
        assert_eq!(active_engine(Auto, Which::Gpu, false), Which::Cpu);
        assert_eq!(active_engine(Auto, Which::Cpu, true), Which::Cpu);
        assert_eq!(active_engine(Gpu, Which::Cpu, true), Which::Gpu);
        assert_eq!(active_engine(Gpu, Which::Cpu, false), Which::Cpu);
        assert_eq!(active_engine(Cpu, Which::Gpu, true), Which::Cpu);
    }

    #[test]
    fn losing_webgpu_hands_over_to_the_cpu() {
        let mut i = cal(EnginePref::Auto, Ok(20.0), Ok(5.0));
        i.observe_gpu(&GpuState::Unavailable("device lost".into()));
        assert_eq!(i.active, Which::Cpu);
        assert!(!i.gpu_ok);
        assert_eq!(i.gpu, "device lost");
        assert_eq!(
            i.reason,
            "WebGPU stopped working (device lost); the CPU engine took over."
        );
        // Already on the CPU: the reason stays.
        let mut i = cal(EnginePref::Cpu, Ok(1.0), Ok(5.0));
        let before = i.reason.clone();
        i.observe_gpu(&GpuState::Unavailable("gone".into()));
        assert_eq!((i.active, i.reason), (Which::Cpu, before));
        let mut i = EngineInfo::default();
        i.observe_gpu(&GpuState::Unavailable("turned off".into()));
        i.without_gpu();
        assert_eq!(
            i.reason,
            "Using the CPU engine: WebGPU is not available (turned off)."
        );
    }

    #[test]
    fn software_adapters_are_recognised() {
        use wgpu::{Backend, DeviceType};
        let s = |name, dt, browser| match GpuState::ready(name, dt, Backend::Vulkan, browser) {
            GpuState::Ready { adapter, software } => (adapter, software),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            s("NVIDIA H200", DeviceType::DiscreteGpu, None),
            ("NVIDIA H200".into(), false)
        );
        assert!(s("llvmpipe (LLVM 15.0.6, 256 bits)", DeviceType::Other, None).1);
        assert!(s("x", DeviceType::Cpu, None).1);
        // wgpu on the web often has no name: the browser's description, else the backend.
        let b = Some(("SwiftShader Device".to_string(), false));
        assert_eq!(
            s("", DeviceType::Other, b),
            ("SwiftShader Device".into(), true)
        );
        let b = Some(("Some GPU".to_string(), true));
        assert_eq!(s("", DeviceType::Other, b), ("Some GPU".into(), true));
        assert_eq!(
            s("", DeviceType::Other, Some((String::new(), false))),
            ("Vulkan adapter".into(), false)
        );
        let (label, ok) = GpuState::Ready {
            adapter: "lavapipe".into(),
            software: true,
        }
        .describe();
        assert_eq!(label, "lavapipe (a software renderer, not a GPU)");
        assert!(ok);
    }

    #[test]
    fn the_notice_announces_an_unasked_fallback_only() {
        let gone = GpuState::Unavailable("no navigator.gpu".into());
        let ready = GpuState::Ready {
            adapter: "A".into(),
            software: false,
        };
        assert!(
            matches!(gpu_notice(EnginePref::Auto, &gone), Notice::Show(m) if m.contains("no navigator.gpu"))
        );
        assert!(matches!(
            gpu_notice(EnginePref::Gpu, &gone),
            Notice::Show(_)
        ));
        assert_eq!(gpu_notice(EnginePref::Cpu, &gone), Notice::Keep);
        assert_eq!(gpu_notice(EnginePref::Auto, &ready), Notice::Clear);
        // WebGPU still opening is no fallback to announce.
        assert_eq!(
            gpu_notice(EnginePref::Gpu, &GpuState::Starting),
            Notice::Keep
        );
    }

    #[test]
    fn while_webgpu_starts_the_cpu_answers_and_says_so() {
        // A new model's WebGPU engine opening after a calibration chose WebGPU.
        let mut i = cal(EnginePref::Auto, Ok(20.0), Ok(5.0));
        i.observe_gpu(&GpuState::Starting);
        assert_eq!((i.active, i.gpu_ok), (Which::Cpu, false));
        assert_eq!(i.reason, CPU_WHILE_GPU_STARTS);
        assert_eq!(i.gpu, "starting…");
        assert_eq!(active_engine(EnginePref::Gpu, i.active, false), Which::Cpu);
    }

    #[test]
    fn preferences_parse_by_key() {
        for p in EnginePref::ALL {
            assert_eq!(EnginePref::parse(p.key()), Some(p));
        }
        assert_eq!(EnginePref::parse("GPU"), None);
    }
}

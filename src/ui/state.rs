//! The page's state: what is shown (kept in the URL so a view can be shared) and what was
//! computed. Signals only; the engines live in [`super::runtime`].

use std::rc::Rc;
use std::sync::Arc;

use futures::lock::Mutex;
use leptos::prelude::*;

use super::runtime::{Runtime, Which};
use crate::analysis::{ImageReport, LayerSummary};
use crate::data::image::{Resize, Rgba8Image};
use crate::model::CrateConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Attention,
    Layers,
    Model,
}

impl View {
    pub const ALL: [View; 3] = [View::Attention, View::Layers, View::Model];

    pub fn key(self) -> &'static str {
        match self {
            View::Attention => "attention",
            View::Layers => "layers",
            View::Model => "model",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Attention => "Attention",
            View::Layers => "Layers",
            View::Model => "Model & engine",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == s)
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
    pub fn key(self) -> &'static str {
        match self {
            EnginePref::Auto => "auto",
            EnginePref::Gpu => "gpu",
            EnginePref::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EnginePref::Auto, EnginePref::Gpu, EnginePref::Cpu]
            .into_iter()
            .find(|p| p.key() == s)
    }
}

/// The part of the state that lives in the URL.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlState {
    pub view: View,
    pub layer: Option<usize>,
    /// `None`: the mean over heads.
    pub head: Option<usize>,
    pub threshold: f32,
    pub opacity: f32,
    pub sample: Option<String>,
    pub engine: EnginePref,
    /// A bundled model by name.
    pub model: Option<String>,
}

impl Default for UrlState {
    fn default() -> Self {
        Self {
            view: View::Attention,
            layer: None,
            head: None,
            threshold: 0.6,
            opacity: 0.6,
            sample: None,
            engine: EnginePref::Auto,
            model: None,
        }
    }
}

impl UrlState {
    /// Reads `view=…&layer=…&head=…|mean&t=…&opacity=…&sample=…&engine=…`; anything missing
    /// or malformed keeps its default.
    pub fn parse(query: &str) -> Self {
        let mut s = Self::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = js_sys::decode_uri_component(v)
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_else(|| v.to_string());
            match k {
                "view" => s.view = View::parse(&v).unwrap_or(s.view),
                "layer" => s.layer = v.parse().ok(),
                "head" => s.head = v.parse().ok(),
                "t" => {
                    s.threshold = v
                        .parse::<f32>()
                        .ok()
                        .filter(|t| t.is_finite())
                        .map_or(s.threshold, |t| t.clamp(0.05, 1.0))
                }
                "opacity" => {
                    s.opacity = v
                        .parse::<f32>()
                        .ok()
                        .filter(|t| t.is_finite())
                        .map_or(s.opacity, |t| t.clamp(0.0, 1.0))
                }
                "sample" if !v.is_empty() => s.sample = Some(v),
                "engine" => s.engine = EnginePref::parse(&v).unwrap_or(s.engine),
                "model" if !v.is_empty() => s.model = Some(v),
                _ => {}
            }
        }
        s
    }

    pub fn to_query(&self) -> String {
        let mut q = vec![format!("view={}", self.view.key())];
        if let Some(l) = self.layer {
            q.push(format!("layer={l}"));
        }
        q.push(match self.head {
            Some(h) => format!("head={h}"),
            None => "head=mean".into(),
        });
        q.push(format!("t={}", self.threshold));
        q.push(format!("opacity={}", self.opacity));
        if let Some(s) = &self.sample {
            q.push(format!(
                "sample={}",
                String::from(js_sys::encode_uri_component(s))
            ));
        }
        if let Some(m) = &self.model {
            q.push(format!(
                "model={}",
                String::from(js_sys::encode_uri_component(m))
            ));
        }
        if self.engine != EnginePref::Auto {
            q.push(format!("engine={}", self.engine.key()));
        }
        q.join("&")
    }
}

/// A gallery entry (web/samples/samples.json).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Sample {
    pub file: String,
    pub label: String,
    pub kind: String,
    pub credit: String,
}

/// A model bundled with the page (web/models/index.json).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Bundled {
    /// The file stem: web/models/NAME.safetensors and NAME.json.
    pub name: String,
    /// What to call it in the model list.
    pub title: String,
}

/// The model on show.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub format: String,
    pub config: CrateConfig,
    pub parameters: usize,
    /// What loading assumed (head count, …).
    pub notes: Vec<String>,
    /// The model card (web/models/NAME.json), for bundled models.
    pub card: Option<serde_json::Value>,
}

/// The image on show and its analysis.
#[derive(Clone, Debug)]
pub struct Current {
    /// The sample file name, or the uploaded file's name.
    pub name: String,
    pub label: String,
    /// What the model saw, upscaled for display (RGBA).
    pub base: Arc<Rgba8Image>,
    /// The same at half the size, for the per-head thumbnails.
    pub thumb: Arc<Rgba8Image>,
    pub report: Arc<ImageReport>,
    pub engine: Which,
    pub ms: f64,
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

/// Busy with something the user waits for: a message and, when known, a fraction done.
#[derive(Clone, Debug, PartialEq)]
pub struct Busy {
    pub what: String,
    pub progress: Option<f64>,
}

/// The per-layer batch figure (mean ± std over gallery images).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchFigure {
    pub images: usize,
    pub layers: Vec<LayerSummary>,
}

/// An image's file name, label and bytes.
pub type Source = (String, String, Rc<Vec<u8>>);
/// A model file's name and bytes.
pub type ModelBytes = (String, Rc<Vec<u8>>);

/// Everything the components share, passed through Leptos context. All fields are `Copy`.
#[derive(Clone, Copy)]
pub struct AppState {
    pub view: RwSignal<View>,
    pub layer: RwSignal<usize>,
    pub head: RwSignal<Option<usize>>,
    pub threshold: RwSignal<f32>,
    pub opacity: RwSignal<f32>,
    pub sample: RwSignal<Option<String>>,
    pub engine_pref: RwSignal<EnginePref>,
    /// Side of the (square) model input, a multiple of the patch.
    pub input_side: RwSignal<usize>,
    pub fit: RwSignal<Resize>,
    pub samples: RwSignal<Vec<Sample>>,
    /// The bundled models, and which one is on show (None: a file the user loaded).
    pub bundled: RwSignal<Vec<Bundled>>,
    pub model_name: RwSignal<Option<String>>,
    pub model: RwSignal<Option<ModelInfo>>,
    pub current: RwSignal<Option<Current>>,
    pub engine: RwSignal<EngineInfo>,
    pub busy: RwSignal<Option<Busy>>,
    pub error: RwSignal<Option<String>>,
    /// A notice that is not an error (CPU fallback, assumptions made).
    pub notice: RwSignal<Option<String>>,
    pub batch: RwSignal<Option<BatchFigure>>,
    /// Engine comparison on the current image, as text.
    pub comparison: RwSignal<Option<String>>,
    /// The head count to ask for when a checkpoint does not say (Some: the prompt is open).
    pub heads_prompt: RwSignal<Option<String>>,
    /// When the first attention map appeared (ms since navigation started).
    pub first_map_ms: RwSignal<Option<f64>>,
    /// Background steps still running (the page is idle at 0).
    pub tasks: RwSignal<usize>,
    /// True once the first analysis is on screen (and during later idle times).
    pub ready: RwSignal<bool>,
    /// The bytes of the image on show (re-analysed when the model or the input size changes).
    pub source: StoredValue<Option<Source>, LocalStorage>,
    /// The bytes of the last model file, kept while the head-count prompt is open.
    pub pending_model: StoredValue<Option<ModelBytes>, LocalStorage>,
    pub runtime: StoredValue<Rc<Mutex<Option<Runtime>>>, LocalStorage>,
    /// Incremented for every new analysis request; a finished analysis whose number is stale
    /// is dropped (the user has asked for another image meanwhile).
    pub generation: StoredValue<u64, LocalStorage>,
}

impl AppState {
    pub fn new(url: &UrlState) -> Self {
        Self {
            view: RwSignal::new(url.view),
            layer: RwSignal::new(url.layer.unwrap_or(usize::MAX)),
            head: RwSignal::new(url.head),
            threshold: RwSignal::new(url.threshold),
            opacity: RwSignal::new(url.opacity),
            sample: RwSignal::new(url.sample.clone()),
            engine_pref: RwSignal::new(url.engine),
            input_side: RwSignal::new(0),
            fit: RwSignal::new(Resize::Stretch),
            samples: RwSignal::new(Vec::new()),
            bundled: RwSignal::new(Vec::new()),
            model_name: RwSignal::new(url.model.clone()),
            model: RwSignal::new(None),
            current: RwSignal::new(None),
            engine: RwSignal::new(EngineInfo::default()),
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            batch: RwSignal::new(None),
            comparison: RwSignal::new(None),
            heads_prompt: RwSignal::new(None),
            tasks: RwSignal::new(0),
            first_map_ms: RwSignal::new(None),
            ready: RwSignal::new(false),
            source: StoredValue::new_local(None),
            pending_model: StoredValue::new_local(None),
            runtime: StoredValue::new_local(Rc::new(Mutex::new(None))),
            generation: StoredValue::new_local(0),
        }
    }

    /// The URL part of the state, as it is now.
    pub fn url(&self) -> UrlState {
        let depth = self
            .model
            .with(|m| m.as_ref().map_or(0, |m| m.config.depth));
        let layer = self.layer.get();
        UrlState {
            view: self.view.get(),
            layer: (layer < depth).then_some(layer),
            head: self.head.get(),
            threshold: self.threshold.get(),
            opacity: self.opacity.get(),
            sample: self.sample.get(),
            engine: self.engine_pref.get(),
            model: self.model_name.get(),
        }
    }

    /// The layer on show, clamped to the model's depth (default: the last layer).
    pub fn layer_now(&self) -> usize {
        let depth = self
            .model
            .with(|m| m.as_ref().map_or(1, |m| m.config.depth));
        self.layer.get().min(depth.saturating_sub(1))
    }

    pub fn fail(&self, e: impl std::fmt::Display) {
        self.error.set(Some(e.to_string()));
        self.busy.set(None);
    }
}

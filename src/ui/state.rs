//! The page's state as Leptos signals: what is shown (its URL part is
//! [`crate::page::UrlState`]) and what was computed. The engines live in [`super::runtime`];
//! the plain types and the choices made on them in [`crate::page`].

use std::rc::Rc;
use std::sync::Arc;

use futures::lock::Mutex;
use leptos::prelude::*;

use super::runtime::Runtime;
use crate::analysis::{ImageReport, LayerSummary};
use crate::data::image::{Resize, Rgba8Image};
use crate::page::model_choice::{layer_in_url, layer_on_show};
pub use crate::page::{
    Bundled, EngineInfo, EnginePref, MapKind, ModelInfo, Sample, UrlState, View, Which,
};

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
    /// Every layer's tokens and projections (the Subspaces view's input), once fetched.
    pub trace: Option<Arc<crate::engine::Trace>>,
    /// The key under which the runtime keeps the trace until a view asks for it
    /// ([`super::actions::fetch_trace`]); None when there is none to ask for.
    pub trace_key: Option<u64>,
    pub engine: Which,
    pub ms: f64,
    /// The true object mask on the patch grid, for gallery images that ship one.
    pub truth: Option<Arc<KnownMask>>,
}

/// A gallery image's true mask on the patch grid, reduced as `segment --truth` reduces it.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownMask {
    /// Patches more than half object (`--truth majority`, the page's IoU).
    pub majority: Vec<bool>,
    /// Patches the object's edge crosses (`--truth outline`).
    pub outline: Vec<bool>,
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
    /// How many inference workers computed it, and in how many milliseconds (preparing the
    /// images included).
    pub workers: usize,
    pub ms: f64,
    pub layers: Vec<LayerSummary>,
}

/// An image's file name, label and bytes.
pub type Source = (String, String, Rc<Vec<u8>>);
/// A model file's name and bytes.
pub type ModelBytes = (String, Rc<Vec<u8>>);

/// Everything the components share, passed through Leptos context. All fields are `Copy`.
#[derive(Clone, Copy)]
pub struct AppState {
    /// `workers=` from the URL, kept in it (read by the gallery batch and the training worker).
    pub workers: Option<usize>,
    pub view: RwSignal<View>,
    pub layer: RwSignal<usize>,
    pub head: RwSignal<Option<usize>>,
    pub threshold: RwSignal<f32>,
    pub opacity: RwSignal<f32>,
    /// What the Attention view's big map shows.
    pub map_kind: RwSignal<MapKind>,
    /// Whether the Attention view draws the true mask's outline (images with a known mask).
    pub show_truth: RwSignal<bool>,
    pub sample: RwSignal<Option<String>>,
    pub engine_pref: RwSignal<EnginePref>,
    /// Side of the (square) model input, a multiple of the patch.
    pub input_side: RwSignal<usize>,
    pub fit: RwSignal<Resize>,
    pub samples: RwSignal<Vec<Sample>>,
    /// The bundled models, and which one is on show (None: a file the user loaded).
    pub bundled: RwSignal<Vec<Bundled>>,
    pub model_name: RwSignal<Option<String>>,
    /// The Subspace lab's settings as URL pairs (the lab view owns their meaning).
    pub lab: RwSignal<Vec<(String, String)>>,
    pub model: RwSignal<Option<ModelInfo>>,
    /// The Train view's settings as they appear in the URL.
    pub train_url: RwSignal<Option<String>>,
    pub current: RwSignal<Option<Current>>,
    pub engine: RwSignal<EngineInfo>,
    /// Where inference runs (the inference worker, or the main thread and why).
    pub inference_place: RwSignal<String>,
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
    /// When the first attention map computed on WebGPU appeared (the first map may come from
    /// the CPU engine while WebGPU starts).
    pub first_gpu_map_ms: RwSignal<Option<f64>>,
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
            workers: url.workers,
            view: RwSignal::new(url.view),
            layer: RwSignal::new(url.layer.unwrap_or(usize::MAX)),
            head: RwSignal::new(url.head),
            threshold: RwSignal::new(url.threshold),
            opacity: RwSignal::new(url.opacity),
            map_kind: RwSignal::new(url.map),
            show_truth: RwSignal::new(false),
            sample: RwSignal::new(url.sample.clone()),
            engine_pref: RwSignal::new(url.engine),
            input_side: RwSignal::new(0),
            fit: RwSignal::new(Resize::Stretch),
            samples: RwSignal::new(Vec::new()),
            bundled: RwSignal::new(Vec::new()),
            model_name: RwSignal::new(url.model.clone()),
            lab: RwSignal::new(url.lab.clone()),
            model: RwSignal::new(None),
            train_url: RwSignal::new(url.train.clone()),
            current: RwSignal::new(None),
            engine: RwSignal::new(EngineInfo::default()),
            inference_place: RwSignal::new(String::new()),
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            batch: RwSignal::new(None),
            comparison: RwSignal::new(None),
            heads_prompt: RwSignal::new(None),
            tasks: RwSignal::new(0),
            first_map_ms: RwSignal::new(None),
            first_gpu_map_ms: RwSignal::new(None),
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
        UrlState {
            view: self.view.get(),
            layer: layer_in_url(self.layer.get(), depth),
            head: self.head.get(),
            threshold: self.threshold.get(),
            opacity: self.opacity.get(),
            map: self.map_kind.get(),
            sample: self.sample.get(),
            engine: self.engine_pref.get(),
            model: self.model_name.get(),
            train: self.train_url.get(),
            lab: self.lab.get(),
            workers: self.workers,
        }
    }

    /// The layer on show, clamped to the model's depth (default: the last layer).
    pub fn layer_now(&self) -> usize {
        let depth = self
            .model
            .with(|m| m.as_ref().map_or(1, |m| m.config.depth));
        layer_on_show(self.layer.get(), depth)
    }

    pub fn fail(&self, e: impl std::fmt::Display) {
        self.error.set(Some(e.to_string()));
        self.busy.set(None);
    }
}

//! Draw your own: a small pad at the model's input aspect (brush size, a few colours, an eraser,
//! a solid or patterned brush, clear, a plain or textured background). The patterned brushes
//! paint the `crate-tiles` model's surfaces (dots, grid, blobs, crosses, frames) on the input's
//! 8-pixel grid, so a drawn object can be one that model knows. What is drawn is analysed as an uploaded image
//! named `drawing.png` ([`analyse_drawing`]), a quiet moment after the last stroke and never
//! twice at once ([`DrawSchedule`]), so every view shows the drawing as it grows. "Download PNG"
//! gives exactly the picture last analysed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};

use super::actions::analyse_drawing;
use super::state::AppState;
use super::web::{now_ms, paint, sleep};
use crate::data::image::Rgba8Image;
use crate::data::synthetic::backgrounds::{
    background_rgba, pad_geometry, pattern_tile_rgba, Background,
};
use crate::data::synthetic::Surface;
use crate::page::draw_schedule::{DrawSchedule, Step};
use crate::page::model_choice::input_size;

/// The brush colours: (name, CSS colour).
const COLOURS: [(&str, &str); 6] = [
    ("white", "#ffffff"),
    ("black", "#000000"),
    ("red", "#e53935"),
    ("yellow", "#fdd835"),
    ("green", "#43a047"),
    ("blue", "#1e88e5"),
];
const ERASER: &str = "eraser";

/// A `#rrggbb` colour's channels.
fn css_rgb(css: &str) -> Option<[u8; 3]> {
    let hex = css.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Where the pad stands, shown to the user and read by the browser test (`data-state`).
#[derive(Clone, Copy, PartialEq)]
enum PadState {
    Empty,
    Pending,
    Analysing,
    Analysed,
}

impl PadState {
    fn key(self) -> &'static str {
        match self {
            PadState::Empty => "empty",
            PadState::Pending => "pending",
            PadState::Analysing => "analysing",
            PadState::Analysed => "analysed",
        }
    }

    fn text(self) -> &'static str {
        match self {
            PadState::Empty => "Draw with a mouse, a finger or a pen: the drawing is analysed a moment after each stroke.",
            PadState::Pending => "Drawing…",
            PadState::Analysing => "Analysing your drawing…",
            PadState::Analysed => "Your drawing is on show in every view.",
        }
    }
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// The pointer's position in canvas pixels (the canvas is shown scaled by CSS).
fn canvas_point(canvas: &HtmlCanvasElement, ev: &PointerEvent) -> (f64, f64) {
    let r = canvas.get_bounding_client_rect();
    let sx = canvas.width() as f64 / r.width().max(1.0);
    let sy = canvas.height() as f64 / r.height().max(1.0);
    (
        (ev.client_x() as f64 - r.left()) * sx,
        (ev.client_y() as f64 - r.top()) * sy,
    )
}

/// The canvas as a PNG: its data URL (for the download link) and its bytes (for the analysis).
fn export_png(canvas: &HtmlCanvasElement) -> Result<(String, Vec<u8>), String> {
    let url = canvas
        .to_data_url_with_type("image/png")
        .map_err(|_| "the drawing could not be exported as PNG".to_string())?;
    let b64 = url
        .split_once(',')
        .map(|(_, b)| b)
        .ok_or("the drawing's PNG is malformed")?;
    let binary = web_sys::window()
        .ok_or("no window")?
        .atob(b64)
        .map_err(|_| "the drawing's PNG is malformed".to_string())?;
    // atob gives one char per byte (all below 256).
    let bytes = binary.chars().map(|c| c as u32 as u8).collect();
    Ok((url, bytes))
}

/// A pattern tile's colour, surface and scale.
type TileKey = (&'static str, Surface, usize);

/// Everything the pad's handlers share.
#[derive(Clone)]
struct Pad {
    app: AppState,
    canvas: NodeRef<leptos::html::Canvas>,
    /// The background alone (the eraser paints with it).
    background: HtmlCanvasElement,
    schedule: Rc<RefCell<DrawSchedule>>,
    /// The pointer drawing now and its last position.
    last: Rc<RefCell<Option<(i32, f64, f64)>>>,
    colour: RwSignal<&'static str>,
    /// The brush's surface: solid (`None`) or a tiled pattern in the colour and its partner.
    surface: RwSignal<Option<Surface>>,
    /// Canvas pixels per input pixel (set by `reset`).
    scale: Rc<Cell<usize>>,
    /// The last pattern tile made.
    tile: Rc<RefCell<Option<(TileKey, HtmlCanvasElement)>>>,
    brush: RwSignal<f64>,
    state: RwSignal<PadState>,
    analysed: RwSignal<Option<String>>,
}

impl Pad {
    /// Sizes the pad to the model's input and paints the background (the drawing is cleared).
    fn reset(&self, input: [usize; 2], bg: Background) {
        let Some(canvas) = self.canvas.get_untracked() else {
            return;
        };
        let (w, h, scale) = pad_geometry(input);
        self.scale.set(scale);
        let img = Rgba8Image {
            width: w as u32,
            height: h as u32,
            data: background_rgba(bg, w, h, scale),
        };
        paint(&self.background, &img);
        paint(&canvas, &img);
    }

    /// The canvas holding one tile of `kind` in `colour` at the pad's scale (made once per
    /// colour, pattern and scale).
    fn tile(&self, colour: &'static str, kind: Surface) -> Option<HtmlCanvasElement> {
        let scale = self.scale.get();
        let key = (colour, kind, scale);
        if let Some((k, c)) = self.tile.borrow().as_ref() {
            if *k == key {
                return Some(c.clone());
            }
        }
        let canvas = web_sys::window()?
            .document()?
            .create_element("canvas")
            .ok()?
            .dyn_into::<HtmlCanvasElement>()
            .ok()?;
        let side = 8 * scale.max(1) as u32;
        paint(
            &canvas,
            &Rgba8Image {
                width: side,
                height: side,
                data: pattern_tile_rgba(kind, css_rgb(colour)?, scale),
            },
        );
        *self.tile.borrow_mut() = Some((key, canvas.clone()));
        Some(canvas)
    }

    /// Sets the stroke and fill to the chosen colour (or its pattern, repeated from the canvas's
    /// corner so it lies on the input's grid), or to the background for the eraser.
    fn style(&self, ctx: &CanvasRenderingContext2d) {
        let colour = self.colour.get_untracked();
        let pattern = self
            .surface
            .get_untracked()
            .filter(|_| colour != ERASER)
            .and_then(|kind| self.tile(colour, kind))
            .and_then(|tile| {
                ctx.create_pattern_with_html_canvas_element(&tile, "repeat")
                    .ok()
                    .flatten()
            });
        if let Some(p) = pattern {
            ctx.set_stroke_style_canvas_pattern(&p);
            ctx.set_fill_style_canvas_pattern(&p);
        } else if colour == ERASER {
            if let Ok(Some(p)) =
                ctx.create_pattern_with_html_canvas_element(&self.background, "no-repeat")
            {
                ctx.set_stroke_style_canvas_pattern(&p);
                ctx.set_fill_style_canvas_pattern(&p);
            }
        } else {
            ctx.set_stroke_style_str(colour);
            ctx.set_fill_style_str(colour);
        }
        ctx.set_line_width(self.brush.get_untracked());
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
    }

    fn down(&self, ev: &PointerEvent) {
        // Mouse: the main button only; touch and pen always draw.
        if ev.pointer_type() == "mouse" && ev.button() != 0 {
            return;
        }
        let Some(canvas) = self.canvas.get_untracked() else {
            return;
        };
        ev.prevent_default();
        // Keeps the stroke when the pointer leaves the pad; a synthetic pointer may refuse it.
        let _ = canvas.set_pointer_capture(ev.pointer_id());
        let (x, y) = canvas_point(&canvas, ev);
        if let Some(ctx) = context(&canvas) {
            self.style(&ctx);
            ctx.begin_path();
            let _ = ctx.arc(
                x,
                y,
                self.brush.get_untracked() / 2.0,
                0.0,
                std::f64::consts::TAU,
            );
            ctx.fill();
        }
        *self.last.borrow_mut() = Some((ev.pointer_id(), x, y));
        self.changed();
    }

    fn moved(&self, ev: &PointerEvent) {
        let Some((id, x0, y0)) = *self.last.borrow() else {
            return;
        };
        let Some(canvas) = self.canvas.get_untracked() else {
            return;
        };
        if id != ev.pointer_id() {
            return;
        }
        ev.prevent_default();
        let (x, y) = canvas_point(&canvas, ev);
        if let Some(ctx) = context(&canvas) {
            self.style(&ctx);
            ctx.begin_path();
            ctx.move_to(x0, y0);
            ctx.line_to(x, y);
            ctx.stroke();
        }
        *self.last.borrow_mut() = Some((id, x, y));
        self.changed();
    }

    fn up(&self, ev: &PointerEvent) {
        let mut last = self.last.borrow_mut();
        if last.is_some_and(|(id, _, _)| id == ev.pointer_id()) {
            *last = None;
        }
    }

    /// The picture changed: analyse it once it has been quiet for a moment.
    fn changed(&self) {
        self.state.set(PadState::Pending);
        if self.schedule.borrow_mut().changed(now_ms()) {
            let pad = self.clone();
            spawn_local(async move { pad.drive().await });
        }
    }

    /// The one driver loop: waits for quiet, analyses, and again while strokes keep coming.
    async fn drive(self) {
        loop {
            let step = self.schedule.borrow_mut().next(now_ms());
            match step {
                Step::Idle => break,
                Step::Wait(ms) => sleep(ms.ceil() as i32).await,
                Step::Start => {
                    let Some(canvas) = self.canvas.get_untracked() else {
                        self.schedule.borrow_mut().finished();
                        continue;
                    };
                    self.state.set(PadState::Analysing);
                    match export_png(&canvas) {
                        Ok((url, png)) => {
                            analyse_drawing(self.app, png).await;
                            self.analysed.set(Some(url));
                        }
                        Err(e) => self.app.fail(e),
                    }
                    self.schedule.borrow_mut().finished();
                    if !self.schedule.borrow().pending() {
                        self.state.set(PadState::Analysed);
                    }
                }
            }
        }
    }
}

#[component]
pub fn DrawPad() -> impl IntoView {
    let app = expect_context::<AppState>();
    let background_canvas = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok());
    let Some(background_canvas) = background_canvas else {
        return view! { <p class="muted small">"The drawing pad needs a canvas."</p> }.into_any();
    };
    let bg = RwSignal::new(Background::Black);
    let pad = Pad {
        app,
        canvas: NodeRef::new(),
        background: background_canvas,
        schedule: Rc::new(RefCell::new(DrawSchedule::default())),
        last: Rc::new(RefCell::new(None)),
        colour: RwSignal::new(COLOURS[0].1),
        surface: RwSignal::new(None),
        scale: Rc::new(Cell::new(1)),
        tile: Rc::new(RefCell::new(None)),
        brush: RwSignal::new(20.0),
        state: RwSignal::new(PadState::Empty),
        analysed: RwSignal::new(None),
    };
    // The pad follows the model's input aspect and the chosen background; a change clears it.
    let input = Memo::new(move |_| {
        app.model
            .with(|m| {
                m.as_ref()
                    .map(|m| input_size(&m.config, app.input_side.get()))
            })
            .unwrap_or([28, 28])
    });
    {
        let pad = pad.clone();
        Effect::new(move |_| {
            let (size, b) = (input.get(), bg.get());
            pad.canvas.track();
            pad.reset(size, b);
        });
    }
    let (p1, p2, p3, p4, p5) = (
        pad.clone(),
        pad.clone(),
        pad.clone(),
        pad.clone(),
        pad.clone(),
    );
    let (clear, restyle) = (pad.clone(), pad.clone());
    let state = pad.state;
    let analysed = pad.analysed;
    let colour = pad.colour;
    let surface = pad.surface;
    let brush = pad.brush;
    let swatches = COLOURS
        .iter()
        .map(|&(name, css)| {
            view! {
                <button
                    class="swatch"
                    style=format!("--swatch: {css}")
                    aria-label=format!("brush colour {name}")
                    title=name
                    data-colour=name
                    aria-pressed=move || (colour.get() == css).to_string()
                    on:click=move |_| colour.set(css)
                ></button>
            }
        })
        .collect_view();
    let surfaces = std::iter::once(None)
        .chain(Surface::TILED.map(Some))
        .map(|kind| {
            let name = kind.map_or("solid", Surface::name);
            view! {
                <button
                    class="surface"
                    data-surface=name
                    aria-pressed=move || (surface.get() == kind).to_string()
                    on:click=move |_| surface.set(kind)
                >
                    {name}
                </button>
            }
        })
        .collect_view();
    let backgrounds = Background::ALL
        .iter()
        .map(|b| view! { <option value=b.key() selected=move || bg.get() == *b>{b.key()}</option> })
        .collect_view();
    view! {
        <section class="draw-pad" aria-label="Draw your own" data-state=move || state.get().key()>
            <h2>"Draw your own"</h2>
            <canvas
                node_ref=pad.canvas
                id="draw-canvas"
                role="img"
                aria-label="Drawing pad, at the model's input aspect"
                on:pointerdown=move |ev| p1.down(&ev)
                on:pointermove=move |ev| p2.moved(&ev)
                on:pointerup=move |ev| p3.up(&ev)
                on:pointercancel=move |ev| p4.up(&ev)
                on:lostpointercapture=move |ev| p5.up(&ev)
            ></canvas>
            <div class="draw-tools" role="group" aria-label="Brush">
                {swatches}
                <button
                    class="eraser"
                    data-colour=ERASER
                    aria-pressed=move || (colour.get() == ERASER).to_string()
                    on:click=move |_| colour.set(ERASER)
                >
                    "eraser"
                </button>
            </div>
            <div
                class="draw-tools"
                role="group"
                aria-label="Brush surface"
                title="Patterns of the crate-tiles model's classes, on the input's 8-pixel grid"
            >
                {surfaces}
            </div>
            <div class="draw-tools">
                <label>
                    "size "
                    <input
                        id="draw-brush"
                        type="range"
                        min="2"
                        max="60"
                        step="1"
                        prop:value=move || brush.get().to_string()
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                brush.set(v)
                            }
                        }
                    />
                </label>
                <label>
                    "background "
                    <select
                        id="draw-background"
                        on:change=move |ev| {
                            if let Some(b) = Background::from_key(&event_target_value(&ev)) {
                                bg.set(b);
                                // The pad is repainted (cleared) by the effect above first.
                                restyle.changed();
                            }
                        }
                    >
                        {backgrounds}
                    </select>
                </label>
            </div>
            <div class="draw-tools">
                <button
                    id="draw-clear"
                    on:click=move |_| {
                        clear.reset(input.get_untracked(), bg.get_untracked());
                        clear.changed();
                    }
                >
                    "clear"
                </button>
                {move || {
                    analysed
                        .get()
                        .map(|url| {
                            view! {
                                <a id="draw-download" class="button" href=url download="drawing.png">
                                    "download PNG"
                                </a>
                            }
                        })
                }}
            </div>
            <p class="muted small" role="status">{move || state.get().text()}</p>
        </section>
    }
    .into_any()
}

//! A scatter plot on a canvas: 2-D, or 3-D with drag rotation; a colour per point, marked points
//! (drawn as outlined diamonds, e.g. the CLS token), a highlighted point, hover → index callback,
//! and a smooth glide when the points change to a new set of the same size (e.g. the next layer).

use std::sync::Arc;

use leptos::leptos_dom::helpers::request_animation_frame;
use leptos::prelude::*;

use super::canvas::{self, rgba, Area, Scale, AXIS, HIGHLIGHT};
use crate::ui::web::now_ms;
use crate::viz::axis::format_value;

/// Points within this many CSS pixels of the pointer are hovered.
const HOVER_PX: f64 = 9.0;

/// Rows of 2 or 3 coordinates.
pub type Points = Arc<Vec<Vec<f64>>>;

/// A scatter plot.
///
/// - `points`: one row of 2 or 3 coordinates per point; drawn in data order, or back to front
///   in 3-D.
/// - `colors`: one colour per point (missing ones are grey).
/// - `radius`: the axes run over `[-radius, radius]` on every side, so side-by-side panels given
///   the same radius share their axes and the aspect ratio is 1 (distances are comparable).
/// - `three_d`: use the third coordinate, rotated by `rotation` = `[yaw, pitch]` in radians;
///   dragging changes it. Pass the same `RwSignal` to several panels to rotate them together.
/// - `marked`: points drawn as larger outlined diamonds; `highlight`: the point outlined (as if
///   hovered), e.g. from hovering its patch elsewhere.
/// - `on_hover`: the nearest point within 9 px of the pointer, or `None` when it leaves.
/// - `describe`: the hover readout for a point (default: its index and coordinates).
/// - `transition_ms`: when `points` changes to a set of the same size, the points glide from
///   where they were over this many milliseconds (default 350; 0 jumps).
#[component]
pub fn ScatterPlot(
    #[prop(into)] points: Signal<Points>,
    #[prop(into)] colors: Signal<Arc<Vec<[u8; 3]>>>,
    #[prop(into)] radius: Signal<f64>,
    #[prop(into)] title: String,
    #[prop(optional, into)] x_label: String,
    #[prop(optional, into)] y_label: String,
    #[prop(optional, into)] three_d: MaybeProp<bool>,
    #[prop(optional)] rotation: Option<RwSignal<[f64; 2]>>,
    #[prop(optional, into)] marked: MaybeProp<Vec<usize>>,
    #[prop(optional, into)] highlight: MaybeProp<usize>,
    #[prop(optional)] on_hover: Option<Callback<Option<usize>>>,
    #[prop(optional)] describe: Option<Callback<usize, String>>,
    #[prop(optional)] transition_ms: Option<f64>,
    #[prop(optional)] size: Option<f64>,
    #[prop(optional, into)] id: String,
) -> impl IntoView {
    let size = size.unwrap_or(300.0);
    let duration = transition_ms.unwrap_or(350.0);
    let node = NodeRef::<leptos::html::Canvas>::new();
    let rotation = rotation.unwrap_or_else(|| RwSignal::new([0.6, 0.35]));
    let hovered = canvas::Hover::new(on_hover, canvas::same);
    // The glide: from where the points were to the new set, started at `start` (ms).
    let from = StoredValue::new(Vec::<Vec<f64>>::new());
    let target = StoredValue::new(Points::default());
    let start = StoredValue::new(0.0f64);
    let frame_gen = StoredValue::new(0u64);
    // Where each point is drawn now, for hovering.
    let screen = StoredValue::new(Vec::<(f64, f64)>::new());
    let drag = StoredValue::new(None::<(f64, f64)>);
    let labels = StoredValue::new((x_label, y_label));

    let positions = move |now: f64| -> (Vec<Vec<f64>>, bool) {
        let to = target.get_value();
        let f = from.get_value();
        let t = if duration > 0.0 {
            ((now - start.get_value()) / duration).clamp(0.0, 1.0)
        } else {
            1.0
        };
        if t >= 1.0 || f.len() != to.len() {
            return (to.to_vec(), false);
        }
        // Ease in and out.
        let e = t * t * (3.0 - 2.0 * t);
        let pts = f
            .iter()
            .zip(to.iter())
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + (y - x) * e).collect())
            .collect();
        (pts, true)
    };

    let draw = move |pts: &[Vec<f64>]| {
        let Some(el) = node.get_untracked() else {
            return;
        };
        let Some(ctx) = canvas::surface(&el, size, size) else {
            return;
        };
        let area = Area::with_margins(size, size, [8.0, 8.0, 34.0, 46.0]);
        let r = radius.get_untracked().max(1e-12);
        let xs = Scale::linear(-r, r, area.left, area.right);
        let ys = Scale::linear(-r, r, area.bottom, area.top);
        let solid = three_d.get_untracked().unwrap_or(false);
        let [yaw, pitch] = rotation.get_untracked();
        let (cy, sy, cp, sp) = (yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin());
        // (screen x, screen y, depth) of a point.
        let project = |p: &[f64]| -> (f64, f64, f64) {
            let (x, y) = (
                p.first().copied().unwrap_or(0.0),
                p.get(1).copied().unwrap_or(0.0),
            );
            if !solid {
                return (xs.map(x), ys.map(y), 0.0);
            }
            let z = p.get(2).copied().unwrap_or(0.0);
            let x1 = x * cy + z * sy;
            let z1 = -x * sy + z * cy;
            let y1 = y * cp - z1 * sp;
            let depth = y * sp + z1 * cp;
            (xs.map(x1), ys.map(y1), depth)
        };
        if solid {
            // The three principal axes as arrows from the origin instead of a grid.
            ctx.set_font(canvas::FONT);
            ctx.set_line_width(1.0);
            for (k, name) in ["PC1", "PC2", "PC3"].iter().enumerate() {
                let mut e = [0.0; 3];
                e[k] = r * 0.9;
                let (x0, y0, _) = project(&[0.0, 0.0, 0.0]);
                let (x1, y1, _) = project(&e);
                ctx.set_stroke_style_str(AXIS);
                canvas::line(&ctx, x0, y0, x1, y1);
                ctx.set_fill_style_str(AXIS);
                canvas::text(&ctx, name, x1, y1, "center", "bottom");
            }
            ctx.set_stroke_style_str(AXIS);
            ctx.stroke_rect(area.left, area.top, area.width(), area.height());
        } else {
            labels.with_value(|(xl, yl)| canvas::axes(&ctx, &area, Some(&xs), Some(&ys), xl, yl));
        }
        let colors = colors.get_untracked();
        let marked = marked.get_untracked().unwrap_or_default();
        let proj: Vec<(f64, f64, f64)> = pts.iter().map(|p| project(p)).collect();
        let mut order: Vec<usize> = (0..pts.len()).collect();
        if solid {
            order.sort_by(|&a, &b| proj[b].2.total_cmp(&proj[a].2));
        }
        ctx.save();
        ctx.begin_path();
        ctx.rect(area.left, area.top, area.width(), area.height());
        ctx.clip();
        for &i in &order {
            if marked.contains(&i) {
                continue;
            }
            let (x, y, _) = proj[i];
            ctx.set_fill_style_str(&rgba(colors.get(i).copied().unwrap_or([128; 3]), 0.85));
            ctx.begin_path();
            let _ = ctx.arc(x, y, 3.2, 0.0, std::f64::consts::TAU);
            ctx.fill();
        }
        for &i in &marked {
            let Some(&(x, y, _)) = proj.get(i) else {
                continue;
            };
            ctx.set_fill_style_str(&rgba(colors.get(i).copied().unwrap_or([128; 3]), 1.0));
            ctx.set_stroke_style_str("#111");
            ctx.set_line_width(1.5);
            ctx.begin_path();
            ctx.move_to(x, y - 7.0);
            ctx.line_to(x + 7.0, y);
            ctx.line_to(x, y + 7.0);
            ctx.line_to(x - 7.0, y);
            ctx.close_path();
            ctx.fill();
            ctx.stroke();
        }
        let lit = hovered.get_untracked().or(highlight.get_untracked());
        if let Some(&(x, y, _)) = lit.and_then(|i| proj.get(i)) {
            ctx.set_stroke_style_str(HIGHLIGHT);
            ctx.set_line_width(2.5);
            ctx.begin_path();
            let _ = ctx.arc(x, y, 7.5, 0.0, std::f64::consts::TAU);
            ctx.stroke();
        }
        ctx.restore();
        screen.set_value(proj.iter().map(|p| (p.0, p.1)).collect());
    };

    // A frame of the glide; schedules the next while it lasts. A newer glide stops older loops.
    fn animate(
        gen: u64,
        frame_gen: StoredValue<u64>,
        positions: impl Fn(f64) -> (Vec<Vec<f64>>, bool) + Copy + 'static,
        draw: impl Fn(&[Vec<f64>]) + Copy + 'static,
    ) {
        // The plot may be gone (a tab switch): its stored values are then disposed.
        if frame_gen.try_get_value() != Some(gen) {
            return;
        }
        let (pts, more) = positions(now_ms());
        draw(&pts);
        if more {
            request_animation_frame(move || animate(gen, frame_gen, positions, draw));
        }
    }

    // New points: glide from where they are drawn now.
    Effect::new(move |_| {
        let new = points.get();
        let now = now_ms();
        let (shown, _) = positions(now);
        from.set_value(shown);
        target.set_value(new);
        start.set_value(now);
        frame_gen.update_value(|g| *g += 1);
        let gen = frame_gen.get_value();
        request_animation_frame(move || animate(gen, frame_gen, positions, draw));
    });
    // Anything else: redraw where the points are.
    Effect::new(move |_| {
        colors.track();
        radius.track();
        three_d.track();
        rotation.track();
        marked.track();
        highlight.track();
        hovered.track();
        node.track();
        let (pts, _) = positions(now_ms());
        draw(&pts);
    });

    let on_move = move |ev: web_sys::MouseEvent| {
        let (x, y) = canvas::pointer(&ev);
        if let Some((x0, y0)) = drag.get_value() {
            if three_d.get_untracked().unwrap_or(false) {
                rotation.update(|r| {
                    r[0] += (x - x0) * 0.01;
                    r[1] = (r[1] + (y - y0) * 0.01).clamp(-1.5, 1.5);
                });
                drag.set_value(Some((x, y)));
                return;
            }
        }
        let best = screen.with_value(|s| {
            s.iter()
                .enumerate()
                .map(|(i, &(px, py))| (i, (px - x).hypot(py - y)))
                .filter(|&(_, dist)| dist <= HOVER_PX)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        });
        hovered.set(best);
    };
    let on_leave = move |_| {
        drag.set_value(None);
        hovered.leave();
    };
    let readout = move || {
        let i = hovered.get().or(highlight.get())?;
        Some(match describe {
            Some(d) => d.run(i),
            None => points.with(|p| {
                p.get(i)
                    .map(|row| {
                        let c: Vec<String> = row.iter().map(|&v| format_value(v)).collect();
                        format!("point {i}: ({})", c.join(", "))
                    })
                    .unwrap_or_default()
            }),
        })
    };
    let hint = move || {
        three_d
            .get()
            .unwrap_or(false)
            .then_some(" · drag to rotate")
    };
    view! {
        <figure class="plot scatter" id=(!id.is_empty()).then_some(id)>
            <figcaption>{title.clone()}<span class="muted small">{hint}</span></figcaption>
            <canvas
                node_ref=node
                role="img"
                aria-label=title.clone()
                class:rotatable=move || three_d.get().unwrap_or(false)
                on:mousemove=on_move
                on:mouseleave=on_leave
                on:mousedown=move |ev: web_sys::MouseEvent| {
                    drag.set_value(Some(canvas::pointer(&ev)));
                }
                on:mouseup=move |_| drag.set_value(None)
            ></canvas>
            <p class="readout">{readout}</p>
        </figure>
    }
}

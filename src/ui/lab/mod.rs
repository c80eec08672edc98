//! The Subspace lab's pieces: the settings panel with presets ([`controls`]), the plots with
//! their explanations ([`panels`], [`explain`]). The numbers come from `analysis::lab`.

pub mod controls;
pub mod explain;
pub mod panels;

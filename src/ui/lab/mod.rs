//! The Subspace lab's pieces: the settings panel with presets ([`controls`]), the plots with
//! their explanations ([`panels`], [`explain`]), the learned CRATE's panel and its worker client
//! ([`learned`], [`recover_client`]). The numbers come from `analysis::lab`.

pub mod controls;
pub mod explain;
pub mod learned;
pub mod panels;
pub mod recover_client;

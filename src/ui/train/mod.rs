//! The Train view's parts: the worker that trains ([`worker`], its own wasm), the main thread's
//! side of it ([`client`]), and the charts ([`charts`]). The view is [`super::train_view`].

pub mod charts;
pub mod client;
pub mod engine;
pub mod helper;
pub mod worker;

//! Every integration test file, as a module of the one test binary `tests/main.rs` (one link
//! of the library and its dependencies instead of one per file). Run one file's tests with
//! `cargo test --test main <file>::`.

mod cli;
mod cpu_engine;
mod datasets;
mod default_model;
mod fmnist_web;
mod golden;
mod gpu_backward_kernels;
mod gpu_forward;
mod gpu_kernels;
mod gpu_train;
mod grad_check;
mod hostile;
mod images;
mod lab;
mod official;
mod own_images;
mod rollout;
mod segment;
mod shapes_model;
mod subspaces;
mod subspaces_bundled;
mod train;
mod train_data;
mod train_select;
mod train_session;
mod weights_io;

//! The `whitebox` command line (native only): clap definitions and one module per subcommand.

mod bench;
mod common;
mod convert;
mod dataset;
mod datasets;
mod forward;
mod info;
mod init;
mod lab;
mod progress;
mod segment;
mod selftest;
mod subspaces;
mod train;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};

/// See inside CRATE, the white-box transformer: each layer compresses tokens onto subspaces
/// (MSSA) and then sparsifies them (ISTA). This tool inspects, converts, runs and benchmarks
/// CRATE models; the page (`trunk serve`) shows the same interactively.
#[derive(Parser, Debug)]
#[command(name = "whitebox", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  whitebox init --preset crate-fmnist -o model.safetensors
  whitebox info crate_tiny.pth --heads 6
  whitebox convert crate_base.pth.tar -o crate-b.safetensors
  whitebox forward --weights model.safetensors --image cat.jpg
  whitebox bench --engine cpu --preset crate-t
  whitebox train --dataset fmnist --preset crate-fmnist --epochs 10 --out runs/fmnist";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a weight file's config, parameter count, and what was inferred or assumed.
    Info(info::Args),
    /// Write a freshly initialised model (seeded) as safetensors, ready to train.
    Init(init::Args),
    /// Convert an official PyTorch checkpoint (.pth / .pth.tar) or safetensors file into a
    /// self-describing safetensors file (config in its metadata, official key names kept).
    Convert(convert::Args),
    /// Run images through a model: top-5 predictions and, per layer, compression (R^c) and
    /// sparsity; `--json` for machine-readable output, `--dump` for the raw trace tensors.
    Forward(forward::Args),
    /// Measure forward speed (ms/image, GFLOP/s) of an engine on a preset with random weights.
    Bench(bench::Args),
    /// Print the numbers of a fixed, seeded forward pass as JSON; the page prints the same at
    /// `?selftest`, and scripts/wasm-selftest.sh checks that both builds agree.
    Selftest,
    /// Train a CRATE (CPU reference backward): AdamW or Lion, warm-up + cosine, evaluation and
    /// per-layer R^c / sparsity every epoch, checkpoints every epoch and on Ctrl-C, exact
    /// `--resume`.
    Train(Box<train::Args>),
    /// Score each layer's and head's CLS attention as a segmentation: mIoU against true masks
    /// (synthetic shapes, or a folder of image + mask pairs).
    Segment(segment::Args),
    /// Write the data files the page bundles (`dataset fmnist-web`: the Fashion-MNIST subset).
    Dataset(dataset::Args),
    /// The Subspaces view's numbers for one image as JSON lines (one per layer and head): token
    /// coordinates in a head's subspace, per-head energies and R^c, subspace overlap, sparse
    /// codes, spectra.
    Subspaces(subspaces::Args),
    /// The Subspace lab: CRATE's operators on tokens from known subspaces (run, recover, presets).
    Lab(lab::Args),
}

/// Which engine runs the model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// The CPU reference engine (threads natively).
    Cpu,
    /// The WGSL compute-shader engine on wgpu (adapter: WHITEBOX_ADAPTER=<name substring>,
    /// backend: WGPU_BACKEND).
    Gpu,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Info(a) => info::run(a),
        Command::Init(a) => init::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Forward(a) => forward::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Selftest => selftest::run(),
        Command::Train(a) => train::run(*a),
        Command::Segment(a) => segment::run(a),
        Command::Dataset(a) => dataset::run(a),
        Command::Subspaces(a) => subspaces::run(a),
        Command::Lab(a) => lab::run_cmd(a),
    }
}

/// Creates the engine asked for.
fn make_engine(kind: EngineKind, model: crate::Model) -> anyhow::Result<Box<dyn crate::Engine>> {
    match kind {
        EngineKind::Cpu => Ok(Box::new(crate::cpu::CpuEngine::new(model))),
        EngineKind::Gpu => Ok(Box::new(crate::gpu::GpuEngine::new_blocking(model)?)),
    }
}

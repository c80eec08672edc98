//! `whitebox dataset`: writes the data files the page bundles.

use std::path::PathBuf;

use anyhow::Context;

use crate::data::fmnist::{self, FashionMnist, Split};
use crate::data::fmnist_web::{self, WEB_TEST, WEB_TRAIN};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// The Fashion-MNIST subset for the page: the first --train images of the training split
    /// and the first --test of t10k, as gzip IDX files (standard names) + index.json (counts,
    /// lengths, SHA-256, licence) + README.md.
    FmnistWeb {
        /// Output directory (created).
        #[arg(long, default_value = "web/datasets/fashion-mnist")]
        out: PathBuf,
        /// The full Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value_t = WEB_TRAIN)]
        train: usize,
        #[arg(long, default_value_t = WEB_TEST)]
        test: usize,
    },
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.what {
        What::FmnistWeb {
            out,
            data,
            train,
            test,
        } => {
            let dir = fmnist::resolve_dir(data.as_deref());
            let tr = FashionMnist::load_dir(&dir, Split::Train)?;
            let te = FashionMnist::load_dir(&dir, Split::Test)?;
            let source = format!("Debian's dataset-fashion-mnist ({})", dir.display());
            let subset = fmnist_web::build(&tr, &te, train, test, &source)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for (name, bytes) in &subset.files {
                let p = out.join(name);
                std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
                println!("{} ({} bytes)", p.display(), bytes.len());
            }
            Ok(())
        }
    }
}

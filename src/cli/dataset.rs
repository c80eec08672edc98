//! `whitebox dataset`: writes the data files the page bundles.

use std::path::PathBuf;

use anyhow::Context;

use crate::data::fmnist::{self, FashionMnist, Split};
use crate::data::fmnist_web::{self, WEB_TEST, WEB_TRAIN};
use crate::data::image_u8::ImageU8;
use crate::data::synthetic::{ShapesConfig, ShapesDataset};

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
    /// Synthetic shapes as NAME.png + NAME.mask.png pairs (mask: white object on black), the
    /// images `train --dataset shapes` and `segment --dataset shapes` generate for the same
    /// size and seed; `segment --pairs DIR` scores them.
    Shapes {
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Image side in pixels.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// The dataset seed (`segment --dataset shapes` uses 0x5eed7e57 = 1592622679).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// First sample index.
        #[arg(long, default_value_t = 0)]
        first: usize,
        /// Number of samples (labels cycle through the five shapes).
        #[arg(long, default_value_t = 5)]
        count: usize,
        #[command(flatten)]
        shapes: super::datasets::ShapesArgs,
        /// File name prefix: PREFIX-INDEX-CLASS.png.
        #[arg(long, default_value = "shapes")]
        prefix: String,
    },
}

fn write_png(path: &std::path::Path, img: &ImageU8) -> anyhow::Result<()> {
    let color = match img.channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        c => anyhow::bail!("cannot write a {c}-channel PNG"),
    };
    image::save_buffer_with_format(
        path,
        &img.pixels,
        img.width as u32,
        img.height as u32,
        color,
        image::ImageFormat::Png,
    )
    .with_context(|| format!("writing {}", path.display()))
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
        What::Shapes {
            out,
            size,
            seed,
            first,
            count,
            shapes,
            prefix,
        } => {
            let ds = ShapesDataset::new(shapes.apply(ShapesConfig {
                size: [size, size],
                len: first + count,
                seed,
                ..ShapesConfig::default()
            }))?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let names = ds.class_names();
            for i in first..first + count {
                let s = ds.sample(i);
                let stem = format!("{prefix}-{i:04}-{}", names[s.label]);
                let mask = ImageU8 {
                    height: size,
                    width: size,
                    channels: 1,
                    pixels: s.mask.iter().map(|&m| m * 255).collect(),
                };
                write_png(&out.join(format!("{stem}.png")), &s.image)?;
                write_png(&out.join(format!("{stem}.mask.png")), &mask)?;
                println!("{}", out.join(format!("{stem}.png")).display());
            }
            Ok(())
        }
    }
}

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Weight file: safetensors, or an official PyTorch checkpoint (.pth / .pth.tar).
    pub weights: PathBuf,
    /// Number of heads, for checkpoints that do not record it.
    #[arg(long, value_parser = super::validate::heads)]
    pub heads: Option<usize>,
    /// Print the config as JSON only.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let loaded = super::common::load_weights(&a.weights, a.heads)?;
    let cfg = &loaded.model.config;
    if a.json {
        println!("{}", serde_json::to_string(cfg)?);
        return Ok(());
    }
    println!("{} ({})", a.weights.display(), loaded.format);
    println!(
        "  dim {}  depth {}  heads {} (head dim {})",
        cfg.dim,
        cfg.depth,
        cfg.heads,
        cfg.head_dim()
    );
    println!(
        "  patch {}  image {}x{}  channels {}  tokens {}",
        cfg.patch,
        cfg.image[0],
        cfg.image[1],
        cfg.channels,
        cfg.tokens()
    );
    println!(
        "  classes {}{}",
        cfg.classes,
        if cfg.class_names.is_some() {
            " (named)"
        } else {
            ""
        }
    );
    let head = crate::model::Weights::spec(cfg).head;
    if let (Some(m), Some((extra, _))) = (cfg.pre_head_dim, head.w2) {
        let name = |k: &str| k.trim_end_matches(".weight").to_string();
        println!(
            "  head: {} to {m}, then an extra `{}` Linear (segmentation demo variant)",
            name(&head.w1.key),
            name(&extra.key)
        );
    }
    println!("  ISTA eta {}  lambda {}", cfg.eta, cfg.lambda);
    println!("  normalisation mean {:?}  std {:?}", cfg.mean, cfg.std);
    println!("  parameters {}", loaded.model.params.count());
    let flops = cfg.forward_flops(cfg.image[0], cfg.image[1]);
    println!(
        "  forward {:.2} GFLOP/image at {}x{}",
        flops / 1e9,
        cfg.image[0],
        cfg.image[1]
    );
    if loaded.notes.is_empty() {
        println!("  nothing assumed: the file records its config");
    } else {
        for n in &loaded.notes {
            println!("  note: {n}");
        }
    }
    Ok(())
}

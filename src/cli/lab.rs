//! `whitebox lab`: the Subspace lab's numbers natively (`analysis::lab`), to set beside the page's
//! `#wb-lab-report`: `run` unrolls the idealised operators on a preset (plus `--set key=value`
//! overrides, the page's URL keys) and prints the report; `recover` trains a small CRATE on the
//! mixture and prints the mean principal angle between its heads and the true subspaces over
//! the steps; `presets` lists the presets with their sentences.

use anyhow::Context;

use crate::analysis::lab::recover::{recover, RecoverConfig};
use crate::analysis::lab::{preset, presets, run, LabConfig, LabInputs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// The preset to start from (`whitebox lab presets` lists them).
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// Override one setting, KEY=VALUE with the page's URL keys (k, p, d, n, delta, noise, orth,
    /// seed, layers, eta, phi, theta, heads, q, ista, dict, ista_eta, lambda, focus, cpts,
    /// cnoise); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl Settings {
    fn config(&self) -> anyhow::Result<LabConfig> {
        let mut c = preset(&self.preset)?;
        for kv in &self.set {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
            c.set(k, v)?;
        }
        c.validate()?;
        Ok(c)
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Unroll the idealised MSSA (and ISTA) steps with the true bases and print every measure.
    Run {
        #[command(flatten)]
        settings: Settings,
        /// The whole report as JSON (what the page keeps in #wb-lab-report).
        #[arg(long)]
        json: bool,
    },
    /// Train a small CRATE on the mixture and track how well its heads recover the subspaces.
    /// The defaults are the page's learned CRATE (K+1 heads, lifted tokens, the supervised
    /// compression term beside the cross-entropy); `--plain` starts from cross-entropy alone.
    Recover {
        #[command(flatten)]
        settings: Settings,
        /// Start from the cross-entropy baseline (K heads, plain tokens, no compression term).
        #[arg(long)]
        plain: bool,
        /// Training steps [default: 2000; plain 600].
        #[arg(long)]
        steps: Option<u64>,
        /// Model heads [default: K+1; plain K].
        #[arg(long)]
        heads: Option<usize>,
        /// Layers of the model [default: 1].
        #[arg(long)]
        depth: Option<usize>,
        /// Learning rate (AdamW) [default: 3e-3].
        #[arg(long)]
        lr: Option<f32>,
        /// [default: 32]
        #[arg(long)]
        batch: Option<usize>,
        /// AdamW weight decay [default: 0.05].
        #[arg(long)]
        wd: Option<f32>,
        /// Tokens per training sample, all from the sample's subspace [default: 8].
        #[arg(long)]
        tokens: Option<usize>,
        /// Measure every this many steps [default: 50; plain 25].
        #[arg(long)]
        every: Option<u64>,
        /// Weight of the supervised compression term added to the cross-entropy, 0: none
        /// [default: 1; plain 0].
        #[arg(long)]
        rate: Option<f32>,
        /// ε of that term's coding rate [default: 0.5].
        #[arg(long)]
        rate_eps: Option<f32>,
        /// Take that term's gradient back through the patch embedding too [default: true;
        /// plain false].
        #[arg(long)]
        rate_embed: Option<bool>,
        /// Extra channels that make each token sum to zero, 0: none [default: 4; plain 0].
        #[arg(long)]
        lift: Option<usize>,
        /// The whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the presets and their "You could try…" sentences.
    Presets,
    /// Print a preset's settings and generated inputs (tokens, labels, bases, heads, points) and
    /// the first-layer weights of a CRATE trained `--steps` steps on its mixture, as JSON: what
    /// tools/lab_ref.py reads to write the fixtures.
    Inputs {
        #[command(flatten)]
        settings: Settings,
        #[arg(long, default_value_t = 40)]
        steps: u64,
    },
}

pub fn run_cmd(a: Args) -> anyhow::Result<()> {
    match a.command {
        LabCommand::Run { settings, json } => {
            let r = run(&settings.config()?)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
                return Ok(());
            }
            println!("settings: {}", r.config.to_query());
            println!("tokens per subspace: {:?}", r.counts);
            println!(
                "smallest principal angle between true subspaces: {:.2}°",
                r.min_angle
            );
            println!("layer  SNR per subspace (theory line)        R^c    non-zero");
            for l in 0..r.snr.len() {
                let s: Vec<String> = r.snr[l]
                    .iter()
                    .zip(&r.theory[l])
                    .map(|(a, b)| format!("{a:.3} ({b:.3})"))
                    .collect();
                let nz = if l > 0 {
                    r.nonzero
                        .get(l - 1)
                        .map_or(String::new(), |v| format!("{v:.3}"))
                } else {
                    String::new()
                };
                println!("{l:>5}  {}  {:.2}  {nz}", s.join(" "), r.rc[l]);
            }
            let c = &r.coding;
            println!("coding length (bits) over ε, true noise {}:", c.noise);
            for i in 0..c.eps.len() {
                println!(
                    "  ε {:>9.4}  greedy {:>9.1} ({} groups)  one group {:>9.1}  truth {:>9.1}",
                    c.eps[i], c.greedy[i], c.groups[i], c.one_group[i], c.truth[i]
                );
            }
            Ok(())
        }
        LabCommand::Recover {
            settings,
            plain,
            steps,
            heads,
            depth,
            lr,
            batch,
            wd,
            tokens,
            every,
            rate,
            rate_eps,
            rate_embed,
            lift,
            json,
        } => {
            let lab = settings.config()?;
            let mut cfg = if plain {
                RecoverConfig::cross_entropy(lab)
            } else {
                RecoverConfig::new(lab)
            };
            fn set<T>(field: &mut T, v: Option<T>) {
                if let Some(v) = v {
                    *field = v;
                }
            }
            set(&mut cfg.steps, steps);
            set(&mut cfg.heads, heads);
            set(&mut cfg.depth, depth);
            set(&mut cfg.lr, lr);
            set(&mut cfg.batch, batch);
            set(&mut cfg.every, every);
            set(&mut cfg.weight_decay, wd);
            set(&mut cfg.tokens, tokens);
            set(&mut cfg.rate_weight, rate);
            set(&mut cfg.rate_eps, rate_eps);
            set(&mut cfg.rate_embed, rate_embed);
            set(&mut cfg.lift, lift);
            let start = std::time::Instant::now();
            let now = || start.elapsed().as_secs_f64();
            let r = recover(
                &cfg,
                &now,
                &mut |p| {
                    if !json {
                        println!(
                            "step {:>5}  {:>6.1}s  loss {:.4}  acc {:.3}  mean angle {:.2}°",
                            p.step, p.seconds, p.loss, p.accuracy, p.mean_angle
                        );
                    }
                },
                &|| false,
            )?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "matched heads {:?}, mean principal angle {:.2}°, under 10° at step {:?}, \
                     test accuracy {:.3}, R^c per layer (held out) {:?}",
                    r.matching.learned,
                    r.matching.mean_angle,
                    r.under_10_at,
                    r.test_accuracy,
                    r.rc_heldout
                );
            }
            Ok(())
        }
        LabCommand::Inputs { settings, steps } => {
            let lab = settings.config()?;
            let inputs = LabInputs::generate(&lab)?;
            let mut rc = RecoverConfig::cross_entropy(lab.clone());
            rc.steps = steps;
            rc.every = steps.max(1);
            let r = recover(&rc, &|| 0.0, &mut |_| {}, &|| false)?;
            println!(
                "{}",
                serde_json::json!({"config": lab, "inputs": inputs, "pullback": r.weights})
            );
            Ok(())
        }
        LabCommand::Presets => {
            for p in presets() {
                println!(
                    "{:<12} {}\n{:<12} {}",
                    p.name,
                    p.sentence,
                    "",
                    p.config.to_query()
                );
            }
            Ok(())
        }
    }
}

//! The messages between the Train view (main thread) and the training worker, and the worker's
//! pacing. A message is a JSON string, sent alone or, when bytes travel with it (a checkpoint, an
//! exported model), as the first item of a two-item array whose second item is a `Uint8Array`.
//! The settings travel as [`SessionSettings`], whose data choice is the enum new datasets join.
//! The train settings also live in the URL as one `train=` value ([`settings_to_url`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analysis::lab::recover::{RecoverConfig, RecoverPoint, RecoverReport};
use crate::error::{Error, Result};
pub use crate::train::session::{DataBytes, DataChoice, SessionSettings};
use crate::train::OptimizerKind;

/// Main thread → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToWorker {
    /// A fresh run with these settings (replacing the current one), paused at step 0. When
    /// `settings.init` is set, the model to continue travels with the message as safetensors.
    New {
        settings: SessionSettings,
    },
    Play,
    Pause,
    /// One step, then paused.
    Step,
    /// A new peak learning rate, from the next step on.
    SetLr {
        lr: f32,
    },
    /// Asks for the model as safetensors ([`FromWorker::Exported`] with the bytes).
    Export,
    /// Continue the run saved in the bytes sent with this message (paused).
    Resume,
    /// A test hook: destroys the WebGPU device the run trains on, as a driver reset or a lost
    /// GPU would; the next step fails and the run continues on the CPU from its last checkpoint.
    LoseDevice,
    /// A test hook: the next job sent to the helper worker is cut short, as a damaged message
    /// would be; the helper refuses it and the step's other half is computed by the training
    /// worker, which goes on alone.
    BreakHelper,
    /// `engine=` from the URL: `cpu`, `gpu` or `auto`; `workers=`: how many workers CPU
    /// training may use (0: as many as help, see [`cpu_workers`]).
    Engine {
        pref: String,
        #[serde(default)]
        workers: usize,
    },
    /// The files of a dataset that is not generated (Fashion-MNIST), sent before the
    /// [`ToWorker::New`] or [`ToWorker::Resume`] that needs them: the bytes that come with this
    /// message are the files one after another, `lens[i]` bytes for `names[i]`
    /// ([`pack_files`], [`unpack_files`]). They replace the files the worker held.
    Data {
        names: Vec<String>,
        lens: Vec<u64>,
    },
    /// Trains the Subspace lab's CRATE on its mixture ([`crate::analysis::lab::recover`]): the
    /// worker is busy until [`FromWorker::LabReport`], posting each measured point on the way.
    LabRecover {
        config: RecoverConfig,
    },
}

/// The smallest batch CPU training splits between two workers (below it the messages cost
/// more than the half step saves).
pub const MIN_SPLIT_BATCH: usize = 8;

/// How many workers CPU training uses ([`crate::train::shard`]): `wanted` from `workers=`
/// (0: as many as help, at most two), no more than the cores the browser reports, and one for
/// batches below [`MIN_SPLIT_BATCH`].
pub fn cpu_workers(wanted: usize, cores: usize, batch: usize) -> usize {
    let most = if batch >= MIN_SPLIT_BATCH { 2 } else { 1 };
    let wanted = if wanted == 0 { 2 } else { wanted };
    wanted.min(most).min(cores.max(1))
}

/// The [`ToWorker::Data`] message and its bytes for `files`.
pub fn pack_files(files: &[(String, Vec<u8>)]) -> (ToWorker, Vec<u8>) {
    let mut bytes = Vec::with_capacity(files.iter().map(|(_, b)| b.len()).sum());
    for (_, b) in files {
        bytes.extend_from_slice(b);
    }
    (
        ToWorker::Data {
            names: files.iter().map(|(n, _)| n.clone()).collect(),
            lens: files.iter().map(|(_, b)| b.len() as u64).collect(),
        },
        bytes,
    )
}

/// The files of a [`ToWorker::Data`] message; the lengths must add up to the bytes.
pub fn unpack_files(names: &[String], lens: &[u64], bytes: &[u8]) -> Result<DataBytes> {
    let bad = || Error::Input("dataset files: the lengths do not match the bytes sent".into());
    let total = lens.iter().try_fold(0u64, |a, &l| a.checked_add(l));
    if names.len() != lens.len() || total != Some(bytes.len() as u64) {
        return Err(bad());
    }
    let mut at = 0usize;
    let mut files = Vec::with_capacity(names.len());
    for (n, &l) in names.iter().zip(lens) {
        let end = at
            .checked_add(usize::try_from(l).map_err(|_| bad())?)
            .ok_or_else(bad)?;
        files.push((n.clone(), bytes.get(at..end).ok_or_else(bad)?.to_vec()));
        at = end;
    }
    Ok(DataBytes { files })
}

/// Worker → main thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker is up (its wasm loaded) and waits for [`ToWorker::New`] or [`ToWorker::Resume`].
    Ready,
    /// The run's state ([`crate::train::session::TrainSession::report`]), whether it is
    /// playing, and which engine trains and why.
    Report {
        report: Value,
        playing: bool,
        engine: String,
        engine_reason: String,
        /// Workers computing each CPU step (2: the batch's halves on two cores).
        #[serde(default)]
        workers: usize,
    },
    /// A checkpoint of the run at `step` travels with this message: store it.
    Checkpoint { step: u64 },
    /// The model at `step`, as safetensors, travels with this message.
    Exported { step: u64 },
    /// Something failed; the worker keeps its last good state.
    Error { message: String },
    /// A measured point of the lab's training run.
    LabPoint { point: RecoverPoint },
    /// The lab's training run is over.
    LabReport { report: Box<RecoverReport> },
}

pub fn encode<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg).unwrap_or_else(|e| {
        format!(r#"{{"event":"error","message":"cannot encode a message: {e}"}}"#)
    })
}

pub fn decode<T: for<'a> Deserialize<'a>>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Input(format!("training worker message: {e}")))
}

/// When the worker reports, checkpoints and yields, in milliseconds of its clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pacer {
    /// Steps run back to back for at most this long before the worker reads its messages.
    pub chunk_ms: f64,
    /// A report at most this often while playing (the main thread only redraws then).
    pub report_ms: f64,
    /// A checkpoint at least this often while playing (and always on pause).
    pub checkpoint_ms: f64,
    last_report: f64,
    last_checkpoint: f64,
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            chunk_ms: 100.0,
            report_ms: 250.0,
            checkpoint_ms: 5_000.0,
            last_report: f64::NEG_INFINITY,
            last_checkpoint: f64::NEG_INFINITY,
        }
    }
}

impl Pacer {
    /// Whether to report now; if so, the clock restarts.
    pub fn report_due(&mut self, now: f64) -> bool {
        let due = now - self.last_report >= self.report_ms;
        if due {
            self.last_report = now;
        }
        due
    }

    /// Whether to checkpoint now; if so, the clock restarts.
    pub fn checkpoint_due(&mut self, now: f64) -> bool {
        let due = now - self.last_checkpoint >= self.checkpoint_ms;
        if due {
            self.last_checkpoint = now;
        }
        due
    }

    /// A checkpoint was written at `now` for another reason (pause).
    pub fn checkpointed(&mut self, now: f64) {
        self.last_checkpoint = now;
    }

    /// Whether a chunk that started at `start` may take another step at `now`.
    pub fn chunk_open(&self, start: f64, now: f64) -> bool {
        now - start < self.chunk_ms
    }
}

/// The model menu's value (and the URL's) for "continue the model in use".
pub const IN_USE: &str = "in-use";
/// The name a continued run carries until the page names the model.
pub const IN_USE_NAME: &str = "the model in use";

/// The settings as one URL value: `data.lr.batch.epochs.seed.optimizer.augment.preset`
/// joined by `~` (characters `encodeURIComponent` leaves alone), defaults included so that a
/// shared link fixes the run.
pub fn settings_to_url(s: &SessionSettings) -> String {
    let data = match &s.data {
        DataChoice::Subspaces {
            subspaces,
            sub_dim,
            noise,
            tokens,
            seed,
        } => format!("subspaces-{subspaces}-{sub_dim}-{noise}-{tokens}-{seed}"),
        DataChoice::Shapes { seed } => format!("shapes-{seed}"),
        DataChoice::Fmnist => "fmnist".into(),
        DataChoice::Own { seed } => format!("own-{seed}"),
    };
    [
        data,
        s.lr.to_string(),
        s.batch.to_string(),
        s.epochs.to_string(),
        s.seed.to_string(),
        s.optimizer.as_str().to_string(),
        (s.augment as u8).to_string(),
        match s.init {
            Some(_) => IN_USE.to_string(),
            None => s.preset.clone(),
        },
    ]
    .join("~")
}

/// Reads [`settings_to_url`]'s form; anything missing or malformed keeps its default, and
/// settings that do not validate give the defaults.
pub fn settings_from_url(v: &str) -> SessionSettings {
    let mut s = SessionSettings::default();
    let parts: Vec<&str> = v.split('~').collect();
    if let Some(d) = parts.first() {
        let f: Vec<&str> = d.split('-').collect();
        match f.as_slice() {
            ["subspaces", k, p, noise, t, seed] => {
                if let (Ok(k), Ok(p), Ok(noise), Ok(t), Ok(seed)) =
                    (k.parse(), p.parse(), noise.parse(), t.parse(), seed.parse())
                {
                    s.data = DataChoice::Subspaces {
                        subspaces: k,
                        sub_dim: p,
                        noise,
                        tokens: t,
                        seed,
                    };
                }
            }
            ["shapes", seed] => {
                if let Ok(seed) = seed.parse() {
                    s.data = DataChoice::Shapes { seed };
                }
            }
            ["fmnist"] => s.data = DataChoice::Fmnist,
            ["own", seed] => {
                if let Ok(seed) = seed.parse() {
                    s.data = DataChoice::Own { seed };
                }
            }
            _ => {}
        }
    }
    let get = |i: usize| parts.get(i).copied().unwrap_or("");
    if let Ok(v) = get(1).parse::<f32>() {
        s.lr = v;
    }
    if let Ok(v) = get(2).parse() {
        s.batch = v;
    }
    if let Ok(v) = get(3).parse() {
        s.epochs = v;
    }
    if let Ok(v) = get(4).parse() {
        s.seed = v;
    }
    if let Ok(v) = OptimizerKind::parse(get(5)) {
        s.optimizer = v;
    }
    s.augment = get(6) == "1";
    match get(7) {
        "" => {}
        IN_USE => s.init = Some(IN_USE_NAME.into()),
        p => s.preset = p.to_string(),
    }
    if s.validate().is_err() || crate::model::CrateConfig::preset(&s.preset).is_err() {
        return SessionSettings::default();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_workers_only_with_two_cores_and_a_batch_to_split() {
        assert_eq!(cpu_workers(0, 2, 128), 2);
        assert_eq!(cpu_workers(0, 16, 128), 2);
        assert_eq!(cpu_workers(0, 1, 128), 1);
        assert_eq!(cpu_workers(1, 8, 128), 1);
        assert_eq!(cpu_workers(2, 8, MIN_SPLIT_BATCH - 1), 1);
        assert_eq!(cpu_workers(5, 8, MIN_SPLIT_BATCH), 2);
        // An old page's message (no `workers`) means "as many as help".
        let old: ToWorker = decode(r#"{"cmd":"engine","pref":"cpu"}"#).unwrap();
        assert_eq!(
            old,
            ToWorker::Engine {
                pref: "cpu".into(),
                workers: 0
            }
        );
    }

    #[test]
    fn messages_round_trip() {
        let msgs = [
            ToWorker::New {
                settings: SessionSettings::default(),
            },
            ToWorker::Play,
            ToWorker::Pause,
            ToWorker::Step,
            ToWorker::SetLr { lr: 3e-4 },
            ToWorker::Export,
            ToWorker::Resume,
            ToWorker::Engine {
                pref: "cpu".into(),
                workers: 2,
            },
            ToWorker::LoseDevice,
            ToWorker::BreakHelper,
            ToWorker::Data {
                names: vec!["index.json".into()],
                lens: vec![3],
            },
            ToWorker::LabRecover {
                config: RecoverConfig::new(crate::analysis::lab::LabConfig::default()),
            },
        ];
        for m in msgs {
            assert_eq!(decode::<ToWorker>(&encode(&m)).unwrap(), m);
        }
        let events = [
            FromWorker::Ready,
            FromWorker::Report {
                report: serde_json::json!({"step": 3}),
                playing: true,
                engine: "cpu".into(),
                engine_reason: "forced".into(),
                workers: 2,
            },
            FromWorker::Checkpoint { step: 7 },
            FromWorker::Exported { step: 7 },
            FromWorker::Error {
                message: "x".into(),
            },
        ];
        for e in events {
            assert_eq!(decode::<FromWorker>(&encode(&e)).unwrap(), e);
        }
        assert_eq!(encode(&ToWorker::Play), r#"{"cmd":"play"}"#);
        assert!(decode::<ToWorker>(r#"{"cmd":"fly"}"#).is_err());
        assert!(decode::<ToWorker>("not json").is_err());
    }

    #[test]
    fn the_lab_report_crosses_with_its_nan_loss_at_step_0() {
        let mut cfg = RecoverConfig::new(crate::analysis::lab::LabConfig::default());
        cfg.steps = 4;
        cfg.every = 2;
        cfg.train_samples = 16;
        cfg.test_samples = 4;
        let r =
            crate::analysis::lab::recover::recover(&cfg, &|| 0.0, &mut |_| {}, &|| false).unwrap();
        let text = encode(&FromWorker::LabReport {
            report: Box::new(r.clone()),
        });
        let Ok(FromWorker::LabReport { report }) = decode::<FromWorker>(&text) else {
            panic!("not a lab report: {text}");
        };
        assert!(report.points[0].loss.is_nan() && report.points[0].accuracy.is_nan());
        assert_eq!(report.points[2].step, 4);
        assert_eq!(report.matching.learned, r.matching.learned);
        assert!((report.matching.mean_angle - r.matching.mean_angle).abs() < 1e-12);
        assert_eq!(report.config, r.config);
    }

    #[test]
    fn settings_in_the_url_round_trip() {
        let all = [
            SessionSettings::default(),
            SessionSettings {
                data: DataChoice::Shapes { seed: 9 },
                lr: 2.5e-4,
                batch: 32,
                epochs: 3,
                seed: 42,
                optimizer: OptimizerKind::Lion,
                augment: true,
                ..SessionSettings::default()
            },
            SessionSettings {
                data: DataChoice::Subspaces {
                    subspaces: 6,
                    sub_dim: 3,
                    noise: 0.2,
                    tokens: 8,
                    seed: 5,
                },
                ..SessionSettings::default()
            },
            SessionSettings {
                data: DataChoice::Fmnist,
                augment: true,
                ..SessionSettings::default()
            },
            SessionSettings {
                data: DataChoice::Own { seed: 4 },
                ..SessionSettings::default()
            },
            SessionSettings {
                data: DataChoice::Fmnist,
                init: Some(IN_USE_NAME.into()),
                ..SessionSettings::default()
            },
        ];
        for s in all {
            let v = settings_to_url(&s);
            assert_eq!(crate::page::url::encode_component(&v), v, "URL-safe: {v}");
            assert_eq!(settings_from_url(&v), s, "{v}");
        }
    }

    #[test]
    fn bad_url_settings_give_the_defaults() {
        let d = SessionSettings::default();
        for v in [
            "",
            "x",
            "subspaces-1-4-0.05-16-0~0.001",
            "shapes-0~-1",
            "shapes-0~0.001~0",
            "~~~~~~~crate-zzz",
            "subspaces-4-4-0.05-16-0~0.001~128~10~0~adamw~1",
        ] {
            let s = settings_from_url(v);
            assert!(s.validate().is_ok(), "{v}");
            if v.is_empty() || v == "x" {
                assert_eq!(s, d);
            }
        }
        assert_eq!(settings_from_url("shapes-0~-1"), d);
        assert_eq!(settings_from_url("~~~~~~~crate-zzz"), d);
    }

    #[test]
    fn dataset_files_travel_packed() {
        let files = vec![
            ("index.json".to_string(), b"{}".to_vec()),
            ("empty".to_string(), vec![]),
            ("a.gz".to_string(), vec![1, 2, 3]),
        ];
        let (msg, bytes) = pack_files(&files);
        let ToWorker::Data { names, lens } = decode::<ToWorker>(&encode(&msg)).unwrap() else {
            panic!("not a Data message");
        };
        let back = unpack_files(&names, &lens, &bytes).unwrap();
        assert_eq!(back.files, files);
        assert_eq!(back.get("a.gz").unwrap(), &[1, 2, 3]);
        assert!(back.get("b.gz").is_err());
        assert!(unpack_files(&names, &lens, &bytes[1..]).is_err());
        assert!(unpack_files(&names, &[2, 0, 2], &bytes).is_err());
        assert!(unpack_files(&names[..2], &lens, &bytes).is_err());
        assert!(unpack_files(&names, &[u64::MAX, 1, 5], &bytes).is_err());
    }

    #[test]
    fn the_pacer_reports_checkpoints_and_yields() {
        let mut p = Pacer::default();
        assert!(p.report_due(0.0));
        assert!(!p.report_due(100.0));
        assert!(p.report_due(260.0));
        assert!(p.checkpoint_due(0.0));
        assert!(!p.checkpoint_due(4_000.0));
        p.checkpointed(4_500.0);
        assert!(!p.checkpoint_due(9_000.0));
        assert!(p.checkpoint_due(9_600.0));
        assert!(p.chunk_open(0.0, 50.0));
        assert!(!p.chunk_open(0.0, 150.0));
    }
}

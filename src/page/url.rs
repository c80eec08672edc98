//! The part of the page's state that lives in the address bar, so that a view can be shared by
//! its URL: `view=…&layer=…&head=…|mean&t=…&opacity=…&sample=…&model=…&engine=…`. Reading is
//! forgiving (anything missing or malformed keeps its default); printing then reading gives the
//! same state back.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::engine_choice::EnginePref;

/// What JavaScript's `encodeURIComponent` escapes: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `encodeURIComponent`.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// `decodeURIComponent`, except that a value it would refuse (an escape that is not UTF-8) is
/// kept as written. `+` stays `+`, as in JavaScript.
pub fn decode_component(s: &str) -> String {
    percent_decode_str(s)
        .decode_utf8()
        .map_or_else(|_| s.to_string(), |v| v.into_owned())
}

/// The page's views (tabs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Attention,
    Layers,
    Subspaces,
    Lab,
    Model,
    Train,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Attention,
        View::Layers,
        View::Subspaces,
        View::Lab,
        View::Model,
        View::Train,
    ];

    /// The name in the URL and in element ids.
    pub fn key(self) -> &'static str {
        match self {
            View::Attention => "attention",
            View::Layers => "layers",
            View::Subspaces => "subspaces",
            View::Lab => "lab",
            View::Model => "model",
            View::Train => "train",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Attention => "Attention",
            View::Layers => "Layers",
            View::Subspaces => "Subspaces",
            View::Lab => "Subspace lab",
            View::Model => "Model & engine",
            View::Train => "Train",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == s)
    }
}

/// What the Attention view's big map shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapKind {
    /// The CLS row of the chosen head (or the mean over heads).
    #[default]
    Cls,
    /// Every head's mass mask in its own colour (DINO's figures).
    Heads,
    /// Attention rollout up to the chosen layer.
    Rollout,
}

impl MapKind {
    pub const ALL: [MapKind; 3] = [MapKind::Cls, MapKind::Heads, MapKind::Rollout];

    /// The name in the URL (`map=…`) and in the select's values.
    pub fn key(self) -> &'static str {
        match self {
            MapKind::Cls => "cls",
            MapKind::Heads => "heads",
            MapKind::Rollout => "rollout",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            MapKind::Cls => "CLS attention",
            MapKind::Heads => "All heads in colour",
            MapKind::Rollout => "Attention rollout",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.key() == s)
    }
}

/// The part of the state that lives in the URL.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlState {
    pub view: View,
    /// `None`: the last layer.
    pub layer: Option<usize>,
    /// `None`: the mean over heads.
    pub head: Option<usize>,
    /// The attention-mass threshold of the mask, in [0.05, 1].
    pub threshold: f32,
    /// The overlay's opacity, in [0, 1].
    pub opacity: f32,
    /// A gallery sample by file name.
    pub sample: Option<String>,
    pub engine: EnginePref,
    /// A bundled model by name.
    pub model: Option<String>,
    /// The Train view's settings (`crate::page::train_protocol::settings_to_url`).
    pub train: Option<String>,
    /// What the Attention view's big map shows.
    pub map: MapKind,
    /// The Subspace lab's settings (`lab-KEY=VALUE`, see `analysis::lab::LabConfig::set`).
    pub lab: Vec<(String, String)>,
    /// `workers=`: the most workers the page's CPU work may use, for training and the gallery
    /// batch (`None`: as many as help).
    pub workers: Option<usize>,
}

impl Default for UrlState {
    fn default() -> Self {
        Self {
            view: View::Attention,
            layer: None,
            head: None,
            threshold: 0.6,
            opacity: 0.6,
            sample: None,
            engine: EnginePref::Auto,
            model: None,
            train: None,
            map: MapKind::Cls,
            lab: Vec::new(),
            workers: None,
        }
    }
}

/// A finite number, clamped to `lo..=hi`; `None` for anything else.
fn clamped(v: &str, lo: f32, hi: f32) -> Option<f32> {
    v.parse::<f32>()
        .ok()
        .filter(|t| t.is_finite())
        .map(|t| t.clamp(lo, hi))
}

impl UrlState {
    /// Reads a query string (with or without its `?`); anything missing or malformed keeps its
    /// default, unknown keys are ignored.
    pub fn parse(query: &str) -> Self {
        let mut s = Self::default();
        for pair in query.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode_component(v);
            match k {
                "view" => s.view = View::parse(&v).unwrap_or(s.view),
                "layer" => s.layer = v.parse().ok(),
                "head" => s.head = v.parse().ok(),
                "t" => s.threshold = clamped(&v, 0.05, 1.0).unwrap_or(s.threshold),
                "opacity" => s.opacity = clamped(&v, 0.0, 1.0).unwrap_or(s.opacity),
                "sample" if !v.is_empty() => s.sample = Some(v),
                "engine" => s.engine = EnginePref::parse(&v).unwrap_or(s.engine),
                "model" if !v.is_empty() => s.model = Some(v),
                "train" if !v.is_empty() => s.train = Some(v),
                "map" => s.map = MapKind::parse(&v).unwrap_or(s.map),
                "workers" => s.workers = v.parse().ok(),
                _ if k.starts_with("lab-") => s.lab.push((k[4..].to_string(), v)),
                _ => {}
            }
        }
        s
    }

    /// The query string (without `?`) that [`UrlState::parse`] reads back as `self`.
    pub fn to_query(&self) -> String {
        let mut q = vec![format!("view={}", self.view.key())];
        if let Some(l) = self.layer {
            q.push(format!("layer={l}"));
        }
        q.push(match self.head {
            Some(h) => format!("head={h}"),
            None => "head=mean".into(),
        });
        q.push(format!("t={}", self.threshold));
        q.push(format!("opacity={}", self.opacity));
        if let Some(s) = &self.sample {
            q.push(format!("sample={}", encode_component(s)));
        }
        if let Some(m) = &self.model {
            q.push(format!("model={}", encode_component(m)));
        }
        if let Some(t) = &self.train {
            q.push(format!("train={}", encode_component(t)));
        }
        if self.engine != EnginePref::Auto {
            q.push(format!("engine={}", self.engine.key()));
        }
        if self.map != MapKind::Cls {
            q.push(format!("map={}", self.map.key()));
        }
        for (k, v) in &self.lab {
            q.push(format!("lab-{k}={}", encode_component(v)));
        }
        if let Some(w) = self.workers {
            q.push(format!("workers={w}"));
        }
        q.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unknown_queries_give_the_defaults() {
        for q in ["", "?", "&&", "foo=bar&=x&novalue", "?unknown=1"] {
            assert_eq!(UrlState::parse(q), UrlState::default(), "{q:?}");
        }
    }

    #[test]
    fn default_prints_the_short_form() {
        assert_eq!(
            UrlState::default().to_query(),
            "view=attention&head=mean&t=0.6&opacity=0.6"
        );
    }

    #[test]
    fn every_field_round_trips() {
        let states = [
            UrlState::default(),
            UrlState {
                view: View::Layers,
                layer: Some(0),
                head: Some(3),
                threshold: 0.05,
                opacity: 0.0,
                sample: Some("cat & dog/été 100%+1=2?.png".into()),
                engine: EnginePref::Gpu,
                model: Some("crate-t (hf)".into()),
                train: Some("shapes-3~0.001~64~2~0~lion~1~crate-fmnist".into()),
                map: MapKind::Rollout,
                lab: Vec::new(),
                workers: Some(1),
            },
            UrlState {
                view: View::Model,
                layer: Some(11),
                head: None,
                threshold: 0.123_456_79,
                opacity: 1.0,
                sample: Some("plain.jpg".into()),
                engine: EnginePref::Cpu,
                model: None,
                train: None,
                map: MapKind::Heads,
                lab: vec![("k".into(), "3".into()), ("phi".into(), "softmax".into())],
                workers: Some(2),
            },
        ];
        for s in states {
            let q = s.to_query();
            assert_eq!(UrlState::parse(&q), s, "{q}");
            assert_eq!(UrlState::parse(&format!("?{q}")), s, "with ?: {q}");
        }
    }

    #[test]
    fn printed_values_are_escaped_like_encode_uri_component() {
        let s = UrlState {
            sample: Some("a b&c=d/é".into()),
            ..UrlState::default()
        };
        assert!(s.to_query().ends_with("&sample=a%20b%26c%3Dd%2F%C3%A9"));
        assert_eq!(encode_component("-_.!~*'()az09"), "-_.!~*'()az09");
    }

    #[test]
    fn bad_values_keep_their_defaults() {
        let d = UrlState::default();
        let s = UrlState::parse(
            "view=graphs&layer=-1&head=mean&t=NaN&opacity=inf&engine=tpu&sample=&model=&workers=-1",
        );
        assert_eq!(s, d);
        let s = UrlState::parse("layer=two&head=1.5&t=&opacity=0x1");
        assert_eq!(s, d);
    }

    #[test]
    fn out_of_range_numbers_are_clamped() {
        let s = UrlState::parse("t=7&opacity=-3");
        assert_eq!((s.threshold, s.opacity), (1.0, 0.0));
        let s = UrlState::parse("t=0&opacity=2");
        assert_eq!((s.threshold, s.opacity), (0.05, 1.0));
        let s = UrlState::parse("t=1e-30");
        assert_eq!(s.threshold, 0.05);
    }

    #[test]
    fn a_later_key_wins_and_a_bad_one_resets_the_optional_fields() {
        let s = UrlState::parse("view=layers&view=model&layer=2&layer=x&head=1&head=mean");
        assert_eq!(s.view, View::Model);
        assert_eq!(s.layer, None);
        assert_eq!(s.head, None);
    }

    #[test]
    fn malformed_escapes_are_kept_as_written() {
        assert_eq!(decode_component("%zz"), "%zz");
        assert_eq!(decode_component("%E0%A4%A"), "%E0%A4%A");
        assert_eq!(decode_component("%FF"), "%FF");
        assert_eq!(decode_component("a+b%20c"), "a+b c");
        let s = UrlState::parse("sample=%E0%A4%A.png");
        assert_eq!(s.sample.as_deref(), Some("%E0%A4%A.png"));
    }

    #[test]
    fn views_parse_by_key() {
        for v in View::ALL {
            assert_eq!(View::parse(v.key()), Some(v));
        }
        assert_eq!(View::parse("Attention"), None);
    }
}

//! The library's error type. Every message names what was wrong and, where there is one, the
//! file or key it came from, so that the CLI and the page can show it as is.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A weight file that is not what it claims to be (truncated, corrupt, unsupported).
    #[error("{0}")]
    Format(String),
    /// A pickle that asks for something other than tensors and containers.
    #[error("refused to load checkpoint: {0}")]
    Unsafe(String),
    #[error("parameter `{key}` has shape {got}, expected {expected} for this config")]
    Shape {
        key: String,
        expected: String,
        got: String,
    },
    #[error("missing parameter `{0}`")]
    MissingKey(String),
    #[error("unexpected parameter `{0}` (not part of a CRATE model with this config)")]
    UnexpectedKey(String),
    #[error("invalid config: {0}")]
    Config(String),
    #[error("image: {0}")]
    Image(String),
    #[error("input: {0}")]
    Input(String),
    #[error("dataset: {0}")]
    Dataset(String),
    #[error("GPU: {0}")]
    Gpu(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

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
    /// An input that would need more memory than its budget allows (see [`crate::budget`]);
    /// the message names the input, what asked, how much and the limit.
    #[error("{0}")]
    Budget(String),
    /// Results that are not finite numbers (NaN or infinity), with what produced them.
    #[error("{0}")]
    NotFinite(String),
    /// An error about the contents of a file, with the file's name in front.
    /// (The inner error is part of the message, so it is not also reported as a `source`, which
    /// would print it twice in an error chain.)
    #[error("{file}: {error}")]
    InFile { file: String, error: Box<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Puts the file's name in front of an error about its contents, unless the message
    /// already names it.
    pub fn in_file(self, file: &str) -> Self {
        let named = match &self {
            Error::Io { path, .. } => path == file,
            Error::InFile { file: f, .. } => f == file,
            other => {
                let m = other.to_string();
                let tag = format!("{file}: ");
                m.starts_with(&tag) || m.contains(&format!(" {tag}"))
            }
        };
        if named {
            self
        } else {
            Error::InFile {
                file: file.to_string(),
                error: Box::new(self),
            }
        }
    }

    /// The error under any [`Error::InFile`] wrapping.
    pub fn root(&self) -> &Error {
        match self {
            Error::InFile { error, .. } => error.root(),
            other => other,
        }
    }

    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

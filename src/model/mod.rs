//! The CRATE model: its config, its named parameters and how they are read and written.

pub mod config;
pub mod dims;
pub mod init;
pub mod io;
pub mod params;
pub mod weights;

pub use config::CrateConfig;
pub use dims::Dims;
pub use params::Params;
pub use weights::{
    EmbedWeights, HeadWeights, IstaWeights, LayerWeights, MssaWeights, Slot, Weights,
};

/// A model: its config and parameters, validated against each other.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub config: CrateConfig,
    pub params: Params,
}

impl Model {
    pub fn new(config: CrateConfig, params: Params) -> crate::error::Result<Self> {
        params.validate(&config)?;
        Ok(Self { config, params })
    }
}

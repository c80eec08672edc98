//! Reading and writing weights: safetensors, PyTorch `torch.save` checkpoints.
pub fn model_to_safetensors(_: &crate::Model) -> crate::Result<Vec<u8>> {
    Err(crate::Error::Format("not yet".into()))
}

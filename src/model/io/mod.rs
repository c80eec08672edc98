//! Reading and writing weights: safetensors, PyTorch `torch.save` checkpoints.

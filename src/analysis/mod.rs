//! Measures computed from a trace: coding rate, sparsity, attention maps, PCA, incoherence.

//! Pipelines and bind-group layouts built once per (kernel, specialisation), and buffers pooled
//! by (size, usage) so that repeated forwards allocate nothing new.

use std::collections::HashMap;

/// How a kernel sees one binding; bindings are numbered in order, all in group 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bind {
    Read,
    ReadWrite,
    Uniform,
}

/// A compiled kernel: its pipeline and the layout its bind groups must follow.
#[derive(Clone)]
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// The shader and entry point, for per-kernel timings.
    pub label: String,
    /// How each binding is used, to check bind groups for aliasing WebGPU forbids.
    pub binds: Vec<Bind>,
}

#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    layouts: HashMap<Vec<Bind>, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    kernels: HashMap<String, Kernel>,
}

impl PipelineCache {
    /// The kernel `entry` of shader `name` with the given override constants, compiled on first
    /// use. `binds` lists the shader's bindings 0.. in order.
    pub fn get(
        &mut self,
        device: &wgpu::Device,
        name: &'static str,
        source: &'static str,
        entry: &'static str,
        binds: &[Bind],
        constants: &[(&str, f64)],
    ) -> Kernel {
        let key = format!("{name}:{entry}:{constants:?}");
        if let Some(k) = self.kernels.get(&key) {
            return k.clone();
        }
        let module = self
            .modules
            .entry(name)
            .or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
            })
            .clone();
        let (bgl, pl) = self
            .layouts
            .entry(binds.to_vec())
            .or_insert_with(|| {
                let entries: Vec<_> = binds
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                        binding: i as u32,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: match b {
                            Bind::Uniform => wgpu::BindingType::Buffer {
                                ty: wgpu::BufferBindingType::Uniform,
                                has_dynamic_offset: false,
                                min_binding_size: None,
                            },
                            Bind::Read | Bind::ReadWrite => wgpu::BindingType::Buffer {
                                ty: wgpu::BufferBindingType::Storage {
                                    read_only: *b == Bind::Read,
                                },
                                has_dynamic_offset: false,
                                min_binding_size: None,
                            },
                        },
                        count: None,
                    })
                    .collect();
                let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(name),
                    entries: &entries,
                });
                let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(name),
                    bind_group_layouts: &[Some(&bgl)],
                    immediate_size: 0,
                });
                (bgl, pl)
            })
            .clone();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&key),
            layout: Some(&pl),
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        });
        let k = Kernel {
            pipeline,
            layout: bgl,
            binds: binds.to_vec(),
            label: if entry == "main" {
                name.to_string()
            } else {
                format!("{name}:{entry}")
            },
        };
        self.kernels.insert(key, k.clone());
        k
    }

    pub fn len(&self) -> usize {
        self.kernels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kernels.is_empty()
    }
}

/// Buffers kept between calls, keyed by (size in bytes, usage).
#[derive(Default)]
pub struct BufferPool {
    free: HashMap<(u64, wgpu::BufferUsages), Vec<wgpu::Buffer>>,
    created: usize,
}

impl BufferPool {
    /// A buffer of exactly `size` bytes (at least 4) with `usage`, reused when one is free.
    pub fn acquire(
        &mut self,
        device: &wgpu::Device,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let size = size.max(4).next_multiple_of(4);
        if let Some(b) = self.free.get_mut(&(size, usage)).and_then(|v| v.pop()) {
            return b;
        }
        self.created += 1;
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pooled"),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Hands buffers back once the GPU work that used them has completed.
    pub fn release(&mut self, bufs: impl IntoIterator<Item = wgpu::Buffer>) {
        for b in bufs {
            self.free.entry((b.size(), b.usage())).or_default().push(b);
        }
    }

    /// Buffers created so far (tests check that a second forward creates none).
    pub fn created(&self) -> usize {
        self.created
    }
}

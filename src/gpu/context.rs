//! The wgpu device and queue, created the same way natively and on the web (async all the way),
//! with a read-back helper that never blocks the browser's thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// The smallest storage-buffer binding the engine accepts: CRATE-L's attention probabilities at
/// batch 32 (32 × 16 × 197² floats) are about 80 MiB; 128 MiB is also WebGPU's default.
pub const MIN_STORAGE_BINDING: u64 = 128 << 20;
/// Storage buffers one kernel binds at most (the matmul: a, b, bias, extra, their vec4 views
/// and c); WebGPU's default is 8.
pub const MIN_STORAGE_BUFFERS: u32 = 7;
/// Workgroup memory the kernels use at most (MSSA: 2048 scores + 256 query values + a reduction).
pub const MIN_WORKGROUP_STORAGE: u32 = 16384;

/// Optional features found on the adapter; the engine runs without any of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuFeatures {
    pub shader_f16: bool,
    pub subgroups: bool,
    pub timestamp_query: bool,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: GpuFeatures,
    lost: Arc<Mutex<Option<String>>>,
    /// The first validation or out-of-memory error wgpu reported since the last read-back
    /// (wgpu's default is to panic; the engine turns it into an `Error::Gpu` instead).
    errors: Arc<Mutex<Option<String>>>,
    submits: AtomicU64,
    read_bytes: AtomicU64,
}

impl GpuContext {
    /// Picks an adapter (high-performance preferred; natively `WHITEBOX_ADAPTER`, a substring of
    /// the adapter name, and `WGPU_BACKEND` choose one) and opens a device with the adapter's own
    /// limits, after checking they are large enough for the model's buffers.
    pub async fn new() -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pick_adapter(&instance).await?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        check_limits(&info, &limits)?;
        let af = adapter.features();
        let wanted =
            wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP | wgpu::Features::TIMESTAMP_QUERY;
        let required_features = af & wanted;
        let features = GpuFeatures {
            shader_f16: af.contains(wgpu::Features::SHADER_F16),
            subgroups: af.contains(wgpu::Features::SUBGROUP),
            timestamp_query: af.contains(wgpu::Features::TIMESTAMP_QUERY),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("whitebox"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("{}: cannot open a device: {e}", info.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let lost2 = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            log::error!("GPU device lost ({reason:?}): {msg}");
            if let Ok(mut l) = lost2.lock() {
                *l = Some(format!("{reason:?}: {msg}"));
            }
        });
        let errors = Arc::new(Mutex::new(None));
        let errors2 = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("GPU error: {e}");
            if let Ok(mut slot) = errors2.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        Ok(Self {
            device,
            queue,
            info,
            limits,
            features,
            lost,
            errors,
            submits: AtomicU64::new(0),
            read_bytes: AtomicU64::new(0),
        })
    }

    /// Blocking `new` for native callers (tests, the CLI).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self> {
        pollster::block_on(Self::new())
    }

    /// `Some(reason)` once the device has been lost; the caller drops this context and makes a
    /// new one (and a new engine on it).
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// An error when the device has been lost, for the engine to return before recording work.
    pub fn check_alive(&self) -> Result<()> {
        match self.lost() {
            Some(r) => Err(Error::Gpu(format!(
                "the GPU device was lost ({r}); create a new engine"
            ))),
            None => Ok(()),
        }
    }

    /// Takes the first wgpu error reported since the last call, as an `Error::Gpu`.
    pub fn take_error(&self) -> Result<()> {
        match self.errors.lock().ok().and_then(|mut e| e.take()) {
            Some(msg) => Err(Error::Gpu(msg)),
            None => Ok(()),
        }
    }

    /// The largest buffer one binding may use on this device, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// The one way the engine submits work, so that submissions can be counted (tests check
    /// one submit per forward).
    pub fn submit(&self, cmd: wgpu::CommandBuffer) {
        self.submits.fetch_add(1, Ordering::Relaxed);
        self.queue.submit(Some(cmd));
    }

    /// Number of submits made through [`GpuContext::submit`] so far.
    pub fn submit_count(&self) -> u64 {
        self.submits.load(Ordering::Relaxed)
    }

    /// Bytes copied back to the CPU through [`GpuContext::read_back`] so far (tests check that
    /// the measures path reads back far less than a trace).
    pub fn bytes_read_back(&self) -> u64 {
        self.read_bytes.load(Ordering::Relaxed)
    }

    /// Reads back f32 values from MAP_READ buffers (after the submit that filled them). All are
    /// mapped first and waited on together: natively by polling the device, on the web by
    /// awaiting the browser's callbacks.
    pub async fn read_back(&self, bufs: &[(&wgpu::Buffer, usize)]) -> Result<Vec<Vec<f32>>> {
        let mut rxs = Vec::with_capacity(bufs.len());
        for (buf, len) in bufs {
            let (tx, rx) = futures_channel::oneshot::channel();
            buf.slice(..(*len as u64 * 4).max(4))
                .map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send(r);
                });
            rxs.push(rx);
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        let mut out = Vec::with_capacity(bufs.len());
        for ((buf, len), rx) in bufs.iter().zip(rxs) {
            rx.await
                .map_err(|_| Error::Gpu("read-back cancelled (device lost?)".into()))?
                .map_err(|e| Error::Gpu(format!("read-back failed: {e}")))?;
            let v = {
                let view = buf
                    .slice(..(*len as u64 * 4).max(4))
                    .get_mapped_range()
                    .map_err(|e| Error::Gpu(format!("read-back mapping: {e}")))?;
                bytemuck::cast_slice::<u8, f32>(&view)[..*len].to_vec()
            };
            buf.unmap();
            self.read_bytes
                .fetch_add(*len as u64 * 4, Ordering::Relaxed);
            out.push(v);
        }
        self.check_alive()?;
        self.take_error()?;
        Ok(out)
    }
}

async fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(want) = std::env::var("WHITEBOX_ADAPTER") {
        let want_l = want.to_lowercase();
        let all = instance.enumerate_adapters(wgpu::Backends::all()).await;
        let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
        return all
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&want_l))
            .ok_or_else(|| {
                Error::Gpu(format!(
                    "WHITEBOX_ADAPTER={want}: no adapter matches (found: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            });
    }
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            Error::Gpu(format!(
                "no GPU adapter found ({e}); natively install a Vulkan driver (Mesa's lavapipe \
                 works), on the web use a browser with WebGPU"
            ))
        })
}

fn check_limits(info: &wgpu::AdapterInfo, l: &wgpu::Limits) -> Result<()> {
    let mut short = Vec::new();
    if l.max_storage_buffer_binding_size < MIN_STORAGE_BINDING {
        short.push(format!(
            "max storage buffer binding size {} < {MIN_STORAGE_BINDING}",
            l.max_storage_buffer_binding_size
        ));
    }
    if l.max_storage_buffers_per_shader_stage < MIN_STORAGE_BUFFERS {
        short.push(format!(
            "storage buffers per stage {} < {MIN_STORAGE_BUFFERS}",
            l.max_storage_buffers_per_shader_stage
        ));
    }
    if l.max_compute_workgroup_storage_size < MIN_WORKGROUP_STORAGE {
        short.push(format!(
            "workgroup storage {} < {MIN_WORKGROUP_STORAGE}",
            l.max_compute_workgroup_storage_size
        ));
    }
    if short.is_empty() {
        Ok(())
    } else {
        Err(Error::Gpu(format!(
            "adapter {} is too small for the model: {}",
            info.name,
            short.join("; ")
        )))
    }
}

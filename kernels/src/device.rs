//! The device, the compute pipelines of one kernel variant, their bind group layout and the
//! shared base table: created once per [`GpuVerifier`](crate::GpuVerifier), shared by every batch.

use std::sync::Arc;
use std::sync::Mutex;

use serde::Serialize;
use wgpu::{
    BindGroupLayout, BindGroupLayoutEntry, BindingType, BufferBindingType, ComputePipeline, Device,
    Queue, ShaderStages,
};

use crate::shaders::{self, Stage};
use crate::timestamps::Timestamps;
use crate::{FieldVariant, GpuError, KernelConfig};

/// The adapter a verifier runs on, as the driver names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdapterDescription {
    pub name: String,
    /// Graphics API: "vulkan", "metal", "dx12", ...
    pub backend: String,
    /// "discrete GPU", "integrated GPU", "virtual GPU", "CPU" (software, e.g. lavapipe) or "other".
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
}

impl AdapterDescription {
    fn from_info(info: &wgpu::AdapterInfo) -> Self {
        let device_type = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "CPU",
            wgpu::DeviceType::Other => "other",
        };
        Self {
            name: info.name.clone(),
            backend: info.backend.to_str().to_string(),
            device_type: device_type.to_string(),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
        }
    }

    /// True for a software rasterizer (lavapipe, SwiftShader, WARP): figures from it say nothing
    /// about GPU speed.
    pub fn is_software(&self) -> bool {
        self.device_type == "CPU"
    }
}

/// What a verifier needs of the device, shared by all its clones.
pub(crate) struct Gpu {
    pub device: Device,
    pub queue: Queue,
    pub layout: BindGroupLayout,
    pub pipelines: Pipelines,
    /// [0..8]B in cached form, in this variant's limbs (filled by `base_table_main` at start).
    pub base_table: wgpu::Buffer,
    /// The field the kernels were built with (resolved from `config` and the adapter).
    pub field: FieldVariant,
    pub config: KernelConfig,
    /// Threads that pack a chunk's inputs on the host.
    pub pack_threads: usize,
    /// Stage timestamps for measured runs, where the adapter has them (one chunk at a time).
    pub timestamps: Option<Mutex<Timestamps>>,
    pub adapter: AdapterDescription,
    pub capabilities: AdapterCapabilities,
    pub limits: wgpu::Limits,
    /// The first error the device reported outside an error scope (validation, out of memory,
    /// device lost); once set, every later batch fails instead of returning verdicts.
    pub fault: Arc<Mutex<Option<String>>>,
}

/// What the adapter offers that decides the kernels and their chunk size.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterCapabilities {
    pub adapter: AdapterDescription,
    /// wgpu feature names the adapter has (SHADER_INT64 selects the i64 field).
    pub features: Vec<String>,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub min_uniform_buffer_offset_alignment: u32,
}

/// Preference among adapter types: real GPUs first, software last.
fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The compiled stages of the variant.
pub(crate) struct Pipelines {
    pub hash: ComputePipeline,
    pub prepare: ComputePipeline,
    pub window: ComputePipeline,
    pub finish: ComputePipeline,
    pub base_table: ComputePipeline,
}

fn storage(binding: u32, read_only: bool) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility: ShaderStages::COMPUTE,
        ty: BindingType::Buffer {
            ty: BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Gpu {
    /// Picks the best adapter with compute shaders (a discrete GPU before an integrated one,
    /// software last), opens a device with the adapter's own limits and compiles the stages of
    /// the variant `requested` names (the field the adapter runs best where it names none).
    pub fn open(requested: KernelConfig) -> Result<Self, GpuError> {
        let opened = std::time::Instant::now();
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let adapter = adapters
            .into_iter()
            .filter(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            })
            .min_by_key(|a| rank(a.get_info().device_type))
            .ok_or(GpuError::NoAdapter)?;
        let adapter_ms = opened.elapsed().as_millis() as u64;
        let info = AdapterDescription::from_info(&adapter.get_info());
        let limits = adapter.limits();
        let int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
        let capabilities = AdapterCapabilities {
            adapter: info.clone(),
            features: adapter
                .features()
                .iter_names()
                .map(|(name, _)| name.to_string())
                .collect(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            min_uniform_buffer_offset_alignment: limits.min_uniform_buffer_offset_alignment,
        };
        let config = requested;
        let field = config.field.resolve(int64)?;
        let stamps = adapter.features().contains(Timestamps::features());
        let required_features = match field {
            FieldVariant::I64 => wgpu::Features::SHADER_INT64,
            FieldVariant::U32 => wgpu::Features::empty(),
        } | if stamps {
            Timestamps::features()
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("iosv verifier"),
            required_features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        let device_ms = opened.elapsed().as_millis() as u64 - adapter_ms;
        let fault: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&fault);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            tracing::error!(%error, "GPU device error");
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| error.to_string());
        }));

        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("iosv verifier bindings"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
                storage(4, false),
                BindGroupLayoutEntry {
                    binding: 5,
                    visibility: ShaderStages::COMPUTE,
                    ty: BindingType::Buffer {
                        ty: BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(6, false),
                storage(7, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("iosv verifier"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let started = std::time::Instant::now();
        let stages = shaders::stages(field);
        let compile = |stage: Stage| {
            let stage_started = std::time::Instant::now();
            // SAFETY: bounds and loop checks are left out because the host guarantees them: every
            // lane index is below `params.count` <= the chunk's capacity = `params.stride`, every
            // buffer is sized for that capacity (batch.rs), `jobs` holds offsets packed by the
            // host within `input`, and table indices are clamped to 0..=8 in the shader; every
            // loop has a constant or uniform bound.
            let module = unsafe {
                device.create_shader_module_trusted(
                    wgpu::ShaderModuleDescriptor {
                        label: Some(stage.label),
                        source: wgpu::ShaderSource::Wgsl(stage.source.into()),
                    },
                    wgpu::ShaderRuntimeChecks::unchecked(),
                )
            };
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(stage.label),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(stage.entry),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            });
            tracing::debug!(
                stage = stage.label,
                ms = stage_started.elapsed().as_millis() as u64,
                "compiled"
            );
            pipeline
        };
        let pipelines = Pipelines {
            hash: compile(stages.hash),
            prepare: compile(stages.prepare),
            window: compile(stages.window),
            finish: compile(stages.finish),
            base_table: compile(stages.base_table),
        };
        let base_table = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("iosv base table"),
            size: (9 * 4 * field.limbs() * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Pipeline(error.to_string()));
        }
        tracing::info!(
            adapter = %info.name,
            backend = %info.backend,
            field = ?field,
            adapter_ms,
            device_ms,
            driver = %info.driver,
            compile_ms = started.elapsed().as_millis() as u64,
            "GPU verifier ready"
        );
        let timestamps = stamps.then(|| Mutex::new(Timestamps::new(&device, &queue)));
        Ok(Self {
            device,
            queue,
            layout,
            pipelines,
            base_table,
            field,
            config,
            pack_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timestamps,
            adapter: info,
            capabilities,
            limits,
            fault,
        })
    }

    /// Alignment of the parameter entries (dynamic uniform offsets).
    pub fn param_align(&self) -> u64 {
        u64::from(self.limits.min_uniform_buffer_offset_alignment).max(16)
    }

    /// The device's first reported fault, if any.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

//! The device, the three compute pipelines and their bind group layout: created once per
//! [`GpuVerifier`](crate::GpuVerifier), warmed with one dispatch at start, shared by every batch.

use std::sync::Arc;
use std::sync::Mutex;

use serde::Serialize;
use wgpu::{
    BindGroupLayout, BindGroupLayoutEntry, BindingType, BufferBindingType, ComputePipeline, Device,
    Queue, ShaderStages,
};

use crate::GpuError;
use crate::shaders;

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
    pub pipelines: [ComputePipeline; 3],
    pub adapter: AdapterDescription,
    pub limits: wgpu::Limits,
    /// The first error the device reported outside an error scope (validation, out of memory,
    /// device lost); once set, every later batch fails instead of returning verdicts.
    pub fault: Arc<Mutex<Option<String>>>,
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
    /// software last), opens a device with the adapter's own limits and compiles the stages.
    pub fn open() -> Result<Self, GpuError> {
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
        let info = AdapterDescription::from_info(&adapter.get_info());
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("iosv verifier"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
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
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(6, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("iosv verifier"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let started = std::time::Instant::now();
        let pipelines = shaders::stages().map(|stage| {
            let stage_started = std::time::Instant::now();
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(stage.label),
                source: wgpu::ShaderSource::Wgsl(stage.source.into()),
            });
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
        });
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Pipeline(error.to_string()));
        }
        tracing::info!(
            adapter = %info.name,
            backend = %info.backend,
            driver = %info.driver,
            compile_ms = started.elapsed().as_millis() as u64,
            "GPU verifier ready"
        );
        Ok(Self {
            device,
            queue,
            layout,
            pipelines,
            adapter: info,
            limits,
            fault,
        })
    }

    /// The device's first reported fault, if any.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

//! iosv compute kernels (WGSL) and their wgpu host code. The GPU backend arrives with its own issue.

//! Compiles `proto/iosv_verify.proto` with protox (a protobuf compiler in Rust), so building needs
//! no system `protoc`; tonic-prost-build turns the descriptors into the messages and the service.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/iosv_verify.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .bytes(".iosv.verify.v1")
        .compile_fds(descriptors)?;
    Ok(())
}

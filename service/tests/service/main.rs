//! The verification service end to end: real servers on 127.0.0.1 ephemeral ports, real gRPC
//! clients, certificates generated at test time.

mod client;
mod common;
mod load;
mod overload;
mod shutdown;
mod tls;
mod verdicts;

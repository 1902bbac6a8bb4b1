//! mTLS: only clients with a certificate from the configured CA get in; plaintext is loopback
//! only unless asked for.

use iosv_service::proto::signature_verifier_client::SignatureVerifierClient;
use iosv_service::{ServeError, TlsFiles};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::common::*;

async fn tls_client(
    addr: std::net::SocketAddr,
    pki: &Pki,
    identity: Option<(&str, &str)>,
) -> Result<SignatureVerifierClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(
            std::fs::read(pki.path("ca.pem")).unwrap(),
        ))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(pki.path(cert)).unwrap(),
            std::fs::read(pki.path(key)).unwrap(),
        ));
    }
    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(SignatureVerifierClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_admits_the_right_client_and_refuses_the_others() {
    let pki = Pki::new("mtls");
    let mut c = config();
    c.tls = Some(TlsFiles {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        client_ca: pki.path("ca.pem"),
    });
    let server = start(c, cpu()).await;
    let items = signatures(20, 0.2, 11);

    let mut good = tls_client(server.addr, &pki, Some(("client.pem", "client.key")))
        .await
        .expect("the CA's client connects");
    let answer = good.verify_batch(request(&items)).await.unwrap();
    assert_eq!(
        iosv_service::wire::verdicts_as_bools(answer.get_ref(), 20).unwrap(),
        expected(&items)
    );

    for identity in [None, Some(("intruder.pem", "intruder.key"))] {
        let refused = match tls_client(server.addr, &pki, identity).await {
            Err(_) => true,
            Ok(mut c) => c.verify_batch(request(&items)).await.is_err(),
        };
        assert!(refused, "client {identity:?} must be refused");
    }
    let mut plain = SignatureVerifierClient::connect(format!("http://{}", server.addr)).await;
    let refused = match &mut plain {
        Err(_) => true,
        Ok(c) => c.verify_batch(request(&items)).await.is_err(),
    };
    assert!(refused, "a plaintext client must be refused");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_listens_only_on_loopback_unless_asked() {
    let mut c = config();
    c.listen = "0.0.0.0:0".parse().unwrap();
    match iosv_service::start(c.clone(), cpu()).await {
        Err(ServeError::PlaintextNotLoopback(_)) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("plaintext on 0.0.0.0 must be refused"),
    }
    c.insecure_listen = true;
    let server = iosv_service::start(c, cpu())
        .await
        .expect("allowed when asked");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_tls_files_are_named() {
    let mut c = config();
    c.tls = Some(TlsFiles {
        cert: "/nonexistent/server.pem".into(),
        key: "/nonexistent/server.key".into(),
        client_ca: "/nonexistent/ca.pem".into(),
    });
    let error = iosv_service::start(c, cpu()).await.err().expect("refused");
    assert!(
        error.to_string().contains("/nonexistent/server.pem"),
        "{error}"
    );
}

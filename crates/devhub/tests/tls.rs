//! The TLS listener: local CA persisted in the state folder, TLS 1.2 and 1.3, MQTT over wss.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hubwire_mqtt::{Decoder, Packet};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn client_config(
    ca_pem: &std::path::Path,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap_or_else(|e| panic!("{e}")) {
        roots
            .add(cert.unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Opens wss://{name}/$iothub/websocket on `addr`, sends CONNECT, returns the CONNACK code.
async fn mqtt_over_wss(
    addr: std::net::SocketAddr,
    name: &'static str,
    config: Arc<rustls::ClientConfig>,
    device: &str,
    key: &str,
    expected_version: rustls::ProtocolVersion,
) -> u8 {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let server_name = ServerName::try_from(name).unwrap_or_else(|e| panic!("{e}"));
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS handshake with {name}: {e}"));
    assert_eq!(tls.get_ref().1.protocol_version(), Some(expected_version));
    let mut req = format!("wss://{name}/$iothub/websocket?iothub-no-client-cert=true")
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    let (mut ws, _) = tokio_tungstenite::client_async(req, tls)
        .await
        .unwrap_or_else(|e| panic!("WebSocket over TLS: {e}"));
    let connect = common::connect(device, &common::token(device, key, 600), false);
    ws.send(WsMessage::Binary(
        common::encode(&Packet::Connect(connect)).into(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = Decoder::default();
    loop {
        let msg = tokio::time::timeout(common::WAIT, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no CONNACK"));
        let Some(Ok(WsMessage::Binary(b))) = msg else {
            panic!("unexpected {msg:?}");
        };
        let mut input: &[u8] = &b;
        if let Some(Packet::ConnAck(ack)) =
            decoder.decode(&mut input).unwrap_or_else(|e| panic!("{e}"))
        {
            return ack.code.as_u8();
        }
    }
}

#[tokio::test]
async fn tls_listener_with_persisted_local_ca() {
    let dir = common::temp_dir("tls");
    let mut config = devhub::Config::local(&dir);
    config.tls = true;
    let running = devhub::start(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ca = running
        .ca_cert
        .clone()
        .unwrap_or_else(|| panic!("no CA path"));
    assert_eq!(ca, dir.join("ca.pem"));
    let ca_pem = std::fs::read(&ca).unwrap_or_else(|e| panic!("{e}"));
    assert!(ca_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    let tls_addr = running.tls_addr.unwrap_or_else(|| panic!("no TLS address"));
    assert_ne!(tls_addr.port(), 0);
    let hub = common::Hub {
        running,
        dir: dir.clone(),
    };
    let key = hub.key("demo-device-1").await;

    let v13 = client_config(&ca, &rustls::version::TLS13);
    let v12 = client_config(&ca, &rustls::version::TLS12);
    for (name, cfg, version) in [
        ("localhost", v13.clone(), rustls::ProtocolVersion::TLSv1_3),
        ("localhost", v12.clone(), rustls::ProtocolVersion::TLSv1_2),
        ("127.0.0.1", v12.clone(), rustls::ProtocolVersion::TLSv1_2),
    ] {
        let code = mqtt_over_wss(tls_addr, name, cfg, "demo-device-1", &key, version).await;
        assert_eq!(code, 0, "CONNACK over TLS ({name}, {version:?})");
    }

    // A certificate for another name is not accepted by a verifying client.
    let tcp = tokio::net::TcpStream::connect(tls_addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let other = ServerName::try_from("example.com").unwrap_or_else(|e| panic!("{e}"));
    assert!(tokio_rustls::TlsConnector::from(v13.clone())
        .connect(other, tcp)
        .await
        .is_err());
}

#[tokio::test]
async fn tls_material_is_reused_across_restarts() {
    let dir = common::temp_dir("tls-reuse");
    let files = devhub::tls::ensure_material(&dir, "localhost").unwrap_or_else(|e| panic!("{e}"));
    let ca1 = std::fs::read(&files.ca_cert).unwrap_or_else(|e| panic!("{e}"));
    let srv1 = std::fs::read(&files.server_cert).unwrap_or_else(|e| panic!("{e}"));
    let files = devhub::tls::ensure_material(&dir, "localhost").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(&files.ca_cert).ok(), Some(ca1.clone()));
    assert_eq!(std::fs::read(&files.server_cert).ok(), Some(srv1.clone()));

    // Losing the server certificate re-issues it from the same CA: the old CA still verifies it.
    std::fs::remove_file(&files.server_cert).unwrap_or_else(|e| panic!("{e}"));
    let files = devhub::tls::ensure_material(&dir, "localhost").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(&files.ca_cert).ok(), Some(ca1));
    assert_ne!(std::fs::read(&files.server_cert).ok(), Some(srv1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files.server_key)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
    }

    let mut config = devhub::Config::local(&dir);
    config.tls = true;
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tls_addr = running.tls_addr.unwrap_or_else(|| panic!("no TLS address"));
    let hub = common::Hub { running, dir };
    let key = hub.key("demo-device-2").await;
    let cfg = client_config(&files.ca_cert, &rustls::version::TLS13);
    let code = mqtt_over_wss(
        tls_addr,
        "localhost",
        cfg,
        "demo-device-2",
        &key,
        rustls::ProtocolVersion::TLSv1_3,
    )
    .await;
    assert_eq!(code, 0);
}

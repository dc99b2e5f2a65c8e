//! Command line and configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How devhub runs; parsed from the command line by the `devhub` binary.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "devhub",
    version,
    about = "Local Azure IoT Hub emulator: MQTT over WebSocket, service API, dashboard host"
)]
pub struct Config {
    /// Folder for the device registry and TLS material (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".devhub")]
    pub state_dir: PathBuf,
    /// Address of the plain HTTP/WebSocket listener (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Hub host name: used in SAS resource URIs, MQTT user names and connection strings.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    pub host_name: String,
    /// Serve this folder (the built dashboard) at `/`, with SPA fallback to index.html.
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,
    /// Also serve folder DIR under the URL prefix PREFIX (repeatable; the longest prefix
    /// wins), e.g. `--static /portal=www/portal --static /portal/pkg=target/pkg/full`.
    #[arg(long = "static", value_name = "PREFIX=DIR")]
    pub statics: Vec<crate::statics::StaticMount>,
    /// Demo devices `demo-device-1` … `demo-device-N` created on first start.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub demo_devices: u32,
    /// Also serve over TLS with a local CA (written to `{state-dir}/ca.pem`).
    #[arg(long)]
    pub tls: bool,
    /// Address of the TLS listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:443")]
    pub tls_listen: SocketAddr,
    /// C2D lock (visibility) timeout in seconds. IoT Hub fixes it at 60; shorter values
    /// exist for tests.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, hide = true)]
    pub c2d_lock_seconds: u64,
}

impl Config {
    /// A configuration for tests and embedding: plain listener on `127.0.0.1:0`, no TLS.
    pub fn local(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            host_name: "localhost".to_owned(),
            dist: None,
            statics: Vec::new(),
            demo_devices: 3,
            tls: false,
            tls_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            c2d_lock_seconds: 60,
        }
    }
}

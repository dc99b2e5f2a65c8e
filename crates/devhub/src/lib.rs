//! devhub: a local Azure IoT Hub emulator.
//!
//! * Devices connect with MQTT 3.1.1 (subprotocol `mqtt`) or AMQP 1.0 (subprotocol
//!   `AMQPWSB10`: SASL PLAIN or CBS put-token, several devices per connection) over WebSocket
//!   at `/$iothub/websocket` and authenticate with SAS tokens, exactly as with a real hub.
//! * Devices may also use the HTTPS device API under `/devices/{id}/messages/…`: events
//!   (single and batch), C2D polling with complete/reject/abandon, SAS in `Authorization`.
//! * The service API under `/api` lists and creates devices, sends cloud-to-device messages,
//!   and shows device-to-cloud messages (also as a Server-Sent Events stream).
//! * The same router is served on a plain listener and, with `--tls`, over TLS with a local CA.
//!
//! [`run`] is the whole program; [`start`] returns a handle for embedding and tests.
#![forbid(unsafe_code)]

pub mod c2d;
pub mod config;
pub mod registry;
pub mod statics;
pub mod tls;

mod amqp;
mod api;
mod auth;
mod https;
mod hub;
mod mqtt;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use axum::routing::any;
use axum::Router;
use tokio::task::JoinHandle;
use tower::util::MapRequestLayer;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};
use tower_http::services::{ServeDir, ServeFile};

pub use config::Config;
pub use hub::D2cEvent;

/// Why devhub could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The state folder or registry could not be used.
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    /// TLS material could not be created or loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// A started devhub.
#[derive(Debug)]
pub struct Running {
    /// Address of the plain listener (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Address of the TLS listener, with `--tls`.
    pub tls_addr: Option<SocketAddr>,
    /// The CA certificate clients must trust, with `--tls`.
    pub ca_cert: Option<PathBuf>,
    router: Router,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// The full router (service API, device endpoints, static files), for in-process requests.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Waits until the plain server stops (it normally never does).
    pub async fn wait(mut self) -> Result<(), StartError> {
        let result = match (&mut self.server).await {
            Ok(r) => r.map_err(StartError::Serve),
            Err(e) => Err(StartError::Serve(std::io::Error::other(e.to_string()))),
        };
        result
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
        for t in &self.background {
            t.abort();
        }
    }
}

/// Runs devhub: starts it, prints `devhub listening on http://ADDR` (and the TLS line) to
/// stdout, then serves until the process ends.
pub async fn run(config: Config) -> Result<(), StartError> {
    let running = start(config).await?;
    println!("devhub listening on http://{}", running.addr);
    if let Some(tls) = running.tls_addr {
        println!("devhub tls listening on https://{tls}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    running.wait().await
}

/// Starts devhub in the current tokio runtime and returns once the listeners are bound.
pub async fn start(config: Config) -> Result<Running, StartError> {
    std::fs::create_dir_all(&config.state_dir).map_err(|source| registry::RegistryError::Io {
        path: config.state_dir.clone(),
        source,
    })?;
    let registry = registry::Registry::open(&config.state_dir, config.demo_devices)?;
    tracing::info!(
        path = %registry.path().display(),
        devices = registry.devices().count(),
        "device registry loaded"
    );
    let mut seed = [0u8; 8];
    registry::fill_random(&mut seed)?;
    let c2d_config = c2d::C2dConfig {
        lock_duration: std::time::Duration::from_secs(config.c2d_lock_seconds.max(1)),
        ..c2d::C2dConfig::default()
    };
    let hub = std::sync::Arc::new(hub::HubState::new(
        config.host_name.clone(),
        registry,
        c2d_config,
        u64::from_le_bytes(seed),
    ));
    let router = build_router(hub.clone(), config.dist.clone(), config.statics.clone());

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;

    let mut background = vec![tokio::spawn(hub::c2d_timer(hub.clone()))];
    let (mut tls_addr, mut ca_cert) = (None, None);
    if config.tls {
        let files = tls::ensure_material(&config.state_dir, &config.host_name)?;
        let server_config = tls::server_config(&files)?;
        let tls_listener = tokio::net::TcpListener::bind(config.tls_listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.tls_listen,
                source,
            })?;
        let bound = tls_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.tls_listen,
                source,
            })?;
        tracing::info!(%bound, ca = %files.ca_cert.display(), "TLS listener ready");
        background.push(tokio::spawn(tls::serve(
            tls_listener,
            server_config,
            router.clone(),
        )));
        tls_addr = Some(bound);
        ca_cert = Some(files.ca_cert);
    }

    let app = router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    tracing::info!(%addr, host_name = %config.host_name, "devhub ready");
    Ok(Running {
        addr,
        tls_addr,
        ca_cert,
        router,
        server,
        background,
    })
}

fn build_router(
    hub: hub::Shared,
    dist: Option<PathBuf>,
    statics: Vec<statics::StaticMount>,
) -> Router {
    let mut router = api::routes()
        .merge(https::routes())
        .route("/$iothub/websocket", any(ws::upgrade))
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(hub);
    if !statics.is_empty() {
        let mounts = std::sync::Arc::new(statics);
        let dist = dist.map(std::sync::Arc::new);
        router = router.fallback(move |req: Request<axum::body::Body>| {
            statics::serve(mounts.clone(), dist.clone(), req)
        });
    } else if let Some(dist) = dist {
        let index = dist.join("index.html");
        router = router.fallback_service(ServeDir::new(dist).fallback(ServeFile::new(index)));
    }
    router
        .layer(cors_layer())
        .layer(MapRequestLayer::new(filter_preflight_headers))
}

/// Keeps only the request headers a page may send ([`https::is_allowed_request_header`]) in
/// a preflight's `Access-Control-Request-Headers`; the CORS layer then mirrors what is left.
/// A header that was asked for and is missing from the answer makes the browser refuse.
fn filter_preflight_headers<B>(mut req: Request<B>) -> Request<B> {
    if req.method() != Method::OPTIONS {
        return req;
    }
    let requested: Vec<String> = req
        .headers()
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    if requested.is_empty() {
        return req;
    }
    let allowed: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|n| https::is_allowed_request_header(n))
        .collect();
    let headers = req.headers_mut();
    headers.remove(header::ACCESS_CONTROL_REQUEST_HEADERS);
    if let Ok(v) = HeaderValue::from_str(&allowed.join(",")) {
        if !allowed.is_empty() {
            headers.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, v);
        }
    }
    req
}

/// CORS for pages served from local origins (any port): the dashboard in development, test
/// pages on random ports, the browser HTTPS poller. Request headers: see
/// [`filter_preflight_headers`]. Exposed: `*` (every header, for requests without
/// credentials, so `iothub-app-*` too) plus the device API's fixed names for credentialed
/// requests, where `*` is not a wildcard.
fn cors_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(is_local_origin)
        }))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list(
            std::iter::once("*")
                .chain(https::EXPOSED_HEADERS)
                .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok()),
        ))
        .max_age(std::time::Duration::from_secs(600))
}

/// `http(s)://localhost[:port]`, `http(s)://127.0.0.1[:port]`, `http(s)://[::1][:port]`.
pub fn is_local_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host_port_ok = |host: &str| {
        let Some(after) = rest.strip_prefix(host) else {
            return false;
        };
        after.is_empty()
            || after.strip_prefix(':').is_some_and(|p| {
                !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
            })
    };
    host_port_ok("localhost") || host_port_ok("127.0.0.1") || host_port_ok("[::1]")
}

#[cfg(test)]
mod tests {
    use super::is_local_origin;

    #[test]
    fn local_origins() {
        for ok in [
            "http://localhost",
            "http://localhost:8080",
            "https://127.0.0.1:5173",
            "http://[::1]:3000",
            "https://localhost",
        ] {
            assert!(is_local_origin(ok), "{ok}");
        }
        for bad in [
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io:80",
            "https://example.com",
            "ftp://localhost",
            "http://localhost:",
            "http://localhost:80/x",
            "null",
            "http://[::1]x",
        ] {
            assert!(!is_local_origin(bad), "{bad}");
        }
    }
}

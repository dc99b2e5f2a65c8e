//! `--static PREFIX=DIR`: folders served under URL prefixes beside the dashboard (`--dist`).
#![allow(missing_docs)]

mod common;

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::temp_dir;
use tower::ServiceExt;

struct Served {
    running: devhub::Running,
    dir: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(path: &Path, body: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// devhub with a dashboard at `/`, a portal at `/portal` and its package at `/portal/pkg`.
/// `secret.txt` sits beside the served folders, where no request may reach it.
async fn serve(tag: &str) -> Served {
    let dir = temp_dir(tag);
    let (dist, portal, pkg) = (dir.join("dist"), dir.join("portal"), dir.join("pkg"));
    write(
        &dist.join("index.html"),
        b"<!doctype html><title>dashboard</title>",
    );
    write(
        &portal.join("index.html"),
        b"<!doctype html><title>portal</title>",
    );
    write(&portal.join("portal.js"), b"export const x = 1;\n");
    write(
        &pkg.join("hubwire_web.js"),
        b"export default function init() {}\n",
    );
    write(&pkg.join("hubwire_web_bg.wasm"), b"\0asm\x01\0\0\0");
    write(&pkg.join("package.json"), b"{\"name\":\"hubwire\"}");
    write(&dir.join("secret.txt"), b"do not serve");
    let mut config = devhub::Config::local(dir.join("state"));
    config.dist = Some(dist);
    config.statics = vec![
        format!("/portal={}", portal.display())
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        format!("/portal/pkg/={}", pkg.display())
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    ];
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    Served { running, dir }
}

async fn get(s: &Served, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .uri(uri)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("request: {e}"));
    let resp = s
        .running
        .router()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_else(|e| panic!("body: {e}"));
    (status, headers, body.to_vec())
}

fn content_type(h: &axum::http::HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn files_are_served_with_their_content_types() {
    let s = serve("static-types").await;
    for (uri, ctype, body) in [
        (
            "/portal/",
            "text/html",
            &b"<!doctype html><title>portal</title>"[..],
        ),
        (
            "/portal/index.html",
            "text/html",
            &b"<!doctype html><title>portal</title>"[..],
        ),
        (
            "/portal/portal.js",
            "text/javascript",
            &b"export const x = 1;\n"[..],
        ),
        (
            "/portal/pkg/hubwire_web.js",
            "text/javascript",
            &b"export default function init() {}\n"[..],
        ),
        (
            "/portal/pkg/hubwire_web_bg.wasm",
            "application/wasm",
            &b"\0asm\x01\0\0\0"[..],
        ),
        (
            "/portal/pkg/package.json",
            "application/json",
            &b"{\"name\":\"hubwire\"}"[..],
        ),
    ] {
        let (status, headers, got) = get(&s, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            content_type(&headers).starts_with(ctype),
            "{uri}: content type {:?}, expected {ctype}",
            content_type(&headers)
        );
        assert_eq!(got, body, "{uri}");
    }
}

#[tokio::test]
async fn the_bare_prefix_redirects_to_the_folder() {
    let s = serve("static-redirect").await;
    let (status, headers, _) = get(&s, "/portal?device=demo-device-1").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/portal/?device=demo-device-1")
    );
}

#[tokio::test]
async fn no_path_leaves_the_served_folder() {
    let s = serve("static-traversal").await;
    for uri in [
        "/portal/../secret.txt",
        "/portal/%2e%2e/secret.txt",
        "/portal/pkg/..%2f..%2fsecret.txt",
        "/portal/pkg/%2e%2e%2fsecret.txt",
        "/portal/..%5csecret.txt",
        "/portal//etc/passwd",
        "/portal/pkg/missing.js",
    ] {
        let (status, _, body) = get(&s, uri).await;
        assert_ne!(status, StatusCode::OK, "{uri} must not be served");
        assert!(
            !String::from_utf8_lossy(&body).contains("do not serve"),
            "{uri} leaked a file outside the folder"
        );
    }
}

#[tokio::test]
async fn dashboard_and_api_keep_working() {
    let s = serve("static-dist").await;
    let (status, headers, body) = get(&s, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&headers).starts_with("text/html"));
    assert_eq!(body, b"<!doctype html><title>dashboard</title>");
    // The dashboard's client-side routes still fall back to its index, also beside a mount.
    let (status, _, body) = get(&s, "/portalx/devices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<!doctype html><title>dashboard</title>");
    let (status, headers, _) = get(&s, "/api/devices").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type(&headers).starts_with("application/json"));
}

#[tokio::test]
async fn without_a_dashboard_unknown_paths_are_not_found() {
    let dir = temp_dir("static-nodist");
    write(&dir.join("portal/index.html"), b"portal");
    let mut config = devhub::Config::local(dir.join("state"));
    config.statics = vec![format!("/portal={}", dir.join("portal").display())
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))];
    let s = Served {
        running: devhub::start(config)
            .await
            .unwrap_or_else(|e| panic!("start: {e}")),
        dir,
    };
    assert_eq!(get(&s, "/portal/").await.0, StatusCode::OK);
    assert_eq!(get(&s, "/").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, "/other.js").await.0, StatusCode::NOT_FOUND);
}

//! Service API tests: in-process through the router, plus the real binary for the start line.
#![allow(missing_docs)]

mod common;

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use axum::http::StatusCode;
use common::{start, temp_dir};
use serde_json::{json, Value};

#[tokio::test]
async fn hub_info() {
    let hub = start("info").await;
    let (status, v) = hub.api("GET", "/api/hub", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!({"hostName":"localhost","hubName":"localhost","devhub":true,"version":"0.1.0"})
    );
}

#[tokio::test]
async fn demo_devices_are_listed_with_connection_strings() {
    let hub = start("list").await;
    let (status, v) = hub.api("GET", "/api/devices", None).await;
    assert_eq!(status, StatusCode::OK);
    let list = v.as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = list.iter().filter_map(|d| d["deviceId"].as_str()).collect();
    assert_eq!(ids, vec!["demo-device-1", "demo-device-2", "demo-device-3"]);
    for d in &list {
        let id = d["deviceId"].as_str().unwrap_or_default();
        let key = d["primaryKey"].as_str().unwrap_or_default();
        assert_eq!(key.len(), 44, "32-byte key in base64");
        assert_eq!(
            d["connectionString"],
            json!(format!(
                "HostName=localhost;DeviceId={id};SharedAccessKey={key}"
            ))
        );
        assert_eq!(d["connected"], json!(false));
        assert_eq!(d["protocol"], Value::Null);
        assert_eq!(d["c2dQueued"], json!(0));
    }
    assert!(hub.dir.join("registry.json").exists());
}

#[tokio::test]
async fn create_get_delete_device() {
    let hub = start("crud").await;
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let (status, d) = hub
        .api(
            "POST",
            "/api/devices",
            Some(json!({"deviceId":"sensor-7","primaryKey":key})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d["deviceId"], "sensor-7");
    assert_eq!(d["primaryKey"], key);

    let (status, e) = hub
        .api("POST", "/api/devices", Some(json!({"deviceId":"sensor-7"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        e["errorCode"].is_number() && e["message"].is_string(),
        "{e}"
    );

    let (status, e) = hub
        .api("POST", "/api/devices", Some(json!({"deviceId":"bad#id"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("device id")),
        "{e}"
    );

    let (status, _, body) = hub.api_raw("POST", "/api/devices", None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(e["errorCode"], 400004);

    let (status, d) = hub.api("GET", "/api/devices/sensor-7", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["connected"], false);

    let (status, _) = hub.api("DELETE", "/api/devices/sensor-7", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, e) = hub.api("GET", "/api/devices/sensor-7", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["errorCode"], 404001);
    let (status, _) = hub.api("DELETE", "/api/devices/sensor-7", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn registry_survives_restart() {
    let dir = temp_dir("restart");
    let first = devhub::start(devhub::Config::local(&dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hub = common::Hub {
        running: first,
        dir: dir.clone(),
    };
    let key1 = hub.key("demo-device-1").await;
    let (status, created) = hub
        .api("POST", "/api/devices", Some(json!({"deviceId":"kept"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let running = devhub::start(devhub::Config::local(&dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = common::Hub { running, dir };
    assert_eq!(again.key("demo-device-1").await, key1);
    assert_eq!(
        again.key("kept").await,
        created["primaryKey"].as_str().unwrap_or("?")
    );
    drop(hub);
}

#[tokio::test]
async fn c2d_send_queue_view_and_limits() {
    let hub = start("c2d").await;
    let (status, r) = hub
        .api(
            "POST",
            "/api/devices/demo-device-1/messages",
            Some(
                json!({"body":"hello","messageId":"m-1","correlationId":"c-1",
                        "properties":{"k":"v"},"ack":"full","ttlSeconds":3600}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r, json!({"messageId":"m-1","sequenceNumber":1}));

    // A generated message id is UUID-shaped.
    let (status, r) = hub
        .api(
            "POST",
            "/api/devices/demo-device-1/messages",
            Some(json!({"bodyBase64":"AAEC"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(r["sequenceNumber"], 2);
    assert_eq!(r["messageId"].as_str().map(str::len), Some(36));

    let (status, q) = hub
        .api("GET", "/api/devices/demo-device-1/messages", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(q.as_array().map(Vec::len), Some(2));
    assert_eq!(q[0]["messageId"], "m-1");
    assert_eq!(q[0]["state"], "enqueued");
    assert_eq!(q[0]["deliveryCount"], 0);
    assert_eq!(q[0]["lockedUntilUtc"], Value::Null);

    for i in 3..=50 {
        let (status, _) = hub
            .api(
                "POST",
                "/api/devices/demo-device-1/messages",
                Some(json!({"body": i.to_string()})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, e) = hub
        .api(
            "POST",
            "/api/devices/demo-device-1/messages",
            Some(json!({"body":"51"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(e["errorCode"], 403004);
    let (_, d) = hub.api("GET", "/api/devices/demo-device-1", None).await;
    assert_eq!(d["c2dQueued"], 50);
    // Other devices have their own queue.
    let (status, r) = hub
        .api(
            "POST",
            "/api/devices/demo-device-2/messages",
            Some(json!({"body":"x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(r["sequenceNumber"], 1);

    let (status, e) = hub
        .api(
            "POST",
            "/api/devices/ghost/messages",
            Some(json!({"body":"x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["errorCode"], 404001);
    let (status, _) = hub
        .api(
            "POST",
            "/api/devices/demo-device-2/messages",
            Some(json!({"ack":"sometimes"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = hub
        .api(
            "POST",
            "/api/devices/demo-device-2/messages",
            Some(json!({"body":"a","bodyBase64":"AA=="})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let big = "x".repeat(65 * 1024);
    let (status, e) = hub
        .api(
            "POST",
            "/api/devices/demo-device-2/messages",
            Some(json!({"body": big})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(e["errorCode"], 413001);

    // Deleting the device drops its queue; the history says so.
    let (status, _) = hub.api("DELETE", "/api/devices/demo-device-1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
    let purged = h
        .as_array()
        .map(|a| a.iter().filter(|r| r["outcome"] == "purged").count());
    assert_eq!(purged, Some(50));
    let (_, f) = hub.api("GET", "/api/feedback", None).await;
    assert_eq!(f, json!([]));
}

#[tokio::test]
async fn events_are_empty_initially_and_query_is_checked() {
    let hub = start("events").await;
    let (status, v) = hub
        .api("GET", "/api/events?since=0&deviceId=demo-device-1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v, json!([]));
    let (status, e) = hub.api("GET", "/api/events?since=abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errorCode"], 400004);
    let (status, e) = hub.api("PUT", "/api/hub", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(e["errorCode"], 405000);
    let (status, e) = hub.api("GET", "/api/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["message"].is_string());
}

#[tokio::test]
async fn cors_allows_local_origins_only() {
    let hub = start("cors").await;
    for origin in [
        "http://localhost:5173",
        "https://127.0.0.1:9",
        "http://[::1]:8000",
    ] {
        let (status, headers, _) = hub
            .api_raw(
                "OPTIONS",
                "/api/devices",
                None,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
            )
            .await;
        assert!(status.is_success(), "{origin}: {status}");
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some(origin)
        );
        let methods = headers
            .get("access-control-allow-methods")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            methods.contains("POST") && methods.contains("DELETE"),
            "{methods}"
        );
    }
    let (_, headers, _) = hub
        .api_raw(
            "GET",
            "/api/hub",
            None,
            &[("origin", "http://localhost:3000")],
        )
        .await;
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:3000")
    );
    let (_, headers, _) = hub
        .api_raw(
            "GET",
            "/api/hub",
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn dist_is_served_with_spa_fallback() {
    let dir = temp_dir("dist-state");
    let dist = temp_dir("dist");
    std::fs::create_dir_all(&dist).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dist.join("index.html"), "<html>dashboard</html>")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dist.join("app.js"), "console.log(1)").unwrap_or_else(|e| panic!("{e}"));
    let mut config = devhub::Config::local(&dir);
    config.dist = Some(dist.clone());
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hub = common::Hub { running, dir };
    let (status, _, body) = hub.api_raw("GET", "/app.js", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"console.log(1)");
    let (status, _, body) = hub.api_raw("GET", "/", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"<html>dashboard</html>");
    let (status, _, body) = hub
        .api_raw("GET", "/devices/demo-device-1/view", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"<html>dashboard</html>");
    // The API keeps its own 404s.
    let (status, e) = hub.api("GET", "/api/unknown", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e["errorCode"].is_number());
    let _ = std::fs::remove_dir_all(&dist);
}

/// The binary prints exactly one line with the real port, and serves on it.
#[test]
fn binary_prints_listening_line() {
    let dir = temp_dir("bin");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_devhub"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--demo-devices",
            "2",
            "--state-dir",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    let read = std::io::BufReader::new(stdout).read_line(&mut line);
    let result = (|| {
        read.map_err(|e| e.to_string())?;
        let addr = line
            .trim_end()
            .strip_prefix("devhub listening on http://")
            .ok_or_else(|| format!("unexpected line {line:?}"))?
            .to_owned();
        if addr.ends_with(":0") {
            return Err(format!("port 0 printed: {line:?}"));
        }
        let mut s = std::net::TcpStream::connect(&addr).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"GET /api/devices HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
        Ok::<_, String>(resp)
    })();
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let resp = result.unwrap_or_else(|e| panic!("{e}\nstderr:\n{stderr}"));
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("demo-device-2") && !resp.contains("demo-device-3"),
        "{resp}"
    );
    assert!(stderr.contains("devhub ready"), "{stderr}");
}

#[tokio::test]
async fn c2d_ttl_expiry_dead_letters_with_feedback() {
    let hub = start("ttl").await;
    let (status, _) = hub
        .api(
            "POST",
            "/api/devices/demo-device-3/messages",
            Some(json!({"body":"short-lived","messageId":"ttl-1","ack":"negative","ttlSeconds":1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, q) = hub
        .api("GET", "/api/devices/demo-device-3/messages", None)
        .await;
    assert_eq!(q[0]["state"], "enqueued");
    // The hub's timer dead-letters it at its expiry, with nobody polling the queue.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    let feedback = loop {
        let (_, f) = hub.api("GET", "/api/feedback", None).await;
        if f.as_array().is_some_and(|a| !a.is_empty()) {
            break f;
        }
        assert!(tokio::time::Instant::now() < deadline, "no feedback");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(feedback[0]["originalMessageId"], "ttl-1");
    assert_eq!(feedback[0]["statusCode"], "Expired");
    assert_eq!(feedback[0]["description"], "Message expired");
    assert_eq!(feedback[0]["deviceId"], "demo-device-3");
    let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
    assert_eq!(h[0]["outcome"], "expired");
    let (_, q) = hub
        .api("GET", "/api/devices/demo-device-3/messages", None)
        .await;
    assert_eq!(q, json!([]));
}

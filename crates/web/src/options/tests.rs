use super::*;
// Also run in the browser suite (the scripts run this crate's tests only on wasm32).
use hubwire_iothub::ConnectionStringError;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn cs(extra: &str) -> String {
    format!("HostName=contoso.azure-devices.net;DeviceId=dev-1;SharedAccessKey={KEY}{extra}")
}

fn js(json: &str) -> Result<DeviceOptions, OptionsError> {
    let parsed: JsDeviceOptions =
        serde_json::from_str(json).map_err(|e| OptionsError::Invalid(e.to_string()))?;
    DeviceOptions::try_from(parsed)
}

#[test]
fn default_url_uses_host_and_no_client_cert_query() {
    let o = DeviceOptions::from_connection_string(&cs("")).unwrap();
    assert_eq!(
        o.websocket_url().unwrap(),
        "wss://contoso.azure-devices.net/$iothub/websocket?iothub-no-client-cert=true"
    );
    assert_eq!(o.credentials.device_id().as_str(), "dev-1");
    assert_eq!(o.credentials.host_name(), "contoso.azure-devices.net");
    assert_eq!(o.keep_alive_secs(), 120);
    assert!(!o.clean_session);
    assert_eq!(o.protocol, Protocol::Mqtt);
}

#[test]
fn gateway_host_name_is_where_the_socket_goes() {
    let o = DeviceOptions::from_connection_string(&cs(";GatewayHostName=edge.local")).unwrap();
    assert_eq!(
        o.websocket_url().unwrap(),
        "wss://edge.local/$iothub/websocket?iothub-no-client-cert=true"
    );
    // The identity (SAS resource, user name) still uses HostName.
    assert_eq!(o.credentials.host_name(), "contoso.azure-devices.net");
}

#[test]
fn endpoint_override_forms() {
    let h = "ignored.example";
    assert_eq!(
        websocket_url(Some("ws://127.0.0.1:8080"), h).unwrap(),
        "ws://127.0.0.1:8080/$iothub/websocket?iothub-no-client-cert=true"
    );
    assert_eq!(
        websocket_url(Some("ws://127.0.0.1:8080/"), h).unwrap(),
        "ws://127.0.0.1:8080/$iothub/websocket?iothub-no-client-cert=true"
    );
    assert_eq!(
        websocket_url(Some(" wss://hub.example:443 "), h).unwrap(),
        "wss://hub.example:443/$iothub/websocket?iothub-no-client-cert=true"
    );
    // A caller-given path or query is kept verbatim.
    assert_eq!(
        websocket_url(Some("ws://127.0.0.1:29001/mqtt"), h).unwrap(),
        "ws://127.0.0.1:29001/mqtt"
    );
    assert_eq!(
        websocket_url(Some("ws://h/$iothub/websocket"), h).unwrap(),
        "ws://h/$iothub/websocket"
    );
    for bad in [
        "http://127.0.0.1:8080",
        "127.0.0.1:8080",
        "ws://",
        "wss:///path",
        "",
    ] {
        assert!(
            matches!(
                websocket_url(Some(bad), h),
                Err(OptionsError::InvalidEndpoint { .. })
            ),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn bad_connection_string_names_the_key() {
    let err =
        DeviceOptions::from_connection_string("HostName=h.example;DeviceId=d1;SharedAccessKey=")
            .unwrap_err();
    match &err {
        OptionsError::ConnectionString(inner) => assert_eq!(inner.key(), Some("SharedAccessKey")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("SharedAccessKey"), "{err}");

    let err = DeviceOptions::from_connection_string(&cs(";Bogus=1")).unwrap_err();
    assert!(
        matches!(&err, OptionsError::ConnectionString(ConnectionStringError::UnknownKey { key }) if key == "Bogus"),
        "{err:?}"
    );
    let err =
        DeviceOptions::from_connection_string("DeviceId=d1;SharedAccessKey=abc=").unwrap_err();
    assert!(err.to_string().contains("HostName"), "{err}");
}

#[test]
fn x509_is_refused_in_the_browser() {
    let err = DeviceOptions::from_connection_string("HostName=h.example;DeviceId=d1;x509=true")
        .unwrap_err();
    assert_eq!(err, OptionsError::X509NotSupported);
}

#[test]
fn debug_output_does_not_leak_the_key() {
    let o = DeviceOptions::from_connection_string(&cs("")).unwrap();
    let dbg = format!("{o:?}");
    assert!(!dbg.contains(KEY), "{dbg}");
    assert!(!dbg.contains("AAECAwQF"), "{dbg}");
}

#[test]
fn js_options_with_connection_string_and_tuning() {
    let json = format!(
        r#"{{"connectionString":"{}","endpoint":"ws://127.0.0.1:8080","protocol":"MQTT",
            "keepAliveSecs":90,"connectTimeoutMs":5000,"cleanSession":true,"modelId":"dtmi:x:y;1",
            "reconnect":{{"initialDelayMs":250,"maxDelayMs":4000,"multiplier":3,"jitter":0.2,"maxAttempts":5}},
            "tokenTtlSecs":600,"tokenRenewBeforeSecs":60}}"#,
        cs("")
    );
    let o = js(&json).unwrap();
    assert_eq!(o.endpoint.as_deref(), Some("ws://127.0.0.1:8080"));
    assert_eq!(
        o.websocket_url().unwrap(),
        "ws://127.0.0.1:8080/$iothub/websocket?iothub-no-client-cert=true"
    );
    assert_eq!(o.keep_alive, Duration::from_secs(90));
    assert_eq!(o.connect_timeout, Duration::from_secs(5));
    assert!(o.clean_session);
    assert_eq!(o.model_id.as_deref(), Some("dtmi:x:y;1"));
    assert_eq!(o.reconnect.initial_delay, Duration::from_millis(250));
    assert_eq!(o.reconnect.max_delay, Duration::from_secs(4));
    assert_eq!(o.reconnect.multiplier, 3.0);
    assert_eq!(o.reconnect.jitter, 0.2);
    assert_eq!(o.reconnect.max_attempts, Some(5));
    assert!(o.reconnect.enabled);
    assert_eq!(o.token_policy, TokenPolicy::new(600, 60));
}

#[test]
fn js_options_defaults_and_partial_token_policy() {
    let o = js(&format!(r#"{{"connectionString":"{}"}}"#, cs(""))).unwrap();
    assert_eq!(o.token_policy, TokenPolicy::default());
    assert_eq!(o.reconnect, ReconnectPolicy::default());
    // Only a short ttl: the renewal margin shrinks to a quarter of it.
    let o = js(&format!(
        r#"{{"connectionString":"{}","tokenTtlSecs":120}}"#,
        cs("")
    ))
    .unwrap();
    assert_eq!(o.token_policy, TokenPolicy::new(120, 30));
}

#[test]
fn js_options_sas_token_needs_host_and_device() {
    let token = "SharedAccessSignature sr=h.example%2Fdevices%2Fd1&sig=abc%3D&se=4102444800";
    let o = js(&format!(
        r#"{{"sasToken":"{token}","hostName":"h.example","deviceId":"d1"}}"#
    ))
    .unwrap();
    assert!(matches!(o.credentials, Credentials::SasToken { .. }));
    assert_eq!(o.credentials.device_id().as_str(), "d1");
    let fixed = o.credentials.to_connection_string();
    assert!(!fixed.is_token_renewable());
    assert_eq!(fixed.host_name, "h.example");

    let err = js(&format!(r#"{{"sasToken":"{token}","deviceId":"d1"}}"#)).unwrap_err();
    assert_eq!(err, OptionsError::MissingField { field: "hostName" });
    let err = js(&format!(
        r#"{{"sasToken":"{token}","hostName":"h.example"}}"#
    ))
    .unwrap_err();
    assert_eq!(err, OptionsError::MissingField { field: "deviceId" });
    let err = js(r#"{"sasToken":"not a token","hostName":"h","deviceId":"d1"}"#).unwrap_err();
    assert!(matches!(err, OptionsError::SasToken(_)), "{err:?}");
}

#[test]
fn js_options_rejections() {
    assert_eq!(js("{}").unwrap_err(), OptionsError::MissingCredentials);
    let both = format!(r#"{{"connectionString":"{}","sasToken":"x"}}"#, cs(""));
    assert_eq!(js(&both).unwrap_err(), OptionsError::MissingCredentials);
    // Typos are caught instead of silently ignored.
    let typo = format!(r#"{{"connectionString":"{}","keepAlive":5}}"#, cs(""));
    assert!(matches!(js(&typo).unwrap_err(), OptionsError::Invalid(m) if m.contains("keepAlive")));
    let cases = [
        (r#""protocol":"amqp-tcp""#, "protocol"),
        (r#""keepAliveSecs":70000"#, "keepAliveSecs"),
        (r#""endpoint":"http://x""#, "endpoint"),
        (r#""reconnect":{"jitter":2}"#, "reconnect.jitter"),
        (r#""reconnect":{"multiplier":0.5}"#, "reconnect.multiplier"),
        (
            r#""reconnect":{"initialDelayMs":-1}"#,
            "reconnect.initialDelayMs",
        ),
        (
            r#""tokenTtlSecs":60,"tokenRenewBeforeSecs":60"#,
            "tokenRenewBeforeSecs",
        ),
        (r#""tokenTtlSecs":1.5"#, "tokenTtlSecs"),
    ];
    for (field, what) in cases {
        let json = format!(r#"{{"connectionString":"{}",{field}}}"#, cs(""));
        assert!(js(&json).is_err(), "{what} should be rejected");
    }
}

#[test]
fn protocol_names() {
    assert_eq!(Protocol::parse("mqtt").unwrap(), Protocol::Mqtt);
    assert_eq!(Protocol::parse("MQTT-WS").unwrap(), Protocol::Mqtt);
    assert!(matches!(
        Protocol::parse("amqps"),
        Err(OptionsError::UnknownProtocol { name }) if name == "amqps"
    ));
    assert_eq!(Protocol::parse("amqp").unwrap(), Protocol::Amqp);
    assert_eq!(Protocol::parse("AMQP-WS").unwrap(), Protocol::Amqp);
    assert_eq!(Protocol::Amqp.to_string(), "amqp");
    assert_eq!(Protocol::Amqp.display_name(), "AMQP");
    assert_eq!(Protocol::Amqp.is_enabled(), cfg!(feature = "amqp"));
    assert_eq!(Protocol::Mqtt.to_string(), "mqtt");
    assert_eq!(Protocol::Mqtt.is_enabled(), cfg!(feature = "mqtt"));
    assert_eq!(Protocol::parse("http").unwrap(), Protocol::Http);
    assert_eq!(Protocol::parse("HTTPS").unwrap(), Protocol::Http);
    assert_eq!(Protocol::Http.to_string(), "http");
    assert_eq!(Protocol::Http.display_name(), "HTTPS");
    assert_eq!(Protocol::Http.is_enabled(), cfg!(feature = "http"));
}

#[test]
fn http_base_urls() {
    let h = "contoso.azure-devices.net";
    assert_eq!(
        http_base_url(None, h).unwrap(),
        "https://contoso.azure-devices.net"
    );
    for (given, want) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (
            " https://proxy.example/iothub/ ",
            "https://proxy.example/iothub",
        ),
        ("/iothub", "/iothub"),
        ("/", ""),
    ] {
        assert_eq!(http_base_url(Some(given), h).unwrap(), want, "{given:?}");
    }
    for bad in [
        "ws://127.0.0.1:8080",
        "127.0.0.1:8080",
        "https://",
        "https:///x",
        "//evil.example",
        "http://h/x?y=1",
        "http://h/#x",
        "",
    ] {
        assert!(
            matches!(
                http_base_url(Some(bad), h),
                Err(OptionsError::InvalidHttpEndpoint { .. })
            ),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn js_options_for_http() {
    let o = js(&format!(
        r#"{{"connectionString":"{}","protocol":"http","endpoint":"http://127.0.0.1:8080","pollIntervalSecs":5}}"#,
        cs("")
    ))
    .unwrap();
    assert_eq!(o.protocol, Protocol::Http);
    assert_eq!(o.http_base_url().unwrap(), "http://127.0.0.1:8080");
    assert_eq!(o.poll_interval, PollInterval::development(5).unwrap());
    // Default: the production interval.
    let o = js(&format!(
        r#"{{"connectionString":"{}","protocol":"http"}}"#,
        cs("")
    ))
    .unwrap();
    assert_eq!(o.poll_interval, PollInterval::PRODUCTION);
    assert_eq!(
        o.http_base_url().unwrap(),
        "https://contoso.azure-devices.net"
    );
    let o = js(&format!(
        r#"{{"connectionString":"{}","protocol":"http","pollIntervalSecs":3600}}"#,
        cs("")
    ))
    .unwrap();
    assert!(!o.poll_interval.is_development());
    // A WebSocket endpoint is refused for HTTP, and an HTTP one for MQTT.
    for (protocol, endpoint) in [
        ("http", "ws://127.0.0.1:8080"),
        ("mqtt", "http://127.0.0.1:8080"),
    ] {
        let json = format!(
            r#"{{"connectionString":"{}","protocol":"{protocol}","endpoint":"{endpoint}"}}"#,
            cs("")
        );
        assert!(js(&json).is_err(), "{protocol} {endpoint}");
    }
    for bad in ["0", "-1", "2.5"] {
        let json = format!(
            r#"{{"connectionString":"{}","protocol":"http","pollIntervalSecs":{bad}}}"#,
            cs("")
        );
        assert!(js(&json).is_err(), "pollIntervalSecs {bad}");
    }
    let built = DeviceOptions::from_connection_string(&cs(""))
        .unwrap()
        .with_protocol(Protocol::Http)
        .with_poll_interval(PollInterval::development(2).unwrap());
    assert_eq!(built.protocol, Protocol::Http);
    assert_eq!(built.poll_interval.duration(), Duration::from_secs(2));
}

#[test]
fn random_source_clamps() {
    assert_eq!(RandomSource::new(|| 2.0).next(), 1.0);
    assert_eq!(RandomSource::new(|| -2.0).next(), 0.0);
    assert_eq!(RandomSource::new(|| f64::NAN).next(), 0.0);
    assert_eq!(RandomSource::new(|| 0.25).next(), 0.25);
}

#[test]
fn field_lists_match_the_structs() {
    // deny_unknown_fields makes a misspelt list entry fail here.
    let all: serde_json::Map<String, serde_json::Value> = JsDeviceOptions::FIELDS
        .iter()
        .map(|f| ((*f).to_owned(), serde_json::Value::Null))
        .collect();
    let parsed: JsDeviceOptions = serde_json::from_value(all.into()).unwrap();
    assert_eq!(parsed, JsDeviceOptions::default());
    let all: serde_json::Map<String, serde_json::Value> = JsReconnect::FIELDS
        .iter()
        .map(|f| ((*f).to_owned(), serde_json::Value::Null))
        .collect();
    let parsed: JsReconnect = serde_json::from_value(all.into()).unwrap();
    assert_eq!(parsed, JsReconnect::default());
    assert!(serde_json::from_str::<JsDeviceOptions>(r#"{"bogus":1}"#).is_err());
}

//! Wire types of the devhub service API (see the devhub contract), as the dashboard reads them.
//!
//! Deserialisation is lenient about fields the dashboard does not show, so a newer devhub with
//! extra fields still works; property maps keep the order the server sent.

use core::fmt;

use hubwire_iothub::secret::Secret;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// `GET /api/hub`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubInfo {
    /// IoT Hub host name devices authenticate against.
    #[serde(default)]
    pub host_name: String,
    /// Hub name.
    #[serde(default)]
    pub hub_name: String,
    /// `true` only for devhub, whose service API the cloud pane needs.
    #[serde(default)]
    pub devhub: bool,
    /// Server version.
    #[serde(default)]
    pub version: String,
}

/// One entry of `GET /api/devices`. Debug output redacts the key and connection string.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// Device id.
    pub device_id: String,
    /// Full device connection string (contains the key).
    #[serde(deserialize_with = "secret")]
    pub connection_string: Secret,
    /// Whether a device session is currently open.
    #[serde(default)]
    pub connected: bool,
    /// Protocol of the open session, if any.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Cloud-to-device messages waiting for the device.
    #[serde(default)]
    pub c2d_queued: u32,
}

/// One stored device-to-cloud message (`GET /api/events`, `GET /api/events/stream`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Server sequence number, increasing.
    pub seq: u64,
    /// Sending device.
    pub device_id: String,
    /// Protocol the message arrived on.
    #[serde(default)]
    pub protocol: String,
    /// When the hub stored it (RFC 3339).
    #[serde(default)]
    pub enqueued_time_utc: String,
    /// Body as text when it is UTF-8.
    #[serde(default)]
    pub body: Option<String>,
    /// Body as base64 (always present for non-text bodies).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// System properties (message id, content type, …) with non-null values, in server order.
    #[serde(default, deserialize_with = "ordered_pairs")]
    pub system_properties: Vec<(String, String)>,
    /// Application properties, in server order.
    #[serde(default, deserialize_with = "ordered_pairs")]
    pub properties: Vec<(String, String)>,
    /// Size of the message as it arrived on the wire, when the server measured it.
    #[serde(default)]
    pub wire_bytes: Option<u64>,
}

/// Body of `POST /api/devices/{id}/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct C2dRequest {
    /// Body text.
    pub body: String,
    /// Optional message id (the server assigns one otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Optional content type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Application properties, in order.
    #[serde(serialize_with = "pairs_as_map")]
    pub properties: Vec<(String, String)>,
    /// `none`, `positive`, `negative` or `full`.
    pub ack: String,
}

/// `201` answer to a C2D send.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct C2dAccepted {
    /// Message id the hub used.
    pub message_id: String,
    /// Queue sequence number.
    #[serde(default)]
    pub sequence_number: u64,
}

/// An error body (`{"errorCode":403004,"message":"…"}`); both fields optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// IoT Hub style error code.
    #[serde(default)]
    pub error_code: Option<u64>,
    /// Human-readable message.
    #[serde(default, alias = "Message", alias = "error")]
    pub message: Option<String>,
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    String::deserialize(deserializer).map(Secret::new)
}

/// Reads a JSON object into ordered pairs; `null` values are dropped and other non-string
/// values are kept as their JSON text (as sent), so nothing the server sends makes the record unreadable.
fn ordered_pairs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, String)>, D::Error> {
    struct PairsVisitor;

    impl<'de> Visitor<'de> for PairsVisitor {
        type Value = Vec<(String, String)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs = Vec::new();
            // Each value is taken as the raw JSON text the server sent (no `serde_json::Value`
            // tree, which the page is smaller without): strings are unescaped, `null` dropped,
            // anything else kept as sent.
            while let Some((key, raw)) = map.next_entry::<String, Box<RawValue>>()? {
                match raw.get() {
                    "null" => {}
                    text if text.starts_with('"') => {
                        let s: String = serde_json::from_str(text).map_err(A::Error::custom)?;
                        pairs.push((key, s));
                    }
                    text => pairs.push((key, text.to_owned())),
                }
            }
            Ok(pairs)
        }
    }

    deserializer.deserialize_option(PairsVisitor)
}

fn pairs_as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_list_parses_and_debug_hides_the_key() {
        let json = r#"[{"deviceId":"demo-device-1","connectionString":"HostName=localhost;DeviceId=demo-device-1;SharedAccessKey=c2VjcmV0","primaryKey":"c2VjcmV0","connected":true,"protocol":"mqtt","c2dQueued":2}]"#;
        let devices: Vec<DeviceInfo> = serde_json::from_str(json).unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].device_id, "demo-device-1");
        assert!(devices[0].connected);
        assert_eq!(devices[0].c2d_queued, 2);
        assert!(devices[0]
            .connection_string
            .expose()
            .ends_with("SharedAccessKey=c2VjcmV0"));
        let debug = format!("{devices:?}");
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
    }

    #[test]
    fn event_keeps_property_order_and_drops_nulls() {
        let json = r#"{"seq":7,"deviceId":"d1","protocol":"mqtt","enqueuedTimeUtc":"2024-01-01T00:00:00Z",
            "body":"{\"t\":1}","bodyBase64":"eyJ0IjoxfQ==",
            "systemProperties":{"messageId":"m1","correlationId":null,"contentType":"application/json","size":9},
            "properties":{"zeta":"1","alpha":"2"},"wireBytes":120}"#;
        let event: EventRecord = serde_json::from_str(json).unwrap();
        assert_eq!(event.seq, 7);
        assert_eq!(event.body.as_deref(), Some("{\"t\":1}"));
        assert_eq!(
            event.properties,
            vec![("zeta".into(), "1".into()), ("alpha".into(), "2".into())]
        );
        assert_eq!(
            event.system_properties,
            vec![
                ("messageId".into(), "m1".into()),
                ("contentType".into(), "application/json".into()),
                ("size".into(), "9".into()),
            ]
        );
        assert_eq!(event.wire_bytes, Some(120));
    }

    #[test]
    fn event_tolerates_missing_and_null_maps() {
        let event: EventRecord =
            serde_json::from_str(r#"{"seq":1,"deviceId":"d","properties":null,"body":null}"#)
                .unwrap();
        assert!(event.properties.is_empty());
        assert!(event.system_properties.is_empty());
        assert_eq!(event.body, None);
    }

    #[test]
    fn c2d_request_serialises_in_contract_shape() {
        let request = C2dRequest {
            body: "on".into(),
            message_id: None,
            content_type: Some("text/plain".into()),
            properties: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
            ack: "full".into(),
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"body":"on","contentType":"text/plain","properties":{"b":"2","a":"1"},"ack":"full"}"#
        );
    }

    #[test]
    fn hub_info_without_devhub_flag_is_not_devhub() {
        let hub: HubInfo = serde_json::from_str(r#"{"hostName":"h"}"#).unwrap();
        assert!(!hub.devhub);
        let hub: HubInfo = serde_json::from_str(
            r#"{"hostName":"localhost","hubName":"localhost","devhub":true,"version":"0.1.0"}"#,
        )
        .unwrap();
        assert!(hub.devhub);
    }
}

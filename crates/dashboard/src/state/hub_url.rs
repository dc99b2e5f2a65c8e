//! The hub base URL: where the service API lives and where devices dial their WebSocket.

use core::fmt;

use super::device::Protocol;

/// A validated hub base URL such as `http://127.0.0.1:8090`, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubUrl(String);

/// Why a typed hub URL was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubUrlError {
    /// Nothing typed.
    Empty,
    /// Not `http://` or `https://`.
    Scheme,
    /// No host after the scheme.
    NoHost,
    /// Contains a query, fragment or whitespace, which could not be joined with API paths.
    Unsupported,
}

impl fmt::Display for HubUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "enter the hub URL, e.g. http://127.0.0.1:8080",
            Self::Scheme => "the hub URL must start with http:// or https://",
            Self::NoHost => "the hub URL has no host",
            Self::Unsupported => "the hub URL must not contain spaces, '?' or '#'",
        })
    }
}

impl HubUrl {
    /// Validates and normalises a typed URL (trims spaces and trailing slashes).
    pub fn parse(input: &str) -> Result<Self, HubUrlError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(HubUrlError::Empty);
        }
        let (scheme, rest) = if let Some(rest) = trimmed.strip_prefix("http://") {
            ("http://", rest)
        } else if let Some(rest) = trimmed.strip_prefix("https://") {
            ("https://", rest)
        } else {
            return Err(HubUrlError::Scheme);
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.starts_with('/') {
            return Err(HubUrlError::NoHost);
        }
        if rest.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
            return Err(HubUrlError::Unsupported);
        }
        Ok(Self(format!("{scheme}{rest}")))
    }

    /// The base URL, e.g. `http://127.0.0.1:8090`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A service API URL: `path` must start with `/`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The device WebSocket endpoint on the same listener (`ws://…/$iothub/websocket`, or
    /// `wss://` for an `https://` hub), with the query browsers send because they cannot
    /// present client certificates. The full path is given so a base URL with a path prefix
    /// (a reverse proxy) still reaches the right place.
    pub fn device_endpoint(&self) -> String {
        let ws = match self.0.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", self.0.strip_prefix("http://").unwrap_or(&self.0)),
        };
        format!("{ws}/$iothub/websocket?iothub-no-client-cert=true")
    }

    /// The endpoint a device dials over `protocol`: the WebSocket listener for MQTT and AMQP,
    /// the base URL itself for the HTTPS device API (`{base}/devices/{id}/messages/…`).
    pub fn endpoint_for(&self, protocol: Protocol) -> String {
        if protocol.uses_websocket() {
            self.device_endpoint()
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_trims_and_strips_trailing_slashes() {
        let url = HubUrl::parse("  http://127.0.0.1:8090//  ").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8090");
        assert_eq!(url.api("/api/hub"), "http://127.0.0.1:8090/api/hub");
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert_eq!(HubUrl::parse("   "), Err(HubUrlError::Empty));
        assert_eq!(HubUrl::parse("ftp://x"), Err(HubUrlError::Scheme));
        assert_eq!(HubUrl::parse("127.0.0.1:8080"), Err(HubUrlError::Scheme));
        assert_eq!(HubUrl::parse("http://"), Err(HubUrlError::NoHost));
        assert_eq!(HubUrl::parse("http:///x"), Err(HubUrlError::NoHost));
        assert_eq!(HubUrl::parse("http://a b"), Err(HubUrlError::Unsupported));
        assert_eq!(HubUrl::parse("http://a?x=1"), Err(HubUrlError::Unsupported));
    }

    #[test]
    fn device_endpoint_follows_the_scheme() {
        let plain = HubUrl::parse("http://127.0.0.1:8090").unwrap();
        assert_eq!(
            plain.device_endpoint(),
            "ws://127.0.0.1:8090/$iothub/websocket?iothub-no-client-cert=true"
        );
        let tls = HubUrl::parse("https://localhost:8443/").unwrap();
        assert_eq!(
            tls.device_endpoint(),
            "wss://localhost:8443/$iothub/websocket?iothub-no-client-cert=true"
        );
        let proxied = HubUrl::parse("http://host/hub").unwrap();
        assert_eq!(
            proxied.device_endpoint(),
            "ws://host/hub/$iothub/websocket?iothub-no-client-cert=true"
        );
    }

    #[test]
    fn endpoint_for_each_protocol() {
        let url = HubUrl::parse("http://127.0.0.1:8090/").unwrap();
        assert_eq!(url.endpoint_for(Protocol::MqttWs), url.device_endpoint());
        assert_eq!(url.endpoint_for(Protocol::AmqpWs), url.device_endpoint());
        assert_eq!(url.endpoint_for(Protocol::Https), "http://127.0.0.1:8090");
        let proxied = HubUrl::parse("https://host/hub").unwrap();
        assert_eq!(proxied.endpoint_for(Protocol::Https), "https://host/hub");
    }
}

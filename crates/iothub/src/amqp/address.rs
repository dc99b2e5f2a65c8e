//! Link addresses (§5.5), CBS audiences (§5.4) and SASL PLAIN user names (§5.2).

use crate::property_bag::{decode_component, encode_component};
use crate::sas::encode_resource_uri;
use crate::{DeviceId, IdError, ModuleId, SasToken};

/// `/devices/{d}` or `/devices/{d}/modules/{m}`, ids percent-encoded as the Node SDK does.
fn identity_path(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    let mut p = format!("/devices/{}", encode_component(device_id.as_str()));
    if let Some(m) = module_id {
        p.push_str("/modules/");
        p.push_str(&encode_component(m.as_str()));
    }
    p
}

/// D2C telemetry sender target: `/devices/{d}/messages/events`
/// (modules: `/devices/{d}/modules/{m}/messages/events`, also the Node SDK's module input
/// receiver source). Ids are percent-encoded (RFC 3986 unreserved kept).
pub fn d2c_address(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    identity_path(device_id, module_id) + "/messages/events"
}

/// C2D receiver source: `/devices/{d}/messages/devicebound`.
pub fn c2d_address(device_id: &DeviceId) -> String {
    identity_path(device_id, None) + "/messages/devicebound"
}

/// Twin sender target and receiver source (same address): `/devices/{d}[/modules/{m}]/twin`.
pub fn twin_address(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    identity_path(device_id, module_id) + "/twin"
}

/// Direct-method sender target and receiver source (same address):
/// `/devices/{d}[/modules/{m}]/methods/devicebound`.
pub fn methods_address(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    identity_path(device_id, module_id) + "/methods/devicebound"
}

/// What a device link address is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkKind {
    /// `…/messages/events`: telemetry (a client sender), or module input (a Node client
    /// receiver on a module address) — the link's role tells them apart.
    D2c,
    /// `…/messages/devicebound`: C2D (a client receiver; on a module address, the C SDK's
    /// module input).
    C2d,
    /// `…/twin`.
    Twin,
    /// `…/methods/devicebound`.
    Methods,
}

/// A parsed device link address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkAddress {
    /// What the link is for.
    pub kind: LinkKind,
    /// The device (percent-decoded).
    pub device_id: DeviceId,
    /// The module, for module addresses (percent-decoded).
    pub module_id: Option<ModuleId>,
    /// The host of the `amqps://{host}/…` form; `None` for the path form.
    pub host: Option<String>,
}

impl LinkAddress {
    /// The canonical path form of this address (what the builders above return).
    pub fn path(&self) -> String {
        let m = self.module_id.as_ref();
        match self.kind {
            LinkKind::D2c => d2c_address(&self.device_id, m),
            LinkKind::C2d => identity_path(&self.device_id, m) + "/messages/devicebound",
            LinkKind::Twin => twin_address(&self.device_id, m),
            LinkKind::Methods => methods_address(&self.device_id, m),
        }
    }
}

/// Why a link address was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkAddressError {
    /// Not one of the device address templates of §5.5.
    #[error("not a device link address")]
    UnknownAddress,
    /// An id segment does not percent-decode to UTF-8.
    #[error("link address id is not valid percent-encoded UTF-8")]
    InvalidEncoding,
    /// The device segment is not a valid device id.
    #[error("invalid device id in link address: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("invalid module id in link address: {0}")]
    InvalidModuleId(IdError),
}

/// `s` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Splits `amqps://host/path` (also `amqp://`, `wss://`) into host and path; other input is
/// all path.
fn split_uri(s: &str) -> (Option<&str>, &str) {
    for scheme in ["amqps://", "amqp://", "wss://"] {
        if let Some(rest) = strip_prefix_ci(s, scheme) {
            let (host, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            return ((!host.is_empty()).then_some(host), path);
        }
    }
    (None, s)
}

/// True for the CBS node address: `$cbs`, `/$cbs` or `amqps://{host}/$cbs`.
pub fn is_cbs_address(address: &str) -> bool {
    let (_, path) = split_uri(address);
    path.strip_prefix('/')
        .unwrap_or(path)
        .eq_ignore_ascii_case("$cbs")
}

/// Hub side: parses a device link address, as a path (`/devices/...`, Node) or a URI
/// (`amqps://{host}/devices/...`, C). Words (`devices`, `modules`, `messages`, `events`,
/// `devicebound`, `twin`, `methods`) match case-insensitively (`deviceBound` is common); ids
/// are percent-decoded and must be valid. A query string and a trailing `/` are ignored.
///
/// # Errors
/// See [`LinkAddressError`].
pub fn parse_link_address(address: &str) -> Result<LinkAddress, LinkAddressError> {
    let (host, path) = split_uri(address);
    let path = path.split('?').next().unwrap_or(path);
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    let word = |i: usize, w: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));

    if !word(0, "devices") {
        return Err(LinkAddressError::UnknownAddress);
    }
    let device = *segs.get(1).ok_or(LinkAddressError::UnknownAddress)?;
    let (module, rest) = if word(2, "modules") && segs.len() > 4 {
        (segs.get(3).copied(), 4)
    } else {
        (None, 2)
    };
    let tail = segs.get(rest..).unwrap_or_default();
    let is = |words: &[&str]| {
        tail.len() == words.len()
            && tail
                .iter()
                .zip(words)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    let kind = if is(&["messages", "events"]) {
        LinkKind::D2c
    } else if is(&["messages", "devicebound"]) {
        LinkKind::C2d
    } else if is(&["twin"]) {
        LinkKind::Twin
    } else if is(&["methods", "devicebound"]) {
        LinkKind::Methods
    } else {
        return Err(LinkAddressError::UnknownAddress);
    };
    let decode = |s: &str| decode_component(s).ok_or(LinkAddressError::InvalidEncoding);
    let device_id = DeviceId::new(decode(device)?).map_err(LinkAddressError::InvalidDeviceId)?;
    let module_id = module
        .map(|m| ModuleId::new(decode(m)?).map_err(LinkAddressError::InvalidModuleId))
        .transpose()?;
    Ok(LinkAddress {
        kind,
        device_id,
        module_id,
        host: host.map(str::to_owned),
    })
}

/// The put-token `name` (audience) for a token: its `sr` exactly as in the token (the Node
/// SDK sends the encoded `sr`; the hub matches it against the token anyway).
pub fn put_token_audience(token: &SasToken) -> &str {
    token.resource_uri()
}

/// The encoded audience for an identity: `encode(host/devices/{d}[/modules/{m}])`, the `sr`
/// of a token built by [`SasToken::build`] for the same identity.
pub fn audience(host_name: &str, device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    let raw = match module_id {
        Some(m) => crate::sas::module_resource_uri(host_name, device_id, m),
        None => crate::sas::device_resource_uri(host_name, device_id),
    };
    encode_resource_uri(&raw)
}

/// A put-token audience as the hub reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Audience {
    /// The host segment; `None` when the audience starts with `/devices`.
    pub host: Option<String>,
    /// The device, unless the audience is hub-wide (`host` or `host/devices`).
    pub device_id: Option<DeviceId>,
    /// The module, for module audiences.
    pub module_id: Option<ModuleId>,
}

/// Why an audience was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudienceError {
    /// The audience is empty.
    #[error("audience is empty")]
    Empty,
    /// It does not percent-decode to UTF-8.
    #[error("audience is not valid percent-encoded UTF-8")]
    InvalidEncoding,
    /// Not `host[/devices[/{d}[/modules/{m}]]]`.
    #[error("audience is not a hub, device or module resource")]
    Unrecognized,
    /// The device segment is not a valid device id.
    #[error("invalid device id in audience: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("invalid module id in audience: {0}")]
    InvalidModuleId(IdError),
}

/// Hub side: reads a put-token audience in either form — encoded
/// (`myhub.azure-devices.net%2Fdevices%2Fd1`, Node) or raw (`myhub.azure-devices.net/devices/d1`,
/// C; its segments are percent-decoded too). An `amqps://` prefix and a trailing `/` are
/// tolerated; `devices`/`modules` match case-insensitively.
///
/// # Errors
/// See [`AudienceError`].
pub fn parse_audience(audience: &str) -> Result<Audience, AudienceError> {
    let audience = audience.trim();
    if audience.is_empty() {
        return Err(AudienceError::Empty);
    }
    // An encoded audience has no `/` at all: decode it once as a whole, and its ids are
    // then raw. A raw audience has its segments decoded one by one.
    let segs = if audience.contains('/') {
        audience_segments(audience, true)?
    } else {
        let decoded = decode_component(audience).ok_or(AudienceError::InvalidEncoding)?;
        audience_segments(&decoded, false)?
    };
    let mut segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if segs.len() > 1 && segs.last() == Some(&"") {
        segs.pop();
    }
    let word = |i: usize, w: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));
    let host = match segs.first() {
        Some(h) if !h.is_empty() => Some((*h).to_owned()),
        _ => None,
    };
    let (device, module) = match segs.len() {
        1 => (None, None),
        2 if word(1, "devices") => (None, None),
        3 if word(1, "devices") => (segs.get(2), None),
        5 if word(1, "devices") && word(3, "modules") => (segs.get(2), segs.get(4)),
        _ => return Err(AudienceError::Unrecognized),
    };
    if host.is_none() && device.is_none() {
        return Err(AudienceError::Unrecognized);
    }
    let device_id = device
        .map(|d| DeviceId::new(*d).map_err(AudienceError::InvalidDeviceId))
        .transpose()?;
    let module_id = module
        .map(|m| ModuleId::new(*m).map_err(AudienceError::InvalidModuleId))
        .transpose()?;
    Ok(Audience {
        host,
        device_id,
        module_id,
    })
}

/// `host/a/b` (or `amqps://host/a/b`, or `/a/b` with an empty host) split at `/`.
fn audience_segments(s: &str, decode_each: bool) -> Result<Vec<String>, AudienceError> {
    let (host, path) = split_uri(s);
    let mut segs = Vec::new();
    let path = match host {
        Some(h) => {
            segs.push(h.to_owned());
            path.strip_prefix('/').unwrap_or(path)
        }
        None => path,
    };
    for seg in path.split('/') {
        segs.push(if decode_each {
            decode_component(seg).ok_or(AudienceError::InvalidEncoding)?
        } else {
            seg.to_owned()
        });
    }
    Ok(segs)
}

/// The IoT Hub name: the first DNS label of the host (`myhub` for `myhub.azure-devices.net`).
pub fn hub_name(host_name: &str) -> &str {
    host_name.split('.').next().unwrap_or(host_name)
}

/// SASL PLAIN user name of a device: `{deviceId}@sas.{hubName}` (password: the device's SAS
/// token).
pub fn plain_user_name(host_name: &str, device_id: &DeviceId) -> String {
    format!("{device_id}@sas.{}", hub_name(host_name))
}

/// SASL PLAIN user name for a shared access policy: `{policy}@sas.root.{hubName}`.
pub fn plain_policy_user_name(host_name: &str, policy: &str) -> String {
    format!("{policy}@sas.root.{}", hub_name(host_name))
}

/// A SASL PLAIN user name as the hub reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainUser {
    /// `{deviceId}@sas.{hubName}`.
    Device {
        /// The device.
        device_id: DeviceId,
        /// The hub name (first label of the host).
        hub_name: String,
    },
    /// `{policyName}@sas.root.{hubName}`.
    Policy {
        /// The shared access policy name.
        policy: String,
        /// The hub name (first label of the host).
        hub_name: String,
    },
}

/// Why a SASL PLAIN user name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlainUserError {
    /// No `@sas.` part.
    #[error("user name is not of the form name@sas.hub")]
    MissingSasSuffix,
    /// Nothing after `@sas.` / `@sas.root.`.
    #[error("user name has an empty hub name")]
    EmptyHubName,
    /// Nothing before `@sas.root.`.
    #[error("user name has an empty policy name")]
    EmptyPolicy,
    /// The part before `@sas.` is not a valid device id.
    #[error("invalid device id in user name: {0}")]
    InvalidDeviceId(IdError),
}

/// Hub side: parses `{deviceId}@sas.{hubName}` or `{policy}@sas.root.{hubName}`. Device ids
/// may contain `@`, so the last `@sas.` splits; `sas`/`root` match case-insensitively. A full
/// host in place of the hub name is reduced to its first label.
///
/// # Errors
/// See [`PlainUserError`].
pub fn parse_plain_user_name(user: &str) -> Result<PlainUser, PlainUserError> {
    // ASCII lower-casing keeps byte offsets, so indices found in `lower` apply to `user`.
    let lower = user.to_ascii_lowercase();
    let at = lower
        .rfind("@sas.")
        .ok_or(PlainUserError::MissingSasSuffix)?;
    let name = user.get(..at).unwrap_or_default();
    let rest = user.get(at + "@sas.".len()..).unwrap_or_default();
    let (policy, hub) = match strip_prefix_ci(rest, "root.") {
        Some(hub) => (true, hub),
        None => (false, rest),
    };
    let hub = hub_name(hub);
    if hub.is_empty() {
        return Err(PlainUserError::EmptyHubName);
    }
    if policy {
        if name.is_empty() {
            return Err(PlainUserError::EmptyPolicy);
        }
        Ok(PlainUser::Policy {
            policy: name.to_owned(),
            hub_name: hub.to_owned(),
        })
    } else {
        Ok(PlainUser::Device {
            device_id: DeviceId::new(name).map_err(PlainUserError::InvalidDeviceId)?,
            hub_name: hub.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SasKey;

    fn d(s: &str) -> DeviceId {
        DeviceId::new(s).expect("valid device id")
    }

    fn m(s: &str) -> ModuleId {
        ModuleId::new(s).expect("valid module id")
    }

    #[test]
    fn builders_match_the_sdk_addresses() {
        let dev = d("dev-1");
        let module = m("mod_1");
        assert_eq!(d2c_address(&dev, None), "/devices/dev-1/messages/events");
        assert_eq!(
            d2c_address(&dev, Some(&module)),
            "/devices/dev-1/modules/mod_1/messages/events"
        );
        assert_eq!(c2d_address(&dev), "/devices/dev-1/messages/devicebound");
        assert_eq!(twin_address(&dev, None), "/devices/dev-1/twin");
        assert_eq!(
            twin_address(&dev, Some(&module)),
            "/devices/dev-1/modules/mod_1/twin"
        );
        assert_eq!(
            methods_address(&dev, Some(&module)),
            "/devices/dev-1/modules/mod_1/methods/devicebound"
        );
        // Characters outside RFC 3986 unreserved are encoded, as `encodeURIComponent` does.
        assert_eq!(
            d2c_address(&d("a$b(c)%@:"), None),
            "/devices/a%24b%28c%29%25%40%3A/messages/events"
        );
    }

    #[test]
    fn parses_path_and_uri_forms() {
        let cases = [
            (
                "/devices/dev-1/messages/events",
                LinkKind::D2c,
                "dev-1",
                None,
                None,
            ),
            (
                "devices/dev-1/messages/events",
                LinkKind::D2c,
                "dev-1",
                None,
                None,
            ),
            (
                "amqps://hub.azure-devices.net/devices/dev-1/messages/events",
                LinkKind::D2c,
                "dev-1",
                None,
                Some("hub.azure-devices.net"),
            ),
            (
                "/devices/dev-1/messages/devicebound",
                LinkKind::C2d,
                "dev-1",
                None,
                None,
            ),
            (
                "/devices/dev-1/messages/deviceBound",
                LinkKind::C2d,
                "dev-1",
                None,
                None,
            ),
            (
                "AMQPS://h:5671/Devices/dev-1/Messages/DEVICEBOUND/",
                LinkKind::C2d,
                "dev-1",
                None,
                Some("h:5671"),
            ),
            (
                "/devices/dev-1/modules/m1/messages/events",
                LinkKind::D2c,
                "dev-1",
                Some("m1"),
                None,
            ),
            (
                "amqps://h/devices/dev-1/modules/m1/messages/devicebound",
                LinkKind::C2d,
                "dev-1",
                Some("m1"),
                Some("h"),
            ),
            ("/devices/dev-1/twin", LinkKind::Twin, "dev-1", None, None),
            (
                "/devices/dev-1/modules/m1/twin",
                LinkKind::Twin,
                "dev-1",
                Some("m1"),
                None,
            ),
            (
                "/devices/dev-1/methods/devicebound?api-version=2021-04-12",
                LinkKind::Methods,
                "dev-1",
                None,
                None,
            ),
            (
                "/devices/dev-1/modules/m1/methods/deviceBound",
                LinkKind::Methods,
                "dev-1",
                Some("m1"),
                None,
            ),
            (
                "/devices/a%24b%28c%29%25%40/twin",
                LinkKind::Twin,
                "a$b(c)%@",
                None,
                None,
            ),
            // A device literally named `modules` is still a device.
            (
                "/devices/modules/twin",
                LinkKind::Twin,
                "modules",
                None,
                None,
            ),
        ];
        for (addr, kind, dev, module, host) in cases {
            let a = parse_link_address(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
            assert_eq!(a.kind, kind, "{addr}");
            assert_eq!(a.device_id, dev, "{addr}");
            assert_eq!(a.module_id.as_ref().map(ModuleId::as_str), module, "{addr}");
            assert_eq!(a.host.as_deref(), host, "{addr}");
        }
    }

    #[test]
    fn builders_and_parser_agree() {
        let dev = d("we!rd*id'");
        let module = m("m(1)");
        for mo in [None, Some(&module)] {
            for (addr, kind) in [
                (d2c_address(&dev, mo), LinkKind::D2c),
                (twin_address(&dev, mo), LinkKind::Twin),
                (methods_address(&dev, mo), LinkKind::Methods),
            ] {
                let a = parse_link_address(&addr).expect("parses");
                assert_eq!(
                    (a.kind, &a.device_id, a.module_id.as_ref()),
                    (kind, &dev, mo)
                );
                assert_eq!(a.path(), addr);
            }
        }
        let a = parse_link_address(&c2d_address(&dev)).expect("parses");
        assert_eq!(a.kind, LinkKind::C2d);
        assert_eq!(a.path(), c2d_address(&dev));
    }

    #[test]
    fn rejects_other_addresses() {
        for addr in [
            "",
            "/",
            "$cbs",
            "amqps://h/$cbs",
            "/devices",
            "/devices/dev-1",
            "/devices/dev-1/messages",
            "/devices/dev-1/messages/events/extra",
            "/devices/dev-1/modules/m1",
            "/devices/dev-1/modules/m1/messages",
            "/devices/dev-1/inputs/x",
            "/twin",
            "/devices//twin/x",
            "amqps://h",
        ] {
            assert_eq!(
                parse_link_address(addr),
                Err(LinkAddressError::UnknownAddress),
                "{addr}"
            );
        }
        assert!(matches!(
            parse_link_address("/devices//twin"),
            Err(LinkAddressError::InvalidDeviceId(IdError::Empty))
        ));
        assert!(matches!(
            parse_link_address("/devices/a%20b/twin"),
            Err(LinkAddressError::InvalidDeviceId(_))
        ));
        assert!(matches!(
            parse_link_address("/devices/d/modules/%2F/twin"),
            Err(LinkAddressError::InvalidModuleId(_))
        ));
        assert_eq!(
            parse_link_address("/devices/%FF/twin"),
            Err(LinkAddressError::InvalidEncoding)
        );
    }

    #[test]
    fn recognizes_the_cbs_node() {
        for a in [
            "$cbs",
            "/$cbs",
            "amqps://hub.azure-devices.net/$cbs",
            "$CBS",
        ] {
            assert!(is_cbs_address(a), "{a}");
        }
        for a in ["", "cbs", "$cbs/x", "/devices/d/$cbs", "amqps://$cbs"] {
            assert!(!is_cbs_address(a), "{a}");
        }
    }

    #[test]
    fn put_token_audience_is_the_encoded_sr() {
        let key = SasKey::from_bytes(vec![7u8; 32]);
        let host = "hub.azure-devices.net";
        let dev = d("dev-1");
        let module = m("m1");
        let token = SasToken::build(&key, "hub.azure-devices.net/devices/dev-1", 10, None);
        assert_eq!(
            put_token_audience(&token),
            "hub.azure-devices.net%2Fdevices%2Fdev-1"
        );
        assert_eq!(audience(host, &dev, None), put_token_audience(&token));
        assert_eq!(
            audience(host, &dev, Some(&module)),
            "hub.azure-devices.net%2Fdevices%2Fdev-1%2Fmodules%2Fm1"
        );
        let parsed = parse_audience(put_token_audience(&token)).expect("parses");
        assert_eq!(parsed.host.as_deref(), Some(host));
        assert_eq!(parsed.device_id, Some(dev.clone()));
        assert_eq!(parsed.module_id, None);
        let parsed = parse_audience(&audience(host, &dev, Some(&module))).expect("parses");
        assert_eq!(parsed.module_id, Some(module));
        // A verbatim (C SDK) token's audience is raw.
        let raw = SasToken::build_verbatim(&key, "hub.azure-devices.net/devices/dev-1", 10, None);
        assert_eq!(
            put_token_audience(&raw),
            "hub.azure-devices.net/devices/dev-1"
        );
    }

    #[test]
    fn parses_audiences_in_every_form() {
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let cases: [Case<'_>; 12] = [
            ("h.net%2Fdevices%2Fd1", Some("h.net"), Some("d1"), None),
            ("h.net%2fdevices%2fd1", Some("h.net"), Some("d1"), None),
            ("h.net/devices/d1", Some("h.net"), Some("d1"), None),
            ("h.net/Devices/d1/", Some("h.net"), Some("d1"), None),
            (
                "h.net/devices/d1/modules/m1",
                Some("h.net"),
                Some("d1"),
                Some("m1"),
            ),
            (
                "h.net%2Fdevices%2Fd1%2FMODULES%2Fm1",
                Some("h.net"),
                Some("d1"),
                Some("m1"),
            ),
            ("amqps://h.net/devices/d1", Some("h.net"), Some("d1"), None),
            ("/devices/d1", None, Some("d1"), None),
            // Ids that themselves contain encoded characters, in both forms.
            (
                "h.net%2Fdevices%2Fa%2524b",
                Some("h.net"),
                Some("a%24b"),
                None,
            ),
            ("h.net/devices/a%24b", Some("h.net"), Some("a$b"), None),
            ("h.net", Some("h.net"), None, None),
            ("h.net%2Fdevices", Some("h.net"), None, None),
        ];
        for (aud, host, dev, module) in cases {
            let a = parse_audience(aud).unwrap_or_else(|e| panic!("{aud}: {e}"));
            assert_eq!(a.host.as_deref(), host, "{aud}");
            assert_eq!(a.device_id.as_ref().map(DeviceId::as_str), dev, "{aud}");
            assert_eq!(a.module_id.as_ref().map(ModuleId::as_str), module, "{aud}");
        }
    }

    #[test]
    fn rejects_bad_audiences() {
        assert_eq!(parse_audience(" "), Err(AudienceError::Empty));
        for aud in [
            "h/devices/d/modules",
            "h/devices/d/extra",
            "h/things/d",
            "h/devices/d/modules/m/x",
            "/devices",
            "/",
        ] {
            assert_eq!(
                parse_audience(aud),
                Err(AudienceError::Unrecognized),
                "{aud}"
            );
        }
        assert_eq!(parse_audience("h%FF"), Err(AudienceError::InvalidEncoding));
        assert_eq!(
            parse_audience("h/devices/%FF"),
            Err(AudienceError::InvalidEncoding)
        );
        assert!(matches!(
            parse_audience("h/devices/a b"),
            Err(AudienceError::InvalidDeviceId(_))
        ));
        assert!(matches!(
            parse_audience("h/devices//modules/m"),
            Err(AudienceError::InvalidDeviceId(IdError::Empty))
        ));
        assert!(matches!(
            parse_audience("h/devices/d/modules/"),
            Err(AudienceError::Unrecognized)
        ));
        assert!(matches!(
            parse_audience("h/devices/d/modules/a%20b"),
            Err(AudienceError::InvalidModuleId(_))
        ));
    }

    #[test]
    fn plain_user_names() {
        let host = "myhub.azure-devices.net";
        let dev = d("dev-1");
        assert_eq!(hub_name(host), "myhub");
        assert_eq!(hub_name("localhost"), "localhost");
        assert_eq!(hub_name(""), "");
        let user = plain_user_name(host, &dev);
        assert_eq!(user, "dev-1@sas.myhub");
        assert_eq!(
            parse_plain_user_name(&user),
            Ok(PlainUser::Device {
                device_id: dev,
                hub_name: "myhub".into()
            })
        );
        let policy = plain_policy_user_name(host, "iothubowner");
        assert_eq!(policy, "iothubowner@sas.root.myhub");
        assert_eq!(
            parse_plain_user_name(&policy),
            Ok(PlainUser::Policy {
                policy: "iothubowner".into(),
                hub_name: "myhub".into()
            })
        );
        // Device ids may contain `@` (and even `@sas.`): the last `@sas.` splits.
        assert_eq!(
            parse_plain_user_name("a@sas.b@SAS.myhub.azure-devices.net"),
            Ok(PlainUser::Device {
                device_id: d("a@sas.b"),
                hub_name: "myhub".into()
            })
        );
        // A hub called `root` without a policy part stays a device name.
        assert_eq!(
            parse_plain_user_name("d@sas.root"),
            Ok(PlainUser::Device {
                device_id: d("d"),
                hub_name: "root".into()
            })
        );
        assert_eq!(
            parse_plain_user_name("dev-1"),
            Err(PlainUserError::MissingSasSuffix)
        );
        assert_eq!(
            parse_plain_user_name("dev-1@sas."),
            Err(PlainUserError::EmptyHubName)
        );
        assert_eq!(
            parse_plain_user_name("p@sas.root."),
            Err(PlainUserError::EmptyHubName)
        );
        assert_eq!(
            parse_plain_user_name("@sas.root.h"),
            Err(PlainUserError::EmptyPolicy)
        );
        assert_eq!(
            parse_plain_user_name("@sas.h"),
            Err(PlainUserError::InvalidDeviceId(IdError::Empty))
        );
        assert!(matches!(
            parse_plain_user_name("bad id@sas.h"),
            Err(PlainUserError::InvalidDeviceId(_))
        ));
        // Multi-byte text before the suffix keeps its offsets.
        assert!(matches!(
            parse_plain_user_name("é@sas.h"),
            Err(PlainUserError::InvalidDeviceId(_))
        ));
    }
}

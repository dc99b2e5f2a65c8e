//! Device authentication shared by every transport: a SAS token checked against the device's
//! registry keys with the rules of [`SasVerifier`].

use hubwire_iothub::{DeviceId, SasKey, SasVerifier, SasVerifyError};

use crate::hub::{lock, HubState};

/// Why a device token was refused. The `Display` text never contains the token or a key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    /// No such device in the registry.
    #[error("unknown device '{0}'")]
    UnknownDevice(String),
    /// The registry holds a key that is not valid base64 (hand-edited file).
    #[error("device '{device}': device key: {reason}")]
    BadDeviceKey {
        /// The device.
        device: String,
        /// What is wrong with the key (never the key itself).
        reason: String,
    },
    /// The token does not verify.
    #[error("device '{device}': {source}")]
    Token {
        /// The device.
        device: String,
        /// The verification failure.
        source: SasVerifyError,
    },
}

/// Checks `token` (the whole `SharedAccessSignature …` text) for `device_id` against the
/// device's primary and secondary keys at the current wall-clock time. Returns the token's
/// expiry (Unix seconds).
pub(crate) fn verify_device_token(
    hub: &HubState,
    device_id: &DeviceId,
    token: &str,
) -> Result<u64, AuthError> {
    let device = || device_id.as_str().to_owned();
    let (primary, secondary) = {
        let reg = lock(&hub.registry);
        let d = reg
            .get(device_id.as_str())
            .ok_or_else(|| AuthError::UnknownDevice(device()))?;
        (d.primary_key.clone(), d.secondary_key.clone())
    };
    let key = |k: &str| {
        SasKey::from_base64(k).map_err(|e| AuthError::BadDeviceKey {
            device: device(),
            reason: e.to_string(),
        })
    };
    let (primary, secondary) = (key(&primary)?, key(&secondary)?);
    let verified = SasVerifier::new(&hub.host_name, device_id)
        .identity_key(&primary)
        .identity_key(&secondary)
        .verify_str(token, hub.clock.unix_secs())
        .map_err(|source| AuthError::Token {
            device: device(),
            source,
        })?;
    Ok(verified.expiry)
}

//! `/api/devices`: the device registry and cloud-to-device sends.

use gloo_net::http::Method;

use super::{request, segment, ServiceError, NO_BODY};
use crate::state::hub_url::HubUrl;
use crate::types::{C2dAccepted, C2dRequest, DeviceInfo};

/// `GET /api/devices`.
pub(crate) async fn list(hub: &HubUrl) -> Result<Vec<DeviceInfo>, ServiceError> {
    request(Method::GET, &hub.api("/api/devices"), NO_BODY).await
}

/// `POST /api/devices/{id}/messages`: queue a cloud-to-device message.
pub(crate) async fn send_c2d(
    hub: &HubUrl,
    device_id: &str,
    message: &C2dRequest,
) -> Result<C2dAccepted, ServiceError> {
    let url = hub.api(&format!("/api/devices/{}/messages", segment(device_id)));
    request(Method::POST, &url, Some(message)).await
}

/// `POST /api/devices`: registers a device (devhub generates its key).
pub(crate) async fn create(hub: &HubUrl, device_id: &str) -> Result<DeviceInfo, ServiceError> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NewDevice<'a> {
        device_id: &'a str,
    }
    request(
        Method::POST,
        &hub.api("/api/devices"),
        Some(&NewDevice { device_id }),
    )
    .await
}

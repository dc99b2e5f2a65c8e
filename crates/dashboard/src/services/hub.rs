//! `GET /api/hub`.

use gloo_net::http::Method;

use super::{request, ServiceError, NO_BODY};
use crate::state::hub_url::HubUrl;
use crate::types::HubInfo;

/// What the hub says about itself.
pub(crate) async fn info(hub: &HubUrl) -> Result<HubInfo, ServiceError> {
    request(Method::GET, &hub.api("/api/hub"), NO_BODY).await
}

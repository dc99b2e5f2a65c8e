//! Which hub the page talks to, what it says about itself, and its device list. Both panes read
//! this: the device pane for the endpoint and demo devices, the cloud pane for the service API.

use std::rc::Rc;

use yew::Reducible;

use super::device::DevhubTarget;
use super::hub_url::{HubUrl, HubUrlError};
use crate::types::{DeviceInfo, HubInfo};

/// A request's state, rendered as is by the views.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Load<T> {
    /// Not requested (no valid hub URL).
    #[default]
    Idle,
    /// In flight.
    Loading,
    /// Arrived.
    Ready(T),
    /// Failed, with a reason for the user.
    Failed(String),
}

impl<T> Load<T> {
    /// The value, when ready.
    pub fn ready(&self) -> Option<&T> {
        match self {
            Self::Ready(value) => Some(value),
            _ => None,
        }
    }
}

/// Whether the cloud pane can work against this hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudSupport {
    /// Still asking the hub.
    Unknown,
    /// The hub is devhub: the service API is there.
    Devhub,
    /// The hub answered but is not devhub, or did not answer.
    Unavailable,
}

/// The hub the page talks to.
#[derive(Clone, Debug, PartialEq)]
pub struct HubState {
    /// What the user typed into the hub URL field.
    pub url_input: String,
    /// The URL in use (the last valid one applied).
    pub url: Option<HubUrl>,
    /// Why the last applied input was rejected.
    pub url_error: Option<HubUrlError>,
    /// Bumped whenever `url` changes or a refresh is asked for; results carry the epoch they
    /// were requested in, so answers from an older URL are dropped.
    pub epoch: u64,
    /// The epoch in which `url` was last changed; `GET /api/hub` is asked once per URL.
    pub url_epoch: u64,
    /// `GET /api/hub`.
    pub info: Load<HubInfo>,
    /// `GET /api/devices`.
    pub devices: Load<Vec<DeviceInfo>>,
    /// Why the latest refresh of an already loaded device list failed (the list is kept, so a
    /// hub that is briefly down does not empty the pickers).
    pub devices_error: Option<String>,
}

/// Everything that changes [`HubState`].
#[derive(Clone, Debug, PartialEq)]
pub enum HubAction {
    /// Edit the URL field.
    EditUrl(String),
    /// Use the typed URL.
    ApplyUrl,
    /// Load the device list again.
    RefreshDevices,
    /// `GET /api/hub` finished.
    InfoLoaded {
        /// Epoch of the request.
        epoch: u64,
        /// Result.
        result: Result<HubInfo, String>,
    },
    /// `GET /api/devices` finished.
    DevicesLoaded {
        /// Epoch of the request.
        epoch: u64,
        /// Result.
        result: Result<Vec<DeviceInfo>, String>,
    },
}

impl HubState {
    /// Starts with `initial` (normally the page's own origin) applied.
    pub fn new(initial: &str) -> Self {
        let mut state = Self {
            url_input: initial.to_owned(),
            url: None,
            url_error: None,
            epoch: 0,
            url_epoch: 0,
            info: Load::Idle,
            devices: Load::Idle,
            devices_error: None,
        };
        state.apply(HubAction::ApplyUrl);
        state
    }

    /// Whether the cloud pane can work.
    pub fn cloud_support(&self) -> CloudSupport {
        match &self.info {
            Load::Idle | Load::Loading => CloudSupport::Unknown,
            Load::Ready(info) if info.devhub => CloudSupport::Devhub,
            Load::Ready(_) | Load::Failed(_) => CloudSupport::Unavailable,
        }
    }

    /// The devhub device sessions dial for identities on its host, when the hub is devhub.
    pub fn devhub_target(&self) -> Option<DevhubTarget> {
        match (&self.url, &self.info) {
            (Some(url), Load::Ready(info)) if info.devhub => Some(DevhubTarget {
                url: url.clone(),
                host_name: info.host_name.clone(),
            }),
            _ => None,
        }
    }

    /// Why demo devices cannot be used, when the hub answered and is not devhub.
    pub fn demo_note(&self) -> Option<String> {
        let url = self.url.as_ref().map_or("(none)", HubUrl::as_str);
        match &self.info {
            Load::Ready(info) if !info.devhub => Some(format!(
                "Demo devices need devhub; the hub at {url} is not devhub. Paste a connection string or a SAS token instead."
            )),
            Load::Failed(_) => Some(format!(
                "Demo devices need devhub, and the hub at {url} does not answer. Paste a connection string or a SAS token instead."
            )),
            _ if self.url.is_none() => Some("Demo devices need devhub: set the hub URL.".into()),
            _ => None,
        }
    }

    /// The demo device list (empty until loaded).
    pub fn device_list(&self) -> &[DeviceInfo] {
        self.devices.ready().map(Vec::as_slice).unwrap_or_default()
    }

    /// Applies one action.
    pub fn apply(&mut self, action: HubAction) {
        match action {
            HubAction::EditUrl(input) => self.url_input = input,
            HubAction::ApplyUrl => match HubUrl::parse(&self.url_input) {
                Ok(url) => {
                    self.url_input = url.as_str().to_owned();
                    self.url_error = None;
                    self.url = Some(url);
                    self.epoch += 1;
                    self.url_epoch = self.epoch;
                    self.info = Load::Loading;
                    self.devices = Load::Loading;
                    self.devices_error = None;
                }
                Err(e) => self.url_error = Some(e),
            },
            HubAction::RefreshDevices => {
                if self.url.is_some() {
                    self.epoch += 1;
                    // Keep showing the old list while the new one loads: the device picker
                    // must not empty itself under the user's cursor.
                    if !matches!(self.devices, Load::Ready(_)) {
                        self.devices = Load::Loading;
                    }
                }
            }
            HubAction::InfoLoaded { epoch, result } => {
                // A device-list refresh bumps `epoch` but not the URL: info requested since
                // the last URL change is still about this hub.
                if epoch >= self.url_epoch {
                    self.info = match result {
                        Ok(info) => Load::Ready(info),
                        Err(e) => Load::Failed(e),
                    };
                }
            }
            HubAction::DevicesLoaded { epoch, result } => {
                if epoch != self.epoch {
                    return;
                }
                match result {
                    Ok(devices) => {
                        self.devices = Load::Ready(devices);
                        self.devices_error = None;
                    }
                    Err(e) if matches!(self.devices, Load::Ready(_)) => {
                        self.devices_error = Some(e)
                    }
                    Err(e) => self.devices = Load::Failed(e),
                }
            }
        }
    }
}

impl Reducible for HubState {
    type Action = HubAction;

    fn reduce(self: Rc<Self>, action: HubAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devhub() -> HubInfo {
        HubInfo {
            host_name: "localhost".into(),
            hub_name: "localhost".into(),
            devhub: true,
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn new_applies_the_initial_url_and_starts_loading() {
        let state = HubState::new("http://127.0.0.1:8090/");
        assert_eq!(
            state.url.as_ref().map(HubUrl::as_str),
            Some("http://127.0.0.1:8090")
        );
        assert_eq!(state.url_input, "http://127.0.0.1:8090");
        assert_eq!(state.epoch, 1);
        assert_eq!(state.info, Load::Loading);
        assert_eq!(state.cloud_support(), CloudSupport::Unknown);
    }

    #[test]
    fn invalid_url_keeps_the_previous_one() {
        let mut state = HubState::new("http://127.0.0.1:8090");
        state.apply(HubAction::EditUrl("127.0.0.1:9000".into()));
        state.apply(HubAction::ApplyUrl);
        assert_eq!(state.url_error, Some(HubUrlError::Scheme));
        assert_eq!(
            state.url.as_ref().map(HubUrl::as_str),
            Some("http://127.0.0.1:8090")
        );
        assert_eq!(state.epoch, 1);
    }

    #[test]
    fn cloud_support_follows_the_devhub_flag() {
        let mut state = HubState::new("http://127.0.0.1:8090");
        state.apply(HubAction::InfoLoaded {
            epoch: 1,
            result: Ok(devhub()),
        });
        assert_eq!(state.cloud_support(), CloudSupport::Devhub);
        state.apply(HubAction::EditUrl("http://example.test".into()));
        state.apply(HubAction::ApplyUrl);
        state.apply(HubAction::InfoLoaded {
            epoch: 2,
            result: Ok(HubInfo {
                devhub: false,
                ..devhub()
            }),
        });
        assert_eq!(state.cloud_support(), CloudSupport::Unavailable);
        state.apply(HubAction::EditUrl("http://down.test".into()));
        state.apply(HubAction::ApplyUrl);
        state.apply(HubAction::InfoLoaded {
            epoch: 3,
            result: Err("connection refused".into()),
        });
        assert_eq!(state.cloud_support(), CloudSupport::Unavailable);
    }

    #[test]
    fn answers_from_an_older_url_are_dropped() {
        let mut state = HubState::new("http://a.test");
        state.apply(HubAction::EditUrl("http://b.test".into()));
        state.apply(HubAction::ApplyUrl);
        state.apply(HubAction::DevicesLoaded {
            epoch: 1,
            result: Ok(Vec::new()),
        });
        assert_eq!(state.devices, Load::Loading);
        state.apply(HubAction::DevicesLoaded {
            epoch: 2,
            result: Err("HTTP 500".into()),
        });
        assert_eq!(state.devices, Load::Failed("HTTP 500".into()));
    }

    #[test]
    fn a_failed_refresh_keeps_the_list_and_reports_the_error() {
        let mut state = HubState::new("http://a.test");
        state.apply(HubAction::DevicesLoaded {
            epoch: 1,
            result: Ok(Vec::new()),
        });
        state.apply(HubAction::RefreshDevices);
        state.apply(HubAction::DevicesLoaded {
            epoch: 2,
            result: Err("network error".into()),
        });
        assert_eq!(state.devices, Load::Ready(Vec::new()));
        assert_eq!(state.devices_error.as_deref(), Some("network error"));
        state.apply(HubAction::RefreshDevices);
        state.apply(HubAction::DevicesLoaded {
            epoch: 3,
            result: Ok(Vec::new()),
        });
        assert_eq!(state.devices_error, None);
    }

    #[test]
    fn refresh_keeps_the_loaded_list_until_the_new_one_arrives() {
        let mut state = HubState::new("http://a.test");
        state.apply(HubAction::DevicesLoaded {
            epoch: 1,
            result: Ok(Vec::new()),
        });
        state.apply(HubAction::RefreshDevices);
        assert_eq!(state.epoch, 2);
        assert_eq!(state.devices, Load::Ready(Vec::new()));
        // Info from the URL change still lands after a refresh bumped the epoch.
        state.apply(HubAction::InfoLoaded {
            epoch: 1,
            result: Ok(devhub()),
        });
        assert_eq!(state.cloud_support(), CloudSupport::Devhub);
    }

    #[test]
    fn info_from_an_older_url_is_dropped() {
        let mut state = HubState::new("http://a.test");
        state.apply(HubAction::EditUrl("http://b.test".into()));
        state.apply(HubAction::ApplyUrl);
        state.apply(HubAction::InfoLoaded {
            epoch: 1,
            result: Ok(devhub()),
        });
        assert_eq!(state.info, Load::Loading);
    }

    #[test]
    fn devhub_target_and_demo_note_follow_what_the_hub_says() {
        let mut state = HubState::new("http://127.0.0.1:8090");
        assert_eq!(state.devhub_target(), None, "not known yet");
        assert_eq!(state.demo_note(), None);
        let epoch = state.url_epoch;
        state.apply(HubAction::InfoLoaded {
            epoch,
            result: Ok(devhub()),
        });
        let target = state.devhub_target().unwrap();
        assert_eq!(target.host_name, "localhost");
        assert_eq!(target.url.as_str(), "http://127.0.0.1:8090");
        assert_eq!(state.demo_note(), None);
        state.apply(HubAction::InfoLoaded {
            epoch,
            result: Ok(HubInfo {
                devhub: false,
                ..devhub()
            }),
        });
        assert_eq!(state.devhub_target(), None);
        assert!(state.demo_note().unwrap().contains("not devhub"));
        state.apply(HubAction::InfoLoaded {
            epoch,
            result: Err("refused".into()),
        });
        assert!(state.demo_note().unwrap().contains("does not answer"));
    }
}

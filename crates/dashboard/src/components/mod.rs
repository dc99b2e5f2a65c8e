//! Views. Every component here takes plain data and `Callback`s; none touches a reducer, the
//! network or the device client, so they render the same for any state a test builds.

mod cloud_pane;
mod device_pane;
mod fields;
mod gateway_pane;
mod hub_bar;
mod kv;
mod message_fields;
mod metrics_pane;
mod properties_editor;

pub use cloud_pane::{CloudPane, CloudPaneProps};
pub use device_pane::{DevicePane, DevicePaneProps};
pub use gateway_pane::{GatewayPane, GatewayPaneProps};
pub use hub_bar::{HubBar, HubBarProps};
pub use kv::{KvList, KvListProps};
pub use message_fields::{MessageFields, MessageFieldsProps};
pub use metrics_pane::{MetricsPane, MetricsPaneProps};
pub use properties_editor::{PropertiesEditor, PropertiesEditorProps};

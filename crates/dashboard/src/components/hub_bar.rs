//! The page header: hub URL and what the hub says about itself.

use yew::prelude::*;

use super::fields::{on_submit, on_text};
use crate::state::hub::Load;
use crate::types::HubInfo;

/// Properties of [`HubBar`].
#[derive(Properties, PartialEq, Clone)]
pub struct HubBarProps {
    /// The URL field's text.
    pub url_input: AttrValue,
    /// Why the last applied URL was rejected.
    pub url_error: Option<AttrValue>,
    /// `GET /api/hub`.
    pub info: Load<HubInfo>,
    /// Why the hub stopped answering since it was reached, if it did.
    #[prop_or_default]
    pub unreachable: Option<AttrValue>,
    /// URL field edits.
    pub on_input: Callback<String>,
    /// Apply the typed URL.
    pub on_apply: Callback<()>,
}

/// Header with the hub URL form and the hub's identity.
#[component]
pub fn HubBar(props: &HubBarProps) -> Html {
    let (chip_class, chip_text) = match (&props.info, &props.unreachable) {
        (Load::Ready(_), Some(reason)) => ("chip bad", format!("hub not answering: {reason}")),
        (info, _) => match info {
            Load::Idle => ("chip", "no hub".to_owned()),
            Load::Loading => ("chip pending", "contacting hub…".to_owned()),
            Load::Ready(info) if info.devhub => (
                "chip ok",
                format!("devhub {} · {}", info.version, info.host_name),
            ),
            Load::Ready(info) => ("chip warn", format!("IoT hub {}", info.host_name)),
            Load::Failed(reason) => ("chip bad", format!("hub unreachable: {reason}")),
        },
    };
    html! {
        <header class="hub-bar">
            <h1>{ "hubwire" }<span class="subtitle">{ " dashboard" }</span></h1>
            <form class="hub-form" onsubmit={on_submit(props.on_apply.clone())}>
                <label for="hub-url">{ "Hub URL" }</label>
                <input id="hub-url" type="url" spellcheck="false" autocomplete="url"
                    value={props.url_input.clone()} oninput={on_text(props.on_input.clone())}
                    aria-invalid={props.url_error.is_some().then_some("true")}
                    aria-describedby={props.url_error.is_some().then_some("hub-url-error")} />
                <button type="submit" class="secondary">{ "Apply" }</button>
            </form>
            <span class={chip_class} role="status" aria-live="polite">{ chip_text }</span>
            if let Some(error) = &props.url_error {
                <p id="hub-url-error" class="error" role="alert">{ error.clone() }</p>
            }
        </header>
    }
}

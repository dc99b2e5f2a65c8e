//! Read-only property lists.

use yew::prelude::*;

/// Properties of [`KvList`].
#[derive(Properties, PartialEq, Clone)]
pub struct KvListProps {
    /// Name/value pairs in display order.
    pub pairs: Vec<(String, String)>,
    /// Accessible name of the list (e.g. "Application properties").
    pub label: AttrValue,
    /// Extra CSS class (e.g. `system`).
    #[prop_or_default]
    pub class: Classes,
}

/// Name/value pairs as a compact description list; renders nothing when empty.
#[component]
pub fn KvList(props: &KvListProps) -> Html {
    if props.pairs.is_empty() {
        return Html::default();
    }
    html! {
        <dl class={classes!("kv", props.class.clone())} aria-label={props.label.clone()}>
            { for props.pairs.iter().map(|(k, v)| html! {
                <div class="kv-pair">
                    <dt>{ k }</dt>
                    <dd>{ v }</dd>
                </div>
            }) }
        </dl>
    }
}

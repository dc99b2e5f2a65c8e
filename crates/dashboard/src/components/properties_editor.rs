//! The application-properties editor (add/remove rows).

use yew::prelude::*;

use super::fields::on_text;
use crate::state::properties::{PropertyEdit, PropertyRows};

/// Properties of [`PropertiesEditor`].
#[derive(Properties, PartialEq, Clone)]
pub struct PropertiesEditorProps {
    /// Prefix for element ids, unique on the page.
    pub id_prefix: AttrValue,
    /// The rows.
    pub rows: PropertyRows,
    /// Row edits.
    pub on_edit: Callback<PropertyEdit>,
}

/// A fieldset of name/value rows with per-row Remove buttons and an Add button.
#[component]
pub fn PropertiesEditor(props: &PropertiesEditorProps) -> Html {
    let rows = props.rows.rows();
    let add = {
        let on_edit = props.on_edit.clone();
        Callback::from(move |_: MouseEvent| on_edit.emit(PropertyEdit::Add))
    };
    html! {
        <fieldset class="props-editor">
            <legend>{ "Application properties" }</legend>
            if !rows.is_empty() {
                <div class="props-rows">
                    { for rows.iter().enumerate().map(|(index, row)| {
                        let n = index + 1;
                        let id = row.id;
                        let key_id = format!("{}-prop-{id}-key", props.id_prefix);
                        let value_id = format!("{}-prop-{id}-value", props.id_prefix);
                        let on_key = {
                            let on_edit = props.on_edit.clone();
                            on_text(Callback::from(move |v| on_edit.emit(PropertyEdit::Key(id, v))))
                        };
                        let on_value = {
                            let on_edit = props.on_edit.clone();
                            on_text(Callback::from(move |v| on_edit.emit(PropertyEdit::Value(id, v))))
                        };
                        let remove = {
                            let on_edit = props.on_edit.clone();
                            Callback::from(move |_: MouseEvent| on_edit.emit(PropertyEdit::Remove(id)))
                        };
                        html! {
                            <div class="props-row" key={id}>
                                <label class="visually-hidden" for={key_id.clone()}>
                                    { format!("Property {n} name") }
                                </label>
                                <input id={key_id} type="text" placeholder="name" autocomplete="off"
                                    spellcheck="false" value={row.key.clone()} oninput={on_key} />
                                <label class="visually-hidden" for={value_id.clone()}>
                                    { format!("Property {n} value") }
                                </label>
                                <input id={value_id} type="text" placeholder="value" autocomplete="off"
                                    spellcheck="false" value={row.value.clone()} oninput={on_value} />
                                <button type="button" class="icon" onclick={remove}
                                    aria-label={format!("Remove property {n}")} title="Remove">
                                    { "×" }
                                </button>
                            </div>
                        }
                    }) }
                </div>
            }
            <div class="props-foot">
                <button type="button" class="secondary small" onclick={add}>{ "+ Add property" }</button>
                if rows.is_empty() {
                    <span class="muted">{ "None set." }</span>
                }
            </div>
        </fieldset>
    }
}

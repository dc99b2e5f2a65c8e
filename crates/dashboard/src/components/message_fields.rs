//! Body, content type, message id and properties: the fields both composers share.

use yew::prelude::*;

use super::fields::{id, on_text};
use super::properties_editor::PropertiesEditor;
use crate::state::draft::{Draft, DraftEdit};

/// Content types offered as suggestions (any text is accepted).
const CONTENT_TYPES: [&str; 3] = ["application/json", "text/plain", "application/octet-stream"];

/// Content encodings offered as suggestions (the ones IoT Hub routing understands).
const ENCODINGS: [&str; 3] = ["utf-8", "utf-16", "utf-32"];

/// Properties of [`MessageFields`].
#[derive(Properties, PartialEq, Clone)]
pub struct MessageFieldsProps {
    /// Prefix for element ids, unique on the page.
    pub id_prefix: AttrValue,
    /// Current values.
    pub draft: Draft,
    /// Edits.
    pub on_edit: Callback<DraftEdit>,
    /// Offer the content-encoding field (device-to-cloud messages).
    #[prop_or_default]
    pub with_encoding: bool,
}

/// The message fields of a composer.
#[component]
pub fn MessageFields(props: &MessageFieldsProps) -> Html {
    let p = &props.id_prefix;
    let edit = |make: fn(String) -> DraftEdit| {
        let on_edit = props.on_edit.clone();
        on_text(Callback::from(move |v| on_edit.emit(make(v))))
    };
    let on_property = props.on_edit.reform(DraftEdit::Property);
    let list_id = id(p, "-content-types");
    let enc_list = id(p, "-content-encodings");
    html! {
        <>
            <div class="field">
                <label for={id(p, "-body")}>{ "Body" }</label>
                <textarea id={id(p, "-body")} rows="2" spellcheck="false"
                    value={props.draft.body.clone()} oninput={edit(DraftEdit::Body)} />
            </div>
            <div class="field-row">
                <div class="field">
                    <label for={id(p, "-content-type")}>{ "Content type" }</label>
                    <input id={id(p, "-content-type")} type="text" list={list_id.clone()}
                        autocomplete="off" spellcheck="false" placeholder="none"
                        value={props.draft.content_type.clone()} oninput={edit(DraftEdit::ContentType)} />
                    <datalist id={list_id}>
                        { for CONTENT_TYPES.iter().map(|ct| html! { <option value={*ct} /> }) }
                    </datalist>
                </div>
                if props.with_encoding {
                    <div class="field">
                        <label for={id(p, "-content-encoding")}>{ "Content encoding" }</label>
                        <input id={id(p, "-content-encoding")} type="text" list={enc_list.clone()}
                            autocomplete="off" spellcheck="false"
                            placeholder={if props.draft.content_type.trim() == crate::state::draft::JSON { "utf-8 (JSON default)" } else { "none" }}
                            value={props.draft.content_encoding.clone()} oninput={edit(DraftEdit::ContentEncoding)} />
                        <datalist id={enc_list}>
                            { for ENCODINGS.iter().map(|e| html! { <option value={*e} /> }) }
                        </datalist>
                    </div>
                }
                <div class="field">
                    <label for={id(p, "-message-id")}>{ "Message id (optional)" }</label>
                    <input id={id(p, "-message-id")} type="text" autocomplete="off"
                        spellcheck="false" placeholder="none"
                        value={props.draft.message_id.clone()} oninput={edit(DraftEdit::MessageId)} />
                </div>
            </div>
            <PropertiesEditor id_prefix={format!("{p}")} rows={props.draft.properties.clone()}
                on_edit={on_property} />
        </>
    }
}

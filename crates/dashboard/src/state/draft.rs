//! Message composers: what the user typed, and the checks that turn it into something to send.

use core::fmt;

use hubwire_iothub::limits;
use hubwire_iothub::message::{Ack, Message};

use super::properties::{PropertyEdit, PropertyError, PropertyRows};
use crate::types::C2dRequest;

/// The content type that makes the composer check the body parses as JSON.
pub const JSON: &str = "application/json";

/// Why a draft cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftError {
    /// The properties editor has a bad row.
    Property(PropertyError),
    /// The message id breaks the IoT Hub rules.
    MessageId(String),
    /// The content type says JSON but the body does not parse.
    NotJson(String),
    /// No target device chosen (C2D).
    NoDevice,
}

impl fmt::Display for DraftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Property(e) => e.fmt(f),
            Self::MessageId(reason) => f.write_str(reason),
            Self::NotJson(reason) => write!(f, "body is not valid JSON: {reason}"),
            Self::NoDevice => f.write_str("choose a device to send to"),
        }
    }
}

/// An edit to a composer's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftEdit {
    /// Body text.
    Body(String),
    /// Content type (empty = none).
    ContentType(String),
    /// Content encoding (empty = `utf-8` for JSON, else none).
    ContentEncoding(String),
    /// Message id (empty = let the sender choose).
    MessageId(String),
    /// An edit to the application properties.
    Property(PropertyEdit),
}

/// Fields common to both composers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Body text.
    pub body: String,
    /// Content type, empty for none.
    pub content_type: String,
    /// Content encoding, empty for the default (`utf-8` with a JSON content type, else none).
    pub content_encoding: String,
    /// Message id, empty for none.
    pub message_id: String,
    /// Application properties.
    pub properties: PropertyRows,
}

impl Draft {
    /// A draft with this body and content type and nothing else.
    pub fn new(body: &str, content_type: &str) -> Self {
        Self {
            body: body.to_owned(),
            content_type: content_type.to_owned(),
            content_encoding: String::new(),
            message_id: String::new(),
            properties: PropertyRows::default(),
        }
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: DraftEdit) {
        match edit {
            DraftEdit::Body(body) => self.body = body,
            DraftEdit::ContentType(ct) => self.content_type = ct,
            DraftEdit::ContentEncoding(ce) => self.content_encoding = ce,
            DraftEdit::MessageId(id) => self.message_id = id,
            DraftEdit::Property(edit) => self.properties.apply(edit),
        }
    }

    fn checked_parts(&self) -> Result<CheckedParts, DraftError> {
        let content_type = non_empty(&self.content_type);
        if content_type.as_deref() == Some(JSON) {
            serde_json::from_str::<serde::de::IgnoredAny>(&self.body)
                .map_err(|e| DraftError::NotJson(e.to_string()))?;
        }
        let message_id = non_empty(&self.message_id);
        if let Some(id) = &message_id {
            limits::validate_message_id(id).map_err(|e| DraftError::MessageId(e.to_string()))?;
        }
        let properties = self.properties.to_pairs().map_err(DraftError::Property)?;
        Ok(CheckedParts {
            content_type,
            message_id,
            properties,
        })
    }

    /// The device-to-cloud message this draft describes. A JSON content type also sets
    /// `content-encoding: utf-8`, which the hub needs to route on the body, unless the draft
    /// names an encoding of its own.
    pub fn to_message(&self) -> Result<Message, DraftError> {
        let parts = self.checked_parts()?;
        let mut message = Message::new(self.body.as_bytes());
        if let Some(ct) = parts.content_type {
            if ct == JSON {
                message = message.with_json_content();
            } else {
                message = message.with_content_type(ct);
            }
        }
        if let Some(ce) = non_empty(&self.content_encoding) {
            message = message.with_content_encoding(ce);
        }
        if let Some(id) = parts.message_id {
            message = message.with_message_id(id);
        }
        for (k, v) in parts.properties {
            message = message.with_property(k, v);
        }
        Ok(message)
    }

    /// The devhub request that sends this draft as a cloud-to-device message.
    pub fn to_c2d_request(&self, ack: Ack) -> Result<C2dRequest, DraftError> {
        let parts = self.checked_parts()?;
        Ok(C2dRequest {
            body: self.body.clone(),
            message_id: parts.message_id,
            content_type: parts.content_type,
            properties: parts.properties,
            ack: ack.as_str().to_owned(),
        })
    }
}

struct CheckedParts {
    content_type: Option<String>,
    message_id: Option<String>,
    properties: Vec<(String, String)>,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_property(mut draft: Draft, key: &str, value: &str) -> Draft {
        draft.apply(DraftEdit::Property(PropertyEdit::Add));
        let id = draft
            .properties
            .rows()
            .last()
            .map(|r| r.id)
            .unwrap_or_default();
        draft.apply(DraftEdit::Property(PropertyEdit::Key(id, key.into())));
        draft.apply(DraftEdit::Property(PropertyEdit::Value(id, value.into())));
        draft
    }

    #[test]
    fn json_draft_becomes_a_routable_message() {
        let mut draft = with_property(Draft::new(r#"{"t":21.5}"#, JSON), "alert", "false");
        draft.apply(DraftEdit::MessageId(" m-1 ".into()));
        let message = draft.to_message().unwrap();
        assert_eq!(message.body, br#"{"t":21.5}"#);
        assert_eq!(message.content_type.as_deref(), Some(JSON));
        assert_eq!(message.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(message.message_id.as_deref(), Some("m-1"));
        assert_eq!(message.properties.get("alert"), Some("false"));
    }

    #[test]
    fn text_draft_without_content_type_sets_nothing_extra() {
        let message = Draft::new("hello", "  ").to_message().unwrap();
        assert_eq!(message.body, b"hello");
        assert_eq!(message.content_type, None);
        assert_eq!(message.content_encoding, None);
        assert_eq!(message.message_id, None);
        assert!(message.properties.is_empty());
    }

    #[test]
    fn a_chosen_content_encoding_is_sent_and_overrides_the_json_default() {
        let mut draft = Draft::new("caf\u{e9}", "text/plain");
        draft.apply(DraftEdit::ContentEncoding(" utf-8 ".into()));
        let message = draft.to_message().unwrap();
        assert_eq!(message.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(message.content_type.as_deref(), Some("text/plain"));
        let mut json = Draft::new("{}", JSON);
        json.apply(DraftEdit::ContentEncoding("utf-16".into()));
        assert_eq!(
            json.to_message().unwrap().content_encoding.as_deref(),
            Some("utf-16")
        );
    }

    #[test]
    fn json_content_type_requires_a_json_body() {
        let err = Draft::new("{not json", JSON).to_message().unwrap_err();
        assert!(matches!(err, DraftError::NotJson(_)), "{err:?}");
        // Any other content type sends the body as is.
        assert!(Draft::new("{not json", "text/plain").to_message().is_ok());
    }

    #[test]
    fn bad_message_id_and_bad_property_rows_are_reported() {
        let mut draft = Draft::new("x", "");
        draft.apply(DraftEdit::MessageId("has space".into()));
        assert!(matches!(draft.to_message(), Err(DraftError::MessageId(_))));
        let draft = with_property(Draft::new("x", ""), "", "v");
        assert_eq!(
            draft.to_message(),
            Err(DraftError::Property(PropertyError::EmptyKey { row: 1 }))
        );
    }

    #[test]
    fn c2d_request_carries_ack_and_ordered_properties() {
        let draft = with_property(
            with_property(Draft::new("on", "text/plain"), "b", "2"),
            "a",
            "1",
        );
        let request = draft.to_c2d_request(Ack::Full).unwrap();
        assert_eq!(request.ack, "full");
        assert_eq!(request.body, "on");
        assert_eq!(request.content_type.as_deref(), Some("text/plain"));
        assert_eq!(request.message_id, None);
        assert_eq!(
            request.properties,
            vec![("b".into(), "2".into()), ("a".into(), "1".into())]
        );
    }
}

//! Message size and message-id limits (§8).

use crate::message::{Ack, Message};

/// Largest D2C message: body + system property values + application property names and
/// values (256 KiB).
pub const MAX_D2C_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest C2D message, computed the same way (64 KiB).
pub const MAX_C2D_MESSAGE_BYTES: usize = 64 * 1024;
/// Most C2D messages pending per device.
pub const MAX_C2D_QUEUE_DEPTH: usize = 50;
/// Longest message id, in characters.
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// Most MQTT topic subscriptions a device may hold.
pub const MAX_MQTT_SUBSCRIPTIONS: usize = 5;
/// Largest direct-method payload, each way.
pub const MAX_METHOD_PAYLOAD_BYTES: usize = 128 * 1024;

/// Why a message id is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageIdError {
    /// Empty id.
    #[error("message id is empty")]
    Empty,
    /// Longer than [`MAX_MESSAGE_ID_LEN`].
    #[error("message id is {len} characters long; the limit is {MAX_MESSAGE_ID_LEN}")]
    TooLong {
        /// Length in characters.
        len: usize,
    },
    /// A character outside ASCII alphanumerics and ``- : . + % _ # * ? ! ( ) , = @ ; $ '``.
    #[error("message id contains {ch:?} at position {position}, which is not allowed")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its character position.
        position: usize,
    },
}

/// Why a message may not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The message is larger than the limit for its direction.
    #[error("message is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Computed size (see [`message_size`]).
        size: usize,
        /// The limit that applies.
        limit: usize,
    },
    /// The message id breaks the §8 rules.
    #[error("invalid message id: {0}")]
    InvalidMessageId(#[from] MessageIdError),
}

/// True for characters allowed in message ids.
pub fn is_message_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | ':'
                | '.'
                | '+'
                | '%'
                | '_'
                | '#'
                | '*'
                | '?'
                | '!'
                | '('
                | ')'
                | ','
                | '='
                | '@'
                | ';'
                | '$'
                | '\''
        )
}

/// Checks a message id: 1–128 characters from the allowed set.
pub fn validate_message_id(id: &str) -> Result<(), MessageIdError> {
    if id.is_empty() {
        return Err(MessageIdError::Empty);
    }
    if let Some((position, ch)) = id
        .chars()
        .enumerate()
        .find(|(_, c)| !is_message_id_char(*c))
    {
        return Err(MessageIdError::InvalidChar { ch, position });
    }
    // All ASCII from here on, so bytes are characters.
    if id.len() > MAX_MESSAGE_ID_LEN {
        return Err(MessageIdError::TooLong { len: id.len() });
    }
    Ok(())
}

/// The size the hub counts: body bytes + UTF-8 bytes of each system property value
/// (timestamps in their ISO-8601 wire form, `ack` when not `none`) + UTF-8 bytes of each
/// application property name and value.
pub fn message_size(msg: &Message) -> usize {
    let strings = [
        &msg.message_id,
        &msg.correlation_id,
        &msg.user_id,
        &msg.to,
        &msg.content_type,
        &msg.content_encoding,
        &msg.output_name,
    ];
    let system: usize = strings
        .iter()
        .filter_map(|s| s.as_ref())
        .map(String::len)
        .sum();
    let times: usize = [msg.absolute_expiry, msg.creation_time]
        .iter()
        .flatten()
        .map(|t| t.to_iso8601().len())
        .sum();
    let ack = match msg.ack {
        Ack::None => 0,
        a => a.as_str().len(),
    };
    let app: usize = msg.properties.iter().map(|(k, v)| k.len() + v.len()).sum();
    msg.body.len() + system + times + ack + app
}

fn check(msg: &Message, limit: usize) -> Result<(), LimitError> {
    if let Some(id) = &msg.message_id {
        validate_message_id(id)?;
    }
    let size = message_size(msg);
    if size > limit {
        return Err(LimitError::TooLarge { size, limit });
    }
    Ok(())
}

/// Checks a message before sending D2C: message id rules and the 256 KiB limit.
pub fn check_d2c(msg: &Message) -> Result<(), LimitError> {
    check(msg, MAX_D2C_MESSAGE_BYTES)
}

/// Checks a C2D message before enqueueing: message id rules and the 64 KiB limit.
pub fn check_c2d(msg: &Message) -> Result<(), LimitError> {
    check(msg, MAX_C2D_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn message_id_rules() {
        assert_eq!(
            validate_message_id("6b822696-f75a-46f5-8b02-0680db65abf5"),
            Ok(())
        );
        assert_eq!(validate_message_id("aZ9-:.+%_#*?!(),=@;$'"), Ok(()));
        assert_eq!(validate_message_id(&"m".repeat(128)), Ok(()));
        assert_eq!(validate_message_id(""), Err(MessageIdError::Empty));
        assert_eq!(
            validate_message_id(&"m".repeat(129)),
            Err(MessageIdError::TooLong { len: 129 })
        );
        for (bad, position) in [
            ("a b", 1),
            ("a/b", 1),
            ("&", 0),
            ("ü", 0),
            ("x~", 1),
            ("a\"", 1),
        ] {
            let ch = bad.chars().nth(position).unwrap();
            assert_eq!(
                validate_message_id(bad),
                Err(MessageIdError::InvalidChar { ch, position }),
                "{bad}"
            );
        }
    }

    #[test]
    fn size_counts_body_system_and_app_properties() {
        let m = Message::new(vec![0u8; 10])
            .with_message_id("mid") // 3
            .with_correlation_id("cid") // 3
            .with_content_type("application/json") // 16
            .with_content_encoding("utf-8") // 5
            .with_absolute_expiry(Timestamp::from_unix_secs(0)) // 28
            .with_ack(Ack::Full) // 4
            .with_property("temp", "21.5"); // 8
        assert_eq!(message_size(&m), 10 + 3 + 3 + 16 + 5 + 28 + 4 + 8);
        assert_eq!(message_size(&Message::new("")), 0);
        // Multi-byte property text counts in UTF-8 bytes.
        assert_eq!(
            message_size(&Message::new("").with_property("é", "☃")),
            2 + 3
        );
    }

    #[test]
    fn d2c_limit_is_exact() {
        let at_limit = Message::new(vec![1u8; MAX_D2C_MESSAGE_BYTES - 2]).with_property("k", "v");
        assert_eq!(check_d2c(&at_limit), Ok(()));
        let over = at_limit.clone().with_property("k", "vv");
        assert_eq!(
            check_d2c(&over),
            Err(LimitError::TooLarge {
                size: MAX_D2C_MESSAGE_BYTES + 1,
                limit: MAX_D2C_MESSAGE_BYTES
            })
        );
        assert_eq!(
            check_d2c(&over).unwrap_err().to_string(),
            "message is 262145 bytes; the limit is 262144 bytes"
        );
    }

    #[test]
    fn c2d_limit_and_message_id() {
        assert_eq!(check_c2d(&Message::new(vec![0u8; 65536])), Ok(()));
        assert_eq!(
            check_c2d(&Message::new(vec![0u8; 65536]).with_message_id("x")),
            Err(LimitError::TooLarge {
                size: 65537,
                limit: 65536
            })
        );
        // A 100 KB message is fine for D2C but not C2D.
        let m = Message::new(vec![0u8; 100 * 1024]);
        assert!(check_d2c(&m).is_ok());
        assert!(matches!(
            check_c2d(&m),
            Err(LimitError::TooLarge { limit: 65536, .. })
        ));
        assert_eq!(
            check_d2c(&Message::new("x").with_message_id("bad id")),
            Err(LimitError::InvalidMessageId(MessageIdError::InvalidChar {
                ch: ' ',
                position: 3
            }))
        );
    }
}

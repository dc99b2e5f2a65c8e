//! Device and module identities (protocol reference §2.1).

use core::fmt;

/// Maximum length of a device or module id, in characters (all ASCII).
pub const MAX_ID_LEN: usize = 128;

/// Why a string is not a valid device or module id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id is empty.
    #[error("id is empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("id is {len} characters long; the limit is {MAX_ID_LEN}")]
    TooLong {
        /// Actual length in characters.
        len: usize,
    },
    /// The id contains a character outside the allowed set.
    #[error("id contains {ch:?} at position {position}, which is not allowed")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its character position.
        position: usize,
    },
}

/// True for the characters allowed in device and module ids: ASCII alphanumerics and
/// ``- . % _ * ? ! ( ) , : = @ $ '``.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '%'
                | '_'
                | '*'
                | '?'
                | '!'
                | '('
                | ')'
                | ','
                | ':'
                | '='
                | '@'
                | '$'
                | '\''
        )
}

fn validate(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    // Check characters first: a non-ASCII id gets the more useful "invalid char" error, and
    // once all chars are ASCII the byte length is the character count.
    if let Some((position, ch)) = s.chars().enumerate().find(|(_, c)| !is_id_char(*c)) {
        return Err(IdError::InvalidChar { ch, position });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { len: s.len() });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(transparent))]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id (case-sensitive; ≤128 ASCII characters from the
            /// allowed set).
            pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                validate(&id)?;
                Ok(Self(id))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the id and returns the inner string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl core::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A device identity (`deviceId`), validated per §2.1.
    DeviceId
);
id_type!(
    /// A module identity (`moduleId`), validated with the same rules as [`DeviceId`].
    ModuleId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_allowed_char() {
        let id = "aZ09-.%_*?!(),:=@$'";
        assert_eq!(DeviceId::new(id).unwrap().as_str(), id);
        assert_eq!(ModuleId::new(id).unwrap().as_str(), id);
    }

    #[test]
    fn rejects_empty_long_and_bad_chars() {
        assert_eq!(DeviceId::new(""), Err(IdError::Empty));
        assert!(DeviceId::new("a".repeat(128)).is_ok());
        assert_eq!(
            DeviceId::new("a".repeat(129)),
            Err(IdError::TooLong { len: 129 })
        );
        for (bad, pos) in [
            ("a+b", 1),
            ("#", 0),
            ("a/b", 1),
            ("a b", 1),
            ("dév", 1),
            ("x&", 1),
            ("a;", 1),
        ] {
            let ch = bad.chars().nth(pos).unwrap();
            assert_eq!(
                ModuleId::new(bad),
                Err(IdError::InvalidChar { ch, position: pos }),
                "{bad}"
            );
        }
    }

    #[test]
    fn case_sensitive_and_conversions() {
        let a = DeviceId::new("Dev1").unwrap();
        let b: DeviceId = "dev1".parse().unwrap();
        assert_ne!(a, b);
        assert_eq!(a, "Dev1");
        assert_eq!(a.to_string(), "Dev1");
        assert_eq!(format!("{a:?}"), "\"Dev1\"");
        assert_eq!(String::from(a.clone()), "Dev1");
        assert_eq!(
            DeviceId::try_from("x y"),
            Err(IdError::InvalidChar {
                ch: ' ',
                position: 1
            })
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_validates() {
        let d: DeviceId = serde_json::from_str("\"dev-1\"").unwrap();
        assert_eq!(d, "dev-1");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"dev-1\"");
        assert!(serde_json::from_str::<DeviceId>("\"a/b\"").is_err());
    }
}

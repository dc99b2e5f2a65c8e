//! The MQTT property bag: `key=value&key=value…` after the topic's trailing `/` (§4.5).

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded, as the SDKs do
/// (`encodeURIComponent` plus `!'()*`, Python `quote(safe="")`, .NET `EscapeDataString`).
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a property bag could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PropertyBagError {
    /// A percent-decoded key or value is not valid UTF-8.
    #[error("property {index} does not decode to UTF-8")]
    InvalidUtf8 {
        /// Zero-based position of the offending `key=value` pair.
        index: usize,
    },
}

/// An ordered list of `(key, value)` pairs; a value of `None` is a key without `=`.
///
/// Keys are kept exactly as decoded (system keys start with `$.`). Duplicates are kept in
/// order; [`PropertyBag::get`] returns the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyBag {
    entries: Vec<(String, Option<String>)>,
}

impl PropertyBag {
    /// An empty bag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.entries.push((key.into(), Some(value.into())));
        self
    }

    /// Appends a bare `key` (no `=`, value null).
    pub fn push_null(&mut self, key: impl Into<String>) -> &mut Self {
        self.entries.push((key.into(), None));
        self
    }

    /// The first value for `key`: `None` if absent, `Some(None)` if present without `=`.
    pub fn get(&self, key: &str) -> Option<Option<&str>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Iterates the entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Consumes the bag and returns its entries.
    pub fn into_entries(self) -> Vec<(String, Option<String>)> {
        self.entries
    }

    /// Encodes as `k=v&k2=v2` with RFC 3986 percent-encoding of every key and value (only
    /// `A-Z a-z 0-9 - . _ ~` stay literal, so `$.mid` becomes `%24.mid`). No leading `?`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded form to `out`.
    pub fn encode_into(&self, out: &mut String) {
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.extend(utf8_percent_encode(k, COMPONENT));
            if let Some(v) = v {
                out.push('=');
                out.extend(utf8_percent_encode(v, COMPONENT));
            }
        }
    }

    /// Decodes a bag: tolerates one leading `?`, splits on `&` then the first `=`,
    /// percent-decodes keys and values without mapping `+` to space. Empty segments
    /// (`a=1&&b=2`) are skipped. `key` → null, `key=` → empty string.
    pub fn decode(s: &str) -> Result<Self, PropertyBagError> {
        let s = s.strip_prefix('?').unwrap_or(s);
        let mut entries = Vec::new();
        for (index, pair) in s.split('&').enumerate() {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = match pair.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (pair, None),
            };
            let bad = || PropertyBagError::InvalidUtf8 { index };
            let key = decode_component(k).ok_or_else(bad)?;
            let value = match v {
                Some(v) => Some(decode_component(v).ok_or_else(bad)?),
                None => None,
            };
            entries.push((key, value));
        }
        Ok(Self { entries })
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for PropertyBag {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(k, v)| (k.into(), Some(v.into())))
                .collect(),
        }
    }
}

/// Percent-encodes one key or value the way the bag does (RFC 3986 unreserved kept).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Percent-decodes one component without mapping `+` to space; invalid `%xx` sequences
/// pass through literally. `None` if the result is not UTF-8.
pub fn decode_component(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(bag: &PropertyBag) -> Vec<(&str, Option<&str>)> {
        bag.iter().collect()
    }

    #[test]
    fn encodes_doc_example() {
        let mut bag = PropertyBag::new();
        bag.push("$.mid", "msg-1")
            .push("$.ct", "application/json")
            .push("$.ce", "utf-8")
            .push("temp", "21.5");
        assert_eq!(
            bag.encode(),
            "%24.mid=msg-1&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21.5"
        );
    }

    #[test]
    fn encodes_awkward_characters() {
        let mut bag = PropertyBag::new();
        bag.push("k$/;&=+ %", "v$/;&=+ %é☃")
            .push_null("bare")
            .push("empty", "");
        assert_eq!(
            bag.encode(),
            "k%24%2F%3B%26%3D%2B%20%25=v%24%2F%3B%26%3D%2B%20%25%C3%A9%E2%98%83&bare&empty="
        );
        // Unreserved characters stay literal; sub-delims used by Node's encodeURIComponent
        // are escaped too.
        assert_eq!(encode_component("aZ09-._~!'()*"), "aZ09-._~%21%27%28%29%2A");
    }

    #[test]
    fn round_trips_awkward_characters() {
        let awkward = [
            "$", "/", ";", "&", "=", "+", " ", "%", "%24", "a+b", "ü", "日本", "🦀", "?x", "#",
            "a=b=c", "", "$.mid",
        ];
        let mut bag = PropertyBag::new();
        for (i, k) in awkward.iter().enumerate() {
            if k.is_empty() {
                continue; // an empty key would be indistinguishable from an empty segment
            }
            bag.push(*k, awkward[(i + 3) % awkward.len()]);
            bag.push_null(format!("{k}-null"));
        }
        let encoded = bag.encode();
        assert!(!encoded.starts_with('?'));
        for c in ['$', '/', ';', ' ', '+', '#', '?'] {
            assert!(!encoded.contains(c), "{c} leaked into {encoded}");
        }
        assert_eq!(PropertyBag::decode(&encoded).unwrap(), bag);
    }

    #[test]
    fn decode_rules() {
        let bag = PropertyBag::decode("?%24.mid=1&%24.cid=fake+corid&bare&empty=&$.ct=a%2Fb&x=a=b")
            .unwrap();
        assert_eq!(
            pairs(&bag),
            vec![
                ("$.mid", Some("1")),
                ("$.cid", Some("fake+corid")),
                ("bare", None),
                ("empty", Some("")),
                ("$.ct", Some("a/b")),
                ("x", Some("a=b")),
            ]
        );
        assert_eq!(bag.get("bare"), Some(None));
        assert_eq!(bag.get("missing"), None);
        // Only one leading '?' is stripped; a second one is part of the key.
        assert_eq!(
            pairs(&PropertyBag::decode("??a=1").unwrap()),
            vec![("?a", Some("1"))]
        );
        assert!(PropertyBag::decode("").unwrap().is_empty());
        assert!(PropertyBag::decode("?").unwrap().is_empty());
        assert_eq!(PropertyBag::decode("a=1&&b=2").unwrap().len(), 2);
        // Invalid escapes pass through literally (lenient, like .NET UnescapeDataString).
        assert_eq!(
            pairs(&PropertyBag::decode("a=%zz%2").unwrap()),
            vec![("a", Some("%zz%2"))]
        );
        // Lower-case hex decodes too.
        assert_eq!(
            pairs(&PropertyBag::decode("a=%2f").unwrap()),
            vec![("a", Some("/"))]
        );
    }

    #[test]
    fn decode_rejects_non_utf8() {
        assert_eq!(
            PropertyBag::decode("a=1&b=%FF"),
            Err(PropertyBagError::InvalidUtf8 { index: 1 })
        );
        assert_eq!(
            PropertyBag::decode("%C3=1"),
            Err(PropertyBagError::InvalidUtf8 { index: 0 })
        );
    }

    #[test]
    fn keeps_duplicates_in_order() {
        let bag = PropertyBag::decode("a=1&a=2").unwrap();
        assert_eq!(bag.len(), 2);
        assert_eq!(bag.get("a"), Some(Some("1")));
        assert_eq!(bag.encode(), "a=1&a=2");
    }
}

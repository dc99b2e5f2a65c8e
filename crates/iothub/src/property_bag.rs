//! The MQTT property bag: `key=value&key=value…` after the topic's trailing `/` (§4.5).

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
        todo!()
    }

    /// Appends the encoded form to `out`.
    pub fn encode_into(&self, out: &mut String) {
        todo!("{out}")
    }

    /// Decodes a bag: tolerates one leading `?`, splits on `&` then the first `=`,
    /// percent-decodes keys and values without mapping `+` to space. Empty segments
    /// (`a=1&&b=2`) are skipped. `key` → null, `key=` → empty string.
    pub fn decode(s: &str) -> Result<Self, PropertyBagError> {
        todo!("{s}")
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
    todo!("{s}")
}

/// Percent-decodes one component without mapping `+` to space; invalid `%xx` sequences
/// pass through literally. `None` if the result is not UTF-8.
pub fn decode_component(s: &str) -> Option<String> {
    todo!("{s}")
}

//! Validated primitive newtypes (symbol, string, timestamp, uuid, decimals), descriptors and the
//! order-preserving [`Map`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

/// Why bytes or a string cannot be a [`Symbol`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SymbolError {
    /// A byte outside 7-bit ASCII (AMQP 1.6.21: symbols are ASCII).
    #[error("symbol is not ASCII")]
    NotAscii,
}

/// An AMQP `symbol`: ASCII text, checked once, backed by [`Bytes`] (decoding slices it out of
/// the frame without copying).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Symbol(Bytes);

impl Symbol {
    /// Copies `s` into a new symbol.
    ///
    /// # Errors
    /// [`SymbolError::NotAscii`] for non-ASCII text.
    pub fn new(s: &str) -> Result<Self, SymbolError> {
        Self::from_bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Wraps a static string without copying.
    ///
    /// # Errors
    /// [`SymbolError::NotAscii`] for non-ASCII text.
    pub fn from_static(s: &'static str) -> Result<Self, SymbolError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes without copying.
    ///
    /// # Errors
    /// [`SymbolError::NotAscii`] if any byte is ≥ 0x80.
    pub fn from_bytes(b: Bytes) -> Result<Self, SymbolError> {
        if b.is_ascii() {
            Ok(Self(b))
        } else {
            Err(SymbolError::NotAscii)
        }
    }

    /// For the crate's own constants, all of which are ASCII (checked by a unit test).
    pub(crate) const fn ascii(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// The symbol as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // ASCII was checked on construction, so this cannot fail; without `unsafe` the check
        // is simply repeated.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The backing buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the symbol is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{:?}", self.as_str())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Symbol {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Symbol {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl TryFrom<&str> for Symbol {
    type Error = SymbolError;
    fn try_from(s: &str) -> Result<Self, SymbolError> {
        Self::new(s)
    }
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;
    fn try_from(s: String) -> Result<Self, SymbolError> {
        Self::from_bytes(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for Symbol {
    type Error = SymbolError;
    fn try_from(b: Bytes) -> Result<Self, SymbolError> {
        Self::from_bytes(b)
    }
}

/// An AMQP `string`: UTF-8 text, checked once, backed by [`Bytes`] (decoding slices it out of
/// the frame without copying).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Str(Bytes);

impl Str {
    /// Copies `s`.
    #[must_use]
    pub fn new(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Wraps a static string without copying.
    #[must_use]
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes without copying.
    ///
    /// # Errors
    /// [`core::str::Utf8Error`] if the bytes are not UTF-8.
    pub fn from_utf8(b: Bytes) -> Result<Self, core::str::Utf8Error> {
        core::str::from_utf8(&b)?;
        Ok(Self(b))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Validated on construction; see `Symbol::as_str`.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The backing buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl From<&'static str> for Str {
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for Str {
    type Error = core::str::Utf8Error;
    fn try_from(b: Bytes) -> Result<Self, Self::Error> {
        Self::from_utf8(b)
    }
}

/// An AMQP `timestamp`: milliseconds since the Unix epoch (signed, 64-bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// An AMQP `uuid`: 16 bytes in network order (RFC 4122).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An IEEE 754 `decimal32`, kept as its four raw bytes (this codec does no decimal arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decimal32(pub [u8; 4]);

/// An IEEE 754 `decimal64`, kept as its eight raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decimal64(pub [u8; 8]);

/// An IEEE 754 `decimal128`, kept as its sixteen raw bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decimal128(pub [u8; 16]);

/// The descriptor of a described type: a numeric code (domain id in the high 32 bits) or a
/// symbolic name. AMQP reserves every other descriptor type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Descriptor {
    /// A numeric descriptor, e.g. `0x10` for `open`.
    Code(u64),
    /// A symbolic descriptor, e.g. `amqp:open:list`.
    Symbol(Symbol),
}

impl Descriptor {
    /// The numeric code: the code itself, or the code the spec assigns to a known symbolic
    /// name (`amqp:open:list` → `0x10`).
    #[must_use]
    pub fn code(&self) -> Option<u64> {
        match self {
            Self::Code(c) => Some(*c),
            Self::Symbol(s) => crate::codes::code_for_name(s.as_bytes()),
        }
    }
}

impl fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(c) => write!(f, "{c:#x}"),
            Self::Symbol(s) => write!(f, "{s:?}"),
        }
    }
}

impl fmt::Display for Descriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<u64> for Descriptor {
    fn from(c: u64) -> Self {
        Self::Code(c)
    }
}

impl From<Symbol> for Descriptor {
    fn from(s: Symbol) -> Self {
        Self::Symbol(s)
    }
}

/// An order-preserving AMQP map.
///
/// AMQP maps are ordered on the wire and peers compare encodings, so entries keep their order.
/// Lookups are linear, which is the fast choice for the handful of entries AMQP maps carry.
/// Decoding does not reject duplicate keys (checking is quadratic in the entry count);
/// [`get`](Self::get) returns the first match.
#[derive(Clone, PartialEq)]
pub struct Map<K, V>(Vec<(K, V)>);

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K, V> Map<K, V> {
    /// An empty map.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty map with room for `n` entries.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends an entry without looking for an existing key (the caller knows it is new).
    pub fn push(&mut self, key: K, value: V) {
        self.0.push((key, value));
    }

    /// Inserts or replaces (keeping the key's position); returns the previous value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V>
    where
        K: PartialEq,
    {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            return Some(core::mem::replace(&mut slot.1, value));
        }
        self.0.push((key, value));
        None
    }

    /// The value of the first entry whose key equals `key` (`map.get("name")` works for
    /// symbol- and string-keyed maps).
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: PartialEq<Q>,
        Q: ?Sized,
    {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes the first entry whose key equals `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: PartialEq<Q>,
        Q: ?Sized,
    {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    /// The entries in wire order.
    pub fn iter(&self) -> core::slice::Iter<'_, (K, V)> {
        self.0.iter()
    }

    /// The entries as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[(K, V)] {
        &self.0
    }

    /// The entries as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<(K, V)> {
        self.0
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K, V> From<Vec<(K, V)>> for Map<K, V> {
    fn from(v: Vec<(K, V)>) -> Self {
        Self(v)
    }
}

impl<K, V> FromIterator<(K, V)> for Map<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<K, V> IntoIterator for Map<K, V> {
    type Item = (K, V);
    type IntoIter = alloc::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Map<K, V> {
    type Item = &'a (K, V);
    type IntoIter = core::slice::Iter<'a, (K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A key of an annotations map: a symbol, or a `ulong` reserved by the spec (AMQP 3.2.10).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AnnotationKey {
    /// A symbolic key such as `x-opt-lock-token` or `iothub-interface-id`.
    Symbol(Symbol),
    /// A numeric key.
    Ulong(u64),
}

impl fmt::Debug for AnnotationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symbol(s) => fmt::Debug::fmt(s, f),
            Self::Ulong(n) => write!(f, "{n}"),
        }
    }
}

impl PartialEq<str> for AnnotationKey {
    fn eq(&self, other: &str) -> bool {
        matches!(self, Self::Symbol(s) if s == other)
    }
}

impl PartialEq<&str> for AnnotationKey {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Self::Symbol(s) if s == *other)
    }
}

impl From<Symbol> for AnnotationKey {
    fn from(s: Symbol) -> Self {
        Self::Symbol(s)
    }
}

impl From<u64> for AnnotationKey {
    fn from(n: u64) -> Self {
        Self::Ulong(n)
    }
}

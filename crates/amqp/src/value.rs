//! [`Value`]: any AMQP value, for fields whose type is `*` (amqp-value bodies, annotations,
//! application properties, filters, info maps).

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::codes::format_code as fc;
use crate::error::{DecodeError, EncodeError};
use crate::read::{str_from, symbol_from, Dec, Reader};
use crate::types::{
    Decimal128, Decimal32, Decimal64, Descriptor, Map, Str, Symbol, Timestamp, Uuid,
};
use crate::write::{self, begin_compound, begin_wide, end_compound, end_wide, Enc, EncodeBuf};

/// Any AMQP value (AMQP 1.0 §1.6).
///
/// Decoding keeps strings, symbols and binaries as zero-copy slices of the input. Encoding
/// picks the smallest encoding of each value (`uint0`, `smalluint`, `str8`, `list8`, …).
/// Equality is structural; floats compare with `==`, so a value holding NaN is not equal to
/// itself.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `boolean`.
    Bool(bool),
    /// `ubyte`.
    Ubyte(u8),
    /// `ushort`.
    Ushort(u16),
    /// `uint`.
    Uint(u32),
    /// `ulong`.
    Ulong(u64),
    /// `byte`.
    Byte(i8),
    /// `short`.
    Short(i16),
    /// `int`.
    Int(i32),
    /// `long`.
    Long(i64),
    /// `float`.
    Float(f32),
    /// `double`.
    Double(f64),
    /// `decimal32` (raw bytes).
    Decimal32(Decimal32),
    /// `decimal64` (raw bytes).
    Decimal64(Decimal64),
    /// `decimal128` (raw bytes).
    Decimal128(Decimal128),
    /// `char`.
    Char(char),
    /// `timestamp`.
    Timestamp(Timestamp),
    /// `uuid`.
    Uuid(Uuid),
    /// `binary`.
    Binary(Bytes),
    /// `string`.
    String(Str),
    /// `symbol`.
    Symbol(Symbol),
    /// `list`.
    List(Vec<Self>),
    /// `map` (order preserved).
    Map(Map<Self, Self>),
    /// `array`: elements of one type.
    Array(Box<Array>),
    /// A described value.
    Described(Box<Described>),
}

/// A described value: a descriptor and the value it describes.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    /// What the value means.
    pub descriptor: Descriptor,
    /// The value.
    pub value: Value,
}

/// The AMQP type of a [`Value`], without its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// `null`.
    Null,
    /// `boolean`.
    Bool,
    /// `ubyte`.
    Ubyte,
    /// `ushort`.
    Ushort,
    /// `uint`.
    Uint,
    /// `ulong`.
    Ulong,
    /// `byte`.
    Byte,
    /// `short`.
    Short,
    /// `int`.
    Int,
    /// `long`.
    Long,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `decimal32`.
    Decimal32,
    /// `decimal64`.
    Decimal64,
    /// `decimal128`.
    Decimal128,
    /// `char`.
    Char,
    /// `timestamp`.
    Timestamp,
    /// `uuid`.
    Uuid,
    /// `binary`.
    Binary,
    /// `string`.
    String,
    /// `symbol`.
    Symbol,
    /// `list`.
    List,
    /// `map`.
    Map,
    /// `array`.
    Array,
    /// A described value.
    Described,
}

impl Value {
    /// The value's AMQP type.
    #[must_use]
    pub fn kind(&self) -> ValueKind {
        match self {
            Self::Null => ValueKind::Null,
            Self::Bool(_) => ValueKind::Bool,
            Self::Ubyte(_) => ValueKind::Ubyte,
            Self::Ushort(_) => ValueKind::Ushort,
            Self::Uint(_) => ValueKind::Uint,
            Self::Ulong(_) => ValueKind::Ulong,
            Self::Byte(_) => ValueKind::Byte,
            Self::Short(_) => ValueKind::Short,
            Self::Int(_) => ValueKind::Int,
            Self::Long(_) => ValueKind::Long,
            Self::Float(_) => ValueKind::Float,
            Self::Double(_) => ValueKind::Double,
            Self::Decimal32(_) => ValueKind::Decimal32,
            Self::Decimal64(_) => ValueKind::Decimal64,
            Self::Decimal128(_) => ValueKind::Decimal128,
            Self::Char(_) => ValueKind::Char,
            Self::Timestamp(_) => ValueKind::Timestamp,
            Self::Uuid(_) => ValueKind::Uuid,
            Self::Binary(_) => ValueKind::Binary,
            Self::String(_) => ValueKind::String,
            Self::Symbol(_) => ValueKind::Symbol,
            Self::List(_) => ValueKind::List,
            Self::Map(_) => ValueKind::Map,
            Self::Array(_) => ValueKind::Array,
            Self::Described(_) => ValueKind::Described,
        }
    }

    /// A described value.
    #[must_use]
    pub fn described(descriptor: impl Into<Descriptor>, value: Self) -> Self {
        Self::Described(Box::new(Described {
            descriptor: descriptor.into(),
            value,
        }))
    }

    /// Whether this is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The string, if this is a `string`.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The symbol, if this is a `symbol`.
    #[must_use]
    pub fn as_symbol(&self) -> Option<&Symbol> {
        match self {
            Self::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a `binary`.
    #[must_use]
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Self::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The boolean, if this is a `boolean`.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Any integer type that fits in an `i64`.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Ubyte(n) => Some(n.into()),
            Self::Ushort(n) => Some(n.into()),
            Self::Uint(n) => Some(n.into()),
            Self::Ulong(n) => i64::try_from(n).ok(),
            Self::Byte(n) => Some(n.into()),
            Self::Short(n) => Some(n.into()),
            Self::Int(n) => Some(n.into()),
            Self::Long(n) => Some(n),
            _ => None,
        }
    }

    /// Any unsigned integer type, or a non-negative signed one, as a `u64`.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Ulong(n) => Some(n),
            _ => self.as_i64().and_then(|n| u64::try_from(n).ok()),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::$v(v)
            }
        })*
    };
}

value_from! {
    bool => Bool, u8 => Ubyte, u16 => Ushort, u32 => Uint, u64 => Ulong, i8 => Byte,
    i16 => Short, i32 => Int, i64 => Long, f32 => Float, f64 => Double, char => Char,
    Timestamp => Timestamp, Uuid => Uuid, Bytes => Binary, Str => String, Symbol => Symbol,
    Vec<Value> => List, Map<Value, Value> => Map, Decimal32 => Decimal32,
    Decimal64 => Decimal64, Decimal128 => Decimal128,
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Self {
        Self::String(Str::from_static(s))
    }
}

impl From<alloc::string::String> for Value {
    fn from(s: alloc::string::String) -> Self {
        Self::String(Str::from(s))
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Self {
        Self::Array(Box::new(a))
    }
}

impl From<Described> for Value {
    fn from(d: Described) -> Self {
        Self::Described(Box::new(d))
    }
}

impl<T: Into<Self>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// An AMQP array: elements of a single type (optionally all described by one descriptor),
/// encoded with one shared constructor.
///
/// The element kind is kept even when the array is empty, because the encoding needs a
/// constructor either way.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    descriptor: Option<Descriptor>,
    kind: ValueKind,
    items: Vec<Value>,
}

impl Array {
    /// An array of `kind` elements.
    ///
    /// # Errors
    /// [`EncodeError::ArrayElementMismatch`] if an item is of another kind, or if `kind` is
    /// [`ValueKind::Described`] (use [`Array::described`] and give the undescribed items).
    pub fn new(kind: ValueKind, items: Vec<Value>) -> Result<Self, EncodeError> {
        if kind == ValueKind::Described {
            return Err(EncodeError::ArrayElementMismatch {
                expected: kind,
                found: kind,
            });
        }
        if let Some(bad) = items.iter().find(|v| v.kind() != kind) {
            return Err(EncodeError::ArrayElementMismatch {
                expected: kind,
                found: bad.kind(),
            });
        }
        Ok(Self {
            descriptor: None,
            kind,
            items,
        })
    }

    /// An array of described values sharing `descriptor`; `items` are the values being
    /// described, all of `kind`.
    ///
    /// # Errors
    /// As [`Array::new`].
    pub fn described(
        descriptor: Descriptor,
        kind: ValueKind,
        items: Vec<Value>,
    ) -> Result<Self, EncodeError> {
        let mut a = Self::new(kind, items)?;
        a.descriptor = Some(descriptor);
        Ok(a)
    }

    /// An array of symbols (the usual AMQP array: capabilities, mechanisms, outcomes).
    #[must_use]
    pub fn symbols(items: impl IntoIterator<Item = Symbol>) -> Self {
        Self {
            descriptor: None,
            kind: ValueKind::Symbol,
            items: items.into_iter().map(Value::Symbol).collect(),
        }
    }

    /// The shared descriptor of described elements.
    #[must_use]
    pub fn descriptor(&self) -> Option<&Descriptor> {
        self.descriptor.as_ref()
    }

    /// The element kind.
    #[must_use]
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The elements (without their descriptor).
    #[must_use]
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// The elements (without their descriptor).
    #[must_use]
    pub fn into_items(self) -> Vec<Value> {
        self.items
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the array is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// The element kind a format code produces, and the fewest bytes one element takes.
fn kind_of_code(code: u8) -> Option<(ValueKind, usize)> {
    Some(match code {
        fc::NULL => (ValueKind::Null, 0),
        fc::TRUE | fc::FALSE => (ValueKind::Bool, 0),
        fc::BOOLEAN => (ValueKind::Bool, 1),
        fc::UBYTE => (ValueKind::Ubyte, 1),
        fc::USHORT => (ValueKind::Ushort, 2),
        fc::UINT0 => (ValueKind::Uint, 0),
        fc::SMALLUINT => (ValueKind::Uint, 1),
        fc::UINT => (ValueKind::Uint, 4),
        fc::ULONG0 => (ValueKind::Ulong, 0),
        fc::SMALLULONG => (ValueKind::Ulong, 1),
        fc::ULONG => (ValueKind::Ulong, 8),
        fc::BYTE => (ValueKind::Byte, 1),
        fc::SHORT => (ValueKind::Short, 2),
        fc::SMALLINT => (ValueKind::Int, 1),
        fc::INT => (ValueKind::Int, 4),
        fc::SMALLLONG => (ValueKind::Long, 1),
        fc::LONG => (ValueKind::Long, 8),
        fc::FLOAT => (ValueKind::Float, 4),
        fc::DOUBLE => (ValueKind::Double, 8),
        fc::DECIMAL32 => (ValueKind::Decimal32, 4),
        fc::DECIMAL64 => (ValueKind::Decimal64, 8),
        fc::DECIMAL128 => (ValueKind::Decimal128, 16),
        fc::CHAR => (ValueKind::Char, 4),
        fc::TIMESTAMP => (ValueKind::Timestamp, 8),
        fc::UUID => (ValueKind::Uuid, 16),
        fc::VBIN8 => (ValueKind::Binary, 1),
        fc::VBIN32 => (ValueKind::Binary, 4),
        fc::STR8 => (ValueKind::String, 1),
        fc::STR32 => (ValueKind::String, 4),
        fc::SYM8 => (ValueKind::Symbol, 1),
        fc::SYM32 => (ValueKind::Symbol, 4),
        fc::LIST0 => (ValueKind::List, 0),
        fc::LIST8 => (ValueKind::List, 2),
        fc::LIST32 => (ValueKind::List, 8),
        fc::MAP8 => (ValueKind::Map, 2),
        fc::MAP32 => (ValueKind::Map, 8),
        fc::ARRAY8 => (ValueKind::Array, 3),
        fc::ARRAY32 => (ValueKind::Array, 9),
        _ => return None,
    })
}

impl Dec for Value {
    // Only the compound arms recurse; scalars are decoded out of line so the recursive frames
    // stay small (unoptimised builds give every arm of a large match its own stack slots).
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match code {
            fc::LIST8 | fc::LIST32 => decode_list_body(code, r).map(Self::List),
            fc::MAP8 | fc::MAP32 => decode_map_body(code, r, decode_any).map(Self::Map),
            fc::ARRAY8 | fc::ARRAY32 => {
                decode_array_body(code, r).map(|a| Self::Array(Box::new(a)))
            }
            fc::DESCRIBED => decode_described(r),
            _ => decode_scalar(code, r),
        }
    }
}

/// A value with its constructor.
fn decode_any(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let c = r.u8()?;
    Value::decode_code(c, r)
}

fn decode_described(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let descriptor = r.descriptor()?;
    r.enter_depth()?;
    let value = decode_any(r)?;
    r.leave_depth();
    Ok(Value::Described(Box::new(Described { descriptor, value })))
}

#[inline(never)]
fn decode_scalar(code: u8, r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    Ok(match code {
        fc::NULL => Value::Null,
        fc::TRUE => Value::Bool(true),
        fc::FALSE => Value::Bool(false),
        fc::BOOLEAN => Value::Bool(bool::decode_code(code, r)?),
        fc::UBYTE => Value::Ubyte(r.u8()?),
        fc::USHORT => Value::Ushort(u16::from_be_bytes(r.fixed()?)),
        fc::UINT0 | fc::SMALLUINT | fc::UINT => Value::Uint(u32::decode_code(code, r)?),
        fc::ULONG0 | fc::SMALLULONG | fc::ULONG => Value::Ulong(u64::decode_code(code, r)?),
        fc::BYTE => Value::Byte(r.u8()? as i8),
        fc::SHORT => Value::Short(i16::from_be_bytes(r.fixed()?)),
        fc::SMALLINT | fc::INT => Value::Int(i32::decode_code(code, r)?),
        fc::SMALLLONG | fc::LONG => Value::Long(i64::decode_code(code, r)?),
        fc::FLOAT => Value::Float(f32::from_be_bytes(r.fixed()?)),
        fc::DOUBLE => Value::Double(f64::from_be_bytes(r.fixed()?)),
        fc::DECIMAL32 => Value::Decimal32(Decimal32(r.fixed()?)),
        fc::DECIMAL64 => Value::Decimal64(Decimal64(r.fixed()?)),
        fc::DECIMAL128 => Value::Decimal128(Decimal128(r.fixed()?)),
        fc::CHAR => {
            let n = u32::from_be_bytes(r.fixed()?);
            Value::Char(char::from_u32(n).ok_or(DecodeError::InvalidChar(n))?)
        }
        fc::TIMESTAMP => Value::Timestamp(Timestamp(i64::from_be_bytes(r.fixed()?))),
        fc::UUID => Value::Uuid(Uuid(r.fixed()?)),
        fc::VBIN8 | fc::VBIN32 => Value::Binary(r.variable(code)?),
        fc::STR8 | fc::STR32 => Value::String(str_from(r.variable(code)?)?),
        fc::SYM8 | fc::SYM32 => Value::Symbol(symbol_from(r.variable(code)?)?),
        fc::LIST0 => Value::List(Vec::new()),
        other => return Err(DecodeError::InvalidFormatCode(other)),
    })
}

/// The elements of a list8/list32 (format code already read).
pub(crate) fn decode_list_body(code: u8, r: &mut Reader<'_>) -> Result<Vec<Value>, DecodeError> {
    let (count, saved) = r.enter_compound(code)?;
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        items.push(decode_any(r)?);
    }
    r.leave_compound(saved)?;
    Ok(items)
}

/// The entries of a map8/map32 (format code already read); keys decoded by `key`.
pub(crate) fn decode_map_body<K>(
    code: u8,
    r: &mut Reader<'_>,
    mut key: impl FnMut(&mut Reader<'_>) -> Result<K, DecodeError>,
) -> Result<Map<K, Value>, DecodeError> {
    let (count, saved) = r.enter_compound(code)?;
    if count % 2 != 0 {
        return Err(DecodeError::OddMapCount(count));
    }
    let mut map = Map::with_capacity(count as usize / 2);
    for _ in 0..count / 2 {
        let k = key(r)?;
        map.push(k, decode_any(r)?);
    }
    r.leave_compound(saved)?;
    Ok(map)
}

/// An array8/array32 (format code already read).
pub(crate) fn decode_array_body(code: u8, r: &mut Reader<'_>) -> Result<Array, DecodeError> {
    let (count, saved) = r.enter_compound(code)?;
    let mut elem = r.u8()?;
    let descriptor = if elem == fc::DESCRIBED {
        let d = r.descriptor()?;
        elem = r.u8()?;
        if elem == fc::DESCRIBED {
            return Err(DecodeError::UnsupportedArrayConstructor);
        }
        Some(d)
    } else {
        None
    };
    let (kind, min_width) = kind_of_code(elem).ok_or(DecodeError::InvalidFormatCode(elem))?;
    if min_width == 0 {
        r.charge(count)?;
    } else if count as usize > r.remaining() / min_width {
        return Err(DecodeError::UnexpectedEnd);
    }
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        items.push(Value::decode_code(elem, r)?);
    }
    r.leave_compound(saved)?;
    Ok(Array {
        descriptor,
        kind,
        items,
    })
}

// ---------------------------------------------------------------------------------------------
// Encoding

impl Enc for Value {
    // As for decoding: only the compound arms recurse, scalars are written out of line.
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::List(items) => enc_list(w, items),
            Self::Map(map) => enc_map(w, map),
            Self::Array(a) => enc_array(w, a),
            Self::Described(d) => {
                enc_descriptor(w, &d.descriptor)?;
                d.value.enc(w)
            }
            _ => enc_scalar(self, w),
        }
    }
}

#[inline(never)]
fn enc_scalar<B: EncodeBuf>(v: &Value, w: &mut B) -> Result<(), EncodeError> {
    match v {
        Value::Bool(b) => return b.enc(w),
        Value::Ubyte(n) => return n.enc(w),
        Value::Ushort(n) => return n.enc(w),
        Value::Uint(n) => return n.enc(w),
        Value::Ulong(n) => return n.enc(w),
        Value::Byte(n) => w.put_slice(&[fc::BYTE, *n as u8]),
        Value::Short(n) => {
            w.put_u8(fc::SHORT);
            w.put_slice(&n.to_be_bytes());
        }
        Value::Int(n) => return n.enc(w),
        Value::Long(n) => return n.enc(w),
        Value::Float(x) => {
            w.put_u8(fc::FLOAT);
            w.put_slice(&x.to_be_bytes());
        }
        Value::Double(x) => {
            w.put_u8(fc::DOUBLE);
            w.put_slice(&x.to_be_bytes());
        }
        Value::Decimal32(d) => {
            w.put_u8(fc::DECIMAL32);
            w.put_slice(&d.0);
        }
        Value::Decimal64(d) => {
            w.put_u8(fc::DECIMAL64);
            w.put_slice(&d.0);
        }
        Value::Decimal128(d) => {
            w.put_u8(fc::DECIMAL128);
            w.put_slice(&d.0);
        }
        Value::Char(c) => {
            w.put_u8(fc::CHAR);
            w.put_slice(&u32::from(*c).to_be_bytes());
        }
        Value::Timestamp(t) => return t.enc(w),
        Value::Uuid(u) => return u.enc(w),
        Value::Binary(b) => return b.enc(w),
        Value::String(s) => return s.enc(w),
        Value::Symbol(s) => return s.enc(w),
        Value::Null => w.put_u8(fc::NULL),
        // `Value::enc` handles compounds itself; delegate back if called with one.
        Value::List(_) | Value::Map(_) | Value::Array(_) | Value::Described(_) => return v.enc(w),
    }
    Ok(())
}

/// `0x00` and a descriptor.
pub(crate) fn enc_descriptor<B: EncodeBuf>(w: &mut B, d: &Descriptor) -> Result<(), EncodeError> {
    match d {
        Descriptor::Code(c) => {
            write::descriptor_code(w, *c);
            Ok(())
        }
        Descriptor::Symbol(s) => {
            w.put_u8(fc::DESCRIBED);
            s.enc(w)
        }
    }
}

/// A list of values in its smallest form.
pub(crate) fn enc_list<B: EncodeBuf, T: Enc>(w: &mut B, items: &[T]) -> Result<(), EncodeError> {
    if items.is_empty() {
        w.put_u8(fc::LIST0);
        return Ok(());
    }
    let open = begin_compound(w, fc::LIST8);
    for v in items {
        v.enc(w)?;
    }
    end_compound(w, open, items.len(), fc::LIST32, "list")
}

/// A map in its smallest form.
pub(crate) fn enc_map<B: EncodeBuf, K: Enc, V: Enc>(
    w: &mut B,
    map: &Map<K, V>,
) -> Result<(), EncodeError> {
    let open = begin_compound(w, fc::MAP8);
    for (k, v) in map {
        k.enc(w)?;
        v.enc(w)?;
    }
    end_compound(w, open, map.len() * 2, fc::MAP32, "map")
}

/// The one constructor shared by every element of `a`: the smallest that holds them all.
/// Zero-width constructors (uint0, true, list0, …) are never chosen, as some peers do not
/// expect them inside arrays.
fn element_code(a: &Array) -> u8 {
    let items = &a.items;
    let all = |f: fn(&Value) -> bool| items.iter().all(f);
    match a.kind {
        ValueKind::Null | ValueKind::Described => fc::NULL,
        ValueKind::Bool => fc::BOOLEAN,
        ValueKind::Ubyte => fc::UBYTE,
        ValueKind::Ushort => fc::USHORT,
        ValueKind::Uint => {
            if all(|v| matches!(v, Value::Uint(n) if *n <= 255)) {
                fc::SMALLUINT
            } else {
                fc::UINT
            }
        }
        ValueKind::Ulong => {
            if all(|v| matches!(v, Value::Ulong(n) if *n <= 255)) {
                fc::SMALLULONG
            } else {
                fc::ULONG
            }
        }
        ValueKind::Byte => fc::BYTE,
        ValueKind::Short => fc::SHORT,
        ValueKind::Int => {
            if all(|v| matches!(v, Value::Int(n) if i8::try_from(*n).is_ok())) {
                fc::SMALLINT
            } else {
                fc::INT
            }
        }
        ValueKind::Long => {
            if all(|v| matches!(v, Value::Long(n) if i8::try_from(*n).is_ok())) {
                fc::SMALLLONG
            } else {
                fc::LONG
            }
        }
        ValueKind::Float => fc::FLOAT,
        ValueKind::Double => fc::DOUBLE,
        ValueKind::Decimal32 => fc::DECIMAL32,
        ValueKind::Decimal64 => fc::DECIMAL64,
        ValueKind::Decimal128 => fc::DECIMAL128,
        ValueKind::Char => fc::CHAR,
        ValueKind::Timestamp => fc::TIMESTAMP,
        ValueKind::Uuid => fc::UUID,
        ValueKind::Binary => {
            if all(|v| matches!(v, Value::Binary(b) if b.len() <= 255)) {
                fc::VBIN8
            } else {
                fc::VBIN32
            }
        }
        ValueKind::String => {
            if all(|v| matches!(v, Value::String(s) if s.len() <= 255)) {
                fc::STR8
            } else {
                fc::STR32
            }
        }
        ValueKind::Symbol => {
            if all(|v| matches!(v, Value::Symbol(s) if s.len() <= 255)) {
                fc::SYM8
            } else {
                fc::SYM32
            }
        }
        // Compound elements are written in their four-byte form: their sizes are only known
        // once written, and all elements must share one constructor.
        ValueKind::List => fc::LIST32,
        ValueKind::Map => fc::MAP32,
        ValueKind::Array => fc::ARRAY32,
    }
}

/// An array in its smallest form.
pub(crate) fn enc_array<B: EncodeBuf>(w: &mut B, a: &Array) -> Result<(), EncodeError> {
    let code = element_code(a);
    let open = begin_compound(w, fc::ARRAY8);
    if let Some(d) = &a.descriptor {
        enc_descriptor(w, d)?;
    }
    w.put_u8(code);
    for v in &a.items {
        enc_element(w, v, code)?;
    }
    end_compound(w, open, a.items.len(), fc::ARRAY32, "array")
}

/// One array element: the value's payload without its constructor, in the form `code` says.
fn enc_element<B: EncodeBuf>(w: &mut B, v: &Value, code: u8) -> Result<(), EncodeError> {
    match (v, code) {
        (Value::Null, _) => {}
        (Value::Bool(b), _) => w.put_u8(u8::from(*b)),
        (Value::Ubyte(n), _) => w.put_u8(*n),
        (Value::Ushort(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Uint(n), fc::SMALLUINT) => w.put_u8(*n as u8),
        (Value::Uint(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Ulong(n), fc::SMALLULONG) => w.put_u8(*n as u8),
        (Value::Ulong(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Byte(n), _) => w.put_u8(*n as u8),
        (Value::Short(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Int(n), fc::SMALLINT) => w.put_u8(*n as u8),
        (Value::Int(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Long(n), fc::SMALLLONG) => w.put_u8(*n as u8),
        (Value::Long(n), _) => w.put_slice(&n.to_be_bytes()),
        (Value::Float(x), _) => w.put_slice(&x.to_be_bytes()),
        (Value::Double(x), _) => w.put_slice(&x.to_be_bytes()),
        (Value::Decimal32(d), _) => w.put_slice(&d.0),
        (Value::Decimal64(d), _) => w.put_slice(&d.0),
        (Value::Decimal128(d), _) => w.put_slice(&d.0),
        (Value::Char(c), _) => w.put_slice(&u32::from(*c).to_be_bytes()),
        (Value::Timestamp(t), _) => w.put_slice(&t.0.to_be_bytes()),
        (Value::Uuid(u), _) => w.put_slice(&u.0),
        (Value::Binary(b), _) => enc_variable_body(w, b, code, "binary")?,
        (Value::String(s), _) => enc_variable_body(w, s.as_bytes(), code, "string")?,
        (Value::Symbol(s), _) => enc_variable_body(w, s.as_bytes(), code, "symbol")?,
        (Value::List(items), _) => {
            let at = begin_wide(w);
            for v in items {
                v.enc(w)?;
            }
            end_wide(w, at, items.len(), "list")?;
        }
        (Value::Map(map), _) => {
            let at = begin_wide(w);
            for (k, v) in map {
                k.enc(w)?;
                v.enc(w)?;
            }
            end_wide(w, at, map.len() * 2, "map")?;
        }
        (Value::Array(inner), _) => {
            let at = begin_wide(w);
            if let Some(d) = &inner.descriptor {
                enc_descriptor(w, d)?;
            }
            let c = element_code(inner);
            w.put_u8(c);
            for v in &inner.items {
                enc_element(w, v, c)?;
            }
            end_wide(w, at, inner.items.len(), "array")?;
        }
        // `Array::new` refuses described items.
        (Value::Described(_), _) => {
            return Err(EncodeError::ArrayElementMismatch {
                expected: ValueKind::Described,
                found: ValueKind::Described,
            })
        }
    }
    Ok(())
}

fn enc_variable_body<B: EncodeBuf>(
    w: &mut B,
    bytes: &[u8],
    code: u8,
    what: &'static str,
) -> Result<(), EncodeError> {
    if code & 0xf0 == 0xa0 {
        // The constructor was chosen so that every element fits.
        w.put_u8(u8::try_from(bytes.len()).map_err(|_| EncodeError::TooLarge(what))?);
    } else {
        let n = u32::try_from(bytes.len()).map_err(|_| EncodeError::TooLarge(what))?;
        w.put_slice(&n.to_be_bytes());
    }
    w.put_slice(bytes);
    Ok(())
}

//! Described lists ("composite types", AMQP 1.0 §1.4) declared once with [`composite!`]: the
//! macro generates the struct, its encoder (trailing null fields omitted) and its decoder
//! (missing trailing fields take their defaults; extra fields are validated and skipped).
//!
//! Field kinds:
//! * `req T`: mandatory; a missing or null field is [`DecodeError::MissingField`].
//! * `opt T`: `Option<T>`; null when absent.
//! * `def T = expr`: `T` with the spec's default; encoded as null when equal to the default.
//! * `multi T`: `Vec<T>` for `multiple="true"` fields: decoded from a single value or an array,
//!   encoded as null (empty), a single value (one) or an array (several).
//! * `reqmulti T`: as `multi`, but at least one value is mandatory.

use alloc::vec::Vec;

use crate::codes::format_code as fc;
use crate::error::{DecodeError, EncodeError};
use crate::read::{Dec, Reader};
use crate::types::Symbol;
use crate::value::Value;
use crate::write::{begin_compound, end_compound, Enc, EncodeBuf};

/// The field type for a field kind.
macro_rules! field_ty {
    (req, $t:ty) => { $t };
    (opt, $t:ty) => { Option<$t> };
    (def, $t:ty) => { $t };
    (multi, $t:ty) => { alloc::vec::Vec<$t> };
    (reqmulti, $t:ty) => { alloc::vec::Vec<$t> };
}

/// The default for a field kind (mandatory fields get their type's default: callers set them).
macro_rules! field_default {
    (req, $t:ty) => {
        <$t as Default>::default()
    };
    (opt, $t:ty) => {
        None
    };
    (def, $t:ty, $d:expr) => {
        $d
    };
    (multi, $t:ty) => {
        alloc::vec::Vec::new()
    };
    (reqmulti, $t:ty) => {
        alloc::vec::Vec::new()
    };
}

/// Encodes one field; evaluates to `Result<bool, EncodeError>` (whether non-null was written).
macro_rules! field_enc {
    (req, $v:expr, $w:ident, $ty:literal, $f:expr) => {
        $crate::write::Enc::enc($v, $w).map(|()| true)
    };
    (opt, $v:expr, $w:ident, $ty:literal, $f:expr) => {
        match $v {
            Some(v) => $crate::write::Enc::enc(v, $w).map(|()| true),
            None => {
                $crate::write::null($w);
                Ok(false)
            }
        }
    };
    (def, $v:expr, $w:ident, $ty:literal, $f:expr, $d:expr) => {
        if *$v == $d {
            $crate::write::null($w);
            Ok(false)
        } else {
            $crate::write::Enc::enc($v, $w).map(|()| true)
        }
    };
    (multi, $v:expr, $w:ident, $ty:literal, $f:expr) => {
        $crate::composite::enc_multiple($w, $v)
    };
    (reqmulti, $v:expr, $w:ident, $ty:literal, $f:expr) => {
        if $v.is_empty() {
            Err($crate::error::EncodeError::MissingField { ty: $ty, field: $f })
        } else {
            $crate::composite::enc_multiple($w, $v)
        }
    };
}

/// Decodes one field from its format code (`None` = absent or null).
macro_rules! field_dec {
    (req, $t:ty, $c:expr, $r:ident, $ty:literal, $f:expr) => {
        match $c {
            Some(c) => <$t as $crate::read::Dec>::decode_code(c, $r)?,
            None => return Err($crate::error::DecodeError::MissingField { ty: $ty, field: $f }),
        }
    };
    (opt, $t:ty, $c:expr, $r:ident, $ty:literal, $f:expr) => {
        match $c {
            Some(c) => Some(<$t as $crate::read::Dec>::decode_code(c, $r)?),
            None => None,
        }
    };
    (def, $t:ty, $c:expr, $r:ident, $ty:literal, $f:expr, $d:expr) => {
        match $c {
            Some(c) => <$t as $crate::read::Dec>::decode_code(c, $r)?,
            None => $d,
        }
    };
    (multi, $t:ty, $c:expr, $r:ident, $ty:literal, $f:expr) => {
        match $c {
            Some(c) => $crate::composite::dec_multiple::<$t>(c, $r)?,
            None => alloc::vec::Vec::new(),
        }
    };
    (reqmulti, $t:ty, $c:expr, $r:ident, $ty:literal, $f:expr) => {
        match $c {
            Some(c) => {
                let v = $crate::composite::dec_multiple::<$t>(c, $r)?;
                if v.is_empty() {
                    return Err($crate::error::DecodeError::MissingField { ty: $ty, field: $f });
                }
                v
            }
            None => return Err($crate::error::DecodeError::MissingField { ty: $ty, field: $f }),
        }
    };
}

/// Declares a composite type. See the module docs for the field kinds.
macro_rules! composite {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($code:expr, $ty_name:literal) {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $kind:ident $t:ty $(= $def:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: field_ty!($kind, $t),
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: field_default!($kind, $t $(, $def)?), )*
                }
            }
        }

        impl $name {
            /// The numeric descriptor.
            pub const DESCRIPTOR: u64 = $code;

            /// Decodes the list after the descriptor (the list's format code not yet read).
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::redundant_locals)]
            pub(crate) fn decode_list(
                r: &mut $crate::read::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                use $crate::codes::format_code as fc;
                let code = r.u8()?;
                let (mut left, saved) = match code {
                    fc::LIST0 => (0u32, None),
                    fc::LIST8 | fc::LIST32 => {
                        let (count, saved) = r.enter_compound(code)?;
                        (count, Some(saved))
                    }
                    other => {
                        return Err($crate::error::DecodeError::UnexpectedFormatCode {
                            expected: concat!($ty_name, " list"),
                            found: other,
                        })
                    }
                };
                $(
                    let c = $crate::composite::next_field(r, &mut left)?;
                    let $field = field_dec!($kind, $t, c, r, $ty_name, stringify!($field) $(, $def)?);
                )*
                if let Some(saved) = saved {
                    $crate::composite::skip_extra(r, left)?;
                    r.leave_compound(saved)?;
                }
                Ok(Self { $( $field, )* })
            }
        }

        impl $crate::write::Enc for $name {
            #[allow(unused_assignments)]
            fn enc<B: $crate::write::EncodeBuf>(
                &self,
                w: &mut B,
            ) -> Result<(), $crate::error::EncodeError> {
                $crate::write::descriptor_code(w, $code);
                let open = $crate::composite::begin_fields(w);
                let mut last = w.buf_len();
                let mut count = 0usize;
                let mut i = 0usize;
                $(
                    i += 1;
                    if field_enc!($kind, &self.$field, w, $ty_name, stringify!($field) $(, $def)?)? {
                        count = i;
                        last = w.buf_len();
                    }
                )*
                $crate::composite::end_fields(w, open, last, count, $ty_name)
            }
        }

        impl $crate::read::Dec for $name {
            fn decode_code(
                code: u8,
                r: &mut $crate::read::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                $crate::composite::expect_descriptor(code, r, $code, $ty_name)?;
                Self::decode_list(r)
            }
        }
    };
}

/// Reads the constructor of the next field, or `None` when the list has no more fields or the
/// field is null.
#[inline]
pub(crate) fn next_field(r: &mut Reader<'_>, left: &mut u32) -> Result<Option<u8>, DecodeError> {
    if *left == 0 {
        return Ok(None);
    }
    *left -= 1;
    let c = r.u8()?;
    Ok((c != fc::NULL).then_some(c))
}

/// Validates and drops fields beyond the ones this type knows.
pub(crate) fn skip_extra(r: &mut Reader<'_>, left: u32) -> Result<(), DecodeError> {
    for _ in 0..left {
        let c = r.u8()?;
        Value::decode_code(c, r)?;
    }
    Ok(())
}

/// Checks that a described value with the expected descriptor starts here (`code` is the
/// constructor just read).
#[inline]
pub(crate) fn expect_descriptor(
    code: u8,
    r: &mut Reader<'_>,
    expected: u64,
    name: &'static str,
) -> Result<(), DecodeError> {
    if code != fc::DESCRIBED {
        return Err(DecodeError::UnexpectedFormatCode {
            expected: name,
            found: code,
        });
    }
    let d = r.descriptor()?;
    if d.code() == Some(expected) {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedDescriptor {
            expected: name,
            found: d,
        })
    }
}

#[inline]
pub(crate) fn begin_fields<B: EncodeBuf>(w: &mut B) -> crate::write::Open {
    begin_compound(w, fc::LIST8)
}

/// Drops trailing nulls (everything after `last`) and completes the list header; a list
/// without fields becomes `list0`.
#[inline]
pub(crate) fn end_fields<B: EncodeBuf>(
    w: &mut B,
    open: crate::write::Open,
    last: usize,
    count: usize,
    what: &'static str,
) -> Result<(), EncodeError> {
    w.truncate_to(last);
    if count == 0 {
        // Only the provisional header is left.
        w.truncate_to(open.0);
        w.put_u8(fc::LIST0);
        return Ok(());
    }
    end_compound(w, open, count, fc::LIST32, what)
}

/// Types that may appear in a `multiple="true"` field: they know their array constructor.
pub(crate) trait MultipleElem: Enc + Dec {
    /// The array element constructor for these items, and the element payload writer.
    fn array_code(items: &[Self]) -> u8;
    fn enc_payload<B: EncodeBuf>(&self, w: &mut B, code: u8) -> Result<(), EncodeError>;
}

impl MultipleElem for Symbol {
    fn array_code(items: &[Self]) -> u8 {
        if items.iter().all(|s| s.len() <= 255) {
            fc::SYM8
        } else {
            fc::SYM32
        }
    }

    fn enc_payload<B: EncodeBuf>(&self, w: &mut B, code: u8) -> Result<(), EncodeError> {
        let b = self.as_bytes();
        if code == fc::SYM8 {
            w.put_u8(u8::try_from(b.len()).map_err(|_| EncodeError::TooLarge("symbol"))?);
        } else {
            let n = u32::try_from(b.len()).map_err(|_| EncodeError::TooLarge("symbol"))?;
            w.put_slice(&n.to_be_bytes());
        }
        w.put_slice(b);
        Ok(())
    }
}

/// Null for none, the value for one, an array for several. Returns whether non-null.
pub(crate) fn enc_multiple<B: EncodeBuf, T: MultipleElem>(
    w: &mut B,
    items: &[T],
) -> Result<bool, EncodeError> {
    match items {
        [] => {
            crate::write::null(w);
            Ok(false)
        }
        [one] => one.enc(w).map(|()| true),
        _ => {
            let code = T::array_code(items);
            let open = begin_compound(w, fc::ARRAY8);
            w.put_u8(code);
            for v in items {
                v.enc_payload(w, code)?;
            }
            end_compound(w, open, items.len(), fc::ARRAY32, "array").map(|()| true)
        }
    }
}

/// A single value or an array of them (format code already read, not null).
pub(crate) fn dec_multiple<T: Dec>(code: u8, r: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    if code != fc::ARRAY8 && code != fc::ARRAY32 {
        return Ok(alloc::vec![T::decode_code(code, r)?]);
    }
    let (count, saved) = r.enter_compound(code)?;
    let elem = r.u8()?;
    // Every element of a typed `multiple` field takes at least one byte.
    if count as usize > r.remaining() {
        return Err(DecodeError::UnexpectedEnd);
    }
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        items.push(T::decode_code(elem, r)?);
    }
    r.leave_compound(saved)?;
    Ok(items)
}

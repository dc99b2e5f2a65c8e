//! The bounded reader every decoder runs on.
//!
//! A [`Reader`] walks one [`Bytes`] buffer. Entering a sized compound narrows `end` to the
//! compound's declared size, and leaving it requires that every byte was consumed, so a value
//! can never read past its container and trailing bytes inside a container are rejected.
//! Strings, symbols and binaries are sliced out of the buffer without copying.

use bytes::Bytes;

use crate::codes::format_code as fc;
use crate::error::DecodeError;
use crate::types::{Descriptor, Str, Symbol, Timestamp, Uuid};
use crate::MAX_DEPTH;

type Result<T> = core::result::Result<T, DecodeError>;

pub(crate) struct Reader<'a> {
    src: &'a Bytes,
    /// Invariant: `pos <= end <= src.len()`.
    pos: usize,
    end: usize,
    depth: usize,
    /// How many more zero-width array elements (null, uint0, …) may be decoded. It starts at
    /// the input length plus [`ZERO_WIDTH_SLACK`], so such arrays cannot make the decoder
    /// allocate more values than ordinary one-byte values of the same input would.
    budget: usize,
}

/// Zero-width array elements allowed beyond one per input byte (small arrays of nulls are
/// legitimate and take fewer bytes than elements).
const ZERO_WIDTH_SLACK: usize = 4096;

/// Where the enclosing bound was, to restore after a compound.
pub(crate) struct Saved(usize);

impl<'a> Reader<'a> {
    pub(crate) fn new(src: &'a Bytes) -> Self {
        Self {
            src,
            pos: 0,
            end: src.len(),
            depth: 0,
            budget: src.len().saturating_add(ZERO_WIDTH_SLACK),
        }
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Everything consumed, or the bytes left as an error.
    pub(crate) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// The rest of the current bound, without copying.
    pub(crate) fn rest(&mut self) -> Bytes {
        let b = self.src.slice(self.pos..self.end);
        self.pos = self.end;
        b
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8> {
        if self.pos < self.end {
            if let Some(&b) = self.src.get(self.pos) {
                self.pos += 1;
                return Ok(b);
            }
        }
        Err(DecodeError::UnexpectedEnd)
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n <= self.remaining() {
            let src: &'a Bytes = self.src;
            if let Some(s) = src.get(self.pos..self.pos + n) {
                self.pos += n;
                return Ok(s);
            }
        }
        Err(DecodeError::UnexpectedEnd)
    }

    #[inline]
    pub(crate) fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| DecodeError::UnexpectedEnd)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.fixed()?))
    }

    /// `n` bytes as a zero-copy slice of the input.
    #[inline]
    pub(crate) fn slice(&mut self, n: usize) -> Result<Bytes> {
        if n <= self.remaining() {
            let b = self.src.slice(self.pos..self.pos + n);
            self.pos += n;
            Ok(b)
        } else {
            Err(DecodeError::UnexpectedEnd)
        }
    }

    /// The payload of a variable-width value (vbin/str/sym) with the given format code.
    #[inline]
    pub(crate) fn variable(&mut self, code: u8) -> Result<Bytes> {
        let n = if code & 0xf0 == 0xa0 {
            usize::from(self.u8()?)
        } else {
            self.u32()? as usize
        };
        self.slice(n)
    }

    pub(crate) fn enter_depth(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DecodeError::DepthLimitExceeded);
        }
        Ok(())
    }

    pub(crate) fn leave_depth(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Reads size and count of a list8/list32/map8/map32/array8/array32 (the format code was
    /// already read), narrows the bound to the compound and returns the count.
    ///
    /// For lists and maps the count is checked against the size (every element takes at least
    /// one byte); arrays check their elements against their constructor instead.
    pub(crate) fn enter_compound(&mut self, code: u8) -> Result<(u32, Saved)> {
        let wide = code & 0x10 != 0;
        let size = if wide {
            self.u32()?
        } else {
            u32::from(self.u8()?)
        };
        let size_usize = size as usize;
        if size_usize > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let saved = Saved(self.end);
        self.end = self.pos + size_usize;
        let count = if wide {
            self.u32()?
        } else {
            u32::from(self.u8()?)
        };
        let is_array = code & 0xe0 == 0xe0;
        if !is_array && count as usize > self.remaining() {
            return Err(DecodeError::CountExceedsSize { count, size });
        }
        self.enter_depth()?;
        Ok((count, saved))
    }

    /// Leaves a compound: all of it must have been consumed.
    pub(crate) fn leave_compound(&mut self, saved: Saved) -> Result<()> {
        self.finish()?;
        self.end = saved.0;
        self.leave_depth();
        Ok(())
    }

    /// Charges `n` zero-width array elements against the input-size budget.
    pub(crate) fn charge(&mut self, n: u32) -> Result<()> {
        self.budget = self
            .budget
            .checked_sub(n as usize)
            .ok_or(DecodeError::ArrayTooLong)?;
        Ok(())
    }

    /// A descriptor (the 0x00 was already read): a ulong or a symbol.
    #[inline]
    pub(crate) fn descriptor(&mut self) -> Result<Descriptor> {
        let code = self.u8()?;
        match code {
            fc::SMALLULONG => Ok(Descriptor::Code(u64::from(self.u8()?))),
            fc::ULONG => Ok(Descriptor::Code(u64::from_be_bytes(self.fixed()?))),
            fc::ULONG0 => Ok(Descriptor::Code(0)),
            fc::SYM8 | fc::SYM32 => Ok(Descriptor::Symbol(symbol_from(self.variable(code)?)?)),
            other => Err(DecodeError::InvalidDescriptor(other)),
        }
    }
}

pub(crate) fn symbol_from(b: Bytes) -> Result<Symbol> {
    Symbol::from_bytes(b).map_err(|_| DecodeError::InvalidSymbol)
}

pub(crate) fn str_from(b: Bytes) -> Result<Str> {
    Str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8)
}

/// Decoding of one AMQP type from its constructor onwards.
pub(crate) trait Dec: Sized {
    /// Decodes the value whose format code `code` was just read (never `0x40` for types that
    /// have no null value: callers go through [`Reader::opt`]).
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self>;
}

fn unexpected<T>(expected: &'static str, found: u8) -> Result<T> {
    Err(DecodeError::UnexpectedFormatCode { expected, found })
}

impl Dec for bool {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::TRUE => Ok(true),
            fc::FALSE => Ok(false),
            fc::BOOLEAN => match r.u8()? {
                0 => Ok(false),
                1 => Ok(true),
                b => Err(DecodeError::InvalidBoolean(b)),
            },
            _ => unexpected("boolean", code),
        }
    }
}

impl Dec for u8 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::UBYTE => r.u8(),
            _ => unexpected("ubyte", code),
        }
    }
}

impl Dec for u16 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::USHORT => Ok(Self::from_be_bytes(r.fixed()?)),
            _ => unexpected("ushort", code),
        }
    }
}

impl Dec for u32 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::SMALLUINT => Ok(Self::from(r.u8()?)),
            fc::UINT => r.u32(),
            fc::UINT0 => Ok(0),
            _ => unexpected("uint", code),
        }
    }
}

impl Dec for u64 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::SMALLULONG => Ok(Self::from(r.u8()?)),
            fc::ULONG => Ok(Self::from_be_bytes(r.fixed()?)),
            fc::ULONG0 => Ok(0),
            _ => unexpected("ulong", code),
        }
    }
}

impl Dec for i32 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::SMALLINT => Ok(Self::from(r.u8()? as i8)),
            fc::INT => Ok(Self::from_be_bytes(r.fixed()?)),
            _ => unexpected("int", code),
        }
    }
}

impl Dec for i64 {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::SMALLLONG => Ok(Self::from(r.u8()? as i8)),
            fc::LONG => Ok(Self::from_be_bytes(r.fixed()?)),
            _ => unexpected("long", code),
        }
    }
}

impl Dec for Timestamp {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::TIMESTAMP => Ok(Self(i64::from_be_bytes(r.fixed()?))),
            _ => unexpected("timestamp", code),
        }
    }
}

impl Dec for Uuid {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::UUID => Ok(Self(r.fixed()?)),
            _ => unexpected("uuid", code),
        }
    }
}

impl Dec for Bytes {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::VBIN8 | fc::VBIN32 => r.variable(code),
            _ => unexpected("binary", code),
        }
    }
}

impl Dec for Str {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::STR8 | fc::STR32 => str_from(r.variable(code)?),
            _ => unexpected("string", code),
        }
    }
}

impl Dec for Symbol {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        match code {
            fc::SYM8 | fc::SYM32 => symbol_from(r.variable(code)?),
            _ => unexpected("symbol", code),
        }
    }
}

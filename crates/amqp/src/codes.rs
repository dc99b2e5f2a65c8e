//! Format codes (AMQP 1.0 part 1.6) and the descriptor codes of every described type this crate
//! knows, declared once in one table.

/// Format codes of the primitive encodings (AMQP 1.0 §1.6).
pub mod format_code {
    /// Marks a described type: a descriptor value and a constructor follow.
    pub const DESCRIBED: u8 = 0x00;
    /// `null`.
    pub const NULL: u8 = 0x40;
    /// `boolean` true, no payload.
    pub const TRUE: u8 = 0x41;
    /// `boolean` false, no payload.
    pub const FALSE: u8 = 0x42;
    /// `boolean` with one byte (0 or 1).
    pub const BOOLEAN: u8 = 0x56;
    /// `uint` zero, no payload.
    pub const UINT0: u8 = 0x43;
    /// `ulong` zero, no payload.
    pub const ULONG0: u8 = 0x44;
    /// `list` empty, no payload.
    pub const LIST0: u8 = 0x45;
    /// `ubyte`.
    pub const UBYTE: u8 = 0x50;
    /// `byte`.
    pub const BYTE: u8 = 0x51;
    /// `uint` in one byte.
    pub const SMALLUINT: u8 = 0x52;
    /// `ulong` in one byte.
    pub const SMALLULONG: u8 = 0x53;
    /// `int` in one signed byte.
    pub const SMALLINT: u8 = 0x54;
    /// `long` in one signed byte.
    pub const SMALLLONG: u8 = 0x55;
    /// `ushort`.
    pub const USHORT: u8 = 0x60;
    /// `short`.
    pub const SHORT: u8 = 0x61;
    /// `uint`.
    pub const UINT: u8 = 0x70;
    /// `int`.
    pub const INT: u8 = 0x71;
    /// `float` (IEEE 754 binary32).
    pub const FLOAT: u8 = 0x72;
    /// `char` (UTF-32BE).
    pub const CHAR: u8 = 0x73;
    /// `decimal32`.
    pub const DECIMAL32: u8 = 0x74;
    /// `ulong`.
    pub const ULONG: u8 = 0x80;
    /// `long`.
    pub const LONG: u8 = 0x81;
    /// `double` (IEEE 754 binary64).
    pub const DOUBLE: u8 = 0x82;
    /// `timestamp` (ms since the Unix epoch).
    pub const TIMESTAMP: u8 = 0x83;
    /// `decimal64`.
    pub const DECIMAL64: u8 = 0x84;
    /// `decimal128`.
    pub const DECIMAL128: u8 = 0x94;
    /// `uuid`.
    pub const UUID: u8 = 0x98;
    /// `binary` with a one-byte size.
    pub const VBIN8: u8 = 0xa0;
    /// `string` with a one-byte size.
    pub const STR8: u8 = 0xa1;
    /// `symbol` with a one-byte size.
    pub const SYM8: u8 = 0xa3;
    /// `binary` with a four-byte size.
    pub const VBIN32: u8 = 0xb0;
    /// `string` with a four-byte size.
    pub const STR32: u8 = 0xb1;
    /// `symbol` with a four-byte size.
    pub const SYM32: u8 = 0xb3;
    /// `list` with one-byte size and count.
    pub const LIST8: u8 = 0xc0;
    /// `map` with one-byte size and count.
    pub const MAP8: u8 = 0xc1;
    /// `list` with four-byte size and count.
    pub const LIST32: u8 = 0xd0;
    /// `map` with four-byte size and count.
    pub const MAP32: u8 = 0xd1;
    /// `array` with one-byte size and count.
    pub const ARRAY8: u8 = 0xe0;
    /// `array` with four-byte size and count.
    pub const ARRAY32: u8 = 0xf0;
}

macro_rules! descriptors {
    ($( $(#[$m:meta])* $name:ident = $code:literal, $sym:literal; )*) => {
        /// Numeric descriptor codes of the described types in AMQP 1.0 (domain 0x00000000).
        pub mod descriptor {
            $( $(#[$m])* pub const $name: u64 = $code; )*
        }

        /// The symbolic descriptor name for a numeric code, e.g. `0x10` → `amqp:open:list`.
        #[must_use]
        pub fn name_for_code(code: u64) -> Option<&'static str> {
            match code {
                $( $code => Some($sym), )*
                _ => None,
            }
        }

        /// The numeric code for a symbolic descriptor name.
        pub(crate) fn code_for_name(name: &[u8]) -> Option<u64> {
            match name {
                $( n if n == $sym.as_bytes() => Some($code), )*
                _ => None,
            }
        }
    };
}

descriptors! {
    /// `open` performative.
    OPEN = 0x10, "amqp:open:list";
    /// `begin` performative.
    BEGIN = 0x11, "amqp:begin:list";
    /// `attach` performative.
    ATTACH = 0x12, "amqp:attach:list";
    /// `flow` performative.
    FLOW = 0x13, "amqp:flow:list";
    /// `transfer` performative.
    TRANSFER = 0x14, "amqp:transfer:list";
    /// `disposition` performative.
    DISPOSITION = 0x15, "amqp:disposition:list";
    /// `detach` performative.
    DETACH = 0x16, "amqp:detach:list";
    /// `end` performative.
    END = 0x17, "amqp:end:list";
    /// `close` performative.
    CLOSE = 0x18, "amqp:close:list";
    /// `error`.
    ERROR = 0x1d, "amqp:error:list";
    /// `received` delivery state.
    RECEIVED = 0x23, "amqp:received:list";
    /// `accepted` outcome.
    ACCEPTED = 0x24, "amqp:accepted:list";
    /// `rejected` outcome.
    REJECTED = 0x25, "amqp:rejected:list";
    /// `released` outcome.
    RELEASED = 0x26, "amqp:released:list";
    /// `modified` outcome.
    MODIFIED = 0x27, "amqp:modified:list";
    /// `source` terminus.
    SOURCE = 0x28, "amqp:source:list";
    /// `target` terminus.
    TARGET = 0x29, "amqp:target:list";
    /// `delete-on-close` lifetime policy.
    DELETE_ON_CLOSE = 0x2b, "amqp:delete-on-close:list";
    /// `delete-on-no-links` lifetime policy.
    DELETE_ON_NO_LINKS = 0x2c, "amqp:delete-on-no-links:list";
    /// `delete-on-no-messages` lifetime policy.
    DELETE_ON_NO_MESSAGES = 0x2d, "amqp:delete-on-no-messages:list";
    /// `delete-on-no-links-or-messages` lifetime policy.
    DELETE_ON_NO_LINKS_OR_MESSAGES = 0x2e, "amqp:delete-on-no-links-or-messages:list";
    /// `sasl-mechanisms`.
    SASL_MECHANISMS = 0x40, "amqp:sasl-mechanisms:list";
    /// `sasl-init`.
    SASL_INIT = 0x41, "amqp:sasl-init:list";
    /// `sasl-challenge`.
    SASL_CHALLENGE = 0x42, "amqp:sasl-challenge:list";
    /// `sasl-response`.
    SASL_RESPONSE = 0x43, "amqp:sasl-response:list";
    /// `sasl-outcome`.
    SASL_OUTCOME = 0x44, "amqp:sasl-outcome:list";
    /// Message section `header`.
    HEADER = 0x70, "amqp:header:list";
    /// Message section `delivery-annotations`.
    DELIVERY_ANNOTATIONS = 0x71, "amqp:delivery-annotations:map";
    /// Message section `message-annotations`.
    MESSAGE_ANNOTATIONS = 0x72, "amqp:message-annotations:map";
    /// Message section `properties`.
    PROPERTIES = 0x73, "amqp:properties:list";
    /// Message section `application-properties`.
    APPLICATION_PROPERTIES = 0x74, "amqp:application-properties:map";
    /// Message section `data`.
    DATA = 0x75, "amqp:data:binary";
    /// Message section `amqp-sequence`.
    AMQP_SEQUENCE = 0x76, "amqp:amqp-sequence:list";
    /// Message section `amqp-value`.
    AMQP_VALUE = 0x77, "amqp:amqp-value:*";
    /// Message section `footer`.
    FOOTER = 0x78, "amqp:footer:map";
}

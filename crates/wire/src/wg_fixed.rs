//! The parts shared by the three fixed-size WireGuard messages: exact-length and type-word checks, conversions
//! between the read-only and writable views, and creating a fresh message in a buffer.

/// Declares a read-only view `$view` and a writable view `$view_mut` over a `$len`-byte message of kind `$kind`.
macro_rules! fixed_message {
    ($view:ident, $view_mut:ident, $len:expr, $kind:expr, $what:literal) => {
        #[doc = concat!("A checked view of a ", $what, ": exactly ", stringify!($len), " bytes, type word checked.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $view<'a> {
            bytes: &'a [u8; $len],
        }

        impl<'a> $view<'a> {
            /// Checks `bytes` has exactly this message's size and starts with its type byte followed by three zero
            /// reserved bytes.
            pub fn new(bytes: &'a [u8]) -> Result<Self, $crate::WireError> {
                let actual = bytes.len();
                let bytes = <&[u8; $len]>::try_from(bytes)
                    .map_err(|_| $crate::WireError::BadLength { expected: $len, actual })?;
                Self::from_array(bytes)
            }

            /// Checks the type word of a buffer that already has the right size.
            pub fn from_array(bytes: &'a [u8; $len]) -> Result<Self, $crate::WireError> {
                $crate::wg_message::expect_type(bytes, $kind)?;
                Ok(Self { bytes })
            }

            /// The whole message.
            pub fn as_bytes(&self) -> &'a [u8; $len] {
                self.bytes
            }
        }

        #[doc = concat!("A checked, writable view of a ", $what, ".")]
        #[derive(Debug)]
        pub struct $view_mut<'a> {
            bytes: &'a mut [u8; $len],
        }

        impl<'a> $view_mut<'a> {
            /// Same checks as the read-only view's `new`: for editing a received message in place.
            pub fn new(bytes: &'a mut [u8]) -> Result<Self, $crate::WireError> {
                let actual = bytes.len();
                let bytes = <&mut [u8; $len]>::try_from(bytes)
                    .map_err(|_| $crate::WireError::BadLength { expected: $len, actual })?;
                $crate::wg_message::expect_type(bytes, $kind)?;
                Ok(Self { bytes })
            }

            /// Starts a new message in `bytes`, which must have exactly this message's size: writes the type word
            /// (type byte and zero reserved bytes) and leaves every other byte for the setters.
            pub fn create(bytes: &'a mut [u8]) -> Result<Self, $crate::WireError> {
                let actual = bytes.len();
                let bytes = <&mut [u8; $len]>::try_from(bytes)
                    .map_err(|_| $crate::WireError::BadLength { expected: $len, actual })?;
                Ok(Self::create_in(bytes))
            }

            /// Starts a new message in an array of the right size; see [`Self::create`].
            pub fn create_in(bytes: &'a mut [u8; $len]) -> Self {
                $crate::field::set_array::<0, 4, { $len }>(bytes, &[$kind.to_u8(), 0, 0, 0]);
                Self { bytes }
            }

            /// A read-only view of the same message.
            pub fn as_view(&self) -> $view<'_> {
                $view { bytes: self.bytes }
            }

            /// Gives the buffer back, e.g. to hand the whole message to the protocol core.
            pub fn into_bytes(self) -> &'a mut [u8; $len] {
                self.bytes
            }
        }
    };
}

pub(crate) use fixed_message;

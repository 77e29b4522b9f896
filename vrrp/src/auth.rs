//! VRRPv2 authentication (RFC 2338 5.3.6 and 5.3.10; RFC 3768 keeps the field, keepalived
//! keeps the simple text password).
//!
//! Only "no authentication" (0) and "simple text password" (1) travel in a protocol-112
//! packet. keepalived's AH mode (2) rides in IPsec AH (protocol 51) and is not supported here.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The 8 bytes of a simple text password, NUL-padded on the right, as on the wire.
///
/// Serialised as a string when the bytes are printable ASCII followed by NUL padding (what
/// keepalived's `auth_pass` produces), otherwise as an array of 8 numbers, so any wire value
/// survives a JSON round trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Password([u8; 8]);

/// A password longer than the 8 bytes the packet has room for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password is {len} bytes long, at most 8 fit in a VRRPv2 advert")]
pub struct PasswordTooLong {
    /// Length of the rejected password, in bytes.
    pub len: usize,
}

impl Password {
    /// Wraps the 8 wire bytes as they are.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// A text password of at most 8 bytes, NUL-padded.
    ///
    /// keepalived truncates a longer `auth_pass` to 8 characters; a driver that reads
    /// keepalived.conf should do the same before calling this.
    pub fn from_text(text: &str) -> Result<Self, PasswordTooLong> {
        let bytes = text.as_bytes();
        if bytes.len() > 8 {
            return Err(PasswordTooLong { len: bytes.len() });
        }
        let mut out = [0u8; 8];
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(Self(out))
    }

    /// The 8 wire bytes.
    pub const fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// The text form, if the bytes are printable ASCII followed by NUL padding only.
    fn as_text(&self) -> Option<&str> {
        let end = self.0.iter().position(|b| *b == 0).unwrap_or(8);
        let (text, padding) = self.0.split_at(end);
        let printable = text.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
        let padded = padding.iter().all(|b| *b == 0);
        if printable && padded {
            std::str::from_utf8(text).ok()
        } else {
            None
        }
    }
}

impl fmt::Debug for Password {
    // Never print the secret itself: adverts and configs end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// RFC 2338 5.3.6: the Auth Type field and, for type 1, the password it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// Type 0: no authentication; the 8 authentication bytes are sent as zero and ignored.
    None,
    /// Type 1: simple text password, compared byte for byte by the receiver.
    Simple(Password),
}

impl Auth {
    /// The Auth Type byte on the wire.
    pub const fn wire_type(&self) -> u8 {
        match self {
            Self::None => 0,
            Self::Simple(_) => 1,
        }
    }

    /// The 8 Authentication Data bytes on the wire.
    pub const fn wire_data(&self) -> [u8; 8] {
        match self {
            Self::None => [0; 8],
            Self::Simple(password) => password.0,
        }
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_text() {
            Some(text) => serializer.serialize_str(text),
            None => self.0.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PasswordVisitor)
    }
}

struct PasswordVisitor;

impl<'de> Visitor<'de> for PasswordVisitor {
    type Value = Password;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a password of at most 8 bytes, or an array of 8 byte values")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Password, E> {
        Password::from_text(text).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Password, A::Error> {
        let mut out = [0u8; 8];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<u8>()?.is_some() {
            return Err(de::Error::invalid_length(9, &self));
        }
        Ok(Password(out))
    }
}

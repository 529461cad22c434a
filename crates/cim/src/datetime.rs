//! CIM datetime (DSP0004 5.2.4). (Being written.)

use std::fmt;

/// A CIM timestamp or interval, kept exactly as its 25 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CimDateTime {
    text: [u8; 25],
}

impl fmt::Display for CimDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.text).unwrap_or("?"))
    }
}

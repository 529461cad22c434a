//! The data side of `Win32_NetworkConnection`: this computer's connections
//! to remote file systems.
//!
//! - [`mountinfo::parse`] and [`fstab::parse`] turn `/proc/self/mountinfo`
//!   and `/etc/fstab` text into entries (pure, no I/O);
//! - [`netfs`] decides which file system types are network ones and turns
//!   their sources into UNC names;
//! - [`map::network_connections`] builds the instances;
//! - [`source`] is the only module that reads files.

mod error;
mod escape;
pub mod fstab;
pub mod map;
pub mod mountinfo;
pub mod netfs;
pub mod source;

pub use error::Error;
pub use fstab::FstabEntry;
pub use map::network_connections;
pub use mountinfo::MountEntry;
pub use source::{Loaded, Paths};

/// Largest input a parser accepts, in bytes. A mount table with thousands of
/// container mounts stays far below this.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Largest number of lines a parser accepts.
pub const MAX_LINES: usize = 200_000;

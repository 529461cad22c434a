//! `openwmi-mof`: a strict, fast DSP0004 MOF compiler into an
//! [`openwmi_cim::Repository`], and a printer of canonical MOF.
//!
//! ```
//! use openwmi_cim::Repository;
//! use openwmi_mof::{Compiler, Options};
//!
//! let mut repo = Repository::new();
//! let mof = r#"
//!     Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
//!     class Ex_Thing { [Key] string Name; uint8 Size = 3; };
//!     instance of Ex_Thing { Name = "a"; };
//! "#;
//! let summary = Compiler::new(Options::default())
//!     .compile_str(&mut repo, "example.mof", mof)
//!     .unwrap();
//! assert_eq!((summary.classes, summary.qualifiers, summary.instances), (1, 1, 1));
//! let class = repo.namespace("root/cimv2").unwrap().class("ex_thing").unwrap();
//! assert!(openwmi_mof::class_to_mof(&class, false).contains("uint8 Size = 3;"));
//! ```

mod compiler;
mod error;
mod lexer;
mod loader;
mod print;

pub use compiler::{Compiler, Options, Summary};
pub use error::{Error, ErrorKind};
pub use loader::{FsLoader, MemoryLoader, SourceLoader};
pub use print::{class_to_mof, instance_to_mof, qualifier_decl_to_mof};

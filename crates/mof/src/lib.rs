//! `openwmi-mof`: a strict, fast DSP0004 MOF compiler into an
//! [`openwmi_cim::Repository`], and a printer of canonical MOF.
//!
//! - Grammar: DSP0004 2.x MOF as the DMTF CIM Schema uses it: pragmas
//!   (`include`, `namespace`, `locale`; others are checked for form and
//!   ignored), qualifier declarations, classes (associations and indications
//!   by qualifier), properties, references, methods, `instance of` with
//!   aliases. Keywords are case-insensitive.
//! - Checks: qualifiers must be declared, fit their type and scope; values
//!   must fit the declared type (integer ranges included); superclasses,
//!   reference classes, `instance of` classes and properties, aliases and
//!   `Override` targets must exist; classes must not be redefined.
//! - Errors: a syntax error stops the compile; semantic errors are collected
//!   (up to [`Options::max_errors`]). A failed compile leaves the repository
//!   unchanged. Limits on file size, total input, include depth; include
//!   cycles are reported with the chain.
//! - I/O only through a [`SourceLoader`] ([`FsLoader`] for files, [`MemoryLoader`]).
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

pub use compiler::{Compiler, Options, Summary, STANDARD_QUALIFIERS};
pub use error::{Error, ErrorKind};
pub use loader::{FsLoader, MemoryLoader, SourceLoader};
pub use print::{class_to_mof, instance_to_mof, qualifier_decl_to_mof};

/// MOF text compiled into a new repository, `namespace` being the default
/// namespace (tests, benchmarks, small tools).
pub fn repository_from_str(
    namespace: &str,
    name: &str,
    text: &str,
) -> Result<openwmi_cim::Repository, Vec<Error>> {
    let mut repo = openwmi_cim::Repository::new();
    Compiler::new(Options {
        default_namespace: namespace.into(),
        ..Options::default()
    })
    .compile_str(&mut repo, name, text)?;
    Ok(repo)
}

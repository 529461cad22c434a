//! WQL, the WMI Query Language: tokenizer, parser, canonical printer and
//! evaluation of conditions against CIM instances. Pure: no I/O.
//!
//! ```
//! let q = openwmi_wql::parse("select Name from Win32_Share where Type = 0").unwrap();
//! assert_eq!(q.to_string(), "SELECT Name FROM Win32_Share WHERE Type = 0");
//! ```
//!
//! Data queries (`SELECT ... FROM ... [WHERE ...]`), schema queries
//! (`SELECT * FROM meta_class WHERE __this ISA "C"`) and association queries
//! (`ASSOCIATORS OF {path} ...`, `REFERENCES OF {path} ...`) are supported.
//! Event queries are SELECTs with `WITHIN n` (the polling interval),
//! conditions on members of embedded objects (`TargetInstance.Name`) and
//! `GROUP WITHIN n [BY ...] [HAVING ...]`; the object manager gives them
//! their meaning. See [`eval`] for the comparison and NULL rules.

mod ast;
pub mod date;
mod error;
pub mod eval;
mod lexer;
mod like;
mod parser;

pub use ast::{
    AssociatorsOf, CompareOp, Expr, ExprKind, GroupWithin, Ident, Interval, Literal, Projection,
    Query, ReferencesOf, Select, Span,
};
pub use date::parse_date;
pub use error::{Error, ErrorKind};
pub use eval::{
    check_constants, evaluate, key_equalities, referenced_properties, ClassHierarchy, Filter,
    NoHierarchy,
};
pub use like::{LikePattern, PatternError};
pub use parser::{check_language, is_reserved_word, parse, MAX_DEPTH, MAX_QUERY_LEN};

//! CIM-XML (DMTF DSP0200 / DSP0201 2.4) for openwmi: a pure codec, no I/O,
//! used by the server and the client alike.
//!
//! Server side: [`decode_request`] turns a request body into a [`Request`]
//! holding a typed [`Operation`] (DSP0200 defaults applied), [`check_headers`]
//! compares the `CIMMethod`/`CIMObject` headers with it, and
//! [`ResponseWriter`] writes the response in chunks; [`error_response`]
//! writes a CIM error. Client side: [`encode_request`] writes what pywbem
//! would send, [`decode_response`] reads instances, paths, classes,
//! qualifier declarations, pull-operation parameters or the CIM error.
//! Both sides: [`context`], openwmi's header for context values
//! (IWbemContext). Header values are percent-encoded with
//! `openwmi_cim::percent`.
//!
//! Decoding is bounded by [`Limits`] and never processes a DTD: a
//! `<!DOCTYPE` (and so any `<!ENTITY`, billion-laughs bombs included) is
//! refused as not well-formed; only the five predefined entities and
//! character references are resolved.

pub mod context;
mod error;
mod export;
mod method;
mod operation;
mod read;
mod request;
mod response;
mod tree;
mod writer;

pub use error::{CimRequestError, DecodeError, Limits};
pub use export::{
    decode_embedded_instance, decode_export_indication, export_response, ExportIndication,
};
pub use method::{method_response, method_response_embedding};
// The operation model is protocol-neutral; CIM-XML's callers find it here.
pub use openwmi_operation::{params::*, NewInstance, Operation};
pub use request::{check_decoded_headers, check_headers, decode_request, encode_request, Request};
pub use response::{decode_response, Reply, Response, ReturnItem};
pub use writer::{
    empty_response, error_response, escape_attr, escape_text, write_class, write_instance,
    write_instancename, write_qualifier_decl, write_value, ClassOptions, EncodedInstance,
    ResponseWriter,
};

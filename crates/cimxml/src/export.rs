//! Export requests (DSP0200 clause 6), listener side: the indication of an
//! `ExportIndication` call, and an embedded instance (a string property
//! holding INSTANCE XML, as TargetInstance travels).

use crate::error::{DecodeError, Limits};
use crate::operation::not_valid;
use crate::read;
use crate::request::read_envelope;
use crate::tree;
use openwmi_cim::Instance;

/// An ExportIndication request: its message ID and the indication.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportIndication {
    pub message_id: String,
    pub indication: Instance,
}

/// Decodes an `ExportIndication` request body.
pub fn decode_export_indication(
    body: &[u8],
    limits: &Limits,
) -> Result<ExportIndication, DecodeError> {
    let doc = tree::parse(body, limits)?;
    let (message_id, _, msg) = read_envelope(doc.root())?;
    let req = match msg.exactly() {
        Some([r]) if r.name == "SIMPLEEXPREQ" => r,
        _ => {
            return Err(DecodeError::not_valid(
                msg.offset,
                "<MESSAGE> must hold one <SIMPLEEXPREQ>",
            ))
        }
    };
    let call = match req.exactly() {
        Some([c]) if c.name == "EXPMETHODCALL" => c,
        _ => {
            return Err(DecodeError::not_valid(
                req.offset,
                "<SIMPLEEXPREQ> must hold one <EXPMETHODCALL>",
            ))
        }
    };
    let name = read::req_attr(call, "NAME").map_err(not_valid)?;
    if name != "ExportIndication" {
        return Err(DecodeError::not_valid(
            call.offset,
            format!("export method {name} is not ExportIndication"),
        ));
    }
    for p in call.children() {
        let pname = read::req_attr(p, "NAME").map_err(not_valid)?;
        if p.name == "EXPPARAMVALUE" && pname.eq_ignore_ascii_case("NewIndication") {
            let Some(inst) = p.children().find(|c| c.name == "INSTANCE") else {
                return Err(DecodeError::not_valid(
                    p.offset,
                    "NewIndication holds no <INSTANCE>",
                ));
            };
            let indication = read::read_instance(inst).map_err(not_valid)?;
            return Ok(ExportIndication {
                message_id,
                indication,
            });
        }
    }
    Err(DecodeError::not_valid(
        call.offset,
        "ExportIndication without NewIndication",
    ))
}

/// An embedded instance: the INSTANCE XML a string property holds.
pub fn decode_embedded_instance(xml: &str, limits: &Limits) -> Result<Instance, DecodeError> {
    let doc = tree::parse(xml.as_bytes(), limits)?;
    let root = doc.root();
    if root.name != "INSTANCE" {
        return Err(DecodeError::not_valid(
            root.offset,
            format!("<{}> is not an embedded <INSTANCE>", root.name),
        ));
    }
    read::read_instance(root).map_err(not_valid)
}

/// The answer a listener gives to an export request it took.
pub fn export_response(message_id: &str) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"",
    );
    crate::writer::escape_attr(&mut out, message_id);
    out.push_str(
        "\" PROTOCOLVERSION=\"1.0\"><SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/>\
         </SIMPLEEXPRSP></MESSAGE></CIM>",
    );
    out
}

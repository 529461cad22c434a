//! Class definitions for the CIM-XML schema URI
//! (`http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*`, selector
//! `ClassName`), which Windows' WMI plugin and OMI answer with the class in
//! DSP0201's CLASS element: written by the CIM-XML codec, the one writer of
//! that form.

use openwmi_cim::Class;

/// Writes `class` as a CIM-XML CLASS element, inherited members and
/// qualifiers included.
pub fn write(out: &mut String, class: &Class) {
    let opts = openwmi_cimxml::ClassOptions {
        local_only: false,
        include_qualifiers: true,
        include_class_origin: false,
        property_list: None,
    };
    openwmi_cimxml::write_class(out, class, &opts);
}

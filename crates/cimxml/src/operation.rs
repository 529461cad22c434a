//! The operations' parameters in CIM-XML: IPARAMVALUE elements read as a
//! [`ParamSource`] and written as a [`ParamSink`]. Which parameters an
//! operation takes is `openwmi_operation`'s business; this module only knows
//! how each kind of value looks in DSP0201.

use crate::error::DecodeError;
use crate::read::{self, Invalid};
use crate::tree::Element;
use crate::writer::{self, escape_attr, escape_text};
use openwmi_cim::{CimError, CimType, Keys, Name, ObjectPath, Value};
use openwmi_operation::{NewInstance, ParamSink, ParamSource};

pub(crate) fn not_valid(i: Invalid) -> DecodeError {
    DecodeError::not_valid(i.offset, i.message)
}

fn invalid_param(msg: impl Into<String>) -> CimError {
    CimError::invalid_parameter(msg)
}

/// One named parameter of a call: its name, its value element (`None`:
/// NULL), the parameter element itself, and whether it has been taken.
pub(crate) type Param<'a> = (&'a str, Option<Element<'a>>, Element<'a>, bool);

/// The named parameters of a call (IPARAMVALUE or PARAMVALUE), each taken
/// at most once.
pub(crate) struct Params<'a> {
    pub(crate) items: Vec<Param<'a>>,
}

impl<'a> Params<'a> {
    pub(crate) fn collect(
        children: impl Iterator<Item = Element<'a>>,
        elem: &str,
    ) -> Result<Params<'a>, DecodeError> {
        let mut items: Vec<Param<'a>> = Vec::new();
        for c in children {
            if c.name != elem {
                return Err(DecodeError::not_valid(
                    c.offset,
                    format!("<{}> where <{elem}> was expected", c.name),
                ));
            }
            let name = read::req_attr(c, "NAME").map_err(not_valid)?;
            let mut values = c.children();
            let value = match (values.next(), values.next()) {
                (None, _) => None,
                (Some(v), None) => Some(v),
                (Some(_), Some(_)) => {
                    return Err(DecodeError::not_valid(
                        c.offset,
                        format!("<{elem} NAME=\"{name}\"> holds more than one element"),
                    ))
                }
            };
            items.push((name, value, c, false));
        }
        Ok(Params { items })
    }

    /// `None`: absent; `Some(None)`: present and NULL.
    fn take(&mut self, name: &str) -> Result<Option<Option<Element<'a>>>, CimError> {
        let mut found = None;
        for it in &mut self.items {
            if it.0.eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return Err(invalid_param(format!("parameter {name} given twice")));
                }
                it.3 = true;
                found = Some(it.1);
            }
        }
        Ok(found)
    }

    fn value_el(&mut self, name: &str) -> Result<Option<Element<'a>>, CimError> {
        Ok(self.take(name)?.flatten())
    }

    /// The value of `name` when it is one of `elements` (`expected` names
    /// them in the error otherwise), read by `read`.
    fn element<T>(
        &mut self,
        name: &str,
        elements: &[&str],
        expected: &str,
        read: impl FnOnce(Element<'a>) -> Result<T, Invalid>,
    ) -> Result<Option<T>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if elements.contains(&el.name) => read(el)
                .map(Some)
                .map_err(|i| invalid_param(format!("{name}: {}", i.message))),
            Some(el) => Err(invalid_param(format!(
                "{name} must be {expected}, is a <{}>",
                el.name
            ))),
        }
    }

    fn text(&mut self, name: &str) -> Result<Option<&'a str>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if el.name == "VALUE" && el.children().len() == 0 => Ok(Some(el.text_str())),
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <VALUE>, is a <{}>",
                el.name
            ))),
        }
    }
}

impl ParamSource for Params<'_> {
    fn class_name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        self.element(name, &["CLASSNAME"], "a <CLASSNAME>", read::read_classname)
    }

    fn name(&mut self, name: &str) -> Result<Option<Name>, CimError> {
        Ok(self.text(name)?.map(|s| Name::new(s.trim())))
    }

    fn string(&mut self, name: &str) -> Result<Option<String>, CimError> {
        Ok(self.text(name)?.map(str::to_owned))
    }

    fn boolean(&mut self, name: &str) -> Result<Option<bool>, CimError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => match read::parse_value(t, CimType::Boolean) {
                Ok(Value::Boolean(b)) => Ok(Some(b)),
                _ => Err(invalid_param(format!("{name}: {t:?} is not TRUE or FALSE"))),
            },
        }
    }

    fn uint32(&mut self, name: &str) -> Result<Option<u32>, CimError> {
        match self.text(name)? {
            None => Ok(None),
            Some(t) => match read::parse_value(t, CimType::UInt32) {
                Ok(Value::UInt32(v)) => Ok(Some(v)),
                _ => Err(invalid_param(format!("{name}: {t:?} is not a uint32"))),
            },
        }
    }

    fn property_list(&mut self, name: &str) -> Result<Option<Vec<Name>>, CimError> {
        match self.value_el(name)? {
            None => Ok(None),
            Some(el) if el.name == "VALUE.ARRAY" => {
                let mut names = Vec::with_capacity(el.children().len());
                for v in el.children() {
                    match v.name {
                        "VALUE" if v.children().len() == 0 => names.push(Name::new(v.text.trim())),
                        "VALUE.NULL" => {}
                        other => {
                            return Err(invalid_param(format!("<{other}> inside {name}")));
                        }
                    }
                }
                Ok(Some(names))
            }
            Some(el) => Err(invalid_param(format!(
                "{name} must be a <VALUE.ARRAY>, is a <{}>",
                el.name
            ))),
        }
    }

    fn instance_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError> {
        let expected = "an <INSTANCENAME>";
        self.element(name, &["INSTANCENAME"], expected, read::read_instancename)
    }

    fn object_name(&mut self, name: &str) -> Result<Option<ObjectPath>, CimError> {
        let (elements, expected) = (
            ["INSTANCENAME", "CLASSNAME"],
            "a <CLASSNAME> or <INSTANCENAME>",
        );
        self.element(name, &elements, expected, read::read_path_any)
    }

    fn instance(&mut self, name: &str) -> Result<Option<NewInstance>, CimError> {
        self.element(name, &["INSTANCE"], "an <INSTANCE>", |el| {
            read::read_instance(el).map(NewInstance)
        })
    }

    fn finish(&mut self) -> Result<(), CimError> {
        match self.items.iter().find(|i| !i.3) {
            Some(i) => Err(invalid_param(format!("unknown parameter {}", i.0))),
            None => Ok(()),
        }
    }
}

/// IPARAMVALUE elements appended to a request body, written as pywbem
/// writes them.
pub(crate) struct IParamWriter<'a>(pub(crate) &'a mut String);

impl IParamWriter<'_> {
    fn start(&mut self, name: &str) {
        self.0.push_str("<IPARAMVALUE NAME=\"");
        escape_attr(self.0, name);
        self.0.push_str("\">");
    }

    fn end(&mut self) {
        self.0.push_str("</IPARAMVALUE>");
    }

    fn path(&mut self, name: &str, path: &ObjectPath) {
        self.start(name);
        if matches!(path.keys, Keys::Class) {
            writer::write_classname(self.0, path.class.as_str());
        } else {
            writer::write_instancename(self.0, path);
        }
        self.end();
    }
}

impl ParamSink for IParamWriter<'_> {
    fn class_name(&mut self, name: &str, value: &Name) {
        self.start(name);
        writer::write_classname(self.0, value.as_str());
        self.end();
    }

    fn name(&mut self, name: &str, value: &Name) {
        self.string(name, value.as_str());
    }

    fn string(&mut self, name: &str, value: &str) {
        self.start(name);
        self.0.push_str("<VALUE>");
        escape_text(self.0, value);
        self.0.push_str("</VALUE>");
        self.end();
    }

    fn boolean(&mut self, name: &str, value: &bool) {
        self.string(name, if *value { "TRUE" } else { "FALSE" });
    }

    fn uint32(&mut self, name: &str, value: &u32) {
        self.string(name, &value.to_string());
    }

    fn property_list(&mut self, name: &str, value: &[Name]) {
        self.start(name);
        self.0.push_str("<VALUE.ARRAY>");
        for n in value {
            self.0.push_str("<VALUE>");
            escape_text(self.0, n.as_str());
            self.0.push_str("</VALUE>");
        }
        self.0.push_str("</VALUE.ARRAY>");
        self.end();
    }

    fn instance_name(&mut self, name: &str, value: &ObjectPath) {
        self.path(name, value);
    }

    fn object_name(&mut self, name: &str, value: &ObjectPath) {
        self.path(name, value);
    }

    fn instance(&mut self, name: &str, value: &NewInstance) {
        self.start(name);
        writer::write_instance(self.0, &value.0);
        self.end();
    }
}

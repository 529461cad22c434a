//! Resource URIs: which namespace and class a request is about, and the URI
//! each answered instance is named with.
//!
//! Accepted (MS-WSMV 3.1.4.1.1, DSP0227 6.1):
//! - the WMI form `http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Share`,
//!   the namespace in the path (a `__cimnamespace` selector naming another
//!   one is refused, as Windows does);
//! - the class forms `<scheme>://<authority>/wbem/wscim/1/cim-schema/2/<Class>`:
//!   DMTF's (`schemas.dmtf.org`), the one Windows' CIM cmdlets send
//!   (`schemas.microsoft.com`) and any vendor's (wsl writes
//!   `schemas.dell.com`), the namespace in the `__cimnamespace` selector;
//! - all classes: `.../wmi/<namespace>/*` and `http://schemas.dmtf.org/wbem/wscim/1/*`
//!   (with `__cimnamespace`), for filtered enumerations;
//! - class definitions: `http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*`
//!   with `__cimnamespace` and `ClassName`.
//!
//! Without `__cimnamespace` a DSP0227 URI (every form but the WMI one)
//! means `root/hardware`, as on Windows (MS-WSMV 3.1.4.1.1: servers "MUST
//! use root\hardware as the default"). openwmi has no such namespace
//! unless one is loaded (`--mof root/hardware=...`), so such a request
//! gets what Windows answers for a class its root\hardware lacks:
//! `wsa:DestinationUnreachable` with `InvalidResourceURI`
//! ([`missing_default_namespace`]). A reference inside a request (an
//! endpoint reference as a selector or as an association filter's object)
//! without the selector means the request's own namespace instead.

use crate::envelope::{Selector, SelectorValue};
use crate::fault::{Fault, FaultKind};

pub const WMI_PREFIX: &str = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";
pub const DMTF_CLASS_PREFIX: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
pub const MICROSOFT_CLASS_PREFIX: &str = "http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/";
pub const DMTF_ALL_CLASSES: &str = "http://schemas.dmtf.org/wbem/wscim/1/*";
pub const CIM_XML_CLASSES: &str = "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";
const CLASS_PATH: &str = "/wbem/wscim/1/cim-schema/2/";

/// The namespace a DSP0227 resource URI without `__cimnamespace` means.
pub const DEFAULT_NAMESPACE: &str = "root/hardware";

/// The selector naming the CIM namespace.
pub const NAMESPACE_SELECTOR: &str = "__cimnamespace";

/// How answered instances' resource URIs are written: as the request named
/// its resource, so that a client gets back the form it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriForm {
    /// `.../wsman/1/wmi/<namespace>/<Class>`.
    Wmi = 0,
    /// `http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/<Class>`.
    Dmtf = 1,
    /// `http://schemas.microsoft.com/wbem/wscim/1/cim-schema/2/<Class>`.
    Microsoft = 2,
}

impl UriForm {
    pub fn from_bits(bits: u16) -> UriForm {
        match bits & 3 {
            0 => UriForm::Wmi,
            2 => UriForm::Microsoft,
            _ => UriForm::Dmtf,
        }
    }

    /// The resource URI of `class` in `namespace`.
    pub fn class_uri(self, namespace: &str, class: &str) -> String {
        match self {
            UriForm::Wmi => {
                let ns = namespace.replace('\\', "/");
                format!("{WMI_PREFIX}{}/{class}", ns.trim_matches('/'))
            }
            UriForm::Dmtf => format!("{DMTF_CLASS_PREFIX}{class}"),
            UriForm::Microsoft => format!("{MICROSOFT_CLASS_PREFIX}{class}"),
        }
    }

    /// Whether the URI names the namespace (else a `__cimnamespace`
    /// selector does).
    pub fn has_namespace(self) -> bool {
        self == UriForm::Wmi
    }
}

/// What a resource URI and its selectors name.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub namespace: String,
    /// `None` for the all-classes forms (`*`).
    pub class: Option<String>,
    pub form: UriForm,
    /// The CIM-XML class-definition URI.
    pub class_definitions: bool,
    /// The selectors but `__cimnamespace`: the keys.
    pub keys: Vec<Selector>,
}

fn unreachable(uri: &str, why: &str) -> Fault {
    Fault::new(
        FaultKind::DestinationUnreachable,
        format!("the resource URI {uri:?} {why}"),
    )
    .with_detail("InvalidResourceURI")
}

/// A CIM class name: letters, digits and underscores, not starting with a
/// digit.
pub(crate) fn is_class_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn same_namespace(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace('\\', "/").trim_matches('/').to_ascii_lowercase();
    norm(a) == norm(b)
}

/// What Windows answers for a class its `root\hardware` lacks, in place of
/// the object manager's "no such namespace" when the namespace is
/// [`DEFAULT_NAMESPACE`] and openwmi has none.
pub fn missing_default_namespace(f: Fault, namespace: &str) -> Fault {
    let absent = f
        .cim
        .as_deref()
        .is_some_and(|e| e.status == openwmi_cim::CimStatus::InvalidNamespace);
    if !absent || !same_namespace(namespace, DEFAULT_NAMESPACE) {
        return f;
    }
    Fault::from_cim(openwmi_cim::CimError::invalid_class(format!(
        "no such class in root\\hardware, the namespace a resource URI of the \
         DMTF form means without the __cimnamespace selector (as on Windows); \
         name the namespace with __cimnamespace (for example root/cimv2) or use \
         {WMI_PREFIX}root/cimv2/<Class>"
    )))
}

/// Resolves a resource URI and the request's selectors.
pub fn resolve(uri: &str, selectors: &[Selector]) -> Result<Resource, Fault> {
    resolve_in(uri, selectors, DEFAULT_NAMESPACE)
}

/// [`resolve`], a URI without `__cimnamespace` meaning `default`.
pub fn resolve_in(uri: &str, selectors: &[Selector], default: &str) -> Result<Resource, Fault> {
    let mut namespace_selector = None;
    let mut keys = Vec::new();
    for s in selectors {
        if s.name.eq_ignore_ascii_case(NAMESPACE_SELECTOR) {
            match &s.value {
                SelectorValue::Text(t) if !t.is_empty() => namespace_selector = Some(t.clone()),
                _ => {
                    return Err(Fault::new(
                        FaultKind::InvalidSelectors,
                        "the __cimnamespace selector must name a namespace",
                    )
                    .with_detail("InvalidValue"))
                }
            }
        } else {
            keys.push(s.clone());
        }
    }
    let uri = uri.trim();
    let (form, namespace, class) = if let Some(rest) = uri.strip_prefix(WMI_PREFIX) {
        let (ns, class) = rest
            .rsplit_once('/')
            .ok_or_else(|| unreachable(uri, "names no namespace (…/wmi/root/cimv2/Class)"))?;
        if ns.is_empty() {
            return Err(unreachable(uri, "names no namespace"));
        }
        if let Some(sel) = &namespace_selector {
            if !same_namespace(sel, ns) {
                return Err(Fault::new(
                    FaultKind::InvalidSelectors,
                    format!(
                        "the resource URI names namespace {ns} and __cimnamespace {sel}: \
                         the request attempted to use different namespaces"
                    ),
                )
                .with_detail("UnexpectedSelectors"));
            }
        }
        (UriForm::Wmi, ns.to_owned(), class)
    } else {
        let ns = namespace_selector
            .clone()
            .unwrap_or_else(|| default.to_owned());
        if uri == DMTF_ALL_CLASSES {
            (UriForm::Dmtf, ns, "*")
        } else if uri == CIM_XML_CLASSES {
            return Ok(Resource {
                namespace: ns.replace('\\', "/"),
                class: None,
                form: UriForm::Dmtf,
                class_definitions: true,
                keys,
            });
        } else if let Some(class) = uri.strip_prefix(MICROSOFT_CLASS_PREFIX) {
            (UriForm::Microsoft, ns, class)
        } else if let Some(class) = uri.strip_prefix(DMTF_CLASS_PREFIX) {
            (UriForm::Dmtf, ns, class)
        } else if let Some((_, class)) = uri
            .strip_prefix("http://")
            .or_else(|| uri.strip_prefix("https://"))
            .and_then(|r| r.split_once(CLASS_PATH))
        {
            (UriForm::Dmtf, ns, class)
        } else {
            return Err(unreachable(
                uri,
                "is not one openwmi serves (…/wsman/1/wmi/<namespace>/<Class>, \
                 …/wscim/1/cim-schema/2/<Class>, or an all-classes URI with a filter)",
            ));
        }
    };
    let class = match class {
        "*" => None,
        c if is_class_name(c) => Some(c.to_owned()),
        _ => return Err(unreachable(uri, "does not end in a class name")),
    };
    Ok(Resource {
        namespace: namespace.replace('\\', "/"),
        class,
        form,
        class_definitions: false,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(name: &str, v: &str) -> Selector {
        Selector {
            name: name.into(),
            value: SelectorValue::Text(v.into()),
        }
    }

    #[test]
    fn every_form_resolves() {
        let r = resolve(&format!("{WMI_PREFIX}root/cimv2/Win32_Share"), &[]).unwrap();
        assert_eq!(
            (r.namespace.as_str(), r.class.as_deref(), r.form),
            ("root/cimv2", Some("Win32_Share"), UriForm::Wmi)
        );
        let ns = [sel("__cimnamespace", "root\\test"), sel("Name", "x")];
        for (uri, form) in [
            (format!("{DMTF_CLASS_PREFIX}Test_Share"), UriForm::Dmtf),
            (
                format!("{MICROSOFT_CLASS_PREFIX}Test_Share"),
                UriForm::Microsoft,
            ),
            (
                "http://schemas.dell.com/wbem/wscim/1/cim-schema/2/Test_Share".into(),
                UriForm::Dmtf,
            ),
        ] {
            let r = resolve(&uri, &ns).unwrap();
            assert_eq!(r.namespace, "root/test");
            assert_eq!(r.class.as_deref(), Some("Test_Share"));
            assert_eq!(r.form, form);
            assert_eq!(r.keys, vec![sel("Name", "x")]);
        }
        let r = resolve(DMTF_ALL_CLASSES, &[]).unwrap();
        assert_eq!((r.namespace.as_str(), r.class), ("root/hardware", None));
        let r = resolve(&format!("{WMI_PREFIX}root/cimv2/*"), &[]).unwrap();
        assert_eq!(r.class, None);
        let r = resolve(CIM_XML_CLASSES, &[sel("ClassName", "Win32_Share")]).unwrap();
        assert!(r.class_definitions);
    }

    #[test]
    fn wrong_uris_and_namespaces_are_refused() {
        for uri in [
            "http://example.com/other",
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/Win32_Share",
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Bad-Name",
            "",
        ] {
            let f = resolve(uri, &[]).unwrap_err();
            assert_eq!(f.kind, FaultKind::DestinationUnreachable, "{uri}");
            assert_eq!(f.detail, Some("InvalidResourceURI"));
        }
        let f = resolve(
            &format!("{WMI_PREFIX}root/cimv2/Win32_Share"),
            &[sel("__cimnamespace", "root/other")],
        )
        .unwrap_err();
        assert_eq!(f.kind, FaultKind::InvalidSelectors);
        // The same namespace written otherwise is fine.
        resolve(
            &format!("{WMI_PREFIX}root/cimv2/Win32_Share"),
            &[sel("__cimnamespace", "ROOT\\CIMV2")],
        )
        .unwrap();
    }

    #[test]
    fn dmtf_uris_without_a_namespace_mean_root_hardware_as_on_windows() {
        for uri in [
            format!("{DMTF_CLASS_PREFIX}Win32_Share"),
            format!("{MICROSOFT_CLASS_PREFIX}Win32_Share"),
            CIM_XML_CLASSES.to_owned(),
        ] {
            assert_eq!(resolve(&uri, &[]).unwrap().namespace, "root/hardware");
            let r = resolve_in(&uri, &[], "root/test").unwrap();
            assert_eq!(r.namespace, "root/test");
        }
        let absent = Fault::from_cim(openwmi_cim::CimError::new(
            openwmi_cim::CimStatus::InvalidNamespace,
            "no namespace root/hardware",
        ));
        let f = missing_default_namespace(absent.clone(), "root/hardware");
        assert_eq!(f.kind, FaultKind::DestinationUnreachable);
        assert_eq!(f.detail, Some("InvalidResourceURI"));
        assert!(f.reason.contains("__cimnamespace"), "{}", f.reason);
        // Any other namespace keeps its own answer.
        assert_eq!(missing_default_namespace(absent, "root/nope").detail, None);
    }

    #[test]
    fn class_uris_round_trip() {
        for form in [UriForm::Wmi, UriForm::Dmtf, UriForm::Microsoft] {
            let uri = form.class_uri("root/cimv2", "Win32_Share");
            let r = resolve(&uri, &[]).unwrap();
            assert_eq!(r.form, form);
            assert_eq!(r.class.as_deref(), Some("Win32_Share"));
            assert_eq!(UriForm::from_bits(form as u16), form);
        }
    }
}

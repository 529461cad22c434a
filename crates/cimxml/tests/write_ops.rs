//! CreateInstance and DeleteInstance: decoded as pywbem sends them and
//! encoded so that they decode back the same.

use openwmi_cim::{Name, ObjectPath, Value};
use openwmi_cimxml::{decode_request, encode_request, Limits, Operation};
use openwmi_operation::{CreateInstance, DeleteInstance, NewInstance};

fn call(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\
         <MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.0\"><SIMPLEREQ><IMETHODCALL NAME=\"{method}\">\
         <LOCALNAMESPACEPATH><NAMESPACE NAME=\"root\"/><NAMESPACE NAME=\"interop\"/>\
         </LOCALNAMESPACEPATH>{params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    )
}

#[test]
fn create_instance_carries_the_new_instance() {
    let body = call(
        "CreateInstance",
        "<IPARAMVALUE NAME=\"NewInstance\"><INSTANCE CLASSNAME=\"CIM_IndicationFilter\">\
         <PROPERTY NAME=\"Name\" TYPE=\"string\"><VALUE>f1</VALUE></PROPERTY>\
         <PROPERTY NAME=\"Query\" TYPE=\"string\"><VALUE>SELECT * FROM X</VALUE></PROPERTY>\
         <PROPERTY.ARRAY NAME=\"SourceNamespaces\" TYPE=\"string\"><VALUE.ARRAY>\
         <VALUE>root/cimv2</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>\
         </INSTANCE></IPARAMVALUE>",
    );
    let req = decode_request(body.as_bytes(), &Limits::request()).unwrap();
    assert_eq!(req.namespace, "root/interop");
    let Operation::CreateInstance(CreateInstance { new_instance }) = &req.operation else {
        panic!("{:?}", req.operation);
    };
    let inst = &new_instance.0;
    assert_eq!(inst.class_name.as_str(), "CIM_IndicationFilter");
    assert_eq!(inst.value("Name"), Some(&Value::from("f1")));
    assert_eq!(
        inst.value("SourceNamespaces"),
        Some(&Value::Array(vec![Value::from("root/cimv2")]))
    );
    // Encoded as a client would send it, it decodes the same.
    let again = encode_request("7", "root/interop", &req.operation);
    let back = decode_request(again.as_bytes(), &Limits::request()).unwrap();
    assert_eq!(back.operation, req.operation);

    // Anything but an INSTANCE is refused; so is a missing one.
    for bad in [
        "<IPARAMVALUE NAME=\"NewInstance\"><VALUE>x</VALUE></IPARAMVALUE>",
        "",
    ] {
        let req = decode_request(call("CreateInstance", bad).as_bytes(), &Limits::request());
        let e = match req {
            Err(e) => format!("{e:?}"),
            Ok(r) => panic!("{bad}: decoded {:?}", r.operation),
        };
        assert!(e.contains("NewInstance"), "{e}");
    }
}

#[test]
fn delete_instance_carries_the_instance_name() {
    let op = Operation::DeleteInstance(DeleteInstance {
        instance_name: ObjectPath::parse("CIM_IndicationFilter.Name=\"f1\"").unwrap(),
    });
    let body = encode_request("8", "root/interop", &op);
    assert!(
        body.contains("<IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME"),
        "{body}"
    );
    let back = decode_request(body.as_bytes(), &Limits::request()).unwrap();
    assert_eq!(back.operation, op);
    assert_eq!(back.method_name(), "DeleteInstance");
    let _ = NewInstance(openwmi_cim::Instance {
        class_name: Name::new("X"),
        properties: vec![],
    });
}

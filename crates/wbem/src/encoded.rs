//! Encodings of the instances that never change, made once on first use and
//! copied afterwards: for static instances the encoding is most of the work
//! of an enumeration or a query.

use openwmi_cimom::{InstanceWithPath, ObjectManager, PerStoredInstance};
use openwmi_cimxml::EncodedInstance;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most bytes of encodings kept; past it, instances are encoded every time.
const BUDGET_BYTES: usize = 32 << 20;

pub(crate) struct EncodedInstances {
    /// `None` inside: the budget was spent when it was first needed.
    by_instance: PerStoredInstance<Option<EncodedInstance>>,
    used_bytes: AtomicUsize,
}

impl EncodedInstances {
    pub fn new(om: &ObjectManager) -> Self {
        EncodedInstances {
            by_instance: PerStoredInstance::new(om.stored_instances()),
            used_bytes: AtomicUsize::new(0),
        }
    }

    /// Encodes nothing: every instance is written each time.
    #[cfg(test)]
    pub fn none() -> Self {
        EncodedInstances {
            by_instance: PerStoredInstance::empty(),
            used_bytes: AtomicUsize::new(0),
        }
    }

    /// The encoding of `i` when it is a stored instance handed out as it is
    /// stored (not trimmed to a property list, no system properties added:
    /// those are copies at other addresses).
    pub fn get(&self, i: &InstanceWithPath) -> Option<&EncodedInstance> {
        // The path is the object manager's, built from the instance and its
        // own class: the same every time.
        if i.path.class != i.instance.class_name {
            return None;
        }
        self.by_instance
            .get_or_init(&i.instance, || {
                if self.used_bytes.load(Ordering::Relaxed) >= BUDGET_BYTES {
                    return None;
                }
                let encoded = EncodedInstance::new(&i.path, &i.instance);
                self.used_bytes.fetch_add(encoded.len(), Ordering::Relaxed);
                Some(encoded)
            })?
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::call;
    use crate::Dispatcher;
    use openwmi_cimom::ObjectManagerBuilder;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    const MOF: &str = r#"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
class T_Share { [Key] string Name; string Path; uint32 Max; string Tags[]; };
class T_Special : T_Share { boolean Hidden; };
class T_Single { uint32 Count; };
class T_Two { [Key] string A; [Key] uint32 B; string Note; };
instance of T_Share { Name = "a&<b>\"c\""; Path = "/srv/a"; Max = 1; Tags = {"x", "y&z"}; };
instance of T_Share { Name = "plain"; Max = 7; };
instance of T_Special { Name = "hidden"; Path = "/srv/h"; Max = 2; Hidden = true; };
instance of T_Single { Count = 3; };
instance of T_Two { A = "one"; B = 1; Note = "first"; };
instance of T_Two { A = "two"; B = 2; };
"#;

    fn dispatcher(encode: bool) -> Dispatcher {
        let repo = openwmi_mof::repository_from_str("root/test", "t.mof", MOF)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let d = Dispatcher::new(ObjectManagerBuilder::new(repo, "testhost").build());
        if encode {
            d
        } else {
            let shared = &d.shared;
            Dispatcher {
                shared: Arc::new(crate::Shared {
                    om: shared.om.clone(),
                    contexts: Default::default(),
                    encoded: Arc::new(super::EncodedInstances::none()),
                    answers: crate::answers::Answers::new(0),
                    limits: openwmi_cimxml::Limits::request(),
                }),
            }
        }
    }

    async fn answer(d: &Dispatcher, method: &str, body: &str) -> String {
        crate::testing::answer(d, method, "root/test", body, &[])
            .await
            .0
    }

    #[tokio::test]
    async fn encoded_answers_are_the_answers_written_each_time() {
        let class = |c: &str| {
            format!("<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"{c}\"/></IPARAMVALUE>")
        };
        let query = |q: &str| {
            format!(
                "<IPARAMVALUE NAME=\"QueryLanguage\"><VALUE>WQL</VALUE></IPARAMVALUE>\
                 <IPARAMVALUE NAME=\"Query\"><VALUE>{q}</VALUE></IPARAMVALUE>"
            )
        };
        let get = |c: &str, keys: &str| {
            format!(
                "<IPARAMVALUE NAME=\"InstanceName\"><INSTANCENAME CLASSNAME=\"{c}\">{keys}</INSTANCENAME></IPARAMVALUE>"
            )
        };
        let cases = [
            ("EnumerateInstances", class("T_Share")),
            ("EnumerateInstances", class("T_Single")),
            ("EnumerateInstances", class("T_Two")),
            (
                "EnumerateInstances",
                class("T_Share")
                    + "<IPARAMVALUE NAME=\"DeepInheritance\"><VALUE>FALSE</VALUE></IPARAMVALUE>",
            ),
            (
                "EnumerateInstances",
                class("T_Share")
                    + "<IPARAMVALUE NAME=\"PropertyList\"><VALUE.ARRAY><VALUE>Max</VALUE></VALUE.ARRAY></IPARAMVALUE>",
            ),
            ("EnumerateInstanceNames", class("T_Share")),
            ("EnumerateInstanceNames", class("T_Two")),
            ("EnumerateInstanceNames", class("T_Single")),
            ("ExecQuery", query("SELECT * FROM T_Share WHERE Max &lt; 5")),
            ("ExecQuery", query("SELECT Name FROM T_Share")),
            ("ExecQuery", query("SELECT * FROM T_Two")),
            ("ExecQuery", query("SELECT __PATH, Max FROM T_Share")),
            (
                "GetInstance",
                get(
                    "T_Share",
                    "<KEYBINDING NAME=\"Name\"><KEYVALUE VALUETYPE=\"string\">plain</KEYVALUE></KEYBINDING>",
                ),
            ),
            (
                "GetInstance",
                get(
                    "T_Special",
                    "<KEYBINDING NAME=\"Name\"><KEYVALUE VALUETYPE=\"string\">hidden</KEYVALUE></KEYBINDING>",
                ),
            ),
        ];
        let (encoding, plain) = (dispatcher(true), dispatcher(false));
        for (method, params) in &cases {
            let body = call(method, params);
            let expected = answer(&plain, method, &body).await;
            assert!(
                !expected.contains("<ERROR"),
                "{method} {params}: {expected}"
            );
            // First answer encodes, the second copies.
            for round in 0..2 {
                let got = answer(&encoding, method, &body).await;
                assert_eq!(got, expected, "{method} {params} (round {round})");
            }
        }
        // The encodings were made and used, not bypassed.
        let used = encoding.shared.encoded.used_bytes.load(Ordering::Relaxed);
        assert!(used > 0);
    }
}

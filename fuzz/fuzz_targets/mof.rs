#![no_main]
//! compile_str of arbitrary UTF-8 never panics, and whatever compiles prints
//! back to MOF (qualifier declarations, classes, instances) that compiles
//! again to the same classes and the same number of instances.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::{Namespace, Repository};
use openwmi_mof::{
    class_to_mof, instance_to_mof, qualifier_decl_to_mof, Compiler, MemoryLoader, Options,
};

/// A namespace as one MOF text, in an order that compiles (declarations,
/// then classes superclass first, then instances).
fn namespace_to_mof(ns: &Namespace) -> String {
    let mut text = String::new();
    for q in ns.qualifier_decls() {
        text.push_str(&qualifier_decl_to_mof(q));
        text.push('\n');
    }
    for c in ns.classes() {
        text.push_str(&class_to_mof(&c, false));
        text.push('\n');
    }
    for i in ns.instances() {
        text.push_str(&instance_to_mof(i));
        text.push('\n');
    }
    text
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loader = MemoryLoader::new().with("self.mof", text);
    let mut compiler = Compiler::with_loader(Options::default(), Box::new(loader));
    let mut repo = Repository::new();
    if compiler.compile_str(&mut repo, "fuzz.mof", text).is_err() {
        // A failed compile leaves the repository as it was.
        assert_eq!(repo.namespaces().count(), 0);
        return;
    }
    for ns in repo.namespaces() {
        let printed = namespace_to_mof(ns);
        let mut again = Repository::new();
        let options = Options {
            default_namespace: ns.name().to_owned(),
            ..Options::default()
        };
        if let Err(e) = Compiler::new(options).compile_str(&mut again, "printed.mof", &printed) {
            panic!("{text:?}\nprinted as\n{printed}\nwhich fails: {}", e[0]);
        }
        let ns2 = again.namespace(ns.name()).expect("namespace recreated");
        assert_eq!(ns2.class_count(), ns.class_count(), "{printed}");
        assert_eq!(ns2.instances().len(), ns.instances().len(), "{printed}");
        for c in ns.classes() {
            let c2 = ns2.class(c.name.as_str()).expect("class recompiled");
            assert_eq!(*c2, *c, "{printed}");
        }
        assert_eq!(namespace_to_mof(ns2), printed);
    }
});

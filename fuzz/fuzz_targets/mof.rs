#![no_main]
//! compile_str of arbitrary UTF-8 never panics, and whatever compiles
//! prints back to MOF without panicking.
use libfuzzer_sys::fuzz_target;
use openwmi_cim::Repository;
use openwmi_mof::{class_to_mof, instance_to_mof, Compiler, MemoryLoader, Options};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Includes resolve only to this same text, so include cycles are exercised.
    let loader = MemoryLoader::new().with("self.mof", text);
    let mut compiler = Compiler::with_loader(Options::default(), Box::new(loader));
    let mut repo = Repository::new();
    let _ = compiler.compile_str(&mut repo, "fuzz.mof", text);
    for ns in repo.namespaces() {
        for c in ns.classes() {
            let _ = class_to_mof(&c, true);
        }
        for i in ns.instances() {
            let _ = instance_to_mof(i);
        }
    }
});

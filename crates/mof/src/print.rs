//! Printing classes, instances and qualifier declarations as canonical MOF
//! that this crate's compiler reads back to equal values.
//!
//! Qualifier flavors are not printed at use sites: a reader takes them from
//! the qualifier declarations, so a flavor overridden at a use site is lost.
//!
//! Values are written by [`Value::write_mof`], the workspace's one MOF
//! literal writer. It lives with the value type in openwmi-cim because the
//! crates that write literals without compiling MOF (the `mof` output
//! format, the client's context header) should not link a compiler. This
//! crate's `tests/proptest.rs` and openwmi-output's `tests/mof_round_trip.rs`
//! keep that writer and this crate's reader in agreement.

use openwmi_cim::{
    ArrayKind, Class, Instance, MethodDecl, PropertyDecl, Qualifier, QualifierDecl, Scope,
    TypeDecl, Value,
};
use std::fmt::Write;

const INDENT: &str = "    ";

/// The class as MOF. With `include_inherited`, inherited members are printed
/// too, each after a `// inherited from <class origin>` comment, with the
/// qualifiers they carry; otherwise only the class's own (and overridden)
/// members appear. Propagated qualifiers are never printed on the class or
/// on its own members.
pub fn class_to_mof(class: &Class, include_inherited: bool) -> String {
    let mut out = String::with_capacity(1024);
    write_qualifiers(&mut out, &class.qualifiers, "", false);
    let _ = write!(out, "class {}", class.name);
    if let Some(s) = &class.superclass {
        let _ = write!(out, " : {s}");
    }
    out.push_str("\n{\n");
    let mut first = true;
    for p in &class.properties {
        if p.propagated && !include_inherited {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        write_property(&mut out, p);
    }
    for m in &class.methods {
        if m.propagated && !include_inherited {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        write_method(&mut out, m);
    }
    out.push_str("};\n");
    out
}

fn write_origin(out: &mut String, origin: &openwmi_cim::Name) {
    let _ = writeln!(out, "{INDENT}// inherited from {origin}");
}

fn write_property(out: &mut String, p: &PropertyDecl) {
    if p.propagated {
        write_origin(out, &p.class_origin);
    }
    write_qualifiers(out, &p.qualifiers, INDENT, p.propagated);
    out.push_str(INDENT);
    write_typed_name(out, &p.ty, p.name.as_str());
    if let Some(v) = &p.default {
        out.push_str(" = ");
        v.write_mof(out);
    }
    out.push_str(";\n");
}

fn write_method(out: &mut String, m: &MethodDecl) {
    if m.propagated {
        write_origin(out, &m.class_origin);
    }
    write_qualifiers(out, &m.qualifiers, INDENT, m.propagated);
    let _ = write!(out, "{INDENT}{} {}(", m.return_type, m.name);
    for (i, p) in m.parameters.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\n');
        write_qualifiers_inline(out, &p.qualifiers, &format!("{INDENT}{INDENT}"));
        write_typed_name(out, &p.ty, p.name.as_str());
    }
    out.push_str(");\n");
}

fn write_typed_name(out: &mut String, ty: &TypeDecl, name: &str) {
    let _ = write!(out, "{ty} {name}");
    match ty.array {
        ArrayKind::Scalar => {}
        ArrayKind::Variable => out.push_str("[]"),
        ArrayKind::Fixed(n) => {
            let _ = write!(out, "[{n}]");
        }
    }
}

/// `[A, B(1)]` on a line of its own.
fn write_qualifiers(out: &mut String, quals: &[Qualifier], indent: &str, with_propagated: bool) {
    let shown: Vec<&Qualifier> = quals
        .iter()
        .filter(|q| with_propagated || !q.propagated)
        .collect();
    if shown.is_empty() {
        return;
    }
    out.push_str(indent);
    write_qualifier_items(out, &shown, indent);
    out.push('\n');
}

/// `[A, B(1)] ` before a parameter, on the same line.
fn write_qualifiers_inline(out: &mut String, quals: &[Qualifier], indent: &str) {
    let shown: Vec<&Qualifier> = quals.iter().filter(|q| !q.propagated).collect();
    out.push_str(indent);
    if shown.is_empty() {
        return;
    }
    write_qualifier_items(out, &shown, indent);
    out.push('\n');
    out.push_str(indent);
}

fn write_qualifier_items(out: &mut String, quals: &[&Qualifier], indent: &str) {
    out.push('[');
    for (i, q) in quals.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
            out.push_str(indent);
            out.push(' ');
        }
        out.push_str(q.name.as_str());
        match &q.value {
            None => out.push_str("(NULL)"),
            Some(Value::Boolean(true)) => {}
            Some(v @ Value::Array(_)) => {
                out.push(' ');
                v.write_mof(out);
            }
            Some(v) => {
                out.push('(');
                v.write_mof(out);
                out.push(')');
            }
        }
    }
    out.push(']');
}

/// `instance of Class\n{\n    Name = "x";\n};` with the non-NULL properties.
pub fn instance_to_mof(inst: &Instance) -> String {
    let mut out = String::new();
    let _ = write!(out, "instance of {}\n{{\n", inst.class_name);
    for p in &inst.properties {
        if let Some(v) = &p.value {
            let _ = write!(out, "{INDENT}{} = ", p.name);
            v.write_mof(&mut out);
            out.push_str(";\n");
        }
    }
    out.push_str("};\n");
    out
}

/// `Qualifier Name : type[] = default, Scope(...), Flavor(...);`
pub fn qualifier_decl_to_mof(decl: &QualifierDecl) -> String {
    let mut out = String::new();
    let _ = write!(out, "Qualifier {} : {}", decl.name, decl.ty);
    match decl.array {
        ArrayKind::Scalar => {}
        ArrayKind::Variable => out.push_str("[]"),
        ArrayKind::Fixed(n) => {
            let _ = write!(out, "[{n}]");
        }
    }
    if let Some(v) = &decl.default {
        out.push_str(" = ");
        v.write_mof(&mut out);
    }
    out.push_str(",\n    Scope(");
    if decl.scope.contains(Scope::ANY) {
        out.push_str("any");
    } else {
        let mut first = true;
        for (s, n) in Scope::NAMES {
            if decl.scope.contains(s) {
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(n);
            }
        }
    }
    out.push_str("),\n    Flavor(");
    let f = decl.flavor;
    out.push_str(if f.overridable {
        "EnableOverride"
    } else {
        "DisableOverride"
    });
    out.push_str(if f.to_subclass {
        ", ToSubclass"
    } else {
        ", Restricted"
    });
    if f.translatable {
        out.push_str(", Translatable");
    }
    out.push_str(");\n");
    out
}

//! The `mof` format writes MOF that `openwmi mof --with-schema` (the bundled
//! schema, then openwmi-mof's compiler) reads back to the same instances.

use openwmi_cim::{CimDateTime, Instance, KeyBinding, Name, ObjectPath, Repository, Value};
use openwmi_mof::{Compiler, Options};
use openwmi_output::{formatter, Format, Row};
use proptest::prelude::*;
use std::sync::OnceLock;

const NAMESPACE: &str = "root/cimv2";

/// A class with a property of every CIM type, scalar and array, beside the
/// bundled ones.
const ALL_TYPES: &str = r#"
class Test_AllTypes
{
    [Key] string Name;
    boolean Flag;
    uint8 U8;
    sint8 S8;
    uint16 U16;
    sint16 S16;
    uint32 U32;
    sint32 S32;
    uint64 U64;
    sint64 S64;
    real32 R32;
    real64 R64;
    char16 C;
    datetime When;
    Win32_Share REF Share;
    string Texts[];
    boolean Flags[];
    uint8 U8s[];
    sint64 S64s[];
    real32 R32s[];
    real64 R64s[];
    char16 Cs[];
    datetime Whens[];
};
"#;

fn schema() -> &'static Repository {
    static SCHEMA: OnceLock<Repository> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut repo = openwmi_cimom::bundled::bundled_repository().unwrap();
        compiler()
            .compile_str(&mut repo, "all_types.mof", ALL_TYPES)
            .unwrap();
        repo
    })
}

fn compiler() -> Compiler {
    Compiler::new(Options {
        default_namespace: NAMESPACE.into(),
        ..Options::default()
    })
}

fn new_instance(class: &str) -> Instance {
    let class = schema().namespace(NAMESPACE).unwrap().class(class).unwrap();
    Instance::of_class(&class)
}

/// The rows as `openwmi query -o mof` prints them; every other row is from
/// a named host, as a multi-host query prints them.
fn render(instances: &[Instance]) -> String {
    let mut out = Vec::new();
    let mut f = formatter(Format::Mof, &openwmi_output::Options::default());
    f.begin(&mut out).unwrap();
    for (i, instance) in instances.iter().enumerate() {
        let host = (i % 2 == 1).then_some("host\"1\\");
        let row = Row {
            instance,
            path: None,
            host,
        };
        f.row(&mut out, &row).unwrap();
    }
    f.end(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The instances a MOF text declares, compiled against the schema.
fn compile_back(text: &str) -> Vec<Instance> {
    let mut repo = schema().clone();
    let before = repo.namespace(NAMESPACE).unwrap().instances().len();
    if let Err(errors) = compiler().compile_str(&mut repo, "output.mof", text) {
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{}\n--- in ---\n{text}", messages.join("\n"));
    }
    repo.namespace(NAMESPACE).unwrap().instances()[before..].to_vec()
}

fn assert_round_trip(instances: &[Instance]) -> Result<(), TestCaseError> {
    let text = render(instances);
    let back = compile_back(&text);
    prop_assert_eq!(&back, instances, "{}", text);
    // Equal and printed alike: references keep their spelling too.
    prop_assert_eq!(render(&back), text);
    Ok(())
}

fn string(s: &str) -> Value {
    Value::String(s.into())
}

fn datetime(s: &str) -> Value {
    Value::DateTime(s.parse::<CimDateTime>().unwrap())
}

fn share_path(host: Option<&str>, name: &str) -> ObjectPath {
    let path = ObjectPath::instance("Win32_Share", vec![KeyBinding::new("Name", string(name))])
        .with_namespace(NAMESPACE);
    match host {
        Some(h) => path.with_host(h),
        None => path,
    }
}

const AWKWARD: &str =
    "q\"uote \\back\\slash\nnew line\ttab\r\u{8}\u{c}\u{1}\u{7f} é 𝄞 {};$x // /* */";

#[test]
fn bundled_classes_come_back_the_same() {
    let shares = [
        new_instance("Win32_Share")
            .with("Name", string("plain"))
            .with("Path", string("/srv/plain"))
            .with("AllowMaximum", Value::Boolean(true))
            .with("Type", Value::UInt32(0))
            .with("InstallDate", datetime("20261206114833.123456+060")),
        new_instance("Win32_Share")
            .with("Name", string(AWKWARD))
            .with("Caption", string(""))
            .with("Description", string("C:\\dir\\"))
            .with("AllowMaximum", Value::Boolean(false))
            .with("MaximumAllowed", Value::UInt32(u32::MAX))
            .with("InstallDate", datetime("20261206******.******+000")),
    ];
    let link = new_instance("Win32_ConnectionShare")
        .with(
            "Antecedent",
            Value::Reference(Box::new(share_path(Some("server"), AWKWARD))),
        )
        .with(
            "Dependent",
            Value::Reference(Box::new(
                ObjectPath::instance(
                    "Win32_ServerConnection",
                    vec![
                        KeyBinding::new("ComputerName", string("client\\1")),
                        KeyBinding::new("ShareName", string("s\"1")),
                        KeyBinding::new("UserName", string("u")),
                    ],
                )
                .with_namespace(NAMESPACE),
            )),
        );
    let session = new_instance("Win32_ServerSession")
        .with("ComputerName", string("10.0.0.1"))
        .with("UserName", string("DOMAIN\\user"))
        .with("ActiveTime", Value::UInt32(0))
        .with("SessionType", Value::UInt32(3));
    let mut all = shares.to_vec();
    all.extend([link, session]);
    assert_round_trip(&all).unwrap();
}

#[test]
fn every_type_comes_back_the_same() {
    let extremes = new_instance("Test_AllTypes")
        .with("Name", string("extremes"))
        .with("Flag", Value::Boolean(true))
        .with("U8", Value::UInt8(u8::MAX))
        .with("S8", Value::SInt8(i8::MIN))
        .with("U16", Value::UInt16(u16::MAX))
        .with("S16", Value::SInt16(i16::MIN))
        .with("U32", Value::UInt32(u32::MAX))
        .with("S32", Value::SInt32(i32::MIN))
        .with("U64", Value::UInt64(u64::MAX))
        .with("S64", Value::SInt64(i64::MIN))
        .with("R32", Value::Real32(f32::MAX))
        .with("R64", Value::Real64(f64::MIN_POSITIVE))
        .with("C", Value::Char16('\''))
        .with("When", datetime("00000001020304.000005:000"))
        .with("Share", Value::Reference(Box::new(share_path(None, "s"))))
        .with("Texts", Value::Array(vec![string(AWKWARD), string("")]))
        .with("Flags", Value::Array(vec![Value::Boolean(false)]))
        .with("U8s", Value::Array(vec![]))
        .with(
            "S64s",
            Value::Array(vec![Value::SInt64(-1), Value::SInt64(i64::MAX)]),
        )
        .with(
            "R32s",
            Value::Array(vec![Value::Real32(0.1), Value::Real32(-1e-40)]),
        )
        .with(
            "R64s",
            Value::Array(vec![
                Value::Real64(1e20),
                Value::Real64(-2.5e-300),
                Value::Real64(3.0),
                Value::Real64(5e-324),
            ]),
        )
        .with(
            "Cs",
            Value::Array(vec![
                Value::Char16('\\'),
                Value::Char16('\n'),
                Value::Char16('"'),
                Value::Char16('é'),
                Value::Char16('\u{7f}'),
            ]),
        )
        .with(
            "Whens",
            Value::Array(vec![datetime("19700101000000.000000-720")]),
        );
    let nulls = new_instance("Test_AllTypes").with("Name", string("all NULL"));
    assert_round_trip(&[extremes, nulls]).unwrap();
}

/// MOF has no literal for NaN or the infinities: they are written NULL, and
/// NULL is what a reader gets.
#[test]
fn reals_without_a_literal_come_back_null() {
    let written = new_instance("Test_AllTypes")
        .with("Name", string("nan"))
        .with("R32", Value::Real32(f32::NAN))
        .with("R64", Value::Real64(f64::NEG_INFINITY));
    let text = render(std::slice::from_ref(&written));
    assert!(text.contains("\tR32 = NULL;\n\tR64 = NULL;\n"), "{text}");
    let expected = written.with("R32", None).with("R64", None);
    assert_eq!(compile_back(&text), vec![expected]);
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\"\\\\\n\r\t{}$;/*' a-z]{0,12}",]
}

/// A char16: any character of the Basic Multilingual Plane.
fn any_char16() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("fits in a char16", |c| u32::from(*c) <= 0xFFFF)
}

fn any_datetime() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..4_102_444_800, 0u32..1_000_000, -720i16..=720)
            .prop_map(|(s, us, off)| Value::DateTime(CimDateTime::from_unix(s, us, off))),
        (
            0u64..=99_999_999,
            0u8..24,
            0u8..60,
            0u8..60,
            0u32..1_000_000
        )
            .prop_map(|(d, h, m, s, us)| Value::DateTime(
                CimDateTime::interval(d, h, m, s, us).unwrap()
            )),
    ]
}

fn finite32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |f| f.is_finite())
}

fn finite64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn array<T: std::fmt::Debug>(
    item: impl Strategy<Value = T>,
    value: fn(T) -> Value,
) -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        proptest::collection::vec(item, 0..4)
            .prop_map(move |items| Value::Array(items.into_iter().map(value).collect())),
    )
}

fn any_all_types() -> impl Strategy<Value = Instance> {
    let scalars = (
        any_text(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<(u8, i8, u16, i16)>()),
        proptest::option::of(any::<(u32, i32, u64, i64)>()),
        proptest::option::of((finite32(), finite64())),
        proptest::option::of(any_char16()),
        proptest::option::of(any_datetime()),
        proptest::option::of((proptest::option::of("[a-z.]{1,8}"), any_text())),
    );
    let arrays = (
        array(any_text(), |s| Value::String(s.into())),
        array(any::<bool>(), Value::Boolean),
        array(any::<u8>(), Value::UInt8),
        array(any::<i64>(), Value::SInt64),
        array(finite32(), Value::Real32),
        array(finite64(), Value::Real64),
        array(any_char16(), Value::Char16),
        array(any_datetime(), |v| v),
    );
    (scalars, arrays).prop_map(|(s, a)| {
        let (name, flag, small, large, reals, c, when, share) = s;
        let mut i = new_instance("Test_AllTypes")
            .with("Name", string(&name))
            .with("Flag", flag.map(Value::Boolean))
            .with("C", c.map(Value::Char16))
            .with("When", when)
            .with(
                "Share",
                share.map(|(host, key)| {
                    Value::Reference(Box::new(share_path(host.as_deref(), &key)))
                }),
            );
        if let Some((u8v, s8, u16v, s16)) = small {
            i = i
                .with("U8", Value::UInt8(u8v))
                .with("S8", Value::SInt8(s8))
                .with("U16", Value::UInt16(u16v))
                .with("S16", Value::SInt16(s16));
        }
        if let Some((u32v, s32, u64v, s64)) = large {
            i = i
                .with("U32", Value::UInt32(u32v))
                .with("S32", Value::SInt32(s32))
                .with("U64", Value::UInt64(u64v))
                .with("S64", Value::SInt64(s64));
        }
        if let Some((r32, r64)) = reals {
            i = i
                .with("R32", Value::Real32(r32))
                .with("R64", Value::Real64(r64));
        }
        let (texts, flags, u8s, s64s, r32s, r64s, cs, whens) = a;
        i.with("Texts", texts)
            .with("Flags", flags)
            .with("U8s", u8s)
            .with("S64s", s64s)
            .with("R32s", r32s)
            .with("R64s", r64s)
            .with("Cs", cs)
            .with("Whens", whens)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_instance_comes_back_the_same(
        instances in proptest::collection::vec(any_all_types(), 1..4)
    ) {
        // The name is the key: one instance per name.
        let instances: Vec<Instance> = instances
            .into_iter()
            .enumerate()
            .map(|(n, i)| {
                let name = format!("{n}{}", i.value("Name").and_then(Value::as_str).unwrap());
                i.with("Name", string(&name))
            })
            .collect();
        assert_round_trip(&instances)?;
    }
}

#[test]
fn names_are_kept_as_the_class_spells_them() {
    // The compiler keeps the class's spelling of property names, which is
    // what the printer writes.
    let i = new_instance("Win32_Share").with("Name", string("x"));
    assert!(i
        .properties
        .iter()
        .any(|p| p.name == Name::new("AllowMaximum")));
    assert_round_trip(&[i]).unwrap();
}

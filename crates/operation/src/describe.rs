//! The two macros the descriptions are written in.
//!
//! `parameters!` turns a list of parameter structs into the structs and
//! their [`Parameters`](crate::Parameters) impls. Each field is either
//!
//! - `field: Type = kind "WireName" required`: absent is an error,
//! - `field: Type = kind "WireName" optional`: `Type` is an `Option`, absent
//!   is `None` and `None` is not written,
//! - `field: Type = kind "WireName" default value`: absent is `value`, and
//!   the value is always written,
//! - `field: Type`: a group (any `Parameters`), its parameters in place,
//!
//! where `kind` names the [`ParamSource`](crate::ParamSource) and
//! [`ParamSink`](crate::ParamSink) methods that read and write it. Fields are
//! decoded in the order written (so a request with two faults reports the
//! first) and encoded in that order.
//!
//! `operations!` turns the list of intrinsic operations into the
//! [`Operation`](crate::Operation) enum, its method names, and decoding by
//! method name and encoding of the parameters.

macro_rules! parameters {
    ($(
        $(#[$struct_attr:meta])*
        pub struct $S:ident {
            $(
                $(#[$field_attr:meta])*
                $field:ident : $ty:ty $(= $kind:ident $wire:literal $mode:ident $($default:expr)?)?
            ),* $(,)?
        }
    )*) => {$(
        $(#[$struct_attr])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $S {
            $( $(#[$field_attr])* pub $field: $ty, )*
        }

        impl $crate::Parameters for $S {
            fn decode<Src: $crate::ParamSource + ?Sized>(
                src: &mut Src,
            ) -> Result<Self, openwmi_cim::CimError> {
                Ok($S {
                    $( $field: parameter!(decode src, $ty $(, $kind $wire $mode $($default)?)?), )*
                })
            }

            fn encode<Snk: $crate::ParamSink + ?Sized>(&self, sink: &mut Snk) {
                $( parameter!(encode sink, &self.$field, $ty $(, $kind $wire $mode)?); )*
            }
        }
    )*};
}

/// One field of a `parameters!` struct, read or written.
macro_rules! parameter {
    (decode $src:ident, $ty:ty) => {
        <$ty as $crate::Parameters>::decode($src)?
    };
    (decode $src:ident, $ty:ty, $kind:ident $wire:literal required) => {
        match $src.$kind($wire)? {
            Some(v) => v,
            None => return Err($crate::missing($wire)),
        }
    };
    (decode $src:ident, $ty:ty, $kind:ident $wire:literal optional) => {
        $src.$kind($wire)?
    };
    (decode $src:ident, $ty:ty, $kind:ident $wire:literal default $default:expr) => {
        $src.$kind($wire)?.unwrap_or($default)
    };
    (encode $sink:ident, $value:expr, $ty:ty) => {
        <$ty as $crate::Parameters>::encode($value, $sink)
    };
    (encode $sink:ident, $value:expr, $ty:ty, $kind:ident $wire:literal optional) => {
        if let Some(v) = $value {
            $sink.$kind($wire, v)
        }
    };
    (encode $sink:ident, $value:expr, $ty:ty, $kind:ident $wire:literal $mode:ident) => {
        $sink.$kind($wire, $value)
    };
}

macro_rules! operations {
    (
        with parameters { $( $(#[$attr:meta])* $V:ident($P:ty), )* }
        without parameters { $( $(#[$unit_attr:meta])* $U:ident, )* }
    ) => {
        /// One CIM operation. Instance names carry no host or namespace (the
        /// request's namespace goes beside the operation).
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Operation {
            $( $(#[$attr])* $V($P), )*
            $( $(#[$unit_attr])* $U, )*
            /// An extrinsic method call on a class or instance path (without
            /// namespace). Parameter values are typed as the request types
            /// them, else read as strings.
            InvokeMethod {
                target: ObjectPath,
                method: Name,
                params: Vec<(Name, Option<Value>)>,
            },
            /// An intrinsic operation openwmi does not implement
            /// (ModifyInstance, CreateClass,
            /// SetQualifier...), by the name the request gives. Servers
            /// answer CIM_ERR_NOT_SUPPORTED.
            Unsupported(String),
        }

        impl Operation {
            /// The method's name: DSP0200's for an intrinsic operation, the
            /// request's for the others.
            pub fn method_name(&self) -> &str {
                match self {
                    $( Operation::$V(_) => stringify!($V), )*
                    $( Operation::$U => stringify!($U), )*
                    Operation::InvokeMethod { method, .. } => method.as_str(),
                    Operation::Unsupported(name) => name,
                }
            }

            /// The intrinsic operation `method` (its name compared without
            /// case) with its parameters read from `src`, DSP0200 defaults
            /// applied; [`Operation::Unsupported`] for a method not listed,
            /// whose parameters are not read.
            pub fn decode_intrinsic<S: $crate::ParamSource + ?Sized>(
                method: &str,
                src: &mut S,
            ) -> Result<Operation, CimError> {
                let op = $(
                    if method.eq_ignore_ascii_case(stringify!($V)) {
                        Operation::$V(<$P as $crate::Parameters>::decode(src)?)
                    } else
                )* $(
                    if method.eq_ignore_ascii_case(stringify!($U)) {
                        Operation::$U
                    } else
                )* {
                    return Ok(Operation::Unsupported(method.to_owned()));
                };
                src.finish()?;
                Ok(op)
            }

            /// Writes the parameters of an intrinsic operation (none for the
            /// others).
            pub fn encode_params<S: $crate::ParamSink + ?Sized>(&self, sink: &mut S) {
                match self {
                    $( Operation::$V(p) => $crate::Parameters::encode(p, sink), )*
                    _ => {}
                }
            }
        }
    };
}

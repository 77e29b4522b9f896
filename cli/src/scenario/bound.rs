//! A time bound that may differ by VRRP engine: `65s`, or `{keepalived: 65s, halabd: 2s}`, so
//! one scenario holds each engine to its own promise (halabd's split-brain heal brings clients
//! back within an advert interval; keepalived's can leave them on the loser for a minute).
//!
//! The halabd bound applies when any LB of the lab runs halabd (`--engine halabd` or `mixed`):
//! halabd's heal works with keepalived on the other side, whichever side wins.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::lab::Lab;
use crate::lab::model::Engine;

/// As written: one duration for every engine, or one per engine.
#[derive(Debug, Clone)]
pub enum RawBound {
    All(String),
    PerEngine(RawPerEngine),
}

/// `{keepalived: 65s, halabd: 2s}`: both required, so no engine is left unbounded by mistake.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerEngine {
    /// When every LB runs keepalived.
    pub keepalived: String,
    /// When any LB runs halabd.
    pub halabd: String,
}

/// Not serde's `untagged` (its errors say nothing useful): a scalar is a duration, a map the
/// per-engine form with its own field errors.
impl<'de> Deserialize<'de> for RawBound {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundVisitor;

        impl<'de> Visitor<'de> for BoundVisitor {
            type Value = RawBound;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 2s, or {keepalived: 65s, halabd: 2s}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawBound, E> {
                Ok(RawBound::All(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawBound, E> {
                Ok(RawBound::All(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawBound, E> {
                Ok(RawBound::All(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawBound, E> {
                Ok(RawBound::All(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBound, A::Error> {
                let per = RawPerEngine::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawBound::PerEngine(per))
            }
        }

        deserializer.deserialize_any(BoundVisitor)
    }
}

impl schemars::JsonSchema for RawBound {
    fn schema_name() -> String {
        "Bound".to_string()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{Metadata, SchemaObject, SubschemaValidation};
        let one_of = vec![
            generator.subschema_for::<String>(),
            generator.subschema_for::<RawPerEngine>(),
        ];
        SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(
                    "A duration (2s, 500ms, 1.5, 1m), or one per engine: {keepalived: 65s, halabd: 2s}"
                        .to_string(),
                ),
                ..Metadata::default()
            })),
            subschemas: Some(Box::new(SubschemaValidation {
                one_of: Some(one_of),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        }
        .into()
    }
}

/// A validated bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub keepalived: Duration,
    pub halabd: Duration,
}

impl Bound {
    /// The same bound for every engine.
    pub const fn all(d: Duration) -> Self {
        Self {
            keepalived: d,
            halabd: d,
        }
    }

    /// The bound for the engines `lab` runs.
    pub fn for_lab(&self, lab: &Lab) -> Duration {
        if lab.lbs().any(|n| n.engine == Some(Engine::Halabd)) {
            self.halabd
        } else {
            self.keepalived
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.keepalived == self.halabd {
            write!(f, "{:.2}s", self.halabd.as_secs_f64())
        } else {
            write!(
                f,
                "{:.2}s with halabd, {:.2}s with keepalived",
                self.halabd.as_secs_f64(),
                self.keepalived.as_secs_f64()
            )
        }
    }
}

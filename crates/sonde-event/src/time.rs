use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Wall-clock time in nanoseconds since the Unix epoch.
///
/// Human-readable formats (JSON) carry it as an RFC 3339 string with
/// nanoseconds; binary formats (the store) as a plain `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    pub fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }

    /// Parses RFC 3339 (`2026-11-22T10:00:00Z`) or a duration before now (`5m`, `1h30m`).
    pub fn parse_relative(text: &str, now: Timestamp) -> Result<Self, String> {
        if let Ok(t) = humantime::parse_rfc3339_weak(text) {
            return Ok(t.into());
        }
        match humantime::parse_duration(text) {
            Ok(ago) => Ok(Timestamp(now.0.saturating_sub(ago.as_nanos() as u64))),
            Err(_) => Err(format!(
                "`{text}` is neither an RFC 3339 time (2026-11-22T10:00:00Z) nor a duration (90s, 5m, 2h)"
            )),
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            humantime::format_rfc3339_nanos(self.to_system_time())
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            humantime::parse_rfc3339(&text)
                .map(Timestamp::from)
                .map_err(de::Error::custom)
        } else {
            u64::deserialize(d).map(Timestamp)
        }
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 UTC time with nanoseconds"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_rfc3339_and_binary_is_u64() {
        let t = Timestamp(1_700_000_000_123_456_789);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2023-11-14T22:13:20.123456789Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        let bin = postcard::to_stdvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Timestamp>(&bin).unwrap(), t);
    }

    #[test]
    fn parses_durations_and_times() {
        let now = Timestamp(10_000_000_000_000);
        assert_eq!(
            Timestamp::parse_relative("5s", now).unwrap(),
            Timestamp(now.0 - 5_000_000_000)
        );
        assert_eq!(
            Timestamp::parse_relative("1970-01-01T00:00:01Z", now).unwrap(),
            Timestamp(1_000_000_000)
        );
        assert!(Timestamp::parse_relative("yesterday-ish", now).is_err());
    }
}

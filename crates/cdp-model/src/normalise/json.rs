//! Reading payloads with serde into borrowed, typed structures.
//!
//! Real feeds send numbers where strings are due, objects where scalars are,
//! and `null` everywhere, so every payload field is read as a [`Scalar`] and
//! every nested object as a [`Lenient`]: the normaliser, not serde, decides
//! what a wrong type means. That keeps serde errors for broken JSON only, and
//! lets strings borrow from the message (no allocation unless escaped).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, value::MapAccessDeserializer, Deserialize, Deserializer, IgnoredAny, MapAccess,
    SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use super::Rejection;

/// One JSON value of a payload field, of whatever type it came in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl Scalar<'_> {
    /// The JSON type, for rejection reasons.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Int(_) | Self::UInt(_) | Self::Float(_) => "a number",
            Self::Bool(_) => "a boolean",
            Self::Null => "null",
            Self::Array => "an array",
            Self::Object => "an object",
        }
    }

    /// The value as text when it is a string or a number (numbers
    /// stringified as JSON writes them); `None` for other types.
    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Self::Int(i) => Some(Cow::Owned(i.to_string())),
            Self::UInt(u) => Some(Cow::Owned(u.to_string())),
            Self::Float(f) if f.is_finite() => Some(Cow::Owned(f.to_string())),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct ScalarVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Object)
    }
}

/// A nested object (`user`, `device`, `buyer`, …) that is ignored when it
/// comes as anything but an object: its members are all optional, so a
/// wrong type there loses nothing a message needs.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
}

/// The message as UTF-8 text, or the rejection saying why not.
pub(crate) fn utf8(raw: &[u8]) -> Result<&str, Rejection> {
    std::str::from_utf8(raw).map_err(|e| Rejection::payload(format!("not UTF-8: {e}")))
}

/// Parses one message that must be a JSON object into `T`.
pub(crate) fn parse_object<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, Rejection> {
    let start = text.trim_start();
    if !start.starts_with('{') {
        // serde would read a JSON array into a struct positionally: refuse
        // anything but an object before it gets the chance.
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Rejection::payload(format!("not a JSON object: got {}", json_kind(start))),
            Err(e) if text.trim().is_empty() => Rejection::payload(format!("empty message: {e}")),
            Err(e) => Rejection::payload(format!("not JSON: {e}")),
        });
    }
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Rejection::payload(format!("invalid payload: {e}")),
        _ => Rejection::payload(format!("not JSON: {e}")),
    })
}

fn json_kind(start: &str) -> &'static str {
    match start.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// JSON text without the whitespace between tokens; borrowed when there is
/// none, which is the common case for machine-written messages.
pub(crate) fn compact(json: &str) -> Cow<'_, str> {
    let json = json.trim();
    if !json
        .bytes()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Builds the `properties` JSON object of an event from raw JSON values, in
/// a buffer the caller reuses.
pub(crate) struct ObjectWriter<'b> {
    buf: &'b mut String,
}

impl<'b> ObjectWriter<'b> {
    /// Starts an object in `buf`, which is cleared.
    pub(crate) fn new(buf: &'b mut String) -> Self {
        buf.clear();
        Self { buf }
    }

    /// Adds `key` with a JSON value taken from the message (kept as sent,
    /// whitespace removed); `null` values are left out.
    pub(crate) fn raw(&mut self, key: &str, value: Option<&RawValue>) {
        if let Some(v) = value {
            if v.get() != "null" {
                self.key(key);
                self.buf.push_str(&compact(v.get()));
            }
        }
    }

    /// Adds `key` with a string value.
    pub(crate) fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_string(self.buf, value);
    }

    /// Adds `key` with an already serialised JSON value.
    pub(crate) fn json(&mut self, key: &str, json: &str) {
        self.key(key);
        self.buf.push_str(json);
    }

    fn key(&mut self, key: &str) {
        self.buf.push(if self.buf.is_empty() { '{' } else { ',' });
        push_json_string(self.buf, key);
        self.buf.push(':');
    }

    /// Closes the object; false (and the buffer empty) when no key was added.
    pub(crate) fn finish(self) -> bool {
        if self.buf.is_empty() {
            return false;
        }
        self.buf.push('}');
        true
    }

    /// The finished object in its buffer, or `None` when no key was added.
    pub(crate) fn finish_str(self) -> Option<&'b str> {
        let buf = self.buf;
        if buf.is_empty() {
            return None;
        }
        buf.push('}');
        let buf: &'b String = buf;
        Some(buf.as_str())
    }
}

/// Appends `s` as a JSON string, escaped exactly as `serde_json` does.
pub(crate) fn push_json_string(buf: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        buf.push_str(&s[plain..i]);
        if escape.is_empty() {
            buf.push_str("\\u00");
            buf.push(char::from(HEX[usize::from(b >> 4)]));
            buf.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            buf.push_str(escape);
        }
        plain = i + 1;
    }
    buf.push_str(&s[plain..]);
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        a: Option<Scalar<'a>>,
        #[serde(borrow)]
        b: Option<Lenient<Inner<'a>>>,
    }

    #[derive(serde::Deserialize)]
    struct Inner<'a> {
        #[serde(borrow)]
        c: Option<Scalar<'a>>,
    }

    #[test]
    fn scalars_borrow_plain_strings_and_keep_other_types() {
        let p: Probe = parse_object(r#"{"a":"x","b":{"c":12}}"#).unwrap();
        assert!(matches!(p.a, Some(Scalar::Str(Cow::Borrowed("x")))));
        let inner = p.b.unwrap().0.unwrap();
        assert_eq!(inner.c.unwrap().text().as_deref(), Some("12"));
    }

    #[test]
    fn wrong_types_for_nested_objects_are_ignored() {
        let p: Probe = parse_object(r#"{"a":[1,{"x":2}],"b":"oops"}"#).unwrap();
        assert_eq!(p.a, Some(Scalar::Array));
        assert!(p.b.unwrap().0.is_none());
    }

    #[test]
    fn non_objects_are_refused_with_their_kind() {
        let r = parse_object::<Probe>("[1,2]").err().unwrap();
        assert_eq!(r.reason, "not a JSON object: got an array");
        let r = parse_object::<Probe>("not json at all").err().unwrap();
        assert_eq!(r.reason, "not JSON: expected ident at line 1 column 2");
        let r = parse_object::<Probe>("{\"a\":1} x").err().unwrap();
        assert!(
            r.reason.starts_with("not JSON: trailing characters"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn compact_keeps_whitespace_inside_strings() {
        assert_eq!(
            compact("{ \"a b\" : [1, 2],\n \"c\":\"x\\\" y\" }"),
            "{\"a b\":[1,2],\"c\":\"x\\\" y\"}"
        );
        assert!(matches!(compact("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "q\"b\\n\nr\rt\tb\u{8}f\u{c}",
            "\u{1}\u{1f}\u{7f}/é时",
            "end\"",
        ] {
            let mut buf = String::new();
            push_json_string(&mut buf, s);
            assert_eq!(buf, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn object_writer_skips_nulls_and_escapes() {
        let mut buf = String::from("left over");
        let mut w = ObjectWriter::new(&mut buf);
        let raw: Box<RawValue> = serde_json::from_str("null").unwrap();
        w.raw("n", Some(&raw));
        let mut empty = String::new();
        assert_eq!(ObjectWriter::new(&mut empty).finish_str(), None);
        w.string("k\"", "v\n");
        assert_eq!(w.finish_str(), Some(r#"{"k\"":"v\n"}"#));
    }
}

//! Turning payload fields into event fields: required and optional text,
//! and the identifier list.

use std::borrow::Cow;

use super::json::Scalar;
use super::Rejection;
use crate::identifier::{IdBuffer, IdType, JunkList};

/// A string as it came, trimmed, still borrowed from the message when it was.
fn trimmed<'a>(s: &Cow<'a, str>) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

/// A required field that must be a non-blank JSON string (trimmed).
pub(crate) fn required_str<'a>(
    field: &str,
    value: &Option<Scalar<'a>>,
) -> Result<Cow<'a, str>, Rejection> {
    match value {
        None | Some(Scalar::Null) => Err(Rejection::missing(field)),
        Some(Scalar::Str(s)) if s.trim().is_empty() => {
            Err(Rejection::new(format!("`{field}` is empty"), Some(field)))
        }
        Some(Scalar::Str(s)) => Ok(trimmed(s)),
        Some(other) => Err(Rejection::wrong_type(field, "a string", other.type_name())),
    }
}

/// A required field that may be a string or a number (offline systems send
/// ids and codes as either), trimmed and non-blank.
pub(crate) fn required_text<'a>(
    field: &str,
    value: &Option<Scalar<'a>>,
) -> Result<Cow<'a, str>, Rejection> {
    match value {
        None | Some(Scalar::Null) => Err(Rejection::missing(field)),
        Some(v) => match text(v) {
            Some(t) if t.is_empty() => {
                Err(Rejection::new(format!("`{field}` is empty"), Some(field)))
            }
            Some(t) => Ok(t),
            None => Err(Rejection::wrong_type(field, "a string", v.type_name())),
        },
    }
}

/// Strings (trimmed, borrowed when they were) and numbers (as JSON writes
/// them) as text; `None` for other types.
fn text<'a>(value: &Scalar<'a>) -> Option<Cow<'a, str>> {
    match value {
        Scalar::Str(s) => Some(trimmed(s)),
        other => other.text().map(|t| Cow::Owned(t.into_owned())),
    }
}

/// An optional descriptive field: strings and numbers as trimmed text;
/// blank values and other types are treated as absent.
pub(crate) fn optional_text<'a>(value: &Option<Scalar<'a>>) -> Option<Cow<'a, str>> {
    text(value.as_ref()?).filter(|t| !t.is_empty())
}

/// Collects an event's identifiers: canonical, junk removed, derived hashes
/// added, sorted and deduplicated at the end.
pub(crate) struct Ids<'j, 'b> {
    junk: &'j JunkList,
    out: &'b mut IdBuffer,
}

impl<'j, 'b> Ids<'j, 'b> {
    pub(crate) fn new(junk: &'j JunkList, out: &'b mut IdBuffer) -> Self {
        out.clear();
        Self { junk, out }
    }

    /// Adds the field's value as an identifier of `id_type` when it is a
    /// string or number; other types cannot be identifiers and are ignored.
    pub(crate) fn add(&mut self, id_type: IdType, value: &Option<Scalar<'_>>) {
        if let Some(text) = value.as_ref().and_then(Scalar::text) {
            self.add_str(id_type, &text);
        }
    }

    pub(crate) fn add_str(&mut self, id_type: IdType, raw: &str) {
        self.out.push_canonical(id_type, raw, self.junk);
    }

    pub(crate) fn finish(self) -> &'b IdBuffer {
        self.out.sort_dedup();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Scalar<'_>> {
        Some(Scalar::Str(Cow::Borrowed(v)))
    }

    #[test]
    fn required_str_names_the_fault() {
        assert_eq!(
            required_str("event", &None).unwrap_err().reason,
            "missing required field `event`"
        );
        assert_eq!(
            required_str("event", &s("  ")).unwrap_err().reason,
            "`event` is empty"
        );
        assert_eq!(
            required_str("event", &Some(Scalar::Int(3)))
                .unwrap_err()
                .reason,
            "`event` must be a string, got a number"
        );
        assert_eq!(required_str("event", &s(" click ")).unwrap(), "click");
    }

    #[test]
    fn required_text_accepts_numbers() {
        assert_eq!(
            required_text("store_id", &Some(Scalar::Int(1001))).unwrap(),
            "1001"
        );
        assert_eq!(
            required_text("store_id", &Some(Scalar::Bool(true)))
                .unwrap_err()
                .field
                .as_deref(),
            Some("store_id")
        );
    }

    #[test]
    fn ids_are_sorted_and_deduplicated() {
        let junk = JunkList::default();
        let mut buf = IdBuffer::default();
        let mut ids = Ids::new(&junk, &mut buf);
        ids.add(IdType::Openid, &s("b"));
        ids.add(IdType::Openid, &s("a"));
        ids.add(IdType::Openid, &s(" a "));
        ids.add(IdType::Openid, &Some(Scalar::Object));
        ids.add(IdType::MemberId, &Some(Scalar::Int(42)));
        let got: Vec<String> = ids
            .finish()
            .iter()
            .map(|(t, v)| format!("{t}:{v}"))
            .collect();
        assert_eq!(got, ["openid:a", "openid:b", "member_id:42"]);
    }
}

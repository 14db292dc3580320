//! A tiny hand-rolled JSON line writer. Generating ~10M lines a minute rules
//! out building a `serde_json::Value` per line; the generator controls every
//! value it writes, so escaping only has to be correct, not clever.

/// Writes one JSON object into a byte buffer, tracking where commas go.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    /// Per nesting level: has a member already been written at this level?
    comma: [bool; 8],
    depth: usize,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            comma: [false; 8],
            depth: 0,
        }
    }

    fn sep(&mut self) {
        if self.comma[self.depth] {
            self.out.push(b',');
        }
        self.comma[self.depth] = true;
    }

    fn key(&mut self, k: &str) {
        self.sep();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        push_json_str(self.out, v);
        self
    }

    /// A string member whose content the caller writes with `f` (already
    /// known not to need escaping: digits, hex, dates).
    pub fn str_with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        self.out.push(b'"');
        f(self.out);
        self.out.push(b'"');
        self
    }

    /// A member whose raw JSON text the caller writes with `f` (numbers).
    pub fn raw_with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        f(self.out);
        self
    }

    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        push_int(self.out, v);
        self
    }

    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(b"null");
        self
    }

    /// Opens a nested object member; close it with `close_obj`.
    pub fn open_obj(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.open(b'{')
    }

    /// Opens an array member; close it with `close_arr`.
    pub fn open_arr(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.open(b'[')
    }

    /// Opens an object element inside an array.
    pub fn open_elem(&mut self) -> &mut Self {
        self.sep();
        self.open(b'{')
    }

    fn open(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self.depth += 1;
        self.comma[self.depth] = false;
        self
    }

    pub fn close_obj(&mut self) -> &mut Self {
        self.out.push(b'}');
        self.depth -= 1;
        self
    }

    pub fn close_arr(&mut self) -> &mut Self {
        self.out.push(b']');
        self.depth -= 1;
        self
    }

    /// Closes the top-level object.
    pub fn finish(self) {
        debug_assert_eq!(self.depth, 0, "unclosed nested JSON value");
        self.out.push(b'}');
    }
}

pub fn push_json_str(out: &mut Vec<u8>, v: &str) {
    out.push(b'"');
    for &b in v.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_LOWER[(b >> 4) as usize]);
                out.push(HEX_LOWER[(b & 15) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

pub const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
pub const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

pub fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_uint(out, v.unsigned_abs());
}

pub fn push_uint(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// `v` zero-padded to at least `width` digits.
pub fn push_uint_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = Vec::with_capacity(20);
    push_uint(&mut tmp, v);
    for _ in tmp.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(&tmp);
}

/// An amount in fen as a yuan decimal string with exactly two decimals.
pub fn push_yuan(out: &mut Vec<u8>, fen: i64) {
    if fen < 0 {
        out.push(b'-');
    }
    let f = fen.unsigned_abs();
    push_uint(out, f / 100);
    out.push(b'.');
    push_uint_padded(out, f % 100, 2);
}

/// Hex of `bytes`, lower or upper case.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8], upper: bool) {
    let table = if upper { HEX_UPPER } else { HEX_LOWER };
    for &b in bytes {
        out.push(table[(b >> 4) as usize]);
        out.push(table[(b & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_nested_json() {
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.str("a", "x\"y\\z\n").int("n", -12).null("z");
        o.open_obj("u").str("p", "1").close_obj();
        o.open_arr("items")
            .open_elem()
            .int("q", 1)
            .close_obj()
            .open_elem()
            .close_obj()
            .close_arr();
        o.str_with("h", |b| push_hex(b, &[0xab, 0x01], true));
        o.finish();
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("valid JSON");
        assert_eq!(v["a"], "x\"y\\z\n");
        assert_eq!(v["n"], -12);
        assert!(v["z"].is_null());
        assert_eq!(v["u"]["p"], "1");
        assert_eq!(v["items"][0]["q"], 1);
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["h"], "AB01");
    }

    #[test]
    fn formats_numbers() {
        let mut b = Vec::new();
        push_yuan(&mut b, 10980);
        b.push(b' ');
        push_yuan(&mut b, 5);
        b.push(b' ');
        push_yuan(&mut b, -500);
        b.push(b' ');
        push_uint_padded(&mut b, 42, 6);
        b.push(b' ');
        push_int(&mut b, 0);
        assert_eq!(String::from_utf8(b).unwrap(), "109.80 0.05 -5.00 000042 0");
    }
}

//! ClickHouse column types as `system.columns` spells them, reduced to what
//! RowBinary needs to know.

/// A column type the loader can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChType {
    String,
    /// `Int8` … `UInt64`.
    Int {
        bytes: u8,
        signed: bool,
    },
    Float32,
    Float64,
    /// Days since 1970 as UInt16.
    Date,
    /// Seconds since 1970 as UInt32 (the time zone is only for display).
    DateTime,
    /// `Decimal(P, S)`: an integer of 4, 8 or 16 bytes, value × 10^S.
    Decimal {
        precision: u8,
        scale: i8,
    },
    Nullable(Box<ChType>),
    Array(Box<ChType>),
}

impl ChType {
    /// Parses a type as `system.columns` gives it, e.g. `Nullable(Decimal(18, 2))`,
    /// `DateTime('UTC')`, `Array(String)`, `LowCardinality(String)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, args) = match text.find('(') {
            Some(open) if text.ends_with(')') => {
                (&text[..open], Some(&text[open + 1..text.len() - 1]))
            }
            _ => (text, None),
        };
        let int = |bytes, signed| Ok(Self::Int { bytes, signed });
        match (name, args) {
            ("String", None) => Ok(Self::String),
            ("Int8", None) => int(1, true),
            ("Int16", None) => int(2, true),
            ("Int32", None) => int(4, true),
            ("Int64", None) => int(8, true),
            ("UInt8" | "Bool", None) => int(1, false),
            ("UInt16", None) => int(2, false),
            ("UInt32", None) => int(4, false),
            ("UInt64", None) => int(8, false),
            ("Float32", None) => Ok(Self::Float32),
            ("Float64", None) => Ok(Self::Float64),
            ("Date", None) => Ok(Self::Date),
            ("DateTime", _) => Ok(Self::DateTime),
            ("Decimal", Some(args)) => {
                let mut parts = args.split(',').map(str::trim);
                let precision = parts.next().and_then(|p| p.parse().ok());
                let scale = parts.next().and_then(|s| s.parse().ok());
                match (precision, scale) {
                    (Some(precision @ 1..=38), Some(scale)) => {
                        Ok(Self::Decimal { precision, scale })
                    }
                    _ => Err(format!("cannot read the precision and scale of `{text}`")),
                }
            }
            ("Decimal32" | "Decimal64" | "Decimal128", Some(scale)) => {
                let precision = match name {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    _ => 38,
                };
                let scale = scale
                    .trim()
                    .parse()
                    .map_err(|_| format!("cannot read the scale of `{text}`"))?;
                Ok(Self::Decimal { precision, scale })
            }
            ("Nullable", Some(inner)) => Ok(Self::Nullable(Box::new(Self::parse(inner)?))),
            ("Array", Some(inner)) => Ok(Self::Array(Box::new(Self::parse(inner)?))),
            // Only a storage hint: RowBinary carries the inner type.
            ("LowCardinality", Some(inner)) => Self::parse(inner),
            _ => Err(format!("the loader cannot write ClickHouse type `{text}`")),
        }
    }

    /// Bytes of a Decimal of this precision in RowBinary.
    pub fn decimal_bytes(precision: u8) -> usize {
        match precision {
            0..=9 => 4,
            10..=18 => 8,
            _ => 16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_types_the_migrations_use() {
        use ChType::*;
        assert_eq!(ChType::parse("String"), Ok(String));
        assert_eq!(
            ChType::parse("UInt64"),
            Ok(Int {
                bytes: 8,
                signed: false
            })
        );
        assert_eq!(ChType::parse("DateTime('UTC')"), Ok(DateTime));
        assert_eq!(ChType::parse("DateTime(\\'UTC\\')"), Ok(DateTime));
        assert_eq!(
            ChType::parse("Nullable(Decimal(18, 2))"),
            Ok(Nullable(Box::new(Decimal {
                precision: 18,
                scale: 2
            })))
        );
        assert_eq!(
            ChType::parse("Decimal64(4)"),
            Ok(Decimal {
                precision: 18,
                scale: 4
            })
        );
        assert_eq!(ChType::parse("Array(String)"), Ok(Array(Box::new(String))));
        assert_eq!(
            ChType::parse("LowCardinality(Nullable(String))"),
            Ok(Nullable(Box::new(String)))
        );
        assert!(ChType::parse("FixedString(16)")
            .unwrap_err()
            .contains("FixedString"));
    }
}

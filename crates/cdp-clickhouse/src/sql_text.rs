//! SQL files as ClickHouse takes them: one statement per request.

/// The statements of a SQL file, without `--` comments and the `;` between
/// them. Quotes (`'…'`, `` `…` ``, `"…"`, with `\` and doubled-quote escapes)
/// are kept whole, so a `;` or `--` inside a COMMENT string is text.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            current.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            } else if c == q {
                if chars.peek() == Some(&q) {
                    current.push(chars.next().expect("peeked"));
                } else {
                    quote = None;
                }
            }
            continue;
        }
        match c {
            '\'' | '`' | '"' => {
                quote = Some(c);
                current.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        current.push('\n');
                        break;
                    }
                }
            }
            ';' => {
                push_statement(&mut statements, &current);
                current.clear();
            }
            c => current.push(c),
        }
    }
    push_statement(&mut statements, &current);
    statements
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        statements.push(trimmed.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_drops_comments() {
        let sql = "-- header; with a semicolon\nCREATE TABLE a (x Int8 COMMENT 'it''s; -- not a comment') ENGINE = Log;\n\n-- between\nDROP TABLE IF EXISTS `b;c`;\n  \n";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x Int8 COMMENT 'it''s; -- not a comment') ENGINE = Log",
                "DROP TABLE IF EXISTS `b;c`",
            ]
        );
    }

    #[test]
    fn backslash_escapes_stay_inside_the_string() {
        let sql = r"SELECT 'a\';b' AS x; SELECT 2";
        assert_eq!(
            split_statements(sql),
            vec![r"SELECT 'a\';b' AS x", "SELECT 2"]
        );
    }

    #[test]
    fn a_file_without_statements_gives_none() {
        assert!(split_statements("-- only a comment\n\n").is_empty());
    }
}

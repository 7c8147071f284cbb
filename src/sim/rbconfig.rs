//! A reader for the subset of Ruby that `scalr-server.rb` and `scalr-server-local.rb` use.
//!
//! Supported: `enable_all true|false`, `section[:key] = value` (also `[:a][:b]` nesting),
//! constants (`ENDPOINT = "…"`) used as values or interpolated (`"#{ENDPOINT}:80"`), `+` on
//! strings, strings, integers, floats, booleans, `nil`, symbols, arrays, hashes (`=>` and `key:`)
//! and comments. Syntax errors are reported like `ruby -c` (`file:line: syntax error, …`).

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Sym(String),
    Array(Vec<Value>),
    Hash(Vec<(Value, Value)>),
}

impl Value {
    /// Ruby truthiness: everything but `false` and `nil`.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Bool(false) | Value::Nil)
    }

    /// The value as a host/port/name string (`Str`, `Sym` or a number).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) | Value::Sym(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }

    pub fn as_port(&self) -> Option<u16> {
        match self {
            Value::Int(i) => u16::try_from(*i).ok(),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn hash_get_mut(&mut self, key: &Value) -> Option<&mut Value> {
        match self {
            Value::Hash(pairs) => pairs
                .iter_mut()
                .find(|(k, _)| same_key(k, key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Sym(x) | Value::Str(x), Value::Sym(y) | Value::Str(y)) => x == y,
        _ => a == b,
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Nil => f.write_str("nil"),
            Value::Sym(s) => write!(f, ":{s}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Hash(pairs) => {
                f.write_str("{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} => {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// The merged attributes of the config files, in the order `reconfigure` reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RbConfig {
    pub enable_all: Option<bool>,
    pub attrs: BTreeMap<String, BTreeMap<String, Value>>,
    pub constants: BTreeMap<String, Value>,
}

/// Why a config file was rejected; `Display` is the line `ruby -c` (or chef) would print.
#[derive(Debug, Clone, PartialEq)]
pub enum RbError {
    /// Caught by `ruby -c`: the file is not valid Ruby.
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// Valid Ruby that fails when evaluated, e.g. an undefined constant.
    Name {
        file: String,
        line: usize,
        constant: String,
    },
}

impl fmt::Display for RbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RbError::Syntax {
                file,
                line,
                message,
            } => write!(f, "{file}:{line}: {message}"),
            RbError::Name {
                file,
                line,
                constant,
            } => {
                write!(
                    f,
                    "{file}:{line}: uninitialized constant {constant} (NameError)"
                )
            }
        }
    }
}

impl RbConfig {
    pub fn get(&self, section: &str, key: &str) -> Option<&Value> {
        self.attrs.get(section).and_then(|s| s.get(key))
    }

    pub fn text(&self, section: &str, key: &str) -> Option<String> {
        self.get(section, key).and_then(Value::as_text)
    }

    pub fn port(&self, section: &str, key: &str) -> Option<u16> {
        self.get(section, key).and_then(Value::as_port)
    }

    pub fn flag(&self, section: &str, key: &str) -> bool {
        self.get(section, key).is_some_and(Value::truthy)
    }

    /// Evaluates one file on top of what earlier files set (later files override).
    pub fn apply(&mut self, file: &str, source: &str) -> Result<(), RbError> {
        let (tokens, eof_line) = lex(file, source)?;
        let mut parser = Parser {
            file,
            tokens,
            eof_line,
            pos: 0,
            config: self,
        };
        parser.program()
    }

    pub fn parse(file: &str, source: &str) -> Result<RbConfig, RbError> {
        let mut config = RbConfig::default();
        config.apply(file, source)?;
        Ok(config)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Const(String),
    Sym(String),
    /// A double-quoted string: literal pieces and `#{CONST}` interpolations.
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Assign,
    Arrow,
    /// `key:` inside a hash literal.
    Label(String),
    Plus,
    Newline,
}

#[derive(Debug, Clone, PartialEq)]
enum StrPart {
    Lit(String),
    Const(String),
}

fn describe(tok: Option<&Tok>) -> String {
    match tok {
        None => "end-of-input".into(),
        Some(Tok::Ident(_)) => "tIDENTIFIER".into(),
        Some(Tok::Const(_)) => "tCONSTANT".into(),
        Some(Tok::Sym(_)) => "tSYMBEG".into(),
        Some(Tok::Str(_)) => "tSTRING_BEG".into(),
        Some(Tok::Int(_)) => "tINTEGER".into(),
        Some(Tok::Float(_)) => "tFLOAT".into(),
        Some(Tok::LBracket) => "'['".into(),
        Some(Tok::RBracket) => "']'".into(),
        Some(Tok::LBrace) => "'{'".into(),
        Some(Tok::RBrace) => "'}'".into(),
        Some(Tok::Comma) => "','".into(),
        Some(Tok::Assign) => "'='".into(),
        Some(Tok::Arrow) => "tASSOC".into(),
        Some(Tok::Label(_)) => "tLABEL".into(),
        Some(Tok::Plus) => "'+'".into(),
        Some(Tok::Newline) => "'\\n'".into(),
    }
}

/// The tokens with their line numbers, and the line that end-of-input is reported on.
fn lex(file: &str, src: &str) -> Result<(Vec<(Tok, usize)>, usize), RbError> {
    let err = |line: usize, message: String| RbError::Syntax {
        file: file.to_string(),
        line,
        message,
    };
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                out.push((Tok::Newline, line));
                line += 1;
                i += 1;
            }
            ';' => {
                out.push((Tok::Newline, line));
                i += 1;
            }
            ' ' | '\t' | '\r' => i += 1,
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '[' => {
                out.push((Tok::LBracket, line));
                i += 1;
            }
            ']' => {
                out.push((Tok::RBracket, line));
                i += 1;
            }
            '{' => {
                out.push((Tok::LBrace, line));
                i += 1;
            }
            '}' => {
                out.push((Tok::RBrace, line));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, line));
                i += 1;
            }
            '+' => {
                out.push((Tok::Plus, line));
                i += 1;
            }
            '=' if chars.get(i + 1) == Some(&'>') => {
                out.push((Tok::Arrow, line));
                i += 2;
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                return Err(err(line, "syntax error, unexpected ==".into()));
            }
            '=' => {
                out.push((Tok::Assign, line));
                i += 1;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') =>
            {
                let start = i + 1;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Sym(chars[start..i].iter().collect()), line));
            }
            ':' if chars.get(i + 1) == Some(&'"') => {
                // :"quoted symbol"
                i += 1;
                let (parts, end, lines) = lex_string(&chars, i, '"')
                    .ok_or_else(|| err(line, "unterminated string meets end of file".into()))?;
                let text = parts
                    .into_iter()
                    .map(|p| match p {
                        StrPart::Lit(s) => s,
                        StrPart::Const(c) => format!("#{{{c}}}"),
                    })
                    .collect();
                out.push((Tok::Sym(text), line));
                line += lines;
                i = end;
            }
            '"' | '\'' => {
                let (parts, end, lines) = lex_string(&chars, i, c)
                    .ok_or_else(|| err(line, "unterminated string meets end of file".into()))?;
                out.push((Tok::Str(parts), line));
                line += lines;
                i = end;
            }
            '-' | '0'..='9' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                if text.contains('.') {
                    let value = text
                        .parse()
                        .map_err(|_| err(line, format!("syntax error, unexpected '{text}'")))?;
                    out.push((Tok::Float(value), line));
                } else {
                    let value = text
                        .parse()
                        .map_err(|_| err(line, format!("syntax error, unexpected '{text}'")))?;
                    out.push((Tok::Int(value), line));
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&':') && chars.get(i + 1) != Some(&':') {
                    i += 1;
                    out.push((Tok::Label(word), line));
                } else if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                    out.push((Tok::Const(word), line));
                } else {
                    out.push((Tok::Ident(word), line));
                }
            }
            other => {
                return Err(err(line, format!("syntax error, unexpected '{other}'")));
            }
        }
    }
    Ok((out, line))
}

/// Lexes a quoted string starting at `chars[start]` (the quote). Returns its parts, the index
/// after the closing quote and the number of newlines inside; `None` when it never closes.
fn lex_string(chars: &[char], start: usize, quote: char) -> Option<(Vec<StrPart>, usize, usize)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut lines = 0;
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            if !lit.is_empty() || parts.is_empty() {
                parts.push(StrPart::Lit(lit));
            }
            return Some((parts, i + 1, lines));
        }
        if c == '\n' {
            lines += 1;
        }
        if c == '\\' && i + 1 < chars.len() {
            let next = chars[i + 1];
            let escaped = match (quote, next) {
                ('"', 'n') => Some('\n'),
                ('"', 't') => Some('\t'),
                (_, '\\') => Some('\\'),
                (q, n) if n == q => Some(q),
                ('"', other) => Some(other),
                _ => None,
            };
            match escaped {
                Some(e) => lit.push(e),
                None => {
                    lit.push('\\');
                    lit.push(next);
                }
            }
            i += 2;
            continue;
        }
        if quote == '"' && c == '#' && chars.get(i + 1) == Some(&'{') {
            let close = chars[i + 2..].iter().position(|c| *c == '}')? + i + 2;
            let name: String = chars[i + 2..close]
                .iter()
                .collect::<String>()
                .trim()
                .to_string();
            if !lit.is_empty() {
                parts.push(StrPart::Lit(std::mem::take(&mut lit)));
            }
            parts.push(StrPart::Const(name));
            i = close + 1;
            continue;
        }
        lit.push(c);
        i += 1;
    }
    None
}

struct Parser<'a> {
    file: &'a str,
    tokens: Vec<(Tok, usize)>,
    eof_line: usize,
    pos: usize,
    config: &'a mut RbConfig,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map(|(_, l)| *l)
            .unwrap_or(self.eof_line)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        tok
    }

    fn unexpected(&self, expecting: Option<&str>) -> RbError {
        let mut message = format!("syntax error, unexpected {}", describe(self.peek()));
        if let Some(e) = expecting {
            message.push_str(&format!(", expecting {e}"));
        }
        RbError::Syntax {
            file: self.file.to_string(),
            line: self.line(),
            message,
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, tok: Tok, name: &str) -> Result<(), RbError> {
        if self.peek() == Some(&tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(Some(name)))
        }
    }

    fn program(&mut self) -> Result<(), RbError> {
        loop {
            self.skip_newlines();
            let Some(tok) = self.peek().cloned() else {
                return Ok(());
            };
            let line = self.line();
            match tok {
                Tok::Ident(word) if word == "enable_all" => {
                    self.pos += 1;
                    let value = self.expr()?;
                    self.config.enable_all = Some(value.truthy());
                }
                Tok::Ident(section) => {
                    self.pos += 1;
                    let mut path = Vec::new();
                    while self.peek() == Some(&Tok::LBracket) {
                        self.pos += 1;
                        let key = match self.next() {
                            Some(Tok::Sym(s)) => s,
                            Some(Tok::Str(parts)) => self.interpolate(&parts, line)?,
                            _ => {
                                self.pos -= 1;
                                return Err(self.unexpected(Some("tSYMBEG")));
                            }
                        };
                        self.expect(Tok::RBracket, "']'")?;
                        path.push(key);
                    }
                    if path.is_empty() {
                        return Err(self.unexpected(Some("'['")));
                    }
                    self.expect(Tok::Assign, "'='")?;
                    self.skip_newlines();
                    let value = self.expr()?;
                    self.assign(section, path, value);
                }
                Tok::Const(name) => {
                    self.pos += 1;
                    self.expect(Tok::Assign, "'='")?;
                    self.skip_newlines();
                    let value = self.expr()?;
                    self.config.constants.insert(name, value);
                }
                _ => return Err(self.unexpected(None)),
            }
            match self.peek() {
                None | Some(Tok::Newline) => {}
                _ => return Err(self.unexpected(Some("end-of-input"))),
            }
        }
    }

    fn assign(&mut self, section: String, path: Vec<String>, value: Value) {
        let attrs = self.config.attrs.entry(section).or_default();
        let mut keys = path.into_iter();
        let first = keys.next().expect("path is never empty");
        let rest: Vec<String> = keys.collect();
        if rest.is_empty() {
            attrs.insert(first, value);
            return;
        }
        let mut slot = attrs
            .entry(first)
            .or_insert_with(|| Value::Hash(Vec::new()));
        for key in rest.iter().take(rest.len() - 1) {
            if !matches!(slot, Value::Hash(_)) {
                *slot = Value::Hash(Vec::new());
            }
            let k = Value::Str(key.clone());
            if slot.hash_get_mut(&k).is_none() {
                if let Value::Hash(pairs) = slot {
                    pairs.push((k.clone(), Value::Hash(Vec::new())));
                }
            }
            slot = slot.hash_get_mut(&k).expect("inserted above");
        }
        if !matches!(slot, Value::Hash(_)) {
            *slot = Value::Hash(Vec::new());
        }
        let last = Value::Str(rest.last().expect("rest is not empty").clone());
        if let Some(existing) = slot.hash_get_mut(&last) {
            *existing = value;
        } else if let Value::Hash(pairs) = slot {
            pairs.push((last, value));
        }
    }

    fn constant(&self, name: &str, line: usize) -> Result<Value, RbError> {
        self.config
            .constants
            .get(name)
            .cloned()
            .ok_or_else(|| RbError::Name {
                file: self.file.to_string(),
                line,
                constant: name.to_string(),
            })
    }

    fn interpolate(&self, parts: &[StrPart], line: usize) -> Result<String, RbError> {
        let mut out = String::new();
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Const(name) => {
                    let value = self.constant(name, line)?;
                    match value {
                        Value::Str(s) | Value::Sym(s) => out.push_str(&s),
                        Value::Nil => {}
                        other => out.push_str(&other.to_string()),
                    }
                }
            }
        }
        Ok(out)
    }

    fn expr(&mut self) -> Result<Value, RbError> {
        let mut value = self.primary()?;
        while self.peek() == Some(&Tok::Plus) {
            self.pos += 1;
            self.skip_newlines();
            let line = self.line();
            let rhs = self.primary()?;
            value = match (value, rhs) {
                (Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
                (Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_add(b)),
                (Value::Array(mut a), Value::Array(b)) => {
                    a.extend(b);
                    Value::Array(a)
                }
                _ => {
                    return Err(RbError::Syntax {
                        file: self.file.to_string(),
                        line,
                        message: "no implicit conversion into String (TypeError)".into(),
                    })
                }
            };
        }
        Ok(value)
    }

    fn primary(&mut self) -> Result<Value, RbError> {
        let line = self.line();
        match self.next() {
            Some(Tok::Str(parts)) => Ok(Value::Str(self.interpolate(&parts, line)?)),
            Some(Tok::Int(i)) => Ok(Value::Int(i)),
            Some(Tok::Float(x)) => Ok(Value::Float(x)),
            Some(Tok::Sym(s)) => Ok(Value::Sym(s)),
            Some(Tok::Ident(w)) if w == "true" => Ok(Value::Bool(true)),
            Some(Tok::Ident(w)) if w == "false" => Ok(Value::Bool(false)),
            Some(Tok::Ident(w)) if w == "nil" => Ok(Value::Nil),
            Some(Tok::Const(name)) => self.constant(&name, line),
            Some(Tok::LBracket) => {
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.peek() == Some(&Tok::RBracket) {
                        self.pos += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.expr()?);
                    self.skip_newlines();
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBracket) => {}
                        _ => return Err(self.unexpected(Some("']'"))),
                    }
                }
            }
            Some(Tok::LBrace) => {
                let mut pairs = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.peek() == Some(&Tok::RBrace) {
                        self.pos += 1;
                        return Ok(Value::Hash(pairs));
                    }
                    let key = if let Some(Tok::Label(label)) = self.peek().cloned() {
                        self.pos += 1;
                        Value::Sym(label)
                    } else {
                        let key = self.expr()?;
                        self.skip_newlines();
                        self.expect(Tok::Arrow, "tASSOC")?;
                        key
                    };
                    self.skip_newlines();
                    let value = self.expr()?;
                    pairs.push((key, value));
                    self.skip_newlines();
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBrace) => {}
                        _ => return Err(self.unexpected(Some("'}'"))),
                    }
                }
            }
            _ => {
                self.pos -= 1;
                Err(self.unexpected(None))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ha_sample_config_reads_with_constants_and_interpolation() {
        let src = r##"
# Topology
ENDPOINT = "scalr.example.test"
APP_SERVER_1 = '127.0.3.11'
MEMCACHED_PORT = "11211"
enable_all false
routing[:endpoint_host] = ENDPOINT
app[:memcached_servers] = ["#{APP_SERVER_1}:#{MEMCACHED_PORT}",
                           APP_SERVER_1 + ":" + MEMCACHED_PORT]
mysql[:bind_port] = 3306  # comment after a value
proxy[:ssl_enable] = false
app[:configuration] = {
  "scalr" => { "gce" => { "instances_connection_policy" => "local" } },
  system: nil,
}
web[:enable] = ['app']
"##;
        let cfg = RbConfig::parse("scalr-server.rb", src).unwrap();
        assert_eq!(cfg.enable_all, Some(false));
        assert_eq!(
            cfg.text("routing", "endpoint_host").as_deref(),
            Some("scalr.example.test")
        );
        assert_eq!(
            cfg.get("app", "memcached_servers"),
            Some(&Value::Array(vec![
                Value::Str("127.0.3.11:11211".into()),
                Value::Str("127.0.3.11:11211".into())
            ]))
        );
        assert_eq!(cfg.port("mysql", "bind_port"), Some(3306));
        assert!(!cfg.flag("proxy", "ssl_enable"));
        assert!(cfg.flag("web", "enable"));
    }

    #[test]
    fn the_local_file_overrides_the_main_file() {
        let mut cfg = RbConfig::parse(
            "scalr-server.rb",
            "enable_all false\nmysql[:binlog] = false\n",
        )
        .unwrap();
        cfg.apply(
            "scalr-server-local.rb",
            "mysql[:enable] = true\nmysql[:binlog] = true\n",
        )
        .unwrap();
        assert!(cfg.flag("mysql", "binlog"));
        assert!(cfg.flag("mysql", "enable"));
    }

    #[test]
    fn nested_keys_build_hashes() {
        let cfg = RbConfig::parse("f.rb", "app[:configuration][:scalr][:x] = 1\n").unwrap();
        assert_eq!(
            cfg.get("app", "configuration").unwrap().to_string(),
            r#"{"scalr" => {"x" => 1}}"#
        );
    }

    #[test]
    fn an_unterminated_string_is_a_ruby_syntax_error_with_its_line() {
        let err = RbConfig::parse(
            "/etc/scalr-server/scalr-server.rb",
            "a[:b] = 1\nrouting[:endpoint_host] = \"x\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/scalr-server/scalr-server.rb:2: unterminated string meets end of file"
        );
    }

    #[test]
    fn an_unbalanced_bracket_is_reported_as_unexpected_end_of_input() {
        let err = RbConfig::parse("f.rb", "app[:ip_ranges] = [\"127.0.0.1/32\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.rb:2: syntax error, unexpected end-of-input, expecting ']'"
        );
    }

    #[test]
    fn junk_is_a_syntax_error() {
        let err = RbConfig::parse("f.rb", "mysql[:enable] = true true\n").unwrap_err();
        assert!(matches!(err, RbError::Syntax { line: 1, .. }), "{err}");
        assert!(RbConfig::parse("f.rb", "@@@\n").is_err());
        assert!(RbConfig::parse("f.rb", "mysql[:enable] true\n").is_err());
    }

    #[test]
    fn an_undefined_constant_is_a_name_error_not_a_syntax_error() {
        let err = RbConfig::parse("f.rb", "routing[:endpoint_host] = ENDPOINT\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.rb:1: uninitialized constant ENDPOINT (NameError)"
        );
    }
}

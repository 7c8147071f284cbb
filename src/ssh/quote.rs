//! The one way a value reaches a remote shell: POSIX single quotes.
//!
//! Every argument is wrapped in `'…'` (with `'` written as `'\''`) unless it consists only of
//! characters no shell treats specially. NUL cannot be passed through any shell and is refused.

use std::fmt;

/// A value that cannot be quoted for a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteError;

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value contains a NUL byte, which no shell can carry")
    }
}

impl std::error::Error for QuoteError {}

fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '=' | '+' | '@' | '%')
}

/// Quote one word for a POSIX shell.
pub fn sh_quote(value: &str) -> Result<String, QuoteError> {
    if value.contains('\0') {
        return Err(QuoteError);
    }
    // `=` and `@` are harmless inside a word but a leading `=`/`~` can be special in zsh/bash.
    if !value.is_empty() && value.chars().all(is_plain) && !value.starts_with(['=', '~']) {
        return Ok(value.to_string());
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Ok(quoted)
}

/// A remote command line built from a program and quoted arguments.
///
/// ```
/// use scalr_installer::ssh::ShellCommand;
/// let cmd = ShellCommand::new("mkdir").arg("-p")?.arg("/etc/scalr server")?;
/// assert_eq!(cmd.as_str(), "mkdir -p '/etc/scalr server'");
/// # Ok::<(), scalr_installer::ssh::QuoteError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    line: String,
}

impl ShellCommand {
    /// Start with a literal program name or shell fragment written by us (never user input).
    pub fn new(program: &str) -> Self {
        ShellCommand {
            line: program.to_string(),
        }
    }

    /// Append one quoted argument.
    pub fn arg(mut self, value: impl AsRef<str>) -> Result<Self, QuoteError> {
        self.line.push(' ');
        self.line.push_str(&sh_quote(value.as_ref())?);
        Ok(self)
    }

    /// Append several quoted arguments.
    pub fn args<I, S>(mut self, values: I) -> Result<Self, QuoteError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for v in values {
            self = self.arg(v)?;
        }
        Ok(self)
    }

    /// Append a literal fragment written by us (`&&`, `|`, `2>&1`), unquoted.
    pub fn raw(mut self, fragment: &str) -> Self {
        self.line.push(' ');
        self.line.push_str(fragment);
        self
    }

    pub fn as_str(&self) -> &str {
        &self.line
    }

    pub fn into_string(self) -> String {
        self.line
    }
}

impl fmt::Display for ShellCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

/// `sh -c '<script>' sh <args…>`: runs a fixed script of ours with values as positional
/// parameters, so the script never needs to splice a value into its text.
pub fn sh_script<I, S>(script: &str, args: I) -> Result<String, QuoteError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    Ok(ShellCommand::new("sh -c")
        .arg(script)?
        .arg("sh")?
        .args(args)?
        .into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(
            sh_quote("/etc/scalr-server/scalr-server.rb").unwrap(),
            "/etc/scalr-server/scalr-server.rb"
        );
    }

    #[test]
    fn empty_and_special_values_are_single_quoted() {
        assert_eq!(sh_quote("").unwrap(), "''");
        assert_eq!(sh_quote("a b").unwrap(), "'a b'");
        assert_eq!(sh_quote("it's").unwrap(), "'it'\\''s'");
        assert_eq!(sh_quote("$(reboot)").unwrap(), "'$(reboot)'");
        assert_eq!(sh_quote("~root").unwrap(), "'~root'");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(sh_quote("a\0b"), Err(QuoteError));
    }
}

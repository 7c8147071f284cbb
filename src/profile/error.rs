//! Why a profile was refused: every problem, each pointing at a file, line, column and key.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `hosts[2].address`; absent for syntax errors outside any key.
    pub key: Option<String>,
    /// 1-based; 0 when the problem has no place in the file (e.g. an empty file).
    pub line: usize,
    pub column: usize,
    /// What is wrong, then what would be right.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{}: cannot read the profile: {source} — check the path, or create one with `scalr-installer wizard`", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ProfileError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ProfileError::Read { .. } => &[],
            ProfileError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_problems(path: &std::path::Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.display_for(path).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Problem {
    /// `profiles/ha.toml:14:11: hosts[2].address: …`
    pub fn display_for<'a>(&'a self, path: &'a std::path::Path) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Problem, &'a std::path::Path);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (p, path) = (self.0, self.1);
                write!(f, "{}", path.display())?;
                if p.line > 0 {
                    write!(f, ":{}:{}", p.line, p.column)?;
                }
                if let Some(key) = &p.key {
                    write!(f, ": {key}")?;
                }
                write!(f, ": {}", p.message)
            }
        }
        D(self, path)
    }
}

//! Diagnostics: every problem found in a policy, with where it is (byte span, turned into
//! line:column for display), what is wrong, and a hint.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// How bad a problem is: errors make a policy unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Byte range in the source text.
    pub span: Range<usize>,
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column (in characters) of the span's start.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The message for a reader of `lang` (`ja` or `en`): the checker's English, or
    /// its Japanese from the checker's templates (`diag_ja`).
    pub fn message_for(&self, lang: &str) -> String {
        match lang {
            "ja" => crate::diag_ja::message(&self.message).unwrap_or_else(|| self.message.clone()),
            _ => self.message.clone(),
        }
    }

    /// The hint for a reader of `lang` (`ja` or `en`), like [`Diagnostic::message_for`].
    pub fn hint_for(&self, lang: &str) -> Option<String> {
        let h = self.hint.as_deref()?;
        Some(match lang {
            "ja" => crate::diag_ja::hint(h).unwrap_or_else(|| h.to_string()),
            _ => h.to_string(),
        })
    }

    /// `FILE:LINE:COL: error: MESSAGE` and, on the next line, `  hint: HINT`.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayDiag { d: self, file }
    }
}

struct DisplayDiag<'a> {
    d: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}: {}",
            self.file, self.d.line, self.d.column, self.d.message
        )?;
        if let Some(h) = &self.d.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics while a document is read; turns byte offsets into line:column.
pub(crate) struct Sink<'s> {
    src: &'s str,
    line_starts: Vec<usize>,
    pub(crate) diags: Vec<Diagnostic>,
}

impl<'s> Sink<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Sink {
            src,
            line_starts,
            diags: Vec::new(),
        }
    }

    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        // Column in characters; a span never starts inside a character, but be safe.
        let mut end = offset;
        while end > start && !self.src.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.src[start..end].chars().count() + 1;
        (line + 1, column)
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (line, column) = self.line_col(span.start);
        self.diags.push(Diagnostic {
            severity,
            span,
            line,
            column,
            message: message.into(),
            hint,
        });
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>, hint: &str) {
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        self.push(Severity::Error, span, message, hint);
    }

    pub(crate) fn warning(&mut self, span: Range<usize>, message: impl Into<String>, hint: &str) {
        let hint = (!hint.is_empty()).then(|| hint.to_string());
        self.push(Severity::Warning, span, message, hint);
    }
}

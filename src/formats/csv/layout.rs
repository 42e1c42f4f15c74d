//! CSV layout files (`mappings/csv/<name>.toml`): how one partner's or
//! ERP's CSV export is read.
//!
//! A layout says how the file is written (delimiter, quote, header row,
//! encoding, decimal mark, date formats), which column groups rows into
//! documents (`group_by`, e.g. the order number: one order per distinct
//! value, rows in any order), and which column feeds which canonical field,
//! for the document (`[document]`, read from the group's first row) and for
//! each row's line (`[line]`). Columns are named by their header (`"PO_NUMBER"`)
//! or by 1-based position (`"#5"`); `"=text"` is a literal and `"@file"` the
//! input file's name without extension.
//!
//! ```toml
//! [layout]
//! document_type = "order"
//! delimiter = ";"
//! header = true
//! encoding = "windows-1252"
//! decimal = ","
//! date_formats = ["%d/%m/%Y"]
//! group_by = "Commande"
//!
//! [document]
//! number = "Commande"
//! "date:document" = "Date"
//! "party:buyer.gln" = "GLN client"
//!
//! [line]
//! gtin = "EAN"
//! quantity = "Qté"
//! net_price = "Prix net"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::DocumentType;

/// A layout file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutFile {
    pub layout: LayoutSpec,
    /// Document field → source.
    #[serde(default)]
    pub document: BTreeMap<String, String>,
    /// Line field → source.
    #[serde(default)]
    pub line: BTreeMap<String, String>,
}

/// How the file is written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    /// Canonical document type (`order`, `stock_report`, `price_catalogue`…).
    pub document_type: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Partner ids this layout is used for (`--partner`).
    #[serde(default)]
    pub partners: Vec<String>,
    /// Field delimiter (one character; `\t` for tabs).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Quote character; empty for none.
    #[serde(default = "dquote")]
    pub quote: String,
    /// The first row holds column names.
    #[serde(default)]
    pub header: bool,
    /// For files without a header: the number of columns that identifies
    /// this layout when no layout is named.
    #[serde(default)]
    pub detect_columns: Option<usize>,
    /// `utf-8`, `windows-1252`, `iso-8859-1`… (a BOM always wins).
    #[serde(default = "utf8")]
    pub encoding: String,
    /// Decimal mark: `.` or `,`.
    #[serde(default = "dot")]
    pub decimal: String,
    /// chrono formats tried in order for date fields.
    #[serde(default = "default_dates")]
    pub date_formats: Vec<String>,
    /// Column whose value groups rows into documents; one document for the
    /// whole file when absent.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Rows whose group column is empty are skipped (trailer rows).
    #[serde(default)]
    pub skip_empty_group: bool,
}

fn comma() -> String {
    ",".into()
}
fn dquote() -> String {
    "\"".into()
}
fn utf8() -> String {
    "utf-8".into()
}
fn dot() -> String {
    ".".into()
}
fn default_dates() -> Vec<String> {
    vec!["%Y%m%d".into(), "%Y-%m-%d".into()]
}

/// Why a layout cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// Header name.
    Name(String),
    /// 0-based position.
    Index(usize),
    Literal(String),
    FileName,
}

impl Column {
    fn parse(s: &str) -> Result<Column, String> {
        if let Some(lit) = s.strip_prefix('=') {
            Ok(Column::Literal(lit.to_string()))
        } else if s == "@file" {
            Ok(Column::FileName)
        } else if let Some(n) = s.strip_prefix('#') {
            match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Column::Index(n - 1)),
                _ => Err(format!("bad column position {s:?}: expected #1, #2…")),
            }
        } else if s.is_empty() {
            Err("empty column name".into())
        } else {
            Ok(Column::Name(s.to_string()))
        }
    }
}

/// A loaded, checked layout.
#[derive(Debug, Clone)]
pub struct Layout {
    pub name: String,
    pub file: PathBuf,
    pub spec: LayoutSpec,
    pub document_type: DocumentType,
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub encoding: &'static encoding_rs::Encoding,
    pub decimal_comma: bool,
    pub group_by: Option<Column>,
    pub document: Vec<(String, Column)>,
    pub line: Vec<(String, Column)>,
}

const DOCUMENT_FIELDS: &[&str] = &[
    "number",
    "document_code",
    "currency",
    "note",
    "delivery_terms",
];
const LINE_FIELDS: &[&str] = &[
    "number",
    "gtin",
    "seller_item_code",
    "buyer_item_code",
    "description",
    "quantity",
    "unit",
    "net_price",
    "gross_price",
    "price_basis",
    "amount",
    "tax_rate",
    "tax_category",
    "batch",
];
const PARTY_FIELDS: &[&str] = &[
    "gln",
    "id",
    "name",
    "street",
    "city",
    "postal_code",
    "region",
    "country",
    "vat_id",
    "siret",
];

fn check_field(name: &str, line: bool) -> bool {
    if let Some(kind) = name
        .strip_prefix("date:")
        .or_else(|| name.strip_prefix("reference:"))
    {
        return !kind.is_empty();
    }
    if line {
        return LINE_FIELDS.contains(&name)
            || name
                .strip_prefix("quantity:")
                .is_some_and(|k| !k.is_empty());
    }
    if let Some(rest) = name.strip_prefix("party:") {
        return rest
            .split_once('.')
            .is_some_and(|(role, f)| !role.is_empty() && PARTY_FIELDS.contains(&f));
    }
    DOCUMENT_FIELDS.contains(&name)
}

fn one_byte(file: &str, what: &str, s: &str) -> Result<u8, LayoutError> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(LayoutError::Invalid {
            file: file.to_string(),
            message: format!("{what} must be one ASCII character, not {s:?}"),
        }),
    }
}

impl Layout {
    /// Reads and checks one layout file.
    pub fn load(path: &Path) -> Result<Layout, LayoutError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LayoutError::Io {
            file: file.clone(),
            source,
        })?;
        let f: LayoutFile = toml::from_str(&text).map_err(|e| LayoutError::Invalid {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| LayoutError::Invalid {
            file: file.clone(),
            message,
        };
        let spec = f.layout;
        let document_type = DocumentType::from_name(&spec.document_type)
            .ok_or_else(|| invalid(format!("unknown document_type {:?}", spec.document_type)))?;
        let delimiter = one_byte(&file, "delimiter", &spec.delimiter)?;
        let quote = if spec.quote.is_empty() {
            None
        } else {
            Some(one_byte(&file, "quote", &spec.quote)?)
        };
        let encoding = encoding_rs::Encoding::for_label(spec.encoding.as_bytes())
            .ok_or_else(|| invalid(format!("unknown encoding {:?}", spec.encoding)))?;
        let decimal_comma = match spec.decimal.as_str() {
            "." => false,
            "," => true,
            other => {
                return Err(invalid(format!(
                    "decimal must be \".\" or \",\", not {other:?}"
                )))
            }
        };
        let group_by = spec
            .group_by
            .as_deref()
            .map(Column::parse)
            .transpose()
            .map_err(|m| invalid(format!("group_by: {m}")))?;
        let fields = |map: &BTreeMap<String, String>, line: bool| {
            map.iter()
                .map(|(k, v)| {
                    if !check_field(k, line) {
                        let section = if line { "line" } else { "document" };
                        return Err(invalid(format!("unknown {section} field {k:?}")));
                    }
                    Column::parse(v)
                        .map(|c| (k.clone(), c))
                        .map_err(|m| invalid(format!("{k}: {m}")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let document = fields(&f.document, false)?;
        let line = fields(&f.line, true)?;
        let uses_names = group_by
            .iter()
            .chain(document.iter().map(|(_, c)| c))
            .chain(line.iter().map(|(_, c)| c))
            .any(|c| matches!(c, Column::Name(_)));
        if uses_names && !spec.header {
            return Err(invalid(
                "columns are named but `header` is false: use #positions".into(),
            ));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Layout {
            name,
            file: path.to_path_buf(),
            spec,
            document_type,
            delimiter,
            quote,
            encoding,
            decimal_comma,
            group_by,
            document,
            line,
        })
    }

    /// Every column name this layout reads (for header matching).
    pub fn column_names(&self) -> Vec<&str> {
        self.group_by
            .iter()
            .chain(self.document.iter().map(|(_, c)| c))
            .chain(self.line.iter().map(|(_, c)| c))
            .filter_map(|c| match c {
                Column::Name(n) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Loads every layout under `dir` (sorted by name). A missing directory
/// is no layout at all.
pub fn load_layouts(dir: &Path) -> Result<Vec<Layout>, LayoutError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LayoutError::Io {
                file: dir.display().to_string(),
                source,
            })
        }
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Layout::load(p)).collect()
}

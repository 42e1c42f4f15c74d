//! All mappings of a `mappings/` directory, and partner overrides.
//!
//! [`Registry::load`] reads every message mapping (files with a `[message]`
//! section; rules files are only read through `include`) and every partner
//! override under `partners/`. [`Registry::mapping`] finds the mapping for a
//! message type and directory (exact directory, else the type's fallback,
//! else the generic `*` mapping) and, for a partner, the partner's variant.
//! Every variant is compiled at load time, so a broken partner file is
//! reported by `comptoir check` and a loaded registry is immutable: reloading
//! means loading a new one and swapping it in.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::compile::{apply_rules, merge, read_file, CompiledMapping, MappingError};
use super::spec::MappingFile;
use crate::formats::edifact::EnvelopePolicy;

/// A trading partner's mapping overrides.
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub name: Option<String>,
    /// Interchange sender ids (UNB 0004) that select this partner.
    pub identifiers: Vec<String>,
    pub file: PathBuf,
    spec: MappingFile,
}

impl Partner {
    /// The partner's envelope policy, when it sets one.
    pub fn envelope(&self) -> Option<EnvelopePolicy> {
        self.spec.envelope
    }
}

/// Every error found while loading a mappings directory.
#[derive(Debug)]
pub struct MappingErrors(pub Vec<MappingError>);

impl fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingErrors {}

/// The loaded mappings.
#[derive(Debug)]
pub struct Registry {
    root: PathBuf,
    mappings: Vec<CompiledMapping>,
    partners: Vec<Partner>,
    /// (mapping index, partner id) → the partner's variant.
    variants: HashMap<(usize, String), CompiledMapping>,
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            // mappings/xml holds XML mappings, read by formats::xml.
            if e.file_name() == "xml" {
                continue;
            }
            toml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

impl Registry {
    /// Loads every mapping and partner file under `dir`.
    pub fn load(dir: &Path) -> Result<Registry, MappingErrors> {
        let mut files = Vec::new();
        toml_files(dir, &mut files).map_err(|source| {
            MappingErrors(vec![MappingError::Io {
                file: dir.display().to_string(),
                source,
            }])
        })?;
        // `csv/` holds CSV layouts (read by `formats::csv`), not mappings.
        files.retain(|p| !p.starts_with(dir.join("csv")));
        let mut errors = Vec::new();
        let mut mappings = Vec::new();
        let mut partners = Vec::new();
        for path in files {
            let f = match read_file(&path) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(p) = &f.partner {
                partners.push(Partner {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    identifiers: p.identifiers.clone(),
                    file: path.clone(),
                    spec: f.clone(),
                });
                continue;
            }
            if f.message.is_none() {
                continue; // a rules or code-table file, read through includes
            }
            match merge(&path).and_then(CompiledMapping::compile) {
                Ok(m) => mappings.push(m),
                Err(e) => errors.push(e),
            }
        }
        let mut variants = HashMap::new();
        for p in &partners {
            for (i, base) in mappings.iter().enumerate() {
                match variant(base, p) {
                    Ok(v) => {
                        variants.insert((i, p.id.clone()), v);
                    }
                    Err(e) => {
                        errors.push(e);
                        break;
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Registry {
                root: dir.to_path_buf(),
                mappings,
                partners,
                variants,
            })
        } else {
            Err(MappingErrors(errors))
        }
    }

    /// The directory the mappings came from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every message mapping.
    pub fn mappings(&self) -> &[CompiledMapping] {
        &self.mappings
    }

    /// Every partner override.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    /// The partner with this id.
    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.id == id)
    }

    /// The partner whose identifiers include this interchange sender.
    pub fn partner_for_sender(&self, sender: &str) -> Option<&Partner> {
        self.partners
            .iter()
            .find(|p| p.identifiers.iter().any(|i| i == sender))
    }

    fn find(&self, message_type: &str, directory: &str) -> Option<usize> {
        let ms = &self.mappings;
        ms.iter()
            .position(|m| {
                m.message_type == message_type
                    && m.directories.iter().any(|d| d == directory || d == "*")
            })
            .or_else(|| {
                ms.iter()
                    .position(|m| m.message_type == message_type && m.fallback)
            })
            .or_else(|| ms.iter().position(|m| m.message_type == "*"))
    }

    /// The mapping for a message, with the partner's overrides applied.
    pub fn mapping(
        &self,
        message_type: &str,
        directory: &str,
        partner: Option<&Partner>,
    ) -> Option<&CompiledMapping> {
        let i = self.find(message_type, directory)?;
        match partner {
            Some(p) => self.variants.get(&(i, p.id.clone())),
            None => self.mappings.get(i),
        }
    }
}

/// Compiles `base` with a partner's overrides applied.
fn variant(base: &CompiledMapping, partner: &Partner) -> Result<CompiledMapping, MappingError> {
    let mut spec = base.spec.clone();
    let file = partner.file.display().to_string();
    for (name, table) in &partner.spec.codes {
        spec.codes
            .entry(name.clone())
            .or_default()
            .extend(table.clone());
    }
    let rules: Vec<_> = partner
        .spec
        .rules
        .iter()
        .filter(|r| r.message.as_deref().is_none_or(|m| m == spec.message_type))
        .cloned()
        .collect();
    apply_rules(&mut spec, &file, &rules, &partner.spec.disable);
    spec.checks.extend(
        partner
            .spec
            .checks
            .iter()
            .cloned()
            .map(|c| (file.clone(), c)),
    );
    if partner.spec.defaults.currency.is_some() {
        spec.defaults
            .currency
            .clone_from(&partner.spec.defaults.currency);
    }
    if partner.spec.defaults.unit.is_some() {
        spec.defaults.unit.clone_from(&partner.spec.defaults.unit);
    }
    if partner.spec.envelope.is_some() {
        spec.envelope = partner.spec.envelope;
    }
    CompiledMapping::compile(spec)
}

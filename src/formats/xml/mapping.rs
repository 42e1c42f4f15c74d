//! XML mapping files (`mappings/xml/*.toml`): format, loading, compilation.
//!
//! A mapping names a root element (namespace URI + local name) and says
//! which element paths open canonical objects (a line, a party …) and which
//! set canonical fields. Paths are written with the prefixes the file
//! declares under `[namespaces]`, never the ones a partner's file happens to
//! use: matching is on namespace URI + local name. The format is described
//! in `mappings/README-xml.md`.
//!
//! Compilation turns every object's field paths into a trie keyed by
//! (namespace id, local name), so following the document costs one short
//! scan per element.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mapping::target::{Kind, Target};
use crate::model::DocumentType;

/// Why a mapping file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum XmlMappingError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

// ---------------------------------------------------------------- file format

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    document: Option<DocSpec>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    namespaces: BTreeMap<String, String>,
    #[serde(default)]
    codes: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    templates: BTreeMap<String, BTreeMap<String, FieldSpec>>,
    #[serde(default)]
    fields: BTreeMap<String, FieldSpec>,
    #[serde(default, rename = "use")]
    uses: Vec<String>,
    #[serde(default)]
    objects: BTreeMap<String, ObjectSpec>,
    #[serde(default)]
    idoc: Option<IdocSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocSpec {
    /// `prefix:Local` or a list of them.
    root: OneOrMany,
    document_type: String,
    message_type: String,
    #[serde(default)]
    standard: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FieldSpec {
    One(String),
    // Before `Rule`: a struct also deserializes from a sequence.
    Many(Vec<FieldItem>),
    Rule(RuleSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FieldItem {
    One(String),
    Rule(RuleSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    target: String,
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    when: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    unless: BTreeMap<String, OneOrMany>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectSpec {
    path: OneOrMany,
    new: String,
    #[serde(default, rename = "in")]
    parent: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    fields: BTreeMap<String, FieldSpec>,
    #[serde(default, rename = "use")]
    uses: Vec<String>,
    /// For `new = "qualified"`: the base target (`date`, `reference`,
    /// `line.item` …) whose kind is the qualifier looked up in `table`;
    /// without it, the table gives whole target names.
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    table: Option<String>,
}

/// Flat IDoc record layouts: field name and width, in order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdocSpec {
    #[serde(default)]
    pub control: Vec<(String, usize)>,
    #[serde(default)]
    pub segments: BTreeMap<String, Vec<(String, usize)>>,
}

// ---------------------------------------------------------------- compiled

/// Targets XML rules can set: the canonical [`Target`]s plus a few that only
/// XML needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XTarget {
    Canonical(Target),
    /// The document type, through a code table (CII `TypeCode` 381 → credit note).
    DocumentType,
    OriginVersion,
    OriginProfile,
    OriginSender,
    OriginRecipient,
    OriginMessageRef,
    /// Inside a `qualified` object: the qualifier.
    Qualifier,
    /// Inside a `qualified` object: the value.
    Value,
}

/// What kind of object an element opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewKind {
    Party,
    Line,
    Allowance,
    PaymentTerms,
    Tax,
    Package,
    Note,
    Contact,
    /// A qualifier/value pair resolved when the element closes (IDoc
    /// E1EDK03 `IDDAT` + `DATUM`).
    Qualified,
}

/// One field rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub target: XTarget,
    /// Read an attribute of the element instead of its text.
    pub attr: Option<String>,
    pub table: Option<usize>,
    pub when: Vec<(String, Vec<String>)>,
    pub unless: Vec<(String, Vec<String>)>,
}

/// A node of an object's path trie.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub children: Vec<(u16, Box<str>, u32)>,
    pub rules: Vec<Rule>,
    pub open: Option<usize>,
}

/// An object definition.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub new: Option<NewKind>,
    pub set: Vec<(XTarget, String)>,
    pub root: u32,
    /// Qualified objects: base target with table kind, or table of targets.
    pub qualified_base: Option<String>,
    pub qualified_table: Option<usize>,
}

/// A compiled XML mapping.
#[derive(Debug, Clone)]
pub struct XmlMapping {
    pub file: PathBuf,
    /// Accepted root elements: (namespace URI, local name).
    pub roots: Vec<(String, String)>,
    pub document_type: DocumentType,
    pub message_type: String,
    pub standard: Option<String>,
    /// Namespace URI → id used in the tries (ids start at 1; 0 is "no namespace").
    pub namespaces: HashMap<String, u16>,
    pub tables: Vec<BTreeMap<String, String>>,
    pub table_names: Vec<String>,
    pub nodes: Vec<Node>,
    /// Object 0 is the document itself.
    pub objects: Vec<ObjectDef>,
}

impl XmlMapping {
    /// The child of trie node `node` for an element.
    pub fn child(&self, node: u32, ns: u16, local: &str) -> Option<u32> {
        self.nodes
            .get(node as usize)?
            .children
            .iter()
            .find_map(|(n, l, c)| {
                if *n == ns && &**l == local {
                    Some(*c)
                } else {
                    None
                }
            })
    }

    /// The namespace id of a URI, `u16::MAX` for one the mapping ignores.
    pub fn ns_id(&self, uri: &str) -> u16 {
        if uri.is_empty() {
            return 0;
        }
        self.namespaces.get(uri).copied().unwrap_or(u16::MAX)
    }

    /// Looks `code` up in table `t`.
    pub fn lookup(&self, t: usize, code: &str) -> Option<&str> {
        self.tables.get(t)?.get(code).map(String::as_str)
    }
}

/// Every XML mapping, plus the flat IDoc record layouts.
#[derive(Debug, Clone, Default)]
pub struct XmlMappings {
    pub mappings: Vec<XmlMapping>,
    pub idoc: IdocSpec,
}

/// Built-in copies of `mappings/xml`, for callers without a mappings folder.
const BUILTIN: &[(&str, &str)] = &[
    (
        "common/ubl.toml",
        include_str!("../../../mappings/xml/common/ubl.toml"),
    ),
    (
        "common/cii.toml",
        include_str!("../../../mappings/xml/common/cii.toml"),
    ),
    (
        "common/idoc.toml",
        include_str!("../../../mappings/xml/common/idoc.toml"),
    ),
    (
        "idoc-segments.toml",
        include_str!("../../../mappings/xml/idoc-segments.toml"),
    ),
    (
        "ubl-invoice.toml",
        include_str!("../../../mappings/xml/ubl-invoice.toml"),
    ),
    (
        "ubl-creditnote.toml",
        include_str!("../../../mappings/xml/ubl-creditnote.toml"),
    ),
    (
        "ubl-order.toml",
        include_str!("../../../mappings/xml/ubl-order.toml"),
    ),
    (
        "ubl-orderresponse.toml",
        include_str!("../../../mappings/xml/ubl-orderresponse.toml"),
    ),
    (
        "ubl-despatchadvice.toml",
        include_str!("../../../mappings/xml/ubl-despatchadvice.toml"),
    ),
    (
        "ubl-inventoryreport.toml",
        include_str!("../../../mappings/xml/ubl-inventoryreport.toml"),
    ),
    (
        "ubl-stockavailability.toml",
        include_str!("../../../mappings/xml/ubl-stockavailability.toml"),
    ),
    (
        "ubl-catalogue.toml",
        include_str!("../../../mappings/xml/ubl-catalogue.toml"),
    ),
    (
        "ubl-applicationresponse.toml",
        include_str!("../../../mappings/xml/ubl-applicationresponse.toml"),
    ),
    (
        "cii-invoice.toml",
        include_str!("../../../mappings/xml/cii-invoice.toml"),
    ),
    (
        "cii-zugferd1.toml",
        include_str!("../../../mappings/xml/cii-zugferd1.toml"),
    ),
    (
        "cii-order-x.toml",
        include_str!("../../../mappings/xml/cii-order-x.toml"),
    ),
    (
        "idoc-orders.toml",
        include_str!("../../../mappings/xml/idoc-orders.toml"),
    ),
    (
        "idoc-invoic.toml",
        include_str!("../../../mappings/xml/idoc-invoic.toml"),
    ),
    (
        "idoc-desadv.toml",
        include_str!("../../../mappings/xml/idoc-desadv.toml"),
    ),
    (
        "idoc-wp-plu.toml",
        include_str!("../../../mappings/xml/idoc-wp-plu.toml"),
    ),
];

trait Source {
    fn read(&self, rel: &Path) -> Result<String, XmlMappingError>;
}

struct Dir(PathBuf);
impl Source for Dir {
    fn read(&self, rel: &Path) -> Result<String, XmlMappingError> {
        let p = self.0.join(rel);
        std::fs::read_to_string(&p).map_err(|source| XmlMappingError::Io {
            file: p.display().to_string(),
            source,
        })
    }
}

struct Builtin;
impl Source for Builtin {
    fn read(&self, rel: &Path) -> Result<String, XmlMappingError> {
        let key = rel.to_string_lossy().replace('\\', "/");
        BUILTIN
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| XmlMappingError::Invalid {
                file: key.clone(),
                message: "no such built-in mapping file".into(),
            })
    }
}

fn parse(src: &dyn Source, rel: &Path) -> Result<FileSpec, XmlMappingError> {
    let text = src.read(rel)?;
    toml::from_str(&text).map_err(|e| XmlMappingError::Toml {
        file: rel.display().to_string(),
        message: e.to_string(),
    })
}

/// Merges `include`d files (namespaces, codes, templates, idoc layouts).
fn merged(src: &dyn Source, rel: &Path, depth: u32) -> Result<FileSpec, XmlMappingError> {
    let mut f = parse(src, rel)?;
    if depth > 8 {
        return Err(XmlMappingError::Invalid {
            file: rel.display().to_string(),
            message: "includes nested too deep".into(),
        });
    }
    let base = rel.parent().unwrap_or(Path::new(""));
    for inc in f.include.clone() {
        let g = merged(src, &base.join(&inc), depth + 1)?;
        for (k, v) in g.namespaces {
            f.namespaces.entry(k).or_insert(v);
        }
        for (k, v) in g.codes {
            f.codes.entry(k).or_insert(v);
        }
        for (k, v) in g.templates {
            f.templates.entry(k).or_insert(v);
        }
    }
    Ok(f)
}

impl XmlMappings {
    /// Loads every mapping under `dir` (normally `mappings/xml`).
    pub fn load(dir: &Path) -> Result<XmlMappings, XmlMappingError> {
        let mut rels = Vec::new();
        collect(dir, Path::new(""), &mut rels)?;
        rels.sort();
        Self::build(&Dir(dir.to_path_buf()), &rels)
    }

    /// The mappings compiled into the binary (copies of `mappings/xml`).
    pub fn builtin() -> Result<XmlMappings, XmlMappingError> {
        let rels: Vec<PathBuf> = BUILTIN.iter().map(|(n, _)| PathBuf::from(n)).collect();
        Self::build(&Builtin, &rels)
    }

    fn build(src: &dyn Source, rels: &[PathBuf]) -> Result<XmlMappings, XmlMappingError> {
        let mut out = XmlMappings::default();
        for rel in rels {
            let f = merged(src, rel, 0)?;
            if let Some(idoc) = &f.idoc {
                if !idoc.control.is_empty() {
                    out.idoc.control = idoc.control.clone();
                }
                for (k, v) in &idoc.segments {
                    out.idoc.segments.insert(k.clone(), v.clone());
                }
            }
            if f.document.is_some() {
                out.mappings.push(compile(&f, rel)?);
            }
        }
        Ok(out)
    }

    /// The mapping for a root element.
    pub fn for_root(&self, ns: &str, local: &str) -> Option<&XmlMapping> {
        self.mappings
            .iter()
            .find(|m| m.roots.iter().any(|(n, l)| n == ns && l == local))
    }
}

fn collect(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), XmlMappingError> {
    let full = dir.join(rel);
    let rd = std::fs::read_dir(&full).map_err(|source| XmlMappingError::Io {
        file: full.display().to_string(),
        source,
    })?;
    for e in rd {
        let e = e.map_err(|source| XmlMappingError::Io {
            file: full.display().to_string(),
            source,
        })?;
        let name = PathBuf::from(e.file_name());
        let p = e.path();
        if p.is_dir() {
            collect(dir, &rel.join(&name), out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(rel.join(name));
        }
    }
    Ok(())
}

struct Compiler<'f> {
    file: String,
    spec: &'f FileSpec,
    ns: HashMap<String, u16>,
    tables: Vec<BTreeMap<String, String>>,
    table_names: Vec<String>,
    nodes: Vec<Node>,
}

impl Compiler<'_> {
    fn err(&self, message: impl Into<String>) -> XmlMappingError {
        XmlMappingError::Invalid {
            file: self.file.clone(),
            message: message.into(),
        }
    }

    fn table(&mut self, name: &str) -> Result<usize, XmlMappingError> {
        if let Some(i) = self.table_names.iter().position(|n| n == name) {
            return Ok(i);
        }
        let t = self
            .spec
            .codes
            .get(name)
            .ok_or_else(|| self.err(format!("unknown code table {name:?}")))?;
        self.tables.push(t.clone());
        self.table_names.push(name.to_string());
        Ok(self.tables.len() - 1)
    }

    /// `prefix:local` → (namespace URI, local).
    fn qname(&self, step: &str) -> Result<(String, String), XmlMappingError> {
        match step.split_once(':') {
            Some((p, l)) => {
                let uri = self
                    .spec
                    .namespaces
                    .get(p)
                    .ok_or_else(|| self.err(format!("undeclared prefix {p:?} in {step:?}")))?;
                Ok((uri.clone(), l.to_string()))
            }
            None => Ok((String::new(), step.to_string())),
        }
    }

    fn ns_id(&mut self, uri: &str) -> u16 {
        if uri.is_empty() {
            return 0;
        }
        let next = self.ns.len() as u16 + 1;
        *self.ns.entry(uri.to_string()).or_insert(next)
    }

    /// Walks (creating) the trie from `root` along `path`; returns the node
    /// and the trailing `@attr`, if any.
    fn walk(&mut self, root: u32, path: &str) -> Result<(u32, Option<String>), XmlMappingError> {
        let mut node = root;
        let mut attr = None;
        for step in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
            if let Some(a) = step.strip_prefix('@') {
                attr = Some(a.to_string());
                continue;
            }
            if attr.is_some() {
                return Err(self.err(format!("{path:?}: an attribute must end the path")));
            }
            let (uri, local) = self.qname(step)?;
            let id = self.ns_id(&uri);
            let found = self.nodes[node as usize]
                .children
                .iter()
                .find(|(n, l, _)| *n == id && **l == *local)
                .map(|c| c.2);
            node = match found {
                Some(c) => c,
                None => {
                    let c = self.nodes.len() as u32;
                    self.nodes.push(Node::default());
                    self.nodes[node as usize]
                        .children
                        .push((id, local.into_boxed_str(), c));
                    c
                }
            };
        }
        Ok((node, attr))
    }

    fn target(&self, name: &str) -> Result<XTarget, XmlMappingError> {
        Ok(match name {
            "document_type" => XTarget::DocumentType,
            "origin.version" => XTarget::OriginVersion,
            "origin.profile" => XTarget::OriginProfile,
            "origin.sender" => XTarget::OriginSender,
            "origin.recipient" => XTarget::OriginRecipient,
            "origin.message_ref" => XTarget::OriginMessageRef,
            "qualifier" => XTarget::Qualifier,
            "value" => XTarget::Value,
            other => XTarget::Canonical(
                Target::parse(other, &mut |k| Ok(Kind::Fixed(k.to_string())))
                    .map_err(|e| self.err(e))?,
            ),
        })
    }

    fn rule(&mut self, item: &FieldItem) -> Result<Rule, XmlMappingError> {
        let conds = |m: &BTreeMap<String, OneOrMany>| -> Vec<(String, Vec<String>)> {
            m.iter()
                .map(|(k, v)| (k.trim_start_matches('@').to_string(), v.to_vec()))
                .collect()
        };
        Ok(match item {
            FieldItem::One(t) => Rule {
                target: self.target(t)?,
                attr: None,
                table: None,
                when: Vec::new(),
                unless: Vec::new(),
            },
            FieldItem::Rule(r) => Rule {
                target: self.target(&r.target)?,
                attr: None,
                table: match &r.table {
                    Some(t) => Some(self.table(t)?),
                    None => None,
                },
                when: conds(&r.when),
                unless: conds(&r.unless),
            },
        })
    }

    fn fields(
        &mut self,
        root: u32,
        fields: &BTreeMap<String, FieldSpec>,
    ) -> Result<(), XmlMappingError> {
        for (path, spec) in fields {
            let items: Vec<FieldItem> = match spec {
                FieldSpec::One(s) => vec![FieldItem::One(s.clone())],
                FieldSpec::Rule(r) => vec![FieldItem::Rule(r.clone())],
                FieldSpec::Many(v) => v.clone(),
            };
            let (node, attr) = self.walk(root, path)?;
            for item in &items {
                let mut rule = self.rule(item)?;
                rule.attr = attr.clone();
                self.nodes[node as usize].rules.push(rule);
            }
        }
        Ok(())
    }

    fn uses(&mut self, root: u32, uses: &[String]) -> Result<(), XmlMappingError> {
        for u in uses {
            let t = self
                .spec
                .templates
                .get(u)
                .ok_or_else(|| self.err(format!("unknown template {u:?}")))?
                .clone();
            self.fields(root, &t)?;
        }
        Ok(())
    }
}

fn new_kind(s: &str) -> Option<NewKind> {
    Some(match s {
        "party" => NewKind::Party,
        "line" => NewKind::Line,
        "allowance" => NewKind::Allowance,
        "payment_terms" => NewKind::PaymentTerms,
        "tax" => NewKind::Tax,
        "package" => NewKind::Package,
        "note" => NewKind::Note,
        "contact" => NewKind::Contact,
        "qualified" => NewKind::Qualified,
        _ => return None,
    })
}

fn compile(spec: &FileSpec, rel: &Path) -> Result<XmlMapping, XmlMappingError> {
    let mut c = Compiler {
        file: rel.display().to_string(),
        spec,
        ns: HashMap::new(),
        tables: Vec::new(),
        table_names: Vec::new(),
        nodes: vec![Node::default()],
    };
    let doc = spec
        .document
        .as_ref()
        .ok_or_else(|| c.err("no [document] section"))?;
    let document_type = DocumentType::from_name(&doc.document_type)
        .ok_or_else(|| c.err(format!("unknown document_type {:?}", doc.document_type)))?;
    let mut roots = Vec::new();
    for r in doc.root.to_vec() {
        roots.push(c.qname(&r)?);
    }
    let mut objects = vec![ObjectDef {
        name: "document".into(),
        new: None,
        set: Vec::new(),
        root: 0,
        qualified_base: None,
        qualified_table: None,
    }];
    c.uses(0, &spec.uses)?;
    c.fields(0, &spec.fields)?;
    // Objects: create their roots first so `in` can name any of them.
    let names: Vec<&String> = spec.objects.keys().collect();
    for name in &names {
        let o = &spec.objects[*name];
        let new = new_kind(&o.new)
            .ok_or_else(|| c.err(format!("object {name}: unknown new {:?}", o.new)))?;
        let root = c.nodes.len() as u32;
        c.nodes.push(Node::default());
        let mut set = Vec::new();
        for (t, v) in &o.set {
            set.push((c.target(t)?, v.clone()));
        }
        let qualified_table = match &o.table {
            Some(t) => Some(c.table(t)?),
            None => None,
        };
        if new == NewKind::Qualified && qualified_table.is_none() {
            return Err(c.err(format!("object {name}: a qualified object needs a table")));
        }
        objects.push(ObjectDef {
            name: (*name).clone(),
            new: Some(new),
            set,
            root,
            qualified_base: o.target.clone(),
            qualified_table,
        });
    }
    for (i, name) in names.iter().enumerate() {
        let o = &spec.objects[*name];
        let idx = i + 1;
        let parent_root = match &o.parent {
            None => 0,
            Some(p) => objects
                .iter()
                .find(|d| &d.name == p)
                .map(|d| d.root)
                .ok_or_else(|| c.err(format!("object {name}: unknown parent object {p:?}")))?,
        };
        for path in o.path.to_vec() {
            let (node, attr) = c.walk(parent_root, &path)?;
            if attr.is_some() {
                return Err(c.err(format!("object {name}: path {path:?} names an attribute")));
            }
            c.nodes[node as usize].open = Some(idx);
        }
        let root = objects[idx].root;
        c.uses(root, &o.uses)?;
        c.fields(root, &o.fields)?;
        // Check qualified table values compile as targets.
        if let (Some(t), None) = (objects[idx].qualified_table, &o.target) {
            for v in c.tables[t].values() {
                c.target(v)?;
            }
        }
    }
    Ok(XmlMapping {
        file: rel.to_path_buf(),
        roots,
        document_type,
        message_type: doc.message_type.clone(),
        standard: doc.standard.clone(),
        namespaces: c.ns,
        tables: c.tables,
        table_names: c.table_names,
        nodes: c.nodes,
        objects,
    })
}

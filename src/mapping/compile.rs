//! Loading mapping files and compiling them into fast lookup tables.
//!
//! A [`CompiledMapping`] is built once per (message mapping, partner) pair:
//! the group structure becomes a table `(group, section, tag) → member or
//! child group`, rules are indexed by `(group, tag)`, element paths and code
//! tables are resolved to indexes. Errors name the file and the rule.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};

use super::spec::{
    Accepted, CheckSpec, DefaultsSpec, GroupSpec, MappingFile, RuleSpec, StructureSpec,
};
use super::target::{Kind, Target, ValueType};
use crate::formats::edifact::EnvelopePolicy;
use crate::model::DocumentType;

/// An error in a mapping file.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule {rule}: {message}")]
    Rule {
        file: String,
        rule: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// An element/component position (both 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    pub element: u16,
    pub component: u16,
}

impl Path {
    /// Parses `E` or `E.C`.
    pub fn parse(s: &str) -> Result<Path, String> {
        let (e, c) = match s.split_once('.') {
            Some((e, c)) => (e, c),
            None => (s, "1"),
        };
        let element: u16 = e
            .trim()
            .parse()
            .map_err(|_| format!("bad element path {s:?}: expected E or E.C, e.g. 1.2"))?;
        let component: u16 = c
            .trim()
            .parse()
            .map_err(|_| format!("bad element path {s:?}: expected E or E.C, e.g. 1.2"))?;
        if element == 0 || component == 0 {
            return Err(format!("bad element path {s:?}: positions start at 1"));
        }
        Ok(Path { element, component })
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Path(Path),
    Literal(String),
    Table(usize, Path),
}

/// A condition on one element.
#[derive(Debug, Clone)]
pub(crate) struct Cond {
    pub path: Path,
    pub accepted: Vec<Vec<u8>>,
    pub empty_ok: bool,
    /// An `unless` condition: holds when the value is NOT accepted.
    pub negate: bool,
}

/// What a rule creates before setting fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewKind {
    Party,
    Contact,
    Line,
    Allowance,
    LineAllowance,
    PaymentTerms,
    TaxSubtotal,
    Package,
    Note,
    AckMessage,
    AckIssue,
}

impl NewKind {
    fn parse(s: &str) -> Result<NewKind, String> {
        Ok(match s {
            "party" => NewKind::Party,
            "contact" => NewKind::Contact,
            "line" => NewKind::Line,
            "allowance" => NewKind::Allowance,
            "line.allowance" => NewKind::LineAllowance,
            "payment_terms" => NewKind::PaymentTerms,
            "tax_subtotal" => NewKind::TaxSubtotal,
            "package" => NewKind::Package,
            "note" => NewKind::Note,
            "ack.message" => NewKind::AckMessage,
            "ack.issue" => NewKind::AckIssue,
            _ => return Err(format!("unknown object {s:?} for `new`")),
        })
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub invalid: crate::diagnostics::Action,
    pub conds: Vec<Cond>,
    pub new: Option<NewKind>,
    pub sets: Vec<(Target, Vec<Source>)>,
    pub format: Option<Path>,
}

/// A compiled value check.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub path: Path,
    pub table: Option<usize>,
    pub max_length: Option<usize>,
    pub numeric: bool,
    pub required: bool,
}

/// What to run for a segment tag in a group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Actions {
    pub rules: Vec<u32>,
    pub checks: Vec<Check>,
}

/// How a segment tag fits at a level of the structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Member,
    Child(u16),
}

/// Group 0 is the message root.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: String,
}

pub(crate) type Tag = [u8; 3];

pub(crate) fn tag3(s: &str) -> Result<Tag, String> {
    match s.as_bytes() {
        [a, b, c] => Ok([*a, *b, *c]),
        // X12 has 2-character tags (N1, HL, ST): padded with a space.
        [a, b] => Ok([*a, *b, b' ']),
        _ => Err(format!("{s:?} is not a 2- or 3-letter segment tag")),
    }
}

/// The merged, uncompiled specification (kept to apply partner overrides).
#[derive(Debug, Clone, Default)]
pub(crate) struct MergedSpec {
    pub file: String,
    pub message_type: String,
    pub directories: Vec<String>,
    pub fallback: bool,
    pub document_type: String,
    pub document_type_by_code: BTreeMap<String, String>,
    pub structure: StructureSpec,
    pub groups: Vec<GroupSpec>,
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    /// (file the rule came from, rule).
    pub rules: Vec<(String, RuleSpec)>,
    pub checks: Vec<(String, CheckSpec)>,
    pub defaults: DefaultsSpec,
    pub envelope: Option<EnvelopePolicy>,
}

/// A message mapping ready to run.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    pub(crate) spec: MergedSpec,
    pub message_type: String,
    pub directories: Vec<String>,
    pub fallback: bool,
    pub(crate) document_type: DocumentType,
    pub(crate) type_by_code: HashMap<String, DocumentType>,
    pub(crate) groups: Vec<Group>,
    pub(crate) separator: Option<Tag>,
    pub(crate) required: Vec<Tag>,
    pub(crate) lenient: bool,
    /// Code tables, each sorted by code for binary search.
    pub(crate) tables: Vec<Vec<(String, String)>>,
    /// Per code table, a hash index of its short codes.
    pub(crate) code_index: Vec<CodeIndex>,
    pub(crate) rules: Vec<Rule>,
    /// Per group, per tag: the rules (in file order, `*/TAG` rules
    /// included) and checks to run.
    pub(crate) actions: Vec<Vec<(Tag, Actions)>>,
    pub(crate) defaults: DefaultsSpec,
    pub envelope: Option<EnvelopePolicy>,
    /// The same structure and actions as dense tables, indexed by tag id:
    /// what the engine consults for every segment.
    pub(crate) dense: Dense,
}

/// A small open-addressing map from segment tag to a dense id (0..n).
#[derive(Debug, Clone, Default)]
pub(crate) struct TagIndex {
    /// Slot keys: the tag as `0x01_aa_bb_cc`, 0 for an empty slot.
    keys: Vec<u32>,
    ids: Vec<u16>,
    shift: u32,
    len: usize,
}

impl TagIndex {
    fn key(tag: Tag) -> u32 {
        0x0100_0000 | (u32::from(tag[0]) << 16) | (u32::from(tag[1]) << 8) | u32::from(tag[2])
    }

    fn slot(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }

    /// An index of `tags` (duplicates get one id).
    fn new(tags: impl IntoIterator<Item = Tag>) -> TagIndex {
        let tags: Vec<Tag> = tags.into_iter().collect();
        let mut bits = 4u32;
        while (1usize << bits) < tags.len() * 2 {
            bits += 1;
        }
        let size = 1usize << bits;
        let mut index = TagIndex {
            keys: vec![0; size],
            ids: vec![0; size],
            shift: 32 - bits,
            len: 0,
        };
        for tag in tags {
            let key = TagIndex::key(tag);
            let mut i = index.slot(key);
            loop {
                if index.keys[i] == key {
                    break;
                }
                if index.keys[i] == 0 {
                    index.keys[i] = key;
                    index.ids[i] = index.len as u16;
                    index.len += 1;
                    break;
                }
                i = (i + 1) & (size - 1);
            }
        }
        index
    }

    /// Number of distinct tags.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The dense id of `tag`, `None` when the mapping does not know it.
    #[inline]
    pub(crate) fn get(&self, tag: Tag) -> Option<usize> {
        let key = TagIndex::key(tag);
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(usize::from(self.ids[i]));
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Finds a code of a table from its raw bytes in a few instructions: codes
/// of up to 7 bytes (nearly all of them) packed into a `u64` key, in a
/// small open-addressing table. Longer codes are not indexed (`get` says
/// `None`: the caller falls back to a binary search).
#[derive(Debug, Clone, Default)]
pub(crate) struct CodeIndex {
    keys: Vec<u64>,
    /// Index of the entry in the sorted table.
    entries: Vec<u32>,
    shift: u32,
}

impl CodeIndex {
    /// The key of a code: its bytes and its length, 0 when too long or empty.
    #[inline]
    fn key(code: &[u8]) -> u64 {
        if code.is_empty() || code.len() > 7 {
            return 0;
        }
        let mut k = (code.len() as u64) << 56;
        for (i, &b) in code.iter().enumerate() {
            k |= u64::from(b) << (8 * i);
        }
        k
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn new(table: &[(String, String)]) -> CodeIndex {
        let mut bits = 3u32;
        while (1usize << bits) < table.len() * 2 {
            bits += 1;
        }
        let size = 1usize << bits;
        let mut index = CodeIndex {
            keys: vec![0; size],
            entries: vec![0; size],
            shift: 64 - bits,
        };
        for (i, (code, _)) in table.iter().enumerate() {
            let key = CodeIndex::key(code.as_bytes());
            if key == 0 {
                continue;
            }
            let mut s = index.slot(key);
            while index.keys[s] != 0 {
                s = (s + 1) & (size - 1);
            }
            index.keys[s] = key;
            index.entries[s] = i as u32;
        }
        index
    }

    /// `Some(Some(i))`: the code is entry `i`; `Some(None)`: the table
    /// does not have it; `None`: not indexable, search the table.
    #[inline]
    pub(crate) fn get(&self, code: &[u8]) -> Option<Option<usize>> {
        let key = CodeIndex::key(code);
        if key == 0 {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut s = self.slot(key);
        loop {
            let k = self.keys[s];
            if k == key {
                return Some(Some(self.entries[s] as usize));
            }
            if k == 0 {
                return Some(None);
            }
            s = (s + 1) & mask;
        }
    }
}

/// `Dense::flags` bit: the tag is required in the message.
pub(crate) const REQUIRED: u8 = 1;
/// `Dense::flags` bit: the tag may occur only once.
pub(crate) const ONCE: u8 = 2;

/// Per-segment lookups as flat arrays indexed by `TagIndex` ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dense {
    pub tags: TagIndex,
    /// `resolution[level * tags.len() + id]`: how the tag fits at a level
    /// of the structure. Level `g` is group `g` (0 = message root, header
    /// section); level `groups.len()` is the root's summary section.
    pub resolution: Vec<Option<Resolution>>,
    /// `actions[group * tags.len() + id]`: index into
    /// `CompiledMapping::actions[group]`, `u32::MAX` for none.
    pub actions: Vec<u32>,
    /// `REQUIRED` / `ONCE` bits per tag id.
    pub flags: Vec<u8>,
}

impl Dense {
    fn build(
        levels: &[Vec<(Tag, Resolution)>],
        actions: &[Vec<(Tag, Actions)>],
        required: &[Tag],
        once: &[Tag],
    ) -> Dense {
        let all = levels
            .iter()
            .flat_map(|l| l.iter().map(|(t, _)| *t))
            .chain(actions.iter().flat_map(|a| a.iter().map(|(t, _)| *t)))
            .chain(required.iter().copied())
            .chain(once.iter().copied());
        let tags = TagIndex::new(all);
        let n = tags.len();
        let mut dense = Dense {
            resolution: vec![None; levels.len() * n],
            actions: vec![u32::MAX; actions.len() * n],
            flags: vec![0; n],
            tags,
        };
        for (level, list) in levels.iter().enumerate() {
            for (t, r) in list {
                if let Some(id) = dense.tags.get(*t) {
                    dense.resolution[level * n + id] = Some(*r);
                }
            }
        }
        for (g, list) in actions.iter().enumerate() {
            for (i, (t, _)) in list.iter().enumerate() {
                if let Some(id) = dense.tags.get(*t) {
                    dense.actions[g * n + id] = i as u32;
                }
            }
        }
        for (list, bit) in [(required, REQUIRED), (once, ONCE)] {
            for t in list {
                if let Some(id) = dense.tags.get(*t) {
                    dense.flags[id] |= bit;
                }
            }
        }
        dense
    }
}

pub(crate) const ANY_GROUP: u16 = u16::MAX;

impl CompiledMapping {
    /// The file this mapping was loaded from.
    pub fn file(&self) -> &str {
        &self.spec.file
    }

    /// The canonical document type this mapping produces by default.
    pub fn document_type(&self) -> DocumentType {
        self.document_type
    }

    /// Compiles a merged specification.
    pub(crate) fn compile(spec: MergedSpec) -> Result<CompiledMapping, MappingError> {
        let file = spec.file.clone();
        let invalid = |message: String| MappingError::Invalid {
            file: file.clone(),
            message,
        };
        let document_type = DocumentType::from_name(&spec.document_type)
            .ok_or_else(|| invalid(format!("unknown document_type {:?}", spec.document_type)))?;
        let mut type_by_code = HashMap::new();
        for (code, name) in &spec.document_type_by_code {
            let t = DocumentType::from_name(name).ok_or_else(|| {
                invalid(format!("unknown document type {name:?} for code {code}"))
            })?;
            type_by_code.insert(code.clone(), t);
        }

        // Groups: index 0 = root.
        let mut groups = vec![Group {
            name: String::new(),
        }];
        let mut by_name: HashMap<&str, u16> = HashMap::new();
        for g in &spec.groups {
            if by_name.contains_key(g.name.as_str()) {
                return Err(invalid(format!("group {:?} defined twice", g.name)));
            }
            by_name.insert(&g.name, groups.len() as u16);
            groups.push(Group {
                name: g.name.clone(),
            });
        }
        let mut resolve = HashMap::new();
        let mut add = |key: (u16, u8, Tag),
                       r: Resolution,
                       what: &str|
         -> Result<(), MappingError> {
            if let Some(prev) = resolve.insert(key, r) {
                if prev != r {
                    return Err(invalid(format!(
                        "segment {} is ambiguous in {what}: it is both a member and a group trigger, or triggers two groups",
                        String::from_utf8_lossy(&key.2)
                    )));
                }
            }
            Ok(())
        };
        let st = &spec.structure;
        for t in &st.header {
            add(
                (0, 0, tag3(t).map_err(&invalid)?),
                Resolution::Member,
                "the header",
            )?;
        }
        for t in &st.summary {
            add(
                (0, 1, tag3(t).map_err(&invalid)?),
                Resolution::Member,
                "the summary",
            )?;
        }
        let separator = match &st.separator {
            Some(s) => Some(tag3(s).map_err(&invalid)?),
            None => None,
        };
        for (i, g) in spec.groups.iter().enumerate() {
            let idx = (i + 1) as u16;
            let trigger = tag3(&g.trigger).map_err(&invalid)?;
            let parent = match &g.parent {
                None => 0,
                Some(p) => *by_name
                    .get(p.as_str())
                    .ok_or_else(|| invalid(format!("group {:?}: unknown parent {p:?}", g.name)))?,
            };
            let section = if parent == 0 && g.summary { 1 } else { 0 };
            add(
                (parent, section, trigger),
                Resolution::Child(idx),
                &format!("group {:?}", g.parent.as_deref().unwrap_or("root")),
            )?;
            for m in &g.members {
                add(
                    (idx, 0, tag3(m).map_err(&invalid)?),
                    Resolution::Member,
                    &format!("group {:?}", g.name),
                )?;
            }
        }
        let tags = |list: &[String]| -> Result<Vec<Tag>, MappingError> {
            list.iter().map(|t| tag3(t).map_err(&invalid)).collect()
        };
        let required = tags(&st.required)?;
        let once = tags(&st.once)?;

        // Code tables.
        let mut table_index: HashMap<&str, usize> = HashMap::new();
        let mut tables = Vec::new();
        for (name, table) in &spec.codes {
            table_index.insert(name, tables.len());
            tables.push(
                table
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Vec<_>>(),
            );
        }
        let table_of = |name: &str| -> Result<usize, String> {
            table_index
                .get(name)
                .copied()
                .ok_or_else(|| format!("unknown code table {name:?}"))
        };
        let parse_source = |s: &str| -> Result<Source, String> {
            if let Some(lit) = s.strip_prefix('=') {
                Ok(Source::Literal(lit.to_string()))
            } else if let Some(rest) = s.strip_prefix('@') {
                let (table, path) = parse_table_ref(rest)?;
                Ok(Source::Table(table_of(table)?, Path::parse(path)?))
            } else {
                Ok(Source::Path(Path::parse(s)?))
            }
        };
        let parse_at = |at: &str| -> Result<(u16, Tag), String> {
            match at.rsplit_once('/') {
                None => Ok((0, tag3(at)?)),
                Some(("*", t)) => Ok((ANY_GROUP, tag3(t)?)),
                Some((g, t)) => {
                    let gi = by_name
                        .get(g)
                        .copied()
                        .ok_or_else(|| format!("unknown group {g:?} in at = {at:?}"))?;
                    Ok((gi, tag3(t)?))
                }
            }
        };

        let mut rules = Vec::new();
        let mut rule_index: HashMap<(u16, Tag), Vec<u32>> = HashMap::new();
        for (n, (rfile, r)) in spec.rules.iter().enumerate() {
            if r.message.as_deref().is_some_and(|m| m != spec.message_type) {
                continue;
            }
            let name =
                r.id.clone()
                    .unwrap_or_else(|| format!("#{} (at {})", n + 1, r.at));
            let err = |message: String| MappingError::Rule {
                file: rfile.clone(),
                rule: name.clone(),
                message,
            };
            // Shared rules files serve several structures: a rule for a group
            // this structure does not have simply does not apply here.
            if let Some((g, _)) = r.at.rsplit_once('/') {
                if g != "*" && !by_name.contains_key(g) {
                    continue;
                }
            }
            let (group, tag) = parse_at(&r.at).map_err(&err)?;
            let mut conds = Vec::new();
            for (negate, map) in [(false, &r.when), (true, &r.unless)] {
                for (path, acc) in map {
                    let values: Vec<String> = match acc {
                        Accepted::One(v) => vec![v.clone()],
                        Accepted::Many(v) => v.clone(),
                    };
                    conds.push(Cond {
                        path: Path::parse(path).map_err(&err)?,
                        empty_ok: values.iter().any(String::is_empty),
                        accepted: values
                            .into_iter()
                            .filter(|v| !v.is_empty())
                            .map(String::into_bytes)
                            .collect(),
                        negate,
                    });
                }
            }
            let new = r
                .new
                .as_deref()
                .map(NewKind::parse)
                .transpose()
                .map_err(&err)?;
            let mut sets = Vec::new();
            for (tname, sources) in &r.set {
                let mut kind = |k: &str| -> Result<Kind, String> {
                    if let Some(rest) = k.strip_prefix('@') {
                        let (table, path) = parse_table_ref(rest)?;
                        Ok(Kind::Table(table_of(table)?, Path::parse(path)?))
                    } else {
                        Ok(Kind::Fixed(k.to_string()))
                    }
                };
                let target = Target::parse(tname, &mut kind).map_err(&err)?;
                let srcs = sources
                    .list()
                    .into_iter()
                    .map(&parse_source)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(&err)?;
                if srcs.is_empty() {
                    return Err(err(format!("target {tname:?} has no source")));
                }
                sets.push((target, srcs));
            }
            // Targets that refine what another target created run last.
            sets.sort_by_key(|(t, _)| t.is_modifier());
            let format = r
                .format
                .as_deref()
                .map(Path::parse)
                .transpose()
                .map_err(&err)?;
            if format.is_some() && !sets.iter().any(|(t, _)| t.value_type() == ValueType::Date) {
                return Err(err("`format` is only for rules that set a date".into()));
            }
            rule_index
                .entry((group, tag))
                .or_default()
                .push(rules.len() as u32);
            rules.push(Rule {
                invalid: r.invalid,
                conds,
                new,
                sets,
                format,
            });
        }

        let mut checks: HashMap<(u16, Tag), Vec<Check>> = HashMap::new();
        for (cfile, c) in &spec.checks {
            let err = |message: String| MappingError::Invalid {
                file: cfile.clone(),
                message: format!("check at {:?}: {message}", c.at),
            };
            if let Some((g, _)) = c.at.rsplit_once('/') {
                if g != "*" && !by_name.contains_key(g) {
                    continue;
                }
            }
            let (group, tag) = parse_at(&c.at).map_err(&err)?;
            checks.entry((group, tag)).or_default().push(Check {
                path: Path::parse(&c.element).map_err(&err)?,
                table: c.codes.as_deref().map(table_of).transpose().map_err(&err)?,
                max_length: c.max_length,
                numeric: c.numeric,
                required: c.required,
            });
        }

        // Flatten the lookup maps into per-level and per-group vectors.
        let n = groups.len();
        let mut levels: Vec<Vec<(Tag, Resolution)>> = vec![Vec::new(); n + 1];
        for ((g, section, tag), r) in resolve {
            let level = if g == 0 && section == 1 {
                n
            } else {
                g as usize
            };
            levels[level].push((tag, r));
        }
        let mut actions: Vec<Vec<(Tag, Actions)>> = vec![Vec::new(); n];
        let slot = |actions: &mut Vec<Vec<(Tag, Actions)>>, g: usize, tag: Tag| -> usize {
            let list = &mut actions[g];
            match list.iter().position(|(t, _)| *t == tag) {
                Some(i) => i,
                None => {
                    list.push((tag, Actions::default()));
                    list.len() - 1
                }
            }
        };
        for ((g, tag), rule_ids) in &rule_index {
            let targets: Vec<usize> = if *g == ANY_GROUP {
                (0..n).collect()
            } else {
                vec![*g as usize]
            };
            for t in targets {
                let i = slot(&mut actions, t, *tag);
                actions[t][i].1.rules.extend(rule_ids);
            }
        }
        for list in &mut actions {
            for (_, a) in list.iter_mut() {
                a.rules.sort_unstable();
            }
        }
        for ((g, tag), cs) in checks {
            let targets: Vec<usize> = if g == ANY_GROUP {
                (0..n).collect()
            } else {
                vec![g as usize]
            };
            for t in targets {
                let i = slot(&mut actions, t, tag);
                actions[t][i].1.checks.extend(cs.iter().cloned());
            }
        }

        let dense = Dense::build(&levels, &actions, &required, &once);
        Ok(CompiledMapping {
            dense,
            message_type: spec.message_type.clone(),
            directories: spec.directories.clone(),
            fallback: spec.fallback,
            document_type,
            type_by_code,
            groups,
            separator,
            required,
            lenient: spec.structure.lenient,
            code_index: tables.iter().map(|t| CodeIndex::new(t)).collect(),
            tables,
            rules,
            actions,
            defaults: spec.defaults.clone(),
            envelope: spec.envelope,
            spec,
        })
    }
}

/// Splits `table(E.C)` into its parts.
fn parse_table_ref(s: &str) -> Result<(&str, &str), String> {
    let open = s
        .find('(')
        .ok_or_else(|| format!("bad code lookup @{s}: expected @table(E.C)"))?;
    let close = s
        .strip_suffix(')')
        .ok_or_else(|| format!("bad code lookup @{s}: expected @table(E.C)"))?;
    Ok((&s[..open], &close[open + 1..]))
}

/// Reads and parses one TOML mapping file.
pub(crate) fn read_file(path: &FsPath) -> Result<MappingFile, MappingError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| MappingError::Io {
        file: file.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| MappingError::Parse {
        file,
        message: e.to_string(),
    })
}

/// Merges a message mapping with everything it includes (depth first,
/// includes before the file's own content, so the file can override).
pub(crate) fn merge(path: &FsPath) -> Result<MergedSpec, MappingError> {
    let mut spec = MergedSpec {
        file: path.display().to_string(),
        ..MergedSpec::default()
    };
    let mut seen: Vec<PathBuf> = Vec::new();
    merge_into(path, &mut spec, &mut seen, 0)?;
    Ok(spec)
}

fn merge_into(
    path: &FsPath,
    spec: &mut MergedSpec,
    seen: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), MappingError> {
    let file = path.display().to_string();
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if seen.contains(&canonical) {
        return Ok(());
    }
    if depth > 16 {
        return Err(MappingError::Invalid {
            file,
            message: "includes nested more than 16 deep".into(),
        });
    }
    seen.push(canonical);
    let f = read_file(path)?;
    let dir = path.parent().unwrap_or_else(|| FsPath::new("."));
    for inc in &f.include {
        merge_into(&dir.join(inc), spec, seen, depth + 1)?;
    }
    if let Some(m) = &f.message {
        spec.message_type.clone_from(&m.message_type);
        spec.directories.clone_from(&m.directories);
        spec.fallback = m.fallback;
        spec.document_type.clone_from(&m.document_type);
        spec.document_type_by_code
            .extend(m.document_type_by_code.clone());
    }
    if let Some(s) = &f.structure {
        spec.structure = s.clone();
    }
    spec.groups.extend(f.groups.iter().cloned());
    for (name, table) in &f.codes {
        spec.codes
            .entry(name.clone())
            .or_default()
            .extend(table.clone());
    }
    apply_rules(spec, &file, &f.rules, &f.disable);
    spec.checks
        .extend(f.checks.iter().cloned().map(|c| (file.clone(), c)));
    if f.defaults.currency.is_some() {
        spec.defaults.currency.clone_from(&f.defaults.currency);
    }
    if f.defaults.unit.is_some() {
        spec.defaults.unit.clone_from(&f.defaults.unit);
    }
    if f.envelope.is_some() {
        spec.envelope = f.envelope;
    }
    Ok(())
}

/// Adds rules, replacing same-id rules in place, and removes disabled ones.
pub(crate) fn apply_rules(
    spec: &mut MergedSpec,
    file: &str,
    rules: &[RuleSpec],
    disable: &[String],
) {
    for r in rules {
        let existing = r.id.as_ref().and_then(|id| {
            spec.rules
                .iter()
                .position(|(_, x)| x.id.as_ref() == Some(id))
        });
        match existing {
            Some(i) => spec.rules[i] = (file.to_string(), r.clone()),
            None => spec.rules.push((file.to_string(), r.clone())),
        }
    }
    if !disable.is_empty() {
        spec.rules
            .retain(|(_, r)| !r.id.as_ref().is_some_and(|id| disable.contains(id)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            Path::parse("2").unwrap(),
            Path {
                element: 2,
                component: 1
            }
        );
        assert_eq!(
            Path::parse("1.3").unwrap(),
            Path {
                element: 1,
                component: 3
            }
        );
        assert!(Path::parse("0.1").is_err());
        assert!(Path::parse("x").is_err());
        assert_eq!(parse_table_ref("dates(1.1)").unwrap(), ("dates", "1.1"));
    }

    #[test]
    fn code_and_tag_indexes() {
        let table: Vec<(String, String)> = ["*", "1234567", "12345678", "21", "AAA", "EN"]
            .iter()
            .map(|c| (c.to_string(), format!("v{c}")))
            .collect();
        let index = CodeIndex::new(&table);
        for (i, (code, _)) in table.iter().enumerate() {
            let expect = if code.len() > 7 { None } else { Some(Some(i)) };
            assert_eq!(index.get(code.as_bytes()), expect, "{code}");
        }
        assert_eq!(index.get(b"2"), Some(None));
        assert_eq!(index.get(b"AA"), Some(None));
        assert_eq!(index.get(b""), None);
        let tags = TagIndex::new([*b"LIN", *b"QTY", *b"LIN", *b"N1 "]);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags.get(*b"LIN"), Some(0));
        assert_eq!(tags.get(*b"N1 "), Some(2));
        assert_eq!(tags.get(*b"MOA"), None);
        assert_eq!(tags.get([0; 3]), None);
    }
}

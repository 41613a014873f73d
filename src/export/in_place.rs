//! The xlsx export of an xlsx (or xlsm) list: a copy of the office's own workbook in which only
//! the list sheet's changed cells are rewritten.
//!
//! # Why a careful edit of the sheet XML, not a workbook-editing crate
//!
//! An xlsx is a zip of XML parts. What an office cares about — fonts, fills, borders, column
//! widths, row heights, wrapping, merged titles, print setup, frozen panes, data validation,
//! other sheets, macros — lives in parts weekbell never needs to understand. Here every zip
//! entry but the list sheet is copied with [`ZipWriter::raw_copy_file`], compressed bytes and
//! all, so those parts are byte-for-byte the source's (`tests/export.rs` compares every entry).
//! In the sheet, quick-xml (already in the tree through calamine, same version) streams through
//! the XML and only the byte ranges of the cells that changed are replaced; every other byte of
//! the sheet, its `<cols>`, `<pageSetup>`, `<mergeCells>` included, is copied as it was.
//!
//! umya-spreadsheet, the crate that edits workbooks, was not chosen: it loads every part into
//! its own model and writes every part again from that model. Measured with umya-spreadsheet
//! 3.1.1 on the workbook `tests/export.rs` builds (bold 18-point merged title, wrapped cells,
//! widths, a fill, print setup, a second sheet), changing one cell: all 11 parts came out
//! different, none byte-identical — `theme1.xml` 6,995 → 6,821 bytes, `styles.xml` 1,819 →
//! 2,195, `workbook.xml` 707 → 1,167, `app.xml` 950 → 831, the untouched second sheet 513 →
//! 884 — so whatever it does not model is at its mercy. On the same layout with 20,000 rows
//! (a 478 KB file) its read-and-write alone took 1.2 s and 102 MB peak in a release build;
//! the whole `weekbell export` of that list here peaks at 70 MB in a debug build, 4.5 MB above
//! the CSV export of the same list (the rewritten sheet XML and the copy). It would also add
//! 29 crates to the build (the zstd C library, bzip2, time, jiff, fancy-regex, uuid, …).
//!
//! Changed cells are written as inline strings (`t="inlineStr"`) or numbers, each with the
//! style index (`s=`) the cell had, so `sharedStrings.xml` and `styles.xml` need not change: a
//! cell keeps its font, fill, border and wrapping and only its value differs. Nothing here
//! touches formulas, so `calcChain.xml` stays as it is: a changed cell that holds a formula is
//! left alone and reported instead (overwriting it would leave `calcChain.xml` pointing at a
//! cell without a formula, which Excel answers with its repair prompt).
//!
//! What is read is bounded: these are the bytes the importer has just loaded, whose zip
//! directory passed its unpacked-size check (`tasks::workbook`), and each part is read no
//! further than its declared size, which the `zip` crate enforces while inflating.

use super::grid::{Region, Value};
use super::layout::percent_text;
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};
use zip::write::{SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, ZipArchive};

/// One cell to write: its new value, and whether it is a progress fraction (written as a
/// number only where the cell's style already shows a percentage, else as text such as `60%`,
/// which reads back the same without touching `styles.xml`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Edit {
    pub value: Value,
    pub progress: bool,
}

/// Why the source workbook could not be copied; every cause lies in the source file.
#[derive(Debug, thiserror::Error)]
pub(super) enum PatchError {
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{part}: {source}")]
    Xml {
        part: String,
        source: quick_xml::Error,
    },
    #[error("it has no part {0} although the workbook refers to it")]
    MissingPart(String),
    #[error("its workbook part lists no sheet named {0:?}")]
    NoSuchSheet(String),
}

/// The copy, and the cells left alone because they hold a formula (0-based row, column).
#[derive(Debug)]
pub(super) struct Patched {
    pub bytes: Vec<u8>,
    pub formulas: Vec<(usize, usize)>,
}

/// What to change in the list sheet.
pub(super) struct Patch<'a> {
    /// The list sheet's name, as the workbook lists it.
    pub sheet: &'a str,
    /// Cells to write, by 0-based (row, column).
    pub edits: &'a BTreeMap<(usize, usize), Edit>,
    /// Merged ranges to drop (a changed cell lay in them).
    pub unmerged: &'a [Region],
    /// Style indexes whose number format shows a percentage.
    pub percent_styles: &'a BTreeSet<usize>,
}

/// For the fuzz target `export_sheet_xml`: writes `cells` (0-based row, column, text; a text
/// that reads as a number is written as one, as progress is) into a sheet's XML as the copy
/// does. `None` when the XML could not be read; otherwise whether what was written reads to its
/// end as XML again, which it must whenever the source did.
pub(super) fn rewrite_for_fuzzing(xml: &[u8], cells: &[(u16, u16, String)]) -> Option<bool> {
    let edits: BTreeMap<(usize, usize), Edit> = cells
        .iter()
        .map(|(r, c, text)| {
            let value = match text.parse::<f64>() {
                Ok(n) if n.is_finite() => Value::Number(n),
                _ => Value::Text(text.clone()),
            };
            let progress = matches!(value, Value::Number(_));
            ((usize::from(*r), usize::from(*c)), Edit { value, progress })
        })
        .collect();
    let percent_styles: BTreeSet<usize> = [1].into_iter().collect();
    let patch = Patch {
        sheet: "",
        edits: &edits,
        unmerged: &[],
        percent_styles: &percent_styles,
    };
    let (out, _) = edit_sheet(xml, &patch).ok()?;
    let mut reader = Reader::from_reader(out.as_slice());
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => return Some(true),
            Ok(_) => buf.clear(),
            Err(_) => return Some(false),
        }
    }
}

/// Copies the workbook `source`, rewriting only the cells and merged ranges `patch` names.
pub(super) fn apply(source: &[u8], patch: &Patch<'_>) -> Result<Patched, PatchError> {
    let mut archive = ZipArchive::new(Cursor::new(source))?;
    let part = sheet_part(&mut archive, patch.sheet)?;
    let xml = read_part(&mut archive, &part)?;
    let (sheet, formulas) = edit_sheet(&xml, patch).map_err(|source| PatchError::Xml {
        part: part.clone(),
        source,
    })?;
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(source.len() + 4096)));
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i)?;
        if entry.name()? == part.as_str() {
            let mut options =
                SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
            if let Some(t) = entry.last_modified() {
                options = options.last_modified_time(t);
            }
            drop(entry);
            out.start_file(part.as_str(), options)?;
            out.write_all(&sheet)?;
        } else {
            out.raw_copy_file(entry)?;
        }
    }
    Ok(Patched {
        bytes: out.finish()?.into_inner(),
        formulas,
    })
}

/// A part's bytes, read no further than its declared size (see the module docs).
fn read_part(archive: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, PatchError> {
    let entry = match archive.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(PatchError::MissingPart(name.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let size = entry.size();
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 24));
    entry.take(size).read_to_end(&mut out)?;
    Ok(out)
}

/// The zip path of the sheet named `sheet`: the package's main part (`_rels/.rels`), its
/// `<sheet name= r:id=>` entry, and that relationship's target.
fn sheet_part(archive: &mut ZipArchive<Cursor<&[u8]>>, sheet: &str) -> Result<String, PatchError> {
    let xml_err = |part: &str| {
        let part = part.to_string();
        move |source| PatchError::Xml { part, source }
    };
    let root = read_part(archive, "_rels/.rels")?;
    let workbook = relationships(&root)
        .map_err(xml_err("_rels/.rels"))?
        .into_iter()
        .find(|r| r.kind.ends_with("/officeDocument"))
        .map_or_else(|| "xl/workbook.xml".to_string(), |r| resolve("", &r.target));
    let wb = read_part(archive, &workbook)?;
    let id = sheet_id(&wb, sheet)
        .map_err(xml_err(&workbook))?
        .ok_or_else(|| PatchError::NoSuchSheet(sheet.to_string()))?;
    let (dir, file) = workbook.rsplit_once('/').unwrap_or(("", workbook.as_str()));
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let rels_part = format!("{dir}_rels/{file}.rels");
    let rels = read_part(archive, &rels_part)?;
    relationships(&rels)
        .map_err(xml_err(&rels_part))?
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| resolve(&dir, &r.target))
        .ok_or(PatchError::MissingPart(format!("{rels_part} {id}")))
}

struct Relationship {
    id: String,
    kind: String,
    target: String,
}

/// An attribute's value by local name (`r:id` is `id`).
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

fn relationships(xml: &[u8]) -> Result<Vec<Relationship>, quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                out.push(Relationship {
                    id: attr(&e, "Id").unwrap_or_default(),
                    kind: attr(&e, "Type").unwrap_or_default(),
                    target: attr(&e, "Target").unwrap_or_default(),
                });
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

fn sheet_id(xml: &[u8], sheet: &str) -> Result<Option<String>, quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    loop {
        match reader.read_event()? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == "sheet"
                    && attr(&e, "name").as_deref() == Some(sheet) =>
            {
                return Ok(attr(&e, "id"));
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// A relationship target as a zip path: absolute (`/xl/…`) or relative to `dir`, with `..`
/// resolved.
fn resolve(dir: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("{dir}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A cell's 0-based (row, column).
type At = (usize, usize);

/// The sheet XML, copied with only the edited cells' bytes replaced (and the dropped merged
/// ranges removed); returns it and the edits skipped because the cell holds a formula.
fn edit_sheet(xml: &[u8], patch: &Patch<'_>) -> Result<(Vec<u8>, Vec<At>), quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    let mut s = Splice {
        xml,
        out: Vec::with_capacity(xml.len() + patch.edits.len() * 64),
        copied: 0,
        prefix: String::new(),
        percent_styles: patch.percent_styles,
    };
    let mut pending = patch.edits.clone();
    let mut formulas = Vec::new();
    let mut in_data = false;
    let mut row: Option<usize> = None;
    let mut last_col: Option<usize> = None;
    let mut last_style: Option<String> = None;
    let mut merges: Option<Merges> = None;
    let pos = |r: &Reader<&[u8]>| usize::try_from(r.buffer_position()).unwrap_or(usize::MAX);
    loop {
        let start = pos(&reader);
        let event = reader.read_event()?;
        let end = pos(&reader);
        match event {
            Event::Start(e) if e.local_name().as_ref() == "sheetData" => {
                s.prefix = prefix_of(&e);
                in_data = true;
            }
            Event::Empty(e) if e.local_name().as_ref() == "sheetData" => {
                s.prefix = prefix_of(&e);
                if !pending.is_empty() {
                    s.copy_to(start);
                    let p = s.prefix.clone();
                    s.push(format!("<{p}sheetData>").as_bytes());
                    s.new_rows(&mut pending, usize::MAX);
                    s.push(format!("</{p}sheetData>").as_bytes());
                    s.skip_to(end);
                }
            }
            Event::End(e) if e.local_name().as_ref() == "sheetData" => {
                s.copy_to(start);
                s.new_rows(&mut pending, usize::MAX);
                in_data = false;
            }
            Event::Start(e) | Event::Empty(e) if in_data && e.local_name().as_ref() == "row" => {
                let empty = end >= 2 && xml.get(end - 2..end) == Some(b"/>");
                let r = attr(&e, "r")
                    .and_then(|r| r.parse::<usize>().ok())
                    .and_then(|r| r.checked_sub(1))
                    .unwrap_or_else(|| row.map_or(0, |r| r + 1));
                s.copy_to(start);
                s.new_rows(&mut pending, r);
                row = Some(r);
                last_col = None;
                last_style = None;
                if empty && pending.range((r, 0)..=(r, usize::MAX)).next().is_some() {
                    let tag = xml.get(start..end - 2).unwrap_or_default();
                    s.push(tag.trim_ascii_end());
                    s.push(b">");
                    s.new_cells(&mut pending, r, usize::MAX, None);
                    let p = s.prefix.clone();
                    s.push(format!("</{p}row>").as_bytes());
                    s.skip_to(end);
                }
            }
            Event::End(e) if in_data && e.local_name().as_ref() == "row" => {
                if let Some(r) = row {
                    s.copy_to(start);
                    s.new_cells(&mut pending, r, usize::MAX, last_style.as_deref());
                }
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if in_data && e.local_name().as_ref() == "c" =>
            {
                let Some(r) = row else { continue };
                let col = attr(e, "r")
                    .and_then(|a| cell_ref(&a))
                    .map(|(_, c)| c)
                    .unwrap_or_else(|| last_col.map_or(0, |c| c + 1));
                let style = attr(e, "s");
                s.copy_to(start);
                s.new_cells(&mut pending, r, col, last_style.as_deref());
                let mut cell_end = end;
                let mut formula = false;
                if matches!(event, Event::Start(_)) {
                    loop {
                        match reader.read_event()? {
                            Event::Start(f) | Event::Empty(f) if f.local_name().as_ref() == "f" => {
                                formula = true;
                            }
                            Event::End(c) if c.local_name().as_ref() == "c" => {
                                cell_end = pos(&reader);
                                break;
                            }
                            Event::Eof => break,
                            _ => {}
                        }
                    }
                }
                if let Some(edit) = pending.remove(&(r, col)) {
                    if formula {
                        formulas.push((r, col));
                    } else {
                        let cell = s.cell(r, col, &edit, style.as_deref());
                        s.push(&cell);
                        s.skip_to(cell_end);
                    }
                }
                last_col = Some(col);
                last_style = style;
            }
            Event::Start(e) if e.local_name().as_ref() == "mergeCells" => {
                merges = Some(Merges {
                    start,
                    kept: Vec::new(),
                    dropped: false,
                });
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if merges.is_some() && e.local_name().as_ref() == "mergeCell" =>
            {
                let mut range_end = end;
                if matches!(event, Event::Start(_)) {
                    reader.read_to_end(e.name())?;
                    range_end = pos(&reader);
                }
                let region = attr(e, "ref").and_then(|r| region(&r));
                if let Some(m) = merges.as_mut() {
                    if region.is_some_and(|g| patch.unmerged.contains(&g)) {
                        m.dropped = true;
                    } else {
                        m.kept.push((start, range_end));
                    }
                }
            }
            Event::End(e) if e.local_name().as_ref() == "mergeCells" => {
                if let Some(m) = merges.take()
                    && m.dropped
                {
                    s.copy_to(m.start);
                    // An empty <mergeCells> breaks the schema (one range at least), so with
                    // none left the element goes.
                    if !m.kept.is_empty() {
                        let p = s.prefix.clone();
                        s.push(format!("<{p}mergeCells count=\"{}\">", m.kept.len()).as_bytes());
                        for (a, b) in &m.kept {
                            s.push(xml.get(*a..*b).unwrap_or_default());
                        }
                        s.push(format!("</{p}mergeCells>").as_bytes());
                    }
                    s.skip_to(end);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    s.copy_to(xml.len());
    Ok((s.out, formulas))
}

struct Merges {
    start: usize,
    kept: Vec<(usize, usize)>,
    dropped: bool,
}

/// The output so far and how much of the source it has copied.
struct Splice<'a> {
    xml: &'a [u8],
    out: Vec<u8>,
    copied: usize,
    /// The namespace prefix of the sheet's elements (`x:` in some generators' files).
    prefix: String,
    percent_styles: &'a BTreeSet<usize>,
}

impl Splice<'_> {
    fn copy_to(&mut self, pos: usize) {
        if pos > self.copied {
            self.out
                .extend_from_slice(self.xml.get(self.copied..pos).unwrap_or_default());
            self.copied = pos;
        }
    }

    fn skip_to(&mut self, pos: usize) {
        self.copied = self.copied.max(pos);
    }

    fn push(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Rows the sheet has no element for, before row `before`.
    fn new_rows(&mut self, pending: &mut BTreeMap<(usize, usize), Edit>, before: usize) {
        while let Some((&(r, _), _)) = pending.first_key_value() {
            if r >= before {
                break;
            }
            let p = self.prefix.clone();
            self.push(format!("<{p}row r=\"{}\">", r + 1).as_bytes());
            self.new_cells(pending, r, usize::MAX, None);
            self.push(format!("</{p}row>").as_bytes());
        }
    }

    /// Cells row `r` has no element for, left of column `before`, styled like their left
    /// neighbour (a header beside the headers, a value beside the values).
    fn new_cells(
        &mut self,
        pending: &mut BTreeMap<(usize, usize), Edit>,
        r: usize,
        before: usize,
        style: Option<&str>,
    ) {
        let cols: Vec<usize> = pending
            .range((r, 0)..(r, before))
            .map(|(&(_, c), _)| c)
            .collect();
        for c in cols {
            if let Some(edit) = pending.remove(&(r, c)) {
                let cell = self.cell(r, c, &edit, style);
                self.push(&cell);
            }
        }
    }

    fn cell(&self, r: usize, c: usize, edit: &Edit, style: Option<&str>) -> Vec<u8> {
        let p = &self.prefix;
        let at = format!("{}{}", column_name(c), r + 1);
        let s = style.map_or_else(String::new, |s| format!(" s=\"{s}\""));
        let percent_style = style
            .and_then(|s| s.parse::<usize>().ok())
            .is_some_and(|s| self.percent_styles.contains(&s));
        let text = |t: &str| {
            format!(
                "<{p}c r=\"{at}\"{s} t=\"inlineStr\"><{p}is><{p}t xml:space=\"preserve\">{}\
                 </{p}t></{p}is></{p}c>",
                xml_text(t)
            )
        };
        let number = |n: f64| format!("<{p}c r=\"{at}\"{s}><{p}v>{n}</{p}v></{p}c>");
        let xml = match &edit.value {
            Value::Empty => format!("<{p}c r=\"{at}\"{s}/>"),
            Value::Text(t) => text(t),
            Value::Number(n) if edit.progress && !percent_style => text(&percent_text(*n)),
            Value::Number(n) => number(*n),
            Value::Date(d) => serial(d.and_time(chrono::NaiveTime::MIN))
                .map_or_else(|| text(&edit.value.text()), number),
            Value::DateTime(dt) => serial(*dt).map_or_else(|| text(&edit.value.text()), number),
            Value::Bool(b) => format!(
                "<{p}c r=\"{at}\"{s} t=\"b\"><{p}v>{}</{p}v></{p}c>",
                u8::from(*b)
            ),
        };
        xml.into_bytes()
    }
}

fn prefix_of(e: &BytesStart<'_>) -> String {
    e.name()
        .prefix()
        .map(|p| format!("{}:", p.as_ref()))
        .unwrap_or_default()
}

/// Excel's serial date (days since 1899-12-30), for dates after its phantom 29 February 1900.
fn serial(dt: chrono::NaiveDateTime) -> Option<f64> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(chrono::NaiveTime::MIN);
    let first = chrono::NaiveDate::from_ymd_opt(1900, 3, 1)?.and_time(chrono::NaiveTime::MIN);
    (dt >= first).then(|| (dt - epoch).num_seconds() as f64 / 86_400.0)
}

/// Text as XML character data. Characters XML 1.0 cannot hold are dropped (a chat note can
/// carry them; Excel would refuse the whole file), and `_xHHHH_`, which Excel reads as an
/// escaped character, is itself escaped as `_x005F_xHHHH_` so the note reads back as written.
fn xml_text(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let chars: Vec<char> = t.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            '_' if chars.get(i + 1) == Some(&'x')
                && chars.get(i + 6) == Some(&'_')
                && chars
                    .get(i + 2..i + 6)
                    .is_some_and(|h| h.iter().all(char::is_ascii_hexdigit)) =>
            {
                out.push_str("_x005F_");
            }
            c => out.push(c),
        }
    }
    out
}

/// `A` for 0, `Z` for 25, `AA` for 26.
pub(super) fn column_name(mut c: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    name.reverse();
    String::from_utf8_lossy(&name).into_owned()
}

/// `H6` → (5, 7), 0-based.
fn cell_ref(a1: &str) -> Option<(usize, usize)> {
    let split = a1.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = a1.split_at(split);
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let col = letters.bytes().try_fold(0usize, |acc, b| {
        b.is_ascii_uppercase()
            .then(|| acc * 26 + usize::from(b - b'A') + 1)
    })?;
    let row = digits.parse::<usize>().ok()?.checked_sub(1)?;
    Some((row, col - 1))
}

/// `A1:F1` → the region; a single cell is a region of one.
fn region(r: &str) -> Option<Region> {
    let (a, b) = r.split_once(':').unwrap_or((r, r));
    let (first_row, first_col) = cell_ref(a)?;
    let (last_row, last_col) = cell_ref(b)?;
    Some(Region {
        first_row,
        first_col,
        last_row,
        last_col,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzzing_hook_rewrites_cells_into_xml_that_reads_again() {
        let xml = br#"<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>1</v></c></row></sheetData></worksheet>"#;
        let cells = [
            (0, 0, "0.6".to_string()),
            (3, 2, "a <b> & \u{1}c".to_string()),
        ];
        assert_eq!(rewrite_for_fuzzing(xml, &cells), Some(true));
    }

    fn patch_xml(
        xml: &str,
        edits: &[((usize, usize), Value, bool)],
        unmerged: &[Region],
    ) -> (String, Vec<(usize, usize)>) {
        let edits: BTreeMap<(usize, usize), Edit> = edits
            .iter()
            .map(|(at, value, progress)| {
                (
                    *at,
                    Edit {
                        value: value.clone(),
                        progress: *progress,
                    },
                )
            })
            .collect();
        let percent: BTreeSet<usize> = [3].into();
        let patch = Patch {
            sheet: "s",
            edits: &edits,
            unmerged,
            percent_styles: &percent,
        };
        let (out, formulas) =
            edit_sheet(xml.as_bytes(), &patch).unwrap_or_else(|e| panic!("edit_sheet: {e}"));
        (String::from_utf8_lossy(&out).into_owned(), formulas)
    }

    #[test]
    fn only_the_changed_cells_bytes_differ() {
        let xml = r#"<worksheet><cols><col min="1" max="2" width="30" customWidth="1"/></cols><sheetData><row r="1" spans="1:2"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="2" t="s"><v>1</v></c></row><row r="2"><c r="A2" s="3"><v>0.5</v></c></row></sheetData><pageSetup orientation="landscape"/></worksheet>"#;
        let (out, formulas) = patch_xml(
            xml,
            &[
                ((0, 1), Value::Text("已完成 & <ok>".into()), false),
                ((1, 0), Value::Number(0.8), true),
            ],
            &[],
        );
        assert!(formulas.is_empty());
        assert_eq!(
            out,
            xml.replace(
                r#"<c r="B1" s="2" t="s"><v>1</v></c>"#,
                r#"<c r="B1" s="2" t="inlineStr"><is><t xml:space="preserve">已完成 &amp; &lt;ok&gt;</t></is></c>"#
            )
            .replace(r#"<v>0.5</v>"#, r#"<v>0.8</v>"#)
        );
    }

    #[test]
    fn missing_cells_and_rows_are_inserted_in_order() {
        let xml = r#"<x:worksheet><x:sheetData><x:row r="1"><x:c r="A1" s="7"><x:v>1</x:v></x:c><x:c r="C1"><x:v>3</x:v></x:c></x:row><x:row r="3"/></x:sheetData></x:worksheet>"#;
        let (out, _) = patch_xml(
            xml,
            &[
                ((0, 1), Value::Text("b".into()), false),
                ((0, 3), Value::Text("d".into()), false),
                ((1, 0), Value::Number(0.6), true),
                ((2, 0), Value::Empty, false),
            ],
            &[],
        );
        let cell = |at: &str, s: &str, t: &str| {
            format!(
                r#"<x:c r="{at}"{s} t="inlineStr"><x:is><x:t xml:space="preserve">{t}</x:t></x:is></x:c>"#
            )
        };
        assert_eq!(
            out,
            format!(
                r#"<x:worksheet><x:sheetData><x:row r="1"><x:c r="A1" s="7"><x:v>1</x:v></x:c>{}<x:c r="C1"><x:v>3</x:v></x:c>{}</x:row><x:row r="2">{}</x:row><x:row r="3"><x:c r="A3"/></x:row></x:sheetData></x:worksheet>"#,
                cell("B1", r#" s="7""#, "b"),
                cell("D1", "", "d"),
                cell("A2", "", "60%"),
            )
        );
    }

    #[test]
    fn a_formula_cell_is_left_alone_and_reported() {
        let xml = r#"<worksheet><sheetData><row r="1"><c r="A1" t="str"><f>B1</f><v>x</v></c></row></sheetData></worksheet>"#;
        let (out, formulas) = patch_xml(xml, &[((0, 0), Value::Text("y".into()), false)], &[]);
        assert_eq!(out, xml);
        assert_eq!(formulas, [(0, 0)]);
    }

    #[test]
    fn a_dropped_merged_range_leaves_the_others() {
        let xml = r#"<worksheet><sheetData/><mergeCells count="2"><mergeCell ref="A1:F1"/><mergeCell ref="C3:C5"/></mergeCells></worksheet>"#;
        let unmerge = region("C3:C5").into_iter().collect::<Vec<_>>();
        let (out, _) = patch_xml(xml, &[], &unmerge);
        assert_eq!(
            out,
            r#"<worksheet><sheetData/><mergeCells count="1"><mergeCell ref="A1:F1"/></mergeCells></worksheet>"#
        );
        let all: Vec<Region> = ["A1:F1", "C3:C5"]
            .iter()
            .filter_map(|r| region(r))
            .collect();
        let (out, _) = patch_xml(xml, &[], &all);
        assert_eq!(out, r#"<worksheet><sheetData/></worksheet>"#);
    }

    #[test]
    fn text_excel_would_misread_is_escaped() {
        assert_eq!(xml_text("a_x0041_b\u{1}c\n"), "a_x005F_x0041_bc\n");
        assert_eq!(xml_text("_x12_"), "_x12_");
    }

    #[test]
    fn cell_references_round_trip() {
        for (name, c) in [("A", 0), ("Z", 25), ("AA", 26), ("AZ", 51), ("XFD", 16_383)] {
            assert_eq!(column_name(c), name);
            assert_eq!(cell_ref(&format!("{name}7")), Some((6, c)));
        }
        assert_eq!(cell_ref("a1"), None);
        assert_eq!(
            resolve("xl/", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/", "/xl/worksheets/s.xml"),
            "xl/worksheets/s.xml"
        );
        assert_eq!(resolve("xl/", "../x.xml"), "x.xml");
    }
}

//! An invoice as a qualified invoice (Art. 17-1): HTML for the panel and a PDF
//! rendered here, without a browser. The PDF embeds a subset of a Japanese TrueType
//! font found at run time (IPA Gothic from `fonts-ipafont-gothic` by default) as a
//! CID font with a `ToUnicode` map, so its text can be searched and extracted.

use mamori_center_model::ids::ContractId;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use mamori_billing::document::{
    self as bdoc, DocumentMeta, InvoiceDocument, Issuer, Lang, RegistrationNumber,
};

use super::{BackofficeConfig, Invoice};

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the invoice cannot be laid out: {0}")]
    Layout(String),
    #[error(
        "no Japanese font for PDF invoices: tried {tried}\nhint: install the Debian package fonts-ipafont-gothic, or set backoffice.pdf_font to a TrueType (.ttf) file"
    )]
    NoFont { tried: String },
    #[error("the font {path} cannot be used: {message}")]
    BadFont { path: PathBuf, message: String },
    #[error("the font has no glyph for {0:?}")]
    MissingGlyph(char),
}

/// Where the PDF font is looked for when the configuration names none.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/truetype/ipafont-gothic/ipag.ttf",
];

/// The qualified-invoice document of a stored invoice.
pub fn layout(
    inv: &Invoice,
    cfg: &BackofficeConfig,
    lang: Lang,
) -> Result<InvoiceDocument, DocError> {
    let b = inv.to_billing().map_err(DocError::Layout)?;
    let reg: RegistrationNumber = cfg
        .registration_number
        .parse()
        .map_err(|e: bdoc::RegistrationError| DocError::Layout(e.to_string()))?;
    let meta = DocumentMeta {
        number: inv.number_text(),
        issuer: Issuer {
            name_ja: cfg.issuer_name_ja.clone(),
            name_en: cfg.issuer_name_en.clone(),
            registration_number: reg,
        },
        recipient: inv.recipient.clone(),
    };
    let mut d =
        bdoc::qualified_invoice(&b, &meta, lang).map_err(|e| DocError::Layout(e.to_string()))?;
    // One invoice per customer: each line names its contract.
    let mut contracts: Vec<ContractId> = inv.lines.iter().filter_map(|l| l.contract_id).collect();
    contracts.sort_unstable();
    contracts.dedup();
    if contracts.len() > 1 && d.lines.len() == inv.lines.len() {
        for (dl, l) in d.lines.iter_mut().zip(&inv.lines) {
            if let Some(c) = l.contract_id {
                dl.description.push_str(&match lang {
                    Lang::Ja => format!("（契約 #{c}）"),
                    Lang::En => format!(" (contract #{c})"),
                });
            }
        }
    }
    Ok(d)
}

/// The document as an HTML fragment (a `<section>`), for the panel and the API; the
/// template escapes every value.
pub fn markup(d: &InvoiceDocument) -> maud::Markup {
    maud::html! {
        section.invoice {
            h2 { (d.title) }
            p.recipient { (d.recipient) }
            dl {
                @for f in [&d.number, &d.issuer_name, &d.registration_number, &d.issue_date, &d.due_date, &d.period] {
                    dt { (f.label) } dd { (f.value) }
                }
            }
            table {
                thead { tr { @for c in &d.columns { th { (c) } } } }
                tbody {
                    @for l in &d.lines {
                        tr { td { (l.description) } td { (l.date) } td { (l.rate) } td.num { (l.amount) } }
                    }
                }
            }
            dl.totals {
                @for r in &d.rates {
                    dt { (r.label) } dd { (r.subtotal) } dt { (r.tax_label) } dd { (r.tax) }
                }
                @if let Some(n) = &d.non_taxable {
                    dt { (n.label) } dd { (n.value) }
                }
                @for f in [&d.tax_total, &d.total] {
                    dt { (f.label) } dd { (f.value) }
                }
            }
        }
    }
}

/// [`markup`] as a string.
pub fn html(d: &InvoiceDocument) -> String {
    markup(d).into_string()
}

/// Reads the configured font, or the first candidate that exists.
pub fn load_font(configured: &str) -> Result<(PathBuf, Vec<u8>), DocError> {
    let list: Vec<PathBuf> = if configured.trim().is_empty() {
        FONT_CANDIDATES.iter().map(PathBuf::from).collect()
    } else {
        vec![PathBuf::from(configured.trim())]
    };
    for p in &list {
        if let Ok(bytes) = std::fs::read(p) {
            return Ok((p.clone(), bytes));
        }
    }
    Err(DocError::NoFont {
        tried: list
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

// ---- PDF -----------------------------------------------------------------------------

struct Font<'a> {
    face: ttf_parser::Face<'a>,
    data: &'a [u8],
    upem: f32,
}

impl Font<'_> {
    fn gid(&self, c: char) -> Result<u16, DocError> {
        self.face
            .glyph_index(c)
            .map(|g| g.0)
            .or_else(|| (c == ' ').then_some(0))
            .ok_or(DocError::MissingGlyph(c))
    }
    fn advance(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        )
    }
    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars()
            .map(|c| self.gid(c).map(|g| self.advance(g)).unwrap_or(0.0))
            .sum::<f32>()
            * size
            / self.upem
    }
}

/// A page's text operations and the glyphs used (gid → char).
struct Canvas<'a> {
    font: &'a Font<'a>,
    ops: String,
    used: BTreeMap<u16, char>,
}

impl Canvas<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) -> Result<(), DocError> {
        let mut hex = String::new();
        for c in s.chars() {
            let g = self.font.gid(c)?;
            self.used.entry(g).or_insert(c);
            hex.push_str(&format!("{g:04X}"));
        }
        self.ops.push_str(&format!(
            "BT /F1 {size} Tf {x:.2} {y:.2} Td <{hex}> Tj ET\n"
        ));
        Ok(())
    }
    fn right(&mut self, right: f32, y: f32, size: f32, s: &str) -> Result<(), DocError> {
        let w = self.font.width(s, size);
        self.text(right - w, y, size, s)
    }
    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.ops
            .push_str(&format!("0.5 w {x1:.2} {y:.2} m {x2:.2} {y:.2} l S\n"));
    }
}

/// Renders the document as a one-page A4 PDF (more pages when the lines need them).
pub fn pdf(d: &InvoiceDocument, font_path: &Path, font_data: &[u8]) -> Result<Vec<u8>, DocError> {
    let face = ttf_parser::Face::parse(font_data, 0).map_err(|e| DocError::BadFont {
        path: font_path.to_path_buf(),
        message: e.to_string(),
    })?;
    let upem = f32::from(face.units_per_em());
    let font = Font {
        face,
        data: font_data,
        upem,
    };
    let mut pages = Vec::new();
    let mut used = BTreeMap::new();
    let (left, right) = (50.0f32, 545.0f32);
    let mut c = Canvas {
        font: &font,
        ops: String::new(),
        used: BTreeMap::new(),
    };
    let mut y = 790.0;
    c.text(left, y, 20.0, &d.title)?;
    y -= 34.0;
    c.text(left, y, 13.0, &d.recipient)?;
    y -= 26.0;
    for f in [
        &d.number,
        &d.issuer_name,
        &d.registration_number,
        &d.issue_date,
        &d.due_date,
        &d.period,
    ] {
        c.text(left, y, 10.0, &f.label)?;
        c.text(left + 150.0, y, 10.0, &f.value)?;
        y -= 16.0;
    }
    y -= 12.0;
    let cols = [left, left + 250.0, left + 360.0];
    let header = |c: &mut Canvas, y: f32| -> Result<(), DocError> {
        c.text(cols[0], y, 9.0, &d.columns[0])?;
        c.text(cols[1], y, 9.0, &d.columns[1])?;
        c.text(cols[2], y, 9.0, &d.columns[2])?;
        c.right(right, y, 9.0, &d.columns[3])?;
        c.rule(left, right, y - 5.0);
        Ok(())
    };
    header(&mut c, y)?;
    y -= 20.0;
    for l in &d.lines {
        if y < 150.0 {
            used.extend(c.used.iter().map(|(k, v)| (*k, *v)));
            pages.push(std::mem::take(&mut c.ops));
            y = 790.0;
            header(&mut c, y)?;
            y -= 20.0;
        }
        c.text(cols[0], y, 9.0, &l.description)?;
        c.text(cols[1], y, 9.0, &l.date)?;
        c.text(cols[2], y, 9.0, &l.rate)?;
        c.right(right, y, 9.0, &l.amount)?;
        y -= 15.0;
    }
    c.rule(left, right, y + 8.0);
    y -= 10.0;
    let total_line = |c: &mut Canvas, y: &mut f32, label: &str, value: &str, size: f32| {
        let r = c
            .text(left + 250.0, *y, size, label)
            .and_then(|()| c.right(right, *y, size, value));
        *y -= size + 6.0;
        r
    };
    for r in &d.rates {
        total_line(&mut c, &mut y, &r.label, &r.subtotal, 10.0)?;
        total_line(&mut c, &mut y, &r.tax_label, &r.tax, 10.0)?;
    }
    if let Some(n) = &d.non_taxable {
        total_line(&mut c, &mut y, &n.label, &n.value, 10.0)?;
    }
    total_line(&mut c, &mut y, &d.tax_total.label, &d.tax_total.value, 10.0)?;
    total_line(&mut c, &mut y, &d.total.label, &d.total.value, 13.0)?;
    used.extend(c.used.iter().map(|(k, v)| (*k, *v)));
    pages.push(c.ops);
    used.entry(0).or_insert(' ');
    let subset =
        subset_truetype(font.data, &used.keys().copied().collect()).map_err(|message| {
            DocError::BadFont {
                path: font_path.to_path_buf(),
                message,
            }
        })?;
    Ok(write_pdf(&pages, &font, &used, &subset))
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn write_pdf(pages: &[String], font: &Font, used: &BTreeMap<u16, char>, subset: &[u8]) -> Vec<u8> {
    // Objects: 1 catalog, 2 pages, 3 Type0 font, 4 CID font, 5 descriptor, 6 font file,
    // 7 ToUnicode, then per page: page, content.
    let mut objs: Vec<Vec<u8>> = Vec::new();
    let n_pages = pages.len();
    let page_ids: Vec<usize> = (0..n_pages).map(|i| 8 + 2 * i).collect();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objs.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n_pages} >>",
            page_ids
                .iter()
                .map(|i| format!("{i} 0 R"))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .into_bytes(),
    );
    objs.push(b"<< /Type /Font /Subtype /Type0 /BaseFont /MAMORI+IPAGothic /Encoding /Identity-H /DescendantFonts [4 0 R] /ToUnicode 7 0 R >>".to_vec());
    let scale = 1000.0 / font.upem;
    let widths: String = used
        .keys()
        .map(|g| format!("{g} [{}]", (font.advance(*g) * scale).round() as i64))
        .collect::<Vec<_>>()
        .join(" ");
    objs.push(format!("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /MAMORI+IPAGothic /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 5 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>").into_bytes());
    let f = &font.face;
    let bb = f.global_bounding_box();
    objs.push(format!(
        "<< /Type /FontDescriptor /FontName /MAMORI+IPAGothic /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 6 0 R >>",
        (f32::from(bb.x_min) * scale) as i64,
        (f32::from(bb.y_min) * scale) as i64,
        (f32::from(bb.x_max) * scale) as i64,
        (f32::from(bb.y_max) * scale) as i64,
        (f32::from(f.ascender()) * scale) as i64,
        (f32::from(f.descender()) * scale) as i64,
        (f32::from(f.capital_height().unwrap_or(f.ascender())) * scale) as i64,
    ).into_bytes());
    let packed = deflate(subset);
    let mut ff = format!(
        "<< /Length {} /Length1 {} /Filter /FlateDecode >>\nstream\n",
        packed.len(),
        subset.len()
    )
    .into_bytes();
    ff.extend_from_slice(&packed);
    ff.extend_from_slice(b"\nendstream");
    objs.push(ff);
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = used.iter().collect();
    for chunk in entries.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (g, ch) in chunk {
            let mut units = [0u16; 2];
            let hex: String = ch
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            cmap.push_str(&format!("<{g:04X}> <{hex}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    objs.push(format!("<< /Length {} >>\nstream\n{cmap}endstream", cmap.len()).into_bytes());
    for (i, ops) in pages.iter().enumerate() {
        objs.push(format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>", page_ids[i] + 1).into_bytes());
        let packed = deflate(ops.as_bytes());
        let mut s = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        s.extend_from_slice(&packed);
        s.extend_from_slice(b"\nendstream");
        objs.push(s);
    }
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn be16(d: &[u8], at: usize) -> Result<u16, String> {
    d.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn be32(d: &[u8], at: usize) -> Result<u32, String> {
    d.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated at byte {at}"))
}

/// A TrueType font keeping only the glyphs in `keep` (and the components of composite
/// glyphs); glyph ids stay the same, the other glyphs become empty. Only the tables a
/// PDF's embedded CID font needs are kept.
pub fn subset_truetype(data: &[u8], keep: &BTreeSet<u16>) -> Result<Vec<u8>, String> {
    let num_tables = usize::from(be16(data, 4)?);
    let mut tables: BTreeMap<[u8; 4], &[u8]> = BTreeMap::new();
    for i in 0..num_tables {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = data
            .get(rec..rec + 4)
            .and_then(|t| t.try_into().ok())
            .ok_or("truncated table directory")?;
        let off = be32(data, rec + 8)? as usize;
        let len = be32(data, rec + 12)? as usize;
        let t = data
            .get(off..off.checked_add(len).ok_or("bad table length")?)
            .ok_or_else(|| format!("table {} out of the file", String::from_utf8_lossy(&tag)))?;
        tables.insert(tag, t);
    }
    let get = |t: &[u8; 4]| {
        tables.get(t).copied().ok_or_else(|| {
            format!(
                "no {} table (not a TrueType font?)",
                String::from_utf8_lossy(t)
            )
        })
    };
    let head = get(b"head")?;
    let maxp = get(b"maxp")?;
    let loca = get(b"loca")?;
    let glyf = get(b"glyf")?;
    let long = be16(head, 50)? != 0;
    let num_glyphs = usize::from(be16(maxp, 4)?);
    let offset = |g: usize| -> Result<usize, String> {
        Ok(if long {
            be32(loca, 4 * g)? as usize
        } else {
            usize::from(be16(loca, 2 * g)?) * 2
        })
    };
    let glyph = |g: usize| -> Result<&[u8], String> {
        let (a, b) = (offset(g)?, offset(g + 1)?);
        glyf.get(a..b)
            .ok_or_else(|| format!("glyph {g} out of the glyf table"))
    };
    // Close over composite components.
    let mut all: BTreeSet<u16> = keep
        .iter()
        .copied()
        .filter(|g| usize::from(*g) < num_glyphs)
        .collect();
    let mut todo: Vec<u16> = all.iter().copied().collect();
    while let Some(g) = todo.pop() {
        let d = glyph(usize::from(g))?;
        if d.len() < 10 || (be16(d, 0)? as i16) >= 0 {
            continue;
        }
        let mut at = 10;
        loop {
            let flags = be16(d, at)?;
            let comp = be16(d, at + 2)?;
            if all.insert(comp) {
                todo.push(comp);
            }
            at += 4 + if flags & 1 != 0 { 4 } else { 2 };
            at += if flags & 0x8 != 0 {
                2
            } else if flags & 0x40 != 0 {
                4
            } else if flags & 0x80 != 0 {
                8
            } else {
                0
            };
            if flags & 0x20 == 0 {
                break;
            }
        }
    }
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (num_glyphs + 1));
    for g in 0..num_glyphs {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if all.contains(&(g as u16)) {
            new_glyf.extend_from_slice(glyph(g)?);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let mut new_head = head.to_vec();
    if new_head.len() < 54 {
        return Err("head table too short".into());
    }
    new_head[8..12].copy_from_slice(&[0, 0, 0, 0]);
    new_head[50..52].copy_from_slice(&1u16.to_be_bytes());
    let mut out_tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
    for tag in [
        b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep",
    ] {
        let body = match tag {
            b"glyf" => new_glyf.clone(),
            b"loca" => new_loca.clone(),
            b"head" => new_head.clone(),
            t => match tables.get(t) {
                Some(d) => d.to_vec(),
                None if matches!(t, b"cvt " | b"fpgm" | b"prep") => continue,
                None => return Err(format!("no {} table", String::from_utf8_lossy(t))),
            },
        };
        out_tables.push((*tag, body));
    }
    let n = out_tables.len();
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&(n as u16).to_be_bytes());
    let mut pow = 1usize;
    let mut log = 0u16;
    while pow * 2 <= n {
        pow *= 2;
        log += 1;
    }
    out.extend_from_slice(&((pow * 16) as u16).to_be_bytes());
    out.extend_from_slice(&log.to_be_bytes());
    out.extend_from_slice(&((n * 16 - pow * 16) as u16).to_be_bytes());
    let mut off = 12 + 16 * n;
    let mut bodies = Vec::new();
    for (tag, body) in &out_tables {
        let mut padded = body.clone();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        let sum = padded.chunks(4).fold(0u32, |s, c| {
            s.wrapping_add(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        });
        out.extend_from_slice(tag);
        out.extend_from_slice(&sum.to_be_bytes());
        out.extend_from_slice(&(off as u32).to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        off += padded.len();
        bodies.push(padded);
    }
    for b in bodies {
        out.extend_from_slice(&b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn subsetting_arbitrary_bytes_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400), g in 0u16..50) {
            let _ = subset_truetype(&data, &[g].into_iter().collect());
        }
    }
}

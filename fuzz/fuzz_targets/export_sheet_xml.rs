//! The in-place xlsx export's rewriting of a sheet's XML (`weekbell::export`'s `in_place`): the
//! sheet comes from the office's own workbook, so any bytes may arrive. Whatever cells are
//! written, the result must never panic, and must read as XML to its end whenever the source
//! did. Seed the corpus with the sheet XML of real workbooks (`unzip -p list.xlsx
//! xl/worksheets/sheet1.xml`).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    xml: Vec<u8>,
    cells: Vec<(u16, u16, String)>,
}

/// Whether `xml` reads to its end as XML.
fn well_formed(xml: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => return true,
            Ok(_) => buf.clear(),
            Err(_) => return false,
        }
    }
}

fuzz_target!(|input: Input| {
    let cells: Vec<(u16, u16, String)> = input.cells.into_iter().take(64).collect();
    if let Some(ok) = weekbell::export::fuzz_rewrite_sheet_xml(&input.xml, &cells) {
        assert!(
            ok || !well_formed(&input.xml),
            "well-formed sheet XML became malformed"
        );
    }
});

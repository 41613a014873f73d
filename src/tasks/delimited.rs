//! CSV and TSV task lists.

use super::cell::Cell;
use super::error::TaskError;
use super::rows::SheetImport;
use std::borrow::Cow;

pub(crate) enum ReadError {
    /// A field is not UTF-8: the caller decodes the file (GBK) and reads it again.
    NotUtf8,
    Task(TaskError),
}

impl From<TaskError> for ReadError {
    fn from(e: TaskError) -> Self {
        ReadError::Task(e)
    }
}

/// Feeds every record of `bytes` to `import`, numbering rows the way a spreadsheet program
/// shows the file: a quoted field spanning several lines is one row, and a blank line is an
/// (empty) row of its own even though the CSV reader skips it.
///
/// Fields are checked for UTF-8 as they are read, so that a plain UTF-8 file is validated in
/// one pass; the first invalid field stops the read with [`ReadError::NotUtf8`].
pub(crate) fn read(
    bytes: &[u8],
    delimiter: u8,
    import: &mut SheetImport<'_>,
) -> Result<(), ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    // A rough guess from the byte size avoids regrowing the task vector many times.
    import.reserve(bytes.len() / 160);
    let mut record = csv::ByteRecord::new();
    let mut row = 0usize;
    let mut spare: Vec<Cell<'static>> = Vec::new();
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The reader is flexible and reads from memory, so this is rare; report it at
                // the row where it happened.
                import.reject(row + 1, None, format!("cannot read this CSV row: {e}"));
                break;
            }
        }
        row += 1 + usize::try_from(start).map_or(0, |s| blank_lines(bytes, s));
        let mut cells = recycle(std::mem::take(&mut spare));
        for field in record.iter() {
            cells.push(if field.is_empty() {
                Cell::Empty
            } else {
                match std::str::from_utf8(field) {
                    Ok(s) => Cell::Text(Cow::Borrowed(s)),
                    Err(_) => return Err(ReadError::NotUtf8),
                }
            });
        }
        import.push_row(row, &cells)?;
        spare = recycle(cells);
    }
    Ok(())
}

/// Reuses a row buffer's allocation across rows whose cells borrow different records. The
/// vector is empty, so the in-place `collect` only changes its lifetime parameter.
fn recycle<'b>(mut cells: Vec<Cell<'_>>) -> Vec<Cell<'b>> {
    cells.clear();
    cells.into_iter().map(|_| Cell::Empty).collect()
}

/// Counts the blank lines the CSV reader skipped before the record starting at byte `start`.
///
/// The reader stops after the `\r` of a CRLF terminator, so a `\n` right at `start` finishes
/// the previous record's line rather than being a blank line.
pub(crate) fn blank_lines(bytes: &[u8], start: usize) -> usize {
    let Some(rest) = bytes.get(start..) else {
        return 0;
    };
    let newlines = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    let continues_crlf =
        start > 0 && bytes.get(start - 1) == Some(&b'\r') && rest.first() == Some(&b'\n');
    newlines - usize::from(continues_crlf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_with_lf_and_crlf() {
        let lf = b"a\n\nb\n";
        assert_eq!(blank_lines(lf, 2), 1);
        assert_eq!(blank_lines(lf, 3), 0);
        let crlf = b"a\r\nb\r\n\r\nc";
        assert_eq!(blank_lines(crlf, 2), 0);
        assert_eq!(blank_lines(crlf, 5), 1);
        assert_eq!(blank_lines(crlf, 0), 0);
        assert_eq!(blank_lines(crlf, 99), 0);
    }

    #[test]
    fn recycled_buffers_keep_their_allocation() {
        let mut v: Vec<Cell<'static>> = Vec::with_capacity(16);
        v.push(Cell::Empty);
        let cap = v.capacity();
        let r: Vec<Cell<'_>> = recycle(v);
        assert!(r.is_empty());
        assert_eq!(r.capacity(), cap);
    }
}

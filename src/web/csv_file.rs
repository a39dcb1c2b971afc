//! CSV files as the console hands them out.

/// A UTF-8 byte-order mark: without it, a double-click in Excel reads the file in the
/// machine's legacy code page and shows "Ã…ngstrÃ¶m" for "Ångström".
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file with the byte-order mark in front.
pub fn with_bom(body: Vec<u8>) -> Vec<u8> {
    let mut file = Vec::with_capacity(UTF8_BOM.len() + body.len());
    file.extend_from_slice(UTF8_BOM);
    file.extend(body);
    file
}

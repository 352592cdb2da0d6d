//! The file parsers never panic: MIME attachments (nested multiparts, base64,
//! quoted-printable), multipart/form-data request bodies, file signatures.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mamori_ids::app::files::{base64, magic, mime_files, multipart_files};
use mamori_ids::app::http::HttpTx;

fuzz_target!(|data: &[u8]| {
    let _ = mime_files(data, true, data.first().is_some_and(|b| b & 1 == 1));
    let _ = base64(data);
    let _ = magic(data);
    // The first line is the Content-Type, the rest the body.
    let nl = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let tx = HttpTx {
        request_headers: vec![(b"Content-Type".to_vec(), data[..nl].to_vec())],
        request_body: data.get(nl + 1..).unwrap_or(&[]).to_vec(),
        request_complete: true,
        ..HttpTx::default()
    };
    let _ = multipart_files(&tx, true);
});

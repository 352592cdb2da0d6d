//! `docs/security.md` shows the authorization table as the code has it.

#[test]
fn the_security_document_shows_the_authorization_table() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("../../docs/security.md"),
    )
    .unwrap();
    let table = mamori_center_model::authz::table_markdown();
    assert!(
        doc.contains(&table),
        "docs/security.md does not show the authorization table of \
         crates/center-model/src/authz.rs; put this table under \"What each role may do\":\n\n{table}"
    );
}

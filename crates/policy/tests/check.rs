use mamori_policy::{Lists, check};

fn main_dbg() {}

#[test]
fn dbg() {
    main_dbg();
    let src = std::fs::read_to_string("/tmp/bad.toml").unwrap();
    let c = check(&src, &Lists::new());
    for d in &c.diagnostics {
        println!("{}", d.display("bad.toml"));
    }
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/office.toml"
    ))
    .unwrap();
    let c = check(&src, &Lists::new());
    for d in &c.diagnostics {
        println!("{}", d.display("office.toml"));
    }
    println!("{:#?}", c.policy.map(|p| p.rules.len()));
}

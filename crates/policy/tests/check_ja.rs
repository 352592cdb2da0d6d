//! Every diagnostic a corpus of bad policies gives reads in Japanese as well as in
//! English (`Diagnostic::message_for("ja")`, `hint_for("ja")`): none stays English-only.

use mamori_policy::{Lists, check};

fn data(name: &str) -> String {
    let path = format!(
        "{}/tests/data/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn japanese(s: &str) -> bool {
    s.chars()
        .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c))
}

const HEAD: &str = "[interfaces]\nlan0 = \"lan\"\nwan0 = { zone = \"wan\", addresses = [\"198.51.100.1/24\"] }\n[management]\ncenter = \"203.0.113.10\"\n";

/// Bad policies, each with a few mistakes of a kind.
fn corpus() -> Vec<String> {
    let mut v = vec![
        data("bad.toml"),
        "not toml = = =".to_string(),
        "[rules]\nx = 1\n".to_string(),
        "[interfaces]\n\"bad name with spaces\" = \"lan\"\nwan0 = 5\n".to_string(),
        format!("{HEAD}[options]\nfast_path = \"yes\"\nspeed = 1\n"),
        format!("{HEAD}[addresses]\nany = \"10.0.0.1\"\nweb = \"10.0.0.1\"\n[services]\nweb = \"tcp/80\"\nsvc = \"sctp/1\"\nping = \"icmp/nonsense\"\n"),
        format!("{HEAD}[[rules]]\nname = \"r1\"\nfrom = \"lan\"\nto = \"wan\"\naction = \"accept\"\n[[rules]]\nname = \"r1\"\nfrom = \"self\"\nto = \"wan\"\nservice = []\naction = \"accept\"\nlog = 5\n"),
        format!("{HEAD}[[rules]]\nfrom = \"lan\"\nto = \"wan\"\naction = \"accept\"\n[[rules]]\nname = \"late\"\nfrom = \"lan\"\nto = \"wan\"\nservice = \"tcp/443\"\naction = \"accept\"\n"),
        format!("{HEAD}[addresses]\nweb = \"10.0.0.1\"\n[services]\nhttps = \"tcp/443\"\n[[rules]]\nfrom = \"lan\"\nto = \"wan\"\nsource = [\"any\", \"web\"]\ndestination = \"https\"\nservice = \"web\"\naction = \"accept\"\n"),
        format!("{HEAD}[defaults]\n\"lan->wan\" = \"allow\"\nlanwan = \"accept\"\n"),
        format!("{HEAD}[[nat.port_forwards]]\nname = \"f\"\nzone = \"wan\"\nport = \"80-90\"\nto = \"2001:db8::1\"\nto_port = 8080\n[[nat.one_to_one]]\npublic = \"198.51.100.1\"\nprivate = \"10.0.0.5\"\n[[nat.one_to_one]]\npublic = \"198.51.100.7\"\nprivate = \"2001:db8::5\"\n"),
        format!("{HEAD}[[load_balancers]]\nname = \"a\"\naddress = \"198.51.100.9\"\nport = 443\nbackends = [{{ address = \"2001:db8::9\", port = 443 }}, {{ address = \"2001:db8::9\", port = 443 }}]\nhealth = {{ check = \"smtp\", interval = \"forever\", path = \"no slash\" }}\n[[load_balancers]]\nname = \"b\"\naddress = \"198.51.100.9\"\nport = 443\nprotocol = \"sctp\"\nbackends = [{{ address = \"10.0.0.9\", port = 70000 }}]\n"),
        "[interfaces]\nlan0 = \"lan\"\n[management]\ncenter = \"any\"\n".to_string(),
        "[interfaces]\nlan0 = { zone = \"lan\", default_route = true }\nlan1 = { zone = \"lan\", default_route = true, addresses = [\"nope\"] }\n".to_string(),
        format!("{HEAD}[lists]\nthreats = 5\nbad = \"bad.txt\"\n[address_groups]\nloop = [\"loop\"]\n"),
    ];
    v.push(format!(
        "{HEAD}[[rules]]\nfrom = \"lan\"\nto = \"wann\"\naction = \"accept\"\n"
    ));
    v
}

#[test]
fn no_diagnostic_of_the_corpus_is_english_only() {
    let mut seen = 0;
    let mut english_only = Vec::new();
    for src in corpus() {
        for d in check(&src, &Lists::new()).diagnostics {
            seen += 1;
            let ja = d.message_for("ja");
            if !japanese(&ja) {
                english_only.push(format!("message: {}", d.message));
            }
            assert_eq!(d.message_for("en"), d.message);
            if let Some(h) = d.hint_for("ja").filter(|h| !japanese(h)) {
                english_only.push(format!("hint: {h}"));
            }
        }
    }
    assert!(seen > 40, "the corpus gives {seen} diagnostics");
    assert!(english_only.is_empty(), "{english_only:#?}");
}

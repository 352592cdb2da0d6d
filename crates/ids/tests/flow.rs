//! The flow table under load: bounded, every flow either live or handed back.

use std::net::IpAddr;

use mamori_ids::flow::{FlowConfig, FlowTable};
use proptest::prelude::*;

proptest! {
    #[test]
    fn flows_are_bounded_and_accounted(ports in prop::collection::vec((1u16..50, 1u16..50, any::<bool>()), 1..300), max in 1usize..20) {
        let cfg = FlowConfig { max_flows: max, ..FlowConfig::default() };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        let mut removed = Vec::new();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for (i, (sp, dp, rev)) in ports.iter().enumerate() {
            let (s, d) = if *rev { ((b, *dp), (a, *sp)) } else { ((a, *sp), (b, *dp)) };
            t.lookup(i as i64, s, d, 17, [0; 2], || (), &mut removed);
            prop_assert!(t.len() <= max);
        }
        prop_assert_eq!(t.created as usize, t.len() + removed.len());
    }
}

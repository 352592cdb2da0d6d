//! TCP stream reassembly: whatever the segmentation, order and duplication, the bytes
//! come out once and in order.

use mamori_ids::stream::{Stream, StreamConfig};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_segmentation_order_and_duplication_yields_the_data(
        data in prop::collection::vec(any::<u8>(), 1..2000),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        isn in any::<u32>(),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len())).collect();
        points.push(0);
        points.push(data.len());
        points.sort();
        points.dedup();
        let segs: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
        let mut sends: Vec<(usize, usize)> = order.iter().map(|i| segs[i.index(segs.len())]).collect();
        sends.extend(segs.iter().copied());
        let mut s = Stream::default();
        s.start(isn);
        let mut out = Vec::new();
        for (a, b) in sends {
            s.add(&StreamConfig::default(), isn.wrapping_add(a as u32), &data[a..b], &mut out);
        }
        prop_assert_eq!(out, data);
    }
}

#[test]
fn gap_is_skipped_at_the_end() {
    let mut s = Stream::default();
    s.start(0);
    let mut out = Vec::new();
    s.add(&StreamConfig::default(), 0, b"ab", &mut out);
    s.add(&StreamConfig::default(), 5, b"fg", &mut out);
    assert_eq!(out, b"ab");
    assert!(s.skip_gap(&StreamConfig::default(), &mut out));
    assert_eq!(out, b"abfg");
}

//! Prometheus's staleness marker: the NaN with bits `0x7ff0000000000002`
//! (`value.StaleNaN`), written when a series disappears from a scrape.
//!
//! It is a value like any other to the head and the chunks, which keep its
//! exact bits. It must be recognised by its bits, never by `is_nan()`: an
//! ordinary NaN sample is a value, not a marker.

/// The bits of the staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a value.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is the staleness marker (bit-exact, as Prometheus's
/// `value.IsStaleNaN`).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

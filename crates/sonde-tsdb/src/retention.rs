//! Retention by age, as Prometheus's `--storage.tsdb.retention.time`: a
//! block is deleted once all of it is older than `now - retention`, that
//! is once its end (`maxt`, exclusive) is at or before that cut-off.

use crate::block::BlockMeta;

/// The ids of the blocks wholly older than `now_ms - retention_ms`.
pub fn expired(metas: &[&BlockMeta], now_ms: i64, retention_ms: i64) -> Vec<String> {
    let cutoff = now_ms.saturating_sub(retention_ms);
    metas
        .iter()
        .filter(|m| m.maxt <= cutoff)
        .map(|m| m.id.clone())
        .collect()
}

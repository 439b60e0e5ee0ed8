//! `serve`: the corpus loaded into an in-memory Db, answered over
//! Prometheus's HTTP API by sonde's router and PromQL engine.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use sonde_promql::{Engine, EngineOptions};

pub fn run(corpus: &Path, listen: &str) -> anyhow::Result<()> {
    let series = crate::corpus::read(corpus)?;
    let db = Arc::new(crate::bytes::load(&series)?);
    let stats = db.head_stats();
    let engine = Arc::new(Engine::new(EngineOptions::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        println!(
            "listening on {} ({} series, {} samples)",
            listener.local_addr()?,
            stats.series,
            stats.samples_appended
        );
        axum::serve(listener, sonde_api::prom::router(db, engine)).await?;
        anyhow::Ok(())
    })
}

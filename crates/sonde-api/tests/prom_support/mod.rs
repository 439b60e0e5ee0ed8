//! What the Prometheus API tests share: sonde's Prometheus router served
//! in-process on a loopback port, and a small blocking HTTP client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use sonde_promql::{Engine, EngineOptions};
use sonde_tsdb::Db;

/// `prom::router` over `db`, served on 127.0.0.1 by a runtime of its own
/// until the test process ends.
pub struct Server {
    pub addr: SocketAddr,
    pub db: Arc<Db>,
}

impl Server {
    pub fn start(db: Arc<Db>) -> Server {
        Self::start_with_stats(db, Arc::default())
    }

    /// [`Server::start`], counting remote writes into `writes`.
    pub fn start_with_stats(db: Arc<Db>, writes: Arc<sonde_api::prom::WriteStats>) -> Server {
        let engine = Arc::new(Engine::new(EngineOptions::default()));
        let app = sonde_api::prom::router_with_stats(db.clone(), engine, writes);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("server address");
        Server { addr, db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let response = result.expect("request");
    let status = response.status().as_u16();
    let body = response.into_body().read_to_string().expect("body");
    Answer { status, body }
}

/// `GET url?params`.
pub fn get(url: &str, params: &[(&str, &str)]) -> Answer {
    let mut request = agent().get(url);
    for (k, v) in params {
        request = request.query(*k, *v);
    }
    answer(request.call())
}

/// `POST url` with `params` as a form body.
pub fn post_form(url: &str, params: &[(&str, &str)]) -> Answer {
    answer(agent().post(url).send_form(params.iter().copied()))
}

/// `POST url` with raw bytes.
pub fn post_bytes(url: &str, content_type: &str, body: &[u8]) -> Answer {
    answer(
        agent()
            .post(url)
            .header("Content-Type", content_type)
            .send(body),
    )
}

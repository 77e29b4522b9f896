//! The HTTP API: `GET /status` (JSON, [`halab_api::Status`]) and `GET /metrics` (Prometheus).

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::driver::StatusCell;

/// Binds `addr` and serves the API in the background.
pub async fn serve(addr: SocketAddr, status: StatusCell) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("API accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let status = status.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(req, status.clone()));
                let conn = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = conn.await {
                    tracing::debug!("API connection: {e}");
                }
            });
        }
    });
    Ok(local)
}

async fn answer(
    req: Request<Incoming>,
    status: StatusCell,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |code: StatusCode, kind: &str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = code;
        if let Ok(value) = kind.parse() {
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, value);
        }
        response
    };
    if req.method() != Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET\n".into(),
        ));
    }
    Ok(match req.uri().path() {
        "/status" => match serde_json::to_string_pretty(&status.get().await) {
            Ok(json) => reply(StatusCode::OK, "application/json", json + "\n"),
            Err(e) => reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("{e}\n"),
            ),
        },
        "/metrics" => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            status.get().await.to_prometheus(),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "try /status or /metrics\n".into(),
        ),
    })
}

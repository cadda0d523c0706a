//! `load-ceiling BIND BODY_FILE`: serves POST /graphql with the bytes of BODY_FILE as
//! `application/json`, nothing else (no parsing, no middleware).

use axum::Router;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(bind), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: load-ceiling BIND BODY_FILE");
        std::process::exit(2);
    };
    let body = Bytes::from(std::fs::read(&path)?);
    // The request body is read (as the service reads it), then dropped.
    let app = Router::new().route(
        "/graphql",
        post(move |_request: Bytes| {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("ceiling serving {} bytes on {bind}", std::fs::metadata(&path)?.len());
    axum::serve(listener, app).await
}

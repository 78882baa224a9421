//! The optional HTTP endpoint (`--http HOST:PORT`): `GET /health` answers `ok`
//! (for orchestration readiness checks), `GET /topics` lists topics with their
//! partition count. Anything else is 404. One request per connection.

use crate::state::BrokerState;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serve until the task is aborted.
pub async fn serve(state: Arc<BrokerState>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(state, stream)).await;
        });
    }
}

async fn answer(state: Arc<BrokerState>, mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET", "/health") => ("200 OK", "ok\n".to_string()),
        ("GET", "/topics") => {
            let mut s = String::new();
            for t in state.partitions.topics() {
                s.push_str(&format!("{} {}\n", t.name, t.partition_count()));
            }
            ("200 OK", s)
        }
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

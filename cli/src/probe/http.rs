//! A tiny HTTP/1.1 client for probes: one GET, a deadline, who answered.
//!
//! It runs on a thread that has entered the lab's client namespace (`netns::in_netns`), so
//! its sockets live there; it must therefore create its sockets itself, on the calling
//! thread, which is why it is not a full client library with its own runtime threads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `X-Served-By` header halab's nginx config adds: the web node that answered.
    pub served_by: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The backend that answered: the header, else the page's text without tags.
    pub fn backend(&self) -> String {
        self.served_by
            .clone()
            .unwrap_or_else(|| strip_tags(&self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("request to {addr} failed: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr} sent a malformed reply: {what}")]
    Malformed { addr: SocketAddr, what: String },
}

/// `GET path` from `addr`, all within `timeout`. Optional basic auth as `user:password`.
pub fn get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
    auth: Option<&str>,
) -> Result<Reply, ProbeError> {
    get_with(addr, path, timeout, auth, &[])
}

/// [`get`] with extra request headers (a scenario's `Cookie: SERVERID=A`).
pub fn get_with(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
    auth: Option<&str>,
    headers: &[(String, String)],
) -> Result<Reply, ProbeError> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| ProbeError::Connect { addr, source })?;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let io = |source| ProbeError::Io { addr, source };
    s.set_write_timeout(Some(left())).map_err(io)?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: halab-probe\r\nConnection: close\r\n"
    );
    if let Some(a) = auth {
        req.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(a.as_bytes())
        ));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        s.set_read_timeout(Some(left())).map_err(io)?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A server may reset instead of closing once it has sent everything (haproxy
            // with `option httpclose` can): a complete reply is still the reply.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && complete(&buf) => break,
            Err(e) => return Err(io(e)),
        }
        // Bounded: probes read pages of a few hundred bytes; stats CSV stays far below this.
        if buf.len() > 4 << 20 {
            return Err(ProbeError::Malformed {
                addr,
                what: "reply larger than 4 MiB".to_string(),
            });
        }
    }
    parse(addr, &buf)
}

/// Whether `buf` holds a whole reply: headers, and a body of the announced Content-Length.
fn complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let len = head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
    });
    len.is_some_and(|n| body.len() >= n)
}

fn parse(addr: SocketAddr, buf: &[u8]) -> Result<Reply, ProbeError> {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(ProbeError::Malformed {
            addr,
            what: format!("no header end in {} bytes", buf.len()),
        });
    };
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ProbeError::Malformed {
            addr,
            what: format!("status line `{status_line}`"),
        })?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    let served_by = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-served-by"))
        .map(|(_, v)| v.clone());
    Ok(Reply {
        status,
        served_by,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_header_and_chunked_body() {
        // Input: a chunked reply with X-Served-By. Output: status, backend, body.
        let addr: SocketAddr = "10.0.0.1:80".parse().expect("addr");
        let raw = b"HTTP/1.1 200 OK\r\nX-Served-By: web1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let r = parse(addr, raw).expect("parse");
        assert_eq!(
            (r.status, r.served_by.as_deref(), r.body.as_str()),
            (200, Some("web1"), "hello world")
        );
        let r = parse(
            addr,
            b"HTTP/1.0 503 Service Unavailable\r\n\r\n<h1>down</h1>",
        )
        .expect("parse");
        assert_eq!((r.status, r.backend().as_str()), (503, "down"));
        assert!(parse(addr, b"garbage").is_err());
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
            ("lemp:12345", "bGVtcDoxMjM0NQ=="),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}

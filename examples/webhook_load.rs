//! Fixed-rate load generator for `scripts/bench-webhook` (wrk only does closed-loop load, and
//! wrk2 is not packaged here).
//!
//! Open loop: each connection sends on its own schedule (`rate / connections` per second),
//! and latency is measured from when a request was *due*, not when it was sent, so a slow
//! server cannot hide its queueing delay (no coordinated omission).
//!
//! Usage: `webhook_load ADDR RATE SECONDS CONNECTIONS TOKENS_FILE`
//! Prints `BENCH rps=.. p50_ms=.. p99_ms=.. requests=.. non2xx=..`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 6,
        "usage: ADDR RATE SECONDS CONNECTIONS TOKENS_FILE"
    );
    let addr = args[1].clone();
    let rate: f64 = args[2].parse()?;
    let seconds: u64 = args[3].parse()?;
    let connections: usize = args[4].parse()?;
    let channels: Vec<(String, String)> = std::fs::read_to_string(&args[5])?
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    anyhow::ensure!(!channels.is_empty(), "no channels in the tokens file");

    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(seconds);
    let base = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )? * 1000;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, channels) = (addr.clone(), channels.clone());
        // Stagger connections evenly across one interval.
        let first = start + interval.mul_f64(c as f64 / connections as f64);
        tasks.push(tokio::spawn(async move {
            connection(&addr, &channels, c, first, interval, end, base).await
        }));
    }
    let (mut latencies, mut bad) = (Vec::new(), 0u64);
    for t in tasks {
        let (l, b) = t.await??;
        latencies.extend(l);
        bad += b;
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "BENCH rps={:.0} p50_ms={:.3} p99_ms={:.3} requests={} non2xx={bad}",
        latencies.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99),
        latencies.len()
    );
    Ok(())
}

async fn connection(
    addr: &str,
    channels: &[(String, String)],
    c: usize,
    first: Instant,
    interval: Duration,
    end: Instant,
    base: u64,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut latencies, mut bad) = (Vec::new(), 0u64);
    let mut buf = vec![0u8; 4096];
    let mut due = first;
    let mut i = c * 7919;
    let mut number = base + (c as u64) * 1_000_000;
    while due < end {
        tokio::time::sleep_until(due.into()).await;
        i += 1;
        number += 1;
        let (id, token) = &channels[i % channels.len()];
        let req = format!(
            "POST /api/webhooks/google-calendar HTTP/1.1\r\nHost: {addr}\r\n\
             X-Goog-Channel-ID: {id}\r\nX-Goog-Channel-Token: {token}\r\n\
             X-Goog-Resource-State: exists\r\nX-Goog-Message-Number: {number}\r\n\
             X-Goog-Resource-ID: bench-resource\r\nContent-Length: 0\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        latencies.push(due.elapsed());
        if !(200..300).contains(&status) {
            bad += 1;
        }
        due += interval;
    }
    Ok((latencies, bad))
}

/// Reads one response (headers and a `Content-Length` body); returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> anyhow::Result<u16> {
    let mut len = 0;
    loop {
        let n = stream.read(&mut buf[len..]).await?;
        anyhow::ensure!(n > 0, "connection closed");
        len += n;
        let text = String::from_utf8_lossy(&buf[..len]);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let head = &text[..head_end];
            let status: u16 = head.get(9..12).unwrap_or("0").parse()?;
            let body_len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if len >= head_end + 4 + body_len {
                return Ok(status);
            }
        }
        anyhow::ensure!(len < buf.len(), "response too large");
    }
}

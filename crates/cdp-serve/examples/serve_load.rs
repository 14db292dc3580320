//! A bounded load generator for `cdp serve` (`benches/serve_load.sh`): a
//! fixed number of requests over keep-alive HTTP/1.1 connections, then a
//! report of requests/s and latency percentiles.
//!
//! - `open` (default): requests are *scheduled* at a constant rate and each
//!   latency is measured from its scheduled time, so a server that falls
//!   behind is charged for the queueing it causes (no coordinated omission).
//! - `closed`: every connection sends its next request when the previous
//!   one answered: the most the server does on this machine.
//!
//! The mix, over the synthetic lake of `synth_lake` (person k has the phone
//! `13` + k in 9 digits): 60 % phone lookups in the four accepted formats,
//! 10 % phone_md5 in upper case, 10 % unknown phones (404), 15 % by one_id,
//! 5 % a segment page of 100.
//!
//! ```sh
//! cargo run --release -p cdp-serve --example serve_load -- \
//!   --addr 127.0.0.1:8080 --token $TOKEN --persons 1000000 --requests 150000 --rate 5000
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, Mutex};

struct Args {
    addr: SocketAddr,
    token: String,
    persons: u64,
    requests: usize,
    rate: f64,
    connections: usize,
    closed: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        addr: "127.0.0.1:8080".parse().unwrap(),
        token: String::new(),
        persons: 1_000_000,
        requests: 100_000,
        rate: 5000.0,
        connections: 64,
        closed: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => a.addr = value().parse().expect("--addr"),
            "--token" => a.token = value(),
            "--persons" => a.persons = value().parse().expect("--persons"),
            "--requests" => a.requests = value().parse().expect("--requests"),
            "--rate" => a.rate = value().parse().expect("--rate"),
            "--connections" => a.connections = value().parse().expect("--connections"),
            "--mode" => a.closed = value() == "closed",
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn md5_upper(s: &str) -> String {
    use md5::Digest;
    hex::encode_upper(md5::Md5::digest(s.as_bytes()))
}

/// The request paths, made before the clock starts.
fn paths(args: &Args) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(5);
    (0..args.requests)
        .map(|_| {
            let k = rng.gen_range(1..=args.persons);
            let n = format!("13{k:09}");
            match rng.gen_range(0..100) {
                0..=14 => format!("/v1/profiles/phone/{n}"),
                15..=29 => format!(
                    "/v1/profiles/phone/%2B86%20{}-{}-{}",
                    &n[..3],
                    &n[3..7],
                    &n[7..]
                ),
                30..=44 => format!("/v1/profiles/phone/86{n}"),
                45..=59 => format!(
                    "/v1/profiles/phone/{}%20{}%20{}",
                    &n[..3],
                    &n[3..7],
                    &n[7..]
                ),
                60..=69 => format!("/v1/profiles/phone_md5/{}", md5_upper(&n)),
                70..=79 => format!(
                    "/v1/profiles/phone/14{:09}",
                    rng.gen_range(0..1_000_000_000u64)
                ),
                80..=94 => format!("/v1/profiles/by-one-id/OID{k:012}"),
                _ => format!(
                    "/v1/segments/lifecycle/loyal?limit=100&cursor=OID{:012}",
                    rng.gen_range(1..=args.persons)
                ),
            }
        })
        .collect()
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn send(sender: &mut Sender, path: &str, auth: &str) -> u16 {
    sender.ready().await.expect("connection");
    let request = Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", auth)
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    response.into_body().collect().await.expect("body");
    status
}

/// Latencies (µs) and status counts of one connection.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let paths = Arc::new(paths(&args));
    let auth = Arc::new(format!("Bearer {}", args.token));
    let mut senders = Vec::new();
    for _ in 0..args.connections {
        senders.push(connect(args.addr).await);
    }
    // Warm up: one request per connection.
    for s in &mut senders {
        send(s, "/healthz", &auth).await;
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    if args.closed {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for mut sender in senders {
            let (paths, auth, next) = (paths.clone(), auth.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                let mut t = Tally::default();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { return t };
                    let sent = Instant::now();
                    let status = send(&mut sender, path, &auth).await;
                    t.micros.push(sent.elapsed().as_micros() as u32);
                    *t.statuses.entry(status).or_default() += 1;
                }
            }));
        }
    } else {
        // One queue of (index, scheduled time); idle connections take from it.
        let (tx, rx) = mpsc::unbounded_channel::<(usize, Instant)>();
        let rx = Arc::new(Mutex::new(rx));
        for mut sender in senders {
            let (paths, auth, rx) = (paths.clone(), auth.clone(), rx.clone());
            workers.push(tokio::spawn(async move {
                let mut t = Tally::default();
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((i, scheduled)) = next else { return t };
                    let status = send(&mut sender, &paths[i], &auth).await;
                    t.micros.push(scheduled.elapsed().as_micros() as u32);
                    *t.statuses.entry(status).or_default() += 1;
                }
            }));
        }
        let interval = Duration::from_secs_f64(1.0 / args.rate);
        let mut i = 0;
        while i < paths.len() {
            let now = Instant::now();
            // Everything due by now (the timer ticks in milliseconds).
            while i < paths.len() {
                let scheduled = started + interval * i as u32;
                if scheduled > now {
                    break;
                }
                tx.send((i, scheduled)).unwrap();
                i += 1;
            }
            if i < paths.len() {
                tokio::time::sleep_until((started + interval * i as u32).into()).await;
            }
        }
        drop(tx);
    }
    let mut all = Tally::default();
    for w in workers {
        let t = w.await.unwrap();
        all.micros.extend(t.micros);
        for (s, n) in t.statuses {
            *all.statuses.entry(s).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.micros.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.micros.len() as f64 * p).ceil() as usize).clamp(1, all.micros.len()) - 1;
        f64::from(all.micros[i]) / 1000.0
    };
    let mode = if args.closed {
        format!("closed loop, {} connections", args.connections)
    } else {
        format!(
            "open loop at {:.0} requests/s, {} connections",
            args.rate, args.connections
        )
    };
    println!(
        "{mode}: {} requests in {elapsed:.2} s = {:.0} requests/s",
        all.micros.len(),
        all.micros.len() as f64 / elapsed
    );
    println!(
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    println!("statuses: {:?}", all.statuses);
}

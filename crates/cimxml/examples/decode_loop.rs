//! Decodes one request body many times: a steady loop for `perf` or
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on how
//! busy the machine is (the codec bench's timings do).
//!
//! `cargo build --profile bench -p openwmi-cimxml --example decode_loop`, then
//! `decode_loop BODY.xml [TIMES]` (default 1,000,000); it prints microseconds
//! per decode.

use openwmi_cimxml::{decode_request, Limits};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: decode_loop BODY.xml [TIMES]");
        std::process::exit(2);
    };
    let body = match std::fs::read(&file) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("decode_loop: {file}: {e}");
            std::process::exit(1);
        }
    };
    let times: u32 = match args.next().map(|s| s.parse()) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("decode_loop: TIMES must be a positive number");
            std::process::exit(2);
        }
    };
    if let Err(e) = decode_request(&body, &Limits::request()) {
        eprintln!("decode_loop: {file} does not decode: {e}");
        std::process::exit(1);
    }
    let start = std::time::Instant::now();
    for _ in 0..times {
        let _ = black_box(decode_request(black_box(&body), &Limits::request()));
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / f64::from(times);
    println!("{per:.3} us per decode");
}

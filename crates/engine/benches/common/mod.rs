//! What the engine's benchmarks share: sizes from the environment, the disk's fsync rate (the
//! physical limit of durable writes, measured in the same run as the figures it explains) and
//! the process's resident memory.

#![allow(dead_code)] // Each benchmark uses its own part of this module.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// An environment variable as a number, or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 4 KiB appends with `fdatasync` for one second: the disk's durable-write rate.
pub fn fsync_rate(dir: &Path) -> f64 {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).expect("the probe file opens");
    let block = vec![7u8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        file.write_all(&block).expect("the probe writes");
        file.sync_data().expect("the probe syncs");
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The process's resident memory in MiB.
pub fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

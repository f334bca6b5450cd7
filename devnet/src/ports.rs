//! Loopback ports for the processes a devnet or a test starts (gateways' peer, API and metrics
//! listeners, PostgreSQL).
//!
//! A port is chosen, checked free by binding it, released, and bound again by the process it
//! is handed to. In that gap another process may take it. Asking the system for a port
//! (`127.0.0.1:0`) makes that likely on a busy machine: it hands out a port of its ephemeral
//! range (`/proc/sys/net/ipv4/ip_local_port_range`), and every outgoing connection on the
//! machine (a test's client of anvil or PostgreSQL, a gateway dialling a peer) takes its source
//! port from that same range, so the released port is soon some connection's. A CI run failed
//! that way ("Address already in use" for a gateway's `/metrics`). So ports are drawn at random
//! from below the ephemeral range, where only a listener asking for that very number could
//! collide, and never twice by one process.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

use rand_core::{OsRng, RngCore as _};

/// Lowest port drawn: above the registered services most machines run.
const FLOOR: u16 = 10_000;

/// The first port of the system's ephemeral range, if it can be read.
fn ephemeral_start() -> Option<u16> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    range.split_whitespace().next()?.parse().ok()
}

/// A loopback port free now (bound and released), below the system's ephemeral range when
/// there is room there (else one the system picks), never one this process handed out before.
pub fn free_port() -> std::io::Result<u16> {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    let below = ephemeral_start().filter(|&start| start > FLOOR + 1_000);
    for _ in 0..256 {
        let port = match below {
            Some(start) => FLOOR + (OsRng.next_u32() % u32::from(start - FLOOR)) as u16,
            None => TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port(),
        };
        if given.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            drop(listener);
            given.insert(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrNotAvailable,
        "no free loopback port this process has not handed out already, after 256 tries",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Ports come from below the ephemeral range, are free, and are never handed out twice.
    #[test]
    fn ports_are_free_distinct_and_not_ephemeral() {
        let ports = (0..200).map(|_| free_port().unwrap()).collect::<Vec<_>>();
        let distinct = ports.iter().collect::<BTreeSet<_>>();
        assert_eq!(distinct.len(), ports.len(), "a port handed out twice");
        if let Some(start) = ephemeral_start().filter(|&s| s > FLOOR + 1_000) {
            assert!(
                ports.iter().all(|&p| (FLOOR..start).contains(&p)),
                "{ports:?} against the ephemeral range from {start}"
            );
        }
        // Free: each can be bound (none of them is held by this test).
        for p in ports.iter().take(20) {
            TcpListener::bind(("127.0.0.1", *p)).unwrap();
        }
        // Taken ones are skipped.
        let held = TcpListener::bind(("127.0.0.1", ports[0])).unwrap();
        assert_ne!(free_port().unwrap(), held.local_addr().unwrap().port());
    }
}

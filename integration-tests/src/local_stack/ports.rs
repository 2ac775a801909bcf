//! Free loopback ports.

use std::net::{Ipv4Addr, TcpListener};

use super::error::LocalStackError;

/// `count` distinct free loopback ports (all listeners are held until every port is chosen).
pub fn free_ports(count: usize) -> Result<Vec<u16>, LocalStackError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(LocalStackError::PickPorts)?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(LocalStackError::PickPorts)
}

/// One free loopback port.
pub fn free_port() -> Result<u16, LocalStackError> {
    Ok(free_ports(1)?[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ports_are_distinct() {
        let mut ports = free_ports(4).expect("free ports");
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 4);
    }
}

//! The line protocol between simulated services on different lab VMs.
//!
//! A client that wants to prove it knows a service's password sends one line,
//! `SCALR-SIM <service> <user> <sha256-hex of password> [COMMAND ARGS…]`, and reads one line:
//! `OK [info]`, `DENIED` or `ERROR <reason>`. Any other client (a port check) just gets a
//! connection. The password itself never crosses the socket or appears in a process argument.
//!
//! Network rule: the simulator only ever connects to loopback (127.0.0.0/8) addresses; any
//! other address is reported unreachable without a connection attempt.

use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddrV4, TcpStream};
use std::time::Duration;

pub const MAGIC: &str = "SCALR-SIM";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

pub fn password_hash(password: &str) -> String {
    let digest = Sha256::digest(password.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// Nothing listens there (errno 111).
    Refused,
    /// Not reachable: a non-loopback address, or a connect that timed out (errno 110/113).
    Unreachable(i32),
    /// Connected, but no answer in time (a frozen VM, or a port that does not speak the protocol).
    NoReply,
    /// The peer does not know this password.
    Denied,
    /// The peer refused the command.
    Error(String),
}

/// One request/response exchange with a simulated service.
pub fn ask(
    addr: SocketAddrV4,
    service: &str,
    user: &str,
    password: &str,
    command: &str,
) -> Result<String, PeerError> {
    if !addr.ip().is_loopback() {
        return Err(PeerError::Unreachable(113));
    }
    let stream =
        TcpStream::connect_timeout(&addr.into(), CONNECT_TIMEOUT).map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => PeerError::Refused,
            std::io::ErrorKind::TimedOut => PeerError::Unreachable(110),
            _ => PeerError::Unreachable(e.raw_os_error().unwrap_or(113)),
        })?;
    let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
    let mut line = format!("{MAGIC} {service} {user} {}", password_hash(password));
    if !command.is_empty() {
        line.push(' ');
        line.push_str(command);
    }
    line.push('\n');
    (&stream)
        .write_all(line.as_bytes())
        .map_err(|_| PeerError::NoReply)?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(|_| PeerError::NoReply)?;
    let reply = reply.trim_end();
    if reply == "OK" {
        Ok(String::new())
    } else if let Some(info) = reply.strip_prefix("OK ") {
        Ok(info.to_string())
    } else if reply == "DENIED" {
        Err(PeerError::Denied)
    } else if let Some(reason) = reply.strip_prefix("ERROR ") {
        Err(PeerError::Error(reason.to_string()))
    } else {
        Err(PeerError::NoReply)
    }
}

/// A parsed request line, as the listening side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub service: String,
    pub user: String,
    pub hash: String,
    pub command: Vec<String>,
}

impl Request {
    pub fn parse(line: &str) -> Option<Request> {
        let mut words = line.split_whitespace();
        if words.next()? != MAGIC {
            return None;
        }
        Some(Request {
            service: words.next()?.to_string(),
            user: words.next()?.to_string(),
            hash: words.next()?.to_string(),
            command: words.map(str::to_string).collect(),
        })
    }
}

/// How the real MySQL client reports a failed connection to `host`.
pub fn mysql_error(err: &PeerError, host: &str, user: &str, client: &str) -> String {
    match err {
        PeerError::Refused => format!("ERROR 2003 (HY000): Can't connect to MySQL server on '{host}' (111)"),
        PeerError::Unreachable(code) => format!("ERROR 2003 (HY000): Can't connect to MySQL server on '{host}' ({code})"),
        PeerError::NoReply => format!(
            "ERROR 2013 (HY000): Lost connection to MySQL server at 'reading initial communication packet', system error: 110 ({host})"
        ),
        PeerError::Denied => format!("ERROR 1045 (28000): Access denied for user '{user}'@'{client}' (using password: YES)"),
        PeerError::Error(reason) => format!("ERROR 1045 (28000): {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_the_line_format() {
        let req = Request::parse("SCALR-SIM mysql root abc START-SLAVE 127.0.0.9:3306").unwrap();
        assert_eq!(req.service, "mysql");
        assert_eq!(req.command, vec!["START-SLAVE", "127.0.0.9:3306"]);
        assert!(Request::parse("GET / HTTP/1.1").is_none());
    }

    #[test]
    fn non_loopback_peers_are_never_contacted() {
        let addr: SocketAddrV4 = "192.0.2.1:3306".parse().unwrap();
        assert_eq!(
            ask(addr, "mysql", "scalr", "x", ""),
            Err(PeerError::Unreachable(113))
        );
    }

    #[test]
    fn the_password_travels_only_as_a_hash() {
        assert_eq!(password_hash("abc").len(), 64);
        assert_ne!(password_hash("abc"), password_hash("abd"));
    }
}

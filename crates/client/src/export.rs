//! Sending CIM-XML export requests (DSP0200 clause 6: `ExportIndication`)
//! to a listener: the HTTP client of the operations, pointed the other way.

use crate::error::WbemError;
use crate::http::{tls_config, Endpoint, HttpClient};
use std::time::{Duration, Instant};

/// The most a listener's answer may hold; it is read only for its status.
const MAX_ANSWER: usize = 1 << 20;

/// A listener address: `http(s)://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerUrl {
    pub https: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl ListenerUrl {
    /// Reads a destination URL; the port defaults to 5988/5989 as for CIM-XML.
    pub fn parse(url: &str) -> Result<ListenerUrl, String> {
        let (https, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else {
            return Err(format!(
                "{url:?}: a destination is an http:// or https:// URL"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!(
                "{url:?}: credentials in a destination are not accepted"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed '['"))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("{url:?}: bad port {p:?}"))?,
            None if https => 5989,
            None => 5988,
        };
        Ok(ListenerUrl {
            https,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A kept-alive connection to one listener.
#[derive(Debug)]
pub struct ExportClient {
    url: ListenerUrl,
    http: HttpClient,
}

impl ExportClient {
    /// `insecure` skips the check of an https listener's certificate.
    pub fn new(url: ListenerUrl, insecure: bool) -> Result<ExportClient, WbemError> {
        ExportClient::trusting(url, None, insecure)
    }

    /// As [`ExportClient::new`], an https listener's certificate also
    /// trusted when the CA certificates (PEM) in `ca_file` sign it.
    pub fn trusting(
        url: ListenerUrl,
        ca_file: Option<&std::path::Path>,
        insecure: bool,
    ) -> Result<ExportClient, WbemError> {
        let tls = if url.https {
            Some(tls_config(ca_file, insecure)?)
        } else {
            None
        };
        let endpoint = Endpoint {
            host: url.host.clone(),
            port: url.port,
            tls,
        };
        Ok(ExportClient {
            http: HttpClient::new(endpoint, MAX_ANSWER),
            url,
        })
    }

    /// POSTs one export request (`body`, a whole CIM-XML message) with the
    /// CIMExport headers; `Ok` when the listener answered 200 without a
    /// CIMError header.
    pub fn export(&mut self, method: &str, body: &str, timeout: Duration) -> Result<(), String> {
        let headers = [
            (
                "Content-Type",
                "application/xml; charset=\"utf-8\"".to_owned(),
            ),
            ("CIMExport", "MethodRequest".to_owned()),
            ("CIMExportMethod", method.to_owned()),
        ];
        let deadline = Instant::now() + timeout;
        let answer = self
            .http
            .post(&self.url.path, &headers, body.as_bytes(), Some(deadline))
            .map_err(|e| e.to_string())?;
        if answer.status != 200 {
            return Err(format!(
                "the listener answered {} {}",
                answer.status, answer.reason
            ));
        }
        if let Some(e) = answer.header("cimerror") {
            return Err(format!("the listener refused the request: {e}"));
        }
        let text = String::from_utf8_lossy(&answer.body);
        if text.contains("<ERROR") {
            return Err(format!("the listener answered an error: {text}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_urls() {
        let u = ListenerUrl::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (false, "127.0.0.1", 5000, "/")
        );
        let u = ListenerUrl::parse("HTTPS://[::1]/cimlistener/x").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "::1", 5989, "/cimlistener/x")
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://u:p@h",
            "http://h:x",
            "http://[::1",
        ] {
            assert!(ListenerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}

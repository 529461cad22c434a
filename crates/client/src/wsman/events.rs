//! WS-Eventing with pull delivery, as WinRM's client subscribes to WMI
//! event queries (DSP0226 section 10, MS-WSMV): `Subscribe` with the mode
//! `http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull` and the WQL query in
//! `wsman:Filter`, then `wsen:Pull` on the context the SubscribeResponse
//! gives (a Pull that finds nothing within its OperationTimeout answers
//! `wsman:TimedOut`, which is no error here), `Renew` before the
//! subscription expires, `Unsubscribe` at the end (also when dropped).
//! Nothing is opened on the client: the events come back on the Pulls.
//!
//! Events become rows as the local `watch` prints them: the event class's
//! properties, and each embedded object (`TargetInstance`,
//! `PreviousInstance`) as `TargetInstance.__CLASS` and
//! `TargetInstance.Name` columns, typed with the class definitions the
//! server gives.

use super::request::{self, Header};
use super::response::{self, Item, RawInstance, RawProperty, RawValue, Response};
use super::{fault, random16, WsMan, PATH};
use crate::error::WbemError;
use crate::services::{Backend, Services};
use openwmi_cim::{CimType, Instance, InstanceProperty, Name, TypeDecl, Value, WbemStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NS_EVENTING: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
const ACTION_SUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe";
const ACTION_RENEW: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Renew";
const ACTION_UNSUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Unsubscribe";
const DELIVERY_PULL: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull";

/// The expiration asked for; renewed when half of it is gone.
pub const EXPIRES: Duration = Duration::from_secs(600);

/// Time the HTTP exchange gets beyond the OperationTimeout it asks.
const SLACK: Duration = Duration::from_secs(15);

/// A live WS-Eventing subscription; dropping it unsubscribes.
pub struct EventSubscription {
    client: Arc<WsMan>,
    resource_uri: String,
    namespace: String,
    identifier: String,
    context: String,
    /// What the server granted, and when.
    granted: Duration,
    since: Instant,
    ended: bool,
}

impl std::fmt::Debug for EventSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSubscription")
            .field("host", &self.client.host_label)
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

/// An answer, or the `wsman:TimedOut` of a Pull that found nothing.
enum Answer {
    Body(Vec<u8>),
    TimedOut,
}

fn exchange(client: &WsMan, body: &str, timeout: Duration) -> Result<Answer, WbemError> {
    let deadline = Instant::now() + timeout + SLACK;
    let resp = {
        let mut http = client.http.lock().unwrap_or_else(|p| p.into_inner());
        http.post(PATH, &client.headers, body.as_bytes(), Some(deadline))?
    };
    let host = &client.host_label;
    if resp.status == 200 {
        return Ok(Answer::Body(resp.body));
    }
    if let Ok(Response::Fault(f)) =
        response::read_response(&resp.body, &response::Limits::default())
    {
        let timed_out = f
            .subcode
            .as_deref()
            .is_some_and(|s| s.rsplit(':').next() == Some("TimedOut"));
        if timed_out {
            return Ok(Answer::TimedOut);
        }
        return Err(fault::to_error(&f, host));
    }
    Err(match resp.status {
        401 | 403 => WbemError::access_denied(format!(
            "{host}: the server refused the user name or password (HTTP {})",
            resp.status
        )),
        s => WbemError::transport(format!("{host}: HTTP {s} {}", resp.reason)),
    })
}

/// The request envelope: the header Windows' client writes, plus
/// `e:Identifier` for the subscription manager's requests.
fn envelope(
    client: &WsMan,
    resource_uri: &str,
    action: &str,
    timeout: Duration,
    identifier: Option<&str>,
    body: &str,
) -> String {
    let message_id = request::message_id(random16());
    let operation_id = request::message_id(random16());
    let h = Header {
        to: &client.url,
        resource_uri,
        message_id: &message_id,
        session_id: &client.session_id,
        operation_id: &operation_id,
        locale: client.locale,
        timeout,
        selectors: &[],
    };
    let mut out = String::with_capacity(2048 + body.len());
    request::envelope_start(&mut out, &h, action);
    if let Some(id) = identifier {
        // Inside the header: what envelope_start closed is reopened.
        out.truncate(out.len() - "</s:Header>".len());
        out.push_str("<e:Identifier xmlns:e=\"");
        out.push_str(NS_EVENTING);
        out.push_str("\">");
        request::escape(&mut out, id);
        out.push_str("</e:Identifier></s:Header>");
    }
    out.push_str("<s:Body>");
    out.push_str(body);
    out.push_str("</s:Body></s:Envelope>");
    out
}

/// What a SubscribeResponse says: identifier, context, granted expiry.
pub fn read_subscribe_response(
    body: &[u8],
    host: &str,
) -> Result<(String, String, Option<Duration>), WbemError> {
    let bad = |m: String| WbemError::failed(format!("{host}: invalid SubscribeResponse: {m}"));
    let text = std::str::from_utf8(body).map_err(|e| bad(e.to_string()))?;
    let limits = response::Limits::default();
    if body.len() > limits.max_body_bytes {
        return Err(bad("too large".into()));
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..roxmltree::ParsingOptions::default()
    };
    let doc =
        roxmltree::Document::parse_with_options(text, opts).map_err(|e| bad(e.to_string()))?;
    let find = |ns: &str, name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name((ns, name)))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let identifier =
        find(NS_EVENTING, "Identifier").ok_or_else(|| bad("no e:Identifier".into()))?;
    let context = find(request::NS_ENUMERATION, "EnumerationContext")
        .ok_or_else(|| bad("no wsen:EnumerationContext".into()))?;
    let expires = find(NS_EVENTING, "Expires").and_then(|t| parse_seconds(&t));
    Ok((identifier, context, expires))
}

/// The seconds of a `PT<n>[.fff]S` duration (what WinRM and openwmi write).
fn parse_seconds(t: &str) -> Option<Duration> {
    let s = t.strip_prefix("PT")?.strip_suffix('S')?;
    Duration::try_from_secs_f64(s.parse().ok()?).ok()
}

impl Services {
    /// Subscribes to a WQL event query on a WS-Management server, with
    /// pull delivery. Over CIM-XML or in process: WBEM_E_NOT_SUPPORTED
    /// (those take indications or the local poller).
    pub fn subscribe_events(&self, wql: &str) -> Result<EventSubscription, WbemError> {
        let Backend::WsMan(client) = &self.backend else {
            return Err(WbemError::new(
                WbemStatus::NotSupported,
                "WS-Eventing subscriptions are made over WS-Management only",
            ));
        };
        let resource_uri = request::wmi_resource_uri(&self.namespace, "*");
        let mut body = format!(
            "<e:Subscribe xmlns:e=\"{NS_EVENTING}\"><e:Delivery Mode=\"{DELIVERY_PULL}\">\
             </e:Delivery><e:Expires>{}</e:Expires><w:Filter Dialect=\"{}\">",
            request::duration(EXPIRES),
            request::DIALECT_WQL
        );
        request::escape(&mut body, wql);
        body.push_str("</w:Filter></e:Subscribe>");
        let timeout = request::DEFAULT_OPERATION_TIMEOUT;
        let text = envelope(
            client,
            &resource_uri,
            ACTION_SUBSCRIBE,
            timeout,
            None,
            &body,
        );
        let Answer::Body(answer) = exchange(client, &text, timeout)? else {
            return Err(WbemError::new(
                WbemStatus::TimedOut,
                format!("{}: the Subscribe timed out", client.host_label),
            ));
        };
        let (identifier, context, granted) = read_subscribe_response(&answer, &client.host_label)?;
        Ok(EventSubscription {
            client: Arc::clone(client),
            resource_uri,
            namespace: self.namespace.clone(),
            identifier,
            context,
            granted: granted.unwrap_or(EXPIRES),
            since: Instant::now(),
            ended: false,
        })
    }
}

impl EventSubscription {
    /// The events that arrive within `wait` (none: an empty list), renewing
    /// the subscription first when half its time is gone.
    pub fn pull(&mut self, wait: Duration) -> Result<Vec<Instance>, WbemError> {
        if self.since.elapsed() >= self.granted / 2 {
            self.renew()?;
        }
        let wait = wait.max(Duration::from_secs(1));
        let mut body = String::from("<n:Pull><n:EnumerationContext>");
        request::escape(&mut body, &self.context);
        body.push_str("</n:EnumerationContext><n:MaxElements>100</n:MaxElements></n:Pull>");
        let text = envelope(
            &self.client,
            &self.resource_uri,
            request::ACTION_PULL,
            wait,
            None,
            &body,
        );
        let answer = match exchange(&self.client, &text, wait)? {
            Answer::TimedOut => return Ok(Vec::new()),
            Answer::Body(b) => b,
        };
        let host = &self.client.host_label;
        let batch = match response::read_response(&answer, &response::Limits::default()) {
            Ok(Response::Batch(b)) => b,
            Ok(_) => {
                return Err(WbemError::failed(format!(
                    "{host}: the answer to Pull is not a PullResponse"
                )))
            }
            Err(e) => {
                return Err(WbemError::failed(format!(
                    "{host}: invalid WS-Management response: {e}"
                )))
            }
        };
        if let Some(c) = batch.context {
            self.context = c;
        }
        let mut out = Vec::with_capacity(batch.items.len());
        for item in batch.items {
            if let Item::Instance { instance, .. } = item {
                out.push(self.row(&instance).map_err(|e| {
                    WbemError::failed(format!("{host}: invalid event in the PullResponse: {e}"))
                })?);
            }
        }
        Ok(out)
    }

    fn renew(&mut self) -> Result<(), WbemError> {
        let body = format!(
            "<e:Renew xmlns:e=\"{NS_EVENTING}\"><e:Expires>{}</e:Expires></e:Renew>",
            request::duration(EXPIRES)
        );
        let timeout = Duration::from_secs(30);
        let text = envelope(
            &self.client,
            &self.resource_uri,
            ACTION_RENEW,
            timeout,
            Some(&self.identifier),
            &body,
        );
        if let Answer::Body(b) = exchange(&self.client, &text, timeout)? {
            let granted = std::str::from_utf8(&b).ok().and_then(|t| {
                let start = t.find(":Expires>")? + ":Expires>".len();
                parse_seconds(t[start..].split('<').next()?)
            });
            self.granted = granted.unwrap_or(EXPIRES);
        }
        self.since = Instant::now();
        Ok(())
    }

    /// Ends the subscription on the server.
    pub fn unsubscribe(&mut self) -> Result<(), WbemError> {
        if std::mem::replace(&mut self.ended, true) {
            return Ok(());
        }
        let body = format!("<e:Unsubscribe xmlns:e=\"{NS_EVENTING}\"/>");
        let timeout = Duration::from_secs(5);
        let text = envelope(
            &self.client,
            &self.resource_uri,
            ACTION_UNSUBSCRIBE,
            timeout,
            Some(&self.identifier),
            &body,
        );
        exchange(&self.client, &text, timeout).map(|_| ())
    }

    /// An event as the local watch prints it.
    fn row(&self, raw: &RawInstance) -> Result<Instance, String> {
        let (embedded, plain): (Vec<&RawProperty>, Vec<&RawProperty>) = raw
            .properties
            .iter()
            .partition(|p| matches!(p.values.as_slice(), [RawValue::Embedded(_)]));
        let event_class = self
            .client
            .class_for_typing(&self.namespace, &raw.class_name);
        let top = RawInstance {
            class_name: raw.class_name.clone(),
            properties: plain.into_iter().cloned().collect(),
        };
        let mut row = response::to_instance(&top, event_class.as_deref(), None)?;
        for p in embedded {
            let [RawValue::Embedded(inner)] = p.values.as_slice() else {
                continue;
            };
            let class = self
                .client
                .class_for_typing(&self.namespace, &inner.class_name);
            let i = response::to_instance(inner, class.as_deref(), None)?;
            row.properties.push(InstanceProperty {
                name: Name::new(&format!("{}.__CLASS", p.name)),
                ty: TypeDecl::scalar(CimType::String),
                value: Some(Value::String(i.class_name.as_str().into())),
            });
            for q in i.properties {
                row.properties.push(InstanceProperty {
                    name: Name::new(&format!("{}.{}", p.name, q.name)),
                    ..q
                });
            }
        }
        Ok(row)
    }
}

impl Drop for EventSubscription {
    /// Unsubscribes a subscription left open, so that the server ends it
    /// now rather than when it expires. Best effort.
    fn drop(&mut self) {
        let _ = self.unsubscribe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscribe_response_is_read() {
        let body = format!(
            "<s:Envelope xmlns:s=\"{}\" xmlns:a=\"{}\" xmlns:w=\"{}\" xmlns:n=\"{}\"><s:Header/>\
             <s:Body><e:SubscribeResponse xmlns:e=\"{NS_EVENTING}\"><e:SubscriptionManager>\
             <a:Address>http://h:5985/wsman</a:Address><a:ReferenceParameters>\
             <w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*</w:ResourceURI>\
             <e:Identifier>uuid:1</e:Identifier></a:ReferenceParameters></e:SubscriptionManager>\
             <e:Expires>PT600.000S</e:Expires><n:EnumerationContext>uuid:2-ev</n:EnumerationContext>\
             </e:SubscribeResponse></s:Body></s:Envelope>",
            request::NS_SOAP,
            request::NS_ADDRESSING,
            request::NS_WSMAN,
            request::NS_ENUMERATION
        );
        let (id, ctx, exp) = read_subscribe_response(body.as_bytes(), "h").unwrap();
        assert_eq!((id.as_str(), ctx.as_str()), ("uuid:1", "uuid:2-ev"));
        assert_eq!(exp, Some(Duration::from_secs(600)));
        let e = read_subscribe_response(b"<x/>", "h").unwrap_err();
        assert!(e.message.contains("no e:Identifier"), "{e}");
        assert!(read_subscribe_response(b"<!DOCTYPE x><x/>", "h").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_seconds("PT2.500S"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("P1D"), None);
        assert_eq!(parse_seconds("PTxS"), None);
    }
}

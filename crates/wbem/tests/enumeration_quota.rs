//! The quota of pull enumerations per user through the real server: the
//! authenticated user's name is what the quota counts.

mod common;

use common::{call, post, start};
use openwmi_wbem::{Dispatcher, DispatcherConfig};

const OPEN: &str = "OpenEnumerateInstancePaths";

/// Opens an enumeration of `T_Share` as `user`, leaving both instances
/// unsent: the answer's body.
async fn open(addr: std::net::SocketAddr, user: &str) -> String {
    let body = call(
        OPEN,
        "<IPARAMVALUE NAME=\"ClassName\"><CLASSNAME NAME=\"T_Share\"/></IPARAMVALUE>\
         <IPARAMVALUE NAME=\"MaxObjectCount\"><VALUE>0</VALUE></IPARAMVALUE>",
    );
    let (status, text) = post(addr, user, OPEN, body.as_bytes()).await;
    assert_eq!(status, 200, "{text}");
    text
}

fn opened(text: &str) -> bool {
    text.contains("EnumerationContext") && !text.contains("<ERROR")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_at_the_quota_is_refused_while_another_opens_enumerations() {
    let config = DispatcherConfig {
        max_enumerations_per_user: 4,
        ..DispatcherConfig::default()
    };
    let dispatcher = Dispatcher::with_config(common::object_manager(), &config);
    let server = start(dispatcher.clone(), |_| {}).await;
    for _ in 0..4 {
        let text = open(server.addr, "alice").await;
        assert!(opened(&text), "{text}");
    }
    let refused = open(server.addr, "alice").await;
    assert!(
        refused.contains("CODE=\"27\"") && refused.contains("at most 4"),
        "{refused}"
    );
    for _ in 0..4 {
        let text = open(server.addr, "bob").await;
        assert!(opened(&text), "{text}");
    }
    assert_eq!(dispatcher.open_enumerations(), 8);
    server.stop().await;
}

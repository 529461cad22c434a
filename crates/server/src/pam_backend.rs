//! Checking a password against the machine's accounts through PAM, and
//! looking up the account's uid and Unix groups. Blocking: call from
//! `spawn_blocking`.

use std::ffi::{OsStr, OsString};
use std::net::IpAddr;

use nonstick::items::ItemsMut;
use nonstick::{
    AuthnFlags, Conversation as PamConversation, ConversationAdapter, LibPamTransaction, PamShared,
    Transaction, TransactionBuilder,
};

use crate::AuthenticatedUser;

/// Answers PAM's prompts with the given user name and password; PAM's own
/// messages go to the log, never to stderr.
struct Conversation {
    user: String,
    password: String,
}

impl ConversationAdapter for Conversation {
    fn prompt(&self, _request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        Ok(OsString::from(&self.user))
    }
    fn masked_prompt(&self, _request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        Ok(OsString::from(&self.password))
    }
    fn error_msg(&self, message: impl AsRef<OsStr>) {
        tracing::debug!(message = %message.as_ref().to_string_lossy(), "PAM error");
    }
    fn info_msg(&self, message: impl AsRef<OsStr>) {
        tracing::debug!(message = %message.as_ref().to_string_lossy(), "PAM info");
    }
}

/// `pam_authenticate` + `pam_acct_mgmt` for `user` with service `service`,
/// coming from `peer` (`PAM_RHOST`, for pam_faillock, pam_access and the
/// log).
pub(crate) fn authenticate(
    service: &str,
    user: &str,
    password: &str,
    peer: IpAddr,
) -> Option<AuthenticatedUser> {
    if user.contains('\0') || password.contains('\0') || service.contains('\0') {
        return None;
    }
    let mut transaction = match start(service, user, password, peer) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(service, error = %e, "cannot start PAM");
            return None;
        }
    };
    let verdict = transaction
        .authenticate(AuthnFlags::empty())
        .and_then(|()| transaction.account_management(AuthnFlags::empty()));
    if let Err(e) = verdict {
        tracing::debug!(user, error = %e, "PAM refused the login");
        return None;
    }
    drop(transaction);
    Some(unix_account(user))
}

/// A PAM transaction for `user`, with the client's address set before any
/// module runs.
fn start(
    service: &str,
    user: &str,
    password: &str,
    peer: IpAddr,
) -> nonstick::Result<LibPamTransaction<impl PamConversation>> {
    let conversation = Conversation {
        user: user.to_string(),
        password: password.to_string(),
    };
    let mut transaction = TransactionBuilder::new_with_service(service)
        .username(user)
        .build(conversation.into_conversation())?;
    transaction
        .items_mut()
        .set_remote_host(Some(OsStr::new(&peer.to_string())))?;
    Ok(transaction)
}

/// The account's uid and the names of all its groups (primary and
/// supplementary, via getgrouplist). Unknown accounts (PAM modules that
/// authenticate users without a passwd entry) get no uid and no groups.
pub(crate) fn unix_account(user: &str) -> AuthenticatedUser {
    let Some(account) = uzers::get_user_by_name(user) else {
        return AuthenticatedUser {
            name: user.into(),
            uid: None,
            groups: Default::default(),
        };
    };
    let mut groups: Vec<String> = uzers::get_user_groups(user, account.primary_group_id())
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.name().to_str().map(String::from))
        .collect();
    groups.sort();
    groups.dedup();
    AuthenticatedUser {
        name: user.into(),
        uid: Some(account.uid()),
        groups: groups.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nonstick::items::Items;

    /// PAM modules that act on where a login comes from (pam_faillock,
    /// pam_access, the log) were never told: `PAM_RHOST` was unset.
    #[test]
    fn regression_pam_is_told_the_clients_address() {
        for peer in ["192.0.2.7", "2001:db8::7"] {
            let peer: IpAddr = peer.parse().unwrap();
            let transaction = start("openwmi-test", "nobody", "pw", peer).unwrap();
            let host = transaction.items().remote_host().unwrap();
            assert_eq!(host, Some(OsString::from(peer.to_string())));
        }
    }
}

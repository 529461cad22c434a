//! Checking a password against the machine's accounts through PAM, and
//! looking up the account's uid and Unix groups. Blocking: call from
//! `spawn_blocking`.

use std::ffi::{CStr, CString};

use crate::AuthenticatedUser;

/// Answers PAM's prompts with the given user name and password; PAM's own
/// messages go to the log, never to stderr.
struct Conversation {
    user: String,
    password: String,
}

impl pam::Converse for Conversation {
    fn prompt_echo(&mut self, _msg: &CStr) -> Result<CString, ()> {
        CString::new(self.user.clone()).map_err(|_| ())
    }
    fn prompt_blind(&mut self, _msg: &CStr) -> Result<CString, ()> {
        CString::new(self.password.clone()).map_err(|_| ())
    }
    fn info(&mut self, msg: &CStr) {
        tracing::debug!(message = %msg.to_string_lossy(), "PAM info");
    }
    fn error(&mut self, msg: &CStr) {
        tracing::debug!(message = %msg.to_string_lossy(), "PAM error");
    }
    fn username(&self) -> &str {
        &self.user
    }
}

/// `pam_authenticate` + `pam_acct_mgmt` for `user` with service `service`.
pub(crate) fn authenticate(service: &str, user: &str, password: &str) -> Option<AuthenticatedUser> {
    if user.contains('\0') || password.contains('\0') || service.contains('\0') {
        return None;
    }
    let conversation = Conversation {
        user: user.to_string(),
        password: password.to_string(),
    };
    let mut authenticator = match pam::Authenticator::with_handler(service, conversation) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(service, error = %e, "cannot start PAM");
            return None;
        }
    };
    if let Err(e) = authenticator.authenticate() {
        tracing::debug!(user, error = %e, "PAM refused the login");
        return None;
    }
    drop(authenticator);
    Some(unix_account(user))
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

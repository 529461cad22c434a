//! The SMB management classes of root/Microsoft/Windows/SMB (MSFT_SmbShare,
//! MSFT_SmbSession, MSFT_SmbOpenFile from Samba; MSFT_SmbConnection and
//! MSFT_SmbMapping from the mount table), and the methods that change Samba:
//! MSFT_SmbSession.ForceClose, MSFT_SmbShare.CreateShare and Win32_Share's
//! Create, Delete, SetShareInfo and GetAccessMask. The data and the programs
//! are the SessionProvider's (one Samba snapshot per operation for both
//! namespaces); the changes go through [`SambaControl`]. See
//! docs/msft-smb.md.

use crate::samba::SessionProvider;
use openwmi_cim::{CimError, CimStatus, Class, Instance, ObjectPath, Value};
use openwmi_cimom::{
    DeleteRequest, EnumerateRequest, GetRequest, InstanceProvider, InstanceStream, MethodRequest,
    MethodResult, OperationContext, ProviderCapabilities,
};
use openwmi_mounts::Paths;
use openwmi_samba::manage::{valid_share_name, CloseFileLayout, OpenHandle, SambaControl};
use openwmi_samba::msft::NO_SCOPE;
use openwmi_samba::SambaError;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The server-side classes [`SmbProvider`] serves.
pub const SMB_SERVER_CLASSES: [&str; 3] = ["MSFT_SmbShare", "MSFT_SmbSession", "MSFT_SmbOpenFile"];
/// The client-side classes [`SmbClientProvider`] serves.
pub const SMB_CLIENT_CLASSES: [&str; 2] = ["MSFT_SmbConnection", "MSFT_SmbMapping"];

/// Win32_Share method return values (the Create/Delete/SetShareInfo pages).
pub mod share_status {
    pub const SUCCESS: u32 = 0;
    pub const ACCESS_DENIED: u32 = 2;
    pub const UNKNOWN_FAILURE: u32 = 8;
    pub const INVALID_NAME: u32 = 9;
    pub const INVALID_LEVEL: u32 = 10;
    pub const INVALID_PARAMETER: u32 = 21;
    pub const DUPLICATE_SHARE: u32 = 22;
    pub const REDIRECTED_PATH: u32 = 23;
    pub const UNKNOWN_DEVICE_OR_DIRECTORY: u32 = 24;
    pub const NET_NAME_NOT_FOUND: u32 = 25;
}
use share_status::*;

/// The rights GetAccessMask reports for IPC$, which has no share ACL
/// (FILE_ALL_ACCESS).
const FULL_ACCESS: u32 = 0x001F_01FF;

/// Serves MSFT_SmbShare, MSFT_SmbSession and MSFT_SmbOpenFile, and the
/// methods of those classes and of Win32_Share.
pub struct SmbProvider {
    samba: Arc<SessionProvider>,
    control: SambaControl,
    host: String,
}

impl std::fmt::Debug for SmbProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbProvider")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

fn failed(e: SambaError) -> CimError {
    CimError::failed(e.to_string())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A key value as an unsigned integer, whether the path typed it or not.
fn key_u64(path: &ObjectPath, name: &str) -> Option<u64> {
    let v = path.key(name)?;
    match v {
        Value::String(s) => s.trim().parse().ok(),
        v => v.as_i128().and_then(|n| u64::try_from(n).ok()),
    }
}

fn key_str<'p>(path: &'p ObjectPath, name: &str) -> Option<&'p str> {
    path.key(name).and_then(Value::as_str)
}

impl SmbProvider {
    pub fn new(samba: Arc<SessionProvider>, control: SambaControl, host: &str) -> Self {
        SmbProvider {
            samba,
            control,
            host: host.to_owned(),
        }
    }

    fn instances(&self, class: &Class, ctx: &OperationContext) -> Result<Vec<Instance>, CimError> {
        let name = class.name.as_str();
        Ok(if name.eq_ignore_ascii_case("MSFT_SmbSession") {
            let status = self.samba.status(ctx)?;
            openwmi_samba::msft::smb_sessions(&status, class, &self.host, now())
        } else if name.eq_ignore_ascii_case("MSFT_SmbOpenFile") {
            let status = self.samba.status(ctx)?;
            openwmi_samba::msft::smb_open_files(&status, class, &self.host)
        } else if name.eq_ignore_ascii_case("MSFT_SmbShare") {
            let shares = self.samba.served(ctx)?;
            // CurrentUsers needs smbstatus (root); without it, NULL.
            let status = self.samba.status(ctx).ok();
            openwmi_samba::msft::smb_shares(&shares, status.as_deref(), class)
        } else {
            Vec::new()
        })
    }

    /// MSFT_SmbSession.ForceClose: ends the smbd process that serves the
    /// session (`smbcontrol PID shutdown`), which ends every session and
    /// handle that process holds.
    fn close_session(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        let id = key_u64(req.target, "SessionId")
            .ok_or_else(|| CimError::invalid_parameter("SessionId must be an integer"))?;
        let status = self.samba.status(req.ctx)?;
        let session = status
            .sessions
            .iter()
            .find(|s| u64::from(s.session_id) == id)
            .ok_or_else(|| CimError::not_found(format!("no SMB session {id}")))?;
        self.control
            .end_process(session.server_id.pid)
            .map_err(failed)?;
        Ok(MethodResult::status(SUCCESS))
    }

    /// MSFT_SmbOpenFile.ForceClose: closes that one open in the smbd
    /// process holding it, as Samba's srvsvc NetFileClose does; the
    /// client's other handles and its session stay.
    fn close_open_file(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        let id = key_u64(req.target, "FileId")
            .ok_or_else(|| CimError::invalid_parameter("FileId must be an integer"))?;
        let status = self.samba.status(req.ctx)?;
        let (file, open) = openwmi_samba::msft::find_open(&status, id)
            .ok_or_else(|| CimError::not_found(format!("no open file {id}")))?;
        let Some(key) = file.file_id else {
            return Err(CimError::failed(
                "smbstatus gave no fileid for this open: smbd cannot be asked to close it",
            ));
        };
        if !self.control.may_change() {
            return Err(CimError::access_denied(
                "closing an open file needs openwmi to run as root (Samba's messaging)",
            ));
        }
        let layout = openwmi_samba::parse_version(&status.version)
            .map(|v| CloseFileLayout::for_version(v.major, v.minor))
            .unwrap_or(CloseFileLayout::ShareModeEntry);
        let handle = OpenHandle {
            server_id: open.server_id,
            file: key,
            share_file_id: open.share_file_id,
            uid: u32::try_from(open.uid).unwrap_or(u32::MAX),
        };
        self.control.close_file(&handle, layout).map_err(failed)?;
        Ok(MethodResult::status(SUCCESS))
    }

    /// Whether a share of that name is served now (any kind).
    fn share_exists(&self, ctx: &OperationContext, name: &str) -> Result<bool, CimError> {
        Ok(self
            .samba
            .served(ctx)?
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(name))
            || name.eq_ignore_ascii_case("IPC$"))
    }

    /// Creates a registry share; a Win32_Share status code.
    #[allow(clippy::too_many_arguments)]
    fn create_share(
        &self,
        ctx: &OperationContext,
        name: Option<&str>,
        path: Option<&str>,
        description: Option<&str>,
        limit: Option<u64>,
        extra: &[(&str, &str)],
    ) -> Result<u32, CimError> {
        let Some(name) = name.filter(|n| valid_share_name(n)) else {
            return Ok(INVALID_NAME);
        };
        let Some(path) = path.filter(|p| !p.is_empty()) else {
            return Ok(INVALID_PARAMETER);
        };
        if path.contains('%') || path.chars().any(char::is_control) {
            // Samba would expand `%U`-style variables in it per user.
            return Ok(INVALID_PARAMETER);
        }
        if !path.starts_with('/') {
            // A Windows path (C:\...) or a UNC path cannot be served here.
            return Ok(if path.starts_with("\\\\") {
                REDIRECTED_PATH
            } else {
                UNKNOWN_DEVICE_OR_DIRECTORY
            });
        }
        if !std::path::Path::new(path).is_dir() {
            return Ok(UNKNOWN_DEVICE_OR_DIRECTORY);
        }
        let limit = match limit.map(u32::try_from) {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return Ok(INVALID_PARAMETER),
        };
        if !self.control.may_change() {
            return Ok(ACCESS_DENIED);
        }
        let registry = self.control.registry_shares().map_err(failed)?;
        if registry.iter().any(|s| s.eq_ignore_ascii_case(name)) || self.share_exists(ctx, name)? {
            return Ok(DUPLICATE_SHARE);
        }
        let description = description.unwrap_or("");
        if self.control.add_share(name, path, description).is_err() {
            return Ok(UNKNOWN_FAILURE);
        }
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(n) = limit.filter(|n| *n > 0) {
            params.push(("max connections", n.to_string()));
        }
        params.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
        for (param, value) in &params {
            if self.control.set_parm(name, param, value).is_err() {
                // Leave nothing half made.
                let _ = self.control.delete_share(name);
                return Ok(UNKNOWN_FAILURE);
            }
        }
        Ok(SUCCESS)
    }

    /// Win32_Share.Create (static).
    fn win32_create(&self, req: &MethodRequest<'_>) -> Result<u32, CimError> {
        match req.unsigned("Type") {
            Some(0) => {}
            // Print queues, devices, IPC and the administrative variants
            // are not made through this method here.
            Some(1 | 2 | 3 | 0x8000_0000..=0x8000_0003) => return Ok(INVALID_LEVEL),
            _ => return Ok(INVALID_PARAMETER),
        }
        if req.string("Password").is_some_and(|p| !p.is_empty()) || req.param("Access").is_some() {
            // Samba has no share passwords, and share ACLs are not set
            // through this method: refuse rather than ignore them.
            return Ok(INVALID_PARAMETER);
        }
        self.create_share(
            req.ctx,
            req.string("Name"),
            req.string("Path"),
            req.string("Description"),
            req.unsigned("MaximumAllowed"),
            &[],
        )
    }

    /// The share name of a Win32_Share or MSFT_SmbShare instance path, and
    /// whether openwmi may change that share: only registry shares.
    fn own_share(&self, req: &MethodRequest<'_>) -> Result<Result<String, u32>, CimError> {
        self.own_share_at(req.ctx, req.target)
    }

    fn own_share_at(
        &self,
        ctx: &OperationContext,
        target: &ObjectPath,
    ) -> Result<Result<String, u32>, CimError> {
        let Some(name) = key_str(target, "Name") else {
            return Ok(Err(INVALID_PARAMETER));
        };
        if !self.control.may_change() {
            return Ok(Err(ACCESS_DENIED));
        }
        if !self.control.is_registry_share(name).map_err(failed)? {
            return Ok(Err(if self.share_exists(ctx, name)? {
                ACCESS_DENIED
            } else {
                NET_NAME_NOT_FOUND
            }));
        }
        Ok(Ok(name.to_owned()))
    }

    /// Win32_Share.Delete: deletes a registry share, then drops its tree
    /// connects as Windows does.
    fn win32_delete(&self, req: &MethodRequest<'_>) -> Result<u32, CimError> {
        self.delete_share(req.ctx, req.target)
    }

    /// Deletes the registry share at `target`; a Win32_Share status code.
    fn delete_share(&self, ctx: &OperationContext, target: &ObjectPath) -> Result<u32, CimError> {
        let name = match self.own_share_at(ctx, target)? {
            Ok(n) => n,
            Err(code) => return Ok(code),
        };
        if self.control.delete_share(&name).is_err() {
            return Ok(UNKNOWN_FAILURE);
        }
        // Connections are dropped best-effort: the share is gone either way.
        let _ = self.control.close_share(&name);
        Ok(SUCCESS)
    }

    /// Remove-SmbShare: DeleteInstance of MSFT_SmbShare, with the rules of
    /// Win32_Share.Delete (registry shares only) as CIM errors.
    fn remove_smb_share(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        let name = key_str(req.path, "Name").unwrap_or_default().to_owned();
        if key_str(req.path, "ScopeName").is_some_and(|s| s != NO_SCOPE && !s.is_empty()) {
            return Err(CimError::not_found(format!(
                "no share {name:?} in scope {:?}: this server has only scope \"*\"",
                key_str(req.path, "ScopeName").unwrap_or_default()
            )));
        }
        match self.delete_share(req.ctx, req.path)? {
            SUCCESS => Ok(()),
            INVALID_PARAMETER => Err(CimError::invalid_parameter(
                "an MSFT_SmbShare path needs its Name key",
            )),
            NET_NAME_NOT_FOUND => Err(CimError::not_found(format!("no share {name:?}"))),
            ACCESS_DENIED if !self.control.may_change() => Err(CimError::access_denied(
                "deleting a share needs openwmi to run as root (net conf)",
            )),
            ACCESS_DENIED => Err(CimError::access_denied(format!(
                "share {name:?} is not a registry share: openwmi deletes only shares in \
                 Samba's registry configuration (net conf), never smb.conf sections, \
                 usershares, home or printer shares"
            ))),
            _ => Err(CimError::failed(format!(
                "net conf delshare {name:?} failed"
            ))),
        }
    }

    /// Win32_Share.SetShareInfo: the limit and the comment of a registry share.
    fn win32_set_info(&self, req: &MethodRequest<'_>) -> Result<u32, CimError> {
        let name = match self.own_share(req)? {
            Ok(n) => n,
            Err(code) => return Ok(code),
        };
        if req.param("Access").is_some() {
            return Ok(INVALID_PARAMETER);
        }
        let limit = match req.unsigned("MaximumAllowed").map(u32::try_from) {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return Ok(INVALID_PARAMETER),
        };
        if let Some(n) = limit {
            if self
                .control
                .set_parm(&name, "max connections", &n.to_string())
                .is_err()
            {
                return Ok(UNKNOWN_FAILURE);
            }
        }
        if let Some(d) = req.string("Description") {
            if self.control.set_parm(&name, "comment", d).is_err() {
                return Ok(UNKNOWN_FAILURE);
            }
        }
        Ok(SUCCESS)
    }

    /// MSFT_SmbShare.CreateShare (static): the Win32 creation plus the
    /// settings Samba has per share.
    fn msft_create(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        if req
            .string("ScopeName")
            .is_some_and(|s| s != "*" && !s.is_empty())
        {
            return Err(CimError::invalid_parameter(
                "ScopeName: this server has no scopes but \"*\"",
            ));
        }
        let unsupported = ["FullAccess", "ChangeAccess", "ReadAccess", "NoAccess"]
            .iter()
            .chain(&["SecurityDescriptor", "ContinuouslyAvailable", "Temporary"])
            .find(|p| match req.param(p) {
                Some(Value::Boolean(b)) => *b,
                Some(_) => true,
                None => false,
            });
        if let Some(p) = unsupported {
            return Err(CimError::not_supported(format!(
                "{p}: not supported by openwmi's CreateShare"
            )));
        }
        let mut extra: Vec<(&str, &str)> = Vec::new();
        if req.param("EncryptData").and_then(Value::as_bool) == Some(true) {
            extra.push(("smb encrypt", "required"));
        }
        match req.unsigned("FolderEnumerationMode") {
            None | Some(1) => {}
            Some(0) => extra.push(("hide unreadable", "yes")),
            Some(_) => return Err(CimError::invalid_parameter("FolderEnumerationMode")),
        }
        match req.unsigned("CachingMode") {
            None => {}
            Some(0) => extra.push(("csc policy", "disable")),
            Some(1) => extra.push(("csc policy", "manual")),
            Some(2) => extra.push(("csc policy", "documents")),
            Some(3) => extra.push(("csc policy", "programs")),
            Some(_) => return Err(CimError::invalid_parameter("CachingMode")),
        }
        let code = self.create_share(
            req.ctx,
            req.string("Name"),
            req.string("Path"),
            req.string("Description"),
            req.unsigned("ConcurrentUserLimit"),
            &extra,
        )?;
        let mut result = MethodResult::status(code);
        if code == SUCCESS {
            // What New-SmbShare returns: the new MSFT_SmbShare, an embedded
            // instance (its CIM-XML INSTANCE, as DSP0201 carries one in a
            // string), built from what was just set.
            let mut share = openwmi_samba::Share::new(req.string("Name").unwrap_or_default());
            share.path = req.string("Path").unwrap_or_default().to_owned();
            share.comment = req.string("Description").unwrap_or_default().to_owned();
            share.max_connections = req
                .unsigned("ConcurrentUserLimit")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0);
            for (param, value) in &extra {
                match *param {
                    "smb encrypt" => share.encrypt_data = true,
                    "csc policy" => share.csc_policy = (*value).to_owned(),
                    "hide unreadable" => share.hide_unreadable = true,
                    _ => {}
                }
            }
            let inst = openwmi_samba::msft::smb_share(&share, req.class);
            let mut xml = String::new();
            openwmi_cimxml::write_instance(&mut xml, &inst);
            result.out_params.push((
                openwmi_cim::Name::new("CreatedShare"),
                Value::String(xml.into()),
            ));
        }
        Ok(result)
    }

    /// Win32_Share.GetAccessMask: the rights the caller holds on the share,
    /// as Windows reports them: the share's ACL (`sharesec --view`; Samba's
    /// default, Everyone Full, when none is stored) evaluated for the
    /// caller's SIDs, without the write rights on a `read only` share.
    fn win32_access_mask(&self, req: &MethodRequest<'_>) -> Result<u32, CimError> {
        let Some(name) = key_str(req.target, "Name") else {
            return Err(CimError::invalid_parameter("Win32_Share path without Name"));
        };
        let served = self.samba.served(req.ctx)?;
        let share = served.iter().find(|s| s.name.eq_ignore_ascii_case(name));
        let Some(share) = share else {
            if name.eq_ignore_ascii_case("IPC$") {
                return Ok(FULL_ACCESS);
            }
            return Err(CimError::not_found(format!("no share {name:?}")));
        };
        let aces = self.control.share_acl(&share.name).map_err(failed)?;
        let sids = self.caller_sids(req.ctx);
        Ok(openwmi_samba::sharesec::share_access(
            &aces,
            &sids,
            share.read_only && !share.printable,
        ))
    }

    /// The SIDs Samba would give the caller: Everyone, Authenticated
    /// Users, the Unix user and group SIDs (S-1-22-1-uid, S-1-22-2-gid),
    /// and the user's SIDs in Samba's account database. The local caller
    /// is the Unix user openwmi runs as.
    fn caller_sids(&self, ctx: &OperationContext) -> Vec<String> {
        use openwmi_samba::sharesec::{AUTHENTICATED_USERS, EVERYONE};
        let mut sids = vec![EVERYONE.to_string(), AUTHENTICATED_USERS.to_string()];
        let user = match ctx.user.as_deref() {
            Some(u) => Some(u.to_string()),
            None => uzers::get_user_by_uid(rustix::process::geteuid().as_raw())
                .map(|u| u.name().to_string_lossy().into_owned()),
        };
        if let Some(user) = user {
            if let Some(account) = uzers::get_user_by_name(&user) {
                sids.push(format!("S-1-22-1-{}", account.uid()));
                sids.push(format!("S-1-22-2-{}", account.primary_group_id()));
                for g in
                    uzers::get_user_groups(&user, account.primary_group_id()).unwrap_or_default()
                {
                    sids.push(format!("S-1-22-2-{}", g.gid()));
                }
            }
            sids.extend(self.control.account_sids(&user));
        }
        for g in ctx.groups.iter() {
            if let Some(group) = uzers::get_group_by_name(g) {
                sids.push(format!("S-1-22-2-{}", group.gid()));
            }
        }
        sids.sort();
        sids.dedup();
        sids
    }

    /// Methods of Win32_Share (root/cimv2), for the Win32_Share provider.
    pub fn win32_share_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        let m = req.method.name.as_str();
        let code = if m.eq_ignore_ascii_case("Create") {
            self.win32_create(req)?
        } else if m.eq_ignore_ascii_case("Delete") {
            self.win32_delete(req)?
        } else if m.eq_ignore_ascii_case("SetShareInfo") {
            self.win32_set_info(req)?
        } else if m.eq_ignore_ascii_case("GetAccessMask") {
            self.win32_access_mask(req)?
        } else {
            return Err(not_available(req));
        };
        Ok(MethodResult::status(code))
    }
}

fn not_available(req: &MethodRequest<'_>) -> CimError {
    CimError::new(
        CimStatus::MethodNotAvailable,
        format!("{}.{} is not implemented", req.class.name, req.method.name),
    )
}

impl InstanceProvider for SmbProvider {
    fn name(&self) -> &str {
        "openwmi-smb"
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::NONE
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let insts = self.instances(req.class, req.ctx)?;
        Ok(Box::new(insts.into_iter().map(|i| Ok(Arc::new(i)))))
    }

    fn get(&self, req: &GetRequest<'_>) -> Result<Option<Arc<Instance>>, CimError> {
        // Integer keys compare by value, however the path typed them.
        let key = ["SessionId", "FileId"]
            .into_iter()
            .find(|k| req.class.property(k).is_some_and(|p| p.is_key()));
        let Some(key) = key else {
            return default_get(self, req);
        };
        let Some(want) = key_u64(req.path, key) else {
            return Ok(None);
        };
        Ok(self
            .instances(req.class, req.ctx)?
            .into_iter()
            .find(|i| i.value(key).and_then(Value::as_i128) == Some(i128::from(want)))
            .map(Arc::new))
    }

    fn delete(&self, req: &DeleteRequest<'_>) -> Result<(), CimError> {
        if req
            .class
            .name
            .as_str()
            .eq_ignore_ascii_case("MSFT_SmbShare")
        {
            return self.remove_smb_share(req);
        }
        Err(CimError::not_supported(format!(
            "instances of {} are not deleted",
            req.class.name
        )))
    }

    fn delete_is_managed(&self, class: &Class) -> bool {
        class.name.as_str().eq_ignore_ascii_case("MSFT_SmbShare")
    }

    fn invoke_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        let (class, m) = (req.class.name.as_str(), req.method.name.as_str());
        if class.eq_ignore_ascii_case("MSFT_SmbSession") && m.eq_ignore_ascii_case("ForceClose") {
            return self.close_session(req);
        }
        if class.eq_ignore_ascii_case("MSFT_SmbShare") && m.eq_ignore_ascii_case("CreateShare") {
            return self.msft_create(req);
        }
        if class.eq_ignore_ascii_case("Win32_Share") {
            return self.win32_share_method(req);
        }
        if class.eq_ignore_ascii_case("MSFT_SmbOpenFile") && m.eq_ignore_ascii_case("ForceClose") {
            return self.close_open_file(req);
        }
        Err(not_available(req))
    }
}

/// The trait's default lookup (enumerate and compare paths).
fn default_get(
    p: &dyn InstanceProvider,
    req: &GetRequest<'_>,
) -> Result<Option<Arc<Instance>>, CimError> {
    let stream = p.enumerate(&EnumerateRequest {
        namespace: req.namespace,
        class: req.class,
        property_list: None,
        filter: None,
        classes: req.classes,
        ctx: req.ctx,
    })?;
    for item in stream {
        let inst = item?;
        if inst.path(req.class) == *req.path {
            return Ok(Some(inst));
        }
    }
    Ok(None)
}

/// Win32_Share with its methods: the SessionProvider's instances, the
/// SmbProvider's methods.
#[derive(Debug)]
pub struct Win32ShareProvider {
    pub samba: Arc<SessionProvider>,
    pub smb: Arc<SmbProvider>,
}

impl InstanceProvider for Win32ShareProvider {
    fn name(&self) -> &str {
        self.samba.name()
    }
    fn capabilities(&self) -> ProviderCapabilities {
        self.samba.capabilities()
    }
    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        self.samba.enumerate(req)
    }
    fn get(&self, req: &GetRequest<'_>) -> Result<Option<Arc<Instance>>, CimError> {
        self.samba.get(req)
    }
    fn invoke_method(&self, req: &MethodRequest<'_>) -> Result<MethodResult, CimError> {
        self.smb.win32_share_method(req)
    }
}

/// MSFT_SmbConnection and MSFT_SmbMapping: this computer's SMB mounts
/// (cifs, smb3), and for mappings also the SMB entries fstab remembers.
#[derive(Debug, Clone, Default)]
pub struct SmbClientProvider {
    paths: Paths,
}

struct ClientSnapshot(openwmi_mounts::source::Loaded);

impl SmbClientProvider {
    pub fn new(paths: Paths) -> Self {
        SmbClientProvider { paths }
    }
}

/// `\\server\share` and its parts from a cifs source (`//server/share/dir`).
fn server_share(source: &str) -> Option<(String, String)> {
    let unc = openwmi_mounts::netfs::to_unc("cifs", source);
    let rest = unc.strip_prefix("\\\\")?;
    let mut parts = rest.split('\\');
    let server = parts.next().filter(|s| !s.is_empty())?;
    let share = parts.next().filter(|s| !s.is_empty())?;
    Some((server.to_string(), share.to_string()))
}

fn put(inst: &mut Instance, name: &str, value: Option<Value>) {
    let _ = inst.set(name, value);
}

impl InstanceProvider for SmbClientProvider {
    fn name(&self) -> &str {
        "openwmi-smb"
    }

    fn enumerate(&self, req: &EnumerateRequest<'_>) -> Result<InstanceStream, CimError> {
        let snap = req.ctx.snapshot(|| {
            let loaded = openwmi_mounts::source::load(&self.paths)
                .map_err(|e| CimError::failed(format!("reading mounts: {e}")))?;
            Ok(Arc::new(ClientSnapshot(loaded)))
        })?;
        let (mounts, fstab) = (&snap.0.mounts, &snap.0.fstab);
        let class = req.class;
        let mut out = Vec::new();
        let smb_mounts = mounts
            .iter()
            .filter(|m| openwmi_mounts::netfs::is_smb(&m.fs_type));
        if class
            .name
            .as_str()
            .eq_ignore_ascii_case("MSFT_SmbConnection")
        {
            for m in smb_mounts {
                let Some((server, share)) = server_share(&m.source) else {
                    continue;
                };
                let options = [m.mount_options.as_str(), m.super_options.as_str()];
                let user = openwmi_mounts::netfs::user_name(&m.fs_type, &m.source, options)
                    .unwrap_or_default();
                let mut inst = Instance::of_class(class);
                put(&mut inst, "ServerName", Some(server.into()));
                put(&mut inst, "ShareName", Some(share.into()));
                put(&mut inst, "UserName", Some(user.clone().into()));
                put(&mut inst, "Credential", Some(user.into()));
                put(&mut inst, "SmbInstance", Some(Value::UInt32(0)));
                let vers = openwmi_mounts::mountinfo::find_option(&m.super_options, "vers")
                    .flatten()
                    .map(|v| match v {
                        "3.11" => "3.1.1".to_string(),
                        "3.02" => "3.0.2".to_string(),
                        "3.0" => "3.0".to_string(),
                        "2.1" => "2.1".to_string(),
                        "2.0" => "2.0.2".to_string(),
                        "1.0" => "1.5".to_string(),
                        v => v.to_string(),
                    });
                put(&mut inst, "Dialect", vers.map(Value::from));
                put(&mut inst, "ContinuouslyAvailable", Some(false.into()));
                put(&mut inst, "Redirected", Some(false.into()));
                out.push(inst);
            }
        } else if class.name.as_str().eq_ignore_ascii_case("MSFT_SmbMapping") {
            let mut seen: Vec<(String, String)> = Vec::new();
            for m in smb_mounts {
                let remote = openwmi_mounts::netfs::to_unc(&m.fs_type, &m.source);
                seen.push((m.mount_point.clone(), remote));
            }
            let mounted = seen.len();
            for e in fstab {
                let (fs_type, source) = e.effective_type_and_source();
                if !openwmi_mounts::netfs::is_smb(&fs_type) {
                    continue;
                }
                let remote = openwmi_mounts::netfs::to_unc(&fs_type, source);
                if !seen.iter().any(|(l, _)| *l == e.mount_point) {
                    seen.push((e.mount_point.clone(), remote));
                }
            }
            for (i, (local, remote)) in seen.into_iter().enumerate() {
                let mut inst = Instance::of_class(class);
                put(&mut inst, "LocalPath", Some(local.into()));
                put(&mut inst, "RemotePath", Some(remote.into()));
                // 0 OK (mounted), 6 Unavailable (only remembered in fstab).
                put(
                    &mut inst,
                    "Status",
                    Some(Value::UInt32(if i < mounted { 0 } else { 6 })),
                );
                out.push(inst);
            }
        }
        Ok(Box::new(out.into_iter().map(|i| Ok(Arc::new(i)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cifs_sources_split_into_server_and_share() {
        assert_eq!(
            server_share("//srv/data/sub"),
            Some(("srv".into(), "data".into()))
        );
        assert_eq!(server_share("//srv"), None);
    }
}

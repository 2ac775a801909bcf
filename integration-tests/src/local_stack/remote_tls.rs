//! Files for the remote shape: a CA, the backend's serving certificate for 127.0.0.1, one
//! credential per calling node-agent (a client certificate or a bearer token) and the
//! backend's callers file that maps each credential, by SHA-256, to the cluster ids it may
//! act for.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::LocalStackError;

/// What the backend reads: `--tls-cert`, `--tls-key`, `--client-ca`, `--callers`; and the CA
/// that signed its certificate (what callers trust).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFiles {
    pub server_ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    pub callers: PathBuf,
}

/// How a caller proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerCredential {
    /// A client certificate signed by the CA (mutual TLS).
    Certificate,
    /// A bearer token.
    Token,
}

/// A caller to register in the callers file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCaller {
    pub name: String,
    pub credential: CallerCredential,
    /// Cluster ids it may act for.
    pub clusters: Vec<String>,
}

/// What a caller (node-agent) is given: `--backend-tls-ca` and either
/// `--backend-tls-cert/--backend-tls-key` or `--backend-token-file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerFiles {
    pub name: String,
    pub server_ca: PathBuf,
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
    pub token_file: Option<PathBuf>,
}

fn write(path: PathBuf, contents: &[u8]) -> Result<PathBuf, LocalStackError> {
    std::fs::write(&path, contents)
        .map_err(|source| LocalStackError::WriteFile { path: path.clone(), source })?;
    Ok(path)
}

fn cert_error(what: &'static str) -> impl Fn(rcgen::Error) -> LocalStackError {
    move |source| LocalStackError::Certificates { what, source }
}

/// Writes the CA, the server's certificate and key, each caller's credential and the
/// callers file into `dir`.
pub fn write_remote_tls(
    dir: &Path,
    callers: &[RemoteCaller],
) -> Result<(ServerFiles, Vec<CallerFiles>), LocalStackError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| LocalStackError::CreateDir { path: dir.to_path_buf(), source })?;
    let ca_key = KeyPair::generate().map_err(cert_error("the CA key"))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error("the CA"))?;
    ca_params.distinguished_name.push(DnType::CommonName, "vk-local backend CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_error("signing the CA"))?;
    let ca_path = write(dir.join("ca.crt"), ca_cert.pem().as_bytes())?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(cert_error("the server key"))?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_string()]).map_err(cert_error("the server"))?;
    server_params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    server_params.distinguished_name.push(DnType::CommonName, "aci-backend");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert =
        server_params.signed_by(&server_key, &issuer).map_err(cert_error("signing the server"))?;

    let mut entries = Vec::new();
    let mut caller_files = Vec::new();
    for caller in callers {
        let mut files = CallerFiles {
            name: caller.name.clone(),
            server_ca: ca_path.clone(),
            cert_and_key: None,
            token_file: None,
        };
        match caller.credential {
            CallerCredential::Certificate => {
                let key = KeyPair::generate().map_err(cert_error("a client key"))?;
                let mut params =
                    CertificateParams::new(Vec::<String>::new()).map_err(cert_error("a client"))?;
                params.distinguished_name.push(DnType::CommonName, caller.name.as_str());
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                let cert = params.signed_by(&key, &issuer).map_err(cert_error("signing a client"))?;
                let cert_path = write(dir.join(format!("{}.crt", caller.name)), cert.pem().as_bytes())?;
                let key_path =
                    write(dir.join(format!("{}.key", caller.name)), key.serialize_pem().as_bytes())?;
                files.cert_and_key = Some((cert_path, key_path));
                entries.push(json!({
                    "name": caller.name,
                    "certificateSha256": hex::encode(Sha256::digest(cert.der())),
                    "clusters": caller.clusters,
                }));
            }
            CallerCredential::Token => {
                let token = format!("vk-local-{}-{}", caller.name, uuid::Uuid::new_v4().simple());
                files.token_file = Some(write(dir.join(format!("{}.token", caller.name)), token.as_bytes())?);
                entries.push(json!({
                    "name": caller.name,
                    "tokenSha256": hex::encode(Sha256::digest(token.as_bytes())),
                    "clusters": caller.clusters,
                }));
            }
        }
        caller_files.push(files);
    }
    let server = ServerFiles {
        server_ca: ca_path.clone(),
        cert: write(dir.join("server.crt"), server_cert.pem().as_bytes())?,
        key: write(dir.join("server.key"), server_key.serialize_pem().as_bytes())?,
        client_ca: ca_path,
        callers: write(dir.join("callers.json"), json!({ "callers": entries }).to_string().as_bytes())?,
    };
    Ok((server, caller_files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_gets_its_own_credential_and_an_entry_in_the_callers_file() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let callers = [
            RemoteCaller {
                name: "a".into(),
                credential: CallerCredential::Certificate,
                clusters: vec!["c1".into()],
            },
            RemoteCaller {
                name: "b".into(),
                credential: CallerCredential::Token,
                clusters: vec!["c2".into()],
            },
        ];
        let (server, files) = write_remote_tls(dir.path(), &callers).expect("writing");
        assert!(files[0].cert_and_key.is_some() && files[0].token_file.is_none());
        assert!(files[1].token_file.is_some() && files[1].cert_and_key.is_none());
        let text = std::fs::read_to_string(&server.callers).expect("callers file");
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(parsed["callers"][0]["clusters"][0], "c1");
        assert_eq!(parsed["callers"][1]["tokenSha256"].as_str().map(str::len), Some(64));
        let token =
            std::fs::read_to_string(files[1].token_file.as_ref().expect("token")).expect("token file");
        assert!(!text.contains(&token), "the callers file holds no secret");
    }
}

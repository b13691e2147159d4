//! TLS to PostgreSQL, as libpq does it: `DATABASE_URL`'s `sslmode`
//! (`disable`, `prefer`, the default, `require`, `verify-ca`,
//! `verify-full`) and `sslrootcert=<file>`. Managed PostgreSQL services
//! require TLS; `verify-full` is what protects against an impostor.
//!
//! tokio-postgres knows `disable`, `prefer` and `require` only, and never
//! what to verify, so the two parameters are taken out of the URL here and
//! the rustls configuration says what `sslmode` means:
//! - `prefer` and `require` encrypt without checking who answers (libpq's
//!   own meaning), unless `sslrootcert` is given: then `require` verifies
//!   the chain as `verify-ca` does, as libpq does;
//! - `verify-ca` checks the chain against the roots, not the host name;
//! - `verify-full` checks both.
//!
//! Roots are `sslrootcert`'s certificates, or the system's when it is not
//! given (libpq reads `~/.postgresql/root.crt`; a service has no home).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// What `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS half of a `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSettingsError {
    #[error("sslmode must be disable, prefer, require, verify-ca or verify-full, got {0:?}")]
    UnknownMode(String),
    #[error("sslrootcert {path}: {reason}")]
    RootCert { path: String, reason: String },
}

/// Splits `sslmode` and `sslrootcert` off `url`: answers the URL
/// tokio-postgres is given (with `sslmode` as it understands it) and the
/// settings. Other parameters stay as they were.
///
/// # Errors
/// An `sslmode` libpq does not know.
pub fn split_tls(url: &str) -> Result<(String, TlsSettings), TlsSettingsError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "sslmode" => {
                mode = match value.as_str() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => return Err(TlsSettingsError::UnknownMode(other.to_owned())),
                };
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            _ => kept.push(pair.to_owned()),
        }
    }
    kept.push(
        match mode {
            SslMode::Disable => "sslmode=disable",
            SslMode::Prefer => "sslmode=prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "sslmode=require",
        }
        .to_owned(),
    );
    Ok((
        format!("{base}?{}", kept.join("&")),
        TlsSettings { mode, root_cert },
    ))
}

fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// The rustls client configuration `settings` call for; `None` for
/// `disable`.
///
/// # Errors
/// A root certificate file that cannot be read or holds no certificate.
pub fn client_config(settings: &TlsSettings) -> Result<Option<ClientConfig>, TlsSettingsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verify_chain = match settings.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => settings.root_cert.is_some(),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSettingsError::RootCert {
            path: String::new(),
            reason: e.to_string(),
        })?;
    let config = if verify_chain {
        let roots = Arc::new(roots(settings.root_cert.as_deref())?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|e| TlsSettingsError::RootCert {
                path: display(settings.root_cert.as_deref()),
                reason: e.to_string(),
            })?;
        let verifier: Arc<dyn ServerCertVerifier> = if settings.mode == SslMode::VerifyFull {
            webpki
        } else {
            Arc::new(ChainOnly(webpki))
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    };
    Ok(Some(config))
}

fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| "system roots".to_owned(), |p| p.display().to_string())
}

fn roots(file: Option<&Path>) -> Result<RootCertStore, TlsSettingsError> {
    let mut roots = RootCertStore::empty();
    let failed = |reason: String| TlsSettingsError::RootCert {
        path: display(file),
        reason,
    };
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| failed(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failed(e.to_string()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(failed("no certificate in the file".to_owned()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(failed("the system has no root certificates".to_owned()));
            }
        }
    }
    Ok(roots)
}

/// Opens one connection to `url`, TLS as its `sslmode` and `sslrootcert`
/// say. Every connection the adapter makes comes from here.
///
/// # Errors
/// A bad `sslmode` or root certificate, or what connecting fails with.
pub async fn connect(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    let (url, settings) =
        split_tls(url).map_err(|e| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    let tls =
        client_config(&settings).map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    establish(&url, tls.as_ref()).await
}

/// Opens one connection on `url` as [`split_tls`] made it.
///
/// # Errors
/// What connecting fails with, TLS included.
async fn establish(
    url: &str,
    tls: Option<&ClientConfig>,
) -> Result<AsyncPgConnection, ConnectionError> {
    let Some(tls) = tls else {
        return AsyncPgConnection::establish(url).await;
    };
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| ConnectionError::BadConnection(e.to_string()))?;
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls.clone());
    let (client, connection) = config
        .connect(connector)
        .await
        .map_err(|e| ConnectionError::BadConnection(explained(&e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// tokio-postgres says only "db error" or "error performing TLS
/// handshake" at the top; the reason (the server's message, the
/// certificate's fault) is in the sources, as libpq would print it.
fn explained(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the
/// certificate need not be the host's.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without roots: encrypted, whoever answers (as
/// libpq does). The handshake's signatures are still checked, so the
/// session key belongs to the certificate presented.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let (url, tls) = split_tls(
            "postgres://u@db.example:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u@db.example:5432/app?application_name=x&sslmode=require"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
    }

    #[test]
    fn prefer_is_the_default() {
        let (url, tls) = split_tls("postgres://u@h/db").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=prefer");
        assert_eq!(tls.mode, SslMode::Prefer);
        assert!(client_config(&tls).unwrap().is_some(), "prefer tries TLS");
        let (_, off) = split_tls("postgres://u@h/db?sslmode=disable").unwrap();
        assert!(client_config(&off).unwrap().is_none());
    }

    #[test]
    fn an_unknown_mode_or_an_unreadable_root_is_an_error() {
        assert!(matches!(
            split_tls("postgres://h/db?sslmode=sometimes"),
            Err(TlsSettingsError::UnknownMode(_))
        ));
        let (_, tls) =
            split_tls("postgres://h/db?sslmode=verify-ca&sslrootcert=/nonexistent.pem").unwrap();
        let err = client_config(&tls).unwrap_err().to_string();
        assert!(err.contains("/nonexistent.pem"), "{err}");
    }
}

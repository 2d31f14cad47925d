//! TLS settings: the server side (certificate chain and key from PEM files, HTTP/2 and
//! HTTP/1.1 by ALPN, rustls' modern defaults: TLS 1.2 and 1.3 only) and the client side for
//! outgoing HTTPS (webpki roots plus an optional operator-supplied CA file). Never disables
//! verification.

use std::path::Path;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// An HTTP(S) connector trusting webpki roots and the certificates in `ca_file`.
pub fn https_connector(
    ca_file: Option<&Path>,
    connect_timeout: std::time::Duration,
    http2: bool,
) -> Result<HttpsConnector<HttpConnector>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("CA file {} is not valid PEM: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("CA file {} holds no certificate", path.display()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
        }
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1();
    Ok(if http2 {
        builder.enable_http2().wrap_connector(http)
    } else {
        builder.wrap_connector(http)
    })
}

/// The server configuration for `cert` (PEM chain, leaf first) and `key` (PEM PKCS#8, PKCS#1
/// RSA or SEC1 EC), offering HTTP/2 and HTTP/1.1 by ALPN. Errors name the file and the fix.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read server.tls_cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("server.tls_cert {} is not valid PEM: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "server.tls_cert {} holds no CERTIFICATE block; give the PEM chain, leaf first",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "server.tls_key {}: {e}; give a PEM private key (PKCS#8, RSA or EC)",
            key.display()
        )
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("server.tls_cert and server.tls_key do not work together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_certificate_and_key_make_a_server_config_with_alpn() {
        let dir = std::env::temp_dir().join(format!("doorman-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let c = write(&dir, "c.pem", &cert.pem());
        let k = write(&dir, "k.pem", &key.serialize_pem());
        let config = server_config(&c, &k).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        // Errors name the file and what to do.
        let empty = write(&dir, "empty.pem", "");
        assert!(server_config(&empty, &k)
            .unwrap_err()
            .contains("holds no CERTIFICATE"));
        assert!(server_config(&c, &c)
            .unwrap_err()
            .contains("server.tls_key"));
        let other = rcgen::KeyPair::generate().unwrap();
        let wrong = write(&dir, "wrong.pem", &other.serialize_pem());
        assert!(server_config(&c, &wrong)
            .unwrap_err()
            .contains("do not work together"));
        assert!(server_config(&dir.join("missing.pem"), &k)
            .unwrap_err()
            .contains("cannot read"));
    }
}

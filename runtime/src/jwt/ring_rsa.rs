//! RSA signatures checked by ring, in about a tenth of the CPU time that the pure-Rust `rsa`
//! crate takes (`bench/extension.sh` gives both figures). Every other algorithm, and signing,
//! stay with jsonwebtoken's RustCrypto provider.

use std::sync::LazyLock;

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, rust_crypto};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{self as ring_signature, RsaParameters, RsaPublicKeyComponents};

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    verifier_factory: verifier,
    ..rust_crypto::DEFAULT_PROVIDER.clone()
});

/// Makes this provider the process's, unless one was installed before.
pub(crate) fn install() {
    // An error means that a provider is installed already, which stands.
    let _ = PROVIDER.install_default();
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let parameters = match algorithm {
        Algorithm::RS256 => &ring_signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &ring_signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &ring_signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &ring_signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &ring_signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &ring_signature::RSA_PSS_2048_8192_SHA512,
        _ => return (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(algorithm, key),
    };
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(Rsa {
        algorithm: *algorithm,
        parameters,
        key: key.clone(),
    }))
}

struct Rsa {
    algorithm: Algorithm,
    parameters: &'static RsaParameters,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for Rsa {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match self.key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(self.parameters, message, signature)
            }
            DecodingKeyKind::SecretOrDer(der) => {
                ring_signature::UnparsedPublicKey::new(self.parameters, der)
                    .verify(message, signature)
            }
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rsa {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::EncodingKey;
    use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
    use rsa::traits::PublicKeyParts as _;

    use super::*;

    #[test]
    fn rsa_signatures_are_checked_by_ring_for_every_rsa_algorithm() {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = private.to_public_key();
        let signing = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
        let keys = [
            DecodingKey::from_rsa_raw_components(
                &public.n().to_bytes_be(),
                &public.e().to_bytes_be(),
            ),
            DecodingKey::from_rsa_der(public.to_pkcs1_der().unwrap().as_bytes()),
        ];
        let message = b"header.payload";
        for algorithm in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            let signed = jsonwebtoken::crypto::sign(message, &signing, algorithm).unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signed).unwrap();
            for key in &keys {
                let checker = verifier(&algorithm, key).unwrap();
                assert_eq!(checker.algorithm(), algorithm);
                assert!(checker.verify(message, &signature).is_ok(), "{algorithm:?}");
                assert!(
                    checker.verify(b"header.payloaD", &signature).is_err(),
                    "{algorithm:?}"
                );
            }
        }
        let secret = DecodingKey::from_secret(b"a secret of at least thirty-two bytes");
        assert!(verifier(&Algorithm::RS256, &secret).is_err());
        assert_eq!(
            verifier(&Algorithm::HS256, &secret).unwrap().algorithm(),
            Algorithm::HS256
        );
    }
}

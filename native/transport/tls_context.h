// TLS settings as OpenSSL contexts, built from the options Node's tls.createSecureContext takes
// (lib/ validates and flattens them): certificates and keys (PEM or PKCS#12), trusted CAs, cipher
// lists, protocol versions, client-certificate policy, ALPN. A server holds a default context and
// one per SNI name, replaceable at runtime (setSecureContext); connections keep the contexts they
// started with. OpenSSL is the addon's own static 3.5 build (symbols hidden): never Node's.
#pragma once

#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transport/link.h"

namespace sockudo::transport {

struct TlsOptions {
  bool server = true;
  std::vector<std::string> keys;   // PEM private keys (encrypted ones use `passphrase`)
  std::vector<std::string> certs;  // PEM chains: leaf first, then intermediates
  std::vector<std::string> ca;     // PEM certificates to trust (client: replaces the default roots)
  std::vector<std::string> pfx;    // PKCS#12 (DER) bundles with key, certificate and chain
  std::string passphrase;
  std::string ciphers;             // Node's form: OpenSSL names, TLS 1.3 suites (TLS_*) among them
  std::string min_version = "TLSv1.2";
  std::string max_version = "TLSv1.3";
  bool request_cert = false;        // server: ask for a client certificate
  bool reject_unauthorized = true;  // refuse a peer whose certificate does not verify
  std::vector<std::string> alpn;    // in preference order; a server picks the first the client offers
  // A context for QUIC connections (h3_session.h): TLS 1.3 only, and SNI reads the server's
  // contexts from the connection's QuicTlsAppData rather than from the SSL's app data.
  bool quic = false;
};

// One SSL_CTX plus what our callbacks need (owned by shared_ptr: every link keeps its context).
class TlsContext {
 public:
  // Builds a context or returns null with *error set (ERR_OSSL_* codes as Node names them).
  static std::shared_ptr<TlsContext> create(const TlsOptions& options, LinkFailure* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  bool server() const { return server_; }
  bool reject_unauthorized() const { return reject_unauthorized_; }
  bool quic() const { return quic_; }
  const std::string& alpn_wire() const { return alpn_wire_; }
  BIO_METHOD* bio_method() const { return bio_method_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  BIO_METHOD* bio_method_ = nullptr;
  bool server_ = true;
  bool reject_unauthorized_ = true;
  bool quic_ = false;
  std::string alpn_wire_;  // ALPN protocol list in wire form (length-prefixed)
};

// A server's contexts: the default and one per SNI name ("example.com" or "*.example.com").
class TlsServerContexts {
 public:
  TlsServerContexts(std::shared_ptr<TlsContext> fallback,
                    std::vector<std::pair<std::string, std::shared_ptr<TlsContext>>> by_name);
  const std::shared_ptr<TlsContext>& fallback() const { return fallback_; }
  // The context for a ClientHello's server_name (the default when none matches).
  const TlsContext* find(std::string_view name) const;

 private:
  std::shared_ptr<TlsContext> fallback_;
  std::vector<std::pair<std::string, std::shared_ptr<TlsContext>>> by_name_;
};

// A QUIC connection's SSL app data: ngtcp2_crypto_ossl reads the conn_ref (it must come first),
// SNI (a server context made with TlsOptions::quic) reads the server's contexts.
struct QuicTlsAppData {
  ngtcp2_crypto_conn_ref ref;
  const TlsServerContexts* contexts;
};

// What a listening server's sockets use; setSecureContext swaps `current` for new connections.
struct TlsServer {
  std::shared_ptr<TlsServerContexts> current;
};

// What a wss:// client connection uses.
struct TlsClientParams {
  std::shared_ptr<TlsContext> context;
  std::string servername;  // SNI (omitted for an IP literal) and the name the certificate must carry
};

// The BIO method through which a TlsLink's SSL reads and writes its buffers (tls_link.cc).
BIO_METHOD* new_link_bio_method();

// The last OpenSSL error (thread-local queue) as Node would name it; clears the queue.
LinkFailure openssl_failure(const char* what);
// Node's code for an X509_V_ERR_* verification result (CERT_HAS_EXPIRED, ...).
std::string verify_error_code(long result);

}  // namespace sockudo::transport
